"""The Slack adapter against a fake Slack on 127.0.0.1 (tests/fakeslack.py), driven by the real
slack_sdk and slack-bolt clients: alerts, later coverage in their threads, digests, user-group
pings, `/intel` over Socket Mode and over signed HTTP, Slack's errors and limits, channel names,
and escaping of hostile text."""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import (
    MORE_ACTION,
    SHARE_ACTION,
    SlackAdapter,
    delivery_error,
    render_alert,
    render_coverage,
    render_digest,
    render_reply,
)
from bot.app import App
from bot.cli import chat_adapters
from bot.config import ChatConfig, SlackConfig
from bot.errors import ConfigError, DeliveryError
from bot.models import (
    Alert,
    ChannelRef,
    Command,
    Coverage,
    Digest,
    DigestItem,
    Outlet,
    Reply,
    SearchResult,
    parse_channel,
)
from bot.store import Store
from tests.fakeslack import (
    APP_TOKEN,
    BOT_TOKEN,
    SIGNING_SECRET,
    FakeSlack,
    Scripted,
    block_problems,
    pinged,
    sign,
)
from tests.support import (
    NOW,
    NewsSite,
    feed_config,
    globex_stories,
    initech_story,
    make_config,
    poll_an_alert_then_a_copy,
    rss,
)
from tests.test_cli import intelbot

WATCHLISTS = """\
  - name: rivals
    companies: [Globex, Northwind]
    channels: ["slack:C0123ABCD"]
  - name: china
    companies: [Initech]
    keywords: [china]
    channels: ["slack:#china-desk"]
"""


@pytest.fixture
async def slack():
    fake = FakeSlack()
    await fake.start()
    yield fake
    await fake.stop()


async def unused_handle(command: Command) -> Reply:
    raise AssertionError(f"no command expected, got {command}")


def adapter_for(fake: FakeSlack, handle=unused_handle, **options) -> SlackAdapter:
    options.setdefault("app_token", APP_TOKEN)
    options.setdefault("clock", lambda: NOW)
    return SlackAdapter(bot_token=BOT_TOKEN, api_url=fake.api_url, handle=handle, min_interval=0, **options)


def config_for(tmp_path, site: NewsSite, items: list[dict], watchlists: str = WATCHLISTS):
    return feed_config(tmp_path, site, items, watchlists=watchlists)


def alert(title: str = "Globex opens a plant", **fields) -> Alert:
    values = dict(watchlist="rivals", channel="slack:C0123ABCD", companies=("Globex",), title=title,
                  url="https://news.test/a?id=1&x=2", source="Wire", published=NOW - timedelta(hours=3),
                  summary="Globex Corp said it will open a plant.", why="'Globex' in the title")
    values.update(fields)
    return Alert(**values)


def all_text(payload: dict) -> str:
    """Every string of a chat.postMessage payload, joined: what Slack would parse."""
    found: list[str] = []

    def walk(value):
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(payload)
    return "\n".join(found)


# --- alerts ---------------------------------------------------------------------------------


async def test_alerts_from_the_pipeline_arrive_as_block_kit_messages(slack, news_site, tmp_path):
    config = config_for(tmp_path, news_site, [*globex_stories(news_site, 1), initech_story(news_site)])
    adapter = adapter_for(slack)
    async with App(config, {"slack": adapter}, extractor_processes=False) as app:
        _, delivery = await asyncio.wait_for(app.poll_once(), 15)

    assert len(delivery.sent) == 2 and delivery.failed == 0
    by_channel = {post["channel"]: post for post in slack.posts}
    assert set(by_channel) == {"C0123ABCD", "C0456EFGH"}  # #china-desk resolved to its id
    globex = by_channel["C0123ABCD"]
    assert globex["unfurl_links"] is False and globex["unfurl_media"] is False
    assert "link_names" not in globex and "parse" not in globex
    assert globex["text"] == "Globex: Globex opens plant number 0 in Poland (Wire)"
    section, meta, events, why = globex["blocks"]
    assert section["type"] == "section" and section["text"]["type"] == "mrkdwn"
    assert section["text"]["verbatim"] is True
    url = news_site.url("/news/globex-0.html")
    assert section["text"]["text"].startswith(f"*<{url}|Globex opens plant number 0 in Poland>*\n")
    assert "Globex Corp said it will open plant number 0" in section["text"]["text"]
    assert meta["type"] == "context" and meta["elements"][0]["text"] == "*Globex* · Wire · 1 h ago"
    assert events["elements"][0]["text"] == "Market expansion"  # the story's event tags, from the pipeline
    assert why["elements"][0]["text"].startswith("why: ")
    with Store(config.storage.path) as store:
        assert store.alert_counts() == {"pending": 0, "sent": 2, "failed": 0}


async def test_post_alert_returns_the_message_ts(slack):
    adapter = adapter_for(slack)
    await adapter.start()
    try:
        ts = await adapter.post_alert(parse_channel("slack:C0123ABCD"), alert())
    finally:
        await adapter.stop()
    assert ts == "1700000001.000100"


@pytest.mark.parametrize(
    "headline",
    ["<!channel> Globex is down", "<!here> Globex", "Ask <@U123> about Globex",
     "Globex <http://evil.test|click here>", "Globex & Northwind <b>merge</b> <!everyone>"],
)
async def test_hostile_headlines_ping_and_link_nobody(slack, headline):
    adapter = adapter_for(slack)
    hostile = alert(headline, summary=headline, source="<!subteam^S1> Wire", why=headline,
                    companies=("Globex", "<@W999>"))
    await adapter.start()
    try:
        await adapter.post_alert(parse_channel("slack:C0123ABCD"), hostile)
    finally:
        await adapter.stop()

    payload = slack.posts[0]
    text = all_text(payload)
    # The only `<…>` left is our own link to the story, with the headline escaped inside it.
    escaped = headline.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert text.count("<") == 1 and text.count(">") == 1
    assert f"*<https://news.test/a?id=1&amp;x=2|{escaped}>*" in payload["blocks"][0]["text"]["text"]
    assert payload["text"] == f"Globex, &lt;@W999&gt;: {escaped} (&lt;!subteam^S1&gt; Wire)"
    for forbidden in ("<!channel>", "<!here>", "<@U123>", "<http://evil", "<!everyone>", "<@W999>", "<!subteam"):
        assert forbidden not in text
    assert "& " not in text.replace("&amp;", "")  # every & escaped
    assert pinged(payload) == set()


