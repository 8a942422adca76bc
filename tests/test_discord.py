"""The Discord adapter against a fake Discord on 127.0.0.1 (tests/fakediscord.py), driven by the
real discord.py client: alerts as embeds, later coverage as replies to them, digests, role
pings, `/intel` and its autocomplete over the gateway, Discord's errors and rate limits, size
limits, and escaping of hostile text.

discord.py is pointed at the fake only through its base URLs (`Route.BASE`, the gateway URL),
set with monkeypatch for the length of each test."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import discord
import pytest
import yarl
from discord.gateway import DiscordWebSocket

from adapters.discord import (
    DiscordAdapter,
    DiscordWebhookAdapter,
    render_alert,
    render_coverage,
    render_digest,
    render_reply,
)
from bot.app import App
from bot.cli import chat_adapters
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
    webhook_variable,
)
from bot.query import complete_companies
from tests.fakediscord import (
    CHANNEL_ID,
    GUILD_ID,
    OTHER_CHANNEL_ID,
    TOKEN,
    USER_ID,
    FakeDiscord,
    Scripted,
    limit_problems,
    missing_permissions,
    pinged,
    rate_limited,
)
from tests.support import (
    NOW,
    NewsSite,
    feed_config,
    globex_stories,
    hours_ago,
    initech_story,
    make_config,
    poll_an_alert_then_a_copy,
)
from tests.test_cli import intelbot

COMPANIES = ["Globex", "Northwind", "Initech"]
WATCHLISTS = f"""\
  - name: rivals
    companies: [Globex, Northwind]
    channels: ["discord:{CHANNEL_ID}"]
  - name: china
    companies: [Initech]
    keywords: [china]
    channels: ["discord:{OTHER_CHANNEL_ID}"]
