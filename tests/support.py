"""Test support: a real news site on 127.0.0.1, feeds and pages written for tests, configs."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from html import escape
from pathlib import Path

from aiohttp import web

from bot.config import Config, parse_config

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@asynccontextmanager
async def loopback_server(handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> AsyncIterator[str]:
    """Serve every GET path with `handler` on 127.0.0.1; yields the base URL ("http://127.0.0.1:PORT")."""
    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


@dataclass
class Resource:
    body: bytes
    content_type: str
    status: int = 200


@dataclass
class NewsSite:
    """A small web server with feeds and pages that tests change between polls.

    Answers conditional GETs with 304 when the ETag matches, and records every request path.
    """

    resources: dict[str, Resource] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    base: str = ""

    def put(self, path: str, body: str | bytes, content_type: str = "text/html", status: int = 200) -> str:
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.resources[path] = Resource(data, content_type, status)
        return self.base + path

    def url(self, path: str) -> str:
        return self.base + path

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(request.path_qs)
        resource = self.resources.get(request.path)
        if resource is None:
            return web.Response(status=404, text="not found")
        etag = '"' + hashlib.sha1(resource.body).hexdigest()[:16] + '"'
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(
            body=resource.body, status=resource.status,
            headers={"Content-Type": resource.content_type, "ETag": etag},
        )


def rss(items: list[dict], title: str = "Wire") -> str:
    """An RSS 2.0 document; each item dict has title, link, guid, description, published."""
    parts = []
    for item in items:
        pieces = []
        if "title" in item:
            pieces.append(f"<title>{escape(item['title'])}</title>")
        if "link" in item:
            pieces.append(f"<link>{escape(item['link'])}</link>")
        if "guid" in item:
            pieces.append(f"<guid>{escape(item['guid'])}</guid>")
        if "description" in item:
            pieces.append(f"<description>{escape(item['description'])}</description>")
        if "published" in item:
            pieces.append(f"<pubDate>{format_datetime(item['published'], usegmt=True)}</pubDate>")
        parts.append("<item>" + "".join(pieces) + "</item>")
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>https://wire.test/</link><description>news</description>"
        + "".join(parts)
        + "</channel></rss>"
    )


def article_page(headline: str, paragraphs: list[str], *, lang: str = "en") -> str:
    """A realistic article page: navigation, share bar, body, related links, footer."""
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    return f"""<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">
<title>{escape(headline)} | The Wire</title></head><body>
<header><nav><a href="/">Home</a> <a href="/markets">Markets</a> <a href="/tech">Technology</a></nav></header>
<div class="share">Share on Facebook · Share on X</div>
<article><h1>{escape(headline)}</h1>{body}</article>
<aside><h2>Related stories</h2><ul><li><a href="/x">Markets close higher</a></li></ul></aside>
<footer>© 2026 The Wire. All rights reserved.</footer></body></html>"""


NOW = datetime.now(timezone.utc).replace(microsecond=0)


def hours_ago(hours: float) -> datetime:
    return NOW - timedelta(hours=hours)


def make_config(tmp_path: Path, sources: list[tuple[str, str]], *, backlog: str = "7d",
                watchlists: str | None = None) -> Config:
    """A config for fictional companies, polling `sources` [(name, url)], storing under tmp_path."""
    source_lines = "".join(f"  - name: {name}\n    url: {url}\n    every: 15m\n" for name, url in sources)
    sources_block = f"sources:\n{source_lines}" if sources else "sources: []\n"
    watchlists = watchlists or """\
  - name: rivals
    companies: [Globex, Northwind]
    channels: [console]
  - name: china
    companies: [Initech]
    keywords: [china, 中国]
    channels: [console]
"""
    text = f"""\
storage:
  path: intel.db
fetch:
  allow_private_networks: true
  host_delay: 0s
{sources_block}companies:
  - name: Globex
    aliases: [Globex Corp]
  - name: Northwind
    aliases: [Northwind Robotics, 北风机器人]
  - name: Initech
    aliases: []
watchlists:
{watchlists}alerts:
  backlog: {backlog}
