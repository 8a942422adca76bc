"""APScheduler jobs: one per source at its interval, and the delivery of the outbox.

Each source gets its own job with `max_instances=1` (a slow poll is never overlapped by
the next one), `coalesce=True` (polls missed while the machine slept run once, not many
times) and jitter (sources with the same interval do not all fire in the same second).
First polls are spread over the first few seconds so a newcomer sees news within a minute
without every source being hit at the same instant.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

FIRST_POLL_SPREAD = timedelta(seconds=10)
DELIVERY_EVERY = timedelta(seconds=30)  # retries; fresh alerts are delivered right after their poll


class ScheduledSource(Protocol):
    name: str
    url: str
    every: timedelta


def build_scheduler(
    sources: Sequence[ScheduledSource],
    poll: Callable[[ScheduledSource], Awaitable[object]],
    deliver: Callable[[], Awaitable[object]],
    *,
    now: datetime,
    rng: random.Random | None = None,
) -> AsyncIOScheduler:
    """A scheduler (not started) polling every source and delivering the outbox."""
    rng = rng or random.Random()
    scheduler = AsyncIOScheduler(timezone="UTC")
    for source in sources:
        seconds = source.every.total_seconds()
        first = now + FIRST_POLL_SPREAD * rng.random()
        scheduler.add_job(
            poll,
            IntervalTrigger(seconds=seconds, jitter=min(60.0, seconds * 0.1), timezone="UTC"),
            args=[source],
            id=f"poll:{source.name}",
            name=f"poll {source.name}",
            next_run_time=first,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=int(seconds),
        )
    scheduler.add_job(
        deliver,
        IntervalTrigger(seconds=DELIVERY_EVERY.total_seconds(), timezone="UTC"),
        id="deliver",
        name="deliver outbox",
        max_instances=1,
        coalesce=True,
    )
    return scheduler
