"""Slack as a chat platform: alerts as Block Kit messages, `/intel` over Socket Mode or HTTP.

Built on slack-bolt's `AsyncApp`; this module only translates. Alerts, digests and replies
become Block Kit payloads (`render_alert`, `render_digest`, `render_reply`), slash commands
and button clicks become `Command` values for the core, and Slack's errors become
`DeliveryError`s.

Text from the web is hostile: Slack reads `<!channel>`, `<@U123>` and `<url|label>` in message
text as pings and links, so every untrusted string goes through `escape` (`&`, `<`, `>`), text
objects are `verbatim` (no auto-linking of names), and messages never set `link_names` or
`parse=full`. The only ping this module writes is `<!subteam^S…>` for the user groups an
alert's `ping` names (`mention_groups`).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from typing import Any, Literal

import aiohttp
from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.web.async_client import AsyncWebClient

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
)
from bot.text import fit as fit_escaped
from bot.text import mark_spans

log = logging.getLogger(__name__)

SHARE_ACTION = "intel_share"
MORE_ACTION = "intel_more"
# Block Kit limits (https://api.slack.com/reference/block-kit/blocks), kept below with room
# for the markup this module adds around untrusted text.
SECTION_TEXT_LIMIT = 3000
CONTEXT_TEXT_LIMIT = 2000
TITLE_LIMIT = 300
URL_LIMIT = 1500
SUMMARY_LIMIT = 2400
SNIPPET_LIMIT = 600
FALLBACK_LIMIT = 3000  # `text` is shown in notifications; Slack truncates past 4,000
BUTTON_VALUE_LIMIT = 2000
# A coverage message links up to four pages (the story and three outlets) in one section.
OUTLET_LABEL_LIMIT = 100
COVERAGE_URL_LIMIT = 500
# A digest is one message: at most 50 blocks, and Slack refuses a message whose blocks hold
# more than about 12,000 characters of text in all (`msg_blocks_too_long`, undocumented;
# slackapi/bolt-js#2509 and #2867), so a digest keeps well under that and names the companies
# that did not fit on one last line. Per story, the parts are capped so that a company's
# section (its line, five stories and "+N more") always fits in one 3,000-character section.
BLOCKS_LIMIT = 50
DIGEST_TEXT_BUDGET = 10_000
DIGEST_REST_LIMIT = 1000  # the last line: the companies that did not fit, with their counts
DIGEST_TITLE_LIMIT = 120
DIGEST_URL_LIMIT = 350

# Errors after which retrying the same message cannot help; the hint says what a person can do.
_PERMANENT_ERRORS = {
    "channel_not_found": "the channel does not exist or the bot cannot see it{invite}",
    "not_in_channel": "the bot is not a member of the channel{invite}",
    "is_archived": "the channel is archived",
    "invalid_auth": "Slack rejected the bot token: check SLACK_BOT_TOKEN",
    "not_authed": "no bot token was sent: set SLACK_BOT_TOKEN",
    "account_inactive": "the bot's token belongs to a deactivated app or user: reinstall the app",
    "token_revoked": "the bot token was revoked: reinstall the app and update SLACK_BOT_TOKEN",
    "missing_scope": "the app lacks a permission (scope): reinstall it from slack-manifest.yaml",
    "restricted_action": "the workspace does not let the bot post there",
    "invalid_blocks": "Slack rejected the message layout",
    "msg_too_long": "the message is too long for Slack",
    "msg_blocks_too_long": "the message is too long for Slack",
}
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_GROUP_ID = re.compile(r"^S[A-Z0-9]{4,}$")  # as the config checks it; nothing else enters a mention


def escape(text: str) -> str:
    """`text` safe for Slack mrkdwn: no pings, links or channel names. `&` first, then `<`, `>`."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def fit(text: str, limit: int) -> str:
    """`text` escaped for mrkdwn and cut at a word so that the escaped form fits `limit`."""
    return fit_escaped(text, limit, escape)


