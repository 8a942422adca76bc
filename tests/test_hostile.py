"""Hostile sources through the real pipeline: bombs, drips, lies and junk from a loopback server.

Every case polls two sources with a real App (console adapter): the hostile one and a healthy
wire with a Globex story. Each asserts that the poll returned (the bot keeps running), the
healthy story was alerted (other sources keep working), the hostile source stored nothing it
should not (nothing half-stored), and its recorded state says why it failed; odd feeds that can
be read (wrong charsets, duplicate guids, dates from the future) must give the right text.

The address guard is tested on the Fetcher itself, since the loopback server that every other
case needs is exactly what the guard refuses.
"""

from __future__ import annotations

import asyncio
import gzip
import io
import json
import socket
import sqlite3
import struct
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import unquote_plus, urlsplit

import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.console import ConsoleAdapter
from bot.app import App
from bot.config import Config
from bot.errors import FeedError, FetchError, RefusedAddressError
from bot.feeds import MAX_ENTRIES, MAX_TITLE_CHARS, canonical_url, parse_feed
from bot.fetch import Fetcher
from bot.models import SourceState
from bot.store import Store
from tests.support import article_page, hours_ago, make_config, rss

CASE_TIMEOUT = 20  # seconds: a case that hangs fails instead of stalling the suite
MEGABYTE = 1_000_000
GLOBEX_HEADLINE = "Globex opens a battery plant in Poland"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


# ---- a misbehaving web server -----------------------------------------------------------------


@dataclass
class HostileSite:
    """A loopback server whose routes misbehave on purpose; serves the healthy wire as well."""

    base: str = ""
    routes: dict[str, Handler] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    def route(self, path: str, handler: Handler) -> str:
        self.routes[path] = handler
        return self.base + path

    def serve(self, path: str, body: bytes | str, content_type: str = "application/rss+xml",
              status: int = 200, headers: dict[str, str] | None = None) -> str:
        data = body.encode("utf-8") if isinstance(body, str) else body

        async def handler(request: web.Request) -> web.Response:
            return web.Response(body=data, status=status,
                                headers={"Content-Type": content_type, **(headers or {})})

        return self.route(path, handler)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(request.path)
        handler = self.routes.get(request.path)
        if handler is None:
            return web.Response(status=404, text="not found")
        return await handler(request)


