"""Measure the matcher on labelled real pages: precision, recall, F1, "about", traps.

    python bench/accuracy.py --corpus ../shared/corpus --labels ../shared/corpus/labels-dev.jsonl \
        --config ../shared/eval/companies.yaml [--cache DIR] [--show-errors]

Each labelled page is extracted with intelbot's extractor (trafilatura) and matched with the
companies of --config, exactly as the bot does; every (page, company) pair is one decision.
It prints micro precision/recall/F1 over all companies, the same for "about" verdicts against
`companies - incidental` (pages where a company is only incidental count neither way for it),
per-company figures, and how many tricky negatives and excluded occurrences were flagged.
Exits 0 and says so when the corpus is absent (CI does not have it).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import pickle
import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import load_config  # noqa: E402
from bot.extract import extract_page  # noqa: E402
from bot.matcher import CompanyMatcher, company_names_of  # noqa: E402
from bot.models import ExtractedPage  # noqa: E402
from bot.errors import ExtractError  # noqa: E402


def extracted(page: Path, url: str, cache: Path | None) -> ExtractedPage:
    """The page's extraction, cached by content hash (extraction is the slow part)."""
    data = page.read_bytes()
    key = hashlib.sha256(data).hexdigest()
    if cache is not None:
        cached = cache / f"{key}.pickle"
        if cached.exists():
            return pickle.loads(cached.read_bytes())
    try:
        result = extract_page(data, url or page.as_uri())
    except ExtractError:
        result = ExtractedPage(title="", text="", published=None, language=None)
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        cached.write_bytes(pickle.dumps(result))
    return result


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def read_jsonl(path: Path) -> Iterable[dict]:
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    parser.add_argument("--labels", type=Path, help="default: CORPUS/labels-dev.jsonl")
    parser.add_argument("--config", type=Path, default=ROOT.parent / "shared" / "eval" / "companies.yaml")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "intelbot-bench" / "extract")
    parser.add_argument("--show-errors", action="store_true", help="list every wrong decision with its evidence")
    args = parser.parse_args(argv)
    labels_path = args.labels or args.corpus / "labels-dev.jsonl"
    if not (args.corpus / "pages").is_dir() or not labels_path.is_file():
        print(f"accuracy: corpus not found at {args.corpus} (labels {labels_path}); skipping.")
        return 0

    config = load_config(args.config)
    matcher = CompanyMatcher(company_names_of(config.companies))
    companies = [c.name for c in config.companies]
    urls = {row["id"]: row.get("url") or "" for row in read_jsonl(args.corpus / "pages.jsonl")}

    counts = {"all": Counter(), "about": Counter()}
    per_company: dict[str, Counter] = {name: Counter() for name in companies}
    tricky_flagged: list[str] = []
    excluded_flagged: list[str] = []
    errors: list[str] = []
    labels = list(read_jsonl(labels_path))
    for label in labels:
        page_id = label["id"]
        page = extracted(args.corpus / "pages" / f"{page_id}.html", urls.get(page_id, ""), args.cache)
        result = matcher.match(page.title, page.text)
        found = {c.company for c in result.companies}
        about = {c.company for c in result.companies if c.about}
        truth = set(label["companies"])
        incidental = set(label["incidental"])
        for name in companies:
            outcome = _outcome(name in found, name in truth)
            counts["all"][outcome] += 1
            per_company[name][outcome] += 1
            if outcome in ("fp", "fn"):
                errors.append(f"{page_id} {outcome.upper()} {name}: {_evidence(result, name)}")
            if name in incidental:
                continue  # neither positive nor negative for "about"
            counts["about"][_outcome(name in about, name in truth)] += 1
        tricky_flagged += [f"{page_id}:{n}" for n in label["tricky_negatives"] if n in found]
        excluded_flagged += [f"{page_id}:{n}" for n in label["excluded_occurrences"] if n in found and n not in truth]

    print(f"pages: {len(labels)}  companies: {len(companies)}  config: {args.config}")
    print(f"{'company':<12} {'P':>6} {'R':>6} {'F1':>6}   tp  fp  fn")
    for name in companies:
        c = per_company[name]
        if c["tp"] + c["fp"] + c["fn"] == 0:
            continue
        p, r, f = prf(c["tp"], c["fp"], c["fn"])
        print(f"{name:<12} {p:6.3f} {r:6.3f} {f:6.3f}  {c['tp']:3d} {c['fp']:3d} {c['fn']:3d}")
    if args.show_errors:
        print("\n".join(["", "wrong decisions:", *errors]))
    p, r, f = prf(counts["all"]["tp"], counts["all"]["fp"], counts["all"]["fn"])
    ap, ar, af = prf(counts["about"]["tp"], counts["about"]["fp"], counts["about"]["fn"])
    print(f"\nall mentions: precision={p:.3f} recall={r:.3f} f1={f:.3f} "
          f"(tp={counts['all']['tp']} fp={counts['all']['fp']} fn={counts['all']['fn']})")
    print(f"about:        precision={ap:.3f} recall={ar:.3f} f1={af:.3f} "
          f"(tp={counts['about']['tp']} fp={counts['about']['fp']} fn={counts['about']['fn']})")
    print(f"tricky negatives flagged: {len(tricky_flagged)} {' '.join(tricky_flagged)}")
    print(f"excluded occurrences flagged: {len(excluded_flagged)} {' '.join(excluded_flagged)}")
    print(f"precision={p:.3f} recall={r:.3f} f1={f:.3f} about_precision={ap:.3f} about_recall={ar:.3f} "
          f"tricky_flagged={len(tricky_flagged)}")
    return 0


def _outcome(predicted: bool, actual: bool) -> str:
    return {(True, True): "tp", (True, False): "fp", (False, True): "fn", (False, False): "tn"}[(predicted, actual)]


def _evidence(result, name: str) -> str:
    kept = [f"{m.field}:{m.alias}@{m.start}" for m in result.mentions if m.company == name]
    dropped = [f"{c.alias}@{c.start}({c.reason})" for c in result.rejected if c.company == name]
    return f"kept {kept[:6]} dropped {dropped[:6]}"


if __name__ == "__main__":
    sys.exit(main())