"""


@pytest.fixture
async def fake(monkeypatch):
    server = FakeDiscord()
    await server.start()
    monkeypatch.setattr(discord.http.Route, "BASE", server.api_base)
    monkeypatch.setattr(DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(server.gateway_url))
    yield server
    await server.stop()


async def unused_handle(command: Command) -> Reply:
    raise AssertionError(f"no command expected, got {command}")


def adapter_for(handle=unused_handle, **options) -> DiscordAdapter:
    options.setdefault("listen", False)
    options.setdefault("clock", lambda: NOW)
    return DiscordAdapter(token=TOKEN, handle=handle, companies=COMPANIES, ready_timeout=10, **options)


class Running:
    """An adapter started for the length of an `async with`, bounded in time."""

    def __init__(self, adapter: DiscordAdapter):
        self.adapter = adapter

    async def __aenter__(self) -> DiscordAdapter:
        await asyncio.wait_for(self.adapter.start(), 15)
        return self.adapter

    async def __aexit__(self, *exc_info) -> None:
        await asyncio.wait_for(self.adapter.stop(), 15)


def config_for(tmp_path, site: NewsSite, items: list[dict], watchlists: str = WATCHLISTS):
    return feed_config(tmp_path, site, items, watchlists=watchlists)


def alert(title: str = "Globex opens a plant", **fields) -> Alert:
    values = dict(watchlist="rivals", channel=f"discord:{CHANNEL_ID}", companies=("Globex",), title=title,
                  url="https://news.test/a?id=1&x=2", source="Wire", published=NOW - timedelta(hours=3),
                  summary="Globex Corp said it will open a plant.", why="'Globex' in the title")
    values.update(fields)
    return Alert(**values)


# --- alerts ---------------------------------------------------------------------------------


async def test_alerts_from_the_pipeline_arrive_as_embeds(fake, news_site, tmp_path):
    config = config_for(tmp_path, news_site, [*globex_stories(news_site, 1), initech_story(news_site)])
    adapter = adapter_for()
    async with App(config, {"discord": adapter}, extractor_processes=False) as app:
        _, delivery = await asyncio.wait_for(app.poll_once(), 20)

    assert len(delivery.sent) == 2 and delivery.failed == 0
    by_channel = {m["channel_id"]: m["payload"] for m in fake.messages}
    assert set(by_channel) == {CHANNEL_ID, OTHER_CHANNEL_ID}
    globex = by_channel[CHANNEL_ID]
    assert globex["allowed_mentions"] == {"parse": []}
    assert not globex.get("content")
    [embed] = globex["embeds"]
    assert embed["title"] == "Globex opens plant number 0 in Poland"
    assert embed["url"] == news_site.url("/news/globex-0.html")
    assert "Globex Corp said it will open plant number 0" in embed["description"]
    assert embed["fields"] == [{"name": "Companies", "value": "Globex", "inline": True},
                               {"name": "Source", "value": "Wire · 1 h ago", "inline": True},
                               {"name": "Events", "value": "Market expansion", "inline": True}]  # from the pipeline
    assert embed["footer"]["text"].startswith("why: ")
    assert embed["timestamp"].startswith(hours_ago(1).strftime("%Y-%m-%d"))
    assert limit_problems(globex) == []
    # A one-shot poll logs in over REST and never opens the gateway.
    assert not fake.identified.is_set()
    assert fake.calls[:2] == ["GET /users/@me", "GET /oauth2/applications/@me"]


@pytest.mark.parametrize(
    ("headline", "shown"),
    [
        ("@everyone Globex is hiring", "@everyone Globex is hiring"),
        ("@here Globex layoffs", "@here Globex layoffs"),
        ("Globex CEO <@123> and <@&456> speak", "Globex CEO <@123> and <@&456> speak"),
        ("Globex **bold** move", "Globex \\*\\*bold\\*\\* move"),
        ("Globex [x](http://evil) deal", "Globex \\[x](http://evil) deal"),
        ("Globex __under__ ~~strike~~ ||spoiler|| `code`",
         "Globex \\_\\_under\\_\\_ \\~\\~strike\\~\\~ \\|\\|spoiler\\|\\| \\`code\\`"),
    ],
)
async def test_hostile_headlines_ping_nobody_and_cannot_format(fake, headline, shown):
    async with Running(adapter_for()) as adapter:
        message_id = await asyncio.wait_for(
            adapter.post_alert(ChannelRef("discord", CHANNEL_ID),
                               alert(headline, summary=headline, source="**Wire** @everyone")), 10)
    assert message_id and message_id.isdigit()
    [message] = fake.messages
    payload = message["payload"]
    assert payload["allowed_mentions"] == {"parse": []} and pinged(payload) == set()
    [embed] = payload["embeds"]
    assert embed["title"] == shown
    assert embed["description"] == shown
    assert embed["fields"][1]["value"].startswith("\\*\\*Wire\\*\\* @everyone · ")


async def test_a_very_long_story_is_shortened_to_discords_limits(fake):
    long_title = "Globex " + " ".join(f"word{n}" for n in range(200))
    long_summary = "Globex said " + " ".join(f"**thing{n}**" for n in range(2000))
    many = tuple(f"Company{n}" for n in range(300))
    async with Running(adapter_for()) as adapter:
        await asyncio.wait_for(adapter.post_alert(
            ChannelRef("discord", CHANNEL_ID),
            alert(long_title, summary=long_summary, companies=many, source="Wire " * 200, why="x " * 2000),
        ), 10)
    assert fake.rejected == []
    [embed] = fake.messages[0]["payload"]["embeds"]
    assert len(embed["title"]) <= 256 and embed["title"].endswith("…")
    assert embed["title"].removesuffix("…").split()[-1].startswith("word")  # cut at a word
    assert 2000 < len(embed["description"]) <= 4096 and embed["description"].endswith("…")
    assert not embed["description"].removesuffix("…").endswith("\\")  # no half escape


def test_the_fake_enforces_discords_limits():
    assert limit_problems({"content": "x" * 2001})
    assert limit_problems({"embeds": [{"title": "x" * 257}]})
    assert limit_problems({"embeds": [{"description": "x" * 4097}]})
    assert limit_problems({"embeds": [{"fields": [{"name": "a", "value": "b"}] * 26}]})
    assert limit_problems({"embeds": [{"description": "x" * 4000}, {"description": "x" * 2001}]})
    assert limit_problems({"embeds": [{}] * 11})
    assert limit_problems({"embeds": [{"description": "ok"}]}) == []
    assert limit_problems({"allowed_mentions": {"parse": ["roles"], "roles": ["1"]}})
    # Whom a message notifies: only its content, as allowed_mentions lets it (everything without it).
    assert pinged({"content": "@everyone <@&1> <@2> <@!3>"}) == {"everyone", "role:1", "user:2", "user:3"}
    assert pinged({"content": "@here <@&1> <@&5>", "allowed_mentions": {"parse": [], "roles": [5]}}) == {"role:5"}
    assert pinged({"embeds": [{"description": "@everyone <@&1>"}]}) == set()
    assert pinged({"content": "x", "message_reference": {"message_id": 1}, "allowed_mentions": {"parse": []}}) == set()


async def test_a_rate_limited_alert_is_delivered_once(fake):
    fake.then(CHANNEL_ID, rate_limited(0.05))
    async with Running(adapter_for()) as adapter:
        await asyncio.wait_for(adapter.post_alert(ChannelRef("discord", CHANNEL_ID), alert()), 10)
    posts = [c for c in fake.calls if c == f"POST /channels/{CHANNEL_ID}/messages"]
    assert len(posts) == 2  # the 429, then the one that was taken
    assert len(fake.messages) == 1


async def test_missing_permission_is_permanent_and_named(fake):
    fake.then(CHANNEL_ID, missing_permissions())
    async with Running(adapter_for()) as adapter:
        with pytest.raises(DeliveryError) as caught:
            await asyncio.wait_for(adapter.post_alert(ChannelRef("discord", CHANNEL_ID), alert()), 10)
    assert caught.value.permanent
    assert "Send Messages" in str(caught.value) and "Embed Links" in str(caught.value)
    assert CHANNEL_ID in str(caught.value) and TOKEN not in str(caught.value)


@pytest.mark.parametrize(
    ("answer", "permanent", "words"),
    [
        (Scripted(404, {"message": "Unknown Channel", "code": 10003}), True, "Copy Channel ID"),
        (Scripted(403, {"message": "Missing Access", "code": 50001}), True, "View Channel"),
        (Scripted(503, {"message": "upstream unavailable", "code": 0}), False, "will retry"),
    ],
)
async def test_discord_errors_become_delivery_errors(fake, answer, permanent, words):
    fake.then(CHANNEL_ID, answer)
    async with Running(adapter_for()) as adapter:
        with pytest.raises(DeliveryError) as caught:
            await asyncio.wait_for(adapter.post_alert(ChannelRef("discord", CHANNEL_ID), alert()), 10)
    assert caught.value.permanent is permanent
    assert words in str(caught.value)


async def test_an_unreachable_discord_is_a_temporary_error(fake):
    async with Running(adapter_for()) as adapter:
        await fake.stop()
        with pytest.raises(DeliveryError) as caught:
            await asyncio.wait_for(adapter.post_alert(ChannelRef("discord", CHANNEL_ID), alert()), 10)
    assert not caught.value.permanent


async def test_a_forbidden_channel_is_recorded_failed_and_others_still_delivered(fake, news_site, tmp_path):
    fake.then(CHANNEL_ID, missing_permissions())
    config = config_for(tmp_path, news_site, [*globex_stories(news_site, 1), initech_story(news_site)])
    async with App(config, {"discord": adapter_for()}, extractor_processes=False) as app:
        _, delivery = await asyncio.wait_for(app.poll_once(), 20)
        again = await asyncio.wait_for(app.dispatcher.deliver_pending(), 10)

    assert delivery.failed == 1 and [a.channel for a in delivery.sent] == [f"discord:{OTHER_CHANNEL_ID}"]
    assert [m["channel_id"] for m in fake.messages] == [OTHER_CHANNEL_ID]
    assert again.sent == () and again.failed == 0  # permanent: not retried


async def test_a_wrong_token_is_a_clear_error(fake):
    adapter = DiscordAdapter(token="not-the-token", handle=unused_handle, companies=COMPANIES, listen=False)
    with pytest.raises(DeliveryError, match="DISCORD_TOKEN") as caught:
        await asyncio.wait_for(adapter.start(), 10)
    await adapter.stop()
    assert caught.value.permanent and "not-the-token" not in str(caught.value)


async def test_post_reply_posts_embeds_in_the_channel(fake):
    async with Running(adapter_for()) as adapter:
        await asyncio.wait_for(adapter.post_reply(ChannelRef("discord", CHANNEL_ID), Reply("hello @everyone")), 10)
    payload = fake.messages[0]["payload"]
    assert payload["embeds"][0]["description"] == "hello @everyone"
    assert payload["allowed_mentions"] == {"parse": []}


async def test_event_tags_are_a_field_of_the_alert(fake):
    async with Running(adapter_for()) as adapter:
        await asyncio.wait_for(adapter.post_alert(ChannelRef("discord", CHANNEL_ID),
                                                  alert(events=("funding", "launch"))), 10)
    [embed] = fake.messages[0]["payload"]["embeds"]
    assert embed["fields"] == [{"name": "Companies", "value": "Globex", "inline": True},
                               {"name": "Source", "value": "Wire · 3 h ago", "inline": True},
                               {"name": "Events", "value": "Funding · Product launch", "inline": True}]


# --- role pings -------------------------------------------------------------------------------

ROLE_ID = "123456789012345678"


async def test_an_alert_pings_exactly_its_roles(fake):
    pinging = alert("@everyone Globex opens a plant <@&999999999999999999>",
                    ping=(f"discord:{ROLE_ID}", "slack:S0123ABCD"))
    async with Running(adapter_for()) as adapter:
        await asyncio.wait_for(adapter.post_alert(ChannelRef("discord", CHANNEL_ID), pinging), 10)

    [message] = fake.messages
    payload = message["payload"]
    assert payload["content"] == f"<@&{ROLE_ID}>"
    # What discord.py sends for AllowedMentions(everyone=False, users=False, roles=[Object(id)],
    # replied_user=False): role ids as JSON numbers, nothing else parsed.
    assert payload["allowed_mentions"] == {"parse": [], "roles": [int(ROLE_ID)]}
    assert pinged(payload) == {f"role:{ROLE_ID}"}
    assert payload["embeds"][0]["title"] == "@everyone Globex opens a plant <@&999999999999999999>"  # inert
    assert limit_problems(payload) == []


async def test_an_alert_pings_its_roles_through_a_webhook(fake):
    adapter = DiscordWebhookAdapter(webhooks={"news-desk": WEBHOOK_URL}, clock=lambda: NOW)
    await adapter.start()
    try:
        await asyncio.wait_for(adapter.post_alert(
            ChannelRef("discord-webhook", "news-desk"),
            alert(ping=(f"discord:{ROLE_ID}", "discord:987654321098765432", f"discord:{ROLE_ID}"))), 10)
        await asyncio.wait_for(adapter.post_alert(ChannelRef("discord-webhook", "news-desk"), alert()), 10)
    finally:
        await adapter.stop()
    pinging, plain = (post["payload"] for post in fake.webhook_posts)
    assert pinging["content"] == f"<@&{ROLE_ID}> <@&987654321098765432>"
    assert pinging["allowed_mentions"] == {"parse": [], "roles": [int(ROLE_ID), 987654321098765432]}
    assert pinged(pinging) == {f"role:{ROLE_ID}", "role:987654321098765432"}
    assert "content" not in plain and plain["allowed_mentions"] == {"parse": []} and pinged(plain) == set()


async def test_only_discord_role_ids_are_mentioned(fake):
    ping = ("slack:S0123ABCD", "discord:@everyone", "discord:<@&1>", "discord:")
    async with Running(adapter_for()) as adapter:
        await asyncio.wait_for(adapter.post_alert(ChannelRef("discord", CHANNEL_ID), alert(ping=ping)), 10)
    payload = fake.messages[0]["payload"]
    assert not payload.get("content") and payload["allowed_mentions"] == {"parse": []}


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
    return Digest(f"discord:{CHANNEL_ID}", "rivals", since, WHEN, sections,
                  total=sum(len(items) for _, items in sections))


async def post_digest(value: Digest) -> str | None:
    async with Running(adapter_for(clock=lambda: WHEN)) as adapter:
        return await asyncio.wait_for(adapter.post_digest(ChannelRef("discord", CHANNEL_ID), value), 10)


def story_lines(company: str) -> str:
    return "\n".join(f"{'•' if n % 2 == 0 else '◦'} [{company} story {n}]"
                     f"(https://news.test/{company.lower()}/{n}?a=1&b=2) · Wire · {n + 1} h ago" for n in range(5))


async def test_a_digest_is_one_message_with_a_section_per_company(fake):
    message_id = await post_digest(digest(("Globex", stories("Globex", 7)), ("Northwind", stories("Northwind", 7))))

    [message] = fake.messages
    payload = message["payload"]
    assert message_id == message["id"] and message["channel_id"] == CHANNEL_ID
    assert payload["allowed_mentions"] == {"parse": []} and not payload.get("content") and pinged(payload) == set()
    assert payload["embeds"] == [{
        "type": "rich", "flags": 0, "color": 0x3B82F6,
        "title": "Digest for rivals: 14 stories since Wed 25 Nov 12:00 UTC",
        "description": (
            "**Globex (7)**\n"
            "• [Globex story 0](https://news.test/globex/0?a=1&b=2) · Wire · 1 h ago\n"
            "◦ [Globex story 1](https://news.test/globex/1?a=1&b=2) · Wire · 2 h ago\n"
            "• [Globex story 2](https://news.test/globex/2?a=1&b=2) · Wire · 3 h ago\n"
            "◦ [Globex story 3](https://news.test/globex/3?a=1&b=2) · Wire · 4 h ago\n"
            "• [Globex story 4](https://news.test/globex/4?a=1&b=2) · Wire · 5 h ago\n"
            "+2 more\n"
            "\n"
            "**Northwind (7)**\n"
            "• [Northwind story 0](https://news.test/northwind/0?a=1&b=2) · Wire · 1 h ago\n"
            "◦ [Northwind story 1](https://news.test/northwind/1?a=1&b=2) · Wire · 2 h ago\n"
            "• [Northwind story 2](https://news.test/northwind/2?a=1&b=2) · Wire · 3 h ago\n"
            "◦ [Northwind story 3](https://news.test/northwind/3?a=1&b=2) · Wire · 4 h ago\n"
            "• [Northwind story 4](https://news.test/northwind/4?a=1&b=2) · Wire · 5 h ago\n"
            "+2 more"),
    }]
    assert story_lines("Globex") in payload["embeds"][0]["description"]


def test_a_first_digest_has_no_period_and_a_small_company_no_more_line():
    [embed] = render_digest(digest(("Globex", stories("Globex", 1)), since=None), now=WHEN)
    assert embed.title == "Digest for rivals: 1 story"
    assert embed.description == (
        "**Globex (1)**\n• [Globex story 0](https://news.test/globex/0?a=1&b=2) · Wire · 1 h ago")


async def test_hostile_titles_in_a_digest_ping_nobody_and_cannot_format(fake):
    titles = ["@everyone Globex is down", "<@&123> <@456> Globex", "**x** Globex", "[x](http://evil) Globex",
              "Globex <!channel> __u__", "not a link"]
    items = tuple(DigestItem(title, f"https://news.test/{n}", "**Wire** @here", WHEN - timedelta(hours=1),
                             ("Globex",), about=True) for n, title in enumerate(titles))
    items = (*items[:5], replace(items[5], url="javascript:alert(1)"))
    odd = replace(items[0], url="https://news.test/a_(b)?c=<d>")
    await post_digest(digest(("**Globex** @everyone", (odd, *items[1:5])), ("Northwind", items[5:])))

    [message] = fake.messages
    payload = message["payload"]
    assert payload["allowed_mentions"] == {"parse": []} and not payload.get("content") and pinged(payload) == set()
    assert payload["embeds"][0]["description"] == (
        "**\\*\\*Globex\\*\\* @everyone (5)**\n"
        "• [@everyone Globex is down](https://news.test/a_%28b%29?c=%3Cd%3E) · \\*\\*Wire\\*\\* @here · 1 h ago\n"
        "• [<@&123> <@456> Globex](https://news.test/1) · \\*\\*Wire\\*\\* @here · 1 h ago\n"
        "• [\\*\\*x\\*\\* Globex](https://news.test/2) · \\*\\*Wire\\*\\* @here · 1 h ago\n"
        "• [\\[x\\](http://evil) Globex](https://news.test/3) · \\*\\*Wire\\*\\* @here · 1 h ago\n"
        "• [Globex <!channel> \\_\\_u\\_\\_](https://news.test/4) · \\*\\*Wire\\*\\* @here · 1 h ago\n"
        "\n"
        "**Northwind (1)**\n"
        "• not a link · \\*\\*Wire\\*\\* @here · 1 h ago")


async def test_an_empty_digest_says_nothing_new(fake):
    await post_digest(digest())
    [message] = fake.messages
    assert message["payload"]["embeds"] == [{
        "type": "rich", "flags": 0, "color": 0x3B82F6,
        "description": "Digest for rivals: nothing new since Wed 25 Nov 12:00 UTC."}]
    assert render_digest(digest(since=None), now=WHEN)[0].description == "Digest for rivals: nothing new."


async def test_a_huge_digest_stays_within_discords_limits(fake):
    long_title = "Globex " + "expands " * 60
    huge = digest(*((f"Globex Holdings International {n}", stories("Globex", 20, title=long_title)) for n in range(50)))
    await post_digest(huge)

    assert fake.rejected == []
    [message] = fake.messages
    embeds = message["payload"]["embeds"]
    assert embeds[0]["title"] == "Digest for rivals: 1000 stories since Wed 25 Nov 12:00 UTC"
    sections = [part for embed in embeds for part in embed["description"].split("\n\n")]
    assert all(part.endswith("\n+15 more") for part in sections) and 2 < len(sections) < 50
    assert sections[0].startswith("**Globex Holdings International 0 (20)**\n• [Globex expands expands")
    # The companies that did not fit, with their counts, as many as fit in the last footer.
    assert "footer" not in embeds[0] or len(embeds) == 1
    named = re.fullmatch(r"(.+) \+(\d+) more", embeds[-1]["footer"]["text"])
    assert named is not None
    listed = named.group(1).split(" · ")
    first = len(sections)
    assert listed == [f"Globex Holdings International {n} (20)" for n in range(first, first + len(listed))]
    assert len(listed) + int(named.group(2)) == 50 - len(sections)


async def test_every_company_fits_one_description_however_long_its_stories(fake):
    # Each part at its longest after escaping (`*` doubles, `(` grows threefold): the link is kept.
    worst = tuple(DigestItem("* " * 500, "https://news.test/?" + "(" * 160, "_ " * 500, WHEN - timedelta(days=400),
                             ("Globex",)) for _ in range(20))
    await post_digest(digest(*(("* " * 500, worst) for _ in range(3))))

    assert fake.rejected == []
    [message] = fake.messages
    embeds = message["payload"]["embeds"]
    [embed] = embeds  # one company takes most of the 6,000 characters; the others are named in the footer
    assert 3500 < len(embed["description"]) <= 4096 and embed["description"].count("](https://news.test/?%28%28") == 5
    assert embed["footer"]["text"].count(" (20)") == 2 and embed["footer"]["text"].startswith("* * *")


@pytest.mark.parametrize(("answer", "permanent"), [
    (missing_permissions(), True),
    (Scripted(404, {"message": "Unknown Channel", "code": 10003}), True),
    (Scripted(400, {"message": "Invalid Form Body", "code": 50035}), True),
    (Scripted(503, {"message": "upstream unavailable", "code": 0}), False),
])
async def test_digest_failures_are_classified_like_alerts(fake, answer, permanent):
    fake.then(CHANNEL_ID, answer)
    with pytest.raises(DeliveryError) as caught:
        await post_digest(digest(("Globex", stories("Globex", 2))))
    assert caught.value.permanent is permanent and fake.messages == []


async def test_a_rate_limited_digest_is_posted_once(fake):
    fake.then(CHANNEL_ID, rate_limited(0.05))
    await post_digest(digest(("Globex", stories("Globex", 2))))
    assert fake.calls.count(f"POST /channels/{CHANNEL_ID}/messages") == 2 and len(fake.messages) == 1


async def test_a_digest_through_a_webhook(fake):
    adapter = DiscordWebhookAdapter(webhooks={"news-desk": WEBHOOK_URL}, clock=lambda: WHEN)
    await adapter.start()
    try:
        message_id = await asyncio.wait_for(adapter.post_digest(ChannelRef("discord-webhook", "news-desk"),
                                                                digest(("Globex", stories("Globex", 7)))), 10)
    finally:
        await adapter.stop()
    [post] = fake.webhook_posts
    assert message_id == post["message"]["id"]
    assert post["payload"]["allowed_mentions"] == {"parse": []} and pinged(post["payload"]) == set()
    assert post["payload"]["embeds"] == [{
        "type": "rich", "flags": 0, "color": 0x3B82F6,
        "title": "Digest for rivals: 7 stories since Wed 25 Nov 12:00 UTC",
        "description": "**Globex (7)**\n" + story_lines("Globex") + "\n+2 more"}]


# --- later coverage ---------------------------------------------------------------------------


def coverage(parent: str | None, *sources: str, channel: str = f"discord:{CHANNEL_ID}", **fields) -> Coverage:
    """Coverage of `alert()`'s story by `sources`, each at https://<n>.news.test/story."""
    sources = sources or ("Tech Daily", "Herald", "Courier", "Gazette", "Post")
    outlets = tuple(Outlet(name, f"https://{n}.news.test/story", f"Story {n}") for n, name in enumerate(sources, 1))
    return Coverage(**{"channel": channel, "story_title": "Globex opens a plant",
                       "story_url": "https://news.test/a?id=1&x=2", "parent_message_id": parent, "outlets": outlets,
                       "new_companies": ("Northwind", "Initech"), **fields})