def test_long_text_is_cut_at_a_word_within_block_kit_limits():
    long_title = "Globex " + "expands " * 100
    long_summary = "word " * 2000
    text, blocks = render_alert(alert(long_title, summary=long_summary, why="why " * 1000), now=NOW)
    assert len(blocks[0]["text"]["text"]) <= 3000 and len(blocks[2]["elements"][0]["text"]) <= 2000
    assert "expands…" in blocks[0]["text"]["text"] and "word…" in blocks[0]["text"]["text"]
    # Escaping can grow text fivefold (`&` → `&amp;`): limits hold after escaping too.
    ampersands = "& " * 3000
    text, blocks = render_alert(alert(ampersands, summary=ampersands, source=ampersands, why=ampersands,
                                      url="https://news.test/?" + "&" * 3000), now=NOW)
    assert len(blocks[0]["text"]["text"]) <= 3000 and len(text) <= 3000
    assert "&amp; &amp;" in blocks[0]["text"]["text"] and "&am…" not in blocks[0]["text"]["text"]
    result = SearchResult(ampersands, "https://news.test/1", ampersands, NOW, (ampersands,), ampersands, ((0, 1),))
    reply_blocks = render_reply(Reply(ampersands, (result,)), command_text="x")
    assert all(len(b["text"]["text"]) <= 3000 for b in reply_blocks if b["type"] == "section")


async def test_event_tags_are_a_small_line_under_the_source(slack):
    adapter = adapter_for(slack)
    await adapter.start()
    try:
        await adapter.post_alert(parse_channel("slack:C0123ABCD"), alert(events=("funding", "launch")))
    finally:
        await adapter.stop()
    _, meta, events, why = slack.posts[0]["blocks"]
    assert meta["elements"][0]["text"] == "*Globex* · Wire · 3 h ago"
    assert events == {"type": "context", "elements": [{"type": "mrkdwn", "text": "Funding · Product launch",
                                                       "verbatim": True}]}
    assert why["elements"][0]["text"] == "why: 'Globex' in the title"


# --- later coverage ---------------------------------------------------------------------------


def coverage(parent: str | None, *sources: str, **fields) -> Coverage:
    """Coverage of `alert()`'s story by `sources`, each at https://<n>.news.test/story."""
    sources = sources or ("Tech Daily", "Herald", "Courier", "Gazette", "Post")
    outlets = tuple(Outlet(name, f"https://{n}.news.test/story", f"Story {n}") for n, name in enumerate(sources, 1))
    return Coverage(**{"channel": "slack:#competitors", "story_title": "Globex opens a plant",
                       "story_url": "https://news.test/a?id=1&x=2", "parent_message_id": parent, "outlets": outlets,
                       "new_companies": ("Northwind", "Initech"), **fields})


async def test_later_coverage_is_one_reply_in_the_alerts_thread(slack):
    adapter = adapter_for(slack)
    channel = parse_channel("slack:#competitors")
    await adapter.start()
    try:
        parent = await adapter.post_alert(channel, alert())
        ts = await adapter.post_coverage(channel, coverage(parent))
    finally:
        await adapter.stop()

    assert (parent, ts) == ("1700000001.000100", "1700000002.000100")
    [reply] = slack.replies(parent)
    assert reply is slack.posts[1] and reply["channel"] == "C0123ABCD"  # #competitors, as for the alert
    assert reply["reply_broadcast"] is False  # stays in the thread
    assert reply["unfurl_links"] is False and reply["unfurl_media"] is False
    assert "link_names" not in reply and "parse" not in reply
    assert reply["blocks"] == [{"type": "section", "text": {"type": "mrkdwn", "verbatim": True, "text": (
        "Also covered by <https://1.news.test/story|Tech Daily>, <https://2.news.test/story|Herald> and "
        "<https://3.news.test/story|Courier> (+2 more)\n"
        "New in later coverage: Northwind and Initech.")}}]
    assert reply["text"] == ("Also covered by Tech Daily, Herald and Courier (+2 more)\n"
                             "New in later coverage: Northwind and Initech.")


def test_coverage_by_few_outlets_names_them_all_without_more():
    text, blocks = render_coverage(coverage("1700000001.000100", "Herald", "Courier", new_companies=()))
    assert blocks[0]["text"]["text"] == ("Also covered by <https://1.news.test/story|Herald> and "
                                         "<https://2.news.test/story|Courier>")
    assert text == "Also covered by Herald and Courier"


