"""Send pending alerts from the store's outbox through the chat adapters.

The outbox is the source of truth: an alert is marked sent only after its adapter returned,
so a crash between the two can at worst repeat that one message, never lose it. A failed post
is retried with backoff (30 s doubling to 30 min, with jitter, never before the platform's
Retry-After); meanwhile its channel's later alerts wait, so order holds. Alerts for
a platform with no running adapter stay pending until one runs. Within one channel, alerts
go out in the order they were enqueued: after a failure the rest of that channel waits for
the next round.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.errors import DeliveryError
from bot.models import Alert, ChannelRef, Coverage, Digest, Reply, parse_channel
from bot.pacing import QuietHours, build_digest, in_quiet_hours
from bot.store import Store

log = logging.getLogger(__name__)
NOW = timedelta(0)



class ChatAdapter(Protocol):
    """One chat platform, seen from the core.

    Lifecycle: `start()` once on the running event loop (connect, authenticate), then any
    number of `post_alert` calls, then `stop()`. All methods run on the event loop.
    `post_alert` returns the platform's message id (or None when it has none) and raises
    `DeliveryError` when the platform refused the message; `permanent=True` when retrying
    cannot help (unknown channel, no permission). It must escape untrusted text itself.
    `post_coverage` posts later coverage of a story in the thread of (or as a reply to) the
    story's alert, `coverage.parent_message_id`, the id `post_alert` returned in that channel.
    `post_digest` posts one message listing a period's stories by company (or, when it has
    no sections, that nothing is new). `Alert.ping` lists the only user groups or roles an
    alert may notify; every other mention stays inert.
    """

    platform: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def post_alert(self, channel: ChannelRef, alert: Alert) -> str | None: ...

    async def post_reply(self, channel: ChannelRef, reply: Reply) -> str | None: ...

    async def post_coverage(self, channel: ChannelRef, coverage: Coverage) -> str | None: ...

    async def post_digest(self, channel: ChannelRef, digest: Digest) -> str | None: ...


@dataclass(frozen=True)
class DeliveryReport:
    """What one round of delivery did."""

    sent: tuple[Alert, ...] = ()
    failed: int = 0
    waiting: int = 0  # pending for a platform that has no running adapter
    coverage: tuple[Coverage, ...] = ()  # thread replies posted
    held: int = 0  # realtime alerts held for the end of their channel's quiet hours
    to_digest: int = 0  # realtime alerts folded into the next digest (quiet hours, budget)


class ChannelPacing(Protocol):
    """A channel's pacing settings (config's ChannelConfig fits this shape)."""

    @property
    def quiet_hours(self) -> QuietHours | None: ...

    @property
    def max_per_hour(self) -> int | None: ...


class DigestSchedule(Protocol):
    """A watchlist as digests need it (config's WatchlistConfig fits this shape)."""

    @property
    def name(self) -> str: ...

    @property
    def mode(self) -> str: ...

    @property
    def channels(self) -> Sequence[str]: ...

    @property
    def digest(self) -> Any: ...  # .when_empty: "skip" | "say"


class Dispatcher:
    """Delivers the outbox; one round at a time (concurrent calls wait for the running one)."""

    def __init__(self, store: Store, adapters: Mapping[str, ChatAdapter], *, clock: Callable[[], datetime],
                 coverage_quiet: timedelta = timedelta(minutes=10), coverage_longest: timedelta = timedelta(hours=1),
                 pacing: Mapping[str, ChannelPacing] | None = None):
        self._store = store
        self._pacing = dict(pacing or {})
        self._adapters = dict(adapters)
        self._clock = clock
        self._coverage_quiet = coverage_quiet
        self._coverage_longest = coverage_longest
        self._lock = asyncio.Lock()
        self._warned: set[str] = set()

    def reconfigure(self, *, pacing: Mapping[str, ChannelPacing], coverage_quiet: timedelta,
                    coverage_longest: timedelta) -> None:
        """Use a new config's pacing from the next round on."""
        self._pacing = dict(pacing)
        self._coverage_quiet, self._coverage_longest = coverage_quiet, coverage_longest

    async def deliver_pending(self, *, gather_coverage: bool = True) -> DeliveryReport:
        """Send every pending alert whose platform has an adapter, then the coverage replies due.

        `gather_coverage=False` sends every pending coverage reply now instead of waiting for
        more copies of the story (for one-shot polls).
        """
        async with self._lock:
            outcomes: dict[str, int] = {"failed": 0, "waiting": 0}
            blocked: set[str] = set()  # channels that failed this round: keep their order
            sent: list[Alert] = []
            for alert in self._store.pending_alerts(limit=1000, now=self._clock()):
                assert alert.id is not None
                pace = self._pace(alert)
                if pace is not None:
                    outcomes[pace] = outcomes.get(pace, 0) + 1
                    continue
                outcome = await self._send(alert.channel, [alert.id], blocked, lambda a, c, m=alert: a.post_alert(c, m))
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
                if outcome == "sent":
                    sent.append(alert)
            coverage: list[Coverage] = []
            quiet, longest = (self._coverage_quiet, self._coverage_longest) if gather_coverage else (NOW, NOW)
            for reply in self._store.pending_coverage(now=self._clock(), quiet=quiet, longest=longest):
                outcome = await self._send(reply.channel, reply.ids, blocked,
                                           lambda a, c, r=reply: a.post_coverage(c, r))
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
                if outcome == "sent":
                    coverage.append(reply)
            return DeliveryReport(tuple(sent), outcomes["failed"], outcomes["waiting"], tuple(coverage),
                                  outcomes.get("held", 0), outcomes.get("to_digest", 0))

    def _pace(self, alert: Alert) -> str | None:
        """None to send `alert` now; "held" (quiet hours) or "to_digest" (quiet hours, budget)."""
        pacing = self._pacing.get(alert.channel)
        if pacing is None:
            return None
        assert alert.id is not None
        now = self._clock()
        quiet = pacing.quiet_hours
        if quiet is not None and in_quiet_hours(quiet, now):
            if quiet.then == "hold":
                return "held"
            self._store.move_to_digest([alert.id])
            return "to_digest"
        budget = pacing.max_per_hour
        if budget is not None and self._store.sent_since(alert.channel, now - timedelta(hours=1)) >= budget:
            self._store.move_to_digest([alert.id])
            return "to_digest"
        return None

    async def deliver_digest(self, watchlist: DigestSchedule) -> list[Digest]:
        """Post the watchlist's digest to each channel with stories waiting (and, with
        `when_empty: say`, to its channels with none); return the digests posted."""
        async with self._lock:
            now = self._clock()
            channels = list(dict.fromkeys([*self._store.digest_channels(watchlist.name),
                                           *(watchlist.channels if self._says_empty(watchlist) else ())]))
            posted = []
            for channel_name in channels:
                digest = build_digest(watchlist.name, channel_name,
                                      self._store.digest_items(watchlist.name, channel_name),
                                      since=self._store.last_digest(watchlist.name, channel_name), until=now)
                channel = parse_channel(channel_name)
                adapter = self._adapters.get(channel.platform)
                if adapter is None:
                    self._warn_once(channel.platform)
                    continue
                try:
                    message_id = await adapter.post_digest(channel, digest)
                except DeliveryError as error:
                    # The stories stay pending for the next digest; a channel that is gone fails them.
                    log.warning("could not post the %s digest to %s: %s", watchlist.name, channel_name, error)
                    if error.permanent and digest.ids:
                        self._store.mark_failed(digest.ids, now=now, error=str(error), permanent=True)
                    continue
                self._store.record_digest(watchlist.name, channel_name, digest.ids, now=now, message_id=message_id)
                posted.append(digest)
            return posted

    @staticmethod
    def _says_empty(watchlist: DigestSchedule) -> bool:
        return watchlist.mode != "realtime" and watchlist.digest.when_empty == "say"

    async def _send(self, channel_name: str, ids: Sequence[int], blocked: set[str],
                    post: Callable[[ChatAdapter, ChannelRef], Awaitable[str | None]]) -> str:
        """Post one outbox item and record the outcome: "sent", "failed", "waiting" or "blocked"."""
        channel = parse_channel(channel_name)
        adapter = self._adapters.get(channel.platform)
        if adapter is None:
            self._warn_once(channel.platform)
            return "waiting"
        if channel_name in blocked:
            return "blocked"
        try:
            message_id = await post(adapter, channel)
        except DeliveryError as error:
            blocked.add(channel_name)
            log.warning("could not post to %s: %s", channel_name, error)
            await _record(partial(
                self._store.mark_failed, ids, now=self._clock(), error=str(error), permanent=error.permanent,
                retry_after=error.retry_after, jitter=random.uniform(0.8, 1.2)))
            return "failed"
        await _record(partial(self._store.mark_sent, ids, now=self._clock(), message_id=message_id))
        return "sent"

    def _warn_once(self, platform: str) -> None:
        if platform not in self._warned:
            self._warned.add(platform)
            log.warning(
                "alerts for %s channels are kept in the outbox: no %s connection is running", platform, platform
            )


async def _record(write: Callable[[], object]) -> None:
    """Commit a post's outcome in a thread, and see it through even when the task is cancelled.

    In a thread because a commit may take longer than the event loop may stall; awaited, so
    the next post to the channel comes after it. A stop (Ctrl-C) that cancels the delivery
    between the post and this commit must not lose it: the message is out, and an outbox row
    left pending would post it again after a restart. So a cancellation waits for the commit
    to finish before it goes on.
    """
    done = asyncio.ensure_future(asyncio.to_thread(write))
    try:
        await asyncio.shield(done)
    except asyncio.CancelledError:
        await asyncio.wait([done])
        raise