async def test_later_coverage_is_one_reply_to_the_alert(fake):
    channel = ChannelRef("discord", CHANNEL_ID)
    async with Running(adapter_for()) as adapter:
        parent = await asyncio.wait_for(adapter.post_alert(channel, alert()), 10)
        reply_id = await asyncio.wait_for(adapter.post_coverage(channel, coverage(parent)), 10)

    _, reply = fake.messages
    assert reply["id"] == reply_id and reply["reference"] == parent  # a reply to the alert
    payload = reply["payload"]
    assert payload["message_reference"] == {"type": 0, "message_id": int(parent), "channel_id": int(CHANNEL_ID),
                                            "fail_if_not_exists": False}
    assert payload["allowed_mentions"] == {"parse": []}  # no replied_user: the reply pings nobody
    assert not payload.get("content")
    assert payload["embeds"] == [{"type": "rich", "flags": 0, "description": (
        "Also covered by [Tech Daily](https://1.news.test/story), [Herald](https://2.news.test/story) and "
        "[Courier](https://3.news.test/story) (+2 more)\nNew in later coverage: Northwind and Initech.")}]
    assert limit_problems(payload) == []


async def test_hostile_outlet_names_in_coverage_ping_nobody_and_cannot_format(fake):
    hostile = coverage(None, "<!channel> @everyone", "**bold**", "[x](http://evil)", "@here",
                       new_companies=("<@123>", "__A__"))
    odd_url = Outlet("<!channel> @everyone", "https://news.test/a_(b)?c=<d>")
    hostile = replace(hostile, outlets=(odd_url, *hostile.outlets[1:]))
    channel = ChannelRef("discord", CHANNEL_ID)
    async with Running(adapter_for()) as adapter:
        parent = await asyncio.wait_for(adapter.post_alert(channel, alert()), 10)
        await asyncio.wait_for(adapter.post_coverage(
            channel, replace(hostile, parent_message_id=parent)), 10)

    payload = fake.messages[1]["payload"]
    assert payload["allowed_mentions"] == {"parse": []}
    # A `]` in a name would end its link label early and `)` in a URL the link: both escaped.
    assert payload["embeds"][0]["description"] == (
        "Also covered by [<!channel> @everyone](https://news.test/a_%28b%29?c=%3Cd%3E), "
        "[\\*\\*bold\\*\\*](https://2.news.test/story) and [\\[x\\](http://evil)](https://3.news.test/story) "
        "(+1 more)\nNew in later coverage: <@123> and \\_\\_A\\_\\_.")


