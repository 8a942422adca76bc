"""What changed between two configs, said briefly for people, and a watcher of the config file.

`config_diff(old, new)` lists the changes ("+1 company: Haier", "watchlist china: +keyword
'tariff'") and `needs_restart(old, new)` the sections a running bot cannot change in place
(storage, fetch limits, chat connections, the health endpoint). `watch_config` calls back
when the file changes on disk, whichever way the editor saves it (in place, or a new file
renamed over the old one).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import timedelta
from pathlib import Path

from watchfiles import Change, awatch

from bot.config import Config, format_duration

log = logging.getLogger(__name__)

RESTART_SECTIONS = ("storage", "fetch", "chat", "health")


def config_diff(old: Config, new: Config) -> list[str]:
    """The changes from `old` to `new`, one short phrase each; empty when nothing that a
    running bot uses has changed."""
    changes: list[str] = []
    changes += _added_removed("company", [c.name for c in old.companies], [c.name for c in new.companies])
    old_companies = {c.name: c for c in old.companies}
    for company in new.companies:
        before = old_companies.get(company.name)
        if before is None:
            continue
        parts = _list_changes("alias", before.alias_names, company.alias_names)
        parts += _list_changes("context word", before.context, company.context)
        parts += _list_changes("exclusion", before.exclude, company.exclude)
        parts += _value_changes({"ambiguous": (before.ambiguous, company.ambiguous),
                                 "links": (before.links, company.links)})
        parts += [f"alias '{a.name}' case {b.case} → {a.case}" for b in before.aliases for a in company.aliases
                  if a.name == b.name and a.case != b.case]
        if parts:
            changes.append(f"company {company.name}: {', '.join(parts)}")

    changes += _added_removed("source", [s.name for s in old.sources], [s.name for s in new.sources])
    old_sources = {s.name: s for s in old.sources}
    for source in new.sources:
        before = old_sources.get(source.name)
        if before is not None:
            parts = _value_changes({"url": (before.url, source.url),
                                    "every": (format_duration(before.every), format_duration(source.every)),
                                    "max_every": (_every(before.max_every), _every(source.max_every)),
                                    "robots": (str(before.robots).lower(), str(source.robots).lower())})
            if parts:
                changes.append(f"source {source.name}: {', '.join(parts)}")

    changes += _added_removed("watchlist", [w.name for w in old.watchlists], [w.name for w in new.watchlists])
    old_watchlists = {w.name: w for w in old.watchlists}
    for watchlist in new.watchlists:
        before = old_watchlists.get(watchlist.name)
        if before is None:
            continue
        parts = _list_changes("company", before.companies, watchlist.companies)
        parts += _list_changes("keyword", before.keywords, watchlist.keywords)
        parts += _list_changes("channel", before.channels, watchlist.channels)
        parts += _list_changes("ping", before.ping, watchlist.ping)
        parts += _value_changes({"require": (before.require, watchlist.require), "mode": (before.mode, watchlist.mode),
                                 "digest": (_digest(before), _digest(watchlist))})
        if parts:
            changes.append(f"watchlist {watchlist.name}: {', '.join(parts)}")

    for section in ("alerts", "channels", "admin_channel", "admins"):
        if getattr(old, section) != getattr(new, section):
            changes.append(f"{section} changed")
    changes += [f"{section} changed (restart to apply)" for section in needs_restart(old, new)]
    return changes


def needs_restart(old: Config, new: Config) -> list[str]:
    """The sections that differ and only take effect when intelbot starts again."""
    return [section for section in RESTART_SECTIONS if getattr(old, section) != getattr(new, section)]


def _digest(watchlist) -> str:
    digest = watchlist.digest
    return f"{digest.cron} {digest.tz} {digest.when_empty}"


def _added_removed(noun: str, before: Sequence[str], after: Sequence[str]) -> list[str]:
    added = [name for name in after if name not in before]
    removed = [name for name in before if name not in after]
    phrases = []
    for sign, names in (("+", added), ("-", removed)):
        if names:
            plural = noun if len(names) == 1 else ("companies" if noun == "company" else noun + "s")
            phrases.append(f"{sign}{len(names)} {plural}: {', '.join(names)}")
    return phrases


def _list_changes(noun: str, before: Iterable[str], after: Iterable[str]) -> list[str]:
    before, after = list(before), list(after)
    return ([f"+{noun} '{item}'" for item in after if item not in before]
            + [f"-{noun} '{item}'" for item in before if item not in after])


def _every(value: timedelta | None) -> str:
    return "default" if value is None else format_duration(value)


def _value_changes(pairs: dict[str, tuple[object, object]]) -> list[str]:
    return [f"{key} {old} → {new}" for key, (old, new) in pairs.items() if old != new]


async def watch_config(path: Path, on_change: Callable[[], Awaitable[object]],
                       *, stop_event=None, debounce_ms: int = 500) -> None:
    """Call `on_change` after each change of the file at `path`, until `stop_event` is set.

    Watches the file's folder, so a save that writes a new file and renames it over the old
    one (most editors, and intelbot's own edits from chat) is seen too. Several events within
    `debounce_ms` are one change.
    """
    target = path.resolve()

    def is_config(change: Change, changed: str) -> bool:
        return Path(changed).resolve() == target and change != Change.deleted

    async for _ in awatch(target.parent, watch_filter=is_config, debounce=debounce_ms, stop_event=stop_event,
                          recursive=False):
        try:
            await on_change()
        except Exception:  # a bug in reloading must not end the watching
            log.exception("reloading %s failed unexpectedly", path)
