"""When sources are polled: backoff, Retry-After, the adaptive interval and first polls at start.

The rules are pure functions (bot/cadence.py), tested at fixed times with seeded randomness;
then the app is driven against a real news site on 127.0.0.1 to see that a poll's outcome moves
the source's scheduler job, survives a restart in SQLite and shows in `intelbot sources`.
"""

from __future__ import annotations

import asyncio
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from aiohttp import web

from bot import messages
from bot.app import App
from bot.cadence import (
    BACKOFF_LONGEST,
    JITTER_LONGEST,
    RETRY_AFTER_LONGEST,
    backoff,
    first_poll_at,
    new_source_spread,
    next_poll,
    poll_interval,
    usual_gap,
)
from bot.config import parse_config
from bot.scheduler import build_scheduler
from bot.status import read_status
from tests.support import NewsSite, article_page, loopback_server, make_config, rss

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
MIN = timedelta(minutes=1)
HOUR = timedelta(hours=1)


def source_config(text: str = "every: 15m"):
    config = parse_config(f"sources:\n  - name: Wire\n    url: https://news.test/feed\n    {text}\n",
                          filename="test.yaml", base_dir=Path("."))
    return config.sources[0]


# ---------------------------------------------------------------- the rules


def test_longest_interval_defaults_to_four_times_every_at_most_a_day():
    assert source_config("every: 15m").longest_every == HOUR
    assert source_config("every: 12h").longest_every == timedelta(days=1)
    assert source_config("every: 2d").longest_every == timedelta(days=2)  # never below every
    assert source_config("every: 15m\n    max_every: 15m").longest_every == 15 * MIN  # fixed


def test_max_every_shorter_than_every_is_a_precise_error():
    with pytest.raises(Exception) as raised:
        source_config("every: 1h\n    max_every: 10m")
    assert "max_every (10m) is shorter than every (1h)" in str(raised.value)


def test_usual_gap_needs_a_few_stories():
    assert usual_gap([]) is None and usual_gap([60.0, 60.0]) is None
    assert usual_gap([3600.0, 7200.0, 60.0]) == HOUR  # the median, not thrown by one burst


@pytest.mark.parametrize(("gap", "interval"), [
    (None, 15 * MIN),  # no habit known yet: as often as the config says
    (10 * MIN, 15 * MIN),  # a busy source: never faster than `every`
    (2 * HOUR, 30 * MIN),  # a quarter of its usual gap
    (timedelta(days=1), HOUR),  # a daily source: no slower than the longest interval
])
def test_the_interval_follows_how_often_a_source_publishes(gap, interval):
    assert poll_interval(every=15 * MIN, longest=HOUR, gap=gap) == interval


def test_backoff_doubles_from_the_second_failure_up_to_a_ceiling():
    waits = [backoff(every=15 * MIN, longest=HOUR, failures=n) for n in range(1, 10)]
    assert waits[:6] == [15 * MIN, 30 * MIN, HOUR, 2 * HOUR, 4 * HOUR, BACKOFF_LONGEST]
    assert set(waits[5:]) == {BACKOFF_LONGEST}
    assert backoff(every=15 * MIN, longest=HOUR, failures=10_000) == BACKOFF_LONGEST  # no overflow
    # A source polled daily is never asked more often because it fails.
    assert backoff(every=timedelta(days=1), longest=timedelta(days=1), failures=5) == timedelta(days=1)


def test_next_poll_adds_bounded_jitter_that_spreads_sources_apart():
    times = [next_poll(now=NOW, every=15 * MIN, longest=HOUR, failures=0, retry_after=None, gap=None,
                       rng=random.Random(seed)) for seed in range(50)]
    assert all(NOW + 15 * MIN <= t <= NOW + 15 * MIN * 1.1 for t in times)
    assert len(set(times)) == 50
    backed_off = next_poll(now=NOW, every=15 * MIN, longest=HOUR, failures=9, retry_after=None, gap=None,
                           rng=random.Random(1))
    assert NOW + BACKOFF_LONGEST <= backed_off <= NOW + BACKOFF_LONGEST + JITTER_LONGEST


