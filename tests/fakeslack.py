"""A fake Slack on 127.0.0.1 that speaks Slack's wire protocol to the real slack_sdk/bolt clients.

Web API: `POST|GET /api/<method>` with a bearer token, Slack's JSON answers, scripted failures.
`chat.postMessage` records each payload as received (with `thread_ts` for thread replies) and
answers with the message's `ts`, as Slack does; `replies(ts)` lists the posts in a thread. It
refuses blocks past Slack's limits (`block_problems`) as Slack does, and `pinged(payload)` says
whom Slack would notify for a message.
Socket Mode: `apps.connections.open` returns `ws://…/socket`; the socket says hello, then
sends the envelopes a test queues and records the client's acks. `POST /response/<n>` is a
`response_url` that records what `respond()` posts. `sign` signs HTTP requests as Slack does.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import re
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

BOT_TOKEN = "xoxb-test-bot-token"
APP_TOKEN = "xapp-test-app-token"
SIGNING_SECRET = "test-signing-secret"


def sign(body: bytes, *, secret: str = SIGNING_SECRET, timestamp: int | None = None) -> dict[str, str]:
    """The headers Slack adds to a request: `v0=` HMAC-SHA256 of `v0:{timestamp}:{body}`."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    base = f"v0:{timestamp}:".encode() + body
    signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": signature}


# Block Kit limits (https://api.slack.com/reference/block-kit/blocks). The blocks of a message
# may also hold only about 12,000 characters of text in all, a limit Slack does not document
# (slackapi/bolt-js#2509: "12,000 text characters with a buffer for block containers"; #2867
# saw 11,341 refused): this fake refuses past 11,000, stricter than any refusal reported.
BLOCKS_LIMIT = 50
TEXT_OBJECT_LIMIT = 3000
CONTEXT_ELEMENTS_LIMIT = 10
BLOCKS_TEXT_LIMIT = 11_000


def _strings(value: object, key: str | None = None) -> list[tuple[str | None, str]]:
    """Every (key, string) inside a JSON value, depth first."""
    if isinstance(value, str):
        return [(key, value)]
    if isinstance(value, dict):
        return [found for name, item in value.items() for found in _strings(item, name)]
    if isinstance(value, list):
        return [found for item in value for found in _strings(item, key)]
    return []


def block_problems(blocks: list[dict]) -> tuple[str, list[str]] | None:
    """The error Slack answers for `blocks` (`invalid_blocks` or `msg_blocks_too_long`) and its
    messages, or None when Slack would take them."""
    problems = []
    if len(blocks) > BLOCKS_LIMIT:
        problems.append(f"no more than {BLOCKS_LIMIT} items allowed [json-pointer:/blocks]")
    for n, block in enumerate(blocks):
        text = (block.get("text") or {}).get("text")
        if text is not None and len(text) > TEXT_OBJECT_LIMIT:
            problems.append(f"must be less than {TEXT_OBJECT_LIMIT + 1} characters "
                            f"[json-pointer:/blocks/{n}/text/text]")
        elements = block.get("elements") or []
        if block.get("type") == "context" and len(elements) > CONTEXT_ELEMENTS_LIMIT:
            problems.append(f"no more than {CONTEXT_ELEMENTS_LIMIT} items allowed [json-pointer:/blocks/{n}/elements]")
        for m, element in enumerate(elements):
            if len(element.get("text") or "") > TEXT_OBJECT_LIMIT:
                problems.append(f"must be less than {TEXT_OBJECT_LIMIT + 1} characters "
                                f"[json-pointer:/blocks/{n}/elements/{m}/text]")
    if problems:
        return "invalid_blocks", problems
    if sum(len(text) for key, text in _strings(blocks) if key == "text") > BLOCKS_TEXT_LIMIT:
        return "msg_blocks_too_long", []
    return None


