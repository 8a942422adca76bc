"""The console adapter: readable alerts, JSON lines, and no terminal tricks from the web."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta, timezone

from adapters.console import ConsoleAdapter, clean
from bot.models import Alert, ChannelRef, Reply, SearchResult

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
ALERT = Alert(
    watchlist="rivals", channel="console", companies=("Globex",),
    title="Globex \x1b]0;pwned\x07expands \x1b[2J", url="https://news.test/globex",
    source="Wire", published=NOW - timedelta(hours=3), summary="Globex opened\u202e an office.",
)


async def test_alert_is_readable_and_free_of_control_sequences():
    out = io.StringIO()
    await ConsoleAdapter(out, color=False, clock=lambda: NOW).post_alert(ChannelRef("console"), ALERT)
    text = out.getvalue()
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert "[Globex] Globex ]0;pwnedexpands [2J" in text
    assert "Wire · 3 h ago · watchlist rivals" in text
    assert "https://news.test/globex" in text


async def test_json_lines_carry_every_field():
    out = io.StringIO()
    await ConsoleAdapter(out, json_lines=True, clock=lambda: NOW).post_alert(ChannelRef("console"), ALERT)
    line = json.loads(out.getvalue())
    assert set(line) == {"watchlist", "channel", "companies", "title", "url", "source", "published", "summary"}
    assert line["companies"] == ["Globex"]
    assert line["published"] == "2026-11-26T09:00:00+00:00"


def test_reply_lists_results_with_highlights_in_color():
    result = SearchResult("Globex grows", "https://news.test/g", "Wire", NOW, ("Globex",),
                          "sales in china rose", ((9, 14),))
    rendered = ConsoleAdapter(io.StringIO(), color=True, clock=lambda: NOW).render_reply(Reply("1 story", (result,)))
    assert "\x1b[1mchina\x1b[0m" in rendered
    plain = ConsoleAdapter(io.StringIO(), color=False, clock=lambda: NOW).render_reply(Reply("1 story", (result,)))
    assert "1. Globex grows" in plain and "sales in china rose" in plain


def test_clean_keeps_newlines_and_text():
    assert clean("a\nb\tc\x00d") == "a\nbcd"


async def test_intel_lines_typed_in_the_terminal_get_replies():
    out = io.StringIO()
    asked = []

    async def handle(command):
        asked.append((command.text, command.user))
        return Reply(f"answer to {command.text!r}")

    typed = io.StringIO("/intel globex china\n\nhelp\n")
    await ConsoleAdapter(out, color=False, clock=lambda: NOW).read_commands(handle, typed)
    assert asked == [("globex china", "console"), ("help", "console")]
    assert "answer to 'globex china'" in out.getvalue()