async def test_hostile_outlet_names_in_coverage_ping_and_link_nobody(slack):
    hostile = coverage("1700000001.000100", "<!channel> Wire", "@everyone", "**bold** [x](http://evil)", "<!here>",
                       new_companies=("<@U123>", "A & B"))
    first = Outlet("<!channel> Wire", "https://news.test/?a=<!here>|x>y")
    hostile = replace(hostile, outlets=(first, *hostile.outlets[1:]))
    adapter = adapter_for(slack)
    await adapter.start()
    try:
        await adapter.post_coverage(parse_channel("slack:C0123ABCD"), hostile)
    finally:
        await adapter.stop()

    [reply] = slack.posts
    assert reply["blocks"][0]["text"]["text"] == (
        "Also covered by <https://news.test/?a=&lt;!here&gt;%7Cx&gt;y|&lt;!channel&gt; Wire>, "
        "<https://2.news.test/story|@everyone> and <https://3.news.test/story|**bold** [x](http://evil)> (+1 more)\n"
        "New in later coverage: &lt;@U123&gt; and A &amp; B.")
    assert reply["text"] == ("Also covered by &lt;!channel&gt; Wire, @everyone and **bold** [x](http://evil) "
                             "(+1 more)\nNew in later coverage: &lt;@U123&gt; and A &amp; B.")
    text = all_text(reply)
    assert text.count("<") == 3 and text.count(">") == 3  # our three links, nothing else
    for forbidden in ("<!channel>", "<!here>", "<@U123>", "<http://evil"):
        assert forbidden not in text


async def test_coverage_without_a_thread_names_the_story_in_the_channel(slack):
    adapter = adapter_for(slack)
    await adapter.start()
    try:
        ts = await adapter.post_coverage(parse_channel("slack:#competitors"),
                                         coverage(None, "Herald", "<b>Courier</b>", new_companies=()))
    finally:
        await adapter.stop()
    [post] = slack.posts
    assert ts == "1700000001.000100"
    assert "thread_ts" not in post and "reply_broadcast" not in post and post["channel"] == "C0123ABCD"
    assert post["blocks"][0]["text"]["text"] == (
        "More coverage of “<https://news.test/a?id=1&amp;x=2|Globex opens a plant>”\n"
        "Also covered by <https://1.news.test/story|Herald> and <https://2.news.test/story|&lt;b&gt;Courier&lt;/b&gt;>")
    assert post["text"] == ("More coverage of “Globex opens a plant”\n"
                            "Also covered by Herald and &lt;b&gt;Courier&lt;/b&gt;")


@pytest.mark.parametrize(("answer", "permanent"), [
    (Scripted(200, {"ok": False, "error": "channel_not_found"}), True),
    (Scripted(200, {"ok": False, "error": "is_archived"}), True),
    (Scripted(503, {"ok": False, "error": "service_unavailable"}), False),
])
async def test_coverage_failures_are_classified_like_alerts(slack, answer, permanent):
    slack.then("chat.postMessage", answer)
    adapter = adapter_for(slack)
    await adapter.start()
    try:
        with pytest.raises(DeliveryError) as caught:
            await adapter.post_coverage(parse_channel("slack:C0123ABCD"), coverage("1700000001.000100"))
    finally:
        await adapter.stop()
    assert caught.value.permanent is permanent and slack.posts == []


async def test_copies_of_an_alerted_story_from_other_sources_reply_in_its_thread(slack, news_site, tmp_path):
    copy, delivery = await poll_an_alert_then_a_copy(news_site, tmp_path, {"slack": adapter_for(slack)}, WATCHLISTS, 15)

    alert_post, reply = slack.posts
    assert delivery.sent == () and len(delivery.coverage) == 1
    assert reply["thread_ts"] == "1700000001.000100" and reply["channel"] == alert_post["channel"] == "C0123ABCD"
    assert reply["blocks"][0]["text"]["text"] == f"Also covered by <{copy['link']}|Herald>"


def test_huge_coverage_stays_within_block_kit_limits():
    ampersands = "& " * 3000
    huge = Coverage("slack:C0123ABCD", ampersands, "https://news.test/?" + "a" * 400,
                    tuple(Outlet(ampersands, "https://news.test/?" + "&" * 90) for _ in range(5)),
                    parent_message_id=None, new_companies=(ampersands,) * 50)
    text, [section] = render_coverage(huge)
    assert len(section["text"]["text"]) <= 3000 and len(text) <= 3000
    assert section["text"]["text"].count("<https://news.test/") == 4  # the story and three outlets, linked
    assert "(+2 more)" in section["text"]["text"] and "New in later coverage: &amp; &amp;" in section["text"]["text"]


# --- user-group pings ---------------------------------------------------------------------------


async def test_an_alert_pings_exactly_its_user_groups(slack):
    adapter = adapter_for(slack)
    pinging = alert("<!channel> Globex opens a plant", ping=("slack:S0123ABCD", "discord:123456789012345678"))
    await adapter.start()
    try:
        await adapter.post_alert(parse_channel("slack:C0123ABCD"), pinging)
    finally:
        await adapter.stop()

    [post] = slack.posts
    assert post["blocks"][0]["text"]["text"] == (
        "<!subteam^S0123ABCD> *<https://news.test/a?id=1&amp;x=2|&lt;!channel&gt; Globex opens a plant>*\n"
        "Globex Corp said it will open a plant.")
    assert post["text"] == "<!subteam^S0123ABCD> Globex: &lt;!channel&gt; Globex opens a plant (Wire)"
    assert pinged(post) == {"subteam:S0123ABCD"}
    assert all_text(post).count("<!") == 2  # the group's mention in the section and in `text`, nothing else
    assert "link_names" not in post and "parse" not in post


async def test_a_watchlists_user_group_is_pinged_for_stories_about_its_companies(slack, news_site, tmp_path):
    ping = '    ping: ["slack:S0123ABCD", "discord:123456789012345678"]\n'
    watchlists = WATCHLISTS.replace('    channels: ["slack:C0123ABCD"]\n', '    channels: ["slack:C0123ABCD"]\n' + ping)
    config = config_for(tmp_path, news_site, [*globex_stories(news_site, 1), initech_story(news_site)], watchlists)
    async with App(config, {"slack": adapter_for(slack)}, extractor_processes=False) as app:
        await asyncio.wait_for(app.poll_once(), 15)

    by_channel = {post["channel"]: post for post in slack.posts}
    assert by_channel["C0123ABCD"]["text"] == (
        "<!subteam^S0123ABCD> Globex: Globex opens plant number 0 in Poland (Wire)")
    assert pinged(by_channel["C0123ABCD"]) == {"subteam:S0123ABCD"}
    assert pinged(by_channel["C0456EFGH"]) == set()  # the china watchlist names no one to ping


