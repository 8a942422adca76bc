"""Ingest throughput end to end: a cold and a warm poll of many feeds served from 127.0.0.1.

    .venv/bin/python bench/ingest.py [--feeds 1000] [--entries 20] [--seed 1] [--at-once N] [--profile-warm]

A loopback aiohttp server, in a process of its own (so that serving does not compete with the bot's
event loop for the GIL), serves --feeds RSS feeds of --entries items each and one article page per
item. Outlets, companies and stories are fictional and generated from --seed: ~5 KB of prose per
story (English function and news words mixed with pseudo-words, Zipf-like, so no two pages are
alike and trafilatura does real work) in a page with what news sites put around it: metadata and
JSON-LD in the head, a cookie banner, header and nav, breadcrumbs, two share bars, byline, figure,
an advertisement slot, a "read more" link, related stories, a newsletter box and a footer. About a
third of the stories name one or two of six tracked companies (in the title for some), and 3% are
syndicated copies of another outlet's story, so matching, story merging, storage and delivery all
have work. Feeds send ETag and Last-Modified and answer 304 to a matching If-None-Match (or,
without one, to an If-Modified-Since not older than Last-Modified): bot/fetch.py sends both.

The config is built in code (bot.config.parse_config): one source per feed, the companies, three
watchlists to `console` (a ConsoleAdapter writing to an io.StringIO), fetch.allow_private_networks,
fetch.per_host 16 and host_delay 0s (one loopback host stands for 1,000 publishers),
storage in a temporary folder and alerts.backlog 1d, so the day's stories are alerted and delivered.

Measured in one run, in this order:
  bare   trafilatura.extract of the same pages with bot/extract.py's options (with_metadata,
         favor_precision, no comments, no tables, markup-only dates) on ProcessPoolExecutor(2),
         from a process of its own: pages/s, pool start-up included
  cold   App.poll_once() on an empty store, App(extractor_processes=True) (the Extractor's default
         is 2 worker processes), then again (up to 3 catch-up polls) while some source has never been
         read, since a warm poll needs every source read once: stories/s end to end (poll_once from
         call to return, delivery included) over these polls, and its ratio to bare. Meanwhile a
         task sleeping 5 ms in a loop records how late it wakes (the longest event-loop stall), and a
         watchdog thread samples what the loop runs every 10 ms of a stall of 50 ms or more
  warm   App.poll_once() again, every feed answering 304: the median of 3, in seconds per 1,000
         sources (--profile-warm adds one more under cProfile and prints where the time goes)
  memory peak RSS of the bot: the main process's ru_maxrss plus the VmHWM (/proc/PID/status) of
         its extraction processes. getrusage(RUSAGE_CHILDREN) cannot see those: the workers are
         children of the multiprocessing fork server, which reaps them itself and lives until the
         interpreter exits; its figure is printed for reference.
CPU seconds of every process over the cold polls are printed too, to show where the two cores went
("main" is the event loop and the pipeline's worker thread, which parses feeds and matches and
stores articles; the stall samples see only the loop, which is what a stall holds up).
--at-once N polls through the App's pipeline N sources at a time instead of App.poll_once(), all at
once (a what-if: how the rest of the bot fares when the HTTP client's queue stays short).

Targets on the 2-core benchmark machine: ratio >= 0.9, warm poll of 1,000 sources <= 2 s, longest
loop stall <= 100 ms. A full run (1,000 x 20) takes about 7 minutes; --feeds 100 under a minute.
The CPU per story of each part is printed with the ratio the two cores would allow if they were busy
throughout: with every page extracted, the bot's own work per story (fetching, feed parsing, matching,
storing with its full-text index) bounds the ratio well below 1.
The last line is machine-readable:
ingest_ratio_vs_bare_extract=<r> warm_poll_s_per_1k=<s> max_loop_stall_ms=<ms> peak_rss_mb=<mb>
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import hashlib
import io
import json
import logging
import multiprocessing
import os
import pstats
import random
import re
import resource
import statistics
import sys
import tempfile
import threading
import urllib.request
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path
from time import perf_counter, process_time

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from adapters.console import ConsoleAdapter  # noqa: E402
from bot.app import App  # noqa: E402
from bot.config import Config, parse_config  # noqa: E402
from bot.extract import DATE_FORMAT  # noqa: E402

RATIO_TARGET, WARM_TARGET_S, STALL_TARGET_MS = 0.9, 2.0, 100.0
WARM_ROUNDS = 3
CATCH_UP_ROUNDS = 3
STALL_PERIOD = 0.005  # the monitor task's sleep
STALL_SAMPLED = 0.05  # stalls at least this long are sampled by the watchdog thread
SAMPLE_EVERY = 0.01
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")

# ---------------------------------------------------------------- the fictional news

FUNCTION_WORDS = """the of and to a in that is was he for it with as his on be at by this had not are but from
or have an they which one you were her all she there would their we him been has when who will more no if out so
said what up its about into than them can only other new some could time these two may then do first any my now
such like our over me even most made after also did many before must through back years where much your way well
down should because each just those people how too little state good very make world still own see men work long
get here between both life being under never day same another know while last might us great old year off come
since against go came right used take three""".split()
NEWS_WORDS = """market shares revenue quarter profit chip chips phone cloud data security privacy regulators
lawsuit court europe tariffs export startup funding investors valuation billion million percent growth sales
earnings forecast analysts launch model software hardware battery electric vehicle factory supply chain memory
processor display camera streaming subscribers advertising browser app users platform network wireless satellite
robot drone compute datacenter energy grid policy government minister officials executive layoffs hiring
employees union strike deal acquisition merger stake listing stock bond debt loan bank payments gaming music
video content creators media election hackers breach outage update feature developers license patent trial judge
ruling fines investigation probe commission parliament approval rollout prototype demand inventory shipments
quarterly annual report research university lab testing autonomous delivery logistics retail consumers prices
inflation rates economy""".split()
ONSETS = "b c d f g h j k l m n p r s t v w z br cr dr fl gr pl pr st tr ch sh th".split()
VOWELS = "a e i o u a e i o u ai ea ou io".split()
CODAS = ["", "", "", "n", "r", "l", "s", "m", "nd", "rk", "th", "t"]
OUTLET_WORDS = "Daily Wire Post Times Herald Review Ledger Observer Journal Dispatch Courier Gazette Record".split()
SECTIONS = "World Business Technology Markets Science Opinion Sport Culture Climate Video Podcasts".split()
FIRST_NAMES = "Ada Bram Celia Dario Elin Farah Goran Hana Ivo Jules Kiri Lotte Mina Nils Oona Pavel Rhea Soren".split()
LAST_NAMES = "Abernethy Brightwell Castellan Dunmore Eskeland Farrow Greaves Holloway Ingram Jarvik Kettering".split()
# Fictional companies the config tracks (name, aliases); none is a word of the generated prose.
COMPANIES = [
    ("Halvorsen Optics", ["Halvorsen"]),
    ("Quillmarsh Analytics", ["Quillmarsh"]),
    ("Braxtide Energy", ["Braxtide", "BXTE"]),
    ("Norrowind Logistics", ["Norrowind"]),
    ("Cindervale Pharma", ["Cindervale"]),
    ("Tamsford Bank", ["Tamsford"]),
]
WATCHLISTS = [  # (name, companies, extra YAML lines)
    ("hardware", ["Halvorsen Optics", "Braxtide Energy", "Norrowind Logistics"], []),
    ("finance", ["Tamsford Bank", "Quillmarsh Analytics", "Cindervale Pharma"], ["require: about"]),
    ("deals", [name for name, _ in COMPANIES], ["keywords: [acquisition, merger, deal, funding, stake]"]),
]
MENTIONING, SYNDICATED = 0.35, 0.03  # shares of stories naming a company / copied from another outlet


def pseudo_word(rng: random.Random) -> str:
    return "".join(rng.choice(ONSETS) + rng.choice(VOWELS) for _ in range(rng.choice((1, 2, 2, 3)))) + rng.choice(CODAS)


def vocabulary(rng: random.Random, size: int = 4000) -> tuple[list[str], list[float]]:
    """Function words first, then news words and pseudo-words, with Zipf-like cumulative weights."""
    reserved = {n.casefold() for name, aliases in COMPANIES for n in (name, *aliases, *name.split())}
    words = list(dict.fromkeys(FUNCTION_WORDS + NEWS_WORDS))
    seen = set(words) | reserved
    while len(words) < size:
        word = pseudo_word(rng)
        if word not in seen:
            seen.add(word)
            words.append(word)
    total, cumulative = 0.0, []
    for rank in range(len(words)):
        total += 1.0 / (rank + 8)
        cumulative.append(total)
    return words, cumulative


@dataclass
class Story:
    title: str
    paragraphs: list[str]
    author: str


@dataclass
class Outlet:
    name: str
    slug: str
    interval_h: float  # hours between its stories
    offset_h: float  # age of its newest story
    stories: list[Story] = field(default_factory=list)


class StoryWriter:
    """Deterministic stories: ~5 KB of sentences and paragraphs, some naming tracked companies."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.words, self.cumulative = vocabulary(rng)

    def sentence_words(self, count: int) -> list[str]:
        return self.rng.choices(self.words, cum_weights=self.cumulative, k=count)

    def story(self) -> Story:
        rng = self.rng
        tokens = self.sentence_words(rng.randint(750, 950))
        title = " ".join(self.sentence_words(rng.randint(6, 11))).capitalize()
        if rng.random() < MENTIONING:
            picked = rng.sample(COMPANIES, rng.choice((1, 1, 1, 2)))
            for rank, (name, aliases) in enumerate(picked):
                for position in rng.sample(range(len(tokens)), rng.randint(1, 4 if rank == 0 else 2)):
                    spelled = name if rng.random() < 0.6 else rng.choice(aliases)
                    tokens[position] = spelled + ("'s" if rng.random() < 0.2 else "")
            if rng.random() < 0.5:
                title = f"{picked[0][0]} {title[0].lower()}{title[1:]}"
        paragraphs, paragraph, sentence = [], [], []
        length = rng.randint(8, 24)
        for token in tokens:
            sentence.append(token)
            if len(sentence) >= length:
                line = " ".join(sentence)
                line = line[0].upper() + line[1:]
                if rng.random() < 0.15:
                    cut = rng.randint(2, len(sentence) - 2)
                    line = line.replace(" " + sentence[cut] + " ", " " + sentence[cut] + ", ", 1)
                if rng.random() < 0.08:
                    line = f"“{line},” {rng.choice(LAST_NAMES)} said."
                else:
                    line += "."
                paragraph.append(line)
                sentence, length = [], rng.randint(8, 24)
                if len(paragraph) >= rng.randint(3, 6):
                    paragraphs.append(" ".join(paragraph))
                    paragraph = []
        if sentence:
            paragraph.append(" ".join(sentence).capitalize() + ".")
        if paragraph:
            paragraphs.append(" ".join(paragraph))
        author = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        return Story(title, paragraphs, author)


