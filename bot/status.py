"""How a running intelbot is doing: the status report, admin notices and lookup timings.

`read_status` reads the store into a `StatusReport` (built by the pure `build_report`), which
`intelbot status`, `/intel status` and `/metrics` render. `Notifier` tells the admin channel,
once, when a channel starts failing or a source keeps failing; what to say is decided by the
pure `due_notices`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot import messages
from bot.cadence import usual_gap
from bot.errors import DeliveryError
from bot.models import Reply, SourceState, parse_channel

if TYPE_CHECKING:
    from bot.config import Config
    from bot.delivery import ChatAdapter
    from bot.store import Store

log = logging.getLogger(__name__)

FAILURE_REASONS = 3  # distinct errors shown per channel, newest first
SOURCE_FAILURES_NOTICE = 3  # a source is announced at this many failed polls in a row
DEAD_FAILURES = 10  # failed polls in a row after which a source is "dead", not just "failing"
SILENT_GAPS = 5  # a source is "silent" after this many times its usual gap between stories...
SILENT_AT_LEAST = timedelta(days=1)  # ...and never sooner than this


@dataclass(frozen=True)
class ChannelStatus:
    """The outbox of one channel. Counts are outbox rows (alerts and later copies of stories)."""

    channel: str
    pending: int = 0
    retrying: int = 0  # of `pending`: rows that failed before and wait for their retry
    failed: int = 0  # given up: the platform refused them permanently
    sent: int = 0
    sent_today: int = 0  # since 00:00 UTC
    last_sent: datetime | None = None
    errors: tuple[tuple[str, datetime], ...] = ()  # (error, last seen) of unsent rows, distinct, newest first


@dataclass(frozen=True)
class SourceStatus:
    """What the store remembers of one configured source's polls."""

    name: str
    url: str
    polls: int = 0  # successful polls
    last_success: datetime | None = None
    last_error: str | None = None  # of the last failed poll; None once a poll succeeded
    last_error_at: datetime | None = None
    failures: int = 0  # failed polls in a row since the last success
    last_new: datetime | None = None  # when it last gave a new story
    usual_gap: timedelta | None = None  # the median time between its recent stories
    next_poll: datetime | None = None  # when its next poll is due (backoff, Retry-After, adaptive interval)

    @property
    def never_polled(self) -> bool:
        return self.last_success is None and self.last_error_at is None

    def health(self, now: datetime) -> tuple[str, str]:
        """(state, reason): "new" (never polled), "dead" (DEAD_FAILURES failed polls in a row),
        "failing", "silent" (polls work but no new story for SILENT_GAPS times its usual gap,
        at least a day) or "ok"."""
        if self.never_polled:
            return "new", "never polled"
        if self.failures:
            reason = self.last_error or "unknown error"
            return ("dead" if self.failures >= DEAD_FAILURES else "failing"), reason
        quiet_for = now - self.last_new if self.last_new is not None else None
        if self.usual_gap is not None and quiet_for is not None and quiet_for > max(
                SILENT_AT_LEAST, self.usual_gap * SILENT_GAPS):
            return "silent", messages.silent_for(quiet_for, self.usual_gap)
        return "ok", ""


@dataclass(frozen=True)
class StatusReport:
    """Channels (configured ones, then others with unsent rows) and configured sources, at `now`."""

    now: datetime
    channels: tuple[ChannelStatus, ...]
    sources: tuple[SourceStatus, ...]

    def to_json(self) -> dict:
        """The report as JSON-ready values; times as ISO 8601 UTC strings or None."""
        return {
            "now": _iso(self.now),
            "channels": [
                {"channel": c.channel, "pending": c.pending, "retrying": c.retrying, "failed": c.failed,
                 "sent": c.sent, "sent_today": c.sent_today, "last_sent": _iso(c.last_sent),
                 "failure_reasons": [{"error": error, "at": _iso(at)} for error, at in c.errors]}
                for c in self.channels
            ],
            "sources": [
                {"name": s.name, "url": s.url, "polls": s.polls, "last_success": _iso(s.last_success),
                 "last_error": s.last_error, "last_error_at": _iso(s.last_error_at),
                 "consecutive_failures": s.failures, "state": s.health(self.now)[0],
                 "reason": s.health(self.now)[1], "last_new": _iso(s.last_new),
                 "next_poll": _iso(s.next_poll)}
                for s in self.sources
            ],
        }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def configured_channels(config: Config) -> list[str]:
    """Every channel the config sends alerts to, in the order it names them."""
    named = [channel for watchlist in config.watchlists for channel in watchlist.channels]
    named += [paced.channel for paced in config.channels]
    return list(dict.fromkeys(named))