async def test_coverage_without_a_parent_names_the_story(fake):
    async with Running(adapter_for()) as adapter:
        await asyncio.wait_for(adapter.post_coverage(ChannelRef("discord", CHANNEL_ID),
                                                     coverage(None, "Herald", new_companies=())), 10)
    [message] = fake.messages
    assert message["reference"] is None and "message_reference" not in message["payload"]
    assert message["payload"]["embeds"] == [{
        "type": "rich", "flags": 0, "title": "More coverage of “Globex opens a plant”",
        "url": "https://news.test/a?id=1&x=2",
        "description": "Also covered by [Herald](https://1.news.test/story)"}]


async def test_coverage_of_a_deleted_alert_is_posted_plainly(fake):
    async with Running(adapter_for()) as adapter:
        await asyncio.wait_for(adapter.post_coverage(ChannelRef("discord", CHANNEL_ID),
                                                     coverage("910000000000999999")), 10)
    [message] = fake.messages  # fail_if_not_exists=False: Discord posts it without the reply
    assert message["reference"] is None
    assert message["payload"]["message_reference"]["message_id"] == 910000000000999999


@pytest.mark.parametrize(("answer", "permanent"), [
    (missing_permissions(), True),
    (Scripted(404, {"message": "Unknown Channel", "code": 10003}), True),
    (Scripted(503, {"message": "upstream unavailable", "code": 0}), False),
])
async def test_coverage_failures_are_classified_like_alerts(fake, answer, permanent):
    fake.then(CHANNEL_ID, answer)
    async with Running(adapter_for()) as adapter:
        with pytest.raises(DeliveryError) as caught:
            await asyncio.wait_for(adapter.post_coverage(ChannelRef("discord", CHANNEL_ID),
                                                         coverage("910000000000000001")), 10)
    assert caught.value.permanent is permanent and fake.messages == []


