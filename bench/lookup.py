"""Latency of `/intel` lookups (`Commands.search`, the whole lookup) over a large synthetic archive.

    .venv/bin/python bench/lookup.py [--sizes 100000,1000000] [--queries 200] [--seed 1] [--cache DIR]

For each N it builds (or reuses) a store of N synthetic stories: 300-800 words of a Zipf-like
vocabulary (real English function and news words plus a few thousand pseudo-words, and a long
tail of rare words), 8-12 word titles, 0-3 companies per story (most none or one) named by the
example catalogue's names and aliases, with Mention spans on the inserted names, dates over two
years inserted in arrival order, and the example config's sources. One database per N and seed
is cached in DIR (default ~/.cache/intelbot-bench/); an interrupted build resumes where it stopped.

It then runs a fixed query mix, --queries per kind (half of them plain, the same half again with
`since:30d`): company + topic word, company only, topic only, rare word, two very common words.
Warm: every query once as warm-up, then every query timed. Cold: the first queries of each kind,
each on a freshly opened store after dropping the OS page cache (when /proc/sys/vm/drop_caches is
writable; otherwise cold means a fresh connection only). Prints p50/p99 per kind and overall.

Targets at 1M stories on the 2-core benchmark machine: typical p99 <= 50 ms (every kind except
the two-very-common-words one), worst (two very common words) p99 <= 300 ms. The last line is
machine-readable, for the largest N run (1M by default):
lookup_p99_ms=<typical p99> worst_p99_ms=<common-words p99>
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import random
import sqlite3
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from time import perf_counter

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.commands import Commands
from bot.config import load_config
from bot.matcher import CompanyNames, normalize
from bot.models import Article, Mention
from bot.query import CompanyIndex
from bot.store import Store

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 1, 1, tzinfo=UTC)  # the benchmark's clock: stories span the two years before
SPAN = timedelta(days=730)
TYPICAL_TARGET_MS, WORST_TARGET_MS = 50, 300
COLD_ROUNDS = 5
PSEUDO_WORDS, TAIL_WORDS, TAILS_PER_STORY = 4000, 200_000, 3
KINDS = ("company+topic", "company", "topic", "rare word", "common words")
WORST = "common words"
SINCE = "since:30d"
DROP_CACHES = Path("/proc/sys/vm/drop_caches")

FUNCTION_WORDS = """the of and to a in that is was he for it with as his on be at by this had not are but from
or have an they which one you were her all she there would their we him been has when who will more no if out so
said what up its about into than them can only other new some could time these two may then do first any my now
such like our over man me even most made after also did many before must through back years where much your way
well down should because each just those people how too little state good very make world still own see men work
long get here between both life being under never day same another know while last might us great old year off
come since against go came right used take three""".split()
NEWS_WORDS = """market shares revenue quarter profit chip chips smartphone phone cloud data security privacy
regulators antitrust lawsuit court china chinese europe european india japan korea taiwan beijing washington
tariffs export sanctions startup funding investors valuation billion million percent growth sales earnings
forecast analysts launch model models software hardware battery electric vehicle vehicles factory supply chain
semiconductor memory processor display camera streaming subscribers subscription advertising ads browser app
apps users platform network wireless satellite robot robotics drone drones artificial intelligence chatbot
training compute datacenter energy grid policy government minister officials executive executives layoffs hiring
employees union strike deal acquisition merger stake ipo listing stock stocks bond debt loan bank banks payments
crypto bitcoin blockchain gaming consoles games music video videos content creators social media misinformation
election elections hackers breach ransomware outage update upgrade feature features developer developers open
source license patent patents trial judge ruling fines investigation probe commission senate congress parliament
ban approval rollout prototype demand inventory shipments quarterly annual report reports research researchers
university lab testing autonomous driving delivery logistics retail ecommerce shoppers consumers prices price
inflation rates economy""".split()
ONSETS = "b c d f g h j k l m n p r s t v w z br cr dr gr pr st tr ch sh th".split()
VOWELS = "a e i o u ai ea ou io".split()
SYLLABLES = [c + v for c in ONSETS for v in VOWELS]


def build_vocabulary(seed: int, reserved: set[str]) -> tuple[list[str], list[str]]:
    """Words by Zipf rank (function words first, news and pseudo-words mixed after) and topic words."""
    rng = random.Random(f"vocabulary:{seed}")
    known = set(FUNCTION_WORDS) | set(NEWS_WORDS) | reserved
    pseudo: list[str] = []
    while len(pseudo) < PSEUDO_WORDS:
        word = "".join(rng.choices(SYLLABLES, k=rng.choice((2, 2, 3)))) + rng.choice(("", "n", "r", "s", "l"))
        if word not in known:
            known.add(word)
            pseudo.append(word)
    news = [w for w in dict.fromkeys(NEWS_WORDS) if w not in reserved]
    tail = pseudo[:]
    for word in news:  # news words land anywhere among the first 3000 ranks after the function words
        tail.insert(rng.randrange(3000), word)
    return list(dict.fromkeys(FUNCTION_WORDS)) + tail, news


def tail_word(k: int) -> str:
    """The k-th rare word: each appears in a handful of stories."""
    s = len(SYLLABLES)
    return SYLLABLES[k % s] + SYLLABLES[k // s % s] + SYLLABLES[k // s // s % s] + "ek"


def catalogue() -> list[CompanyNames]:
    """The example config's companies, with their aliases."""
    config = load_config(ROOT / "config.example.yaml")
    return [CompanyNames(c.name, tuple(c.alias_names)) for c in config.companies]


