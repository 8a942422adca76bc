"""The console as a chat platform: alerts printed to a stream, `/intel` lines read from stdin.

Text from the web is hostile to terminals too: escape sequences in a headline could move
the cursor, rewrite earlier lines or set the window title, so every control character
other than a newline is removed before printing. The console notifies nobody: an alert's
`ping` is not shown.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import TextIO

from bot import messages
from bot.events import tag_label
from bot.messages import age
from bot.models import (
    Alert,
    ChannelRef,
    Command,
    Coverage,
    Digest,
    DigestItem,
    Reply,
    SearchResult,
)

_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_BOLD, _DIM, _RESET = "\x1b[1m", "\x1b[2m", "\x1b[0m"


def clean(text: str) -> str:
    """`text` with terminal control characters (and bidi overrides) removed."""
    return _CONTROL.sub("", text)


def _one_line(text: str) -> str:
    return " ".join(clean(text).split())


def alert_json(alert: Alert) -> dict:
    """The `--json` form of an alert (the `intelbot poll --json` line format)."""
    return {
        "kind": "alert",
        "watchlist": alert.watchlist,
        "channel": alert.channel,
        "companies": list(alert.companies),
        "title": alert.title,
        "url": alert.url,
        "source": alert.source,
        "published": alert.published.isoformat(),
        "summary": alert.summary,
        "events": list(alert.events),
    }


def coverage_json(coverage: Coverage) -> dict:
    """The `--json` form of later coverage of a story, on the same stream as alerts."""
    return {
        "kind": "coverage",
        "channel": coverage.channel,
        "story_title": coverage.story_title,
        "story_url": coverage.story_url,
        "outlets": [{"source": o.source, "url": o.url, "title": o.title} for o in coverage.outlets],
        "new_companies": list(coverage.new_companies),
    }


def digest_json(digest: Digest) -> dict:
    """The `--json` form of a digest, every story of it (the text form lists five per company)."""
    return {
        "kind": "digest",
        "channel": digest.channel,
        "watchlist": digest.watchlist,
        "since": digest.since.isoformat() if digest.since is not None else None,
        "until": digest.until.isoformat(),
        "total": digest.total,
        "sections": [{"company": company, "stories": [_story_json(item) for item in items]}
                     for company, items in digest.sections],
    }


def _story_json(item: DigestItem) -> dict:
    return {
        "title": item.title,
        "url": item.url,
        "source": item.source,
        "published": item.published.isoformat(),
        "companies": list(item.companies),
        "about": item.about,
        "events": list(item.events),
    }


def result_json(result: SearchResult) -> dict:
    """The `--json` form of one lookup result (the `intelbot search --json` format)."""
    return {
        "title": result.title,
        "url": result.url,
        "source": result.source,
        "published": result.published.isoformat(),
        "companies": list(result.companies),
        "snippet": result.snippet,
    }


class ConsoleAdapter:
    """Prints alerts and replies as readable text, or as JSON lines with `json_lines=True`."""

    platform = "console"

    def __init__(
        self,
        out: TextIO | None = None,
        *,
        json_lines: bool = False,
        color: bool | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    ):
        self._out = out or sys.stdout
        self._json = json_lines
        self._color = self._out.isatty() if color is None else color
        self._clock = clock
        self._reader: asyncio.Task | None = None

    async def start(self) -> None:
        """Nothing to connect to."""

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()

    async def post_alert(self, channel: ChannelRef, alert: Alert) -> str | None:
        self._write(json.dumps(alert_json(alert), ensure_ascii=False) if self._json else self.render_alert(alert))
        return None

    async def post_reply(self, channel: ChannelRef, reply: Reply) -> str | None:
        self._write(self.render_reply(reply))
        return None

    async def post_coverage(self, channel: ChannelRef, coverage: Coverage) -> str | None:
        """Print one line about later coverage; the console has no threads, so it names the story."""
        if self._json:
            self._write(json.dumps(coverage_json(coverage), ensure_ascii=False))
        else:
            self._write(self.render_coverage(coverage))
        return None

    async def post_digest(self, channel: ChannelRef, digest: Digest) -> str | None:
        self._write(json.dumps(digest_json(digest), ensure_ascii=False) if self._json else self.render_digest(digest))
        return None

    def render_alert(self, alert: Alert) -> str:
        companies = ", ".join(alert.companies)
        lines = [
            f"{self._bold('[' + clean(companies) + ']')} {self._bold(clean(alert.title))}",
            self._dim(f"{clean(alert.source)} · {age(alert.published, self._clock())} · watchlist {clean(alert.watchlist)}"),
        ]
        if alert.events:
            lines.append(self._dim(" · ".join(clean(tag_label(tag)) for tag in alert.events)))
        if alert.summary:
            lines.append(clean(alert.summary))
        if alert.why:
            lines.append(self._dim("why: " + clean(alert.why)))
        lines.append(clean(alert.url))
        return "\n".join(lines) + "\n\n"

    def render_coverage(self, coverage: Coverage) -> str:
        """`  ↳ More coverage of “title” · Also covered by A, B and C (+2 more) · New in later coverage: X.`

        Other alerts may have been printed since the story's alert (or it was printed by an
        earlier run), so the line names the story rather than relying on sitting under it.
        """
        named = coverage.outlets[: messages.OUTLETS_NAMED]
        parts = [
            messages.coverage_of(_one_line(coverage.story_title)),
            messages.also_covered([_one_line(o.source) for o in named], more=len(coverage.outlets) - len(named)),
        ]
        if coverage.new_companies:
            parts.append(messages.now_also_mentions([_one_line(c) for c in coverage.new_companies]))
        return "  ↳ " + self._dim(" · ".join(part for part in parts if part)) + "\n\n"

    def render_digest(self, digest: Digest) -> str:
        """The heading, then per company `  Globex (7)`, its first stories (`•` about it, `◦`
        naming it in passing; source and age, then the link) and `+2 more`."""
        now = self._clock()
        if not digest.sections:
            return _one_line(messages.nothing_new(digest.watchlist, digest.since)) + "\n\n"
        lines = [self._bold(_one_line(messages.digest_heading(digest.watchlist, digest.total, digest.since, now)))]
        for company, items in digest.sections:
            lines.append("  " + self._bold(messages.digest_section(_one_line(company), len(items))))
            for item in items[: messages.DIGEST_ITEMS_PER_COMPANY]:
                mark = messages.ABOUT_MARK if item.about else messages.PASSING_MARK
                meta = self._dim(f"{_one_line(item.source)} · {age(item.published, now)}")
                lines.append(f"    {mark} {_one_line(item.title)} · {meta}")
                lines.append(f"      {_one_line(item.url)}")
            if len(items) > messages.DIGEST_ITEMS_PER_COMPANY:
                lines.append("    " + self._dim(messages.digest_more(len(items) - messages.DIGEST_ITEMS_PER_COMPANY)))
        return "\n".join(lines) + "\n\n"

    def render_reply(self, reply: Reply) -> str:
        lines = [clean(reply.text)]
        for number, result in enumerate(reply.results, 1):
            lines.append(f"{number}. {self._bold(clean(result.title))}")
            meta = f"{clean(result.source)} · {age(result.published, self._clock())}"
            if result.companies:
                meta += " · " + ", ".join(clean(c) for c in result.companies)
            lines.append("   " + self._dim(meta))
            if result.snippet:
                lines.append("   " + self._highlight(result))
            lines.append("   " + clean(result.url))
        return "\n".join(lines) + "\n\n"

    def _highlight(self, result: SearchResult) -> str:
        if not self._color:
            return clean(result.snippet)
        pieces, position = [], 0
        for start, end in result.highlights:
            pieces += [clean(result.snippet[position:start]), self._bold(clean(result.snippet[start:end]))]
            position = end
        pieces.append(clean(result.snippet[position:]))
        return "".join(pieces)

    async def read_commands(
        self, handle: Callable[[Command], Awaitable[Reply]], stream: TextIO | None = None
    ) -> None:
        """Answer `/intel ...` lines typed on `stream` (stdin) until it closes."""
        stream = stream or sys.stdin
        while True:
            line = await asyncio.to_thread(stream.readline)
            if not line:
                return
            text = line.strip()
            if not text:
                continue
            if text.startswith("/intel"):
                text = text[len("/intel"):]
            reply = await handle(Command(text=text.strip(), user="console", channel="console"))
            self._write(self.render_reply(reply))

    def _write(self, text: str) -> None:
        self._out.write(text + ("\n" if not text.endswith("\n") else ""))
        self._out.flush()

    def _bold(self, text: str) -> str:
        return f"{_BOLD}{text}{_RESET}" if self._color else text

    def _dim(self, text: str) -> str:
        return f"{_DIM}{text}{_RESET}" if self._color else text