def link(url: str, title: str, *, title_limit: int = TITLE_LIMIT, url_limit: int = URL_LIMIT) -> str:
    """`<url|title>` with both parts escaped; the title alone when the URL is not http(s) or huge."""
    label = fit(title, title_limit) or fit(url, title_limit)
    # Inside <…> a `|` ends the URL and `>` ends the link: neither may come from the URL.
    target = escape(url).replace("|", "%7C").replace(" ", "%20")
    if not url.startswith(("http://", "https://")) or len(target) > url_limit:
        return label
    return f"<{target}|{label}>"


def slack_date(moment: datetime) -> str:
    """A date Slack shows in each reader's time zone, with a UTC fallback for old clients."""
    fallback = moment.astimezone(timezone.utc).strftime("%Y-%m-%d")
    return f"<!date^{int(moment.timestamp())}^{{date_short}}|{fallback}>"


def _mrkdwn(text: str) -> MarkdownTextObject:
    # verbatim: Slack must not turn names, channels or bare URLs in the text into links.
    return MarkdownTextObject(text=text, verbatim=True)


def mention_groups(ping: tuple[str, ...]) -> str:
    """`<!subteam^S…> ` for each Slack user group in an alert's `ping`, or "": the only pings
    intelbot writes. Discord roles are left to the Discord adapter."""
    groups = dict.fromkeys(entry.removeprefix("slack:") for entry in ping if entry.startswith("slack:"))
    return "".join(f"<!subteam^{group}> " for group in groups if _GROUP_ID.match(group))


def render_alert(alert: Alert, *, now: datetime | None = None) -> tuple[str, list[dict]]:
    """The fallback `text` and Block Kit `blocks` of an alert; every untrusted part escaped.

    The user groups in `alert.ping` are mentioned first, in both, so that they are notified.
    """
    now = now or datetime.now(timezone.utc)
    mentions = mention_groups(alert.ping)
    body = f"{mentions}*{link(alert.url, alert.title)}*"
    if alert.summary:
        body += "\n" + fit(alert.summary, min(SUMMARY_LIMIT, SECTION_TEXT_LIMIT - len(body) - 1))
    age = messages.age(alert.published, now)
    meta = f"*{fit(', '.join(alert.companies), 500)}* · {fit(alert.source, 500)} · {age}"
    blocks: list[Block] = [
        SectionBlock(text=_mrkdwn(body)),
        ContextBlock(elements=[_mrkdwn(meta)]),
    ]
    if alert.events:
        labels = " · ".join(tag_label(tag) for tag in alert.events)
        blocks.append(ContextBlock(elements=[_mrkdwn(fit(labels, CONTEXT_TEXT_LIMIT))]))
    if alert.why:
        blocks.append(ContextBlock(elements=[_mrkdwn(fit(messages.why_line(alert.why), CONTEXT_TEXT_LIMIT))]))
    text = mentions + fit(f"{', '.join(alert.companies)}: {alert.title} ({alert.source})",
                          FALLBACK_LIMIT - len(mentions))
    return text, [block.to_dict() for block in blocks]


def render_digest(digest: Digest, *, now: datetime | None = None) -> tuple[str, list[dict]]:
    """The fallback `text` and `blocks` of a digest: its heading, then a section per company.

    Each section names the company with its count, lists its first stories (linked title,
    source, age; `•` about the company, `◦` naming it in passing), then "+N more". Companies
    past Slack's limits are named with their counts on one small last line. An empty digest
    says that nothing is new.
    """
    now = now or datetime.now(timezone.utc)
    if not digest.sections:
        text = fit(messages.nothing_new(digest.watchlist, digest.since), SECTION_TEXT_LIMIT)
        return text, [SectionBlock(text=_mrkdwn(text)).to_dict()]
    heading = fit(messages.digest_heading(digest.watchlist, digest.total, digest.since, now), FALLBACK_LIMIT)
    blocks: list[Block] = [SectionBlock(text=_mrkdwn(f"*{heading}*"))]
    used = len(heading) + 2
    shown = 0
    for company, items in digest.sections:
        section = messages.digest_company(
            company, items, now, fit=fit, bold=lambda text: f"*{text}*",
            link=lambda item: link(item.url, item.title, title_limit=DIGEST_TITLE_LIMIT, url_limit=DIGEST_URL_LIMIT))
        # Keep room for the last line and its block, in case later companies do not fit.
        if used + len(section) > DIGEST_TEXT_BUDGET - DIGEST_REST_LIMIT or len(blocks) >= BLOCKS_LIMIT - 1:
            break
        blocks.append(SectionBlock(text=_mrkdwn(section)))
        used += len(section)
        shown += 1
    if rest := digest.sections[shown:]:
        blocks.append(ContextBlock(elements=[_mrkdwn(messages.other_companies(rest, DIGEST_REST_LIMIT, fit=fit))]))
    return heading, [block.to_dict() for block in blocks]