class StoryMaker:
    """Deterministic synthetic stories: story i depends only on (seed, i), so a build can resume."""

    def __init__(self, seed: int, n: int, companies: list[CompanyNames], sources: list[str]):
        self.seed, self.n, self.companies, self.sources = seed, n, companies, sources
        reserved = {normalize(name) for c in companies for name in (c.name, *c.aliases)}
        self.vocab, self.topics = build_vocabulary(seed, reserved)
        self.cum = _cumulative([1 / (rank + 2.7) for rank in range(len(self.vocab))])
        self.title_cum = _cumulative([1 / (rank + 2.7) for rank in range(30, len(self.vocab))])
        self.company_cum = _cumulative([1 / (i + 1) ** 0.8 for i in range(len(companies))])

    def story(self, i: int) -> tuple[Article, list[Mention], list[str]]:
        """Story i with its mentions and the rare words it contains."""
        rng = random.Random(f"{self.seed}:{i}")
        count = rng.choices((0, 1, 2, 3), weights=(50, 32, 12, 6))[0]
        picked = list(dict.fromkeys(rng.choices(self.companies, cum_weights=self.company_cum, k=count)))
        words = rng.choices(self.vocab, cum_weights=self.cum, k=rng.randint(300, 800))
        title = rng.choices(self.vocab[30:], cum_weights=self.title_cum, k=rng.randint(8, 12))
        tails = [tail_word(rng.randrange(TAIL_WORDS)) for _ in range(TAILS_PER_STORY)]
        names: dict[int, tuple[str, str]] = {}
        title_names: dict[int, tuple[str, str]] = {}
        for rank, company in enumerate(picked):
            alias = company.name if rng.random() < 0.6 or not company.aliases else rng.choice(company.aliases)
            if rng.random() < (0.5 if rank == 0 else 0.15):
                title_names[rng.randrange(len(title))] = (company.name, alias)
            for position in rng.sample(range(len(words)), rng.randint(1, 4 if rank == 0 else 2)):
                names[position] = (company.name, alias)
        free = [p for p in rng.sample(range(len(words)), len(tails) + 12) if p not in names]
        for position, word in zip(free, tails):
            words[position] = word
        title_text, title_mentions = _join(title, title_names, "title", rng, sentences=False)
        text, text_mentions = _join(words, names, "text", rng, sentences=True)
        published = NOW - SPAN + SPAN * ((i + rng.random()) / self.n)
        source = self.sources[rng.randrange(len(self.sources))]
        slug = source.lower().replace(" ", "-")
        article = Article(source=source, url=f"https://bench.example/{slug}/{self.seed}/{i}", guid=None,
                          title=title_text, text=text, published=published,
                          fetched_at=published + timedelta(seconds=rng.randint(60, 1800)), language="en")
        return article, title_mentions + text_mentions, tails


def _cumulative(weights: list[float]) -> list[float]:
    """Running sums, for random.choices(cum_weights=...)."""
    return list(itertools.accumulate(weights))


def _join(words: list[str], names: dict[int, tuple[str, str]], field: str, rng: random.Random,
          *, sentences: bool) -> tuple[str, list[Mention]]:
    """Words as sentences and paragraphs (or one title line), with company names at `names` positions."""
    pieces: list[str] = []
    mentions: list[Mention] = []
    offset, left, in_paragraph, start_sentence = 0, rng.randint(8, 24), 0, True
    for position, word in enumerate(words):
        company = names.get(position)
        if company is not None:
            word = company[1]
            mentions.append(Mention(company[0], company[1], field, offset, offset + len(word)))
        elif start_sentence:
            word = word.capitalize()
        start_sentence = False
        pieces.append(word)
        offset += len(word)
        if position == len(words) - 1:
            break
        separator = " "
        left -= 1
        if sentences and left == 0:
            in_paragraph += 1
            separator = ".\n" if in_paragraph >= rng.randint(3, 6) else ". "
            in_paragraph = 0 if separator == ".\n" else in_paragraph
            left, start_sentence = rng.randint(8, 24), True
        pieces.append(separator)
        offset += len(separator)
    return "".join(pieces) + ("." if sentences else ""), mentions