def build_report(
    *, now: datetime, channels: Sequence[str], sources: Sequence[tuple[str, str]],
    outbox: Iterable[tuple[str, int, int, int, int, int, datetime | None]],
    errors: Iterable[tuple[str, str, datetime]], states: Iterable[SourceState],
    activity: Mapping[str, tuple[datetime, list[float]]] | None = None,
) -> StatusReport:
    """The report from the store's reads (`Store.outbox_status`, `outbox_errors`, `sources`).

    `channels` (configured) come first in their order, with zeros when they have no rows;
    then other channels the outbox still holds unsent rows for. `sources` are the configured
    (name, url) pairs; one the store never saw is "never polled".
    """
    reasons: dict[str, list[tuple[str, datetime]]] = {}
    for channel, error, at in errors:
        reasons.setdefault(channel, []).append((error, at))
    rows = {row[0]: row for row in outbox}
    order = list(dict.fromkeys([*channels, *rows]))
    channel_statuses = []
    for channel in order:
        _, pending, retrying, failed, sent, today, last_sent = rows.get(channel, (channel, 0, 0, 0, 0, 0, None))
        channel_statuses.append(ChannelStatus(channel, pending, retrying, failed, sent, today, last_sent,
                                              tuple(reasons.get(channel, ()))))
    known = {state.name: state for state in states}
    source_statuses = []
    for name, url in sources:
        state = known.get(name)
        if state is None:
            source_statuses.append(SourceStatus(name, url))
        else:
            source_statuses.append(source_status(state, activity or {}))
    return StatusReport(now, tuple(channel_statuses), tuple(source_statuses))


def source_status(state: SourceState, activity: Mapping[str, tuple[datetime, list[float]]]) -> SourceStatus:
    """A source's status from its stored state and activity (`Store.source_activity`)."""
    last_new, gaps = activity.get(state.name, (None, []))
    return SourceStatus(state.name, state.url, state.polls, state.last_success, state.last_error,
                        state.last_error_at, state.failures, last_new, usual_gap(gaps), state.next_poll_at)


def read_status(store: Store, config: Config, *, now: datetime) -> StatusReport:
    """Read the store into a report on the channels and sources `config` names. Blocks briefly."""
    channels = configured_channels(config)
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return build_report(
        now=now, channels=channels, sources=[(s.name, s.url) for s in config.sources],
        outbox=store.outbox_status(channels, sent_since=day_start),
        errors=store.outbox_errors(per_channel=FAILURE_REASONS), states=store.sources(),
        activity=store.source_activity([s.name for s in config.sources]),
    )


# ---------------------------------------------------------------- admin notices

Spell = object  # what identifies one spell of trouble: the last success before it
_UNSEEN = object()


@dataclass(frozen=True)
class ChannelFailure:
    """A channel whose newest permanent failure came after its last successful post."""

    channel: str
    failed: int  # rows failed since the last successful post
    failed_at: datetime
    error: str
    last_sent: datetime | None


@dataclass(frozen=True)
class Notice:
    """One message for the admin channel; `key` and `spell` say what it announces."""

    key: tuple[str, str]  # ("channel", name) or ("source", name)
    spell: Spell
    text: str


def due_notices(
    failing_channels: Iterable[ChannelFailure], sources: Iterable[SourceStatus],
    announced: Mapping[tuple[str, str], Spell], *, source_failures: int, now: datetime,
) -> list[Notice]:
    """The notices `announced` (key to the spell already told) does not yet cover.

    A spell of a channel's failures is named by its last successful post, a source's by its
    URL and last success: a spell is announced once, and a new one starts only after a success.
    A silent source's spell is named by its last new story. A source announced failing or
    silent that is fine again gets one "working again" notice.
    """
    notices = []
    for failure in failing_channels:
        key, spell = ("channel", failure.channel), failure.last_sent
        if announced.get(key, _UNSEEN) != spell:
            notices.append(Notice(key, spell, messages.channel_failing(
                failure.channel, failure.error, failure.failed, failure.last_sent, now)))
    for state in sources:
        key, spell = ("source", state.name), (state.url, state.last_success)
        health, reason = state.health(now)
        if state.failures >= source_failures and announced.get(key, _UNSEEN) != spell:
            notices.append(Notice(key, spell, messages.source_failing(
                state.name, state.failures, state.last_error or "", state.last_success, now)))
        silent_key, silent_spell = ("silent", state.name), state.last_new
        if health == "silent" and announced.get(silent_key, _UNSEEN) != silent_spell:
            notices.append(Notice(silent_key, silent_spell, messages.source_silent(state.name, reason)))
        if health == "ok" and (key in announced or silent_key in announced):
            notices.append(Notice(("recovered", state.name), None, messages.source_recovered(state.name)))
    return notices


