"""Tests for intelbot's manners: turns per host, robots.txt (RFC 9309) and Retry-After.

Every server here is a real one on 127.0.0.1 that records, for each request, its path and the
loop time it arrived, and how many requests were in flight at once. Times are only ever
checked as lower bounds (a delay that was kept) or as an order, never as a speed.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp import web

from bot import fetch
from bot.app import make_fetcher
from bot.errors import FetchError, RefusedAddressError
from bot.fetch import Fetcher
from bot.robots import (
    MAX_CRAWL_DELAY,
    ROBOTS_FRESH_FOR,
    ROBOTS_RETRY_AFTER,
    RobotsCache,
    RobotsPolicy,
    policy_from_body,
    policy_from_failure,
)
from tests.support import PROXY_VARIABLES, make_config

USER_AGENT = "intelbot/1.0 (tests)"
DISALLOWED = "(set robots: false on the source if the site allows intelbot)"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """A proxy from the environment would swallow loopback requests."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@dataclass
class Gauge:
    """Requests in flight now, and the most there ever were; several sites may share one."""

    now: int = 0
    peak: int = 0


@dataclass
class Site:
    """A loopback server whose routes a test sets; unknown paths answer 404."""

    base: str = ""
    routes: dict[str, Handler] = field(default_factory=dict)
    log: list[tuple[str, float]] = field(default_factory=list)  # path and query, loop time of arrival
    gauge: Gauge = field(default_factory=Gauge)

    def url(self, path: str) -> str:
        return self.base + path

    def text(self, path: str, body: str, *, status: int = 200, headers: dict[str, str] | None = None,
             pause: float = 0.0) -> str:
        """Serve `body` at `path`, after `pause` seconds (to keep requests in flight together)."""

        async def handler(request: web.Request) -> web.Response:
            if pause:
                await asyncio.sleep(pause)
            return web.Response(text=body, status=status, headers=headers)

        self.routes[path] = handler
        return self.url(path)

    def redirect(self, path: str, location: str) -> str:
        async def handler(request: web.Request) -> web.Response:
            raise web.HTTPFound(location)

        self.routes[path] = handler
        return self.url(path)

    def paths(self) -> list[str]:
        return [path for path, _at in self.log]

    def arrivals(self, path: str | None = None) -> list[float]:
        """Loop times the requests (to `path`, query ignored) arrived."""
        return [at for logged, at in self.log if path is None or logged.split("?", 1)[0] == path]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.log.append((request.path_qs, asyncio.get_running_loop().time()))
        self.gauge.now += 1
        self.gauge.peak = max(self.gauge.peak, self.gauge.now)
        try:
            handler = self.routes.get(request.path)
            if handler is None:
                return web.Response(status=404, text="not found")
            return await handler(request)
        finally:
            self.gauge.now -= 1