def build_store(path: Path, maker: StoryMaker) -> None:
    """Create or finish the database of maker.n stories (one add_article transaction each)."""
    have = 0
    if path.exists():
        with Store(path) as store:
            have = store.article_count()
            intact = have <= maker.n and (have == 0 or store.article(maker.story(have - 1)[0].url) is not None)
        if have == maker.n:
            return print(f"  reusing {path} ({have:,} stories)")
        if not intact:
            print(f"  {path} does not hold this benchmark's stories: rebuilding")
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            have = 0
    print(f"  building {path}: stories {have:,} to {maker.n:,}", flush=True)
    began = perf_counter()
    with Store(path) as store:
        for i in range(have, maker.n):
            store.add_article(*maker.story(i)[:2], [])
            if (i + 1) % 50_000 == 0 and i + 1 < maker.n:
                rate = (i + 1 - have) / (perf_counter() - began)
                left = (maker.n - i - 1) / rate / 60
                print(f"    {i + 1:,} stories, {rate:,.0f}/s, about {left:.1f} min left", flush=True)
    elapsed = perf_counter() - began
    print(f"  built {maker.n - have:,} stories in {elapsed:.0f} s ({(maker.n - have) / elapsed:,.0f}/s)")


def query_mix(maker: StoryMaker, per_kind: int, seed: int) -> dict[str, list[str]]:
    """The fixed queries: per kind, per_kind // 2 base queries, each plain and with since:30d."""
    rng = random.Random(f"queries:{seed}:{maker.n}")
    def company_word() -> str:
        company = maker.companies[rng.choices(range(len(maker.companies)), cum_weights=maker.company_cum)[0]]
        latin = [a for a in (company.name, *company.aliases) if a.isascii()]
        return rng.choice(latin).lower() if rng.random() < 0.7 else rng.choice(latin)
    makers = {
        "company+topic": lambda: f"{company_word()} {rng.choice(maker.topics)}",
        "company": company_word,
        "topic": lambda: rng.choice(maker.topics),
        "rare word": lambda: rng.choice(maker.story(rng.randrange(maker.n))[2]),
        "common words": lambda: " ".join(rng.sample(maker.vocab[:20], 2)),
    }
    mix: dict[str, list[str]] = {}
    for kind in KINDS:
        base = [makers[kind]() for _ in range(max(1, per_kind // 2))]
        mix[kind] = base
        mix[f"{kind} {SINCE}"] = [f"{q} {SINCE}" for q in base]
    return mix


def drop_os_cache() -> bool:
    """Empty the OS page cache if allowed (root); True when it was dropped."""
    try:
        os.sync()
        DROP_CACHES.write_text("1\n")
        return True
    except OSError:
        return False


def time_query(commands: Commands, text: str) -> tuple[float, list]:
    """Milliseconds for one whole lookup, and its results."""
    began = perf_counter()
    reply = commands.search(text)
    return (perf_counter() - began) * 1000, list(reply.results)


def open_commands(path: Path, companies: list[CompanyNames]) -> tuple[Store, Commands]:
    """A freshly opened store and the command surface over it, on the benchmark's clock."""
    store = Store(path)
    return store, Commands(store, CompanyIndex(companies), clock=lambda: NOW)


def measure_cold(path: Path, companies: list[CompanyNames], mix: dict[str, list[str]]) -> tuple[dict, bool]:
    """Per kind, the first COLD_ROUNDS queries, each on a freshly opened store (and empty OS cache)."""
    cold: dict[str, list[float]] = {kind: [] for kind in mix}
    dropped = True
    for r in range(COLD_ROUNDS):
        for kind, queries in mix.items():
            dropped = drop_os_cache() and dropped
            store, commands = open_commands(path, companies)
            try:
                cold[kind].append(time_query(commands, queries[r % len(queries)])[0])
            finally:
                store.close()
    return cold, dropped


def measure_warm(path: Path, companies: list[CompanyNames], mix: dict[str, list[str]]) -> tuple[dict, dict]:
    """Every query once as warm-up, then every query timed; returns latencies and results."""
    store, commands = open_commands(path, companies)
    try:
        for queries in mix.values():
            for text in queries:
                commands.search(text)
        warm = {kind: [] for kind in mix}
        results = {kind: [] for kind in mix}
        for kind, queries in mix.items():
            for text in queries:
                ms, found = time_query(commands, text)
                warm[kind].append(ms)
                results[kind].append(found)
        return warm, results
    finally:
        store.close()


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def since_note(results: dict[str, list[list]]) -> str | None:
    """Whether `since:30d` was applied as a window, judged from the results it returned."""
    cutoff = NOW - timedelta(days=30)
    old = same = compared = got = 0
    for kind in KINDS:
        for plain, windowed in zip(results[kind], results[f"{kind} {SINCE}"]):
            got += bool(windowed)
            old += sum(r.published < cutoff for r in windowed)
            if plain:
                compared += 1
                same += [r.url for r in plain] == [r.url for r in windowed]
    # Identical answers are expected when the newest stories are recent anyway; only a result
    # older than the window shows the window was not applied.
    if old:
        return f"note: {SINCE} looks ignored ({old} results older than 30 days, {same}/{compared} identical answers)"
    if not got:
        return f"note: no query with {SINCE} found anything: the parser probably searched it as a term"
    return None


def database_size(path: Path) -> int:
    """Bytes of the database file and its write-ahead log."""
    return sum(Path(f"{path}{s}").stat().st_size for s in ("", "-wal") if Path(f"{path}{s}").exists())


def run_size(n: int, args: argparse.Namespace, companies: list[CompanyNames], sources: list[str]) -> tuple[float, float]:
    """Build or reuse the store of n stories, measure, print the table; return (typical p99, worst p99)."""
    print(f"\nN = {n:,}")
    maker = StoryMaker(args.seed, n, companies, sources)
    path = Path(args.cache).expanduser() / f"lookup-n{n}-seed{args.seed}.db"
    build_store(path, maker)
    print(f"  database size {database_size(path) / 1e9:.2f} GB")
    mix = query_mix(maker, args.queries, args.seed)
    cold, dropped = measure_cold(path, companies, mix)
    print("  cold = " + ("fresh connection after dropping the OS page cache" if dropped
                         else "fresh connection only (OS page cache could not be dropped)"))
    warm, results = measure_warm(path, companies, mix)
    print(f"  {'kind':<28}{'queries':>8}{'results':>9}{'p50 ms':>9}{'p99 ms':>9}{'cold p50':>10}{'cold max':>10}")
    for kind in mix:
        hits = sum(map(len, results[kind])) / len(results[kind])
        print(f"  {kind:<28}{len(warm[kind]):>8}{hits:>9.1f}{percentile(warm[kind], 50):>9.1f}"
              f"{percentile(warm[kind], 99):>9.1f}{percentile(cold[kind], 50):>10.1f}{max(cold[kind]):>10.1f}")
    typical = [ms for kind, v in warm.items() if not kind.startswith(WORST) for ms in v]
    worst = [ms for kind, v in warm.items() if kind.startswith(WORST) for ms in v]
    every = typical + worst
    cold_typical = [ms for kind, v in cold.items() if not kind.startswith(WORST) for ms in v]
    for label, values, cold_values in (("typical (all but common)", typical, cold_typical),
                                       ("overall", every, [ms for v in cold.values() for ms in v])):
        print(f"  {label:<28}{len(values):>8}{'':>9}{percentile(values, 50):>9.1f}{percentile(values, 99):>9.1f}"
              f"{percentile(cold_values, 50):>10.1f}{max(cold_values):>10.1f}")
    note = since_note(results)
    if note:
        print("  " + note)
    return percentile(typical, 99), percentile(worst, 99)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated story counts")
    parser.add_argument("--queries", type=int, default=200, help="queries per kind (half with since:30d)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cache", default="~/.cache/intelbot-bench/", help="where the databases are kept")
    args = parser.parse_args()
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    config = load_config(ROOT / "config.example.yaml")
    companies = catalogue()
    sources = [s.name for s in config.sources]
    print(f"intelbot lookup benchmark: sizes {', '.join(f'{n:,}' for n in sizes)}, {args.queries} queries per kind,"
          f" seed {args.seed}, SQLite {sqlite3.sqlite_version}, {os.cpu_count()} CPUs")
    print(f"targets at 1M stories: typical p99 <= {TYPICAL_TARGET_MS} ms, worst (two very common words)"
          f" p99 <= {WORST_TARGET_MS} ms; warm p50/p99 per kind, cold = first queries on a fresh store")
    figures = {n: run_size(n, args, companies, sources) for n in sizes}
    largest = max(figures)
    if largest != 1_000_000:
        print(f"note: the last line is for N = {largest:,}, not 1,000,000")
    typical, worst = figures[largest]
    print(f"lookup_p99_ms={typical:.1f} worst_p99_ms={worst:.1f}")


if __name__ == "__main__":
    main()
