"""When to poll a source next: backoff after failures, a server's Retry-After, an interval that
follows how often the source publishes, and first polls spread out at start-up.

Pure functions of the source's record and the clock, so every rule is tested without waiting:

* A source that works is polled every `usual gap / GAP_SHARE`, kept between its `every` (the
  fastest, what the config asks for) and its longest interval (`sources[].max_every`): a feed that
  publishes twice a day is not fetched 96 times a day, and a busy one is polled at `every`.
  Until a source has given a few stories (`usual_gap` is None) it is polled at `every`.
* A source that fails waits `every × 2^(failures-1)`, up to BACKOFF_LONGEST (never less than its
  longest interval): one failure costs nothing, a dead site is asked a few times a day.
* A server's Retry-After (on 429 or 503) is honoured: never earlier than it asked, up to a day.
* Every wait gets up to JITTER more, at random, so sources that share a rhythm drift apart.

At start-up (`first_poll_at`), a source polled before keeps the time its last run planned; one that
is overdue (the bot was down) is polled at a random moment within its interval; sources never
polled start within a window that grows with their number (`new_source_spread`): a newcomer sees
news within a minute, and 500 new feeds are not fetched in the same second.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from statistics import median

GAP_SHARE = 4  # poll a working source this many times per usual gap between its stories
GAPS_NEEDED = 3  # fewer gaps than this say nothing about a source's habit
BACKOFF_LONGEST = timedelta(hours=6)
RETRY_AFTER_LONGEST = timedelta(days=1)
JITTER = 0.1  # a share of the wait, added at random
JITTER_LONGEST = timedelta(minutes=5)
FIRST_POLL_SPREAD = timedelta(seconds=10)  # the least window for first polls...
FIRST_POLL_PER_SOURCE = timedelta(milliseconds=500)  # ...growing by this for every new source


def usual_gap(gaps: Sequence[float]) -> timedelta | None:
    """The median gap in seconds between a source's recent stories; None with too few to tell."""
    if len(gaps) < GAPS_NEEDED:
        return None
    return timedelta(seconds=median(gaps))


def poll_interval(*, every: timedelta, longest: timedelta, gap: timedelta | None) -> timedelta:
    """The interval for a working source: a share of its usual gap, within [every, longest]."""
    if gap is None:
        return every
    return min(max(gap / GAP_SHARE, every), max(longest, every))


def backoff(*, every: timedelta, longest: timedelta, failures: int) -> timedelta:
    """The wait after `failures` failed polls in a row (1 → every, 2 → twice that, ...)."""
    ceiling = max(BACKOFF_LONGEST, longest, every)
    if failures <= 1:
        return every
    # Doubling past the ceiling is pointless and 2**failures grows without bound.
    wait = every * 2 ** min(failures - 1, 32)
    return min(wait, ceiling)


def next_poll(
    *,
    now: datetime,
    every: timedelta,
    longest: timedelta,
    failures: int,
    retry_after: float | None,
    gap: timedelta | None,
    rng: random.Random,
) -> datetime:
    """When to poll next, after a poll that ended at `now` with `failures` failed polls in a row
    (0 after a success), the server's Retry-After seconds (if any) and the source's usual gap."""
    if failures:
        wait = backoff(every=every, longest=longest, failures=failures)
    else:
        wait = poll_interval(every=every, longest=longest, gap=gap)
    wait += min(wait * JITTER, JITTER_LONGEST) * rng.random()
    if retry_after is not None:
        wait = max(wait, min(timedelta(seconds=max(retry_after, 0.0)), RETRY_AFTER_LONGEST))
    return now + wait


def new_source_spread(count: int) -> timedelta:
    """The window in which `count` never-polled sources get their first poll."""
    return FIRST_POLL_SPREAD + FIRST_POLL_PER_SOURCE * max(count, 0)


def first_poll_at(
    *,
    now: datetime,
    every: timedelta,
    planned: datetime | None,
    polled_before: bool,
    new_sources: int,
    rng: random.Random,
) -> datetime:
    """When a source's first poll of this run happens (see the module's docstring)."""
    if polled_before:
        if planned is not None and planned > now:
            return min(planned, now + RETRY_AFTER_LONGEST)  # the longest any wait may be
        return now + every * rng.random()
    return now + min(new_source_spread(new_sources), every) * rng.random()
