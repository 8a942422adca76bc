"""Discord as a chat platform: alerts as embeds, `/intel` as an application command.

Built on discord.py's `Client` and `app_commands.CommandTree`; this module only translates.
Alerts, digests and replies become embeds (`render_alert`, `render_digest`, `render_reply`),
`/intel` interactions become `Command` values for the core, and Discord's refusals become
`DeliveryError`s.

Text from the web is hostile. Every message, webhook call and interaction response carries
`allowed_mentions` none, so `@everyone`, `@here`, `<@id>` and `<@&id>` in a headline ping
nobody; the one exception is an alert whose `ping` names roles: its `content` mentions them
and its `allowed_mentions` lets exactly those roles be notified (`mention_roles`). Markdown in
untrusted text is escaped (`discord.utils.escape_markdown`), so a headline cannot make itself
bold or a masked link. Footers are plain text in Discord (no markdown) and are not escaped.
Everything is cut at a word to Discord's limits (`LIMITS`).

The gateway is needed only to receive `/intel`: with `listen=False` (a one-shot poll) the
adapter logs in over REST (`GET /users/@me`, `GET /oauth2/applications/@me`) and posts alerts
without connecting to the gateway. `DiscordWebhookAdapter` posts alerts through channel
webhooks (`discord-webhook:<name>`) with no bot user at all. No intents are requested (`discord.Intents.none()`):
interactions reach a bot whatever its intents, and alerts are sent over REST.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timezone

import aiohttp
import discord
from discord import app_commands
from discord.utils import escape_markdown

from bot import messages
from bot.errors import DeliveryError
from bot.events import tag_label
from bot.models import (
    Alert,
    ChannelRef,
    Command,
    Coverage,
    Digest,
    Outlet,
    Reply,
    SearchResult,
    webhook_variable,
)
from bot.query import complete_companies
from bot.text import fit as fit_escaped
from bot.text import mark_spans, shorten

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()
COLOUR = discord.Colour(0x3B82F6)  # one colour for every alert: restraint over decoration

# Discord's limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits).
LIMITS = {"title": 256, "description": 4096, "fields": 25, "field_name": 256, "field_value": 1024,
          "footer": 2048, "embeds_total": 6000, "embeds": 10, "content": 2000}
# What this module allows each part, so that an alert or a reply of five results always fits
# in the 6,000 characters a message's embeds may hold together.
SUMMARY_LIMIT = 3000
COMPANIES_LIMIT = 500
SOURCE_LIMIT = 300
WHY_LIMIT = 600
EVENTS_LIMIT = 300
OUTLET_LABEL_LIMIT = 100
COVERAGE_URL_LIMIT = 1000  # three linked outlets and the companies line fit in one description
REPLY_TEXT_LIMIT = 800  # with results; a reply without results may use the whole description
RESULT_TITLE_LIMIT = 256
SNIPPET_LIMIT = 600
RESULT_FOOTER_LIMIT = 150
URL_LIMIT = 2048
CHOICE_LIMIT = 100  # autocomplete choice names and values
# A digest is one message. Per story, the parts are capped so that a company's section (its
# line, five stories and "+N more") always fits in one description; sections fill one embed's
# description, then a second's, up to the 6,000 characters a message's embeds may hold, and the
# companies that did not fit are named with their counts in the last footer.
DIGEST_TITLE_LIMIT = 120
DIGEST_URL_LIMIT = 500
DIGEST_REST_LIMIT = 500
MORE_TIMEOUT = 14 * 60  # an interaction token lives 15 minutes: after that a click cannot answer

_PERMANENT_CODES = {
    10003: "the channel does not exist, or is in a server the bot is not in: check the ID "
           "(Developer Mode, right-click the channel, Copy Channel ID)",
    50001: "the bot cannot see the channel: give it the View Channel permission there",
    50013: "the bot lacks a permission in the channel: give it Send Messages and Embed Links there "
           "(and View Channel)",
    50035: "Discord rejected the message as invalid",
}
_ROLE_ID = re.compile(r"^[0-9]{5,20}$")  # as the config checks it; nothing else enters a mention


def escape(text: str) -> str:
    """`text` with Discord markdown escaped: shown as typed, never as formatting or a masked link."""
    return escape_markdown(text)


def fit(text: str, limit: int) -> str:
    """`text` escaped and cut at a word so that the escaped form has at most `limit` characters."""
    return fit_escaped(text, limit, escape)


def escape_label(text: str) -> str:
    """`text` escaped for the label of a `[label](url)` link: markdown, and every `[` and `]`
    (which `escape_markdown` leaves alone outside a complete link, yet would end the label)."""
    return "".join("\\" + part if part in ("[", "]") else escape(part) for part in re.split(r"([\[\]])", text))


def plain(text: str, limit: int) -> str:
    """`text` cut at a word for a part Discord shows without markdown (footers, choices)."""
    return shorten(" ".join(text.split()), limit)


def link_target(url: str) -> str | None:
    """`url` if Discord will take it as an embed link (http(s), short, no spaces), else None."""
    if url.startswith(("http://", "https://")) and len(url) <= URL_LIMIT and not re.search(r"\s", url):
        return url
    return None


def mention_roles(ping: Sequence[str]) -> tuple[str | None, discord.AllowedMentions]:
    """The `content` and `allowed_mentions` of a message for an alert's `ping`: `<@&id>` for each
    Discord role in it, allowed to notify those roles and nobody else. (None, none) without
    roles; Slack user groups are left to the Slack adapter."""
    roles = [role for role in dict.fromkeys(entry.removeprefix("discord:") for entry in ping
                                            if entry.startswith("discord:")) if _ROLE_ID.match(role)]
    if not roles:
        return None, NO_MENTIONS
    allowed = discord.AllowedMentions(everyone=False, users=False, replied_user=False,
                                      roles=[discord.Object(id=int(role)) for role in roles])
    return " ".join(f"<@&{role}>" for role in roles), allowed


def render_alert(alert: Alert, *, now: datetime | None = None) -> discord.Embed:
    """One embed per story: linked title, summary, companies, source and age, why it matched."""
    now = now or datetime.now(timezone.utc)
    embed = discord.Embed(
        title=fit(alert.title, LIMITS["title"]) or fit(alert.url, LIMITS["title"]),
        url=link_target(alert.url),
        description=fit(alert.summary, SUMMARY_LIMIT) or None,
        colour=COLOUR,
        timestamp=alert.published,
    )
    embed.add_field(name="Companies", value=fit(", ".join(alert.companies), COMPANIES_LIMIT) or "—")
    source = f"{fit(alert.source, SOURCE_LIMIT)} · {messages.age(alert.published, now)}"
    embed.add_field(name="Source", value=source)
    if alert.events:
        embed.add_field(name="Events", value=fit(" · ".join(tag_label(tag) for tag in alert.events), EVENTS_LIMIT))
    if alert.why:
        embed.set_footer(text=plain(messages.why_line(alert.why), WHY_LIMIT))
    return embed


def render_coverage(coverage: Coverage, *, threaded: bool) -> discord.Embed:
    """Later coverage of a story as one small embed: who else covered it (three outlets linked,
    then "+N more") and which tracked companies it adds. Not `threaded` (no alert to reply to),
    the embed's title names the story and links it."""
    named = coverage.outlets[: messages.OUTLETS_NAMED]
    lines = [messages.also_covered([_outlet_link(outlet) for outlet in named], more=len(coverage.outlets) - len(named))]
    if coverage.new_companies:
        lines.append(fit(messages.now_also_mentions(coverage.new_companies), COMPANIES_LIMIT))
    embed = discord.Embed(description="\n".join(line for line in lines if line) or None)
    if not threaded:
        room = LIMITS["title"] - len(messages.coverage_of(""))
        title = fit(coverage.story_title, room) or fit(coverage.story_url, room)
        embed.title = messages.coverage_of(title)
        embed.url = link_target(coverage.story_url)
    return embed


