"""The console adapter: readable alerts, coverage and digests, JSON lines, and no terminal tricks from the web."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone

from adapters.console import ConsoleAdapter, clean
from bot.models import (
    Alert,
    ChannelRef,
    Coverage,
    Digest,
    DigestItem,
    Outlet,
    Reply,
    SearchResult,
)

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
ALERT = Alert(
    watchlist="rivals", channel="console", companies=("Globex",),
    title="Globex \x1b]0;pwned\x07expands \x1b[2J", url="https://news.test/globex",
    source="Wire", published=NOW - timedelta(hours=3), summary="Globex opened\u202e an office.",
)
COVERAGE = Coverage(
    channel="console", story_title="Globex \x1b]0;pwned\x07expands\nnow", story_url="https://news.test/globex",
    outlets=tuple(Outlet(name, f"https://{n}.news.test/story", f"Story {n}")
                  for n, name in enumerate(["Tech\x1b[31m Daily", "Herald", "Courier\r\n", "Gazette", "Post"], 1)),
    new_companies=("Northwind", "Initech"), ids=(7, 8, 9, 10, 11),
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
    assert set(line) == {"kind", "watchlist", "channel", "companies", "title", "url", "source", "published",
                         "summary", "events"}
    assert line["kind"] == "alert" and line["companies"] == ["Globex"] and line["events"] == []
    assert line["published"] == "2026-11-26T09:00:00+00:00"


async def test_event_tags_are_one_short_line():
    out = io.StringIO()
    tagged = replace(ALERT, events=("funding", "launch"))
    await ConsoleAdapter(out, color=False, clock=lambda: NOW).post_alert(ChannelRef("console"), tagged)
    assert out.getvalue().splitlines()[1:3] == ["Wire · 3 h ago · watchlist rivals", "Funding · Product launch"]


async def test_coverage_is_one_indented_line_naming_the_story():
    out = io.StringIO()
    adapter = ConsoleAdapter(out, color=False, clock=lambda: NOW)
    assert await adapter.post_coverage(ChannelRef("console"), COVERAGE) is None
    assert out.getvalue() == (
        "  ↳ More coverage of “Globex ]0;pwnedexpands now” · Also covered by Tech[31m Daily, Herald and Courier "
        "(+2 more) · New in later coverage: Northwind and Initech.\n\n")


async def test_coverage_as_a_json_line():
    out = io.StringIO()
    await ConsoleAdapter(out, json_lines=True, clock=lambda: NOW).post_coverage(ChannelRef("console"), COVERAGE)
    [line] = out.getvalue().splitlines()
    assert json.loads(line) == {
        "kind": "coverage", "channel": "console", "story_title": COVERAGE.story_title,
        "story_url": "https://news.test/globex", "new_companies": ["Northwind", "Initech"],
        "outlets": [{"source": o.source, "url": o.url, "title": o.title} for o in COVERAGE.outlets],
    }


async def test_pings_are_not_shown_the_console_notifies_nobody():
    plain, pinging = io.StringIO(), io.StringIO()
    await ConsoleAdapter(plain, color=False, clock=lambda: NOW).post_alert(ChannelRef("console"), ALERT)
    await ConsoleAdapter(pinging, color=False, clock=lambda: NOW).post_alert(
        ChannelRef("console"), replace(ALERT, ping=("slack:S0123ABCD", "discord:123456789012345678")))
    assert pinging.getvalue() == plain.getvalue()


def stories(company: str, count: int) -> tuple[DigestItem, ...]:
    """`count` stories naming `company`, an hour apart, newest first; every other one is about it."""
    return tuple(DigestItem(f"{company} story {n}", f"https://news.test/{company.lower()}/{n}", "Wire",
                            NOW - timedelta(hours=n + 1), (company,), about=n % 2 == 0,
                            events=("funding",) if n == 0 else ())
                 for n in range(count))


DIGEST = Digest("console", "rivals", NOW - timedelta(days=1), NOW,
                (("Globex", stories("Globex", 7)), ("Northwind", stories("Northwind", 2))), total=9, ids=(1, 2))


async def test_digest_is_a_heading_and_indented_lines():
    out = io.StringIO()
    assert await ConsoleAdapter(out, color=False, clock=lambda: NOW).post_digest(ChannelRef("console"), DIGEST) is None
    assert out.getvalue() == (
        "Digest for rivals: 9 stories since Wed 25 Nov 12:00 UTC\n"
        "  Globex (7)\n"
        "    • Globex story 0 · Wire · 1 h ago\n"
        "      https://news.test/globex/0\n"
        "    ◦ Globex story 1 · Wire · 2 h ago\n"
        "      https://news.test/globex/1\n"
        "    • Globex story 2 · Wire · 3 h ago\n"
        "      https://news.test/globex/2\n"
        "    ◦ Globex story 3 · Wire · 4 h ago\n"
        "      https://news.test/globex/3\n"
        "    • Globex story 4 · Wire · 5 h ago\n"
        "      https://news.test/globex/4\n"
        "    +2 more\n"
        "  Northwind (2)\n"
        "    • Northwind story 0 · Wire · 1 h ago\n"
        "      https://news.test/northwind/0\n"
        "    ◦ Northwind story 1 · Wire · 2 h ago\n"
        "      https://news.test/northwind/1\n\n")


async def test_empty_digest_says_nothing_new():
    out = io.StringIO()
    empty = Digest("console", "rivals", None, NOW, (), total=0)
    await ConsoleAdapter(out, color=False, clock=lambda: NOW).post_digest(ChannelRef("console"), empty)
    assert out.getvalue() == "Digest for rivals: nothing new.\n\n"


async def test_digest_titles_lose_their_control_sequences():
    out = io.StringIO()
    hostile = DigestItem("Globex \x1b]0;pwned\x07expands\nnow \x1b[2J", "https://news.test/g\x1b[31m", "Wire\r",
                         NOW - timedelta(minutes=5), ("Globex",), about=True)
    digest = Digest("console", "rivals", None, NOW, (("Glo\x1bbex", (hostile,)),), total=1)
    await ConsoleAdapter(out, color=True, clock=lambda: NOW).post_digest(ChannelRef("console"), digest)
    assert out.getvalue() == (
        "\x1b[1mDigest for rivals: 1 story\x1b[0m\n"
        "  \x1b[1mGlobex (1)\x1b[0m\n"
        "    • Globex ]0;pwnedexpands now [2J · \x1b[2mWire · 5 min ago\x1b[0m\n"
        "      https://news.test/g[31m\n\n")


async def test_digest_as_a_json_line_carries_every_story():
    out = io.StringIO()
    await ConsoleAdapter(out, json_lines=True, clock=lambda: NOW).post_digest(ChannelRef("console"), DIGEST)
    [line] = out.getvalue().splitlines()
    value = json.loads(line)
    assert value == {
        "kind": "digest", "channel": "console", "watchlist": "rivals", "since": "2026-11-25T12:00:00+00:00",
        "until": "2026-11-26T12:00:00+00:00", "total": 9,
        "sections": [{"company": company, "stories": [
            {"title": item.title, "url": item.url, "source": "Wire", "published": item.published.isoformat(),
             "companies": [company], "about": item.about, "events": list(item.events)} for item in items]}
            for company, items in DIGEST.sections],
    }
    assert len(value["sections"][0]["stories"]) == 7  # all of them, not five
    assert value["sections"][0]["stories"][0] == {
        "title": "Globex story 0", "url": "https://news.test/globex/0", "source": "Wire",
        "published": "2026-11-26T11:00:00+00:00", "companies": ["Globex"], "about": True, "events": ["funding"]}
    empty = io.StringIO()
    await ConsoleAdapter(empty, json_lines=True, clock=lambda: NOW).post_digest(
        ChannelRef("console"), Digest("console", "rivals", None, NOW, ()))
    assert json.loads(empty.getvalue()) == {"kind": "digest", "channel": "console", "watchlist": "rivals",
                                            "since": None, "until": "2026-11-26T12:00:00+00:00", "total": 0,
                                            "sections": []}


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