def make_outlets(feeds: int, entries: int, seed: int) -> list[Outlet]:
    """`feeds` outlets of `entries` stories each, newest first; the same for the same arguments."""
    rng = random.Random(f"ingest:{seed}")
    writer = StoryWriter(rng)
    outlets: list[Outlet] = []
    names: set[str] = set()
    while len(outlets) < feeds:
        name = f"{pseudo_word(rng).capitalize()} {rng.choice(OUTLET_WORDS)}"
        if name.casefold() in names or len(name) < 8:
            continue
        names.add(name.casefold())
        outlets.append(Outlet(name, re.sub(r"\W+", "-", name.lower()), rng.uniform(0.5, 6), rng.uniform(0, 2)))
    written: list[Story] = []
    for outlet in outlets:
        for _ in range(entries):
            if written and rng.random() < SYNDICATED:
                # A wire story run by another outlet: same prose, its own headline and page furniture.
                original = rng.choice(written)
                story = Story(original.title + f" - {outlet.name}", original.paragraphs, original.author)
            else:
                story = writer.story()
            outlet.stories.append(story)
            written.append(story)
    return outlets


def slugify(title: str, limit: int = 60) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower())[:limit].strip("-")


@dataclass(frozen=True)
class Resource:
    body: bytes
    content_type: str
    etag: str | None = None
    last_modified: datetime | None = None


