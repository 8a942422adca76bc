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
from datetime import datetime, timedelta
from typing import Protocol

from bot.errors import DeliveryError
from bot.models import Alert, ChannelRef, Coverage, Digest, Reply, parse_channel
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


class Dispatcher:
    """Delivers the outbox; one round at a time (concurrent calls wait for the running one)."""

    def __init__(self, store: Store, adapters: Mapping[str, ChatAdapter], *, clock: Callable[[], datetime],
                 coverage_quiet: timedelta = timedelta(minutes=10), coverage_longest: timedelta = timedelta(hours=1)):
        self._store = store
        self._adapters = dict(adapters)
        self._clock = clock
        self._coverage_quiet = coverage_quiet
        self._coverage_longest = coverage_longest
        self._lock = asyncio.Lock()
        self._warned: set[str] = set()

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
            return DeliveryReport(tuple(sent), outcomes["failed"], outcomes["waiting"], tuple(coverage))

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
            self._store.mark_failed(ids, now=self._clock(), error=str(error), permanent=error.permanent,
                                    retry_after=error.retry_after, jitter=random.uniform(0.8, 1.2))
            return "failed"
        self._store.mark_sent(ids, now=self._clock(), message_id=message_id)
        return "sent"

    def _warn_once(self, platform: str) -> None:
        if platform not in self._warned:
            self._warned.add(platform)
            log.warning(
                "alerts for %s channels are kept in the outbox: no %s connection is running", platform, platform
            )
