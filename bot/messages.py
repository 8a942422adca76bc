"""Every sentence intelbot says to people, in one place, so each platform words it the same."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.models import DigestItem

if TYPE_CHECKING:
    from bot.query import Query
    from bot.status import SourceStatus, StatusReport

HELP = """\
Look up stored stories: /intel <companies and words>
  /intel twitter china        stories naming Twitter (any alias; small typos are fixed) with "china"
  /intel xiaomi               the newest stories naming Xiaomi
  /intel "supply chain"       the exact phrase
  /intel globex -rumour       leave out stories containing "rumour"
  /intel globex since:7d      published in the last 7 days (also 12h, 2w, or since:2026-01-01)
  /intel globex source:wire   from one source (quote names with spaces: source:"Tech Wire")
  /intel about:globex         only stories about Globex, not passing mentions
  /intel xiaomi lang:zh       stories in one language
  /intel globex event:funding stories of one kind of event: funding, acquisition, launch,
                              partnership, leadership, layoffs, legal, earnings, expansion
  /intel why <url>            which companies a stored story names, and why
  /intel help                 this text"""

WHY_USAGE = "Give me a story's link, for example `/intel why https://example.com/news/1`."
NO_COMPANY = "No tracked company is named in it."


def not_stored(url: str) -> str:
    return f"I have no stored story at {url}. Stories are stored when a source lists them."


def explain_heading(title: str) -> str:
    return f"“{title}”:"


EMPTY_QUERY = "Tell me what to look for, for example `/intel twitter china`."


STALE_MORE = "That “More” button has expired. Run the lookup again for fresh results."
KNOWN_OPERATORS = {
    "since": "since:7d, since:12h or since:2026-01-01",
    "source": "source:<name>, e.g. source:wire",
    "lang": "lang:<ISO code>, e.g. lang:zh",
    "event": "event:<tag>, one of funding, acquisition, launch, partnership, leadership, layoffs, legal, "
             "earnings, expansion",
    "after": "after: is written by the “More” button; run the lookup again",
    "about": "about: or about:<company>",
}


def query_problems(problems: Sequence[str]) -> str:
    """Name each operator that could not be used, and how to write the known ones."""
    lines = []
    for token in problems:
        name = token.partition(":")[0].lower()
        if name in KNOWN_OPERATORS:
            lines.append(f"I cannot read `{token}`: write {KNOWN_OPERATORS[name]}.")
        else:
            lines.append(
                f"I don't know the operator `{name}:` (in `{token}`). Put it in quotes to search for it as text."
            )
    return "\n".join(lines)


def corrections(pairs: Sequence[tuple[str, str]]) -> str:
    """'Showing results for Twitter (you typed “twiter”).' and a line break, or ''."""
    if not pairs:
        return ""
    names = " and ".join(dict.fromkeys(company for _, company in pairs))
    typed = ", ".join(f"“{word}”" for word, _ in pairs)
    return f"Showing results for {names} (you typed {typed}).\n"


def describe(query: Query) -> str:
    """What a lookup searched, for people: companies, words, phrases, exclusions, window, filters."""
    parts = []
    if query.companies:
        parts.append(("about " if query.about else "naming ") + " or ".join(query.companies))
    elif query.about:
        parts.append("about a tracked company")
    words = [*query.terms, *query.phrases]
    if words:
        parts.append("containing " + " and ".join(f"“{w}”" for w in words))
    if query.exclude:
        parts.append("without " + " or ".join(f"“{w}”" for w in query.exclude))
    if query.since is not None:
        parts.append("published since " + query.since.strftime("%Y-%m-%d %H:%M UTC"))
    if query.source:
        parts.append(f"from {query.source}")
    if query.lang:
        parts.append(f"in language “{query.lang}”")
    if query.event:
        parts.append(f"tagged {query.event}")
    return ", ".join(parts) or "anything"


def no_results(query: Query) -> str:
    """Say what was searched, and suggest a broader lookup."""
    narrowed = query.exclude or query.since or query.source or query.lang or query.about or query.event
    core = [*query.companies, *query.terms, *(f'"{p}"' for p in query.phrases)]
    if narrowed and core:
        hint = f"Try without the filters: `/intel {' '.join(core)}`"
    elif query.companies and (query.terms or query.phrases):
        hint = f"Try fewer words, e.g. `/intel {' '.join(query.companies)}`"
    elif len(core) > 1:
        hint = f"Try fewer words, e.g. `/intel {core[0]}`"
    elif query.companies:
        hint = "Try another company, or wait for the next poll"
    else:
        hint = "Try another word, or a company name"
    return f"No stored stories {describe(query)}. {hint}."


def results_heading(count: int, query: Query, *, page: int = 1) -> str:
    what = " ".join([*query.companies, *query.terms, *(f'"{p}"' for p in query.phrases),
                     *([f"event:{query.event}"] if query.event else [])])
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


def until(moment: datetime, now: datetime) -> str:
    """'now', 'in 5 min', 'in 3 h', 'in 2 d', for people."""
    if moment <= now:
        return "due now"
    return f"in {duration(moment - now)}"


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


OUTLETS_NAMED = 3  # a coverage reply names this many outlets, then "+N more"


def also_covered(outlets: Sequence[str], *, more: int = 0) -> str:
    """'Also covered by A, B and C (+2 more)'; `outlets` are already rendered (linked, escaped)."""
    if not outlets:
        return ""
    names = outlets[0] if len(outlets) == 1 else ", ".join(outlets[:-1]) + " and " + outlets[-1]
    return f"Also covered by {names}" + (f" (+{more} more)" if more else "")


def now_also_mentions(companies: Sequence[str]) -> str:
    """'New in later coverage: Haier and Midea.' (the story's first article did not name them)."""
    names = companies[0] if len(companies) == 1 else ", ".join(companies[:-1]) + " and " + companies[-1]
    return f"New in later coverage: {names}."


def coverage_of(title: str) -> str:
    """Where a platform has no threads, the reply says which story it is about."""
    return f"More coverage of “{title}”"


def story_coverage(articles: Sequence[tuple[str, str, str]], url: str) -> str:
    """For `/intel why`: the story's first article and its other coverage, one line each."""
    lines = ["One story, carried by:"]
    for number, (source, link, title) in enumerate(articles):
        marks = ["first"] if number == 0 else []
        marks += ["this one"] if link == url else []
        lines.append(f"  {source}: {title} {link}" + (f" ({', '.join(marks)})" if marks else ""))
    return "\n".join(lines)


DIGEST_ITEMS_PER_COMPANY = 5  # a digest lists this many stories per company, then "+N more"


def digest_heading(watchlist: str, total: int, since: datetime | None, now: datetime) -> str:
    """'Digest for rivals: 12 stories since Mon 24 Nov 09:00 UTC'."""
    noun = "story" if total == 1 else "stories"
    period = f" since {since:%a %d %b %H:%M} UTC" if since is not None else ""
    return f"Digest for {watchlist}: {total} {noun}{period}"


def digest_section(company: str, count: int) -> str:
    """'Globex (5)'."""
    return f"{company} ({count})"


def digest_more(count: int) -> str:
    return f"+{count} more"


def nothing_new(watchlist: str, since: datetime | None) -> str:
    """An empty digest, for watchlists that asked to hear it (`when_empty: say`)."""
    period = f" since {since:%a %d %b %H:%M} UTC" if since is not None else ""
    return f"Digest for {watchlist}: nothing new{period}."


# Health: `/intel status`, `intelbot status` and the notices for the admin channel.

STATUS_HELP = ("  /intel status               delivery per channel and the health of each source\n"
               "  /intel sources              each source's state (ok, failing, dead, silent) and why")


def status_text(report: StatusReport) -> str:
    """The status report as plain text: one block per channel, one line per source."""
    now = report.now
    lines = [f"intelbot status at {now:%Y-%m-%d %H:%M} UTC", "Channels:"]
    if not report.channels:
        lines.append("  none configured")
    for channel in report.channels:
        counts = f"{channel.pending} pending"
        if channel.retrying:
            counts += f" ({channel.retrying} retrying)"
        counts += f", {channel.sent_today} sent today, {channel.failed} failed"
        last = f"; last sent {age(channel.last_sent, now)}" if channel.last_sent else "; nothing sent yet"
        lines.append(f"• {channel.channel}: {counts}{last}")
        if channel.errors:
            reasons = "; ".join(f"{error} ({age(at, now)})" for error, at in channel.errors)
            lines.append(f"    latest failures: {reasons}")
    lines.append("Sources:")
    if not report.sources:
        lines.append("  none configured")
    for source in report.sources:
        lines.append(f"• {source.name}: {source_health(source, now)}")
    return "\n".join(lines)


def source_health(source: SourceStatus, now: datetime) -> str:
    """'OK, last success 5 min ago (12 polls)', 'failing, 3 polls in a row: …', 'silent: …' or
    'never polled'."""
    if source.never_polled:
        return "never polled"
    success = f"last success {age(source.last_success, now)}" if source.last_success else "never succeeded"
    upcoming = f"; next poll {until(source.next_poll, now)}" if source.next_poll else ""
    state, reason = source.health(now)
    if state == "silent":
        return f"silent: {reason}; {success}{upcoming}"
    if not source.failures:
        return f"OK, {success} ({source.polls} {'poll' if source.polls == 1 else 'polls'}){upcoming}"
    row = "1 poll" if source.failures == 1 else f"{source.failures} polls in a row"
    when = f" ({age(source.last_error_at, now)})" if source.last_error_at else ""
    return f"{state}, {row}: {source.last_error or 'unknown error'}{when}; {success}{upcoming}"


def channel_failing(channel: str, error: str, failed: int, last_sent: datetime | None, now: datetime) -> str:
    """The admin notice for a channel whose alerts the platform refuses for good."""
    since = f"since the last successful post ({age(last_sent, now)})" if last_sent else "and none ever went through"
    noun = "alert" if failed == 1 else "alerts"
    return (f"intelbot cannot post to {channel}: {error}. {failed} {noun} failed {since}. "
            "Check that the channel exists and the bot may post there; `intelbot status` shows more.")


def source_failing(name: str, failures: int, error: str, last_success: datetime | None, now: datetime) -> str:
    """The admin notice for a source that failed several polls in a row."""
    success = f"Last success {age(last_success, now)}." if last_success else "It has never been polled successfully."
    return (f"Source {name} failed {failures} polls in a row: {error or 'unknown error'}. {success} "
            "intelbot keeps polling it on schedule; `intelbot status` shows more.")


STATUS_UNAVAILABLE = "Status is not available here: run `intelbot status` on the machine that runs intelbot."


ABOUT_MARK, PASSING_MARK = "•", "◦"  # in a digest: a story about the company; one naming it in passing
DIGEST_COMPANY_LIMIT = 150
DIGEST_SOURCE_LIMIT = 50


def digest_company(company: str, items: Sequence[DigestItem], now: datetime, *,
                   fit: Callable[[str, int], str], bold: Callable[[str], str],
                   link: Callable[[DigestItem], str]) -> str:
    """A digest's section for one company, in a platform's markup: `Globex (7)` in bold, a line
    per story (at most DIGEST_ITEMS_PER_COMPANY: mark, linked title, source, age), then `+N more`.
    `fit(text, limit)` escapes and cuts web text for the platform."""
    lines = [bold(digest_section(fit(company, DIGEST_COMPANY_LIMIT), len(items)))]
    for item in items[:DIGEST_ITEMS_PER_COMPANY]:
        mark = ABOUT_MARK if item.about else PASSING_MARK
        lines.append(f"{mark} {link(item)} · {fit(item.source, DIGEST_SOURCE_LIMIT)} · {age(item.published, now)}")
    if len(items) > DIGEST_ITEMS_PER_COMPANY:
        lines.append(digest_more(len(items) - DIGEST_ITEMS_PER_COMPANY))
    return "\n".join(lines)


def other_companies(sections: Sequence[tuple[str, Sequence[DigestItem]]], limit: int, *,
                    fit: Callable[[str, int], str]) -> str:
    """`Hooli (3) · Initech (2) +30 more`: the companies a digest had no room to list, in order,
    as many as fit in `limit` characters (as `fit` renders them)."""
    suffix = " " + digest_more(len(sections))  # the longest it can be
    named: list[str] = []
    for company, items in sections:
        part = digest_section(fit(company, DIGEST_COMPANY_LIMIT), len(items))
        if len(" · ".join([*named, part])) + len(suffix) > limit:
            break
        named.append(part)
    left = len(sections) - len(named)
    text = " · ".join(named)
    return f"{text} {digest_more(left)}".strip() if left else text


def reloaded(path: str, changes: Sequence[str]) -> str:
    """'Reloaded intelbot.yaml: +1 company: Haier; watchlist china: +keyword 'tariff'.'"""
    return f"Reloaded {path}: " + "; ".join(changes) + "."


def reload_failed(path: str, errors: str) -> str:
    """The precise errors of a config that was not applied; the running one stays."""
    return f"Did not reload {path}: it has errors, so the running configuration stays.\n{errors}"



# Editing watchlists and sources from chat: `/intel watch ...`, `/intel source ...` (bot/admin.py).

ADMIN_HELP = """\
Watchlists and sources (only admins may change them):
  /intel watch list           each watchlist: its companies, keywords and channels
  /intel watch add "Globex Corp" Globex 环球 to rivals
                              track a company (quote a name with spaces), with aliases after
                              its name, in a watchlist (default: the first one)
  /intel watch remove Globex from rivals
                              take it out of one watchlist; without `from`, stop tracking it
  /intel source add https://news.example.com/feed.xml every 30m
                              poll a new feed (default every 15m)
  /intel source remove <name> stop polling a source (`/intel status` lists their names)"""

EDITING_NOT_ENABLED = "Changing watchlists and sources from chat is not enabled in this intelbot."
BUILT_IN_CONFIG = (
    "intelbot is running on its built-in configuration, which cannot be changed from chat. "
    "To have your own: copy config.example.yaml to intelbot.yaml in the folder intelbot runs in "
    "(or pass --config PATH), then restart intelbot."
)
CHANGED_ON_DISK = ("The config file changed on disk since I loaded it; reload first (it reloads "
                   "automatically) and try again.")
NO_WATCHLISTS = "There are no watchlists yet."


def not_an_admin(user: str) -> str:
    """The polite refusal for someone who is not listed under `admins:`."""
    return ("Sorry, only intelbot admins can change watchlists and sources, so nothing was changed. "
            f"An admin can add you to `admins:` in the config file as `{user}`.")


def admin_usage(problem: str = "") -> str:
    """What went wrong with an edit command (if anything), then how to write them."""
    return (problem + "\n\n" if problem else "") + ADMIN_HELP


def watchlists_text(lines: Sequence[str], count: int) -> str:
    noun = "watchlist" if count == 1 else "watchlists"
    return "\n".join([f"{count} {noun}:", *lines]) if count else NO_WATCHLISTS


def names_and(names: Sequence[str]) -> str:
    """'A', 'A and B', 'A, B and C'."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def config_on_disk_invalid(errors: str) -> str:
    return f"The config file on disk has errors, so I did not change it. Fix them first:\n{errors}"


def edit_invalid(errors: str) -> str:
    return f"That change would make the config invalid, so nothing was saved:\n{errors}"


def save_failed(path: str, reason: str) -> str:
    return f"I could not save {path} ({reason}), so nothing was changed."


def saved(done: str, reload_note: str | None) -> str:
    """'Added Haier to watchlist china. Config saved; reloaded.' or with why it is not running yet."""
    if reload_note is None:
        return f"{done} Config saved; reloaded."
    return f"{done} Config saved, but {reload_note}"


RELOAD_LATER = "it takes effect when intelbot loads it again."


def not_running_yet(said: str | None) -> str:
    return "the running configuration did not change yet" + (f": {said}" if said else ".")


def reformatted(lines: int) -> str:
    noun = "line" if lines == 1 else "lines"
    return (f"Note: the file's mixed indentation could not be kept, so saving also reformatted "
            f"{lines} other {noun}.")


def refused_source(host_reason: str) -> str:
    return f"I won't poll that address: {host_reason}. Nothing was saved."


SOURCE_ADD_USAGE = "Give me the feed's http:// or https:// address, e.g. `/intel source add https://news.example.com/feed.xml every 30m`."
NO_WATCHLIST_TO_ADD_TO = ("There are no watchlists to add a company to: add one under `watchlists:` in the config "
                          "file first. Nothing was changed.")
NAMES_LISTED = 20  # an unknown watchlist or source is answered with this many known names


def _some(names: Sequence[str]) -> str:
    shown = ", ".join(names[:NAMES_LISTED])
    return shown + (f" +{len(names) - NAMES_LISTED} more" if len(names) > NAMES_LISTED else "")


def needs_name(what: str) -> str:
    return f"Which {what}?"


def bad_name(what: str, limit: int) -> str:
    return f"A {what} name must be plain text of at most {limit} characters. Nothing was changed."


def cannot_resolve(host: str) -> str:
    return f"I could not find the address of {host}: check the link. Nothing was saved."


def unknown_company(name: str, close: str | None) -> str:
    hint = f" Did you mean {close}?" if close else " `/intel watch list` shows the watchlists."
    return f"I don't track a company called {name}.{hint} Nothing was changed."


def unknown_watchlist(name: str, names: Sequence[str]) -> str:
    known = f" The watchlists are: {_some(names)}." if names else ""
    return f"There is no watchlist called {name}.{known} Nothing was changed."


def unknown_source(name: str, names: Sequence[str]) -> str:
    known = f" The sources are: {_some(names)}." if names else " There are no sources."
    return f"There is no source called {name}.{known} Nothing was changed."


def _aliases(aliases: Sequence[str]) -> str:
    return ("alias " if len(aliases) == 1 else "aliases ") + ", ".join(aliases)


def company_added(company: str, aliases: Sequence[str], watchlist: str) -> str:
    """'Added Haier (aliases 海尔, Haier Group) to watchlist china.'"""
    known_as = f" ({_aliases(aliases)})" if aliases else ""
    return f"Added {company}{known_as} to watchlist {watchlist}."


def company_changed(company: str, new_aliases: Sequence[str], added_to: str | None) -> str:
    """A known company: added to a watchlist (`added_to`), given new aliases, or both."""
    if added_to is None:
        return f"Added {_aliases(new_aliases)} to {company}."
    with_aliases = f", with the new {_aliases(new_aliases)}" if new_aliases else ""
    return f"Added {company} to watchlist {added_to}{with_aliases}."


def already_watched(company: str, watchlist: str, with_aliases: bool) -> str:
    those = " with those aliases" if with_aliases else ""
    return f"{company} is already in watchlist {watchlist}{those}. Nothing was changed."


def not_in_watchlist(company: str, watchlist: str) -> str:
    return f"{company} is not in watchlist {watchlist}. Nothing was changed."


def only_company(company: str, watchlists: Sequence[str]) -> str:
    noun = "watchlist" if len(watchlists) == 1 else "watchlists"
    return (f"{company} is the only company of {noun} {names_and(watchlists)}, and a watchlist needs at least "
            "one. Add another company to it first, or remove the watchlist in the config file. Nothing was changed.")


def removed_from_watchlist(company: str, watchlist: str, still_in: Sequence[str]) -> str:
    if still_in:
        noun = "watchlist" if len(still_in) == 1 else "watchlists"
        return f"Removed {company} from watchlist {watchlist}; it stays in {noun} {names_and(still_in)}."
    return (f"Removed {company} from watchlist {watchlist}. It is in no watchlist now but still recognised in "
            f"lookups; `/intel watch remove {company}` stops tracking it.")


def company_removed(company: str, watchlists: Sequence[str]) -> str:
    if not watchlists:
        return f"Stopped tracking {company} (it was in no watchlist)."
    noun = "watchlist" if len(watchlists) == 1 else "watchlists"
    return f"Stopped tracking {company}: removed it from {noun} {names_and(watchlists)} and from the companies."


def source_exists(name: str, url: str) -> str:
    return f"Source {name} already polls {url}. Nothing was changed."


def source_added(name: str, url: str, every: str) -> str:
    return f"Added source {name}: {url}, polled every {every}."


def source_removed(name: str, url: str) -> str:
    return f"Removed source {name} ({url}); its stories stay searchable."


def watchlist_heading(name: str, channels: Sequence[str], require: str, mode: str) -> str:
    """'• china → console, slack:#china-desk (only stories about them; digest)'."""
    notes = (["only stories about them"] if require == "about" else []) + ([mode] if mode != "realtime" else [])
    return f"• {name} → {', '.join(channels)}" + (f" ({'; '.join(notes)})" if notes else "")


def watchlist_companies(names: Sequence[str], more: int) -> str:
    return "  companies: " + ", ".join(names) + (f" +{more} more" if more > 0 else "")


def watchlist_keywords(words: Sequence[str]) -> str:
    return "  keywords: " + ", ".join(words)


COMMENTS_AT_RISK = ("I could not make that change without moving or losing comments in the config file, so "
                    "nothing was saved. Please make it by hand.")


def duration(span: timedelta) -> str:
    """'3 d', '5 h', '20 min' (rounded down), for people."""
    seconds = int(span.total_seconds())
    if seconds >= 2 * 86400:
        return f"{seconds // 86400} d"
    if seconds >= 2 * 3600:
        return f"{seconds // 3600} h"
    return f"{max(1, seconds // 60)} min"


def silent_for(quiet: timedelta, usual: timedelta) -> str:
    """Why a source counts as silent: 'no new stories for 3 d (usually one every 5 h)'."""
    return f"no new stories for {duration(quiet)} (usually one every {duration(usual)})"


def sources_text(report: StatusReport) -> str:
    """`intelbot sources` and `/intel sources`: one line per source, its state and why."""
    lines = [f"Sources at {report.now:%Y-%m-%d %H:%M} UTC:"]
    if not report.sources:
        lines.append("  none configured")
    for source in report.sources:
        state, _ = source.health(report.now)
        lines.append(f"• {source.name} [{state}]: {source_health(source, report.now)}")
    return "\n".join(lines)


def source_silent(name: str, reason: str) -> str:
    """The admin notice for a source that polls fine but has stopped publishing (or changed its feed)."""
    return f"Source {name} has gone silent: {reason}. Its feed may have moved or changed; `/intel sources` shows all."


def source_recovered(name: str) -> str:
    return f"Source {name} is working again."