class Site:
    """Every feed and page of the generated outlets, rendered once, by path."""

    def __init__(self, outlets: list[Outlet], *, base: str, now: datetime):
        self.base = base
        self.resources: dict[str, Resource] = {}
        self.feed_paths: list[str] = []
        for index, outlet in enumerate(outlets):
            items = []
            for number, story in enumerate(outlet.stories):
                published = now - timedelta(hours=outlet.offset_h + number * outlet.interval_h)
                published = published.replace(microsecond=0)
                path = (f"/{outlet.slug}/{published:%Y/%m/%d}/{slugify(story.title)}-{index}-{number}.html")
                related = [s.title for s in outlet.stories[number + 1: number + 6]]
                page = article_page(outlet, story, base + path, published, related)
                self.resources[path] = Resource(page.encode("utf-8"), "text/html; charset=utf-8")
                items.append((story, base + path, f"{outlet.slug}-{index}-{number}", published))
            path = f"/{outlet.slug}/feed.xml"
            body = rss_feed(outlet, base, items, now).encode("utf-8")
            etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
            newest = max(published for *_, published in items) if items else now
            self.resources[path] = Resource(body, "application/rss+xml; charset=utf-8", etag, newest)
            self.feed_paths.append(path)

    def pages(self) -> Iterator[tuple[str, bytes]]:
        """(URL, body) of every article page."""
        for path, found in self.resources.items():
            if found.content_type.startswith("text/html"):
                yield self.base + path, found.body


def rss_feed(outlet: Outlet, base: str, items: list[tuple[Story, str, str, datetime]], now: datetime) -> str:
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/">\n<channel>\n'
        f"<title>{escape(outlet.name)}</title>\n<link>{base}/{outlet.slug}/</link>\n"
        f"<description>News from {escape(outlet.name)}</description>\n<language>en</language>\n"
        f"<lastBuildDate>{format_datetime(now, usegmt=True)}</lastBuildDate>\n"
        f'<atom:link href="{base}/{outlet.slug}/feed.xml" rel="self" type="application/rss+xml"/>\n'
    ]
    for story, link, guid, published in items:
        lead = " ".join(story.paragraphs[0].split()[:45]) + "…"
        parts.append(
            f"<item>\n<title>{escape(story.title)}</title>\n<link>{escape(link)}</link>\n"
            f'<guid isPermaLink="false">{guid}</guid>\n<dc:creator>{escape(story.author)}</dc:creator>\n'
            f"<description>{escape(lead)}</description>\n<category>{SECTIONS[len(guid) % len(SECTIONS)]}</category>\n"
            f"<pubDate>{format_datetime(published, usegmt=True)}</pubDate>\n</item>\n"
        )
    parts.append("</channel>\n</rss>\n")
    return "".join(parts)


