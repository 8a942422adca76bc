"""Every sentence intelbot says to people, in one place, so each platform words it the same."""

from __future__ import annotations

from datetime import datetime

HELP = """\
Look up stored stories: /intel <companies and words>
  /intel twitter china        stories naming Twitter that contain "china"
  /intel xiaomi               the newest stories naming Xiaomi
  /intel "supply chain"       any words: every word must occur
  /intel why <url>            which companies a stored story names, and why
  /intel help                 this text"""

WHY_USAGE = "Give me a story's link, for example `/intel why https://example.com/news/1`."
NO_COMPANY = "No tracked company is named in it."


def not_stored(url: str) -> str:
    return f"I have no stored story at {url}. Stories are stored when a source lists them."


def explain_heading(title: str) -> str:
    return f"“{title}”:"


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


def results_heading(count: int, companies: tuple[str, ...], terms: tuple[str, ...], *, page: int = 1) -> str:
    what = " ".join([*companies, *terms])
    noun = "story" if count == 1 else "stories"
    where = f" (page {page})" if page > 1 else ", best first"
    return f"{count} {noun} for “{what}”{where}:"


def age(moment: datetime, now: datetime) -> str:
    """'5 min ago', '3 h ago', '2 d ago' or a date, for people."""
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds < 3600:
        return f"{max(1, seconds // 60)} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    if seconds < 14 * 86400:
        return f"{seconds // 86400} d ago"
    return moment.strftime("%Y-%m-%d")


# Chat buttons and notes (Slack today; the same words for any platform with buttons).
SHARE_BUTTON = "Share in channel"
MORE_BUTTON = "More"
COMMAND_FAILED = "Sorry, I could not answer that just now. Please try again in a minute."


def shared_by(user: str) -> str:
    """The note under a lookup someone shared in a channel; `user` is already a mention."""
    return f"Shared by {user}"


def why_line(why: str) -> str:
    return f"why: {why}"


# Discord's application command (names and descriptions are shown in Discord's command picker).
INTEL_DESCRIPTION = "Look up stored stories about tracked companies"
INTEL_QUERY_DESCRIPTION = "Companies and words, e.g. globex poland; leave empty for help"