@pytest.fixture
async def serve() -> AsyncIterator[Callable[..., Awaitable[Site]]]:
    """Start loopback sites on demand (`await serve()`); all are stopped after the test."""
    runners: list[web.AppRunner] = []

    async def start(gauge: Gauge | None = None) -> Site:
        site = Site(gauge=gauge or Gauge())
        app = web.Application()
        app.router.add_get("/{tail:.*}", site.handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        runners.append(runner)
        site.base = f"http://127.0.0.1:{runner.addresses[0][1]}"
        return site

    yield start
    for runner in runners:
        await runner.cleanup()


@pytest.fixture
async def site(serve) -> Site:
    return await serve()


def polite(**options) -> Fetcher:
    """A Fetcher for loopback sites, with no delay between requests unless a test sets one."""
    options.setdefault("host_delay", 0)
    options.setdefault("timeout", 5)
    return Fetcher(user_agent=USER_AGENT, allow_private_networks=True, **options)


def gaps(times: list[float]) -> list[float]:
    return [later - earlier for earlier, later in itertools.pairwise(times)]


# ---- turns per host ------------------------------------------------------------------------


async def test_no_more_than_per_host_requests_in_flight_to_one_host(site):
    site.text("/slow", "ok", pause=0.05)
    async with polite(per_host=3) as fetcher:
        results = await asyncio.gather(*(fetcher.get(site.url(f"/slow?{n}"), robots=False) for n in range(12)))
    assert [result.content for result in results] == [b"ok"] * 12
    assert site.gauge.peak == 3


async def test_requests_to_one_host_start_host_delay_apart(site):
    site.text("/page", "ok")
    async with polite(host_delay=0.2, per_host=4) as fetcher:
        await asyncio.gather(*(fetcher.get(site.url(f"/page?{n}"), robots=False) for n in range(4)))
    starts = site.arrivals("/page")
    assert len(starts) == 4
    assert min(gaps(starts)) >= 0.2 * 0.9  # arrival times vary by a little network jitter


async def test_requests_to_one_host_go_in_the_order_they_came(site):
    site.text("/page", "ok", pause=0.01)
    async with polite(per_host=1) as fetcher:
        await asyncio.gather(*(fetcher.get(site.url(f"/page?{n}"), robots=False) for n in range(8)))
    assert site.paths() == [f"/page?{n}" for n in range(8)]


async def test_one_host_waiting_out_its_delay_does_not_hold_up_another(serve):
    first, second = await serve(), await serve()  # two ports: two hosts
    first.text("/a", "a")
    second.text("/b", "b")
    async with polite(host_delay=0.5) as fetcher:
        await fetcher.get(first.url("/a?1"), robots=False)
        await asyncio.gather(fetcher.get(first.url("/a?2"), robots=False),
                             fetcher.get(second.url("/b"), robots=False))
    a1, a2 = first.arrivals()
    (b,) = second.arrivals()
    assert a2 - a1 >= 0.5 * 0.9
    assert b < a2  # the second host did not wait for the first one's delay


async def test_a_redirect_waits_for_a_turn_on_the_host_it_goes_to(serve):
    origin, target = await serve(), await serve()
    target.text("/slow", "ok", pause=0.05)
    origin.redirect("/go", target.url("/slow"))
    async with polite(per_host=1) as fetcher:
        await asyncio.gather(*(fetcher.get(origin.url(f"/go?{n}"), robots=False) for n in range(4)),
                             fetcher.get(target.url("/slow"), robots=False))
    assert len(target.arrivals("/slow")) == 5
    assert target.gauge.peak == 1


async def test_requests_in_flight_over_all_hosts_are_capped(serve, monkeypatch):
    monkeypatch.setattr(fetch, "MAX_IN_FLIGHT", 3)
    shared = Gauge()
    sites = [await serve(shared) for _ in range(3)]
    for each in sites:
        each.text("/slow", "ok", pause=0.05)
    async with polite(per_host=4) as fetcher:
        await asyncio.gather(*(fetcher.get(each.url(f"/slow?{n}"), robots=False) for each in sites for n in range(4)))
    assert sum(len(each.log) for each in sites) == 12
    assert shared.peak == 3


async def test_hosts_are_forgotten_once_nothing_waits_for_them(serve):
    sites = [await serve() for _ in range(3)]
    for each in sites:
        each.text("/x", "ok")
    async with polite() as fetcher:
        await asyncio.gather(*(fetcher.get(each.url(f"/x?{n}"), robots=False) for each in sites for n in range(5)))
        assert len(fetcher._manners) == 0  # the table of hosts holds only hosts in use


async def test_per_host_and_host_delay_come_from_the_config(site, tmp_path: Path):
    site.text("/slow", "ok", pause=0.05)
    config = make_config(tmp_path, [])
    config = config.model_copy(update={"fetch": config.fetch.model_copy(
        update={"per_host": 1, "host_delay": timedelta(milliseconds=200)})})
    async with make_fetcher(config) as fetcher:
        await asyncio.gather(*(fetcher.get(site.url(f"/slow?{n}"), robots=False) for n in range(3)))
    assert site.gauge.peak == 1
    assert min(gaps(site.arrivals())) >= 0.2 * 0.9


def test_manners_must_make_sense():
    with pytest.raises(ValueError, match="per_host must be at least 1"):
        Fetcher(user_agent=USER_AGENT, per_host=0)
    with pytest.raises(ValueError, match="host_delay must be 0 or more"):
        Fetcher(user_agent=USER_AGENT, host_delay=-1)


# ---- robots.txt ----------------------------------------------------------------------------


async def test_a_disallowed_url_is_not_fetched_and_says_why(site):
    site.text("/robots.txt", "User-agent: *\nDisallow: /private/\n")
    site.text("/private/report", "secret")
    site.text("/news", "ok")
    async with polite() as fetcher:
        assert (await fetcher.get(site.url("/news"))).content == b"ok"
        with pytest.raises(FetchError) as caught:
            await fetcher.get(site.url("/private/report"))
    assert caught.value.reason == f"disallowed by {site.url('/robots.txt')} {DISALLOWED}"
    assert caught.value.url == site.url("/private/report")
    assert site.paths() == ["/robots.txt", "/news"]


@pytest.mark.parametrize(
    ("robots_txt", "allowed"),
    [
        ("User-agent: *\nDisallow: /\n", False),
        ("User-agent: intelbot\nDisallow: /news\n", False),
        ("User-Agent: IntelBot\nDisallow: /news\n", False),  # product tokens match in any case
        ("User-agent: otherbot\nDisallow: /\n", True),
        ("User-agent: *\nDisallow: /\n\nUser-agent: intelbot\nAllow: /\n", True),  # our own group wins
        ("User-agent: *\nDisallow: /\nAllow: /news\n", True),  # the longest match wins
        ("User-agent: *\nDisallow: /*.xml$\n", True),
        ("", True),
        ("<html><body>Welcome!</body></html>", True),
    ],
)
async def test_robots_txt_groups_and_rules(site, robots_txt: str, allowed: bool):
    site.text("/robots.txt", robots_txt)
    site.text("/news", "ok")
    async with polite() as fetcher:
        if allowed:
            assert (await fetcher.get(site.url("/news"))).content == b"ok"
        else:
            with pytest.raises(FetchError, match="disallowed by"):
                await fetcher.get(site.url("/news"))


@pytest.mark.parametrize("status", [401, 403, 404, 410])
async def test_no_robots_txt_allows_everything(site, status: int):
    site.text("/robots.txt", "nothing here", status=status)
    site.text("/news", "ok")
    async with polite() as fetcher:
        assert (await fetcher.get(site.url("/news"))).content == b"ok"


async def test_robots_txt_unavailable_refuses_everything_for_now(site):
    site.text("/robots.txt", "busy", status=503, headers={"Retry-After": "120"})
    site.text("/news", "ok")
    async with polite() as fetcher:
        with pytest.raises(FetchError) as caught:
            await fetcher.get(site.url("/news"))
        with pytest.raises(FetchError) as again:
            await fetcher.get(site.url("/news"))
    assert caught.value.reason == (
        "robots.txt unavailable (HTTP 503 Service Unavailable, retry after 120 s); RFC 9309 says wait"
    )
    assert caught.value.url == site.url("/news")
    assert 110 <= caught.value.retry_after <= 120
    assert again.value.retry_after <= caught.value.retry_after  # what is left of it
    assert site.paths() == ["/robots.txt"]  # asked once, and the page never


@pytest.mark.parametrize(("status", "words"), [(500, "HTTP 500 Internal Server Error"), (429, "HTTP 429 Too Many Requests")])
async def test_robots_txt_server_errors_refuse_everything_for_now(site, status: int, words: str):
    site.text("/robots.txt", "oops", status=status)
    async with polite() as fetcher:
        with pytest.raises(FetchError) as caught:
            await fetcher.get(site.url("/news"))
    assert caught.value.reason == f"robots.txt unavailable ({words}); RFC 9309 says wait"
    assert caught.value.retry_after is None
    assert site.paths() == ["/robots.txt"]


async def test_robots_txt_that_never_answers_refuses_everything_for_now(site):
    answer = asyncio.Event()

    async def silent(request: web.Request) -> web.Response:
        await answer.wait()
        return web.Response(text="")

    site.routes["/robots.txt"] = silent
    try:
        async with polite(timeout=0.2) as fetcher:
            with pytest.raises(FetchError) as caught:
                await fetcher.get(site.url("/news"))
    finally:
        answer.set()
    assert caught.value.reason == "robots.txt unreachable (timed out after 0.2 s); RFC 9309 says wait"
    assert site.paths() == ["/robots.txt"]


async def test_a_host_that_refuses_connections_is_told_in_words():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with polite() as fetcher:
        with pytest.raises(FetchError) as caught:
            await fetcher.get(f"http://127.0.0.1:{port}/feed")
    assert caught.value.reason == "robots.txt unreachable (connection refused); RFC 9309 says wait"


async def test_crawl_delay_spaces_the_hosts_requests(site):
    site.text("/robots.txt", "User-agent: *\nCrawl-delay: 0.3\n")
    site.text("/page", "ok")
    async with polite(host_delay=0, per_host=4) as fetcher:
        await asyncio.gather(*(fetcher.get(site.url(f"/page?{n}")) for n in range(2)))
    starts = site.arrivals()  # robots.txt, then the two pages
    assert len(starts) == 3
    assert min(gaps(starts)) >= 0.3 * 0.9


def test_crawl_delay_is_capped_at_a_minute():
    policy, _lifetime = policy_from_body("https://slow.example/robots.txt", b"User-agent: *\nCrawl-delay: 3600\n")
    assert policy.crawl_delay == MAX_CRAWL_DELAY == 60
    assert policy_from_body("https://slow.example/robots.txt", b"User-agent: *\n")[0].crawl_delay == 0


async def test_robots_txt_is_fetched_once_for_many_requests(site):
    site.text("/robots.txt", "User-agent: *\nDisallow: /private\n")
    site.text("/news", "ok")
    async with polite(per_host=4) as fetcher:
        await asyncio.gather(*(fetcher.get(site.url(f"/news?{n}")) for n in range(20)))
        await fetcher.get(site.url("/news?later"))
    assert site.paths().count("/robots.txt") == 1
    assert len(site.paths()) == 22


async def test_robots_false_skips_robots_txt(site):
    site.text("/robots.txt", "User-agent: *\nDisallow: /\n")
    site.text("/news", "ok")
    async with polite() as fetcher:
        assert (await fetcher.get(site.url("/news"), robots=False)).content == b"ok"
    assert site.paths() == ["/news"]


async def test_every_hop_obeys_the_robots_txt_of_its_own_origin(serve):
    origin, target = await serve(), await serve()
    origin.redirect("/story", target.url("/private/story"))
    target.text("/robots.txt", "User-agent: *\nDisallow: /private/\n")
    async with polite() as fetcher:
        with pytest.raises(FetchError) as caught:
            await fetcher.get(origin.url("/story"))
    assert caught.value.reason == f"disallowed by {target.url('/robots.txt')} {DISALLOWED}"
    assert caught.value.url == target.url("/private/story")
    assert target.paths() == ["/robots.txt"]


async def test_robots_txt_redirects_are_followed(site):
    site.redirect("/robots.txt", "/rules.txt")
    site.text("/rules.txt", "User-agent: *\nDisallow: /\n")
    async with polite() as fetcher:
        with pytest.raises(FetchError, match="disallowed by"):
            await fetcher.get(site.url("/news"))
    assert site.paths() == ["/robots.txt", "/rules.txt"]


async def test_robots_txt_redirecting_forever_counts_as_none(site):
    site.redirect("/robots.txt", "/robots.txt")
    site.text("/news", "ok")
    async with polite() as fetcher:
        assert (await fetcher.get(site.url("/news"))).content == b"ok"
    assert site.paths() == ["/robots.txt"] * 6 + ["/news"]  # the first request and five redirects


async def test_only_the_first_500_kib_of_robots_txt_count(site):
    filler = "# " + "x" * 98 + "\n"
    site.text("/robots.txt", "User-agent: *\nDisallow: /private\n" + filler * 6000 + "Disallow: /news\n")  # 600 kB
    site.text("/news", "ok")
    async with polite() as fetcher:
        assert (await fetcher.get(site.url("/news"))).content == b"ok"
        with pytest.raises(FetchError, match="disallowed by"):
            await fetcher.get(site.url("/private"))


async def test_robots_txt_goes_through_the_address_guard(site):
    async with Fetcher(user_agent=USER_AGENT, host_delay=0) as fetcher:
        with pytest.raises(RefusedAddressError) as caught:
            await fetcher.get(site.url("/news"))
    assert caught.value.url == site.url("/news")
    assert "127.0.0.1 is a loopback address" in caught.value.reason
    assert site.paths() == []


# ---- the robots.txt cache ------------------------------------------------------------------

ROBOTS_URL = "https://news.example/robots.txt"
DISALLOW_ALL = policy_from_body(ROBOTS_URL, b"User-agent: *\nDisallow: /\n")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Answers:
    """A robots.txt fetch that returns the given policies in turn and counts the calls."""

    def __init__(self, *answers: tuple[RobotsPolicy, float] | BaseException):
        self.answers = list(answers)
        self.calls = 0

    async def __call__(self, origin) -> tuple[RobotsPolicy, float]:
        self.calls += 1
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer


async def test_cache_keeps_a_robots_txt_for_a_day():
    clock = Clock()
    fetch_robots = Answers(DISALLOW_ALL, policy_from_failure(ROBOTS_URL, status=404, reason="HTTP 404", retry_after=None))
    cache = RobotsCache(fetch_robots, clock=clock)
    first, _ = await cache.policy("origin")
    clock.now += ROBOTS_FRESH_FOR - 1
    assert (await cache.policy("origin"))[0] is first and fetch_robots.calls == 1
    clock.now += 2
    later, _ = await cache.policy("origin")
    assert fetch_robots.calls == 2 and later.why_not("https://news.example/a") is None


async def test_cache_asks_again_soon_after_a_failure():
    clock = Clock()
    unavailable = policy_from_failure(ROBOTS_URL, status=503, reason="HTTP 503 Service Unavailable", retry_after=None)
    fetch_robots = Answers(unavailable, DISALLOW_ALL)
    cache = RobotsCache(fetch_robots, clock=clock)
    policy, retry_after = await cache.policy("origin")
    assert policy.why_not("https://news.example/a") == (
        "robots.txt unavailable (HTTP 503 Service Unavailable); RFC 9309 says wait"
    )
    assert retry_after is None
    clock.now += ROBOTS_RETRY_AFTER + 1
    policy, _ = await cache.policy("origin")
    assert fetch_robots.calls == 2 and "disallowed by" in policy.why_not("https://news.example/a")


async def test_cache_waits_as_long_as_retry_after_says():
    clock = Clock()
    busy = policy_from_failure(ROBOTS_URL, status=503, reason="HTTP 503", retry_after=3600)
    cache = RobotsCache(Answers(busy), clock=clock)
    assert (await cache.policy("origin"))[1] == 3600
    clock.now += 3000
    assert (await cache.policy("origin"))[1] == 600


async def test_cache_keeps_the_last_copy_read_while_robots_txt_is_unreachable():
    clock = Clock()
    unreachable = policy_from_failure(ROBOTS_URL, status=None, reason="connection refused", retry_after=None)
    fetch_robots = Answers(DISALLOW_ALL, unreachable, policy_from_body(ROBOTS_URL, b""))
    cache = RobotsCache(fetch_robots, clock=clock)
    first, _ = await cache.policy("origin")
    clock.now += ROBOTS_FRESH_FOR + 1
    assert (await cache.policy("origin"))[0] is first  # RFC 9309 §2.4
    clock.now += ROBOTS_RETRY_AFTER + 1  # and it is asked for again soon
    assert (await cache.policy("origin"))[0].why_not("https://news.example/a") is None
    assert fetch_robots.calls == 3


async def test_concurrent_askers_share_one_fetch():
    started, release = asyncio.Event(), asyncio.Event()
    calls = 0

    async def slow_fetch(origin) -> tuple[RobotsPolicy, float]:
        nonlocal calls
        calls += 1
        started.set()
        await release.wait()
        return DISALLOW_ALL

    cache = RobotsCache(slow_fetch)
    askers = [asyncio.create_task(cache.policy("origin")) for _ in range(10)]
    await started.wait()
    askers[0].cancel()  # one caller giving up does not cancel the fetch for the others
    release.set()
    results = await asyncio.gather(*askers[1:])
    assert calls == 1 and all(policy is DISALLOW_ALL[0] for policy, _ in results)


async def test_a_refused_address_is_raised_to_every_asker_and_not_kept():
    refused = RefusedAddressError(ROBOTS_URL, "refused: news.example resolves to 10.0.0.1, a private address")
    fetch_robots = Answers(refused, DISALLOW_ALL)
    cache = RobotsCache(fetch_robots)
    with pytest.raises(RefusedAddressError):
        await cache.policy("origin")
    assert (await cache.policy("origin"))[0] is DISALLOW_ALL[0] and fetch_robots.calls == 2


async def test_cache_holds_a_bounded_number_of_origins():
    fetch_robots = Answers(*[DISALLOW_ALL] * 5)
    cache = RobotsCache(fetch_robots, size=2)
    for origin in ("a", "b", "a", "c", "a", "b"):  # "b" was dropped when "c" came, "a" used just before
        await cache.policy(origin)
    assert fetch_robots.calls == 4


async def test_cache_holds_a_bounded_number_of_bytes():
    big = policy_from_body(ROBOTS_URL, b"User-agent: *\nDisallow: /private\n" + b"#" * 1000)
    fetch_robots = Answers(*[big] * 4)
    cache = RobotsCache(fetch_robots, max_bytes=2500)
    for origin in ("a", "b", "c", "a"):  # two fit; "a" was dropped when "c" came
        await cache.policy(origin)
    assert fetch_robots.calls == 4


# ---- Retry-After ---------------------------------------------------------------------------


async def test_retry_after_in_seconds_is_kept_with_the_error(site):
    site.text("/feed", "slow down", status=429, headers={"Retry-After": "30"})
    async with polite() as fetcher:
        with pytest.raises(FetchError) as caught:
            await fetcher.get(site.url("/feed"))
    assert caught.value.reason == "HTTP 429 Too Many Requests, retry after 30 s"
    assert caught.value.status == 429 and caught.value.retry_after == 30


async def test_retry_after_as_an_http_date_counts_from_the_servers_date(site):
    headers = {"Date": "Wed, 21 Oct 2099 07:28:00 GMT", "Retry-After": "Wed, 21 Oct 2099 07:29:30 GMT"}
    site.text("/feed", "down for maintenance", status=503, headers=headers)
    async with polite() as fetcher:
        with pytest.raises(FetchError) as caught:
            await fetcher.get(site.url("/feed"))
    assert caught.value.reason == "HTTP 503 Service Unavailable, retry after 2099-10-21 07:29:30 UTC"
    assert caught.value.retry_after == 90