def test_each_user_group_is_mentioned_once_and_nothing_but_group_ids():
    ping = ("slack:S0123ABCD", "discord:123456789012345678", "slack:S0456EFGH", "slack:S0123ABCD",
            "slack:S1> <!channel", "slack:U0ALICE", "slack:")
    text, blocks = render_alert(alert(ping=ping), now=NOW)
    assert text.startswith("<!subteam^S0123ABCD> <!subteam^S0456EFGH> Globex: Globex opens a plant")
    assert blocks[0]["text"]["text"].startswith("<!subteam^S0123ABCD> <!subteam^S0456EFGH> *<https://news.test/")
    assert pinged({"text": text, "blocks": blocks}) == {"subteam:S0123ABCD", "subteam:S0456EFGH"}


def test_a_pinging_alert_still_fits_block_kit_limits():
    ping = tuple(f"slack:S{n:08d}" for n in range(20))
    text, blocks = render_alert(alert("& " * 3000, summary="& " * 3000, ping=ping), now=NOW)
    assert block_problems(blocks) is None and len(text) <= 3000
    assert pinged({"text": text, "blocks": blocks}) == {f"subteam:S{n:08d}" for n in range(20)}


# --- digests ----------------------------------------------------------------------------------

WHEN = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)  # a Thursday


def stories(company: str, count: int, **fields) -> tuple[DigestItem, ...]:
    """`count` stories naming `company`, an hour apart, newest first; every other one is about it."""
    return tuple(DigestItem(**{"title": f"{company} story {n}",
                               "url": f"https://news.test/{company.lower()}/{n}?a=1&b=2", "source": "Wire",
                               "published": WHEN - timedelta(hours=n + 1), "companies": (company,),
                               "about": n % 2 == 0, **fields})
                 for n in range(count))


def digest(*sections: tuple[str, tuple[DigestItem, ...]], since: datetime | None = WHEN - timedelta(days=1)) -> Digest:
    return Digest("slack:C0123ABCD", "rivals", since, WHEN, sections, total=sum(len(items) for _, items in sections))


async def post_digest(fake: FakeSlack, value: Digest) -> str | None:
    adapter = adapter_for(fake, clock=lambda: WHEN)
    await adapter.start()
    try:
        return await adapter.post_digest(parse_channel("slack:C0123ABCD"), value)
    finally:
        await adapter.stop()


def section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "verbatim": True, "text": text}}


async def test_a_digest_is_one_message_with_a_section_per_company(slack):
    ts = await post_digest(slack, digest(("Globex", stories("Globex", 7)), ("Northwind", stories("Northwind", 7))))

    [post] = slack.posts
    assert ts == "1700000001.000100" and post["channel"] == "C0123ABCD"
    assert post["unfurl_links"] is False and post["unfurl_media"] is False
    assert "link_names" not in post and "parse" not in post and "thread_ts" not in post
    assert post["text"] == "Digest for rivals: 14 stories since Wed 25 Nov 12:00 UTC"
    assert post["blocks"] == [
        section("*Digest for rivals: 14 stories since Wed 25 Nov 12:00 UTC*"),
        section("*Globex (7)*\n"
                "• <https://news.test/globex/0?a=1&amp;b=2|Globex story 0> · Wire · 1 h ago\n"
                "◦ <https://news.test/globex/1?a=1&amp;b=2|Globex story 1> · Wire · 2 h ago\n"
                "• <https://news.test/globex/2?a=1&amp;b=2|Globex story 2> · Wire · 3 h ago\n"
                "◦ <https://news.test/globex/3?a=1&amp;b=2|Globex story 3> · Wire · 4 h ago\n"
                "• <https://news.test/globex/4?a=1&amp;b=2|Globex story 4> · Wire · 5 h ago\n"
                "+2 more"),
        section("*Northwind (7)*\n"
                "• <https://news.test/northwind/0?a=1&amp;b=2|Northwind story 0> · Wire · 1 h ago\n"
                "◦ <https://news.test/northwind/1?a=1&amp;b=2|Northwind story 1> · Wire · 2 h ago\n"
                "• <https://news.test/northwind/2?a=1&amp;b=2|Northwind story 2> · Wire · 3 h ago\n"
                "◦ <https://news.test/northwind/3?a=1&amp;b=2|Northwind story 3> · Wire · 4 h ago\n"
                "• <https://news.test/northwind/4?a=1&amp;b=2|Northwind story 4> · Wire · 5 h ago\n"
                "+2 more"),
    ]
    assert pinged(post) == set()


def test_a_first_digest_has_no_period_and_a_small_company_no_more_line():
    text, blocks = render_digest(digest(("Globex", stories("Globex", 1)), since=None), now=WHEN)
    assert text == "Digest for rivals: 1 story"
    assert blocks[1:] == [
        section("*Globex (1)*\n• <https://news.test/globex/0?a=1&amp;b=2|Globex story 0> · Wire · 1 h ago")]