_MENTION = re.compile(r"<!(channel|here|everyone)(?:\|[^>]*)?>|<!subteam\^([A-Z0-9]+)(?:\|[^>]*)?>"
                      r"|<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


def pinged(payload: dict) -> set[str]:
    """Whom Slack would notify for a chat.postMessage payload: "channel", "here", "everyone",
    "subteam:S…" or "user:U…", from `text` and every text of its blocks. With `link_names`
    (or `parse=full`) Slack also turns a typed `@channel`, `@here` or `@everyone` into a ping."""
    texts = [payload.get("text") or "", *(text for key, text in _strings(payload.get("blocks") or [])
                                          if key == "text")]
    found = set()
    for text in texts:
        for special, group, user in _MENTION.findall(text):
            found.add(special or (f"subteam:{group}" if group else f"user:{user}"))
        if str(payload.get("link_names")).lower() in ("1", "true") or payload.get("parse") == "full":
            found.update(re.findall(r"(?<![\w&])@(channel|here|everyone)\b", text))
    return found


@dataclass
class Scripted:
    """One canned answer to the next call of a method."""

    status: int = 200
    body: dict = field(default_factory=lambda: {"ok": True})
    headers: dict = field(default_factory=dict)


class FakeSlack:
    def __init__(self) -> None:
        # channel id -> name; ids not listed here get `channel_not_found`
        self.channels: dict[str, str] = {"C0123ABCD": "competitors", "C0456EFGH": "china-desk"}
        self.private_channels: dict[str, str] = {"G0789IJKL": "board"}
        self.page_size = 2  # conversations.list pages, so pagination is exercised
        self.calls: list[str] = []  # every Web API method called, in order
        self.posts: list[dict] = []  # chat.postMessage payloads, exactly as received
        self.rejected: list[dict] = []  # payloads refused for Block Kit's limits
        self.responses: asyncio.Queue[tuple[str, dict]] = asyncio.Queue()  # (response_url path, payload)
        self.acks: dict[str, asyncio.Future] = {}
        self.script: dict[str, list[Scripted]] = {}
        self.base = ""
        self._envelopes: asyncio.Queue[dict] = asyncio.Queue()
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._sockets: set[web.WebSocketResponse] = set()

    # --- set-up ---

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_get("/socket", self._socket)
        app.router.add_post("/response/{id}", self._response)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.base = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def stop(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return self.base + "/api/"

    def response_url(self) -> str:
        return f"{self.base}/response/{next(self._ids)}"

    def then(self, method: str, *answers: Scripted) -> None:
        """Answer the next calls of `method` with `answers`, in order, before the normal answer."""
        self.script.setdefault(method, []).extend(answers)

    # --- Web API ---

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        self.calls.append(method)
        expected = APP_TOKEN if method == "apps.connections.open" else BOT_TOKEN
        if request.headers.get("Authorization") != f"Bearer {expected}":
            return self._json({"ok": False, "error": "invalid_auth"})
        arguments = dict(request.query)
        raw = await request.read()
        if request.content_type == "application/json":
            arguments.update(json.loads(raw or b"{}"))
        elif raw:
            arguments.update(parse_qsl(raw.decode()))
        if self.script.get(method):
            answer = self.script[method].pop(0)
            return self._json(answer.body, status=answer.status, headers=answer.headers)
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return self._json({"ok": False, "error": "unknown_method"})
        return self._json(handler(arguments))

    def _auth_test(self, arguments: dict) -> dict:
        return {"ok": True, "url": "https://fake.slack.test/", "team": "Fake", "user": "intelbot",
                "team_id": "T0FAKE", "user_id": "U0BOT", "bot_id": "B0BOT", "is_enterprise_install": False}

    def _chat_postMessage(self, arguments: dict) -> dict:
        channel = arguments.get("channel")
        if channel not in self.channels and channel not in self.private_channels:
            return {"ok": False, "error": "channel_not_found"}
        blocks = arguments.get("blocks") or []
        if problem := block_problems(json.loads(blocks) if isinstance(blocks, str) else blocks):
            self.rejected.append(arguments)
            error, messages = problem
            return {"ok": False, "error": error, **({"errors": messages, "response_metadata": {
                "messages": [f"[ERROR] {message}" for message in messages]}} if messages else {})}
        self.posts.append(arguments)
        ts = f"{1700000000 + len(self.posts)}.000100"
        message = {"type": "message", "text": arguments.get("text"), "user": "U0BOT", "bot_id": "B0BOT", "ts": ts}
        if arguments.get("thread_ts"):
            message.update(thread_ts=arguments["thread_ts"], parent_user_id="U0BOT")
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def replies(self, thread_ts: str) -> list[dict]:
        """The chat.postMessage payloads posted in the thread of the message `thread_ts`."""
        return [post for post in self.posts if post.get("thread_ts") == thread_ts]

    def _conversations_list(self, arguments: dict) -> dict:
        types = str(arguments.get("types", "public_channel")).split(",")
        listed = list(self.channels.items()) if "public_channel" in types else []
        if "private_channel" in types:
            listed += list(self.private_channels.items())
        start = int(arguments.get("cursor") or 0)
        page = listed[start : start + self.page_size]
        following = start + self.page_size
        return {
            "ok": True,
            "channels": [{"id": cid, "name": name, "is_private": cid.startswith("G")} for cid, name in page],
            "response_metadata": {"next_cursor": str(following) if following < len(listed) else ""},
        }

    def _apps_connections_open(self, arguments: dict) -> dict:
        return {"ok": True, "url": self.base.replace("http://", "ws://") + "/socket"}

    @staticmethod
    def _json(body: dict, *, status: int = 200, headers: dict | None = None) -> web.Response:
        return web.Response(text=json.dumps(body), status=status, content_type="application/json",
                            headers=headers or {})

    # --- response_url ---

    async def _response(self, request: web.Request) -> web.Response:
        await self.responses.put((request.path, await request.json()))
        return web.Response(text="ok")

    async def next_response(self, timeout: float = 5) -> dict:
        """The next payload posted to a response_url."""
        _, payload = await asyncio.wait_for(self.responses.get(), timeout)
        return payload

    # --- Socket Mode ---

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)  # autoping answers the client's pings
        await ws.prepare(request)
        self._sockets.add(ws)
        await ws.send_json({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0FAKE"}})
        sender = asyncio.create_task(self._send_envelopes(ws))
        try:
            async for message in ws:
                if message.type != WSMsgType.TEXT:
                    continue
                ack = json.loads(message.data)
                future = self.acks.get(ack.get("envelope_id"))
                if future is not None and not future.done():
                    future.set_result(ack)
        finally:
            sender.cancel()
            self._sockets.discard(ws)
        return ws

    async def _send_envelopes(self, ws: web.WebSocketResponse) -> None:
        while True:
            envelope = await self._envelopes.get()
            await ws.send_json(envelope)

    def send(self, kind: str, payload: dict) -> asyncio.Future:
        """Queue an envelope for the socket; the future resolves to the client's ack."""
        envelope_id = f"env-{next(self._ids)}"
        self.acks[envelope_id] = asyncio.get_running_loop().create_future()
        self._envelopes.put_nowait(
            {"envelope_id": envelope_id, "type": kind, "accepts_response_payload": kind != "events_api",
             "payload": payload}
        )
        return self.acks[envelope_id]

    def slash_command(self, text: str, *, channel: str = "C0123ABCD", user: str = "U0ALICE") -> dict:
        """A `/intel` payload as Slack sends it (form fields), with a response_url on this fake."""
        return {
            "token": "legacy-verification-token", "team_id": "T0FAKE", "team_domain": "fake",
            "channel_id": channel, "channel_name": self.channels.get(channel, "x"), "user_id": user,
            "user_name": "alice", "command": "/intel", "text": text, "api_app_id": "A0FAKE",
            "is_enterprise_install": "false", "response_url": self.response_url(), "trigger_id": "1.2.3",
        }

    def button_click(self, action_id: str, value: str, *, channel: str = "C0123ABCD", user: str = "U0ALICE") -> dict:
        """A `block_actions` payload for a click on a button of an ephemeral message."""
        return {
            "type": "block_actions", "user": {"id": user, "username": "alice", "team_id": "T0FAKE"},
            "api_app_id": "A0FAKE", "token": "legacy-verification-token", "trigger_id": "1.2.4",
            "team": {"id": "T0FAKE", "domain": "fake"}, "channel": {"id": channel, "name": "competitors"},
            "container": {"type": "message", "message_ts": "1700000000.000100", "channel_id": channel,
                          "is_ephemeral": True},
            "response_url": self.response_url(),
            "actions": [{"action_id": action_id, "block_id": "b1", "type": "button", "value": value,
                         "text": {"type": "plain_text", "text": "x"}, "action_ts": "1700000001.000200"}],
        }
