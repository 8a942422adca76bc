"""Routing tiers and pacing: quiet hours, budgets, digests on a cron schedule in a time zone."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone

import pytest

from bot.config_delivery import DigestConfig, QuietHoursConfig
from bot.delivery import Dispatcher
from bot.models import Alert, Digest
from bot.pacing import build_digest, in_quiet_hours
from bot.scheduler import build_scheduler
from bot.store import Store
from tests.test_stories import Recorder
from tests.test_store import NOW, make_article, mentions_of

BERLIN_NIGHT = QuietHoursConfig(start=time(22, 0), end=time(7, 0), tz="Europe/Berlin")


def at(hour: int, minute: int = 0, day: int = 2) -> datetime:
    """A moment in June 2024 (Berlin is UTC+2 then), given in UTC."""
    return datetime(2024, 6, day, hour, minute, tzinfo=timezone.utc)


def test_quiet_hours_span_midnight_in_their_time_zone():
    assert in_quiet_hours(BERLIN_NIGHT, at(20, 30))  # 22:30 in Berlin
    assert in_quiet_hours(BERLIN_NIGHT, at(4, 59))  # 06:59
    assert not in_quiet_hours(BERLIN_NIGHT, at(5, 0))  # 07:00: over
    assert not in_quiet_hours(BERLIN_NIGHT, at(19, 59))
    day = QuietHoursConfig(start=time(12, 0), end=time(13, 0))
    assert in_quiet_hours(day, at(12, 30)) and not in_quiet_hours(day, at(13, 0))
    assert not in_quiet_hours(QuietHoursConfig(start=time(9, 0), end=time(9, 0)), at(9, 0))


@dataclass(frozen=True)
class Pacing:
    quiet_hours: QuietHoursConfig | None = None
    max_per_hour: int | None = None


@dataclass(frozen=True)
class Watchlist:
    name: str = "rivals"
    mode: str = "digest"
    channels: tuple[str, ...] = ("slack:#intel",)
    digest: DigestConfig = field(default_factory=DigestConfig)


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "intel.db") as store:
        yield store


def queue(store: Store, n: int, company: str = "Globex", *, tier: str = "realtime", about: bool = True,
          channel: str = "slack:#intel", hours_old: float = 0) -> None:
    article = make_article(f"https://wire.test/{company}-{n}", f"{company} story {n}",
                           f"{company} did thing {n}.", days_old=hours_old / 24)
    alert = Alert(watchlist="rivals", channel=channel, companies=(company,), title=article.title, url=article.url,
                  source="wire", published=article.published, summary="", tier=tier)
    store.add_article(article, mentions_of(article, company), [alert], salience={company: (2.0 + n, about)})


def dispatcher(store: Store, recorder: Recorder, now: datetime, **pacing) -> Dispatcher:
    return Dispatcher(store, {"slack": recorder}, clock=lambda: now, pacing={"slack:#intel": Pacing(**pacing)})


async def test_quiet_hours_hold_alerts_until_they_end(store):
    for n in range(3):
        queue(store, n)
    recorder = Recorder()
    report = await dispatcher(store, recorder, at(21), quiet_hours=BERLIN_NIGHT).deliver_pending()
    assert recorder.posts == [] and report.held == 3
    await dispatcher(store, recorder, at(5, 1), quiet_hours=BERLIN_NIGHT).deliver_pending()
    assert [what.title for _, what in recorder.posts] == ["Globex story 0", "Globex story 1", "Globex story 2"]


async def test_quiet_hours_can_fold_alerts_into_the_digest(store):
    queue(store, 0)
    recorder = Recorder()
    night = QuietHoursConfig(start=time(22, 0), end=time(7, 0), tz="Europe/Berlin", then="digest")
    report = await dispatcher(store, recorder, at(21), quiet_hours=night).deliver_pending()
    assert report.to_digest == 1 and recorder.posts == []
    (digest,) = await dispatcher(store, recorder, at(7)).deliver_digest(Watchlist(mode="realtime"))
    assert [item.title for _, items in digest.sections for item in items] == ["Globex story 0"]


async def test_a_budget_overflow_goes_to_the_next_digest(store):
    for n in range(5):
        queue(store, n)
    recorder = Recorder()
    report = await dispatcher(store, recorder, at(10), max_per_hour=3).deliver_pending()
    assert len(report.sent) == 3 and report.to_digest == 2
    queue(store, 5)
    report = await dispatcher(store, recorder, at(10, 30), max_per_hour=3).deliver_pending()
    assert report.sent == () and report.to_digest == 1  # three in the last hour already
    queue(store, 6)
    report = await dispatcher(store, recorder, at(11, 1), max_per_hour=3).deliver_pending()
    assert [a.title for a in report.sent] == ["Globex story 6"]  # the hour has passed
    (digest,) = await dispatcher(store, recorder, at(12)).deliver_digest(Watchlist(mode="realtime"))
    assert digest.total == 3


async def test_a_digest_groups_the_period_by_company_most_stories_first(store):
    queue(store, 1, "Initech", tier="digest")
    for n in range(3):
        queue(store, n, "Globex", tier="digest", about=n != 2)
    queue(store, 9, "Globex", tier="realtime")  # not digest material
    recorder = Recorder()
    (digest,) = await dispatcher(store, recorder, at(9)).deliver_digest(Watchlist())
    assert [(company, [item.title for item in items]) for company, items in digest.sections] == [
        ("Globex", ["Globex story 1", "Globex story 0", "Globex story 2"]),  # about first, then salience
        ("Initech", ["Initech story 1"]),
    ]
    assert digest.total == 4 and digest.since is None and digest.until == at(9)
    assert isinstance(recorder.posts[0][1], Digest) and recorder.posts[0][0] == "#intel"
    # Sent once: the next digest starts where this one ended and has nothing to say.
    queue(store, 5, "Initech", tier="digest")
    (later,) = await dispatcher(store, recorder, at(9, day=3)).deliver_digest(Watchlist())
    assert later.since == at(9) and [i.title for _, items in later.sections for i in items] == ["Initech story 5"]
    assert await dispatcher(store, recorder, at(9, day=4)).deliver_digest(Watchlist()) == []


async def test_an_empty_digest_is_said_only_when_asked(store):
    recorder = Recorder()
    assert await dispatcher(store, recorder, at(9)).deliver_digest(Watchlist()) == []
    say = Watchlist(digest=DigestConfig(when_empty="say"))
    (empty,) = await dispatcher(store, recorder, at(9)).deliver_digest(say)
    assert empty.sections == () and empty.total == 0
    # A realtime watchlist has no digest to speak of, even when asked.
    assert await dispatcher(store, recorder, at(9)).deliver_digest(Watchlist(mode="realtime", digest=say.digest)) == []


def test_build_digest_is_a_pure_grouping():
    assert build_digest("w", "console", [], since=None, until=NOW).sections == ()


def test_digest_jobs_fire_on_their_cron_in_their_time_zone():
    weekday_nine = Watchlist(digest=DigestConfig(cron="0 9 * * 1-5", tz="Europe/Berlin"))

    async def nothing() -> None: ...

    scheduler = build_scheduler([], lambda source: nothing(), nothing, now=NOW, digests=[(weekday_nine, nothing)])
    job = scheduler.get_job("digest:rivals")
    friday_evening = datetime(2024, 6, 7, 18, 0, tzinfo=timezone.utc)
    fire = job.trigger.get_next_fire_time(None, friday_evening)
    assert fire == datetime(2024, 6, 10, 7, 0, tzinfo=timezone.utc)  # Monday 09:00 in Berlin (UTC+2)
    assert fire.utcoffset() == timedelta(hours=2)


@pytest.mark.parametrize("field, days", [
    ("1-5", "mon,tue,wed,thu,fri"), ("0,6", "sat,sun"), ("7", "sun"), ("mon-fri", "mon,tue,wed,thu,fri"),
    ("*/2", "tue,thu,sat,sun"), ("5-7", "fri,sat,sun"), ("*", "*"),
])
def test_crontab_weekdays_mean_what_cron_means(field, days):
    from bot.scheduler import _weekdays
    assert _weekdays(field) == days


def test_an_unreadable_weekday_is_refused():
    from bot.scheduler import crontab_trigger
    with pytest.raises(ValueError, match="unknown weekday"):
        crontab_trigger("0 9 * * 8")


async def test_a_digest_watchlist_posts_nothing_at_once_and_everything_in_its_digest(news_site, tmp_path):
    import io
    import json

    from adapters.console import ConsoleAdapter
    from bot.app import App
    from tests.support import globex_stories, initech_story, make_config, rss

    feed = news_site.put("/feed.xml", rss([*globex_stories(news_site, 3), initech_story(news_site)]),
                         "application/rss+xml")
    watchlists = """\
  - name: morning
    companies: [Globex, Initech]
    channels: [console]
    mode: digest
    digest: {cron: "0 9 * * 1-5", tz: Europe/Berlin}
"""
    config = make_config(tmp_path, [("Wire", feed)], watchlists=watchlists)
    out = io.StringIO()
    async with App(config, {"console": ConsoleAdapter(out, json_lines=True)}, extractor_processes=False) as app:
        _, delivery = await app.poll_once()
        assert delivery.sent == () and out.getvalue() == ""  # nothing at once
        (digest,) = await app.dispatcher.deliver_digest(config.watchlists[0])
    (line,) = [json.loads(text) for text in out.getvalue().splitlines()]
    assert line["kind"] == "digest" and line["watchlist"] == "morning" and line["total"] == 4
    assert [(s["company"], len(s["stories"])) for s in line["sections"]] == [("Globex", 3), ("Initech", 1)]