async def test_hostile_titles_in_a_digest_ping_and_link_nobody(slack):
    titles = ["<!channel> Globex is down", "@everyone Globex", "**x** Globex", "[x](http://evil) Globex",
              "Globex <@U123> & <http://evil.test|click>", "javascript link <!here>"]
    items = tuple(DigestItem(title, f"https://news.test/{n}", "<!here> Wire", WHEN - timedelta(hours=1), ("Globex",),
                             about=True) for n, title in enumerate(titles))
    items = (*items[:5], replace(items[5], url="javascript:alert(1)"))
    await post_digest(slack, digest(("A&B <!channel>", items[4:]), ("Globex", items[:5])))

    [post] = slack.posts
    assert post["blocks"][1:] == [
        section("*A&amp;B &lt;!channel&gt; (2)*\n"
                "• <https://news.test/4|Globex &lt;@U123&gt; &amp; &lt;http://evil.test|click&gt;> "
                "· &lt;!here&gt; Wire · 1 h ago\n"
                "• javascript link &lt;!here&gt; · &lt;!here&gt; Wire · 1 h ago"),  # no link: not http(s)
        section("*Globex (5)*\n"
                "• <https://news.test/0|&lt;!channel&gt; Globex is down> · &lt;!here&gt; Wire · 1 h ago\n"
                "• <https://news.test/1|@everyone Globex> · &lt;!here&gt; Wire · 1 h ago\n"
                "• <https://news.test/2|**x** Globex> · &lt;!here&gt; Wire · 1 h ago\n"
                "• <https://news.test/3|[x](http://evil) Globex> · &lt;!here&gt; Wire · 1 h ago\n"
                "• <https://news.test/4|Globex &lt;@U123&gt; &amp; &lt;http://evil.test|click&gt;> "
                "· &lt;!here&gt; Wire · 1 h ago"),
    ]
    text = all_text(post)
    assert pinged(post) == set()
    assert text.count("<") == text.count(">") == 6  # our six links, nothing else


async def test_an_empty_digest_says_nothing_new(slack):
    await post_digest(slack, digest())
    [post] = slack.posts
    assert post["text"] == "Digest for rivals: nothing new since Wed 25 Nov 12:00 UTC."
    assert post["blocks"] == [section("Digest for rivals: nothing new since Wed 25 Nov 12:00 UTC.")]
    assert render_digest(digest(since=None), now=WHEN)[0] == "Digest for rivals: nothing new."


async def test_a_huge_digest_stays_within_slacks_limits(slack):
    long_title = "Globex " + "expands " * 60
    huge = digest(*((f"Globex Holdings International {n}", stories("Globex", 20, title=long_title)) for n in range(50)))
    assert await post_digest(slack, huge)

    assert slack.rejected == []
    [post] = slack.posts
    heading, *sections, rest = post["blocks"]
    assert heading == section("*Digest for rivals: 1000 stories since Wed 25 Nov 12:00 UTC*")
    assert 3 < len(sections) < 48 and all(s["text"]["text"].endswith("\n+15 more") for s in sections)
    assert sections[0]["text"]["text"].startswith(
        "*Globex Holdings International 0 (20)*\n• <https://news.test/globex/0?a=1&amp;b=2|Globex expands expands")
    # The companies that did not fit, with their counts, as many as fit in one small line.
    assert rest["type"] == "context"
    named = re.fullmatch(r"(.+) \+(\d+) more", rest["elements"][0]["text"])
    assert named is not None and len(rest["elements"][0]["text"]) <= 1000
    listed = named.group(1).split(" · ")
    first = len(sections)
    assert listed == [f"Globex Holdings International {n} (20)" for n in range(first, first + len(listed))]
    assert len(listed) + int(named.group(2)) == 50 - len(sections)


async def test_every_company_fits_one_section_however_long_its_stories(slack):
    # Each part at its longest after escaping (`&` grows fivefold): the link is kept.
    worst = tuple(DigestItem("& " * 500, "https://news.test/?" + "&" * 66, "& " * 500, WHEN - timedelta(days=400),
                             ("Globex",)) for _ in range(20))
    await post_digest(slack, digest(*(("& " * 500, worst) for _ in range(4))))

    assert slack.rejected == []
    [post] = slack.posts
    _, *sections, rest = post["blocks"]
    assert all(2800 < len(s["text"]["text"]) <= 3000 for s in sections) and len(sections) == 3
    assert sections[0]["text"]["text"].count("<https://news.test/?&amp;&amp;") == 5
    assert rest["elements"][0]["text"].endswith(" (20)") and "&amp; &amp;" in rest["elements"][0]["text"]


@pytest.mark.parametrize(("answer", "permanent"), [
    (Scripted(200, {"ok": False, "error": "channel_not_found"}), True),
    (Scripted(200, {"ok": False, "error": "is_archived"}), True),
    (Scripted(200, {"ok": False, "error": "invalid_blocks"}), True),
    (Scripted(200, {"ok": False, "error": "msg_blocks_too_long"}), True),
    (Scripted(503, {"ok": False, "error": "service_unavailable"}), False),
])
async def test_digest_failures_are_classified_like_alerts(slack, answer, permanent):
    slack.then("chat.postMessage", answer)
    with pytest.raises(DeliveryError) as caught:
        await post_digest(slack, digest(("Globex", stories("Globex", 2))))
    assert caught.value.permanent is permanent and slack.posts == []


async def test_a_rate_limited_digest_is_posted_once(slack):
    slack.then("chat.postMessage", Scripted(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "0"}))
    assert await asyncio.wait_for(post_digest(slack, digest(("Globex", stories("Globex", 2)))), 10)
    assert slack.calls.count("chat.postMessage") == 2 and len(slack.posts) == 1


def test_the_fake_refuses_what_slack_refuses():
    def text(length: int) -> dict:
        return section("x" * length)

    assert block_problems([text(3000)]) is None
    assert block_problems([text(3001)]) == (
        "invalid_blocks", ["must be less than 3001 characters [json-pointer:/blocks/0/text/text]"])
    assert block_problems([text(1)] * 51) == (
        "invalid_blocks", ["no more than 50 items allowed [json-pointer:/blocks]"])
    assert block_problems([text(2900)] * 4) == ("msg_blocks_too_long", [])
    assert pinged({"text": "<!channel> &lt;!here&gt; @everyone", "blocks": [
        section("<!subteam^S1|@team> <@U1> <!date^1^{date}|x>")]}) == {"channel", "subteam:S1", "user:U1"}
    assert pinged({"text": "@here", "link_names": True}) == {"here"}