def render_coverage(coverage: Coverage) -> tuple[str, list[dict]]:
    """The fallback `text` and `blocks` of later coverage: one section, every untrusted part escaped.

    In the alert's thread it says who else covered the story (three outlets linked, then
    "+N more") and which tracked companies the later coverage adds. Without a thread
    (no `parent_message_id`) it first names the story, linked.
    """
    named = coverage.outlets[: messages.OUTLETS_NAMED]
    more = len(coverage.outlets) - len(named)
    lines = [messages.also_covered([_outlet_link(outlet) for outlet in named], more=more)]
    plain = [messages.also_covered([fit(outlet.source, OUTLET_LABEL_LIMIT) for outlet in named], more=more)]
    if not coverage.parent_message_id:
        story = link(coverage.story_url, coverage.story_title, url_limit=COVERAGE_URL_LIMIT)
        lines.insert(0, messages.coverage_of(story))
        plain.insert(0, messages.coverage_of(fit(coverage.story_title, TITLE_LIMIT)))
    body = "\n".join(line for line in lines if line)
    if coverage.new_companies:
        companies = messages.now_also_mentions(coverage.new_companies)
        body += "\n" + fit(companies, SECTION_TEXT_LIMIT - len(body) - 1)
        plain.append(fit(companies, FALLBACK_LIMIT // 2))
    text = "\n".join(line for line in plain if line)
    return text, [SectionBlock(text=_mrkdwn(body)).to_dict()]


def _outlet_link(outlet: Outlet) -> str:
    return link(outlet.url, outlet.source, title_limit=OUTLET_LABEL_LIMIT, url_limit=COVERAGE_URL_LIMIT)


def render_result(result: SearchResult) -> list[Block]:
    """One lookup result: linked title and bold-highlighted snippet, then source, date, companies."""
    head = f"*{link(result.url, result.title)}*"
    body = head + ("\n" + highlighted(result) if result.snippet else "")
    if len(body) > SECTION_TEXT_LIMIT:  # a snippet of `&`s grows fivefold when escaped
        body = head + "\n" + fit(result.snippet, SECTION_TEXT_LIMIT - len(head) - 1)
    meta = [fit(result.source, 500), slack_date(result.published)]
    if result.companies:
        meta.append(fit(", ".join(result.companies), 1000))
    return [
        SectionBlock(text=_mrkdwn(body)),
        ContextBlock(elements=[_mrkdwn(" · ".join(meta))]),
    ]


def highlighted(result: SearchResult) -> str:
    """The snippet, escaped, with its highlight spans in bold; cut to `SNIPPET_LIMIT` characters."""
    return mark_spans(result.snippet, result.highlights, SNIPPET_LIMIT, escape=escape,
                      mark=lambda word: f"*{escape(word.replace('*', ''))}*")


def render_reply(reply: Reply, *, command_text: str | None = None, shared_by: str | None = None) -> list[dict]:
    """Block Kit `blocks` of a command's reply.

    With `command_text`, a "Share in channel" button re-runs it for everyone; with
    `reply.more`, a "More" button fetches the next page. A reply shared in a channel
    (`shared_by`, a Slack user id) carries no buttons, and says who shared it.
    """
    blocks: list[Block] = [SectionBlock(text=_mrkdwn(fit(reply.text, SECTION_TEXT_LIMIT)))]
    for result in reply.results:
        blocks.append(DividerBlock())
        blocks.extend(render_result(result))
    if shared_by is not None:
        who = f"<@{shared_by}>" if _USER_ID.match(shared_by) else escape(shared_by)
        blocks.append(ContextBlock(elements=[_mrkdwn(messages.shared_by(who))]))
        return [block.to_dict() for block in blocks]
    buttons = []
    if command_text and reply.results and len(command_text) <= BUTTON_VALUE_LIMIT:
        buttons.append(ButtonElement(text=messages.SHARE_BUTTON, action_id=SHARE_ACTION, value=command_text))
    if reply.more and len(reply.more) <= BUTTON_VALUE_LIMIT:
        buttons.append(ButtonElement(text=messages.MORE_BUTTON, action_id=MORE_ACTION, value=reply.more))
    if buttons:
        blocks.append(ActionsBlock(elements=buttons))
    return [block.to_dict() for block in blocks]


def delivery_error(error: SlackApiError | None, *, channel: str, status: int | None = None,
                   retry_after: float | None = None, invite_as: str = "intelbot") -> DeliveryError:
    """The `DeliveryError` for a refused Web API call: permanent when retrying cannot help."""
    code = str(error.response.get("error", "")) if error is not None else ""
    if error is not None:
        status = error.response.status_code
        header = error.response.headers.get("Retry-After") or error.response.headers.get("retry-after")
        retry_after = float(header) if header and str(header).isdigit() else retry_after
    if code in _PERMANENT_ERRORS:
        where = channel.removeprefix("slack:")
        invite = f": invite the bot with /invite @{invite_as} in {where}" if "{invite}" in _PERMANENT_ERRORS[code] else ""
        reason = _PERMANENT_ERRORS[code].format(invite=invite)
        return DeliveryError(f"Slack refused the message for {channel} ({code}): {reason}", permanent=True)
    if status == 429 or code == "ratelimited":
        return DeliveryError(f"Slack is rate limiting messages to {channel}", retry_after=retry_after)
    detail = code or f"HTTP {status}"
    return DeliveryError(f"Slack did not take the message for {channel} ({detail}); will retry")


class SlackAdapter:
    """Posts alerts to Slack channels and answers `/intel` there.

    `handle` answers commands (the core's `Commands.handle`). `mode="socket"` needs
    `app_token` (xapp-…); `mode="http"` needs `signing_secret` and serves Slack's requests
    on `http_host:http_port` + `http_path` (port 0 picks a free one: see `http_port`).
    `listen=False` only posts (a one-shot poll): no connection, no server, no tokens but
    the bot's. Messages to one channel are at least `min_interval` seconds apart.
    """

    platform = "slack"

    def __init__(
        self,
        *,
        bot_token: str,
        app_token: str | None = None,
        signing_secret: str | None = None,
        api_url: str = "https://slack.com/api/",
        mode: Literal["socket", "http"] = "socket",
        http_host: str = "127.0.0.1",
        http_port: int = 3000,
        http_path: str = "/slack/events",
        handle: Callable[[Command], Awaitable[Reply]],
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
        min_interval: float = 1.0,
        listen: bool = True,
    ):
        if listen and mode == "socket" and not app_token:
            raise ValueError("Socket Mode needs an app-level token (SLACK_APP_TOKEN)")
        if listen and mode == "http" and not signing_secret:
            raise ValueError("HTTP mode needs the app's signing secret (SLACK_SIGNING_SECRET)")
        self._app_token = app_token
        self._mode = mode
        self._listen = listen
        self._http_host = http_host
        self._http_port = http_port
        self._http_path = http_path
        self._handle = handle
        self._clock = clock
        self._min_interval = min_interval
        self.client = AsyncWebClient(token=bot_token, base_url=api_url)
        # A connection-error handler is there by default; 429s are retried only on request.
        if not any(isinstance(h, AsyncConnectionErrorRetryHandler) for h in self.client.retry_handlers):
            self.client.retry_handlers.append(AsyncConnectionErrorRetryHandler())
        self.client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=2))
        # signing_secret "" rather than None: bolt would otherwise read it from the environment.
        self.app = AsyncApp(client=self.client, signing_secret=signing_secret or "", logger=log)
        self.app.command("/intel")(self._on_intel)
        self.app.action(SHARE_ACTION)(self._on_share)
        self.app.action(MORE_ACTION)(self._on_more)
        self._socket: AsyncSocketModeHandler | None = None
        self._runner: web.AppRunner | None = None
        self._bot_name = "intelbot"
        self._channel_ids: dict[str, str] = {}  # "#name" -> "C0123…", from conversations.list
        self._listed_at: float | None = None
        self._listing = asyncio.Lock()
        self._pacing: dict[str, tuple[asyncio.Lock, list[float]]] = {}

    # --- lifecycle ---

    async def start(self) -> None:
        """Check the bot token, then connect (Socket Mode) or start serving (HTTP)."""
        response = await self._call("auth.test", "auth_test")
        self._bot_name = str(response.get("user") or self._bot_name)
        if not self._listen:
            return
        if self._mode == "socket":
            # The Socket Mode client retries a refused app token forever, logging each time:
            # check the token once here so a wrong one is a clear error at start.
            try:
                await self.client.apps_connections_open(app_token=self._app_token)
            except SlackApiError as error:
                raise DeliveryError(
                    f"Slack refused the app-level token ({error.response.get('error')}): check "
                    "SLACK_APP_TOKEN (scope connections:write) and that Socket Mode is enabled",
                    permanent=True,
                ) from None
            self._socket = AsyncSocketModeHandler(self.app, self._app_token)
            await self._socket.connect_async()
            log.info("connected to Slack as @%s (Socket Mode)", self._bot_name)
        else:
            self._runner = web.AppRunner(self.app.web_app(path=self._http_path, port=self._http_port), access_log=None)
            await self._runner.setup()
            site = web.TCPSite(self._runner, self._http_host, self._http_port)
            await site.start()
            log.info("serving Slack requests as @%s on http://%s:%d%s",
                     self._bot_name, self._http_host, self.http_port, self._http_path)

    async def stop(self) -> None:
        if self._socket is not None:
            await self._socket.close_async()
            self._socket = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def http_port(self) -> int:
        """The port HTTP mode listens on (the one chosen when configured as 0)."""
        if self._runner is not None and self._runner.addresses:
            return int(self._runner.addresses[0][1])
        return self._http_port

    # --- posting ---

    async def post_alert(self, channel: ChannelRef, alert: Alert) -> str | None:
        """Post one alert; return its message `ts`. Raises `DeliveryError`."""
        text, blocks = render_alert(alert, now=self._clock())
        return await self._post(channel, text=text, blocks=blocks)

    async def post_reply(self, channel: ChannelRef, reply: Reply) -> str | None:
        """Post a reply as a channel message; return its `ts`. Raises `DeliveryError`."""
        return await self._post(channel, text=fit(reply.text, FALLBACK_LIMIT), blocks=render_reply(reply))

    async def post_digest(self, channel: ChannelRef, digest: Digest) -> str | None:
        """Post a digest as one message; return its `ts`. Raises `DeliveryError`, as alerts do."""
        text, blocks = render_digest(digest, now=self._clock())
        return await self._post(channel, text=text, blocks=blocks)

    async def post_coverage(self, channel: ChannelRef, coverage: Coverage) -> str | None:
        """Post later coverage in the thread of the story's alert (a channel message when there is
        none); return the message `ts`. Raises `DeliveryError`."""
        text, blocks = render_coverage(coverage)
        return await self._post(channel, text=text, blocks=blocks, thread_ts=coverage.parent_message_id)

    async def _post(self, channel: ChannelRef, *, text: str, blocks: list[dict],
                    thread_ts: str | None = None) -> str | None:
        channel_id = await self.fetch_channel_id(channel)
        # A reply stays in its thread: reply_broadcast would repeat it in the channel.
        thread = {"thread_ts": thread_ts, "reply_broadcast": False} if thread_ts else {}
        async with self._paced(channel_id):
            response = await self._call(
                str(channel), "chat_postMessage",
                channel=channel_id, text=text, blocks=blocks, unfurl_links=False, unfurl_media=False, **thread,
            )
        return response.get("ts")

    @asynccontextmanager
    async def _paced(self, channel_id: str):
        """Hold the channel's turn: at most one message per `min_interval` per channel."""
        lock, last = self._pacing.setdefault(channel_id, (asyncio.Lock(), []))
        async with lock:
            loop = asyncio.get_running_loop()
            if last:
                wait = last[0] + self._min_interval - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
            try:
                yield
            finally:
                last[:] = [loop.time()]

    async def fetch_channel_id(self, channel: ChannelRef) -> str:
        """The channel's ID: `C0123…` as given; `#name` looked up once via conversations.list."""
        if not channel.target.startswith("#"):
            return channel.target
        name = channel.target
        async with self._listing:
            loop = asyncio.get_running_loop()
            # A miss lists again, but not more than once a minute (conversations.list is rate-limited).
            stale = self._listed_at is None or loop.time() - self._listed_at > 60
            if name not in self._channel_ids and stale:
                self._channel_ids = await self._list_channels(str(channel))
                self._listed_at = loop.time()
        if name not in self._channel_ids:
            raise DeliveryError(
                f"no Slack channel {name} that the bot can see: check the name, and for a private "
                f"channel invite the bot with /invite @{self._bot_name} in {name}", permanent=True,
            )
        return self._channel_ids[name]

    async def _list_channels(self, label: str) -> dict[str, str]:
        found: dict[str, str] = {}
        cursor = None
        while True:
            response = await self._call(
                label, "conversations_list", types="public_channel,private_channel",
                exclude_archived=True, limit=1000, **({"cursor": cursor} if cursor else {}),
            )
            for item in response.get("channels") or ():
                found["#" + item["name"]] = item["id"]
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return found

    async def _call(self, label: str, method: str, **arguments: Any) -> Any:
        """Call a Web API method; turn Slack's refusals and network failures into DeliveryError."""
        try:
            return await getattr(self.client, method)(**arguments)
        except SlackApiError as error:
            raise delivery_error(error, channel=label, invite_as=self._bot_name) from None
        except (SlackClientError, aiohttp.ClientError, asyncio.TimeoutError, OSError) as error:
            raise DeliveryError(f"could not reach Slack for {label}: {type(error).__name__} {error}") from None

    # --- commands and buttons ---

    async def _on_intel(self, ack, command: dict, respond) -> None:
        await ack()  # Slack wants an answer within 3 s; the lookup may take longer
        await self._answer(command.get("text") or "", command, respond, response_type="ephemeral")

    async def _on_share(self, ack, body: dict, action: dict, respond) -> None:
        await ack()
        user = body.get("user", {}).get("id", "")
        await self._answer(action.get("value") or "", {"user_id": user, "channel_id": _channel_of(body)},
                           respond, response_type="in_channel", shared_by=user)

    async def _on_more(self, ack, body: dict, action: dict, respond) -> None:
        await ack()
        user = body.get("user", {}).get("id", "")
        await self._answer(action.get("value") or "", {"user_id": user, "channel_id": _channel_of(body)},
                           respond, response_type="ephemeral")

    async def _answer(self, text: str, who: dict, respond, *, response_type: str, shared_by: str | None = None) -> None:
        command = to_command(text, who)
        try:
            reply = await self._handle(command)
            blocks = render_reply(reply, command_text=command.text, shared_by=shared_by)
            fallback = fit(reply.text, FALLBACK_LIMIT)
        except Exception:  # the person asked and must hear something; the log has the details
            log.exception("could not answer /intel %s", command.text)
            blocks, fallback = None, messages.COMMAND_FAILED
        try:
            await respond(text=fallback, blocks=blocks, response_type=response_type, replace_original=False)
        except Exception:  # noqa: BLE001 - a dead response_url must not kill the listener
            log.exception("could not send the answer to /intel %s", command.text)


def to_command(text: str, who: dict) -> Command:
    """The core's `Command` for a slash command payload (`user_id`, `channel_id`) and its text.

    Slack escapes what people type as mrkdwn does (`AT&T` arrives as `AT&amp;T`); the core
    gets it back as typed. Links stay in Slack's `<url>` form, which the commands unwrap.
    """
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    channel = who.get("channel_id")
    return Command(text=text.strip(), user=f"slack:{who.get('user_id', '')}",
                   channel=f"slack:{channel}" if channel else None)


def _channel_of(body: dict) -> str | None:
    return (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
