"""Every sentence intelbot says to people, in one place, so each platform words it the same."""

from __future__ import annotations

HELP = """\
Look up stored stories: /intel <companies and words>
  /intel twitter china        stories naming Twitter that contain "china"
  /intel xiaomi               the newest stories naming Xiaomi
  /intel "supply chain"       any words: every word must occur
  /intel help                 this text"""

EMPTY_QUERY = "Tell me what to look for, for example `/intel twitter china`."


def no_results(companies: tuple[str, ...], terms: tuple[str, ...]) -> str:
    """Say what was searched, and how to broaden it."""
    parts = []
    if companies:
        parts.append("stories naming " + " or ".join(companies))
    if terms:
        parts.append("containing " + " and ".join(f"“{t}”" for t in terms))
    searched = ", ".join(parts) or "anything"
    hint = "Try fewer words" if terms else "Try another company, or wait for the next poll"
    return f"No stored {searched}. {hint}."


def results_heading(count: int, companies: tuple[str, ...], terms: tuple[str, ...]) -> str:
    what = " ".join([*companies, *terms])
    noun = "story" if count == 1 else "stories"
    return f"{count} {noun} for “{what}”, best first:"
