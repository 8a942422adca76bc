"""The whole spine against a real news site on 127.0.0.1: poll, extract, match, store, alert."""

from __future__ import annotations

import asyncio
import io
import json
import re
import sqlite3
import threading
from datetime import UTC, datetime

from adapters.console import ConsoleAdapter
from bot.app import App, make_fetcher
from bot.extract import Extractor
from bot.matcher import CompanyMatcher, company_names_of
from bot.models import Command
from bot.pipeline import Pipeline, SourceSpec
from bot.routing import compile_watchlists
from bot.store import Store
from tests.support import GLOBEX_NEWS, NewsSite, article_page, globex_stories, hours_ago, make_config, rss

GLOBEX_PAGE = article_page(
    "Globex opens a factory in Poland",
    [
        "Globex Corp said on Monday that it will open its first European factory near Wrocław.",
        "The plant will make batteries for electric scooters and employ 400 people by next year.",
        "Globex has been looking for a European site since its sales in Germany doubled.",
        "Local officials welcomed the investment, which is the largest in the region this year.",
    ],
)
INITECH_PAGE = article_page(
    "Initech signs a deal in China",
    [
        "Initech has signed a distribution agreement with a retailer in Shanghai.",
        "The deal makes China the software maker's third-largest market, the company said.",
        "Analysts said the agreement was overdue after two years of talks.",
    ],
)
WEATHER_PAGE = article_page(
    "Storms expected this weekend",
    ["Forecasters expect heavy rain across the region on Saturday.", "Rivers may rise by Sunday evening."],
)


def publish(site: NewsSite, *stories: tuple[str, str, str, float]) -> str:
    """Serve pages and a feed listing them: (slug, page html, headline, hours ago)."""
    items = []
    for slug, page, headline, age in stories:
        link = site.put(f"/news/{slug}.html", page)
        items.append({"title": headline, "link": link + "?utm_source=rss", "guid": f"wire-{slug}",
                      "description": f"{headline}.", "published": hours_ago(age)})
    return site.put("/feed.xml", rss(items), "application/rss+xml")


async def poll(config, out: io.StringIO | None = None):
    out = out or io.StringIO()
    async with App(config, {"console": ConsoleAdapter(out, json_lines=True)}, extractor_processes=False) as app:
        reports, delivery = await app.poll_once()
    alerts = [json.loads(line) for line in out.getvalue().splitlines()]
    return reports, alerts


async def test_whole_pipeline_alerts_on_matching_stories(news_site, tmp_path):
    feed = publish(
        news_site,
        ("globex", GLOBEX_PAGE, "Globex opens a factory in Poland", 3),
        ("initech", INITECH_PAGE, "Initech signs a deal in China", 2),
        ("weather", WEATHER_PAGE, "Storms expected this weekend", 1),
    )
    config = make_config(tmp_path, [("Wire", feed)])
    reports, alerts = await poll(config)

    assert reports[0].error is None and reports[0].new_articles == 3
    assert [(a["watchlist"], a["companies"], a["title"]) for a in alerts] == [
        ("rivals", ["Globex"], "Globex opens a factory in Poland"),
        ("china", ["Initech"], "Initech signs a deal in China"),
    ]
    globex = alerts[0]
    assert globex["url"] == news_site.url("/news/globex.html")  # tracking parameters removed
    assert globex["source"] == "Wire" and globex["channel"] == "console"
    assert globex["summary"].startswith("Globex Corp said on Monday")
    assert len(globex["summary"]) <= 400
    assert "Share on Facebook" not in globex["summary"]
    # The pages themselves were fetched (the summary comes from the page, not the feed).
    assert "/news/globex.html?utm_source=rss" in news_site.requests

    with Store(config.storage.path) as store:
        assert store.article_count() == 3
        results = store.search(companies=["Globex"], terms=["factory"], now=hours_ago(0))
    assert [r.title for r in results] == ["Globex opens a factory in Poland"]