class Notifier:
    """Tells the admin channel once when a channel starts failing permanently or a source keeps failing.

    A channel is announced at its first permanent failure since its last successful post; a
    source at its `source_failures`-th failed poll in a row. Either is announced again only
    after a success ended the spell and a new one began. Only the configured `channels` and
    `sources` are watched, so old rows of removed ones stay quiet.
    Lifecycle: `start()` once before polling, then `check()` after each poll and delivery
    round. Restart: what was announced is kept in memory only, and `start()` takes every
    problem already present as announced (the previous process told it, and `intelbot status`
    shows it), so neither a restart nor `intelbot poll --once` run from cron repeats a notice;
    a spell that began in a process that stopped before its `check()` goes unannounced.
    Errors: a notice the admin channel refuses is logged; it is tried again at the next check
    unless the refusal was permanent. Reads of the store block for milliseconds. Checks run one
    at a time (polls of several sources may end together), so no notice goes out twice.
    """

    def __init__(
        self, store: Store, adapters: Mapping[str, ChatAdapter], admin_channel: str, *,
        channels: Sequence[str], sources: Sequence[str], clock: Callable[[], datetime],
        source_failures: int = SOURCE_FAILURES_NOTICE,
    ):
        self._store = store
        self._adapters = adapters
        self._admin = parse_channel(admin_channel)
        self._channels = set(channels)
        self._sources = set(sources)
        self._clock = clock
        self._threshold = source_failures
        self._announced: dict[tuple[str, str], Spell] = {}
        self._warned = False
        self._lock = asyncio.Lock()

    def reconfigure(self, *, channels: Iterable[str], sources: Iterable[str]) -> None:
        """Watch a new config's channels and sources from the next check on."""
        self._channels, self._sources = set(channels), set(sources)

    async def start(self) -> None:
        """Take the problems present now as already announced."""
        for notice in self._due():
            self._mark(notice)

    async def check(self) -> list[str]:
        """Post the notices that are due to the admin channel; return their texts."""
        async with self._lock:
            return await self._post_due()

    async def _post_due(self) -> list[str]:
        posted = []
        for notice in self._due():
            adapter = self._adapters.get(self._admin.platform)
            log.warning("%s", notice.text)
            if adapter is None:
                if not self._warned:
                    self._warned = True
                    log.warning("admin notices for %s are only logged: no %s connection is running",
                                self._admin, self._admin.platform)
                self._mark(notice)
                continue
            try:
                await adapter.post_reply(self._admin, Reply(notice.text, ephemeral=False))
            except DeliveryError as error:
                log.warning("could not post an admin notice to %s: %s", self._admin, error)
                if error.permanent:
                    self._mark(notice)
                continue
            self._mark(notice)
            posted.append(notice.text)
        return posted

    def _mark(self, notice: Notice) -> None:
        """Remember that `notice` was told (a "working again" notice ends the source's spells)."""
        kind, name = notice.key
        if kind == "recovered":
            self._announced.pop(("source", name), None)
            self._announced.pop(("silent", name), None)
        else:
            self._announced[notice.key] = notice.spell

    def _due(self) -> list[Notice]:
        now = self._clock()
        failing = [ChannelFailure(*row) for row in self._store.channel_failures() if row[0] in self._channels]
        activity = self._store.source_activity(sorted(self._sources))
        sources = [source_status(state, activity) for state in self._store.sources() if state.name in self._sources]
        notices = due_notices(failing, sources, self._announced, source_failures=self._threshold, now=now)
        # Spells that ended are forgotten once their "working again" notice is due: memory holds
        # only current trouble, and trouble that ends without a success (failed rows deleted)
        # is announced afresh if it returns.
        troubled = {("channel", f.channel) for f in failing} | {
            ("source", s.name) for s in sources if s.failures >= self._threshold} | {
            ("silent", s.name) for s in sources if s.health(now)[0] == "silent"}
        recovered = {notice.key[1] for notice in notices if notice.key[0] == "recovered"}
        for key in set(self._announced) - troubled:
            if key[0] == "channel" or key[1] not in recovered:
                del self._announced[key]
        return notices


# ---------------------------------------------------------------- lookup timings

LOOKUP_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)  # seconds; Slack wants an answer within 3 s


class Histogram:
    """Cumulative counts of observed durations per upper bound, for Prometheus. Thread-safe:
    lookups run in worker threads."""

    def __init__(self, bounds: Sequence[float] = LOOKUP_BUCKETS):
        self.bounds = tuple(bounds)
        self._counts = [0] * len(self.bounds)
        self._sum = 0.0
        self._count = 0
        self._lock = threading.Lock()

    def observe(self, seconds: float) -> None:
        with self._lock:
            self._count += 1
            self._sum += seconds
            for index, bound in enumerate(self.bounds):
                if seconds <= bound:
                    self._counts[index] += 1

    def snapshot(self) -> tuple[list[tuple[float, int]], float, int]:
        """([(upper bound, observations at or below it)], sum, count), read consistently."""
        with self._lock:
            return list(zip(self.bounds, self._counts)), self._sum, self._count
