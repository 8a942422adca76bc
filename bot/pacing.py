"""Pure decisions of pacing: is a channel in its quiet hours, and what a digest says.

No I/O: the dispatcher (bot/delivery.py) asks the store and the clock, then these decide.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.models import Digest, DigestItem


class QuietHours(Protocol):
    """What `in_quiet_hours` needs (config's QuietHoursConfig fits this shape)."""

    @property
    def start(self): ...  # datetime.time

    @property
    def end(self): ...  # datetime.time

    @property
    def tz(self) -> str: ...


def in_quiet_hours(quiet: QuietHours, now: datetime) -> bool:
    """True when `now` falls in [start, end) on the wall clock of the quiet hours' time zone.

    A start after the end spans midnight (22:00-07:00); equal start and end mean no quiet hours.
    """
    local = now.astimezone(ZoneInfo(quiet.tz)).time().replace(tzinfo=None)
    if quiet.start == quiet.end:
        return False
    if quiet.start < quiet.end:
        return quiet.start <= local < quiet.end
    return local >= quiet.start or local < quiet.end


def build_digest(watchlist: str, channel: str, rows: Sequence[tuple[int, DigestItem, float]], *,
                 since: datetime | None, until: datetime) -> Digest:
    """Group a period's stories by company: most stories first, then most salient; within a
    company, stories about it first, then by salience, then newest. A story is listed once,
    under its first (most salient) company."""
    by_company: dict[str, list[tuple[DigestItem, float]]] = {}
    for _, item, score in rows:
        company = item.companies[0] if item.companies else ""
        by_company.setdefault(company, []).append((item, score))
    ordered = sorted(by_company.items(), key=lambda pair: (-len(pair[1]), -sum(s for _, s in pair[1]), pair[0]))
    sections = tuple(
        (company, tuple(item for item, _ in sorted(
            stories, key=lambda pair: (not pair[0].about, -pair[1], -pair[0].published.timestamp()))))
        for company, stories in ordered
    )
    return Digest(channel=channel, watchlist=watchlist, since=since, until=until, sections=sections,
                  total=len(rows), ids=tuple(row_id for row_id, _, _ in rows))
