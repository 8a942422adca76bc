"""Routing: which channels hear about an article, decided from data alone."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from bot.matcher import CompanyMatcher, CompanyNames
from bot.models import Article
from bot.routing import compile_watchlists, is_announceable, route

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
MATCHER = CompanyMatcher([CompanyNames("Globex"), CompanyNames("Initech"), CompanyNames("Northwind", ("北风",))])


@dataclass
class WatchlistConfig:
    name: str
    companies: list[str]
    keywords: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=lambda: ["console"])
    require: str = "mention"
    mode: str = "realtime"
    ping: tuple[str, ...] = ()


def routes_for(title: str, text: str, *watchlists: WatchlistConfig):
    article = Article("Wire", "https://news.test/a", None, title, text, NOW, NOW)
    return route(article, MATCHER.match(title, text), compile_watchlists(watchlists))


def test_watchlist_with_a_mentioned_company_routes_to_each_channel():
    routes = routes_for("Globex expands", "Globex opens an office.",
                        WatchlistConfig("rivals", ["Globex"], channels=["console", "slack:#intel"]))
    assert [(r.watchlist, r.channel, r.companies) for r in routes] == [
        ("rivals", "console", ("Globex",)),
        ("rivals", "slack:#intel", ("Globex",)),
    ]


def test_no_company_no_route():
    assert routes_for("Weather", "Rain tomorrow.", WatchlistConfig("rivals", ["Globex"])) == []


def test_keywords_must_also_match_as_whole_words():
    watchlist = WatchlistConfig("china", ["Globex"], keywords=["china", "中国"])
    assert routes_for("Globex news", "Globex sells porcelain (chinaware).", watchlist) == []
    assert len(routes_for("Globex news", "Globex enters China.", watchlist)) == 1
    assert len(routes_for("Globex 进入中国市场", "", watchlist)) == 1


def test_one_alert_per_channel_even_when_two_watchlists_match():
    routes = routes_for(
        "Globex and Initech merge", "Initech and Globex said so.",
        WatchlistConfig("a", ["Globex"]), WatchlistConfig("b", ["Initech"]),
    )
    assert len(routes) == 1
    assert routes[0].watchlist == "a"
    assert set(routes[0].companies) == {"Globex", "Initech"}


def test_only_the_watchlists_companies_are_listed():
    routes = routes_for("Globex and Northwind", "北风 too.", WatchlistConfig("a", ["Northwind"]))
    assert routes[0].companies == ("Northwind",)


def test_backlog_applies_to_first_poll_only():
    old = NOW - timedelta(days=3)
    assert not is_announceable(old, first_poll=True, backlog=timedelta(days=2), now=NOW)
    assert is_announceable(NOW - timedelta(days=1), first_poll=True, backlog=timedelta(days=2), now=NOW)
    assert not is_announceable(NOW - timedelta(seconds=1), first_poll=True, backlog=timedelta(0), now=NOW)
    assert is_announceable(old, first_poll=False, backlog=timedelta(0), now=NOW)


def test_require_about_skips_stories_that_name_the_company_in_passing():
    watchlist = WatchlistConfig("rivals", ["Globex"], require="about")
    passing = routes_for("Markets close higher", "Shares rose. The news was posted on Globex first.", watchlist)
    about = routes_for("Globex cuts prices", "Globex said on Monday it would cut prices.", watchlist)
    assert passing == [] and len(about) == 1
    assert len(routes_for("Markets close higher", "The news was posted on Globex first.",
                          WatchlistConfig("all", ["Globex"]))) == 1


ABOUT = ("Globex opens a plant", "Globex said on Monday it will open a plant. Globex will hire 400 people.")
PASSING = ("Shipping rates rise", "Freight rates rose again this week, a forwarder told Globex.")


def tiers(story: tuple[str, str], *watchlists: WatchlistConfig) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(r.watchlist, r.tier, r.ping) for r in routes_for(*story, *watchlists)]


def test_mode_decides_realtime_or_digest_and_both_splits_by_salience():
    assert tiers(ABOUT, WatchlistConfig("w", ["Globex"], mode="digest")) == [("w", "digest", ())]
    assert tiers(ABOUT, WatchlistConfig("w", ["Globex"], mode="both")) == [("w", "realtime", ())]
    assert tiers(PASSING, WatchlistConfig("w", ["Globex"], mode="both")) == [("w", "digest", ())]
    assert tiers(PASSING, WatchlistConfig("w", ["Globex"])) == [("w", "realtime", ())]


def test_pings_go_only_with_realtime_stories_about_a_company():
    ping = ("slack:S0123ABCD",)
    assert tiers(ABOUT, WatchlistConfig("w", ["Globex"], ping=ping)) == [("w", "realtime", ping)]
    assert tiers(PASSING, WatchlistConfig("w", ["Globex"], ping=ping)) == [("w", "realtime", ())]
    assert tiers(PASSING, WatchlistConfig("w", ["Globex"], mode="both", ping=ping)) == [("w", "digest", ())]


def test_realtime_wins_when_two_watchlists_reach_one_channel():
    digest, live = WatchlistConfig("d", ["Globex"], mode="digest"), WatchlistConfig("r", ["Globex"], ping=("discord:123456",))
    assert tiers(ABOUT, digest, live) == [("r", "realtime", ("discord:123456",))]
    assert tiers(ABOUT, live, digest) == [("r", "realtime", ("discord:123456",))]