async def test_copies_of_an_alerted_story_from_other_sources_reply_to_it(fake, news_site, tmp_path):
    copy, delivery = await poll_an_alert_then_a_copy(news_site, tmp_path, {"discord": adapter_for()}, WATCHLISTS, 20)

    alert_message, reply = fake.messages
    assert delivery.sent == () and len(delivery.coverage) == 1
    assert reply["channel_id"] == CHANNEL_ID and reply["reference"] == alert_message["id"]
    assert reply["payload"]["embeds"][0]["description"] == f"Also covered by [Herald]({copy['link']})"


def test_huge_coverage_fits_one_message():
    stars = "* " * 3000
    huge = Coverage(f"discord:{CHANNEL_ID}", stars, "https://news.test/?" + "a" * 3000,
                    tuple(Outlet(stars, "https://news.test/?" + "a" * 900) for _ in range(5)),
                    new_companies=(stars,) * 50)
    for threaded in (True, False):
        embed = render_coverage(huge, threaded=threaded)
        assert limit_problems({"embeds": [embed.to_dict()]}) == []
        assert embed.description.count("](https://news.test/") == 3 and "(+2 more)" in embed.description


# --- /intel ---------------------------------------------------------------------------------


async def test_intel_answers_with_embeds_through_the_interaction(fake, news_site, tmp_path):
    config = config_for(tmp_path, news_site, globex_stories(news_site, 7))
    commands: list[Command] = []

    async def handle(command: Command) -> Reply:
        commands.append(command)
        return await app.commands.handle(command)

    adapter = adapter_for(handle, listen=True, guild_id=int(GUILD_ID))
    app = App(config, {"discord": adapter}, extractor_processes=False)
    async with app:
        await asyncio.wait_for(app.poll_once(), 20)
        # Synced to the guild at start: /intel with one optional string option with autocomplete.
        [command] = fake.commands[GUILD_ID]
        assert command["name"] == "intel"
        assert [(o["name"], o["type"], o.get("required", False), o["autocomplete"]) for o in command["options"]] \
            == [("query", 3, False, True)]
        assert None not in fake.commands

        fake.intel("globex")
        deferred = await fake.next_callback()
        assert deferred["type"] == 5 and deferred["data"]["flags"] == 64  # thinking, ephemeral
        followup = await fake.next_followup()

        assert commands == [Command("globex", user=f"discord:{USER_ID}", channel=f"discord:{CHANNEL_ID}")]
        payload = followup["payload"]
        assert followup["token"] == deferred["token"]
        assert payload["allowed_mentions"] == {"parse": []}
        assert payload["flags"] & 64
        heading, *results = payload["embeds"]
        assert heading["description"] == "5 stories for “Globex”, best first:"
        assert len(results) == 5 and all(r["title"].startswith("Globex opens plant number") for r in results)
        assert all(r["url"].startswith(news_site.base) for r in results)
        assert "**Globex**" in results[0]["description"]
        assert results[0]["footer"]["text"] == "Wire · Globex"
        [row] = payload["components"]
        [button] = row["components"]
        assert button["label"] == "More"
        assert limit_problems(payload) == []

        # "More" runs the next page as a new ephemeral answer.
        fake.click(followup["message"], button["custom_id"])
        assert (await fake.next_callback())["type"] == 5
        page_two = (await fake.next_followup())["payload"]
        more_titles = [e["title"] for e in page_two["embeds"][1:]]
        assert len(more_titles) == 2 and not set(more_titles) & {r["title"] for r in results}
        assert re.fullmatch(r"globex after:[0-9a-z.]+", commands[-1].text)  # the cursor of page one