async def test_the_fake_refuses_oversize_blocks_as_slack_does(slack):
    client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url)
    for blocks, code in (([section("x")] * 51, "invalid_blocks"), ([section("x" * 2900)] * 4, "msg_blocks_too_long")):
        with pytest.raises(SlackApiError) as caught:
            await client.chat_postMessage(channel="C0123ABCD", text="x", blocks=blocks)
        assert caught.value.response["error"] == code
        assert delivery_error(caught.value, channel="slack:C0123ABCD").permanent
    assert len(slack.rejected) == 2 and slack.posts == []


# --- Slack's errors ---------------------------------------------------------------------------


async def test_rate_limited_then_delivered_exactly_once(slack):
    slack.then("chat.postMessage", Scripted(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "0"}))
    adapter = adapter_for(slack)
    await adapter.start()
    try:
        ts = await asyncio.wait_for(adapter.post_alert(parse_channel("slack:C0123ABCD"), alert()), 10)
    finally:
        await adapter.stop()
    assert ts is not None
    assert slack.calls.count("chat.postMessage") == 2 and len(slack.posts) == 1


async def test_rate_limited_after_retries_is_temporary_with_retry_after(slack):
    limited = Scripted(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "0"})
    slack.then("chat.postMessage", limited, limited, limited)
    adapter = adapter_for(slack)
    await adapter.start()
    try:
        with pytest.raises(DeliveryError) as caught:
            await asyncio.wait_for(adapter.post_alert(parse_channel("slack:C0123ABCD"), alert()), 10)
    finally:
        await adapter.stop()
    assert caught.value.permanent is False and caught.value.retry_after == 0
    assert slack.posts == []


async def test_server_errors_are_temporary(slack):
    slack.then("chat.postMessage", Scripted(503, {"ok": False, "error": "service_unavailable"}))
    adapter = adapter_for(slack)
    await adapter.start()
    try:
        with pytest.raises(DeliveryError) as caught:
            await adapter.post_alert(parse_channel("slack:C0123ABCD"), alert())
    finally:
        await adapter.stop()
    assert caught.value.permanent is False


@pytest.mark.parametrize("code", ["channel_not_found", "not_in_channel", "is_archived", "invalid_auth",
                                  "account_inactive"])
async def test_refusals_that_retrying_cannot_fix_are_permanent(slack, code):
    slack.then("chat.postMessage", Scripted(200, {"ok": False, "error": code}))
    adapter = adapter_for(slack)
    await adapter.start()
    try:
        with pytest.raises(DeliveryError) as caught:
            await adapter.post_alert(parse_channel("slack:C0123ABCD"), alert())
    finally:
        await adapter.stop()
    assert caught.value.permanent is True
    assert code in str(caught.value) and BOT_TOKEN not in str(caught.value)
    if code in ("channel_not_found", "not_in_channel"):
        assert "/invite @intelbot in C0123ABCD" in str(caught.value)


async def test_an_unknown_channel_fails_alone_and_the_next_alert_goes_out(slack, news_site, tmp_path):
    watchlists = WATCHLISTS.replace("slack:C0123ABCD", "slack:C0GONE000")
    config = config_for(tmp_path, news_site, [*globex_stories(news_site, 1), initech_story(news_site)], watchlists)
    async with App(config, {"slack": adapter_for(slack)}, extractor_processes=False) as app:
        _, delivery = await asyncio.wait_for(app.poll_once(), 15)
    assert delivery.failed == 1 and [a.channel for a in delivery.sent] == ["slack:#china-desk"]
    assert [post["channel"] for post in slack.posts] == ["C0456EFGH"]
    with Store(config.storage.path) as store:
        assert store.alert_counts() == {"pending": 0, "sent": 1, "failed": 1}


async def test_an_unknown_channel_name_is_permanent_with_a_hint(slack):
    adapter = adapter_for(slack)
    await adapter.start()
    try:
        with pytest.raises(DeliveryError) as caught:
            await adapter.post_alert(parse_channel("slack:#nowhere"), alert())
    finally:
        await adapter.stop()
    assert caught.value.permanent is True
    assert "#nowhere" in str(caught.value) and "/invite @intelbot in #nowhere" in str(caught.value)


async def test_channel_names_are_resolved_once(slack):
    slack.channels.update({"C0000AAAA": "aaa", "C0000BBBB": "bbb"})  # several pages to list
    adapter = adapter_for(slack)
    await adapter.start()
    try:
        await adapter.post_alert(parse_channel("slack:#board"), alert("first"))  # private, last page
        await adapter.post_alert(parse_channel("slack:#board"), alert("second"))
    finally:
        await adapter.stop()
    assert [post["channel"] for post in slack.posts] == ["G0789IJKL", "G0789IJKL"]
    pages = slack.calls.count("conversations.list")
    assert pages == 3  # 5 channels, 2 a page: one listing, paginated, for both alerts


async def test_messages_to_one_channel_are_paced(slack):
    adapter = SlackAdapter(bot_token=BOT_TOKEN, app_token=APP_TOKEN, api_url=slack.api_url,
                           handle=unused_handle, min_interval=0.2)
    await adapter.start()
    loop = asyncio.get_running_loop()
    try:
        started = loop.time()
        await asyncio.gather(*(adapter.post_alert(parse_channel("slack:C0123ABCD"), alert(str(n)))
                               for n in range(3)))
        elapsed = loop.time() - started
    finally:
        await adapter.stop()
    assert len(slack.posts) == 3 and elapsed >= 0.4


