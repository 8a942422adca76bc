"""APScheduler jobs: one per source, the delivery of the outbox, and each watchlist's digest.

Each source gets its own job with `max_instances=1` (a slow poll is never overlapped by
the next one) and `coalesce=True` (polls missed while the machine slept run once, not many
times). The job's trigger polls at the source's `every`; after each poll the app moves the
job's next run to what `bot.cadence.next_poll` says (backoff, Retry-After, the adaptive
interval), so the trigger only matters for a poll that never finished. First polls follow
`bot.cadence.first_poll_at`: where the last run left off, spread over the interval when
overdue, within seconds for sources never polled.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.cadence import first_poll_at

DELIVERY_EVERY = timedelta(seconds=30)  # retries; fresh alerts are delivered right after their poll


_CRON_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
_APS_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]  # APScheduler 3 counts from Monday


def crontab_trigger(expression: str, tz: str = "UTC") -> CronTrigger:
    """A CronTrigger for a standard five-field crontab line, weekdays as crontab means them.

    APScheduler 3's `CronTrigger.from_crontab` reads the weekday field with Monday as 0, so
    "0 9 * * 1-5" would fire Tuesday to Saturday; here 0 and 7 are Sunday, as in cron.
    Raises ValueError for an expression either cannot read.
    """
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"expected five fields (minute hour day month weekday), got {len(fields)}")
    minute, hour, day, month, weekday = fields
    return CronTrigger(minute=minute, hour=hour, day=day, month=month, day_of_week=_weekdays(weekday),
                       timezone=ZoneInfo(tz))


def _weekdays(field: str) -> str:
    """A crontab weekday field ("1-5", "0,6", "*/2", "mon-fri") as APScheduler day names."""
    if field == "*":
        return field
    days: set[int] = set()
    for part in field.lower().split(","):
        span, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if span == "*":
            first, last = 0, 6
        else:
            low, _, high = span.partition("-")
            first = _cron_day(low)
            last = _cron_day(high) if high else (6 if step_text else first)
            if high and last == 0:
                last = 7  # "5-0": through Sunday
        if step < 1 or last < first:
            raise ValueError(f"weekday range {part!r} runs backwards")
        days.update(d % 7 for d in range(first, last + 1, step))
    return ",".join(_APS_DAYS[(d - 1) % 7] for d in sorted(days, key=lambda d: (d - 1) % 7))


def _cron_day(text: str) -> int:
    if text in _CRON_DAYS:
        return _CRON_DAYS.index(text)
    if text.isdigit() and 0 <= int(text) <= 7:
        return int(text)
    raise ValueError(f"unknown weekday {text!r}: use 0-7 (0 and 7 are Sunday) or sun-sat")


class ScheduledDigest(Protocol):
    name: str
    digest: Any  # .cron, .tz


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
    digests: Sequence[tuple[ScheduledDigest, Callable[[], Awaitable[object]]]] = (),
    planned: Mapping[str, datetime | None] | None = None,
) -> AsyncIOScheduler:
    """A scheduler (not started) polling every source, delivering the outbox, and posting each
    watchlist's digest on its cron schedule in its time zone. `planned`: see `sync_jobs`."""
    rng = rng or random.Random()
    scheduler = AsyncIOScheduler(timezone="UTC")
    sync_jobs(scheduler, sources, poll, digests, now=now, rng=rng, planned=planned)
    scheduler.add_job(
        deliver,
        IntervalTrigger(seconds=DELIVERY_EVERY.total_seconds(), timezone="UTC"),
        id="deliver",
        name="deliver outbox",
        max_instances=1,
        coalesce=True,
    )
    return scheduler


def sync_jobs(
    scheduler: AsyncIOScheduler,
    sources: Sequence[ScheduledSource],
    poll: Callable[[ScheduledSource], Awaitable[object]],
    digests: Sequence[tuple[ScheduledDigest, Callable[[], Awaitable[object]]]],
    *,
    now: datetime,
    rng: random.Random | None = None,
    planned: Mapping[str, datetime | None] | None = None,
) -> None:
    """Make the scheduler's poll and digest jobs those of `sources` and `digests`.

    Used at start and on every config reload: jobs of removed sources and watchlists go, new
    ones are added, and a changed interval, URL or digest schedule replaces the job's trigger
    or arguments; unchanged jobs keep their timing, so a reload does not poll every source at
    once. `planned` names the sources polled before (at their current URL) with the time their
    next poll was due, if known; a new job's first poll follows `bot.cadence.first_poll_at`.
    """
    rng = rng or random.Random()
    planned = planned or {}
    wanted_polls = {f"poll:{source.name}": source for source in sources}
    wanted_digests = {f"digest:{watchlist.name}": (watchlist, post) for watchlist, post in digests}
    for job in scheduler.get_jobs():
        if job.id.startswith(("poll:", "digest:")) and job.id not in wanted_polls and job.id not in wanted_digests:
            job.remove()
    new_sources = sum(1 for job_id, source in wanted_polls.items()
                      if scheduler.get_job(job_id) is None and source.name not in planned)
    for job_id, source in wanted_polls.items():
        seconds = source.every.total_seconds()
        trigger = IntervalTrigger(seconds=seconds, jitter=min(60.0, seconds * 0.1), timezone="UTC")
        job = scheduler.get_job(job_id)
        if job is None:
            first = first_poll_at(now=now, every=source.every, planned=planned.get(source.name),
                                  polled_before=source.name in planned, new_sources=new_sources, rng=rng)
            scheduler.add_job(
                poll, trigger, args=[source], id=job_id, name=f"poll {source.name}",
                next_run_time=first, max_instances=1, coalesce=True, misfire_grace_time=int(seconds),
            )
            continue
        if job.args[0].every != source.every:
            job.reschedule(trigger)
        if job.args[0] != source:
            job.modify(args=[source], misfire_grace_time=int(seconds))
    for job_id, (watchlist, post_digest) in wanted_digests.items():
        trigger = crontab_trigger(watchlist.digest.cron, watchlist.digest.tz)
        job = scheduler.get_job(job_id)
        if job is None:
            scheduler.add_job(post_digest, trigger, id=job_id, name=f"digest {watchlist.name}",
                              max_instances=1, coalesce=True,
                              misfire_grace_time=3600)  # a digest an hour late (machine asleep) still goes out
            continue
        if str(job.trigger) != str(trigger):
            job.reschedule(trigger)
        job.modify(func=post_digest)