def test_retry_after_is_honoured_but_never_beyond_a_day():
    def after(seconds: float, failures: int = 1) -> datetime:
        return next_poll(now=NOW, every=15 * MIN, longest=HOUR, failures=failures, retry_after=seconds,
                         gap=None, rng=random.Random(3))

    assert after(7200) == NOW + 2 * HOUR  # later than the backoff: as the server asked
    assert NOW + 15 * MIN <= after(30) <= NOW + 17 * MIN  # sooner than the backoff: the backoff
    assert after(10 * 86400) == NOW + RETRY_AFTER_LONGEST
    assert NOW + 15 * MIN <= after(-5) <= NOW + 17 * MIN  # nonsense is ignored


def test_first_polls_resume_the_plan_or_spread_out():
    rng = random.Random(7)
    planned = NOW + 40 * MIN
    assert first_poll_at(now=NOW, every=HOUR, planned=planned, polled_before=True, new_sources=0,
                         rng=rng) == planned
    # Overdue (the bot was down): somewhere within one interval, at random.
    overdue = [first_poll_at(now=NOW, every=HOUR, planned=NOW - HOUR, polled_before=True, new_sources=0,
                             rng=rng) for _ in range(200)]
    assert all(NOW <= t < NOW + HOUR for t in overdue)
    assert max(overdue) - min(overdue) > 50 * MIN
    # Never polled: soon (a newcomer sees news), in a window that grows with the number of them.
    fresh = [first_poll_at(now=NOW, every=HOUR, planned=None, polled_before=False, new_sources=500,
                           rng=rng) for _ in range(500)]
    window = new_source_spread(500)
    assert window == timedelta(seconds=260)
    assert all(NOW <= t < NOW + window for t in fresh) and max(fresh) - min(fresh) > window * 0.9
    assert all(NOW <= first_poll_at(now=NOW, every=timedelta(seconds=30), planned=None, polled_before=False,
                                    new_sources=500, rng=rng) < NOW + timedelta(seconds=30) for _ in range(50))
    # A plan from a far-off Retry-After is still honoured, within the longest wait there is.
    assert first_poll_at(now=NOW, every=HOUR, planned=NOW + timedelta(days=9), polled_before=True,
                         new_sources=0, rng=rng) == NOW + RETRY_AFTER_LONGEST


def test_the_scheduler_places_first_polls_by_what_the_store_remembers():
    config = parse_config("sources:\n" + "".join(
        f"  - name: S{n}\n    url: https://s{n}.test/feed\n    every: 1h\n" for n in range(40)),
        filename="test.yaml", base_dir=Path("."))

    async def nothing(*_args) -> None: ...

    planned = {"S0": NOW + 50 * MIN, "S1": NOW - 5 * HOUR, "S2": None}
    scheduler = build_scheduler(config.sources, nothing, nothing, now=NOW, rng=random.Random(2), planned=planned)
    first = {job.id.removeprefix("poll:"): job.next_run_time for job in scheduler.get_jobs()
             if job.id.startswith("poll:")}
    assert first["S0"] == NOW + 50 * MIN
    assert NOW <= first["S1"] < NOW + HOUR and NOW <= first["S2"] < NOW + HOUR
    window = new_source_spread(37)
    assert all(NOW <= first[f"S{n}"] < NOW + window for n in range(3, 40))


# ---------------------------------------------------------------- through the app


@pytest.fixture
async def flaky_site():
    """A news site whose feed can be switched to answer 503 with a Retry-After."""
    site = NewsSite()
    state = {"retry_after": None}

    async def handle(request: web.Request) -> web.StreamResponse:
        if state["retry_after"] is not None and request.path == "/feed.xml":
            site.requests.append(request.path)
            return web.Response(status=503, headers={"Retry-After": state["retry_after"]})
        return await site.handle(request)

    async with loopback_server(handle) as site.base:
        yield site, state