async def test_second_poll_alerts_only_on_the_new_entry(news_site, tmp_path):
    globex = ("globex", GLOBEX_PAGE, "Globex opens a factory in Poland", 3)
    feed = publish(news_site, globex)
    config = make_config(tmp_path, [("Wire", feed)])
    _, first = await poll(config)
    assert len(first) == 1

    publish(news_site, globex, ("initech", INITECH_PAGE, "Initech signs a deal in China", 0.5))
    reports, second = await poll(config)
    assert [a["title"] for a in second] == ["Initech signs a deal in China"]
    assert reports[0].new_articles == 1
    # The old story's page was not fetched again.
    assert news_site.requests.count("/news/globex.html?utm_source=rss") == 1


async def test_restart_with_the_same_database_repeats_nothing(news_site, tmp_path):
    feed = publish(news_site, ("globex", GLOBEX_PAGE, "Globex opens a factory in Poland", 3))
    config = make_config(tmp_path, [("Wire", feed)])
    _, first = await poll(config)
    # A new App is a restarted bot: same database file, fresh process state.
    news_site.resources["/feed.xml"].body += b"\n"  # a changed ETag forces a full re-read
    reports, again = await poll(config)
    assert len(first) == 1 and again == []
    assert reports[0].error is None and reports[0].new_articles == 0


async def test_unchanged_feed_is_answered_with_304(news_site, tmp_path):
    feed = publish(news_site, ("globex", GLOBEX_PAGE, "Globex opens a factory in Poland", 3))
    config = make_config(tmp_path, [("Wire", feed)])
    await poll(config)
    reports, alerts = await poll(config)
    assert reports[0].not_modified and alerts == []


async def test_a_broken_entry_does_not_stop_the_others(news_site, tmp_path):
    news_site.put("/news/globex.html", GLOBEX_PAGE)
    news_site.put("/news/initech.html", INITECH_PAGE)
    feed = news_site.put("/feed.xml", rss([
        {"title": "Globex opens a factory in Poland", "link": news_site.url("/news/globex.html"),
         "published": hours_ago(3)},
        {"description": "an item with neither title nor link"},
        {"title": "Initech signs a deal in China", "link": news_site.url("/news/missing.html"),
         "description": "Initech has signed a deal in China with a retailer.", "published": hours_ago(2)},
        {"title": "Initech again", "link": "javascript:alert(1)", "published": hours_ago(1)},
    ]), "application/rss+xml")
    config = make_config(tmp_path, [("Wire", feed)])
    reports, alerts = await poll(config)
    assert reports[0].error is None
    assert [a["title"] for a in alerts] == ["Globex opens a factory in Poland", "Initech signs a deal in China"]
    # The page that 404s falls back to the feed's own description.
    assert alerts[1]["summary"] == "Initech has signed a deal in China with a retailer."
    assert reports[0].page_errors == 1


async def test_a_failing_source_is_recorded_and_the_others_still_work(news_site, tmp_path):
    good = publish(news_site, ("globex", GLOBEX_PAGE, "Globex opens a factory in Poland", 3))
    broken = news_site.put("/broken.xml", "<rss><channel><item><title>oops", "application/rss+xml")
    config = make_config(tmp_path, [("Gone", news_site.url("/gone.xml")), ("Broken", broken), ("Wire", good)])
    reports, alerts = await poll(config)
    by_name = {r.source: r for r in reports}
    assert by_name["Gone"].error == f"HTTP 404 Not Found ({news_site.url('/gone.xml')})"
    assert by_name["Broken"].error is not None
    assert by_name["Wire"].error is None
    assert [a["title"] for a in alerts] == ["Globex opens a factory in Poland"]
    with Store(config.storage.path) as store:
        states = {s.name: s for s in store.sources()}
    assert "404" in states["Gone"].last_error
    assert states["Wire"].last_error is None and states["Wire"].polls == 1