def render_digest(digest: Digest, *, now: datetime | None = None) -> list[discord.Embed]:
    """The embeds of a digest: its heading as the title, then a section per company.

    Each section names the company with its count, lists its first stories (linked title,
    source, age; `•` about the company, `◦` naming it in passing), then "+N more". Companies
    past Discord's limits are named with their counts in the last embed's footer. An empty
    digest says that nothing is new.
    """
    now = now or datetime.now(timezone.utc)
    if not digest.sections:
        return [discord.Embed(description=fit(messages.nothing_new(digest.watchlist, digest.since),
                                              LIMITS["description"]), colour=COLOUR)]
    heading = fit(messages.digest_heading(digest.watchlist, digest.total, digest.since, now), LIMITS["title"])
    pages: list[list[str]] = [[]]  # the sections of each embed's description
    used = len(heading)
    shown = 0
    for company, items in digest.sections:
        section = messages.digest_company(
            company, items, now, fit=fit, bold=lambda text: f"**{text}**",
            link=lambda item: _masked_link(item.url, item.title, label_limit=DIGEST_TITLE_LIMIT,
                                           url_limit=DIGEST_URL_LIMIT))
        same_page = len("\n\n".join([*pages[-1], section])) <= LIMITS["description"]
        cost = len(section) + (2 if same_page and pages[-1] else 0)
        # Keep room for the footer, in case later companies do not fit.
        too_many = not same_page and len(pages) == LIMITS["embeds"]
        if used + cost > LIMITS["embeds_total"] - DIGEST_REST_LIMIT or too_many:
            break
        if not same_page:
            pages.append([])
        pages[-1].append(section)
        used += cost
        shown += 1
    embeds = [discord.Embed(description="\n\n".join(page) or None, colour=COLOUR) for page in pages]
    embeds[0].title = heading
    if rest := digest.sections[shown:]:
        embeds[-1].set_footer(text=messages.other_companies(rest, DIGEST_REST_LIMIT, fit=plain))
    return embeds