def daily_stories(site: NewsSite, days: int) -> str:
    items = []
    for day in range(days):
        link = site.put(f"/s{day}.html", article_page(
            f"Globex plant {day} opens", [f"Globex Corp opened plant number {day} in a new town.",
                                          "Its workers will build batteries for cars."]))
        items.append({"title": f"Globex plant {day} opens", "link": link,
                      "published": datetime.now(timezone.utc) - timedelta(days=day, hours=1)})
    return site.put("/feed.xml", rss(items), "application/rss+xml")


async def run_briefly(app: App) -> dict[str, datetime]:
    """Start `app.run`, read the first-poll times of its jobs, stop it."""
    stop = asyncio.Event()
    runner = asyncio.create_task(app.run(stop))
    for _ in range(100):
        if app._scheduler is not None:
            break
        await asyncio.sleep(0.01)
    first = {job.id: job.next_run_time for job in app._scheduler.get_jobs() if job.id.startswith("poll:")}
    stop.set()
    await asyncio.wait_for(runner, 10)
    return first


async def test_a_503_with_retry_after_moves_the_next_poll_and_survives_a_restart(flaky_site, tmp_path):
    site, state = flaky_site
    feed = daily_stories(site, 2)
    config = make_config(tmp_path, [("Wire", feed)])
    state["retry_after"] = "7200"
    async with App(config, {}, extractor_processes=False) as app:
        [report], _ = await app.poll_once()
        assert report.error == f"HTTP 503 Service Unavailable, retry after 7200 s ({feed})"
        assert report.retry_after == 7200
        due = app.store.source_state("Wire", feed).next_poll_at
        assert timedelta(hours=2) - timedelta(seconds=5) <= due - datetime.now(timezone.utc) <= timedelta(hours=2)
        line = messages.sources_text(read_status(app.store, config, now=datetime.now(timezone.utc)))
        assert "failing, 1 poll: HTTP 503" in line and "next poll in 119 min" in line
    # A restart does not poll it before the server said it may.
    async with App(config, {}, extractor_processes=False) as app:
        first = await run_briefly(app)
    assert first["poll:Wire"] == due


async def test_a_scheduled_poll_moves_its_own_job(flaky_site, tmp_path):
    site, state = flaky_site
    feed = daily_stories(site, 6)  # a story a day: the interval stretches to the longest
    config = make_config(tmp_path, [("Wire", feed)])  # every 15m, so at most 1 h
    async with App(config, {}, extractor_processes=False) as app:
        stop = asyncio.Event()
        runner = asyncio.create_task(app.run(stop))
        try:
            job = None
            for _ in range(400):  # until the poll is over and its plan made
                await asyncio.sleep(0.05)
                job = app._scheduler.get_job("poll:Wire")
                planned = app.store.source_state("Wire", feed).next_poll_at
                if planned is not None and job.next_run_time == planned:
                    break
            now = datetime.now(timezone.utc)
            assert HOUR - MIN <= job.next_run_time - now <= HOUR + JITTER_LONGEST
            assert job.next_run_time == app.store.source_state("Wire", feed).next_poll_at
        finally:
            stop.set()
            await asyncio.wait_for(runner, 10)
    state["retry_after"] = None


async def test_failures_back_off_in_the_store(flaky_site, tmp_path):
    site, state = flaky_site
    feed = daily_stories(site, 1)
    config = make_config(tmp_path, [("Wire", feed)])
    state["retry_after"] = "0"
    waits = []
    async with App(config, {}, extractor_processes=False) as app:
        for _ in range(4):
            await app.poll_once()
            waits.append(app.store.source_state("Wire", feed).next_poll_at - datetime.now(timezone.utc))
    # 15 min, 30 min, 1 h, 2 h: each with at most 10 % more, at random.
    for wait, base in zip(waits, [15 * MIN, 30 * MIN, HOUR, 2 * HOUR], strict=True):
        assert base - MIN <= wait <= base * 1.1 + MIN