def article_page(outlet: Outlet, story: Story, url: str, published: datetime, related: list[str]) -> str:
    """A news page as sites serve them: the story inside a good deal of furniture."""
    name, title = escape(outlet.name), escape(story.title)
    section = SECTIONS[len(story.title) % len(SECTIONS)]
    lead = escape(" ".join(story.paragraphs[0].split()[:30]))
    iso = published.isoformat()
    share = ("<div class=\"share-bar\"><span>Share</span>" + "".join(
        f'<a class="share-{kind.lower()}" href="https://{kind.lower()}.example/share?u={url}">{kind}</a>'
        for kind in ("Facebook", "X", "LinkedIn", "WhatsApp", "Email")) + '<button class="copy-link">Copy link</button></div>')
    body = []
    for number, paragraph in enumerate(story.paragraphs):
        body.append(f"<p>{escape(paragraph)}</p>")
        if number == 2:
            body.append('<div class="ad-slot" data-ad="mid-article"><span class="ad-label">Advertisement</span>'
                        '<div id="div-gpt-ad-1" style="min-height:250px"></div></div>')
        if number == 5 and related:
            body.append(f'<p class="read-more"><strong>Read more:</strong> <a href="/{outlet.slug}/">'
                        f"{escape(related[0])}</a></p>")
    nav = "".join(f'<li><a href="/{outlet.slug}/{s.lower()}/">{s}</a></li>' for s in SECTIONS)
    related_items = "".join(f'<li><a href="/{outlet.slug}/related/{slugify(t, 30)}.html">{escape(t)}</a></li>'
                            for t in related)
    ld = json.dumps({"@context": "https://schema.org", "@type": "NewsArticle", "headline": story.title,
                     "datePublished": iso, "author": {"@type": "Person", "name": story.author},
                     "publisher": {"@type": "Organization", "name": outlet.name}, "mainEntityOfPage": url})
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} | {name}</title>
<meta name="description" content="{lead}">
<meta property="og:type" content="article">
<meta property="og:site_name" content="{name}">
<meta property="og:title" content="{title}">
<meta property="og:url" content="{url}">
<meta property="article:published_time" content="{iso}">
<meta property="article:section" content="{section}">
<link rel="canonical" href="{url}">
<link rel="stylesheet" href="/static/site.css">
<script>window.dataLayer=window.dataLayer||[];function gtag(){{dataLayer.push(arguments);}}gtag('js',new Date());gtag('config','G-000000');</script>
<script type="application/ld+json">{ld}</script>
</head>
<body class="article-page section-{section.lower()}">
<div class="cookie-banner" role="dialog">We use cookies to improve your experience and to show you relevant advertising. By continuing to browse you agree to our use of cookies. <a href="/privacy/">Privacy policy</a> <button>Accept all</button> <button>Manage settings</button></div>
<header class="site-header">
<a class="logo" href="/{outlet.slug}/">{name}</a>
<span class="tagline">Independent news since 1987</span>
<nav class="site-nav"><ul>{nav}</ul></nav>
<form class="search" action="/search"><input type="search" name="q" placeholder="Search {name}"><button>Search</button></form>
<a class="subscribe" href="/subscribe/">Subscribe</a> <a class="sign-in" href="/account/">Sign in</a>
</header>
<main>
<nav class="breadcrumbs"><a href="/{outlet.slug}/">Home</a> › <a href="/{outlet.slug}/{section.lower()}/">{section}</a></nav>
{share}
<article>
<h1>{title}</h1>
<div class="byline"><span class="author">By {escape(story.author)}</span> · <time datetime="{iso}">{published:%d %B %Y, %H:%M} GMT</time></div>
<figure><img src="/images/{slugify(story.title, 24)}.jpg" alt="{title}"><figcaption>Photograph: {escape(story.author)} for {name}</figcaption></figure>
{chr(10).join(body)}
</article>
{share}
<aside class="related"><h2>Related stories</h2><ul>{related_items}</ul></aside>
<section class="newsletter"><h2>The morning briefing</h2><p>The day's top stories in your inbox every weekday.</p><form><input type="email" placeholder="Your email"><button>Sign up</button></form></section>
<section class="most-read"><h2>Most read</h2><ol>{related_items}</ol></section>
</main>
<footer class="site-footer">
<nav><a href="/about/">About us</a> <a href="/contact/">Contact</a> <a href="/careers/">Careers</a> <a href="/advertise/">Advertise</a> <a href="/privacy/">Privacy</a> <a href="/terms/">Terms</a> <a href="/cookies/">Cookie settings</a></nav>
<p>© {published.year} {name} Media Ltd. All rights reserved. Registered in England and Wales.</p>
</footer>
</body>
</html>
"""


# ---------------------------------------------------------------- the server process


def serve(feeds: int, entries: int, seed: int, now: datetime, conn) -> None:
    """Server process: bind 127.0.0.1 port 0, build the site, send (base, feed paths), serve until told."""
    asyncio.run(_serve(feeds, entries, seed, now, conn))


async def _serve(feeds: int, entries: int, seed: int, now: datetime, conn) -> None:
    from aiohttp import web

    counts: Counter[str] = Counter()
    site: Site | None = None

    async def handle(request: web.Request) -> web.Response:
        found = site.resources.get(request.path) if site else None
        if found is None:
            counts["404"] += 1
            return web.Response(status=404, text="not found")
        if found.etag is None:
            counts["page"] += 1
            return web.Response(body=found.body, headers={"Content-Type": found.content_type})
        validators = {"ETag": found.etag, "Last-Modified": format_datetime(found.last_modified, usegmt=True)}
        if_none_match = request.headers.get("If-None-Match")
        if if_none_match is not None:
            # Weak comparison, as RFC 9110 asks for If-None-Match; it overrides If-Modified-Since.
            tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
            fresh = found.etag in tags or "*" in tags
        else:
            since = request.if_modified_since
            fresh = since is not None and since >= found.last_modified
        if fresh:
            counts["feed 304"] += 1
            return web.Response(status=304, headers=validators)
        counts["feed 200"] += 1
        return web.Response(body=found.body, headers={"Content-Type": found.content_type, **validators})

    async def stats(request: web.Request) -> web.Response:
        return web.json_response({**counts, "cpu_s": process_time()})

    app = web.Application()
    app.router.add_get("/_stats", stats)
    app.router.add_get("/{path:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    tcp = web.TCPSite(runner, "127.0.0.1", 0)
    await tcp.start()
    base = f"http://127.0.0.1:{tcp._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    start = perf_counter()
    site = Site(make_outlets(feeds, entries, seed), base=base, now=now)
    size = sum(len(r.body) for r in site.resources.values())
    conn.send((base, site.feed_paths, perf_counter() - start, size))
    await asyncio.to_thread(conn.recv)  # "stop"
    await runner.cleanup()


def server_stats(base: str) -> dict:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(base + "/_stats", timeout=10) as response:
        return json.loads(response.read())


# ---------------------------------------------------------------- the bare baseline


def _bare_extract(job: tuple[bytes, str]) -> bool:
    """In a worker: what bot/extract.py asks of trafilatura, and nothing of the bot around it."""
    import trafilatura
    from trafilatura.settings import set_date_params

    html, url = job
    text = trafilatura.extract(
        html.decode("utf-8"), url=url, with_metadata=True, include_comments=False, include_tables=False,
        favor_precision=True, date_extraction_params={**set_date_params(False), "outputformat": DATE_FORMAT},
    )
    return bool(text)


def bare_baseline(feeds: int, entries: int, seed: int, now: datetime, base: str, conn) -> None:
    """Baseline process: build the same pages, extract them on 2 processes, send (pages, seconds, non-empty)."""
    jobs = [(body, url) for url, body in Site(make_outlets(feeds, entries, seed), base=base, now=now).pages()]
    start = perf_counter()
    # fork: this process has no thread yet, and the workers then start as fast as the bot's.
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork")) as pool:
        extracted = sum(pool.map(_bare_extract, jobs, chunksize=4))
    conn.send((len(jobs), perf_counter() - start, extracted))


# ---------------------------------------------------------------- the bot


def make_config(base: str, feed_paths: list[str], storage: Path) -> Config:
    # One loopback host stands for 1,000 publishers: the per-host manners (2 at a time, 1 s
    # apart) would measure the delay, not the bot; they are lifted to what 1,000 hosts allow.
    lines = ["storage:", "  path: ingest.db", "fetch:", "  allow_private_networks: true",
             "  per_host: 16", "  host_delay: 0s", "alerts:", "  backlog: 1d", "sources:"]
    for path in feed_paths:
        lines += [f"  - name: {json.dumps(path.strip('/').split('/')[0])}", f"    url: {json.dumps(base + path)}"]
    lines.append("companies:")
    for name, aliases in COMPANIES:
        lines += [f"  - name: {name}", f"    aliases: [{', '.join(aliases)}]"]
    lines.append("watchlists:")
    for name, companies, extra in WATCHLISTS:
        lines += [f"  - name: {name}", f"    companies: [{', '.join(companies)}]", "    channels: [console]"]
        lines += [f"    {line}" for line in extra]
    return parse_config("\n".join(lines) + "\n", filename="<bench/ingest.py>", base_dir=storage)


class LoopMonitor:
    """How late a task sleeping STALL_PERIOD wakes, and what the loop ran during long stalls.

    The watchdog thread reads the loop thread's stack (sys._current_frames) every SAMPLE_EVERY
    while the monitor is more than STALL_SAMPLED late: each sample stands for ~10 ms of stall.
    """

    def __init__(self) -> None:
        self.worst = 0.0
        self.laps = self.over_50 = self.over_100 = 0
        self.samples: Counter[tuple[str, str]] = Counter()
        self._beat = perf_counter()
        self._thread_id = threading.get_ident()
        self._stop = threading.Event()
        self._task: asyncio.Task | None = None
        self._watchdog = threading.Thread(target=self._watch, name="stall watchdog", daemon=True)

    def __enter__(self) -> LoopMonitor:
        self._task = asyncio.get_running_loop().create_task(self._run())
        self._watchdog.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        assert self._task is not None
        self._task.cancel()
        self._stop.set()
        self._watchdog.join()

    async def _run(self) -> None:
        while True:
            self._beat = start = perf_counter()
            await asyncio.sleep(STALL_PERIOD)
            late = perf_counter() - start - STALL_PERIOD
            self.worst = max(self.worst, late)
            self.laps += 1
            self.over_50 += late >= 0.05
            self.over_100 += late >= 0.1

    def _watch(self) -> None:
        while not self._stop.wait(SAMPLE_EVERY):
            if perf_counter() - self._beat - STALL_PERIOD >= STALL_SAMPLED:
                frame = sys._current_frames().get(self._thread_id)
                if frame is not None:
                    self.samples[where(frame)] += 1


def where(frame) -> tuple[str, str]:
    """(innermost frame in bot/, innermost frame) of a stack, as "file:function" and "file:function:line"."""
    innermost, ours = f"{_label(frame)}:{frame.f_lineno}", "-"
    while frame is not None:
        path = frame.f_code.co_filename
        if path.startswith(str(ROOT / "bot")) or path.startswith(str(ROOT / "adapters")):
            ours = _label(frame)
            break
        frame = frame.f_back
    return ours, innermost


def _label(frame) -> str:
    path = Path(frame.f_code.co_filename)
    short = "/".join(path.parts[-2:]) if "site-packages" not in path.parts else "/".join(
        path.parts[path.parts.index("site-packages") + 1:])
    return f"{short}:{frame.f_code.co_name}"


@dataclass
class ProcessFigures:
    pid: int
    name: str
    cpu_s: float
    peak_mb: float


def bot_processes(exclude: set[int]) -> list[ProcessFigures]:
    """The bot's descendant processes (fork server, extraction workers, resource tracker) from /proc."""
    parent_of: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parent_of[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    tree, frontier = [], [os.getpid()]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parent_of.items():
            if ppid == parent and pid not in exclude:
                tree.append(pid)
                frontier.append(pid)
    figures = []
    ticks = os.sysconf("SC_CLK_TCK")
    for pid in tree:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            status = Path(f"/proc/{pid}/status").read_text()
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        peak_kb = int(re.search(r"VmHWM:\s+(\d+)", status).group(1)) if "VmHWM" in status else 0
        # Workers are forked by the fork server, so they share its command line: tell them by parent.
        if parent_of[pid] != os.getpid():
            name = "extraction worker"
        else:
            name = "fork server" if "forkserver" in command else "resource tracker"
        figures.append(ProcessFigures(pid, name, (int(fields[11]) + int(fields[12])) / ticks, peak_kb / 1024))
    return figures


@dataclass
class Round:
    """One poll of every source."""

    seconds: float
    stories: int
    not_modified: int
    page_errors: int
    errors: Counter[str]  # why sources failed, by reason
    failed: set[str]  # the sources that failed
    alerts_sent: int
    coverage_sent: int
    stall_ms: float
    gc: GcWatch


class GcWatch:
    """The garbage collections while it is entered: how many, how many full, and their time."""

    def __init__(self) -> None:
        self.count = self.full = 0
        self.seconds = self.longest = 0.0
        self._start = 0.0

    def __enter__(self) -> GcWatch:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc_info: object) -> None:
        gc.callbacks.remove(self._callback)

    def _callback(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._start = perf_counter()
            return
        took = perf_counter() - self._start
        self.count += 1
        self.full += info["generation"] == 2
        self.seconds += took
        self.longest = max(self.longest, took)

    def __str__(self) -> str:
        return (f"{self.count} garbage collections ({self.full} full) took {self.seconds * 1000:.0f} ms, "
                f"the longest {self.longest * 1000:.0f} ms")


@dataclass
class BotFigures:
    cold: list[Round]  # the first poll, then catch-up polls of the sources it failed
    warm: list[Round]
    monitor: LoopMonitor  # over all the cold rounds
    main_cpu_s: float
    server_cpu_s: float
    server_requests: dict
    processes: list[ProcessFigures]
    main_peak_mb: float
    children_maxrss_mb: tuple[float, float]  # before and after the bot ran


async def poll_all(app: App, at_once: int | None) -> tuple[list, object]:
    """App.poll_once(); with `at_once`, the same through the App's pipeline, that many sources at a time."""
    if at_once is None:
        return await app.poll_once()
    slots = asyncio.Semaphore(at_once)

    async def poll(source):
        async with slots:
            return await app.pipeline.poll(source)

    reports = await asyncio.gather(*(poll(source) for source in app.config.sources))
    return list(reports), await app.dispatcher.deliver_pending(gather_coverage=False)


async def timed_round(app: App, at_once: int | None) -> tuple[Round, LoopMonitor]:
    with LoopMonitor() as monitor, GcWatch() as collections:
        start = perf_counter()
        reports, delivery = await poll_all(app, at_once)
        seconds = perf_counter() - start
    errors = Counter(_URL_SUFFIX.sub("", r.error) for r in reports if r.error is not None)
    return Round(seconds, sum(r.new_articles for r in reports), sum(r.not_modified for r in reports),
                 sum(r.page_errors for r in reports), errors, {r.source for r in reports if r.error is not None},
                 len(delivery.sent), len(delivery.coverage), monitor.worst * 1000, collections), monitor


_URL_SUFFIX = re.compile(r" \(https?://[^)]*\)$")  # FetchError's "(url)": group failures by reason


async def run_bot(config: Config, base: str, server_pid: int, at_once: int | None, profile_warm: bool) -> BotFigures:
    children_before_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    console = ConsoleAdapter(io.StringIO(), color=False)
    async with App(config, {"console": console}, extractor_processes=True) as app:
        before = await asyncio.to_thread(server_stats, base)
        cpu = process_time()
        with LoopMonitor() as monitor:
            cold = [(await timed_round(app, at_once))[0]]
            unread = set(cold[0].failed)
            # A warm poll needs every source read once; the sources that failed are polled again.
            while unread and len(cold) <= CATCH_UP_ROUNDS:
                print(f"poll {len(cold)} done in {cold[-1].seconds:.1f} s; {len(unread)} sources never read: "
                      "polling again", flush=True)
                cold.append((await timed_round(app, at_once))[0])
                unread &= cold[-1].failed
        main_cpu_s = process_time() - cpu
        after = await asyncio.to_thread(server_stats, base)
        processes = bot_processes(exclude={server_pid})
        print(f"cold polls done in {sum(r.seconds for r in cold):.1f} s; warm polls...", flush=True)
        warm = [(await timed_round(app, at_once))[0] for _ in range(WARM_ROUNDS)]
        if profile_warm:
            profiler = cProfile.Profile()
            profiler.enable()
            start = perf_counter()
            await poll_all(app, at_once)
            profiled_s = perf_counter() - start
            profiler.disable()
            print(f"\nwarm poll under cProfile: {profiled_s:.2f} s (profiling slows it)")
            pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(20)
            pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(25)
        main_peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        peaks = {p.pid: p.peak_mb for p in bot_processes(exclude={server_pid})}  # VmHWM only grows
        processes = [ProcessFigures(p.pid, p.name, p.cpu_s, peaks.get(p.pid, p.peak_mb)) for p in processes]
    children_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    requests = {key: after.get(key, 0) - before.get(key, 0) for key in after if key != "cpu_s"}
    return BotFigures(cold, warm, monitor, main_cpu_s, after["cpu_s"] - before["cpu_s"], requests, processes,
                      main_peak_mb, (children_before_mb, children_mb))


# ---------------------------------------------------------------- the run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--entries", type=int, default=20, help="items per feed, each with its page")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--at-once", type=int, default=None, metavar="N",
                        help="poll N sources at a time through App.pipeline instead of App.poll_once() (what-if)")
    parser.add_argument("--profile-warm", action="store_true", help="profile one more warm poll with cProfile")
    args = parser.parse_args()
    for variable in PROXY_VARIABLES:  # httpx honours them, and a proxy cannot reach our 127.0.0.1
        os.environ.pop(variable, None)
    logging.getLogger("bot").setLevel(logging.ERROR)  # one warning per failed source: counted below instead
    now = datetime.now(UTC).replace(microsecond=0)
    load = os.getloadavg()[0]
    if load >= 0.5:
        print(f"warning: load average {load:.1f} before the run: other work shares the cores, figures will be low")
    spawn = multiprocessing.get_context("spawn")

    ours, theirs = spawn.Pipe()
    server = spawn.Process(target=serve, args=(args.feeds, args.entries, args.seed, now, theirs), name="server")
    server.start()
    base, feed_paths, built_s, site_bytes = ours.recv()
    print(f"site: {args.feeds} feeds x {args.entries} items, {args.feeds * args.entries} pages, "
          f"{site_bytes / 1e6:.0f} MB, built in {built_s:.1f} s by the server process at {base}; seed {args.seed}; "
          f"{os.cpu_count()} cores", flush=True)
    try:
        bare_ours, bare_theirs = spawn.Pipe()
        bare = spawn.Process(target=bare_baseline, args=(args.feeds, args.entries, args.seed, now, base, bare_theirs))
        bare.start()
        pages, bare_s, bare_nonempty = bare_ours.recv()
        bare.join()
        bare_rate = pages / bare_s
        print(f"bare:  trafilatura.extract on ProcessPoolExecutor(2): {pages} pages in {bare_s:.1f} s = "
              f"{bare_rate:.1f} pages/s ({bare_nonempty} with text)", flush=True)

        with tempfile.TemporaryDirectory(prefix="intelbot-ingest-") as storage:
            start = perf_counter()
            config = make_config(base, feed_paths, Path(storage))
            how = "App.poll_once()" if args.at_once is None else f"App.pipeline, {args.at_once} sources at a time"
            print(f"config: {len(config.sources)} sources parsed in {perf_counter() - start:.2f} s; "
                  f"polling with {how}", flush=True)
            bot = asyncio.run(run_bot(config, base, server.pid, args.at_once, args.profile_warm))
    finally:
        ours.send("stop")
        server.join()
    report(args, bot, bare_rate)