async def test_intel_without_a_query_gives_help(fake):
    async def handle(command: Command) -> Reply:
        return Reply("Look up stored stories: /intel <companies and words>" if not command.text else "?")

    async with Running(adapter_for(handle, listen=True)):
        assert list(fake.commands) == [None]  # no guild configured: synced globally
        fake.intel(None)
        await fake.next_callback()
        payload = (await fake.next_followup())["payload"]
    assert payload["embeds"][0]["description"] == "Look up stored stories: /intel <companies and words>"
    assert "components" not in payload or payload["components"] == []


async def test_a_failing_lookup_still_gets_an_answer(fake):
    async def handle(command: Command) -> Reply:
        raise RuntimeError("database on fire")

    async with Running(adapter_for(handle, listen=True)):
        fake.intel("globex")
        await fake.next_callback()
        payload = (await fake.next_followup())["payload"]
    assert "could not answer" in payload["embeds"][0]["description"]
    assert "fire" not in str(payload)


async def test_autocomplete_suggests_tracked_companies(fake):
    async with Running(adapter_for(listen=True)):
        fake.autocomplete("gl")
        first = await fake.next_callback()
        fake.autocomplete("poland n")
        second = await fake.next_callback()
    assert first["type"] == 8
    assert first["data"]["choices"] == [{"name": "Globex", "value": "Globex"}]
    assert second["data"]["choices"] == [{"name": "poland Northwind", "value": "poland Northwind"},
                                         {"name": "poland Initech", "value": "poland Initech"}]


