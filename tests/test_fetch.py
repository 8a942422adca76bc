"""Tests for bot.fetch: limits, redirects, conditional GET and the SSRF guard."""

from __future__ import annotations

import asyncio
import gzip
import socket
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import httpx
import pytest
from aiohttp import web

from bot.errors import FetchError, RefusedAddressError
from bot.fetch import ACCEPT_ENCODING, DEFAULT_ACCEPT, Fetcher, redact_url, refusal_reason
from tests.support import loopback_server

PUBLIC_ADDRESS = "93.184.215.14"  # any globally routable address; MockTransport never connects
USER_AGENT = "intelbot-tests/1.0"
FEED = b"<?xml version='1.0'?><rss version='2.0'><channel><title>Acme news</title></channel></rss>"


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """A proxy from the environment would swallow loopback requests."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


def dns(answers: dict[str, list[str]]) -> Callable:
    """A resolver answering from a table; unknown hosts fail like getaddrinfo does."""

    async def resolve(host: str) -> list[str]:
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return answers[host]

    return resolve


async def public_dns(host: str) -> list[str]:
    return [PUBLIC_ADDRESS]


async def no_dns(host: str) -> list[str]:
    raise AssertionError(f"the resolver must not be asked about {host}")


def refuse_all_requests(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"no request may be sent, got {request.url}")


def without_robots_txt(handler: Callable) -> Callable:
    """`handler`, with /robots.txt answered 404 (everything allowed) and not passed on.

    The tests here are about one request each; tests/test_polite.py tests robots.txt.
    """

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/robots.txt":
            return httpx.Response(404)
        return handler(request)

    return handle


def make_fetcher(handler: Callable, **options) -> Fetcher:
    options.setdefault("resolve", public_dns)
    options.setdefault("host_delay", 0)
    return Fetcher(user_agent=USER_AGENT, transport=httpx.MockTransport(without_robots_txt(handler)), **options)


# ---- successful requests ------------------------------------------------------------------


async def test_get_returns_body_type_charset_and_validators():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200,
            content=FEED,
            headers={
                "Content-Type": "Application/RSS+XML; charset=ISO-8859-1",
                "ETag": '"v1"',
                "Last-Modified": "Tue, 05 Mar 2024 08:00:00 GMT",
            },
        )

    async with make_fetcher(handler) as fetcher:
        result = await fetcher.get("https://news.example/feed.xml")

    assert result.content == FEED
    assert result.status == 200
    assert result.content_type == "application/rss+xml"
    assert result.charset == "iso-8859-1"
    assert result.etag == '"v1"'
    assert result.last_modified == "Tue, 05 Mar 2024 08:00:00 GMT"
    assert result.not_modified is False
    assert result.requested_url == result.url == "https://news.example/feed.xml"
    assert seen[0].headers["User-Agent"] == USER_AGENT
    assert seen[0].headers["Accept"] == DEFAULT_ACCEPT
    assert "gzip" in seen[0].headers["Accept-Encoding"]
    assert "If-None-Match" not in seen[0].headers


async def test_missing_content_type_gives_none():
    async with make_fetcher(lambda request: httpx.Response(200, content=b"x")) as fetcher:
        result = await fetcher.get("https://news.example/")
    assert result.content_type is None
    assert result.charset is None


async def test_accept_header_can_be_overridden():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=b"<html></html>")

    async with make_fetcher(handler) as fetcher:
        await fetcher.get("https://news.example/story", accept="text/html")
    assert seen[0].headers["Accept"] == "text/html"


async def test_conditional_get_round_trip():
    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers.get("If-None-Match") == '"v1"':
            assert request.headers["If-Modified-Since"] == "Tue, 05 Mar 2024 08:00:00 GMT"
            return httpx.Response(304, headers={"ETag": '"v1"'})
        return httpx.Response(
            200,
            content=FEED,
            headers={"ETag": '"v1"', "Last-Modified": "Tue, 05 Mar 2024 08:00:00 GMT"},
        )

    async with make_fetcher(handler) as fetcher:
        first = await fetcher.get("https://news.example/feed.xml")
        second = await fetcher.get(
            "https://news.example/feed.xml", etag=first.etag, last_modified=first.last_modified
        )

    assert first.not_modified is False
    assert second.not_modified is True
    assert second.status == 304
    assert second.content == b""
    assert second.etag == '"v1"'
    assert second.last_modified == "Tue, 05 Mar 2024 08:00:00 GMT"


async def test_304_without_validators_keeps_the_callers():
    async with make_fetcher(lambda request: httpx.Response(304)) as fetcher:
        result = await fetcher.get("https://news.example/feed.xml", etag='"a"', last_modified="x")
    assert (result.etag, result.last_modified) == ('"a"', "x")


# ---- redirects ------------------------------------------------------------------------------


async def test_relative_redirect_is_followed():
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/old":
            return httpx.Response(301, headers={"Location": "/new?page=1"})
        return httpx.Response(200, content=FEED)

    async with make_fetcher(handler) as fetcher:
        result = await fetcher.get("https://news.example/old")
    assert result.requested_url == "https://news.example/old"
    assert result.url == "https://news.example/new?page=1"
    assert result.content == FEED


async def test_redirect_cap():
    hops: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        hops.append(str(request.url))
        return httpx.Response(302, headers={"Location": f"/hop{len(hops)}"})

    async with make_fetcher(handler, max_redirects=3) as fetcher:
        with pytest.raises(FetchError, match=r"too many redirects \(more than 3\)"):
            await fetcher.get("https://news.example/start")
    assert len(hops) == 4  # the first request and three redirects


async def test_redirect_to_private_address_is_refused_before_any_request():
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.host)
        return httpx.Response(302, headers={"Location": "http://example.internal/admin"})

    resolve = dns({"news.example": [PUBLIC_ADDRESS], "example.internal": ["10.0.0.5"]})
    async with make_fetcher(handler, resolve=resolve) as fetcher:
        with pytest.raises(RefusedAddressError) as caught:
            await fetcher.get("https://news.example/feed")
    assert seen == ["news.example"]
    assert caught.value.reason == (
        "refused: example.internal resolves to 10.0.0.5, a private address "
        "(set fetch.allow_private_networks: true to allow)"
    )


async def test_redirect_to_another_scheme_is_refused():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(301, headers={"Location": "ftp://files.example/feed.xml"})

    async with make_fetcher(handler) as fetcher:
        with pytest.raises(FetchError, match="unsupported URL scheme 'ftp'"):
            await fetcher.get("https://news.example/feed")


async def test_redirect_without_location_is_an_error():
    async with make_fetcher(lambda request: httpx.Response(302)) as fetcher:
        with pytest.raises(FetchError, match="HTTP 302 Found without a Location header"):
            await fetcher.get("https://news.example/feed")


# ---- address guard ------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["ftp://files.example/feed.xml", "file:///etc/passwd", "feed.xml"])
async def test_only_http_and_https(url: str):
    async with make_fetcher(refuse_all_requests, resolve=no_dns) as fetcher:
        with pytest.raises(FetchError, match="unsupported URL scheme"):
            await fetcher.get(url)


@pytest.mark.parametrize(
    ("answer", "kind"),
    [
        ("127.0.0.1", "a loopback address"),
        ("10.0.0.5", "a private address"),
        ("192.168.1.20", "a private address"),
        ("169.254.169.254", "a link-local address"),
        ("224.0.0.1", "a multicast address"),
        ("0.0.0.0", "an unspecified address"),
        ("240.0.0.1", "a reserved address"),
        ("100.64.0.1", "a non-public address"),
        ("::1", "a loopback address"),
        ("fe80::1%eth0", "a link-local address"),
        ("fd00::7", "a private address"),
        ("::ffff:127.0.0.1", "an IPv4-mapped IPv6 address of 127.0.0.1"),
        ("2002:7f00:1::1", "an IPv6 address that embeds 127.0.0.1, a loopback address"),
    ],
)
async def test_host_resolving_to_non_public_address_is_refused(answer: str, kind: str):
    resolve = dns({"intranet.example": [answer]})
    async with make_fetcher(refuse_all_requests, resolve=resolve) as fetcher:
        with pytest.raises(RefusedAddressError) as caught:
            await fetcher.get("https://intranet.example/feed")
    assert caught.value.reason.startswith("refused: intranet.example resolves to ")
    assert f", {kind} (set fetch.allow_private_networks: true to allow)" in caught.value.reason


async def test_any_non_public_answer_is_enough_to_refuse():
    resolve = dns({"mixed.example": [PUBLIC_ADDRESS, "10.1.2.3"]})
    async with make_fetcher(refuse_all_requests, resolve=resolve) as fetcher:
        with pytest.raises(RefusedAddressError, match="10.1.2.3"):
            await fetcher.get("https://mixed.example/")


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1/", "http://[::1]:8080/", "http://[::ffff:127.0.0.1]/", "http://10.9.8.7/"]
)
async def test_ip_literals_are_checked_without_dns(url: str):
    async with make_fetcher(refuse_all_requests, resolve=no_dns) as fetcher:
        with pytest.raises(RefusedAddressError, match="refused: .* is a"):
            await fetcher.get(url)


@pytest.mark.parametrize("url", ["http://2130706433/", "http://0x7f.1/", "http://0x7f000001/"])
async def test_odd_spellings_of_loopback_are_refused(url: str):
    # The default resolver (getaddrinfo) reads these numeric forms without asking DNS.
    async with Fetcher(
        user_agent=USER_AGENT, transport=httpx.MockTransport(refuse_all_requests)
    ) as fetcher:
        with pytest.raises(RefusedAddressError, match="resolves to 127.0.0.1, a loopback address"):
            await fetcher.get(url)


async def test_dns_failure_is_a_fetch_error():
    async with make_fetcher(refuse_all_requests, resolve=dns({})) as fetcher:
        with pytest.raises(FetchError, match="could not resolve host 'nowhere.example'") as caught:
            await fetcher.get("https://nowhere.example/feed")
    assert not isinstance(caught.value, RefusedAddressError)


async def test_allow_private_networks_skips_the_check():
    handler = lambda request: httpx.Response(200, content=b"ok")  # noqa: E731
    async with make_fetcher(handler, resolve=no_dns, allow_private_networks=True) as fetcher:
        result = await fetcher.get("http://10.0.0.5/feed")
    assert result.content == b"ok"


def test_refusal_reason_accepts_public_addresses():
    import ipaddress

    for address in (PUBLIC_ADDRESS, "2606:4700::1111", "64:ff9b::5db8:d70e"):
        assert refusal_reason(ipaddress.ip_address(address)) is None


# ---- errors, limits, credentials ----------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "words"), [(404, "HTTP 404 Not Found"), (503, "HTTP 503 Service Unavailable")]
)
async def test_http_error_status(status: int, words: str):
    async with make_fetcher(lambda request: httpx.Response(status, content=b"nope")) as fetcher:
        with pytest.raises(FetchError) as caught:
            await fetcher.get("https://news.example/feed")
    assert caught.value.reason == words
    assert caught.value.status == status
    assert str(caught.value) == f"{words} (https://news.example/feed)"


async def test_body_over_the_cap_is_refused():
    body = b"a" * 150_000
    async with make_fetcher(lambda request: httpx.Response(200, content=body), max_bytes=100_000) as fetcher:
        with pytest.raises(FetchError, match=r"response larger than 0\.1 MB limit"):
            await fetcher.get("https://news.example/big")


async def test_default_cap_is_five_megabytes():
    body = b"a" * 5_000_001
    async with make_fetcher(lambda request: httpx.Response(200, content=body)) as fetcher:
        with pytest.raises(FetchError, match=r"response larger than 5\.0 MB limit"):
            await fetcher.get("https://news.example/big")


async def test_body_at_the_cap_is_accepted():
    body = b"a" * 1000
    async with make_fetcher(lambda request: httpx.Response(200, content=body), max_bytes=1000) as fetcher:
        assert (await fetcher.get("https://news.example/")).content == body


async def test_declared_length_over_the_cap_is_refused_unread():
    consumed: list[int] = []

    async def body() -> AsyncIterator[bytes]:
        consumed.append(1)
        yield b"a" * 10

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Length": "2000000"}, content=body())

    async with make_fetcher(handler, max_bytes=1_000_000) as fetcher:
        with pytest.raises(FetchError, match="larger than 1.0 MB"):
            await fetcher.get("https://news.example/big")
    assert consumed == []


async def test_gzip_bomb_stops_at_the_cap_without_inflating_everything():
    # 64 compressed chunks, each inflating to 1 MB of zeros: 64 MB in all, cap 200 kB.
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)  # gzip framing
    chunks = [compressor.compress(bytes(1_000_000)) + compressor.flush(zlib.Z_SYNC_FLUSH) for _ in range(64)]
    chunks.append(compressor.flush())
    sent: list[int] = []

    async def body() -> AsyncIterator[bytes]:
        for chunk in chunks:
            sent.append(len(chunk))
            yield chunk

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Encoding": "gzip"}, content=body())

    async with make_fetcher(handler, max_bytes=200_000) as fetcher:
        with pytest.raises(FetchError, match=r"response larger than 0\.2 MB limit"):
            await fetcher.get("https://news.example/bomb")
    assert len(sent) <= 2


def streamed(*chunks: bytes) -> Callable[[], AsyncIterator[bytes]]:
    """A body that arrives in pieces, as from a network (httpx reads it with aiter_raw)."""

    async def body() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    return body


def deflated(data: bytes, wbits: int) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, wbits)
    return compressor.compress(data) + compressor.flush()


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        ("gzip", gzip.compress(FEED)),
        ("x-gzip", gzip.compress(FEED)),
        ("deflate", deflated(FEED, zlib.MAX_WBITS)),  # zlib-wrapped, as the standard says
        ("deflate", deflated(FEED, -zlib.MAX_WBITS)),  # raw deflate, as some servers send
        ("gzip", gzip.compress(FEED[:40]) + gzip.compress(FEED[40:])),  # two gzip members
        ("gzip", gzip.compress(FEED) + b"\x00\x00 trailing junk"),
        ("deflate, gzip", gzip.compress(deflated(FEED, zlib.MAX_WBITS))),  # applied in order
        ("identity", FEED),
        ("GZip", gzip.compress(FEED)),
    ],
)
@pytest.mark.parametrize("step", [1, 7, 100_000])
async def test_streamed_bodies_are_decompressed(encoding: str, body: bytes, step: int):
    pieces = [body[i : i + step] for i in range(0, len(body), step)]  # headers split across reads too

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Encoding": encoding}, content=streamed(*pieces)())

    async with make_fetcher(handler) as fetcher:
        assert (await fetcher.get("https://news.example/feed")).content == FEED


def test_only_encodings_intelbot_can_cap_are_asked_for():
    assert ACCEPT_ENCODING == "gzip, deflate"  # never br or zstd: those are not decoded in bounded steps


async def test_accept_encoding_sent_is_the_decodable_set():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=b"ok")

    async with make_fetcher(handler) as fetcher:
        await fetcher.get("https://news.example/feed")
    assert seen[0].headers["Accept-Encoding"] == "gzip, deflate"


@pytest.mark.parametrize("encoding", ["br", "zstd", "compress", "gzip, br"])
async def test_unsupported_content_encoding_is_a_clean_error(encoding: str):
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Encoding": encoding}, content=streamed(b"\x1b\x03\x00")())

    async with make_fetcher(handler) as fetcher:
        with pytest.raises(FetchError, match=r"unsupported Content-Encoding '(br|zstd|compress)'"):
            await fetcher.get("https://news.example/feed")


async def test_compressed_body_that_is_not_is_a_clean_error():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Encoding": "gzip"}, content=streamed(b"<rss>plain</rss>")())

    async with make_fetcher(handler) as fetcher:
        with pytest.raises(FetchError, match=r"could not decode the response body \(bad Content-Encoding\)"):
            await fetcher.get("https://news.example/feed")


async def test_compressed_bytes_count_against_the_cap_too():
    # Incompressible data that grows when "compressed": the bytes received are capped as well.
    import os

    body = gzip.compress(os.urandom(150_000))

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Encoding": "gzip"}, content=streamed(body)())

    async with make_fetcher(handler, max_bytes=100_000) as fetcher:
        with pytest.raises(FetchError, match=r"larger than 0\.1 MB limit"):
            await fetcher.get("https://news.example/feed")


@pytest.mark.parametrize(
    ("retry_after", "words"),
    [
        ("120", "HTTP 503 Service Unavailable, retry after 120 s"),
        ("Wed, 21 Oct 2099 07:28:00 GMT", "HTTP 503 Service Unavailable, retry after 2099-10-21 07:28:00 UTC"),
        ("<script>", "HTTP 503 Service Unavailable"),
        ("99999999999999999999", "HTTP 503 Service Unavailable"),
    ],
)
async def test_retry_after_is_told(retry_after: str, words: str):
    handler = lambda request: httpx.Response(503, headers={"Retry-After": retry_after})  # noqa: E731
    async with make_fetcher(handler) as fetcher:
        with pytest.raises(FetchError) as caught:
            await fetcher.get("https://news.example/feed")
    assert caught.value.reason == words


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": "120"}, 120),
        ({"Retry-After": " 0 "}, 0),
        ({"Retry-After": "999999"}, 86_400),  # at most a day
        # An HTTP date counts from the response's own Date: the server's clocks agree with each other.
        ({"Retry-After": "Wed, 21 Oct 2099 07:30:00 GMT", "Date": "Wed, 21 Oct 2099 07:28:00 GMT"}, 120),
        ({"Retry-After": "Thursday, 26-Nov-26 07:30:00 GMT", "Date": "Thu, 26 Nov 2026 07:29:00 GMT"}, 60),
        ({"Retry-After": "Wed Oct 21 07:30:00 2099", "Date": "Wed, 21 Oct 2099 07:29:59 GMT"}, 1),
        ({"Retry-After": "Wed, 21 Oct 2099 07:30:00 GMT"}, 90),  # no Date: from the clock
        ({"Retry-After": "Wed, 21 Oct 2099 07:00:00 GMT"}, 0),  # already past
        ({"Retry-After": "Wed, 21 Oct 2099 07:30:00 GMT", "Date": "Tue, 01 Jan 2097 00:00:00 GMT"}, 86_400),
        ({"Retry-After": "<script>"}, None),
        ({"Retry-After": "99999999999999999999"}, None),  # as unreadable as its words say
        ({}, None),
    ],
)
@pytest.mark.parametrize("status", [429, 500, 503])
async def test_retry_after_is_kept_in_seconds(headers: dict[str, str], seconds: float | None, status: int):
    def clock() -> datetime:
        return datetime(2099, 10, 21, 7, 28, 30, tzinfo=UTC)

    handler = lambda request: httpx.Response(status, headers=headers)  # noqa: E731
    async with make_fetcher(handler, clock=clock) as fetcher:
        with pytest.raises(FetchError) as caught:
            await fetcher.get("https://news.example/feed")
    assert caught.value.retry_after == seconds
    assert caught.value.status == status


async def test_gzip_body_is_decompressed():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Encoding": "gzip"}, content=gzip.compress(FEED))

    async with make_fetcher(handler) as fetcher:
        assert (await fetcher.get("https://news.example/feed")).content == FEED


async def test_transport_timeout_is_reported_in_words():
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    async with make_fetcher(handler) as fetcher:
        with pytest.raises(FetchError, match="timed out after 20 s"):
            await fetcher.get("https://news.example/feed")


async def test_credentials_in_urls_never_reach_messages():
    resolve = dns({"news.example": [PUBLIC_ADDRESS], "private.example": ["10.0.0.9"]})

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/missing":
            return httpx.Response(404)
        return httpx.Response(302, headers={"Location": "https://carol:hunter2@private.example/"})

    async with make_fetcher(handler, resolve=resolve) as fetcher:
        errors = []
        for url in (
            "https://alice:s3cret@news.example/missing",
            "https://alice:s3cret@news.example/redirect",
            "https://alice:s3cret@private.example/",
            "ftp://alice:s3cret@files.example/",
        ):
            with pytest.raises(FetchError) as caught:
                await fetcher.get(url)
            errors.append(caught.value)
    for error in errors:
        for secret in ("alice", "s3cret", "carol", "hunter2"):
            assert secret not in str(error)
            assert secret not in error.url


def test_redact_url():
    assert redact_url("https://u:p@news.example:8443/a?b=c") == "https://news.example:8443/a?b=c"
    assert redact_url("https://news.example/a@b") == "https://news.example/a@b"


# ---- a real loopback server ----------------------------------------------------------------


@pytest.fixture
async def loopback() -> AsyncIterator[tuple[str, list[str]]]:
    """A local HTTP server on 127.0.0.1 and a random port; yields its base URL and request log."""
    requests: list[str] = []

    async def feed(request: web.Request) -> web.Response:
        requests.append(request.path)
        if request.headers.get("If-None-Match") == '"feed-v1"':
            return web.Response(status=304, headers={"ETag": '"feed-v1"'})
        return web.Response(
            body=gzip.compress(FEED),
            headers={"Content-Type": "application/rss+xml", "Content-Encoding": "gzip", "ETag": '"feed-v1"'},
        )

    async def moved(request: web.Request) -> web.Response:
        requests.append(request.path)
        raise web.HTTPMovedPermanently("/feed")

    async def drip(request: web.Request) -> web.StreamResponse:
        requests.append(request.path)
        response = web.StreamResponse(headers={"Content-Type": "text/html"})
        await response.prepare(request)
        try:
            for _ in range(100):  # one byte every 50 ms: never idle long enough to trip a read timeout
                await response.write(b"<")
                await asyncio.sleep(0.05)
        except ConnectionError:
            pass  # the client gave up, as it should
        return response

    app = web.Application()
    app.router.add_get("/feed", feed)
    app.router.add_get("/moved", moved)
    app.router.add_get("/drip", drip)
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}", requests
    finally:
        await runner.cleanup()


async def test_loopback_conditional_get_and_redirect(loopback):
    base, requests = loopback
    async with Fetcher(user_agent=USER_AGENT, allow_private_networks=True, host_delay=0) as fetcher:
        first = await fetcher.get(f"{base}/moved")
        second = await fetcher.get(f"{base}/feed", etag=first.etag)
    assert first.url == f"{base}/feed"
    assert first.content == FEED
    assert first.content_type == "application/rss+xml"
    assert second.not_modified and second.content == b""
    assert requests == ["/moved", "/feed", "/feed"]


async def test_loopback_is_refused_by_default(loopback):
    base, requests = loopback
    async with Fetcher(user_agent=USER_AGENT) as fetcher:
        with pytest.raises(RefusedAddressError, match="127.0.0.1 is a loopback address"):
            await fetcher.get(f"{base}/feed")
    assert requests == []


async def test_slow_drip_server_hits_the_overall_deadline(loopback):
    base, _ = loopback
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with Fetcher(user_agent=USER_AGENT, timeout=0.3, allow_private_networks=True, host_delay=0) as fetcher:
        with pytest.raises(FetchError, match=r"timed out after 0\.6 s"):
            await fetcher.get(f"{base}/drip")
    assert loop.time() - started < 2.0


async def test_connection_refused_is_reported_in_words():
    with socket.socket() as probe:  # find a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with Fetcher(user_agent=USER_AGENT, allow_private_networks=True) as fetcher:
        with pytest.raises(FetchError, match="connection refused"):
            await fetcher.get(f"http://127.0.0.1:{port}/feed")


async def test_tls_failure_is_reported_in_words(loopback):
    base, _ = loopback  # a plain-HTTP server spoken to in TLS
    async with Fetcher(user_agent=USER_AGENT, allow_private_networks=True) as fetcher:
        with pytest.raises(FetchError, match="TLS error: "):
            await fetcher.get(base.replace("http://", "https://") + "/feed")


@pytest.mark.parametrize("location", ["http://[::1", "http://news.example:port/"])
async def test_invalid_redirect_location(location: str):
    handler = lambda request: httpx.Response(302, headers={"Location": location})  # noqa: E731
    async with make_fetcher(handler) as fetcher:
        with pytest.raises(FetchError, match="invalid redirect location"):
            await fetcher.get("https://news.example/feed")


# ---- the address guard at connect time -------------------------------------------------------


class Routes:
    """Where the checked addresses go: each public (address, port) to a loopback port.

    Fetcher's `route` seam: the guard resolves and checks as always, and the socket is then
    opened to the loopback server standing for the checked address. `connected` records the
    checked addresses handed to the connection, in order; an address not in `to` goes to a
    closed port, so connecting to it is refused.
    """

    def __init__(self, to: dict[str, int]):
        self.to = to
        self.connected: list[tuple[str, int]] = []
        with socket.socket() as closed:
            closed.bind(("127.0.0.1", 0))
            self.closed_port = closed.getsockname()[1]

    def __call__(self, address: str, port: int) -> tuple[str, int]:
        self.connected.append((address, port))
        return "127.0.0.1", self.to.get(address, self.closed_port)


@pytest.fixture
async def ok_server() -> AsyncIterator[tuple[int, list[str]]]:
    """A loopback server answering every GET with a 2-byte feed; yields its port and the paths asked."""
    paths: list[str] = []

    async def handle(request: web.Request) -> web.Response:
        paths.append(request.path_qs)
        if request.path == "/moved":
            return web.Response(status=302, headers={"Location": "http://intranet.example/admin"})
        return web.Response(body=b"ok", content_type="application/rss+xml")

    async with loopback_server(handle) as base:
        yield int(base.rsplit(":", 1)[1]), paths


async def test_the_connection_goes_to_the_address_that_was_checked(ok_server):
    port, paths = ok_server
    # A rebinding DNS server: a public address for the check, loopback for any later lookup.
    answers = iter([[PUBLIC_ADDRESS], ["127.0.0.1"], ["127.0.0.1"]])
    asked: list[str] = []

    async def rebinding_dns(host: str) -> list[str]:
        asked.append(host)
        return next(answers)

    routes = Routes({PUBLIC_ADDRESS: port})
    async with Fetcher(user_agent=USER_AGENT, route=routes, resolve=rebinding_dns, host_delay=0) as fetcher:
        result = await fetcher.get("http://news.example/feed", robots=False)
    assert result.content == b"ok" and paths == ["/feed"]
    assert asked == ["news.example"]  # resolved once
    assert routes.connected == [(PUBLIC_ADDRESS, 80)]  # and connected to what was checked, not to the name


async def test_the_next_checked_address_is_tried_when_one_does_not_answer(ok_server):
    port, paths = ok_server
    routes = Routes({PUBLIC_ADDRESS: port})  # 2606:4700::1111 goes to a closed port
    resolve = dns({"news.example": ["2606:4700::1111", PUBLIC_ADDRESS]})
    async with Fetcher(user_agent=USER_AGENT, route=routes, resolve=resolve, host_delay=0) as fetcher:
        result = await fetcher.get("http://news.example/feed", robots=False)
    assert result.content == b"ok" and paths == ["/feed"]
    assert routes.connected == [("2606:4700::1111", 80), (PUBLIC_ADDRESS, 80)]


async def test_a_redirect_to_a_private_name_is_refused_at_connect(ok_server):
    port, paths = ok_server
    routes = Routes({PUBLIC_ADDRESS: port})
    resolve = dns({"news.example": [PUBLIC_ADDRESS], "intranet.example": ["10.0.0.5"]})
    async with Fetcher(user_agent=USER_AGENT, route=routes, resolve=resolve, host_delay=0) as fetcher:
        with pytest.raises(RefusedAddressError) as caught:
            await fetcher.get("http://news.example/moved", robots=False)
    assert paths == ["/moved"] and routes.connected == [(PUBLIC_ADDRESS, 80)]
    assert caught.value.url == "http://intranet.example/admin"
    assert caught.value.reason.startswith("refused: intranet.example resolves to 10.0.0.5, a private address")


async def test_unresolvable_host_at_connect_is_a_fetch_error():
    routes = Routes({})
    async with Fetcher(user_agent=USER_AGENT, route=routes, resolve=dns({}), host_delay=0) as fetcher:
        with pytest.raises(FetchError, match="could not resolve host 'nowhere.example'") as caught:
            await fetcher.get("http://nowhere.example/feed", robots=False)
    assert not isinstance(caught.value, RefusedAddressError) and routes.connected == []


async def test_through_a_proxy_the_host_is_checked_before_the_request(loopback, monkeypatch):
    base, requests = loopback
    monkeypatch.setenv("HTTP_PROXY", base)  # the "proxy" would happily forward to loopback
    async with Fetcher(user_agent=USER_AGENT) as fetcher:
        with pytest.raises(RefusedAddressError, match="127.0.0.1 is a loopback address"):
            await fetcher.get(f"{base}/feed")
    assert requests == []


async def test_gzip_bomb_from_a_real_server_stays_within_the_cap_in_memory():
    # 100 MB of zeros in 100 kB of gzip; httpx's own decoder would inflate each 64 kB network
    # read whole (about 64 MB) before the size check could see it.
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    bomb = b"".join(compressor.compress(bytes(1_000_000)) for _ in range(100)) + compressor.flush()

    async def serve(request: web.Request) -> web.Response:
        return web.Response(body=bomb, headers={"Content-Encoding": "gzip", "Content-Type": "application/rss+xml"})

    app = web.Application()
    app.router.add_get("/bomb", serve)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/bomb"
    try:
        async with Fetcher(user_agent=USER_AGENT, allow_private_networks=True, max_bytes=1_000_000,
                           host_delay=0) as fetcher:
            tracemalloc.start()
            try:
                with pytest.raises(FetchError, match=r"larger than 1\.0 MB limit"):
                    await fetcher.get(url)
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
    finally:
        await runner.cleanup()
    assert peak < 3_000_000  # the cap, one inflate step and change; not tens of megabytes


# ---- cookies: kept for one request's redirects, never between requests --------------------


async def test_a_cookie_set_on_a_redirect_is_sent_on_the_next_hop_only():
    seen: list[tuple[str, str | None]] = []

    async def gate(request: web.Request) -> web.Response:
        # A cookie check: the first visit is sent round again with a cookie to show.
        seen.append((request.path, request.headers.get("Cookie")))
        if request.path == "/gate" and request.cookies.get("checked") != "yes":
            response = web.Response(status=302, headers={"Location": "/gate"})
            response.set_cookie("checked", "yes", path="/")
            return response
        return web.Response(body=FEED, content_type="application/rss+xml")

    async with loopback_server(gate) as base:
        async with Fetcher(user_agent=USER_AGENT, allow_private_networks=True, host_delay=0) as fetcher:
            first = await fetcher.get(f"{base}/gate", robots=False)
            second = await fetcher.get(f"{base}/gate", robots=False)
            other = await fetcher.get(f"{base}/other", robots=False)
    assert first.content == second.content == FEED
    # Each request goes round the check itself: nothing is remembered between requests.
    assert seen == [("/gate", None), ("/gate", "checked=yes"), ("/gate", None), ("/gate", "checked=yes"),
                    ("/other", None)]


def test_the_open_file_limit_is_raised_for_idle_connections_but_never_lowered():
    import resource

    from bot.httppool import raise_open_file_limit

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        lower = min(soft, 256)
        resource.setrlimit(resource.RLIMIT_NOFILE, (lower, hard))
        wanted = lower + 100 if hard == resource.RLIM_INFINITY else min(lower + 100, hard)
        assert raise_open_file_limit(wanted) == wanted
        assert resource.getrlimit(resource.RLIMIT_NOFILE) == (wanted, hard)
        assert raise_open_file_limit(lower) == wanted  # a lower wish leaves it as it is
        assert resource.getrlimit(resource.RLIMIT_NOFILE) == (wanted, hard)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
