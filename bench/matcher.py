"""Throughput of the company matcher, against a per-alias regex loop and a bare Aho-Corasick scan.

    .venv/bin/python bench/matcher.py [--mb 20] [--sizes 100,1000,10000,50000] [--seed 1]

Generates, deterministically from --seed, about --mb MB of news-like articles (~5 KB each,
~75% English and ~25% Chinese by bytes, each naming a few companies: capitalised, lower-case,
possessive) and lists of N company names and aliases (invented names like "Varnell Systems",
"Quorix", "QVS", 华星科技; 1-3 names per company, N in total). For each N it prints the time to
build `CompanyMatcher` and the MB/s (MB = UTF-8 bytes of title + text / 1e6; one process, one
core; each measurement runs once, after one warm-up article) of:

  matcher     CompanyMatcher.match(title, text) per article: intelbot's real per-article work
  bare scan   one Aho-Corasick (LeftmostLongest) scan of the case-folded title and text
  regex loop  re.compile(r"\\b" + re.escape(alias) + r"\\b", re.I) per alias, finditer over each
              article; hundreds to thousands of times slower, so timed on the first articles only
              (>= 1 s of work, at least one article) and printed with 4 decimals

Targets: >= 60 MB/s at 10,000 aliases on one core, >= 100x the regex loop, 50,000-alias build
in < 2 s. The last line is machine-readable, for 10,000 aliases (or the size nearest it):
matcher_mb_s=<MB/s> ratio_vs_regex_loop=<matcher/regex> ratio_vs_bare_scan=<matcher/bare>
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import ahocorasick_rs  # noqa: E402

from bot.matcher import CompanyMatcher, CompanyNames, builtin_senses, normalize  # noqa: E402

FUNCTION_WORDS = """the of and to a in that is was he for it with as his on be at by this had not are but from or
have an they which one you were her all she there would their we him been has when who will more no if out so said
what up its about into than them can only other new some could time these two may then do first any my now such like
our over me even most made after also did many before must through back years where much your way well down should
because each just those people how too little state good very make world still own see men work long get here
between both life being under never day same another know while last might us great old year off come since against
go came right used take three states himself few house use during without again place around however home small
found thought went say part once general high upon school every does got united left number course until always away
something fact though water less public put think almost hand enough far took head yet government system better set
told nothing night end why called find going look asked later knew point next city business give group toward young
let room president side social given present several order national possible rather second face per among form
important often things early white case become large big need four within felt along children saw best ever least
power development light thing seemed family interest want members mind country area others done turned although open
service certain kind problem began different door thus help sense means whole matter perhaps itself law line above
name example action company show whether five history gave today either act across taken past quite anything having
seen experience word half really week market report shares billion million percent quarter revenue investors
analysts deal according chief executive officer announced plans sales growth customers product products launch data
cloud chips startup funding""".split()
ONSETS = "b c d f g h j k l m n p r s t v w z b d k l m n r s t v br cr dr fl gr pl pr qu st tr".split()
VOWELS = "a e i o u a e i o u ai ea io ou".split()
CODAS = ["", "", "", "", "n", "r", "l", "x", "s", "m", "nd", "ll", "rk", "th", "t", "ck"]
NAME_ENDINGS = ["", "", "", "ix", "ora", "ell", "ium", "era", "on", "is", "ex", "o", "a"]
EN_SUFFIXES = ("Systems Technologies Labs Group Holdings Energy Motors Bio Networks Capital Robotics Semiconductor "
               "Pharma Media").split()
ZH_NAME_CHARS = "华星信达通联创新智云天宇恒泰安盛鑫源宏博瑞康嘉隆汇丰顺兴盈和远景明光数码讯腾飞龙金银海山方际"
ZH_SUFFIXES = ["科技", "集团", "电子", "汽车", "控股", "医药", "能源", "银行", "网络", "传媒"]
ZH_ONE_CHAR_SUFFIXES = "网电药车芯"
_ZH_COMMON = (  # common characters; those of company names are left out of the text
              "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种"
              "面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本"
              "去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比"
              "或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总"
              "次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做"
              "必战先回则任取据处队南给色光门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权")
ZH_TEXT_CHARS = "".join(c for c in dict.fromkeys(_ZH_COMMON)
                        if c not in ZH_NAME_CHARS + "".join(ZH_SUFFIXES) + ZH_ONE_CHAR_SUFFIXES)
Article = tuple[str, str]  # (title, text)
SLOT = re.compile("[\x01-\x04]")  # \x01 Name, \x02 name, \x03 Name's, \x04 a Chinese name


def pseudo_word(rng: random.Random, syllables: int) -> str:
    """Pronounceable nonsense: consonant-vowel syllables and a final consonant ("varnell", "quorix")."""
    return "".join(rng.choice(ONSETS) + rng.choice(VOWELS) for _ in range(syllables)) + rng.choice(CODAS)


def make_vocabulary(rng: random.Random, size: int = 3000) -> tuple[list[str], list[float]]:
    """Function words (frequent) and pseudo-words (rarer), with Zipf-like cumulative weights."""
    words = list(dict.fromkeys(FUNCTION_WORDS))
    seen = set(words)
    while len(words) < size:
        word = pseudo_word(rng, rng.choice((1, 2, 2, 3)))
        if word not in seen:
            seen.add(word)
            words.append(word)
    total, cumulative = 0.0, []
    for rank in range(len(words)):
        total += 1.0 / (rank + 10)
        cumulative.append(total)
    return words, cumulative


def english_names(rng: random.Random) -> list[str]:
    base = ""
    while len(base) < 4:  # "Quorix", "Varnell"; the short names are the acronyms ("QVS")
        base = (pseudo_word(rng, rng.choice((1, 2, 2, 3))) + rng.choice(NAME_ENDINGS)).capitalize()
    first, second = rng.sample(EN_SUFFIXES, 2)
    acronym = (base[0] + first[0] + "".join(rng.choices("ABCDEFGHKLMNPRSTVXZ", k=rng.randint(1, 2)))).upper()
    full = f"{base} {first}"
    return [full, base, acronym] if rng.random() < 0.6 else [base, acronym, f"{base} {second}"]


def chinese_names(rng: random.Random) -> list[str]:
    core = "".join(rng.choices(ZH_NAME_CHARS, k=rng.choice((2, 3))))
    if len(core) == 2:
        first, second = rng.sample(ZH_SUFFIXES, 2)
        return [core + first, core, core + second]
    return [core, core + rng.choice(ZH_ONE_CHAR_SUFFIXES)]


def make_companies(rng: random.Random, aliases: int, vocabulary: set[str]) -> list[CompanyNames]:
    """Companies with 1-3 names each (name + aliases), `aliases` distinct names in all, ~1/4 Chinese."""
    taken = set(vocabulary)
    companies: list[CompanyNames] = []
    left = aliases
    while left > 0:
        maker = chinese_names if rng.random() < 0.25 else english_names
        names = [n for n in maker(rng)[: rng.randint(1, 3)] if normalize(n) not in taken][:left]
        if not names:
            continue
        taken.update(normalize(n) for n in names)
        companies.append(CompanyNames(names[0], tuple(names[1:])))
        left -= len(names)
    return companies


def take_aliases(companies: list[CompanyNames], aliases: int) -> list[CompanyNames]:
    """The first companies holding `aliases` names in all (the last one cut short if need be)."""
    result: list[CompanyNames] = []
    for company in companies:
        names = [company.name, *company.aliases][:aliases]
        result.append(CompanyNames(names[0], tuple(names[1:])))
        aliases -= len(names)
        if aliases <= 0:
            break
    return result


def english_article(rng: random.Random, words: list[str], weights: list[float]) -> Article:
    """A ~5 KB English story with 2-6 name slots (filled per company list by `fill_names`)."""
    tokens = rng.choices(words, cum_weights=weights, k=rng.randint(650, 950))
    for position in rng.sample(range(len(tokens)), rng.randint(2, 6)):
        tokens[position] = rng.choice("\x01\x01\x01\x02\x03")
    paragraphs, sentence, paragraph = [], [], []
    for token in tokens:
        sentence.append(token)
        if len(sentence) >= rng.randint(8, 24):
            line = " ".join(sentence).capitalize()
            paragraph.append(f"“{line},” {rng.choice(words)} said." if rng.random() < 0.1 else line + ".")
            sentence = []
            if len(paragraph) >= rng.randint(3, 6):
                paragraphs.append(" ".join(paragraph))
                paragraph = []
    paragraphs.append(" ".join(paragraph + ([" ".join(sentence).capitalize() + "."] if sentence else [])))
    title = " ".join(rng.choices(words, cum_weights=weights, k=rng.randint(5, 9))).capitalize()
    return (("\x01 " + title) if rng.random() < 0.5 else title), "\n\n".join(paragraphs)


def chinese_article(rng: random.Random) -> Article:
    """A ~5 KB Chinese story (about 1,700 characters) with 2-6 Chinese name slots."""
    chars = rng.choices(ZH_TEXT_CHARS, k=rng.randint(1400, 1900))
    for position in rng.sample(range(len(chars)), rng.randint(2, 6)):
        chars[position] = "\x04"
    paragraphs, paragraph, start = [], "", 0
    while start < len(chars):
        stop = start + rng.randint(10, 40)
        paragraph += "".join(chars[start:stop]) + rng.choice("，，。")
        start = stop
        if len(paragraph) > rng.randint(150, 400):
            paragraphs.append(paragraph[:-1] + "。")
            paragraph = ""
    paragraphs.append(paragraph[:-1] + "。")
    title = "".join(rng.choices(ZH_TEXT_CHARS, k=rng.randint(12, 20)))
    return (("\x04" + title) if rng.random() < 0.5 else title), "\n".join(paragraphs)


def make_skeletons(rng: random.Random, words: list[str], weights: list[float],
                   megabytes: float) -> list[Article]:
    """Articles with name slots, ~75% English / 25% Chinese by bytes, until `megabytes` MB."""
    articles, total, chinese = [], 0, 0
    while total < megabytes * 1e6:
        is_chinese = chinese < 0.25 * total
        title, text = chinese_article(rng) if is_chinese else english_article(rng, words, weights)
        size = len(title.encode()) + len(text.encode())
        total, chinese = total + size, chinese + size * is_chinese
        articles.append((title, text))
    return articles


def fill_names(skeletons: list[Article], companies: list[CompanyNames], seed: str) -> list[Article]:
    """The articles with each slot replaced by a name of a listed company, written as the slot says."""
    rng = random.Random(seed)
    names = [n for c in companies for n in (c.name, *c.aliases)]
    chinese = [n for n in names if not n.isascii()] or names
    english = [n for n in names if n.isascii()] or names
    forms = {"\x01": str, "\x02": str.lower, "\x03": lambda n: n + "'s"}

    def name(slot: re.Match[str]) -> str:
        if slot.group() == "\x04":
            return rng.choice(chinese)
        return forms[slot.group()](rng.choice(english))
    return [(SLOT.sub(name, title), SLOT.sub(name, text)) for title, text in skeletons]


def megabytes(articles: list[Article]) -> float:
    return sum(len(title.encode()) + len(text.encode()) for title, text in articles) / 1e6


def time_matcher(matcher: CompanyMatcher, articles: list[Article]) -> tuple[float, int]:
    """Seconds for `match` over all articles, and how many mentions it kept."""
    matcher.match(*articles[0])
    found, start = 0, perf_counter()
    for title, text in articles:
        found += len(matcher.match(title, text).mentions)
    return perf_counter() - start, found


def time_bare_scan(patterns: list[str], articles: list[Article]) -> float:
    automaton = ahocorasick_rs.AhoCorasick(patterns, matchkind=ahocorasick_rs.MatchKind.LeftmostLongest)
    automaton.find_matches_as_indexes(articles[0][1].casefold())
    start = perf_counter()
    for title, text in articles:
        automaton.find_matches_as_indexes(title.casefold())
        automaton.find_matches_as_indexes(text.casefold())
    return perf_counter() - start


def time_regex_loop(aliases: list[str], articles: list[Article], budget: float = 1.0) -> tuple[float, float, int]:
    """(seconds, MB, articles) for the regex loop over the first articles that take >= `budget` s."""
    regexes = [re.compile(r"\b" + re.escape(alias) + r"\b", re.I) for alias in aliases]
    for regex in regexes:
        list(regex.finditer(articles[0][1]))
    elapsed, done, start = 0.0, 0, perf_counter()
    while done < len(articles) and (done == 0 or elapsed < budget):
        for regex in regexes:
            list(regex.finditer(articles[done][0]))
            list(regex.finditer(articles[done][1]))
        elapsed, done = perf_counter() - start, done + 1
    return elapsed, megabytes(articles[:done]), done


@dataclass
class Row:
    aliases: int
    build_s: float
    matcher: float
    bare: float
    regex: float
    regex_articles: int
    mentions_per_article: float


def measure(size: int, companies: list[CompanyNames], skeletons: list[Article], seed: int) -> Row:
    listed = take_aliases(companies, size)
    articles = fill_names(skeletons, listed, f"{seed}-{size}")
    total = megabytes(articles)
    start = perf_counter()
    matcher = CompanyMatcher(listed)
    build = perf_counter() - start
    aliases = [n for c in listed for n in (c.name, *c.aliases)]
    matcher_s, found = time_matcher(matcher, articles)
    bare_s = time_bare_scan(list(dict.fromkeys(a.casefold() for a in aliases)), articles)
    regex_s, regex_mb, regex_n = time_regex_loop(aliases, articles)
    return Row(size, build, total / matcher_s, total / bare_s, regex_mb / regex_s, regex_n, found / len(articles))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, default=20.0, help="MB of generated text (default 20)")
    parser.add_argument("--sizes", default="100,1000,10000,50000", help="alias counts, comma-separated")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rng = random.Random(args.seed)
    words, weights = make_vocabulary(rng)
    skeletons = make_skeletons(rng, words, weights, args.mb)
    companies = make_companies(rng, max(sizes), set(words))
    builtin_senses()  # the shipped lexicon loads once per process; builds below exclude it
    chinese = megabytes([(t, x) for t, x in skeletons if "。" in x])
    print(f"corpus: {len(skeletons)} articles, {megabytes(skeletons):.2f} MB "
          f"({chinese / megabytes(skeletons):.0%} Chinese by bytes), seed {args.seed}; one process, one core")
    print(f"{'aliases':>8} | {'build s':>8} | {'matcher MB/s':>12} | {'bare scan MB/s':>14} | "
          f"{'regex loop MB/s (sampled)':>25} | {'matcher/regex':>13} | {'matcher/bare':>12} | mentions/article")
    rows = []
    for size in sizes:
        row = measure(size, companies, skeletons, args.seed)
        rows.append(row)
        sampled = f"{row.regex:.4f} ({row.regex_articles} art.)"
        print(f"{row.aliases:>8} | {row.build_s:>8.2f} | {row.matcher:>12.2f} | {row.bare:>14.2f} | "
              f"{sampled:>25} | {row.matcher / row.regex:>13.2f} | {row.matcher / row.bare:>12.2f} | "
              f"{row.mentions_per_article:.1f}", flush=True)
    print("regex loop: sampled on the first articles of the corpus (>= 1 s of work each size, at least one "
          "article); matcher and bare scan: the whole corpus")
    row = min(rows, key=lambda r: abs(r.aliases - 10_000))
    print(f"matcher_mb_s={row.matcher:.2f} ratio_vs_regex_loop={row.matcher / row.regex:.2f} "
          f"ratio_vs_bare_scan={row.matcher / row.bare:.2f}")


if __name__ == "__main__":
    main()