def _outlet_link(outlet: Outlet) -> str:
    return _masked_link(outlet.url, outlet.source, label_limit=OUTLET_LABEL_LIMIT, url_limit=COVERAGE_URL_LIMIT)


def _masked_link(url: str, label: str, *, label_limit: int, url_limit: int) -> str:
    """`[label](url)`, the label escaped so that it can neither close the link early nor make one;
    the label alone when Discord would not take the URL or it is longer than `url_limit`."""
    text = fit_escaped(label, label_limit, escape_label) or fit_escaped(url, label_limit, escape_label)
    target = link_target(url)
    if target is None:
        return text
    # `)` would end the link and `<`, `>` change how Discord reads it: percent-encoded, same URL.
    target = target.replace("(", "%28").replace(")", "%29").replace("<", "%3C").replace(">", "%3E")
    return f"[{text}]({target})" if len(target) <= url_limit else text


def highlighted(result: SearchResult, limit: int = SNIPPET_LIMIT) -> str:
    """The snippet, escaped, with its highlight spans in bold; cut at a word near `limit`."""
    return mark_spans(result.snippet, result.highlights, limit, escape=escape,
                      mark=lambda word: f"**{escape(word)}**")


def render_result(result: SearchResult) -> discord.Embed:
    """One lookup result: linked title, snippet with highlights in bold, source and companies."""
    raw = SNIPPET_LIMIT
    while len(description := highlighted(result, raw)) > SNIPPET_LIMIT and raw > 1:
        raw = max(1, min(raw - 1, raw * SNIPPET_LIMIT // len(description)))  # escaping grew it
    embed = discord.Embed(
        title=fit(result.title, RESULT_TITLE_LIMIT) or fit(result.url, RESULT_TITLE_LIMIT),
        url=link_target(result.url),
        description=description or None,
        timestamp=result.published,  # Discord shows it in each reader's time zone
    )
    footer = " · ".join([result.source, *([", ".join(result.companies)] if result.companies else [])])
    embed.set_footer(text=plain(footer, RESULT_FOOTER_LIMIT))
    return embed


def render_reply(reply: Reply) -> list[discord.Embed]:
    """The embeds of a command's reply: its text, then one embed per result, within the limits."""
    limit = REPLY_TEXT_LIMIT if reply.results else LIMITS["description"]
    embeds = [discord.Embed(description=fit(reply.text, limit) or None)]
    for result in reply.results[: LIMITS["embeds"] - 1]:
        embeds.append(render_result(result))
    while len(embeds) > 1 and sum(len(e) for e in embeds) > LIMITS["embeds_total"]:
        embeds.pop()  # only with more results than a page: the core pages five at a time
    return embeds


def delivery_error(error: Exception, *, channel: str) -> DeliveryError:
    """The `DeliveryError` for a failed REST call: permanent when retrying cannot help."""
    if isinstance(error, discord.RateLimited):
        return DeliveryError(f"Discord is rate limiting messages to {channel}", retry_after=error.retry_after)
    if isinstance(error, discord.DiscordServerError):
        return DeliveryError(f"Discord did not take the message for {channel} (HTTP {error.status}); will retry")
    if isinstance(error, discord.HTTPException):
        reason = _PERMANENT_CODES.get(error.code)
        if reason is None and error.status == 401:
            reason = "Discord rejected the bot token: check DISCORD_TOKEN"
        if reason is None and error.status == 403:
            reason = _PERMANENT_CODES[50013]
        if reason is None and error.status == 404:
            reason = _PERMANENT_CODES[10003]
        if reason is None and 400 <= error.status < 500:
            reason = "Discord refused the message"
        if reason is not None:
            detail = f"HTTP {error.status}, code {error.code}" + (f": {error.text}" if error.text else "")
            return DeliveryError(f"Discord refused the message for {channel} ({detail}): {reason}", permanent=True)
        return DeliveryError(f"Discord did not take the message for {channel} (HTTP {error.status}); will retry")
    return DeliveryError(f"could not reach Discord for {channel}: {type(error).__name__} {error}")


_TRANSPORT_ERRORS = (discord.HTTPException, discord.RateLimited, aiohttp.ClientError, asyncio.TimeoutError, OSError)


def to_command(text: str, *, user_id: int | str | None, channel_id: int | str | None) -> Command:
    """The core's `Command` for an `/intel` interaction: its query, who typed it, and where."""
    return Command(text=" ".join(text.split()), user=f"discord:{user_id or ''}",
                   channel=f"discord:{channel_id}" if channel_id else None)


class MoreView(discord.ui.View):
    """A "More" button under an answer: a click runs the reply's `more` command text."""

    def __init__(self, more: str, answer: Callable[[discord.Interaction, str], Awaitable[None]]):
        super().__init__(timeout=MORE_TIMEOUT)
        self.more = more
        self._answer = answer

    @discord.ui.button(label=messages.MORE_BUTTON, style=discord.ButtonStyle.secondary)
    async def more_button(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await self._answer(interaction, self.more)


class DiscordAdapter:
    """Posts alerts to Discord channels and answers `/intel` there.

    `handle` answers commands (the core's `Commands.handle`); `companies` are the tracked
    company names that autocomplete offers. Commands are synced at `start()`: to the guild
    `guild_id` when set (instant, for testing), globally otherwise (Discord may take up to an
    hour to show them). `listen=False` only posts: a REST login, no gateway connection.
    """

    platform = "discord"

    def __init__(
        self,
        *,
        token: str,
        guild_id: int | None = None,
        handle: Callable[[Command], Awaitable[Reply]],
        companies: Sequence[str],
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
        listen: bool = True,
        ready_timeout: float = 60.0,
    ):
        self._token = token
        self._guild = discord.Object(id=guild_id) if guild_id else None
        self._handle = handle
        self._companies = list(companies)
        self._clock = clock
        self._listen = listen
        self._ready_timeout = ready_timeout
        self.client = discord.Client(intents=discord.Intents.none(), allowed_mentions=NO_MENTIONS)
        self.tree = app_commands.CommandTree(self.client)
        self.tree.add_command(self._intel_command())
        self.tree.on_error = self._on_tree_error
        self._connection: asyncio.Task | None = None

    # --- lifecycle ---

    async def start(self) -> None:
        """Log in; when listening, connect to the gateway, wait until ready and sync `/intel`."""
        try:
            await self.client.login(self._token)
        except discord.LoginFailure:
            raise DeliveryError("Discord rejected the bot token: check DISCORD_TOKEN", permanent=True) from None
        except _TRANSPORT_ERRORS as error:
            raise delivery_error(error, channel="the login") from None
        if not self._listen:
            return
        self._connection = asyncio.create_task(self.client.connect(reconnect=True), name="discord-gateway")
        self._connection.add_done_callback(self._connection_ended)
        ready = asyncio.create_task(self.client.wait_until_ready())
        done, _ = await asyncio.wait({self._connection, ready}, timeout=self._ready_timeout,
                                     return_when=asyncio.FIRST_COMPLETED)
        if ready not in done:
            ready.cancel()
            error = self._connection.exception() if self._connection in done else None
            await self.stop()
            if isinstance(error, discord.PrivilegedIntentsRequired | discord.LoginFailure):
                raise DeliveryError(f"Discord refused the gateway connection: {error}", permanent=True)
            raise DeliveryError(f"could not connect to Discord's gateway: {error or 'timed out'}")
        await self._sync_commands()
        log.info("connected to Discord as %s", self.client.user)

    async def _sync_commands(self) -> None:
        try:
            if self._guild is not None:
                self.tree.copy_global_to(guild=self._guild)
                synced = await self.tree.sync(guild=self._guild)
            else:
                synced = await self.tree.sync()
        except _TRANSPORT_ERRORS as error:  # alerts still work without /intel: say so, go on
            log.error("could not register /intel with Discord (%s); was the bot invited with the "
                      "applications.commands scope? Alerts are still posted", error)
            return
        where = f"guild {self._guild.id}" if self._guild is not None else "all servers (may take an hour)"
        log.info("registered %s in %s", ", ".join("/" + c.name for c in synced), where)

    async def stop(self) -> None:
        """Close the gateway connection and the HTTP session; idempotent."""
        await self.client.close()
        connection, self._connection = self._connection, None
        if connection is not None:
            done, _ = await asyncio.wait({connection}, timeout=10)
            if not done:
                connection.cancel()

    @staticmethod
    def _connection_ended(task: asyncio.Task) -> None:
        # discord.py reconnects by itself; it gives up only on errors a person must fix.
        if not task.cancelled() and task.exception() is not None:
            log.error("the Discord gateway connection ended: %s; /intel is not answered until a restart",
                      task.exception())

    # --- posting ---

    async def post_alert(self, channel: ChannelRef, alert: Alert) -> str | None:
        """Post one alert as an embed, mentioning the roles in `alert.ping`; return the message
        id. Raises `DeliveryError`."""
        content, allowed = mention_roles(alert.ping)
        return await self._send(channel, embeds=[render_alert(alert, now=self._clock())], content=content,
                                allowed_mentions=allowed)

    async def post_reply(self, channel: ChannelRef, reply: Reply) -> str | None:
        """Post a reply as a channel message; return its id. Raises `DeliveryError`."""
        return await self._send(channel, embeds=render_reply(reply))

    async def post_digest(self, channel: ChannelRef, digest: Digest) -> str | None:
        """Post a digest as one message; return its id. Raises `DeliveryError`, as alerts do."""
        return await self._send(channel, embeds=render_digest(digest, now=self._clock()))

    async def post_coverage(self, channel: ChannelRef, coverage: Coverage) -> str | None:
        """Post later coverage as a reply to the story's alert (a plain message naming the story
        when there is none); return the message id. Raises `DeliveryError`."""
        parent = coverage.parent_message_id
        if not (parent and parent.isdigit() and channel.target.isdigit()):
            return await self._send(channel, embeds=[render_coverage(coverage, threaded=False)])
        # fail_if_not_exists=False: if the alert was deleted, Discord posts it as a plain message.
        reference = discord.MessageReference(message_id=int(parent), channel_id=int(channel.target),
                                             fail_if_not_exists=False)
        return await self._send(channel, embeds=[render_coverage(coverage, threaded=True)], reference=reference)

    async def _send(self, channel: ChannelRef, *, embeds: list[discord.Embed],
                    reference: discord.MessageReference | None = None, content: str | None = None,
                    allowed_mentions: discord.AllowedMentions = NO_MENTIONS) -> str:
        if not channel.target.isdigit():
            raise DeliveryError(f"invalid Discord channel {channel}: expected a channel ID", permanent=True)
        messageable = self.client.get_partial_messageable(int(channel.target))
        try:
            # discord.py waits out a 429 itself (its JSON `retry_after`) and sends again. A reply
            # pings its parent's author only with `replied_user`, which NO_MENTIONS leaves off.
            message = await messageable.send(content=content, embeds=embeds, allowed_mentions=allowed_mentions,
                                             **({"reference": reference} if reference is not None else {}))
        except _TRANSPORT_ERRORS as error:
            raise delivery_error(error, channel=str(channel)) from None
        return str(message.id)

    # --- /intel ---

    def _intel_command(self) -> app_commands.Command:
        @app_commands.command(name="intel", description=messages.INTEL_DESCRIPTION)
        @app_commands.describe(query=messages.INTEL_QUERY_DESCRIPTION)
        async def intel(interaction: discord.Interaction, query: str | None = None) -> None:
            await self._answer(interaction, query or "")

        @intel.autocomplete("query")
        async def complete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
            return self.suggestions(current)

        return intel

    def suggestions(self, current: str) -> list[app_commands.Choice[str]]:
        """Autocomplete choices: tracked company names matching the word being typed (max 25)."""
        found = [text for text in complete_companies(current, self._companies, limit=50) if len(text) <= CHOICE_LIMIT]
        return [app_commands.Choice(name=text, value=text) for text in found[:25]]

    async def _answer(self, interaction: discord.Interaction, text: str) -> None:
        # Defer first: Discord wants an answer within 3 s, and a lookup may take longer.
        await interaction.response.defer(ephemeral=True, thinking=True)
        command = to_command(text, user_id=interaction.user.id if interaction.user else None,
                             channel_id=interaction.channel_id)
        view: discord.ui.View | None = None
        try:
            reply = await self._handle(command)
            embeds = render_reply(reply)
            if reply.more:
                view = MoreView(reply.more, self._answer)
        except Exception:  # the person asked and must hear something; the log has the details
            log.exception("could not answer /intel %s", command.text)
            embeds = [discord.Embed(description=escape(messages.COMMAND_FAILED))]
        try:
            await interaction.followup.send(embeds=embeds, ephemeral=True, allowed_mentions=NO_MENTIONS,
                                            **({"view": view} if view is not None else {}))
        except _TRANSPORT_ERRORS:  # an expired token must not kill the listener
            log.exception("could not send the answer to /intel %s", command.text)

    async def _on_tree_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        log.error("/intel failed: %s", error, exc_info=error)


class DiscordWebhookAdapter:
    """Posts alerts through Discord channel webhooks, for teams that want no bot user.

    `webhooks` maps a name (the `<name>` of `discord-webhook:<name>`) to the webhook's URL
    (Channel settings → Integrations → Webhooks → Copy Webhook URL). Alert-only: no `/intel`.
    Same embeds, limits and mentions as the bot. URLs are secrets: they never
    appear in errors or logs.
    """

    platform = "discord-webhook"

    def __init__(self, *, webhooks: Mapping[str, str],
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)):
        self._urls = dict(webhooks)
        self._clock = clock
        self._session: aiohttp.ClientSession | None = None
        self._webhooks: dict[str, discord.Webhook] = {}

    async def start(self) -> None:
        self._session = aiohttp.ClientSession()
        for name, url in self._urls.items():
            try:
                self._webhooks[name] = discord.Webhook.from_url(url, session=self._session)
            except ValueError:
                await self.stop()
                raise DeliveryError(f"the URL of discord-webhook:{name} is not a Discord webhook URL: "
                                    "copy it again from the channel's Integrations settings", permanent=True) from None

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def post_alert(self, channel: ChannelRef, alert: Alert) -> str | None:
        """Post one alert as an embed through the channel's webhook, mentioning the roles in
        `alert.ping`; return the message id."""
        content, allowed = mention_roles(alert.ping)
        return await self._send(channel, [render_alert(alert, now=self._clock())], content=content,
                                allowed_mentions=allowed)

    async def post_reply(self, channel: ChannelRef, reply: Reply) -> str | None:
        return await self._send(channel, render_reply(reply))

    async def post_digest(self, channel: ChannelRef, digest: Digest) -> str | None:
        """Post a digest as one message through the channel's webhook; return its id."""
        return await self._send(channel, render_digest(digest, now=self._clock()))

    async def post_coverage(self, channel: ChannelRef, coverage: Coverage) -> str | None:
        """Webhooks cannot reply: post a message that names the story, linked; return its id."""
        return await self._send(channel, [render_coverage(coverage, threaded=False)])

    async def _send(self, channel: ChannelRef, embeds: list[discord.Embed], *, content: str | None = None,
                    allowed_mentions: discord.AllowedMentions = NO_MENTIONS) -> str | None:
        webhook = self._webhooks.get(channel.target)
        if webhook is None:
            raise DeliveryError(f"no webhook URL for {channel}: set {webhook_variable(channel.target)}",
                                permanent=True)
        try:
            message = await webhook.send(embeds=embeds, allowed_mentions=allowed_mentions, wait=True,
                                         **({"content": content} if content else {}))
        except discord.NotFound:
            raise DeliveryError(f"the webhook of {channel} was deleted: create a new one and update "
                                f"{webhook_variable(channel.target)}", permanent=True) from None
        except _TRANSPORT_ERRORS as error:
            raise delivery_error(error, channel=str(channel)) from None
        return str(message.id)