async def test_a_bad_bot_token_stops_start_without_showing_it(slack):
    adapter = SlackAdapter(bot_token="xoxb-wrong", app_token=APP_TOKEN, api_url=slack.api_url,
                           handle=unused_handle)
    with pytest.raises(DeliveryError) as caught:
        await adapter.start()
    assert "invalid_auth" in str(caught.value) and "xoxb" not in str(caught.value)


async def test_a_bad_app_token_stops_start_without_showing_it(slack):
    adapter = SlackAdapter(bot_token=BOT_TOKEN, app_token="xapp-wrong", api_url=slack.api_url,
                           handle=unused_handle)
    with pytest.raises(DeliveryError) as caught:
        await asyncio.wait_for(adapter.start(), 5)
    assert "SLACK_APP_TOKEN" in str(caught.value) and "xapp-wrong" not in str(caught.value)


# --- /intel over Socket Mode ------------------------------------------------------------------


class LateApp:
    """The adapter answers through the App it is part of: bound after App is built."""

    app: App | None = None

    async def handle(self, command: Command) -> Reply:
        assert self.app is not None
        self.commands = [*getattr(self, "commands", []), command]
        return await self.app.commands.handle(command)


async def test_intel_over_socket_mode_with_more_and_share(slack, news_site, tmp_path):
    config = config_for(tmp_path, news_site, globex_stories(news_site, 7))
    late = LateApp()
    adapter = adapter_for(slack, late.handle)
    async with App(config, {"slack": adapter}, extractor_processes=False) as app:
        late.app = app
        await asyncio.wait_for(app.poll_once(), 15)

        ack = await asyncio.wait_for(slack.send("slash_commands", slack.slash_command("globex poland")), 5)
        answer = await slack.next_response()
        assert ack["envelope_id"].startswith("env-")
        assert late.commands[0] == Command("globex poland", user="slack:U0ALICE", channel="slack:C0123ABCD")
        assert answer["response_type"] == "ephemeral"
        titles = [b["text"]["text"] for b in answer["blocks"] if b["type"] == "section"][1:]
        assert len(titles) == 5 and all("Globex opens plant number" in t for t in titles)
        assert answer["blocks"][2]["text"]["text"].endswith("\nGlobex opens plant number 0 in *Poland*")
        assert answer["blocks"][3]["elements"][0]["text"].endswith(" · Globex")
        actions = answer["blocks"][-1]
        assert actions["type"] == "actions"
        buttons = {b["action_id"]: b["value"] for b in actions["elements"]}
        assert buttons.keys() == {SHARE_ACTION, MORE_ACTION} and buttons[SHARE_ACTION] == "globex poland"
        assert re.fullmatch(r"globex poland after:[0-9a-z.]+", buttons[MORE_ACTION])

        await asyncio.wait_for(slack.send("interactive", slack.button_click(MORE_ACTION, buttons[MORE_ACTION])), 5)
        page_two = await slack.next_response()
        more_titles = [b["text"]["text"] for b in page_two["blocks"] if b["type"] == "section"][1:]
        assert len(more_titles) == 2 and page_two["response_type"] == "ephemeral"
        assert not set(more_titles) & set(titles)

        await asyncio.wait_for(slack.send("interactive", slack.button_click(SHARE_ACTION, "globex poland")), 5)
        shared = await slack.next_response()
        assert shared["response_type"] == "in_channel"
        assert [b["text"]["text"] for b in shared["blocks"] if b["type"] == "section"][1:] == titles
        assert shared["blocks"][-1]["elements"][0]["text"] == "Shared by <@U0ALICE>"
        assert all(b["type"] != "actions" for b in shared["blocks"])


async def test_intel_help_over_socket_mode(slack):
    async def handle(command: Command) -> Reply:
        return Reply("Look up stored stories: /intel <companies and words>")

    adapter = adapter_for(slack, handle)
    await adapter.start()
    try:
        await asyncio.wait_for(slack.send("slash_commands", slack.slash_command("")), 5)
        answer = await slack.next_response()
    finally:
        await adapter.stop()
    assert answer["blocks"][0]["text"]["text"] == "Look up stored stories: /intel &lt;companies and words&gt;"
    assert answer["text"] == answer["blocks"][0]["text"]["text"]


async def test_a_failing_lookup_still_gets_an_answer(slack):
    async def handle(command: Command) -> Reply:
        raise RuntimeError("database on fire")

    adapter = adapter_for(slack, handle)
    await adapter.start()
    try:
        await asyncio.wait_for(slack.send("slash_commands", slack.slash_command("globex")), 5)
        answer = await slack.next_response()
    finally:
        await adapter.stop()
    assert "could not answer" in answer["text"] and "fire" not in answer["text"]


# --- /intel over signed HTTP ------------------------------------------------------------------


@pytest.fixture
async def http_adapter(slack):
    commands: list[Command] = []

    async def handle(command: Command) -> Reply:
        commands.append(command)
        return Reply("1 story for “globex”, best first:", (SearchResult(
            "Globex <!here> opens a plant", "https://news.test/1", "Wire", NOW, ("Globex",),
            "Globex Corp said it will open a plant", ((0, 6),)),))

    adapter = SlackAdapter(bot_token=BOT_TOKEN, signing_secret=SIGNING_SECRET, api_url=slack.api_url,
                           mode="http", http_port=0, handle=handle, min_interval=0)
    await adapter.start()
    adapter.commands = commands
    yield adapter
    await adapter.stop()