def failures(round_: Round) -> str:
    if not round_.errors:
        return "no source failed"
    reasons = "; ".join(f"{count} {reason}" for reason, count in round_.errors.most_common(3))
    return f"{sum(round_.errors.values())} sources failed ({reasons})"


def report(args: argparse.Namespace, bot: BotFigures, bare_rate: float) -> None:
    first = bot.cold[0]
    stories, seconds = sum(r.stories for r in bot.cold), sum(r.seconds for r in bot.cold)
    rate = stories / seconds
    ratio = rate / bare_rate
    print(f"cold:  poll 1: {first.stories} of {args.feeds * args.entries} stories in {first.seconds:.1f} s = "
          f"{first.stories / first.seconds:.1f} stories/s; {failures(first)}; {first.page_errors} pages fell back "
          f"to the feed text; {first.alerts_sent} alerts and {first.coverage_sent} coverage replies delivered; "
          f"{first.gc}")
    for number, round_ in enumerate(bot.cold[1:], 2):
        print(f"       poll {number} (catch-up): {round_.stories} stories in {round_.seconds:.1f} s = "
              f"{round_.stories / round_.seconds:.1f} stories/s; {failures(round_)}; "
              f"longest stall {round_.stall_ms:.0f} ms")
    print(f"       all cold polls: {stories} stories in {seconds:.1f} s = {rate:.1f} stories/s")
    print(f"       requests served: {json.dumps(bot.server_requests, sort_keys=True)}")
    cpu = [f"main {bot.main_cpu_s:.1f}", f"server {bot.server_cpu_s:.1f}"]
    cpu += [f"{p.name} {p.cpu_s:.1f}" for p in bot.processes if p.cpu_s >= 0.05]
    print(f"       CPU s over the cold polls: {', '.join(cpu)}; {2 * seconds:.1f} core-s on 2 cores")
    # What the two cores allow: every story costs its extraction plus the rest of the bot (and
    # the server's answer, which shares the cores here); bare extraction costs only the first.
    extraction_s = sum(p.cpu_s for p in bot.processes if p.name == "extraction worker")
    rest_s = bot.main_cpu_s + sum(p.cpu_s for p in bot.processes if p.name != "extraction worker")
    busy_rate = 2 * stories / (extraction_s + rest_s + bot.server_cpu_s)
    print(f"       CPU per story: extraction {extraction_s * 1000 / stories:.1f} ms, the rest of the bot "
          f"{rest_s * 1000 / stories:.1f} ms (main process {bot.main_cpu_s * 1000 / stories:.1f}), server "
          f"{bot.server_cpu_s * 1000 / stories:.1f} ms; bare extraction {2000 / bare_rate:.1f} ms a page. With both "
          f"cores busy throughout: {busy_rate:.0f} stories/s, a ratio of {busy_rate / bare_rate:.2f} (the ceiling "
          "while every page is extracted)")
    monitor = bot.monitor
    print(f"       event loop: longest stall {monitor.worst * 1000:.0f} ms; {monitor.over_50} stalls >= 50 ms, "
          f"{monitor.over_100} >= 100 ms, in {monitor.laps} laps of the 5 ms monitor")
    if monitor.samples:
        print("       stall time by what the loop ran (innermost bot/ frame, innermost frame; sampled every 10 ms "
              "in stalls >= 50 ms):")
        for (ours, innermost), count in monitor.samples.most_common(12):
            print(f"       {count * SAMPLE_EVERY:7.1f} s  {ours:<38} {innermost}")
    for number, round_ in enumerate(bot.warm, 1):
        print(f"warm {number}: {args.feeds} sources in {round_.seconds:.2f} s, {round_.not_modified} answered 304, "
              f"{round_.stories} new stories, {failures(round_)}; longest stall {round_.stall_ms:.0f} ms; "
              f"{round_.gc}")
    warm = statistics.median(r.seconds for r in bot.warm)
    per_1k = warm * 1000 / args.feeds
    print(f"warm:  median {warm:.2f} s = {per_1k:.2f} s per 1,000 sources ({args.feeds / warm:.0f} polls/s)"
          + ("" if not bot.cold[-1].failed else "; some sources were never read, so not every poll was a 304"))
    processes = ", ".join(f"{p.name} {p.peak_mb:.0f}" for p in bot.processes)
    peak = bot.main_peak_mb + sum(p.peak_mb for p in bot.processes)
    workers = sum(p.name == "extraction worker" for p in bot.processes)
    print(f"memory: peak RSS main {bot.main_peak_mb:.0f} MB + {processes} = {peak:.0f} MB (getrusage "
          f"RUSAGE_CHILDREN ru_maxrss {bot.children_maxrss_mb[0]:.0f} MB before the bot ran, "
          f"{bot.children_maxrss_mb[1]:.0f} MB after: it misses the {workers} workers)")
    print(f"ratio end-to-end / bare: {rate:.1f} / {bare_rate:.1f} = {ratio:.2f}")
    print(f"targets: ratio >= {RATIO_TARGET} {'met' if ratio >= RATIO_TARGET else 'MISSED'}; "
          f"warm poll of 1,000 sources <= {WARM_TARGET_S:g} s {'met' if per_1k <= WARM_TARGET_S else 'MISSED'}; "
          f"loop stall <= {STALL_TARGET_MS:g} ms {'met' if monitor.worst * 1000 <= STALL_TARGET_MS else 'MISSED'}")
    print(f"ingest_ratio_vs_bare_extract={ratio:.2f} warm_poll_s_per_1k={per_1k:.2f} "
          f"max_loop_stall_ms={monitor.worst * 1000:.0f} peak_rss_mb={peak:.0f}")


if __name__ == "__main__":
    main()