async def test_backlog_stores_old_entries_without_announcing_them(news_site, tmp_path):
    feed = publish(
        news_site,
        ("globex", GLOBEX_PAGE, "Globex opens a factory in Poland", 72),
        ("initech", INITECH_PAGE, "Initech signs a deal in China", 1),
    )
    config = make_config(tmp_path, [("Wire", feed)], backlog="1d")
    _, alerts = await poll(config)
    assert [a["title"] for a in alerts] == ["Initech signs a deal in China"]
    with Store(config.storage.path) as store:
        assert store.article_count() == 2  # the old one is searchable


async def test_plain_page_source_is_one_article_reread_when_it_changes(news_site, tmp_path):
    page = news_site.put("/about-globex.html", article_page("Company profile", ["Nothing to see yet."]))
    config = make_config(tmp_path, [("Profile", page)])
    reports, alerts = await poll(config)
    assert reports[0].new_articles == 1 and alerts == []

    news_site.put("/about-globex.html", GLOBEX_PAGE)
    reports, alerts = await poll(config)
    assert [a["title"] for a in alerts] == ["Globex opens a factory in Poland"]
    with Store(config.storage.path) as store:
        assert store.article_count() == 1

    news_site.resources["/about-globex.html"].body += b" "  # new ETag, same text
    reports, alerts = await poll(config)
    assert alerts == []


async def test_lookup_through_the_command_surface(news_site, tmp_path):
    feed = publish(
        news_site,
        ("globex", GLOBEX_PAGE, "Globex opens a factory in Poland", 3),
        ("initech", INITECH_PAGE, "Initech signs a deal in China", 2),
    )
    config = make_config(tmp_path, [("Wire", feed)])
    async with App(config, {"console": ConsoleAdapter(io.StringIO())}, extractor_processes=False) as app:
        await app.poll_once()
        reply = await app.commands.handle(Command("initech china", user="console"))
        empty = await app.commands.handle(Command("globex china", user="console"))
    assert [r.title for r in reply.results] == ["Initech signs a deal in China"]
    snippet = reply.results[0].snippet
    assert any(snippet[s:e].lower() == "china" for s, e in reply.results[0].highlights)
    assert empty.results == () and "Globex" in empty.text and "china" in empty.text


async def test_intel_why_explains_a_stored_story(news_site, tmp_path):
    feed = publish(news_site, ("initech", INITECH_PAGE, "Initech signs a deal in China", 2))
    config = make_config(tmp_path, [("Wire", feed)])
    async with App(config, {"console": ConsoleAdapter(io.StringIO())}, extractor_processes=False) as app:
        await app.poll_once()
        why = await app.commands.handle(Command(f"why <{news_site.url('/news/initech.html')}?utm_medium=x>",
                                                user="slack:U1"))
        unknown = await app.commands.handle(Command("why https://nowhere.test/x", user="console"))
    assert why.text.startswith("“Initech signs a deal in China”:")
    assert "• Initech (about, score" in why.text and "in the title" in why.text
    assert "I have no stored story at https://nowhere.test/x" in unknown.text


async def test_lookup_pages_with_more(news_site, tmp_path):
    stories = [(f"g{i}", article_page(f"Globex opens factory {i}", [f"Globex opens factory {i} near {city}.", *details]),
                f"Globex opens factory {i}", i + 1) for i, (city, details) in enumerate(GLOBEX_NEWS[:7])]
    feed = publish(news_site, *stories)
    config = make_config(tmp_path, [("Wire", feed)])
    async with App(config, {"console": ConsoleAdapter(io.StringIO())}, extractor_processes=False) as app:
        await app.poll_once()
        first = await app.commands.handle(Command("globex", user="console"))
        second = await app.commands.handle(Command(first.more, user="console"))
    assert len(first.results) == 5 and re.fullmatch(r"globex after:[0-9a-z.]+", first.more)
    assert len(second.results) == 2 and second.more is None and "(page 2)" in second.text
    titles = [r.title for r in first.results + second.results]
    assert sorted(titles) == sorted(f"Globex opens factory {i}" for i in range(7))