async def post_command(adapter: SlackAdapter, body: bytes, headers: dict) -> int:
    url = f"http://127.0.0.1:{adapter.http_port}/slack/events"
    headers = {"Content-Type": "application/x-www-form-urlencoded", **headers}
    async with aiohttp.ClientSession() as session:
        async with session.post(url, data=body, headers=headers, timeout=aiohttp.ClientTimeout(total=5)) as response:
            return response.status


async def test_intel_over_signed_http(slack, http_adapter):
    body = urlencode(slack.slash_command("globex")).encode()
    assert await post_command(http_adapter, body, sign(body)) == 200
    answer = await slack.next_response()
    assert http_adapter.commands == [Command("globex", user="slack:U0ALICE", channel="slack:C0123ABCD")]
    result = answer["blocks"][2]["text"]["text"]
    assert result == "*<https://news.test/1|Globex &lt;!here&gt; opens a plant>*\n*Globex* Corp said it will open a plant"
    assert answer["blocks"][3]["elements"][0]["text"].startswith("Wire · <!date^")


@pytest.mark.parametrize(
    "forge",
    [
        lambda body: sign(body, secret="wrong-secret"),
        lambda body: sign(body + b"&text=tampered"),
        lambda body: sign(body, timestamp=int(time.time()) - 301),
        lambda body: {},
        lambda body: {"X-Slack-Request-Timestamp": str(int(time.time()))},
    ],
    ids=["wrong secret", "tampered body", "stale", "no headers", "no signature"],
)
async def test_requests_not_signed_by_slack_are_refused(slack, http_adapter, forge):
    body = urlencode(slack.slash_command("globex")).encode()
    assert await post_command(http_adapter, body, forge(body)) == 401
    assert http_adapter.commands == []
    assert slack.responses.empty()


# --- rendering --------------------------------------------------------------------------------


def test_reply_without_results_or_command_has_no_buttons():
    blocks = render_reply(Reply("No stored stories naming Globex."))
    assert [b["type"] for b in blocks] == ["section"]


def test_highlights_are_bold_and_escaped():
    result = SearchResult("T", "https://news.test/1", "Wire", NOW, (), "a <b> & Globex", ((2, 5), (8, 14)))
    blocks = render_reply(Reply("h", (result,)), command_text="globex")
    assert blocks[2]["text"]["text"] == "*<https://news.test/1|T>*\na *&lt;b&gt;* &amp; *Globex*"


async def test_post_reply_posts_in_the_channel(slack):
    adapter = adapter_for(slack)
    await adapter.start()
    try:
        ts = await adapter.post_reply(ChannelRef("slack", "C0123ABCD"), Reply("hello <!channel>"))
    finally:
        await adapter.stop()
    assert ts and slack.posts[0]["text"] == "hello &lt;!channel&gt;"


# --- the intelbot command with Slack ----------------------------------------------------------


def slack_config(tmp_path, feed: str, api_url: str) -> Path:
    path = tmp_path / "intelbot.yaml"
    path.write_text(f"""\
storage:
  path: intel.db
fetch:
  allow_private_networks: true
  host_delay: 0s
sources:
  - name: Wire
    url: {feed}
companies:
  - name: Globex
watchlists:
  - name: rivals
    companies: [Globex]
    channels: ["slack:#competitors"]
alerts:
  backlog: 7d
chat:
  slack:
    api_url: {api_url}
""", encoding="utf-8")
    return path


async def test_poll_posts_to_slack_with_only_the_bot_token(slack, news_site, tmp_path):
    feed = news_site.put("/feed.xml", rss(globex_stories(news_site, 1)), "application/rss+xml")
    config = slack_config(tmp_path, feed, slack.api_url)
    status, _, err = await intelbot("poll", "--config", str(config), cwd=tmp_path,
                                    env={"SLACK_BOT_TOKEN": BOT_TOKEN})
    assert status == 0, err
    assert [post["channel"] for post in slack.posts] == ["C0123ABCD"]
    assert "apps.connections.open" not in slack.calls  # a one-shot poll does not listen
    assert BOT_TOKEN not in err


@pytest.mark.parametrize(
    ("command", "env", "missing"),
    [
        ("poll", {}, "SLACK_BOT_TOKEN"),
        ("run", {"SLACK_BOT_TOKEN": "xoxb-very-secret"}, "SLACK_APP_TOKEN"),
    ],
)
async def test_missing_slack_tokens_are_named_not_shown(tmp_path, command, env, missing):
    config = slack_config(tmp_path, "https://news.example.com/feed.xml", "https://slack.com/api/")
    status, out, err = await intelbot(command, "--config", str(config), cwd=tmp_path, env=env)
    assert status == 2
    assert missing in err and "slack-manifest.yaml" in err
    assert "xoxb-very-secret" not in out + err


def test_slack_runs_when_configured_or_when_a_token_is_set(tmp_path):
    async def handle(command: Command) -> Reply:
        raise AssertionError

    console_only = make_config(tmp_path, [])
    assert set(chat_adapters(console_only, handle, environ={})) == {"console"}
    tokens = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN}
    assert set(chat_adapters(console_only, handle, environ=tokens)) == {"console", "slack"}
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET"):
        http = make_config(tmp_path, [], watchlists=WATCHLISTS).model_copy(
            update={"chat": ChatConfig(slack=SlackConfig(mode="http"))})
        chat_adapters(http, handle, environ=tokens)


def test_slash_command_text_arrives_as_typed():
    from adapters.slack import to_command
    command = to_command("watch add &quot;AT&amp;T&quot; &lt;b&gt; <https://feeds.test/a?x=1&amp;y=2>",
                         {"user_id": "U0ALICE", "channel_id": "C0123ABCD"})
    assert command.text == "watch add &quot;AT&T&quot; <b> <https://feeds.test/a?x=1&y=2>"
    assert (command.user, command.channel) == ("slack:U0ALICE", "slack:C0123ABCD")