@pytest.fixture
async def site() -> AsyncIterator[HostileSite]:
    hostile = HostileSite()
    app = web.Application()
    app.router.add_get("/{tail:.*}", hostile.handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    tcp = web.TCPSite(runner, "127.0.0.1", 0)
    await tcp.start()
    hostile.base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield hostile
    await runner.cleanup()


async def stream(request: web.Request, chunks: Callable[[], AsyncIterator[bytes]],
                 headers: dict[str, str] | None = None) -> web.StreamResponse:
    """Send `chunks` as a chunked body until they end or the client hangs up."""
    response = web.StreamResponse(headers={"Content-Type": "application/rss+xml", **(headers or {})})
    await response.prepare(request)
    try:
        async for chunk in chunks():
            await response.write(chunk)
    except ConnectionError:
        pass  # the client gave up, as it should
    return response


def reset_connection(request: web.Request) -> None:
    """Close the client's connection with a TCP reset (SO_LINGER 0) instead of a clean FIN."""
    sock = request.transport.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    request.transport.close()


def gzip_bomb(size: int, *, raw_deflate: bool = False) -> bytes:
    """`size` zero bytes, compressed (about 1000:1)."""
    wbits = -zlib.MAX_WBITS if raw_deflate else 16 + zlib.MAX_WBITS
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    block = bytes(MEGABYTE)
    return b"".join(compressor.compress(block) for _ in range(size // MEGABYTE)) + compressor.flush()


# ---- one poll of a hostile source next to a healthy one ---------------------------------------


@dataclass
class Outcome:
    hostile: SourceState
    healthy: SourceState
    alerts: list[dict]
    stored: list[tuple[str, str, str, int]]  # the hostile source's articles: url, title, text, published
    database: Path

    def assert_failed_with(self, *words: str) -> None:
        """The hostile poll failed, said why, and stored nothing; the healthy one alerted."""
        assert self.hostile.last_error is not None, "the hostile source should have failed"
        for word in words:
            assert word in self.hostile.last_error
        assert self.hostile.failures == 1 and self.hostile.polls == 0
        assert self.stored == []
        self.assert_healthy_went_out()

    def assert_healthy_went_out(self) -> None:
        assert self.healthy.last_error is None and self.healthy.polls == 1
        assert GLOBEX_HEADLINE in [alert["title"] for alert in self.alerts]

    def assert_worked(self) -> None:
        assert self.hostile.last_error is None and self.hostile.polls == 1
        self.assert_healthy_went_out()

    def titles(self) -> list[str]:
        return [title for _url, title, _text, _published in self.stored]


async def poll_next_to_wire(site: HostileSite, tmp_path: Path, hostile_url: str, **fetch) -> Outcome:
    """Poll the hostile source and a healthy wire once, with `fetch` settings changed.

    Both sources live on one loopback host, so its per-host delay is lifted: the cases are
    about what a server sends, not about how often intelbot asks (tests/test_polite.py).
    """
    fetch.setdefault("host_delay", timedelta(0))
    page = site.serve("/news/globex.html", article_page(GLOBEX_HEADLINE, [
        "Globex Corp said it will open a battery plant near Wrocław next year.",
        "The plant will employ 400 people, Globex said on Monday."]), "text/html")
    wire = site.serve("/wire.xml", rss([{"title": GLOBEX_HEADLINE, "link": page, "guid": "wire-1",
                                         "description": "Globex builds a plant.", "published": hours_ago(1)}]))
    config = make_config(tmp_path, [("Hostile", hostile_url), ("Wire", wire)])
    if fetch:
        config = config.model_copy(update={"fetch": config.fetch.model_copy(update=fetch)})
    out = io.StringIO()
    async with App(config, {"console": ConsoleAdapter(out, json_lines=True)}, extractor_processes=False) as app:
        await asyncio.wait_for(app.poll_once(), CASE_TIMEOUT)
    return outcome(config, out, hostile_url, wire)


def outcome(config: Config, out: io.StringIO, hostile_url: str, wire_url: str) -> Outcome:
    with Store(config.storage.path) as store:
        hostile = store.source_state("Hostile", hostile_url)
        healthy = store.source_state("Wire", wire_url)
    with sqlite3.connect(config.storage.path) as db:
        stored = db.execute("SELECT url, title, text, published FROM articles WHERE source = 'Hostile'"
                            " ORDER BY id").fetchall()
    alerts = [json.loads(line) for line in out.getvalue().splitlines()]
    return Outcome(hostile, healthy, alerts, stored, Path(config.storage.path))


def items(count: int, *, start: int = 0, link: str = "/story") -> str:
    return rss([{"title": f"Story {n}", "link": f"{link}/{n}", "guid": f"story-{n}",
                 "published": hours_ago(1 + n / 1000)} for n in range(start, start + count)])


# ---- size: bombs, endless bodies, huge documents -----------------------------------------------


async def test_gzip_bomb(site, tmp_path):
    url = site.serve("/bomb.xml", gzip_bomb(50 * MEGABYTE), headers={"Content-Encoding": "gzip"})
    result = await poll_next_to_wire(site, tmp_path, url, max_bytes=MEGABYTE)
    result.assert_failed_with("response larger than 1.0 MB limit")


async def test_raw_deflate_bomb(site, tmp_path):
    url = site.serve("/bomb.xml", gzip_bomb(50 * MEGABYTE, raw_deflate=True), headers={"Content-Encoding": "deflate"})
    result = await poll_next_to_wire(site, tmp_path, url, max_bytes=MEGABYTE)
    result.assert_failed_with("response larger than 1.0 MB limit")


async def test_endless_chunked_body(site, tmp_path):
    async def forever() -> AsyncIterator[bytes]:
        yield b'<?xml version="1.0"?><rss version="2.0"><channel>'
        for _ in range(100_000):  # 6.5 GB if nobody stopped reading
            yield b"<item><title>again</title></item>" * 2000

    url = site.route("/endless.xml", lambda request: stream(request, forever))
    result = await poll_next_to_wire(site, tmp_path, url, max_bytes=MEGABYTE)
    result.assert_failed_with("response larger than 1.0 MB limit")


async def test_ten_megabyte_headline(site, tmp_path):
    url = site.serve("/headline.xml", rss([{"title": "Globex " * 1_500_000, "link": "/a"}]))
    result = await poll_next_to_wire(site, tmp_path, url)  # the default cap: 5 MB
    result.assert_failed_with("response larger than 5.0 MB limit")


async def test_one_megabyte_headline_under_the_cap_is_cut(site, tmp_path):
    url = site.serve("/headline.xml", rss([{"title": "Globex " * 150_000, "link": "/a",
                                            "published": hours_ago(2)}]))
    result = await poll_next_to_wire(site, tmp_path, url)
    result.assert_worked()
    (title,) = result.titles()
    assert len(title) <= MAX_TITLE_CHARS and title.startswith("Globex Globex")


async def test_feed_with_fifty_thousand_items_keeps_the_newest(site, tmp_path):
    document = items(50_000)  # newest first, as feeds list them
    assert len(document) > 5 * MEGABYTE
    url = site.serve("/huge.xml", document)
    result = await poll_next_to_wire(site, tmp_path, url, max_bytes=20 * MEGABYTE)
    result.assert_worked()
    assert len(result.stored) == MAX_ENTRIES
    assert set(result.titles()) == {f"Story {n}" for n in range(MAX_ENTRIES)}


async def test_json_feed_with_fifty_thousand_items_keeps_the_first(site, tmp_path):
    document = {"version": "https://jsonfeed.org/version/1.1", "title": "Flood",
                "items": [{"id": str(n), "url": f"/j/{n}", "title": f"Item {n}"}
                          for n in range(50_000)]}
    url = site.serve("/huge.json", json.dumps(document), "application/feed+json")
    result = await poll_next_to_wire(site, tmp_path, url, max_bytes=20 * MEGABYTE)
    result.assert_worked()
    assert len(result.stored) == MAX_ENTRIES


# ---- time: drips, stalls and servers that never finish --------------------------------------


async def test_slow_drip_slower_than_the_read_timeout(site, tmp_path):
    async def drip() -> AsyncIterator[bytes]:
        yield b'<?xml version="1.0"?>'
        await asyncio.sleep(5)  # silence far longer than the 0.3 s read timeout
        yield b"<rss/>"

    url = site.route("/drip.xml", lambda request: stream(request, drip))
    result = await poll_next_to_wire(site, tmp_path, url, timeout=timedelta(seconds=0.3))
    result.assert_failed_with("timed out after 0.3 s")


async def test_drip_that_never_ends_hits_the_deadline(site, tmp_path):
    async def drip() -> AsyncIterator[bytes]:
        for _ in range(1000):  # a byte every 50 ms: never idle long enough for the read timeout
            yield b" "
            await asyncio.sleep(0.05)

    url = site.route("/drip.xml", lambda request: stream(request, drip))
    result = await poll_next_to_wire(site, tmp_path, url, timeout=timedelta(seconds=0.3))
    result.assert_failed_with("timed out after 0.6 s")


async def test_server_that_never_answers(site, tmp_path):
    async def silent(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.Response(text="too late")

    url = site.route("/silent.xml", silent)
    result = await poll_next_to_wire(site, tmp_path, url, timeout=timedelta(seconds=0.3))
    result.assert_failed_with("timed out after 0.3 s")


# ---- the wire: encodings, protocol errors, resets, TLS -------------------------------------------


async def test_brotli_without_a_brotli_decoder(site, tmp_path):
    url = site.serve("/br.xml", b"\x1b\x03\x00\xf8\xa5\x9f", headers={"Content-Encoding": "br"})
    result = await poll_next_to_wire(site, tmp_path, url)
    result.assert_failed_with("unsupported Content-Encoding 'br'")


async def test_corrupt_gzip(site, tmp_path):
    url = site.serve("/bad.xml.gz", b"\x1f\x8b\x08\x00garbage, not deflate" * 10, headers={"Content-Encoding": "gzip"})
    result = await poll_next_to_wire(site, tmp_path, url)
    result.assert_failed_with("could not decode the response body")


async def test_connection_reset(site, tmp_path):
    async def reset(request: web.Request) -> web.Response:
        reset_connection(request)
        return web.Response(text="never sent")

    url = site.route("/reset.xml", reset)
    result = await poll_next_to_wire(site, tmp_path, url)
    result.assert_failed_with("connection")


async def test_connection_reset_in_the_middle_of_the_body(site, tmp_path):
    async def reset(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
        await response.prepare(request)
        await response.write(b'<?xml version="1.0"?><rss version="2.0"><channel><item><title>Half')
        reset_connection(request)
        return response

    url = site.route("/reset.xml", reset)
    result = await poll_next_to_wire(site, tmp_path, url)
    result.assert_failed_with("connection")


async def test_body_shorter_than_its_content_length(site, tmp_path):
    async def short(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/rss+xml", "Content-Length": "5000"})
        await response.prepare(request)
        await response.write(b'<?xml version="1.0"?><rss version="2.0">')
        request.transport.close()
        return response

    url = site.route("/short.xml", short)
    result = await poll_next_to_wire(site, tmp_path, url)
    result.assert_failed_with("the server broke the HTTP protocol")


async def test_tls_spoken_to_a_plain_http_port(site, tmp_path):
    url = site.serve("/feed.xml", items(1)).replace("http://", "https://")
    result = await poll_next_to_wire(site, tmp_path, url)
    result.assert_failed_with("TLS error: ")


async def test_redirect_loop(site, tmp_path):
    async def loop(request: web.Request) -> web.Response:
        raise web.HTTPFound("/loop.xml")

    url = site.route("/loop.xml", loop)
    result = await poll_next_to_wire(site, tmp_path, url)
    result.assert_failed_with("too many redirects (more than 5)")
    assert site.requests.count("/loop.xml") == 6


@pytest.mark.parametrize(
    ("status", "retry_after", "words"),
    [
        (404, None, "HTTP 404 Not Found"),
        (410, None, "HTTP 410 Gone"),
        (500, "30", "HTTP 500 Internal Server Error, retry after 30 s"),
        (503, "120", "HTTP 503 Service Unavailable, retry after 120 s"),
        (503, "Wed, 21 Oct 2099 07:28:00 GMT", "HTTP 503 Service Unavailable, retry after 2099-10-21 07:28:00 UTC"),
        (429, "soon, maybe", "HTTP 429 Too Many Requests ("),  # an unreadable Retry-After is left out
    ],
)
async def test_error_status_with_retry_after(site, tmp_path, status, retry_after, words):
    headers = {"Retry-After": retry_after} if retry_after else {}
    url = site.serve("/status.xml", "<html>try later</html>", "text/html", status=status, headers=headers)
    result = await poll_next_to_wire(site, tmp_path, url)
    result.assert_failed_with(words)


# ---- bodies that are not what they claim ----------------------------------------------------------


async def test_empty_body(site, tmp_path):
    url = site.serve("/empty.xml", b"")
    result = await poll_next_to_wire(site, tmp_path, url)
    result.assert_failed_with("the document is empty")


async def test_binary_body(site, tmp_path):
    url = site.serve("/feed.xml", bytes(range(256)) * 100, "application/octet-stream")
    result = await poll_next_to_wire(site, tmp_path, url)
    result.assert_failed_with("neither XML nor JSON")


async def test_html_served_as_a_feed(site, tmp_path):
    url = site.serve("/feed.xml", article_page("Please log in", ["Subscribers only."]), "application/rss+xml")
    result = await poll_next_to_wire(site, tmp_path, url)
    result.assert_failed_with("not a feed: the document is an HTML page")


async def test_truncated_before_the_first_item(site, tmp_path):
    url = site.serve("/cut.xml", items(3)[:120])
    result = await poll_next_to_wire(site, tmp_path, url)
    result.assert_failed_with("not a readable feed: the XML is not well-formed")


async def test_truncated_in_the_middle_of_an_item_keeps_the_whole_ones(site, tmp_path):
    document = items(3)
    cut = document.index("<title>Story 1</title>") + len("<title>Sto")
    url = site.serve("/cut.xml", document[:cut])
    result = await poll_next_to_wire(site, tmp_path, url)
    result.assert_worked()
    assert result.titles() == ["Story 0"]  # the half item has no link: nothing of it stored


async def test_deeply_nested_json_feed(site, tmp_path):
    body = '{"version": "https://jsonfeed.org/version/1.1", "items": ' + "[" * 100_000 + "]" * 100_000 + "}"
    url = site.serve("/deep.json", body, "application/feed+json")
    result = await poll_next_to_wire(site, tmp_path, url)
    result.assert_failed_with("invalid JSON Feed: nested too deeply")


# ---- XML entities ------------------------------------------------------------------------------

LAUGHS = "".join(f'<!ENTITY lol{n} "' + f"&lol{n - 1};" * 10 + '">\n' for n in range(1, 10))
BILLION_LAUGHS = f"""<?xml version="1.0"?>
<!DOCTYPE rss [
<!ENTITY lol0 "lol">
{LAUGHS}]>
<rss version="2.0"><channel><title>t</title>
<item><title>&lol9;</title><link>/lol</link></item></channel></rss>"""


def external_entity(declaration: str) -> str:
    return f"""<?xml version="1.0"?>{declaration}
<rss version="2.0"><channel><title>t</title><item><title>Globex &xxe; leak</title>
<link>/xxe</link><description>&xxe;</description></item></channel></rss>"""


async def test_billion_laughs(site, tmp_path):
    url = site.serve("/lol.xml", BILLION_LAUGHS)
    result = await poll_next_to_wire(site, tmp_path, url)
    result.assert_failed_with("refused: the feed declares the XML entity 'lol0'", "XML bombs")


async def test_billion_laughs_in_utf16(site, tmp_path):
    url = site.serve("/lol.xml", BILLION_LAUGHS.replace('"1.0"?>', '"1.0" encoding="utf-16"?>').encode("utf-16"))
    result = await poll_next_to_wire(site, tmp_path, url)
    result.assert_failed_with("refused: the feed declares the XML entity")


async def test_quadratic_blowup(site, tmp_path):
    # One plain-text entity of 100 kB used 50,000 times: feedparser keeps such "safe" entities.
    body = ('<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY a "' + "A" * 100_000 + '">\n]>\n'
            '<rss version="2.0"><channel><item><title>' + "&a;" * 50_000 +
            "</title><link>/a</link></item></channel></rss>")
    url = site.serve("/quadratic.xml", body)
    result = await poll_next_to_wire(site, tmp_path, url)
    result.assert_failed_with("refused: the feed declares the XML entity 'a'")


@pytest.mark.parametrize(
    "declaration",
    [
        '\n<!DOCTYPE rss [\n<!ENTITY xxe SYSTEM "file:///etc/passwd">\n]>',
        '<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',  # one line: feedparser's filter misses it
        '\n<!DOCTYPE rss [\n<!ENTITY % remote SYSTEM "file:///etc/passwd">\n%remote;\n]>',
        # "<x" inside a value ends feedparser's idea of the prologue early
        '<!DOCTYPE rss [<!ENTITY trick "<b>"><!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
    ],
)
async def test_external_entity_never_reads_local_files(site, tmp_path, declaration):
    url = site.serve("/xxe.xml", external_entity(declaration))
    result = await poll_next_to_wire(site, tmp_path, url)
    result.assert_failed_with("refused: the feed declares")
    with sqlite3.connect(result.database) as db:
        everything = "\n".join(db.iterdump())
    assert "root:" not in everything and "/bin/" not in everything


async def test_single_character_entities_are_still_read(site, tmp_path):
    body = ('<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY nbsp "&#160;"><!ENTITY eacute "&#xE9;">]>'
            '<rss version="2.0"><channel><item><title>Caf&eacute;&nbsp;Globex</title>'
            f'<link>/cafe</link><pubDate>{format_datetime(hours_ago(2), usegmt=True)}</pubDate>'
            "</item></channel></rss>")
    url = site.serve("/chars.xml", body)
    result = await poll_next_to_wire(site, tmp_path, url)
    result.assert_worked()
    assert result.titles() == ["Café Globex"]


# ---- character sets that lie -----------------------------------------------------------------

NORTHWIND_ZH = "北风机器人在中国开设新工厂"


def chinese_feed(declared: str) -> str:
    return (f'<?xml version="1.0" encoding="{declared}"?><rss version="2.0"><channel><title>新闻</title>'
            f"<item><title>{NORTHWIND_ZH}</title><link>/zh/1</link>"
            "<description>北风机器人周一表示，新工厂将雇用四百名员工。这是该公司在中国的第三家工厂。</description>"
            f"<pubDate>{format_datetime(hours_ago(2), usegmt=True)}</pubDate></item></channel></rss>")


async def test_gbk_feed_that_claims_to_be_utf8(site, tmp_path):
    url = site.serve("/zh.xml", chinese_feed("utf-8").encode("gbk"), "application/rss+xml; charset=utf-8")
    result = await poll_next_to_wire(site, tmp_path, url)
    result.assert_worked()
    assert result.titles() == [NORTHWIND_ZH]
    assert NORTHWIND_ZH in [alert["title"] for alert in result.alerts]  # matched: 北风机器人


async def test_windows_1252_feed_that_claims_to_be_utf8(site, tmp_path):
    title = "Globex’s “new” plant – café in Lyon"
    body = rss([{"title": title, "link": "/fr/1", "published": hours_ago(2)}])
    url = site.serve("/fr.xml", body.encode("windows-1252"), "application/rss+xml; charset=utf-8")
    result = await poll_next_to_wire(site, tmp_path, url)
    result.assert_worked()
    assert result.titles() == [title]


async def test_utf8_feed_that_claims_to_be_latin1(site, tmp_path):
    title = "Globex: Société Générique rachète l’usine à Zürich"
    body = rss([{"title": title, "link": "/fr/2", "published": hours_ago(2)}])
    url = site.serve("/fr.xml", body.replace("utf-8", "iso-8859-1"), "text/xml; charset=iso-8859-1")
    result = await poll_next_to_wire(site, tmp_path, url)
    result.assert_worked()
    assert result.titles() == [title]


async def test_invalid_utf8_bytes_cost_only_themselves(site, tmp_path):
    title = "Globex ouvre une usine à Lyon, près de la gare XX"
    good = rss([{"title": title, "link": "/fr/3", "published": hours_ago(2),
                 "description": "Le député a annoncé l’accord à Genève."}]).encode("utf-8")
    url = site.serve("/fr.xml", good.replace(b"XX", b"\xff"), "application/rss+xml; charset=utf-8")
    result = await poll_next_to_wire(site, tmp_path, url)
    result.assert_worked()
    assert result.titles() == [title.replace("XX", "\ufffd")]


async def test_absurd_charset_label(site, tmp_path):
    # Python's punycode codec is quadratic: decoding 2 MB with it would take hours.
    body = items(1).replace("Story 0", "abc-" + "a" * 2_000_000)
    url = site.serve("/feed.xml", body, "application/rss+xml; charset=punycode")
    result = await poll_next_to_wire(site, tmp_path, url)
    result.assert_worked()
    assert len(result.stored) == 1


# ---- entries that are odd but readable ------------------------------------------------------------


async def test_duplicate_guids_are_stored_once(site, tmp_path):
    body = rss([{"title": f"Globex story, take {n}", "link": f"/dup/{n}", "guid": "same-guid",
                 "published": hours_ago(2)} for n in range(3)])
    url = site.serve("/dup.xml", body)
    result = await poll_next_to_wire(site, tmp_path, url)
    result.assert_worked()
    assert result.titles() == ["Globex story, take 0"]


async def test_dates_in_the_future_are_not_believed(site, tmp_path):
    future = datetime.now(timezone.utc) + timedelta(days=3650)
    body = rss([{"title": "From the future", "link": "/future", "published": future}])
    url = site.serve("/future.xml", body)
    result = await poll_next_to_wire(site, tmp_path, url)
    result.assert_worked()
    ((_url, _title, _text, published),) = result.stored
    assert published <= datetime.now(timezone.utc).timestamp() + 60


async def test_no_dates_at_all(site, tmp_path):
    body = rss([{"title": f"Undated Globex story {n}", "link": f"/undated/{n}"} for n in range(3)])
    url = site.serve("/undated.xml", body)
    result = await poll_next_to_wire(site, tmp_path, url)
    result.assert_worked()
    assert len(result.stored) == 3
    assert all(published > 0 for *_rest, published in result.stored)


# ---- the address guard, on the Fetcher ---------------------------------------------------------


@pytest.fixture
async def loopback() -> AsyncIterator[tuple[int, list[str]]]:
    """A server on 127.0.0.1 that answers everything; yields its port and request log."""
    requests: list[str] = []

    async def answer(request: web.Request) -> web.Response:
        requests.append(request.path)
        return web.Response(text="<rss version='2.0'><channel/></rss>")

    app = web.Application()
    app.router.add_get("/{tail:.*}", answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    tcp = web.TCPSite(runner, "127.0.0.1", 0)
    await tcp.start()
    yield runner.addresses[0][1], requests
    await runner.cleanup()


@pytest.mark.parametrize(
    ("template", "words"),
    [
        ("http://127.0.0.1:{port}/feed", "127.0.0.1 is a loopback address"),
        ("http://[::1]:{port}/feed", "::1 is a loopback address"),
        ("http://2130706433:{port}/feed", "2130706433 resolves to 127.0.0.1, a loopback address"),
        ("http://0x7f.1:{port}/feed", "resolves to 127.0.0.1, a loopback address"),
        ("http://127.1:{port}/feed", "resolves to 127.0.0.1, a loopback address"),
        ("http://0177.0.0.1:{port}/feed", "invalid URL"),  # httpx refuses to parse the octal spelling
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
        ("http://[::ffff:127.0.0.1]:{port}/feed", "an IPv4-mapped IPv6 address of 127.0.0.1"),
        ("http://[::ffff:169.254.169.254]/", "an IPv4-mapped IPv6 address of 169.254.169.254"),
        ("http://0.0.0.0:{port}/feed", "0.0.0.0 is an unspecified address"),
        ("http://localhost:{port}/feed", "localhost resolves to"),
    ],
)
async def test_private_addresses_are_refused_before_a_byte_is_sent(loopback, template, words):
    port, requests = loopback
    async with Fetcher(user_agent="intelbot-tests", timeout=2) as fetcher:
        with pytest.raises(FetchError) as caught:
            await fetcher.get(template.format(port=port))
    assert words in caught.value.reason
    assert requests == []


async def test_a_name_that_resolves_to_loopback_is_refused_at_connect(loopback):
    port, requests = loopback

    async def dns(host: str) -> list[str]:
        return ["127.0.0.1"]

    async with Fetcher(user_agent="intelbot-tests", resolve=dns) as fetcher:
        with pytest.raises(RefusedAddressError, match="news.example resolves to 127.0.0.1, a loopback"):
            await fetcher.get(f"http://news.example:{port}/feed")
    assert requests == []


async def test_the_guard_can_be_turned_off(loopback):
    port, requests = loopback
    async with Fetcher(user_agent="intelbot-tests", allow_private_networks=True, host_delay=0) as fetcher:
        result = await fetcher.get(f"http://localhost:{port}/feed")
    assert result.status == 200 and requests == ["/robots.txt", "/feed"]  # robots.txt first, then the feed


# ---- properties: canonical URLs and feed entries --------------------------------------------------

URL_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
HOSTS = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,18}[a-z0-9])?(\.[a-z]{2,6})?", fullmatch=True)
QUERIES = st.lists(
    st.sampled_from(["utm_source=rss", "UTM_Medium=x", "%75tm_term=y", "id=7", "q=caf%c3%a9", "a", "", "fbclid=1",
                     "b=%zz", "x=a+b", "ref=utm_source"]),
    max_size=5,
).map(lambda parameters: "?" + "&".join(parameters) if parameters else "")
BUILT_URLS = st.builds(
    lambda scheme, host, port, path, query, fragment: f"{scheme}://{host}{port}{path}{query}{fragment}",
    st.sampled_from(["http", "HTTPS", "https", "Http", "ftp", "javascript", ""]),
    st.one_of(HOSTS, st.sampled_from(["[::1]", "[2001:DB8::1]", "Bücher.Example", "a..b", "[", "user:pw@host.example"])),
    st.sampled_from(["", ":80", ":443", ":8080", ":0", ":99999", ":x"]),
    URL_TEXT.map(lambda text: "/" + text),
    QUERIES,
    st.sampled_from(["", "#", "#top"]),
)


@settings(max_examples=500, deadline=None)
@given(st.one_of(URL_TEXT, BUILT_URLS), st.one_of(st.none(), st.just("https://wire.example/feed/"), URL_TEXT))
def test_canonical_url_never_raises_and_is_idempotent(url: str, base: str | None):
    once = canonical_url(url, base)
    assert isinstance(once, str)
    assert canonical_url(once) == once
    if once:
        parts = urlsplit(once)
        assert parts.scheme in ("http", "https") and parts.hostname
        assert parts.fragment == "" and "@" not in parts.netloc
        names = [unquote_plus(parameter.split("=", 1)[0]).lower() for parameter in parts.query.split("&") if parameter]
        assert not any(name.startswith("utm_") for name in names)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["http", "HTTP", "Http", "https", "HTTPS"]), HOSTS, st.randoms(), URL_TEXT, QUERIES)
def test_canonical_url_keeps_scheme_and_host_whatever_their_case(scheme, host, random, path, query):
    shuffled = "".join(char.upper() if random.random() < 0.5 else char for char in host)
    once = canonical_url(f"{scheme}://{shuffled}/{path}{query}")
    assert once.startswith(f"{scheme.lower()}://{host.rstrip('.')}/")
    assert once == canonical_url(f"{scheme.lower()}://{host}/{path}{query}")


FEED_PIECES = st.sampled_from([
    b"<?xml version='1.0' encoding='utf-8'?>", b"<?xml version='1.0' encoding='gbk'?>", b"<rss version='2.0'>",
    b"<channel>", b"<item>", b"</item>", b"<title>", b"</title>", b"<link>", b"</link>", b"<guid>", b"</guid>",
    b"<entry>", b"<feed xmlns='http://www.w3.org/2005/Atom'>", b"<link href='/x'/>", b"<pubDate>", b"</pubDate>",
    b"Tue, 05 Mar 2024 08:00:00 GMT", b"9999-99-99", b"Globex", b"\xe4\xb8\xad", b"\xff", b"&amp;", b"&lt;b&gt;",
    b"&nbsp;", b"&undefined;", b"<![CDATA[<p>x</p>]]>", b"<!DOCTYPE rss>", b"<!ENTITY x 'y'>", b"javascript:1",
    b"https://wire.example/a?utm_source=1", b"{", b'"items": [', b"\x00", b"\xef\xbb\xbf", b"\xff\xfe",
])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=300), st.lists(FEED_PIECES, max_size=30).map(b"".join)),
       st.sampled_from([None, "application/rss+xml", "text/html", "application/feed+json", "text/xml"]),
       st.sampled_from([None, "utf-8", "iso-8859-1", "gbk", "utf-16", "nonsense", "punycode"]))
def test_parse_feed_never_raises_anything_but_feed_error(content: bytes, content_type: str | None,
                                                        charset: str | None):
    try:
        entries = parse_feed(content, source="fuzz", url="https://wire.example/feed",
                             content_type=content_type, charset=charset)
    except FeedError as error:
        assert str(error)
        return
    for entry in entries or []:
        assert isinstance(entry.url, str) and isinstance(entry.title, str) and isinstance(entry.link, str)
        assert entry.url == "" or entry.url == canonical_url(entry.url)
        assert entry.title or entry.link
        assert len(entry.title) <= MAX_TITLE_CHARS


def test_gzip_helper_builds_a_real_bomb():
    bomb = gzip_bomb(20 * MEGABYTE)
    assert len(bomb) < 50_000 and len(gzip.decompress(bomb)) == 20 * MEGABYTE