def test_completion_of_company_names():
    assert complete_companies("", COMPANIES) == COMPANIES
    assert complete_companies("twitter GLO", COMPANIES) == ["twitter Globex"]
    assert complete_companies("x", [f"Company{n}x" for n in range(40)]) == [f"Company{n}x" for n in range(25)]


# --- rendering --------------------------------------------------------------------------------


def test_results_show_highlights_in_bold_and_escape_the_rest():
    result = SearchResult("T *x*", "https://news.test/1", "Wire", NOW, ("Globex",), "a _b_ & Globex",
                          ((2, 5), (8, 14)))
    _, embed = render_reply(Reply("1 story:", (result,)))
    assert embed.title == "T \\*x\\*"
    assert embed.description == "a **\\_b\\_** & **Globex**"
    assert embed.footer.text == "Wire · Globex"


def test_a_page_of_huge_results_fits_one_message():
    huge = SearchResult("t " * 300, "https://news.test/" + "a" * 3000, "s" * 500, NOW, ("Globex",) * 100,
                        "*" * 5000, ((0, 5000),))
    embeds = render_reply(Reply("h " * 3000, (huge,) * 5))
    payload = {"embeds": [e.to_dict() for e in embeds]}
    assert limit_problems(payload) == [] and len(embeds) == 6
    assert embeds[1].url is None  # a URL Discord would refuse is left out, the title stays


def test_alert_without_a_usable_link_keeps_its_title():
    embed = render_alert(alert(url="javascript:alert(1)"), now=NOW)
    assert embed.url is None and embed.title == "Globex opens a plant"