# --- the event loop while a poll works; pages worth fetching once ---


class Ticker:
    """A task that counts the event loop's turns; threads can wait for it to move on."""

    def __init__(self) -> None:
        self.count = 0
        self._moved = threading.Condition()

    async def run(self) -> None:
        while True:
            await asyncio.sleep(0)
            with self._moved:
                self.count += 1
                self._moved.notify_all()

    def wait_for_turns(self, turns: int) -> bool:
        """Block until the loop turned `turns` more times; False if it did not (it is blocked)."""
        with self._moved:
            target = self.count + turns
            return self._moved.wait_for(lambda: self.count >= target, timeout=30)


class WatchedStore(Store):
    """The real store, noting for each article whether the event loop ran while it was stored."""

    def __init__(self, path, ticker: Ticker) -> None:
        super().__init__(path)
        self.ticker = ticker
        self.loop_ran: list[bool] = []

    def add_article(self, *args, **kwargs):
        self.loop_ran.append(self.ticker.wait_for_turns(3))
        return super().add_article(*args, **kwargs)


async def test_the_event_loop_keeps_serving_while_a_poll_stores_articles(news_site, tmp_path):
    config = make_config(tmp_path, [("Wire", news_site.put("/feed.xml", rss(globex_stories(news_site, 8)),
                                                           "application/rss+xml"))])
    ticker = Ticker()
    ticking = asyncio.create_task(ticker.run())
    store = WatchedStore(config.storage.path, ticker)
    pipeline = None
    try:
        async with make_fetcher(config) as fetcher:
            with Extractor(processes=False) as extractor:
                pipeline = Pipeline(
                    store=store, fetcher=fetcher, extractor=extractor,
                    matcher=CompanyMatcher(company_names_of(config.companies)),
                    watchlists=compile_watchlists(config.watchlists), backlog=config.alerts.backlog,
                    clock=lambda: datetime.now(UTC),
                )
                report = await pipeline.poll(SourceSpec("Wire", config.sources[0].url))
    finally:
        if pipeline is not None:
            pipeline.close()
        ticking.cancel()
        store.close()
    assert report.error is None and report.new_articles == 8 and report.alerts == 8
    # Each article was matched and stored while the loop went on turning: off the loop.
    assert store.loop_ran == [True] * 8


async def test_feeds_that_share_a_link_fetch_its_page_once(news_site, tmp_path):
    globex = publish(news_site, ("globex", GLOBEX_PAGE, "Globex opens a factory in Poland", 3))
    aggregator = news_site.put("/aggregator.xml", news_site.resources["/feed.xml"].body, "application/rss+xml")
    config = make_config(tmp_path, [("Wire", globex), ("Aggregator", aggregator)])
    reports, alerts = await poll(config)
    assert sorted(r.new_articles for r in reports) == [0, 1] and all(r.error is None for r in reports)
    assert [a["title"] for a in alerts] == ["Globex opens a factory in Poland"]
    assert news_site.requests.count("/news/globex.html?utm_source=rss") == 1


async def test_a_page_without_line_or_sentence_breaks_is_matched_whole(news_site, tmp_path):
    wall = "Globex " * 8000  # a single paragraph of one name: once took 17 s on the event loop
    feed = publish(news_site, ("wall", article_page("Globex in numbers", [wall]), "Globex in numbers", 1))
    config = make_config(tmp_path, [("Wire", feed)])
    reports, alerts = await poll(config)
    assert reports[0].new_articles == 1 and reports[0].page_errors == 0
    (alert,) = alerts
    assert alert["summary"].startswith("Globex Globex") and len(alert["summary"]) <= 400
    with sqlite3.connect(config.storage.path) as db:
        assert db.execute("SELECT count(*) FROM mentions").fetchone()[0] == 8001  # the title's and each one
