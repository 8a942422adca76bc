"""Measure story identity on real pages: do copies of a page merge, do distinct pages stay apart?

    .venv/bin/python bench/dedupe.py --corpus ../shared/corpus [--cache DIR] [--seed 1] [--show N]

Each corpus page is extracted (cached, as bench/accuracy.py does) and copied the ways real
copies of a story differ, deterministically from --seed:

  title      headline edits: a source suffix (" - Reuters"), upper case, a word dropped, a word
             added, the words rotated, or the headline replaced by another page's headline
  url        tracking parameters and a fragment on the URL; merged when canonical_url agrees
  boiler     lines added at the start or the end (Advertisement, a byline, a share bar, a
             cookie notice, a related-stories list; Chinese ones on CJK pages), or the
             page's own furniture and short lines removed
  truncated  only the first paragraph, or the first 200 or 500 characters (a feed description)
  combined   a headline edit with added lines, with truncation, or with both

A content variant counts as merged when `same_story(fingerprint(original), fingerprint(copy))`.
Then every pair of distinct pages that both have a fingerprint is compared: a pair within
MAX_DISTANCE is a wrong merge, unless the two texts are identical (the corpus holds a few
pages twice, from different origin repositories), which is reported on its own. It prints
both distance distributions so the threshold can be judged, and the time per fingerprint.

Targets: >= 95% of variants merged, 0% of distinct pairs merged. The last line is
machine-readable: variants_merged=<fraction> distinct_merged=<fraction> pages=<n>
Exits 0 and says so when the corpus is absent (CI does not have it).
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.accuracy import extracted, read_jsonl  # noqa: E402
from bot.feeds import canonical_url  # noqa: E402
from bot.fingerprint import MAX_DISTANCE, distance, fingerprint, same_story  # noqa: E402
from bot.furniture import furniture_reason  # noqa: E402
from bot.text import is_cjk, shorten  # noqa: E402

# Invented boilerplate, in the shapes extraction leaves around an article.
BOILERPLATE = {
    "en": {
        "advertisement": ["Advertisement"],
        "byline": ["By Jane Doe and Ravi Patel, Staff Reporters", "Updated 14 March 2024, 09:41 GMT"],
        "share bar": ["Share this article", "Facebook Twitter LinkedIn Email"],
        "cookie notice": [
            "We use cookies to improve your experience on our website. By continuing to browse, "
            "you agree to our use of cookies. Read our privacy policy to learn more."
        ],
        "related list": [
            "Related stories",
            "Globex shares slide as chip supply tightens",
            "Initech names a new chief financial officer after a long and very public search",
            "Northwind Robotics opens its first plant in Europe, with 400 jobs promised by 2026",
            "Five things to watch in the markets this week",
        ],
    },
    "cjk": {
        "advertisement": ["广告"],
        "byline": ["本报记者 张伟 李娜", "2024年03月14日 09:41 来源：华星日报"],
        "share bar": ["分享到：", "微信 微博 QQ空间"],
        "cookie notice": ["本网站使用Cookie以改善您的浏览体验。继续浏览即表示您同意我们使用Cookie。"],
        "related list": ["相关阅读", "华星科技发布新一代芯片", "北风机器人在欧洲开设首家工厂，承诺到2026年创造400个就业岗位", "本周市场五大看点"],
    },
}
TRACKING = "utm_source=newsletter&utm_medium=email&utm_campaign=morning-brief&fbclid=IwAR0xYz12&utm_content=top"


@dataclass(frozen=True)
class Page:
    id: str
    url: str
    title: str
    text: str
    cjk: bool


@dataclass(frozen=True)
class Variant:
    kind: str  # "title", "url", "boiler", "truncated", "combined"
    how: str
    title: str
    text: str
    url: str = ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "intelbot-bench" / "extract")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--show", type=int, default=8, help="how many failed variants and closest pairs to list")
    args = parser.parse_args(argv)
    if not (args.corpus / "pages").is_dir() or not (args.corpus / "pages.jsonl").is_file():
        print(f"dedupe: corpus not found at {args.corpus}; skipping.")
        return 0

    pages = load_pages(args.corpus, args.cache)
    prints = {page.id: fingerprint(page.title, page.text) for page in pages}
    fingerprinted = [page for page in pages if prints[page.id] is not None]
    titles = [page.title for page in pages if page.title]

    # Variants of each fingerprinted page against their original.
    tally: dict[str, Counter] = defaultdict(Counter)
    by_parity: dict[str, Counter] = defaultdict(Counter)  # the constants were tuned on odd ids
    variant_distances: list[int] = []
    misses: list[str] = []
    for page in fingerprinted:
        rng = random.Random(f"{args.seed}:{page.id}")
        for variant in variants(page, rng, titles):
            key = f"{variant.kind}: {variant.how}"
            parity = "odd" if int(page.id) % 2 else "even"
            tally[key]["n"] += 1
            by_parity[parity]["n"] += 1
            if variant.kind == "url":
                merged_by_url = bool(variant.url) and canonical_url(variant.url) == canonical_url(page.url)
                tally[key]["merged"] += merged_by_url
                by_parity[parity]["merged"] += merged_by_url
                continue
            copy = fingerprint(variant.title, variant.text)
            if copy is None:
                tally[key]["no fingerprint"] += 1
            else:
                variant_distances.append(distance(prints[page.id], copy))
            if same_story(prints[page.id], copy):
                tally[key]["merged"] += 1
                by_parity[parity]["merged"] += 1
            else:
                how_far = "none" if copy is None else distance(prints[page.id], copy)
                misses.append(f"  {page.id} {key}: distance {how_far}  {variant.text[:70]!r}")

    # Every pair of distinct pages.
    duplicates: list[tuple[Page, Page]] = []
    pairs: list[tuple[int, Page, Page]] = []
    for i, first in enumerate(fingerprinted):
        for second in fingerprinted[i + 1 :]:
            if _same_text(first.text, second.text):
                duplicates.append((first, second))
            else:
                pairs.append((distance(prints[first.id], prints[second.id]), first, second))
    pairs.sort(key=lambda pair: pair[0])
    distinct_distances = [d for d, _, _ in pairs]
    wrong = [pair for pair in pairs if pair[0] <= MAX_DISTANCE]

    seconds = time_fingerprints(pages)

    print(f"pages: {len(pages)}  with a fingerprint: {len(fingerprinted)}  MAX_DISTANCE: {MAX_DISTANCE}  seed: {args.seed}")
    no_print = [page for page in pages if prints[page.id] is None]
    print(f"pages with no fingerprint (too little text): {len(no_print)} "
          f"{' '.join(f'{p.id}({len(p.text)} chars)' for p in no_print[: args.show * 2])}")
    print(f"\n{'variant':<42} {'n':>5} {'merged':>7} {'%':>7} {'no fp':>6}")
    for kind in ("title", "url", "boiler", "truncated", "combined"):
        for key in sorted(k for k in tally if k.startswith(kind + ":")):
            c = tally[key]
            print(f"{key:<42} {c['n']:5d} {c['merged']:7d} {100 * c['merged'] / c['n']:6.1f}% {c['no fingerprint']:6d}")
    total = sum(c["n"] for c in tally.values())
    merged = sum(c["merged"] for c in tally.values())
    print(f"{'all variants':<42} {total:5d} {merged:7d} {100 * merged / max(total, 1):6.1f}%")
    print("by page id (the constants were chosen on odd ids): "
          + "  ".join(f"{p} {100 * c['merged'] / max(c['n'], 1):.1f}%" for p, c in sorted(by_parity.items())))
    if misses:
        print(f"\nfirst variants not merged (of {len(misses)}):", *misses[: args.show], sep="\n")

    print(f"\ndistinct page pairs: {len(pairs)}  wrongly merged: {len(wrong)} "
          f"({100 * len(wrong) / max(len(pairs), 1):.4f}%); the closest pairs:")
    for d, first, second in pairs[: args.show]:
        print(f"  distance {d}{' MERGED' if d <= MAX_DISTANCE else ''}: "
              f"{first.id} {first.title[:50]!r}  ~  {second.id} {second.title[:50]!r}")
    print(f"identical texts (same page from two origins, not counted): {len(duplicates)} pairs "
          f"{' '.join(f'{a.id}={b.id}' for a, b in duplicates)}")

    print("\ndistance distribution (bits of 64):")
    print(f"  variants (with a fingerprint, n={len(variant_distances)}): {_spread(variant_distances, low=False)}")
    print(f"  distinct pairs (n={len(pairs)}): {_spread(distinct_distances, low=True)}")
    print(f"  two unrelated texts (random 64-bit values) are within {MAX_DISTANCE} bits with probability "
          f"{sum(math.comb(64, k) for k in range(MAX_DISTANCE + 1)) / 2**64:.1e}")
    near = Counter(distinct_distances)
    print("  distinct pairs at distance <= 20: " + (" ".join(f"{d}:{near[d]}" for d in range(21) if near[d]) or "none"))
    chars = statistics.mean(len(page.title) + len(page.text) for page in pages)
    print(f"\ntime per fingerprint: {1e6 * seconds:.0f} µs mean over {len(pages)} pages "
          f"(title + text {chars / 1000:.1f} k chars on average; one core)")
    variants_fraction = merged / max(total, 1)
    distinct_fraction = len(wrong) / max(len(pairs), 1)
    print(f"variants_merged={variants_fraction:.4f} distinct_merged={distinct_fraction:.6f} pages={len(pages)}")
    return 0


def load_pages(corpus: Path, cache: Path | None) -> list[Page]:
    pages = []
    for row in read_jsonl(corpus / "pages.jsonl"):
        url = row.get("url") or ""
        result = extracted(corpus / "pages" / f"{row['id']}.html", url, cache)
        cjk = sum(map(is_cjk, result.text[:2000])) > len(result.text[:2000]) / 4
        pages.append(Page(row["id"], url, result.title, result.text, cjk))
    return pages


def variants(page: Page, rng: random.Random, titles: list[str]) -> list[Variant]:
    """The copies of one page, each made the way syndicated copies differ."""
    found = []
    for how, edit in title_edits(page, rng, titles).items():
        found.append(Variant("title", how, edit, page.text))
    if page.url:
        tracked = page.url.split("#")[0] + ("&" if "?" in page.url else "?") + TRACKING + "#comments"
        found.append(Variant("url", "tracking parameters", page.title, page.text, tracked))
    lines = BOILERPLATE["cjk" if page.cjk else "en"]
    for name, added in lines.items():
        found.append(Variant("boiler", f"{name} at start", page.title, "\n".join([*added, page.text])))
        found.append(Variant("boiler", f"{name} at end", page.title, "\n".join([page.text, *added])))
    stripped = _without_furniture(page.text)
    if stripped != page.text:
        found.append(Variant("boiler", "furniture removed", page.title, stripped))
    for how, cut in truncations(page.text).items():
        found.append(Variant("truncated", how, page.title, cut))

    title = rng.choice(list(title_edits(page, rng, titles).values()))
    name, added = rng.choice(list(lines.items()))
    with_lines = "\n".join([*added, page.text] if rng.random() < 0.5 else [page.text, *added])
    found.append(Variant("combined", "title + lines", title, with_lines))
    found.append(Variant("combined", "title + truncated", title, rng.choice(list(truncations(page.text).values()))))
    short = shorten(page.text, 500)
    found.append(Variant("combined", "title + lines + 500 chars", title, "\n".join([*added, short])))
    return found


def title_edits(page: Page, rng: random.Random, titles: list[str]) -> dict[str, str]:
    title = page.title
    words = list(title) if page.cjk and " " not in title.strip() else title.split()
    join = "".join if page.cjk and " " not in title.strip() else " ".join
    edits = {"source suffix": title + (" _华星日报" if page.cjk else " - Reuters"), "upper case": title.upper()}
    if len(words) >= 3:
        dropped = words[:]
        del dropped[rng.randrange(len(dropped))]
        edits["word dropped"] = join(dropped)
        added = words[:]
        added.insert(rng.randrange(len(added) + 1), rng.choice(["独家", "快讯"] if page.cjk else ["exclusive", "update", "now", "reportedly"]))
        edits["word added"] = join(added)
        cut = rng.randrange(1, len(words))
        edits["words rotated"] = join(words[cut:] + words[:cut])
    others = [t for t in titles if t != title]
    if others:
        edits["headline replaced"] = rng.choice(others)
    return edits


def truncations(text: str) -> dict[str, str]:
    first = next((line for line in text.splitlines() if line.strip()), "")
    return {"first paragraph": first, "first 200 chars": shorten(text, 200), "first 500 chars": shorten(text, 500)}


def time_fingerprints(pages: list[Page], rounds: int = 5) -> float:
    """Seconds per fingerprint, the mean over all pages, best of `rounds`."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for page in pages:
            fingerprint(page.title, page.text)
        best = min(best, (time.perf_counter() - start) / len(pages))
    return best


def _without_furniture(text: str) -> str:
    """The text as another site's extraction might give it: without furniture or short first/last lines."""
    lines = [line for line in text.splitlines() if line.strip() and furniture_reason(line) is None]
    while lines and len(lines[0].split()) < 8 and not any(map(is_cjk, lines[0])):
        lines.pop(0)
    while lines and len(lines[-1].split()) < 8 and not any(map(is_cjk, lines[-1])):
        lines.pop()
    return "\n".join(lines)


def _same_text(first: str, second: str) -> bool:
    return " ".join(first.split()).casefold() == " ".join(second.split()).casefold()


def _spread(values: list[int], *, low: bool) -> str:
    if not values:
        return "none"
    ordered = sorted(values)
    at: Callable[[float], int] = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]
    if low:
        return f"min {ordered[0]}  p0.1 {at(0.001)}  p1 {at(0.01)}  p5 {at(0.05)}  median {at(0.5)}"
    return f"median {at(0.5)}  p90 {at(0.9)}  p95 {at(0.95)}  p99 {at(0.99)}  max {ordered[-1]}"


if __name__ == "__main__":
    sys.exit(main())