# --- the intelbot command with Discord ----------------------------------------------------------


def test_discord_runs_when_configured_or_when_a_token_is_set(tmp_path):
    async def handle(command: Command) -> Reply:
        raise AssertionError

    console_only = make_config(tmp_path, [])
    assert set(chat_adapters(console_only, handle, environ={})) == {"console"}
    assert set(chat_adapters(console_only, handle, environ={"DISCORD_TOKEN": TOKEN})) == {"console", "discord"}
    with_discord = make_config(tmp_path, [], watchlists=WATCHLISTS)
    with pytest.raises(ConfigError, match="DISCORD_TOKEN"):
        chat_adapters(with_discord, handle, environ={})


async def test_missing_discord_token_is_named_exit_2(tmp_path):
    path = tmp_path / "intelbot.yaml"
    path.write_text(f"""\
storage:
  path: intel.db
sources: []
companies:
  - name: Globex
watchlists:
  - name: rivals
    companies: [Globex]
    channels: ["discord:{CHANNEL_ID}"]
""", encoding="utf-8")
    status, out, err = await intelbot("poll", "--config", str(path), cwd=tmp_path,
                                      env={"DISCORD_WEBHOOK_X": "not-shown"})
    assert status == 2
    assert "DISCORD_TOKEN" in err and "README" in err and "not-shown" not in out + err


# --- alert-only webhooks ----------------------------------------------------------------------

WEBHOOK_ID = "900000000000000500"
WEBHOOK_TOKEN = "w" * 68
WEBHOOK_URL = f"https://discord.com/api/webhooks/{WEBHOOK_ID}/{WEBHOOK_TOKEN}"


def test_webhook_channels_parse():
    assert parse_channel("discord-webhook:news-desk") == ChannelRef("discord-webhook", "news-desk")
    assert str(parse_channel("discord-webhook:news-desk")) == "discord-webhook:news-desk"
    assert webhook_variable("news-desk") == "DISCORD_WEBHOOK_NEWS_DESK"
    for bad in ("discord-webhook:", "discord-webhook:News Desk", "discord-webhook:https://x"):
        with pytest.raises(ValueError, match="discord-webhook:<name>"):
            parse_channel(bad)


async def test_alerts_through_a_webhook_need_no_bot(fake, news_site, tmp_path):
    watchlists = """\
  - name: rivals
    companies: [Globex]
    channels: ["discord-webhook:news-desk"]
"""
    config = config_for(tmp_path, news_site, globex_stories(news_site, 1), watchlists)

    async def handle(command: Command) -> Reply:
        raise AssertionError

    with pytest.raises(ConfigError, match="DISCORD_WEBHOOK_NEWS_DESK"):
        chat_adapters(config, handle, environ={})
    adapters = chat_adapters(config, handle, environ={"DISCORD_WEBHOOK_NEWS_DESK": WEBHOOK_URL}, listen=False)
    assert set(adapters) == {"console", "discord-webhook"}
    async with App(config, adapters, extractor_processes=False) as app:
        _, delivery = await asyncio.wait_for(app.poll_once(), 20)

    assert len(delivery.sent) == 1
    [post] = fake.webhook_posts
    assert (post["webhook_id"], post["token"]) == (WEBHOOK_ID, WEBHOOK_TOKEN)
    assert post["payload"]["allowed_mentions"] == {"parse": []}
    assert post["payload"]["embeds"][0]["title"] == "Globex opens plant number 0 in Poland"
    assert not any(call.startswith("GET /users") for call in fake.calls)  # no bot login


async def test_coverage_through_a_webhook_names_the_story(fake):
    adapter = DiscordWebhookAdapter(webhooks={"news-desk": WEBHOOK_URL})
    await adapter.start()
    try:
        message_id = await asyncio.wait_for(adapter.post_coverage(
            ChannelRef("discord-webhook", "news-desk"),
            coverage("910000000000000001", "@everyone Herald", "**Courier**", channel="discord-webhook:news-desk")),
            10)
    finally:
        await adapter.stop()
    [post] = fake.webhook_posts
    assert message_id == post["message"]["id"]
    payload = post["payload"]
    assert payload["allowed_mentions"] == {"parse": []} and "message_reference" not in payload
    assert payload["embeds"] == [{
        "type": "rich", "flags": 0, "title": "More coverage of “Globex opens a plant”",
        "url": "https://news.test/a?id=1&x=2",
        "description": "Also covered by [@everyone Herald](https://1.news.test/story) and "
                       "[\\*\\*Courier\\*\\*](https://2.news.test/story)\n"
                       "New in later coverage: Northwind and Initech."}]


async def test_a_deleted_webhook_is_permanent_and_hides_its_url(fake):
    adapter = DiscordWebhookAdapter(webhooks={"desk": WEBHOOK_URL.replace(WEBHOOK_ID, "900000000000000999")})
    await adapter.start()
    fake.webhook_ids = {WEBHOOK_ID}
    try:
        with pytest.raises(DeliveryError) as caught:
            await asyncio.wait_for(adapter.post_alert(ChannelRef("discord-webhook", "desk"), alert()), 10)
    finally:
        await adapter.stop()
    assert caught.value.permanent and "DISCORD_WEBHOOK_DESK" in str(caught.value)
    assert WEBHOOK_TOKEN not in str(caught.value)
