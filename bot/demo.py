"""`intelbot demo`: the real pipeline on fictional news served from 127.0.0.1.

The feeds and articles in `bot/data/demo/` were written for intelbot (every company and
story is invented). They are served by a local aiohttp server with their placeholders
filled in (`{{base}}` the server's address, `{{rfc822:-H}}` / `{{iso:-H}}` a time H hours
ago), then polled, extracted, matched, stored and alerted exactly as real sources are, into
a temporary database, and one sample lookup is answered.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from datetime import datetime, timedelta
from email.utils import format_datetime
from importlib import resources
from pathlib import Path
from typing import Protocol, TextIO

from aiohttp import web

from bot.app import App, utc_now
from bot.config import Config, parse_config
from bot.delivery import ChatAdapter
from bot.models import Command, Reply

_PLACEHOLDER = re.compile(r"\{\{(base|rfc822:-(\d+)|iso:-(\d+))\}\}")
_TYPES = {".xml": "application/rss+xml", ".atom": "application/atom+xml", ".html": "text/html"}


def demo_files() -> Path:
    """The folder of demo data inside the installed package."""
    return Path(str(resources.files("bot.data") / "demo"))


def fill_placeholders(text: str, *, base: str, now: datetime) -> str:
    """Replace the demo placeholders: the server address and times relative to `now`."""

    def replace(match: re.Match[str]) -> str:
        if match.group(1) == "base":
            return base
        if match.group(2) is not None:
            return format_datetime(now - timedelta(hours=int(match.group(2))), usegmt=True)
        return (now - timedelta(hours=int(match.group(3)))).isoformat(timespec="seconds")

    return _PLACEHOLDER.sub(replace, text)


class DemoServer:
    """Serves the demo folder on 127.0.0.1 at an OS-chosen port, placeholders filled in."""

    def __init__(self, folder: Path, *, clock: Callable[[], datetime] = utc_now):
        self._folder = folder.resolve()
        self._clock = clock
        self._runner: web.AppRunner | None = None
        self.base = ""

    async def __aenter__(self) -> "DemoServer":
        app = web.Application()
        app.router.add_get("/{path:.*}", self._serve)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _serve(self, request: web.Request) -> web.Response:
        path = (self._folder / request.match_info["path"]).resolve()
        if not path.is_relative_to(self._folder) or not path.is_file() or path.suffix not in _TYPES:
            raise web.HTTPNotFound()
        body = fill_placeholders(path.read_text(encoding="utf-8"), base=self.base, now=self._clock())
        return web.Response(text=body, content_type=_TYPES[path.suffix], charset="utf-8")

    def config(self, storage_dir: Path) -> Config:
        """The demo's config, pointed at this server and at a database in `storage_dir`."""
        text = fill_placeholders((self._folder / "config.yaml").read_text(encoding="utf-8"),
                                 base=self.base, now=self._clock())
        return parse_config(text, filename="demo/config.yaml", base_dir=storage_dir)


class Console(ChatAdapter, Protocol):
    """The console adapter as the demo needs it: it posts alerts and renders replies."""

    def render_reply(self, reply: Reply) -> str: ...


SAMPLE_QUERY = "corvantis expansion"  # a company and a word, answered from the demo's stories


async def run_demo(console: Console, out: TextIO, *, clock: Callable[[], datetime] = utc_now) -> int:
    """Run the demo end to end, alerts through `console`, text to `out`. Returns the exit status."""
    with tempfile.TemporaryDirectory(prefix="intelbot-demo-") as storage:
        async with DemoServer(demo_files(), clock=clock) as server:
            config = server.config(Path(storage))
            out.write(f"intelbot demo: polling {len(config.sources)} fictional sources served at {server.base}\n\n")
            async with App(config, {"console": console}, clock=clock) as app:
                reports, delivery = await app.poll_once()
                stories = sum(r.new_articles for r in reports)
                out.write(f"Stored {stories} stories from {len(reports)} sources; "
                          f"{len(delivery.sent)} alerts posted above.\n\n")
                query = SAMPLE_QUERY
                out.write(f"Sample lookup: /intel {query}\n")
                reply = await app.commands.handle(Command(text=query, user="console"))
                out.write(console.render_reply(reply))
    failed = [r for r in reports if r.error]
    for report in failed:
        out.write(f"source {report.source} failed: {report.error}\n")
    return 1 if failed or not delivery.sent else 0