"""
    return parse_config(text, filename="test.yaml", base_dir=tmp_path)


# Stories and configs shared by the chat-adapter tests (Slack, Discord).


def story(site: NewsSite, slug: str, headline: str, paragraphs: list[str], age: float) -> dict:
    link = site.put(f"/news/{slug}.html", article_page(headline, paragraphs))
    return {"title": headline, "link": link, "guid": slug, "description": headline, "published": hours_ago(age)}


# Distinct news about Globex: each story's lead is its own, so none is a copy of another
# (stories whose text differed by a number would rightly be one story, see bot/fingerprint.py).
GLOBEX_NEWS = [
    ("Wrocław", ["The plant will make batteries for electric scooters and employ 400 people.",
                 "Globex has been looking for European sites since its German sales doubled."]),
    ("Lyon", ["Shareholders approved a new dividend policy at the annual meeting on Thursday.",
              "The board also promised to publish emissions figures for every factory twice a year."]),
    ("Porto", ["Twelve thousand scooters were recalled last month after reports of faulty brakes.",
               "Regulators in Lisbon asked for a full report on the recall before the summer."]),
    ("Tampere", ["A local court ordered the company to pay damages to a former supplier.",
                 "Lawyers for the supplier said unpaid invoices dated back to early last year."]),
    ("Brno", ["Researchers there unveiled a solid-state cell that charges in eight minutes.",
              "Mass production of the cell is not expected before the end of the decade."]),
    ("Ghent", ["A ten-year lease was signed for a distribution warehouse outside the city.",
               "City officials said the warehouse would bring two hundred jobs to the harbour area."]),
    ("Graz", ["Union leaders called off a strike after a late-night agreement on wages.",
              "Workers will vote on the agreement in a secret ballot next Tuesday morning."]),
    ("Malmö", ["Swedish investors bought a minority stake in the local subsidiary for cash.",
               "Analysts expect the deal to be approved by competition authorities within weeks."]),
]


def globex_stories(site: NewsSite, count: int) -> list[dict]:
    """Up to eight different Globex stories, newest first ("Globex opens plant number N in Poland")."""
    return [
        story(site, f"globex-{n}", f"Globex opens plant number {n} in Poland",
              [f"Globex Corp said it will open plant number {n} near {city} next year.", *details], 1 + n)
        for n, (city, details) in enumerate(GLOBEX_NEWS[:count])
    ]


def initech_story(site: NewsSite) -> dict:
    return story(site, "initech", "Initech signs a deal in China",
                 ["Initech has signed a distribution agreement with a retailer in Shanghai.",
                  "The deal makes China the software maker's third-largest market, the company said."], 0.5)


def feed_config(tmp_path: Path, site: NewsSite, items: list[dict], *, watchlists: str) -> Config:
    """A config polling one feed of `items` served by `site`."""
    feed = site.put("/feed.xml", rss(items), "application/rss+xml")
    return make_config(tmp_path, [("Wire", feed)], watchlists=watchlists)


async def poll_an_alert_then_a_copy(site: NewsSite, tmp_path: Path, adapters: dict, watchlists: str,
                                    timeout: float = 20) -> tuple[dict, object]:
    """Poll a story from Wire, then (a second poll, same App) its copy from Herald.

    Returns the copy's feed item and the second poll's `DeliveryReport`.
    """
    from bot.app import (
        App,  # here, not at the top: most users of this module need no App
    )

    paragraphs = ["Globex Corp said it will open a battery plant near Wrocław next year.",
                  "The plant will employ 400 people, Globex said."]
    original = story(site, "wire-globex", "Globex opens a battery plant in Poland", paragraphs, 2)
    feeds = {name: site.put(f"/{name}.xml", rss([]), "application/rss+xml") for name in ("wire", "herald")}
    site.put("/wire.xml", rss([original]), "application/rss+xml")
    config = make_config(tmp_path, [("Wire", feeds["wire"]), ("Herald", feeds["herald"])], watchlists=watchlists,
                         backlog="7d")
    async with App(config, adapters, extractor_processes=False) as app:
        await asyncio.wait_for(app.poll_once(), timeout)
        copy = story(site, "herald-globex", "Globex opens a battery plant in Poland", paragraphs, 1)
        site.put("/herald.xml", rss([copy]), "application/rss+xml")
        _, delivery = await asyncio.wait_for(app.poll_once(), timeout)
    return copy, delivery

