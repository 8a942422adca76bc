"""Read every real-world feed of the corpus with bot.feeds.parse_feed and say what came out.

    .venv/bin/python bench/feeds.py --corpus ../shared/corpus [--show-titles]

For each file in CORPUS/feeds it prints the entries found, the number feedparser alone finds
(the `items` of CORPUS/feeds.jsonl, when listed), the time taken and the first title; a feed
that raises, or that parse_feed takes for a web page (None), is a failure and says why. Files
are read as they would arrive without HTTP headers: no Content-Type, no charset.

The corpus is third-party data: it is read in place, never copied. The last line is
machine-readable: feeds=<n> failures=<n> entries=<n>. Exits 0 and says so when the corpus is
absent (CI does not have it).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.errors import FeedError  # noqa: E402
from bot.feeds import parse_feed  # noqa: E402
from bot.text import shorten  # noqa: E402


def expected_items(corpus: Path) -> dict[str, int]:
    """What feedparser alone reads from each feed, as recorded next to the corpus."""
    listing = corpus / "feeds.jsonl"
    if not listing.is_file():
        return {}
    rows = (json.loads(line) for line in listing.read_text(encoding="utf-8").splitlines() if line.strip())
    return {row["file"]: row["items"] for row in rows if isinstance(row.get("items"), int)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    parser.add_argument("--show-titles", action="store_true", help="print every entry's title")
    args = parser.parse_args(argv)
    folder = args.corpus / "feeds"
    if not folder.is_dir():
        print(f"feeds: corpus not found at {folder}; skipping.")
        return 0
    logging.basicConfig(level=logging.ERROR)  # skipped entries are counted, not logged
    expected = expected_items(args.corpus)
    files = sorted(path for path in folder.iterdir() if path.is_file())
    failures = total = 0
    print(f"{'feed':<44} {'entries':>7} {'feedparser':>10} {'ms':>7}  first title / failure")
    for path in files:
        content = path.read_bytes()
        started = time.perf_counter()
        try:
            entries = parse_feed(content, source=path.stem, url=f"https://feeds.example/{path.name}")
            problem = None if entries is not None else "not a feed: read as a web page"
        except FeedError as error:
            entries, problem = None, str(error)
        except Exception as error:  # a crash is what this benchmark is for
            entries, problem = None, f"CRASH {type(error).__name__}: {error}"
        elapsed = (time.perf_counter() - started) * 1000
        known = expected.get(path.name)
        reference = "?" if known is None else str(known)
        if entries is None:
            failures += 1
            print(f"{path.name:<44} {'-':>7} {reference:>10} {elapsed:7.1f}  FAILED: {problem}")
            continue
        total += len(entries)
        first = shorten(entries[0].title, 60) if entries else "(no entries)"
        flag = "" if known is None or known == len(entries) else "  [differs from feedparser]"
        print(f"{path.name:<44} {len(entries):>7} {reference:>10} {elapsed:7.1f}  {first}{flag}")
        if args.show_titles:
            for entry in entries:
                print(f"{'':<44}   - {shorten(entry.title, 100)}  <{entry.url}>")
    print(f"feeds={len(files)} failures={failures} entries={total}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
