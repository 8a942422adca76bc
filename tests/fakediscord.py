"""A fake Discord on 127.0.0.1 that speaks Discord's wire protocol to the real discord.py client.

REST under `/api/v10/`: login (`users/@me`, `oauth2/applications/@me`), command sync (bulk
overwrite, global and per guild), channel messages (recorded exactly as received, checked
against Discord's size limits, with scripted failures), interaction callbacks and followups,
and channel webhooks. Gateway WebSocket at `/gateway`: HELLO, heartbeat ACK, IDENTIFY checks
the token, READY, GUILD_CREATE, then the dispatches a test queues (INTERACTION_CREATE).
JSON answers carry `Content-Type: application/json` without a charset, as Discord's do.
`pinged(payload)` says whom Discord would notify for a message (its `mention_*` fields).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from dataclasses import dataclass, field

from aiohttp import WSMsgType, web

TOKEN = "fake.discord.bot-token"
APP_ID = "900000000000000001"
BOT_ID = "900000000000000002"
GUILD_ID = "900000000000000100"
CHANNEL_ID = "900000000000000201"  # #competitors
OTHER_CHANNEL_ID = "900000000000000202"  # #china-desk
USER_ID = "900000000000000300"
TIMESTAMP = "2026-01-01T00:00:00.000000+00:00"

BOT_USER = {"id": BOT_ID, "username": "intelbot", "discriminator": "0", "global_name": None,
            "avatar": None, "bot": True, "flags": 0}
ALICE = {"id": USER_ID, "username": "alice", "discriminator": "0", "global_name": "Alice",
         "avatar": None, "flags": 0}


def limit_problems(payload: dict) -> list[str]:
    """What Discord would reject in a message payload (HTTP 400, code 50035)."""
    problems = []
    if len(payload.get("content") or "") > 2000:
        problems.append("content: Must be 2000 or fewer in length.")
    embeds = payload.get("embeds") or []
    if len(embeds) > 10:
        problems.append("embeds: Must be 10 or fewer in length.")
    total = 0
    for n, embed in enumerate(embeds):
        title, description = embed.get("title") or "", embed.get("description") or ""
        footer = (embed.get("footer") or {}).get("text") or ""
        author = (embed.get("author") or {}).get("name") or ""
        fields = embed.get("fields") or []
        if len(title) > 256:
            problems.append(f"embeds.{n}.title: Must be 256 or fewer in length.")
        if len(description) > 4096:
            problems.append(f"embeds.{n}.description: Must be 4096 or fewer in length.")
        if len(fields) > 25:
            problems.append(f"embeds.{n}.fields: Must be 25 or fewer in length.")
        if len(footer) > 2048:
            problems.append(f"embeds.{n}.footer.text: Must be 2048 or fewer in length.")
        for item in fields:
            if not item.get("name") or not item.get("value"):
                problems.append(f"embeds.{n}.fields: name and value are required.")
            if len(item.get("name") or "") > 256 or len(item.get("value") or "") > 1024:
                problems.append(f"embeds.{n}.fields: field too long.")
            total += len(item.get("name") or "") + len(item.get("value") or "")
        url = embed.get("url")
        if url is not None and not str(url).startswith(("http://", "https://")):
            problems.append(f"embeds.{n}.url: Not a well formed URL.")
        total += len(title) + len(description) + len(footer) + len(author)
    if total > 6000:
        problems.append("embeds: Embed size exceeds maximum size of 6000")
    allowed = payload.get("allowed_mentions") or {}
    for kind in ("roles", "users"):
        if kind in allowed and kind in (allowed.get("parse") or []):
            problems.append(f"allowed_mentions: parse:[\"{kind}\"] and {kind}: [ids] are mutually exclusive.")
        if len(allowed.get(kind) or []) > 100:
            problems.append(f"allowed_mentions.{kind}: Must be 100 or fewer in length.")
    return problems


def pinged(payload: dict) -> set[str]:
    """Whom Discord would notify for a message payload: "everyone" (`@everyone` or `@here`),
    "role:<id>", "user:<id>" or "replied_user", as `allowed_mentions` lets them through (all of
    them when it is absent). Only `content` can ping: mentions in embeds never do."""
    content = payload.get("content") or ""
    allowed = payload.get("allowed_mentions")
    parse = {"everyone", "roles", "users"} if allowed is None else set(allowed.get("parse") or [])
    roles = {str(role) for role in (allowed or {}).get("roles") or []}
    users = {str(user) for user in (allowed or {}).get("users") or []}
    found = set()
    if "everyone" in parse and re.search(r"@(everyone|here)", content):
        found.add("everyone")
    found.update(f"role:{role}" for role in re.findall(r"<@&(\d+)>", content) if "roles" in parse or role in roles)
    found.update(f"user:{user}" for user in re.findall(r"<@!?(\d+)>", content) if "users" in parse or user in users)
    if payload.get("message_reference") and (allowed is None or allowed.get("replied_user")):
        found.add("replied_user")
    return found


@dataclass
class Scripted:
    """One canned answer to the next message posted to a channel."""

    status: int = 200
    body: dict = field(default_factory=dict)
    headers: dict = field(default_factory=dict)


def rate_limited(retry_after: float = 0.05) -> Scripted:
    """A 429 as Discord sends it: JSON `retry_after` and a `Via` header (else discord.py gives up)."""
    return Scripted(429, {"message": "You are being rate limited.", "retry_after": retry_after, "global": False,
                          "code": 0}, {"Via": "1.1 google", "Retry-After": "1", "X-RateLimit-Scope": "user"})


def missing_permissions() -> Scripted:
    return Scripted(403, {"message": "Missing Permissions", "code": 50013})


class FakeDiscord:
    def __init__(self) -> None:
        self.channels: dict[str, str] = {CHANNEL_ID: "competitors", OTHER_CHANNEL_ID: "china-desk"}
        self.calls: list[str] = []  # "METHOD /path" of every REST call, in order
        # {"channel_id", "payload", "id", "reference"} of accepted channel messages; "reference" is
        # the id of the message it replies to, as Discord applied the payload's `message_reference`
        self.messages: list[dict] = []
        self.rejected: list[dict] = []  # payloads refused for Discord's limits
        self.commands: dict[str | None, list[dict]] = {}  # guild id (None: global) -> synced commands
        self.callbacks: asyncio.Queue[dict] = asyncio.Queue()  # interaction callback payloads
        self.followups: asyncio.Queue[dict] = asyncio.Queue()  # followup/webhook payloads, with "token"
        self.webhook_posts: list[dict] = []
        self.webhook_ids: set[str] | None = None  # channel webhooks that exist (None: any id)
        self.script: dict[str, list[Scripted]] = {}  # channel id -> answers to its next posts
        self.identified = asyncio.Event()
        self.base = ""
        self._dispatches: asyncio.Queue[tuple[str, dict]] = asyncio.Queue()
        self._ids = itertools.count(910000000000000000)
        self._runner: web.AppRunner | None = None
        self._sockets: set[web.WebSocketResponse] = set()

    # --- set-up ---

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", "/api/v10/{path:.*}", self._api)
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
    def api_base(self) -> str:
        return self.base + "/api/v10"

    @property
    def gateway_url(self) -> str:
        return self.base.replace("http://", "ws://") + "/gateway"

    def then(self, channel_id: str, *answers: Scripted) -> None:
        """Answer the next posts to `channel_id` with `answers`, in order, before the normal answer."""
        self.script.setdefault(channel_id, []).extend(answers)

    def snowflake(self) -> str:
        return str(next(self._ids))

    # --- REST ---

    async def _api(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["path"]
        self.calls.append(f"{request.method} {path}")
        body = await request.json() if request.can_read_body else None
        parts = path.strip("/").split("/")
        if parts[0] in ("interactions", "webhooks"):  # authorised by the token in the URL
            return await self._webhook_route(request.method, parts, body)
        if request.headers.get("Authorization") != f"Bot {TOKEN}":
            return self._json({"message": "401: Unauthorized", "code": 0}, status=401)
        match request.method, parts:
            case "GET", ["users", "@me"]:
                return self._json(BOT_USER)
            case "GET", ["oauth2", "applications", "@me"]:
                return self._json({"id": APP_ID, "name": "intelbot", "icon": None, "description": "",
                                   "bot_public": False, "bot_require_code_grant": False, "verify_key": "00",
                                   "owner": ALICE, "flags": 0})
            case "GET", ["gateway", *_]:
                return self._json({"url": self.gateway_url, "shards": 1, "session_start_limit": {
                    "total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}})
            case ("PUT", ["applications", _, "commands"]) | ("PUT", ["applications", _, "guilds", _, "commands"]):
                guild = parts[3] if len(parts) == 5 else None
                self.commands[guild] = [
                    {**command, "id": self.snowflake(), "application_id": APP_ID, "version": "1",
                     "default_member_permissions": None, "type": command.get("type", 1),
                     **({"guild_id": guild} if guild else {})}
                    for command in body or []
                ]
                return self._json(self.commands[guild])
            case "GET", ["channels", channel_id]:
                if channel_id not in self.channels:
                    return self._json({"message": "Unknown Channel", "code": 10003}, status=404)
                return self._json(self._channel(channel_id))
            case "POST", ["channels", channel_id, "messages"]:
                return self._post_message(channel_id, body or {})
        return self._json({"message": "404: Not Found", "code": 0}, status=404)

    def _post_message(self, channel_id: str, payload: dict) -> web.Response:
        if self.script.get(channel_id):
            answer = self.script[channel_id].pop(0)
            return self._json(answer.body, status=answer.status, headers=answer.headers)
        if channel_id not in self.channels:
            return self._json({"message": "Unknown Channel", "code": 10003}, status=404)
        if problems := limit_problems(payload):
            self.rejected.append(payload)
            return self._json({"message": "Invalid Form Body", "code": 50035, "errors": problems}, status=400)
        reference = payload.get("message_reference")
        replied_to = None
        if reference:
            replied_to = str(reference.get("message_id"))
            known = any(m["id"] == replied_to and m["channel_id"] == channel_id for m in self.messages)
            if not known and reference.get("fail_if_not_exists", True):
                return self._json({"message": "Invalid Form Body", "code": 50035, "errors": {
                    "message_reference": {"_errors": [{"code": "REPLIES_UNKNOWN_MESSAGE",
                                                       "message": "Unknown message"}]}}}, status=400)
            if not known:  # Discord posts it as a plain message
                replied_to = None
        message = self._message(channel_id, payload, author=BOT_USER)
        if replied_to is not None:
            message.update(type=19, message_reference={"type": 0, "message_id": replied_to,
                                                       "channel_id": channel_id, "guild_id": GUILD_ID})
        self.messages.append({"channel_id": channel_id, "payload": payload, "id": message["id"],
                              "reference": replied_to})
        return self._json(message)

    async def _webhook_route(self, method: str, parts: list[str], body: dict | None) -> web.Response:
        match method, parts:
            case "POST", ["interactions", interaction_id, token, "callback"]:
                await self.callbacks.put({"interaction_id": interaction_id, "token": token, **(body or {})})
                kind = (body or {}).get("type")
                flags = ((body or {}).get("data") or {}).get("flags") or 0
                # discord.py asks `with_response` and reads this body: a 204 would break it.
                return self._json({"interaction": {"id": interaction_id, "type": 2,
                                                   "response_message_loading": kind == 5,
                                                   "response_message_ephemeral": bool(flags & 64)},
                                   "resource": {"type": kind}})
            case "POST", ["webhooks", webhook_id, token]:
                if webhook_id != APP_ID and self.webhook_ids is not None and webhook_id not in self.webhook_ids:
                    return self._json({"message": "Unknown Webhook", "code": 10015}, status=404)
                payload = body or {}
                if problems := limit_problems(payload):
                    self.rejected.append(payload)
                    return self._json({"message": "Invalid Form Body", "code": 50035, "errors": problems},
                                      status=400)
                message = self._message(CHANNEL_ID, payload, author=BOT_USER)
                message["webhook_id"] = webhook_id
                record = {"webhook_id": webhook_id, "token": token, "payload": payload, "message": message}
                self.webhook_posts.append(record)
                await self.followups.put(record)
                return self._json(message)
            case "PATCH", ["webhooks", webhook_id, token, "messages", message_id]:
                record = {"webhook_id": webhook_id, "token": token, "edit": message_id, "payload": body or {}}
                await self.followups.put(record)
                return self._json(self._message(CHANNEL_ID, body or {}, author=BOT_USER))
        return self._json({"message": "Unknown Webhook", "code": 10015}, status=404)

    def _message(self, channel_id: str, payload: dict, *, author: dict) -> dict:
        notified = pinged(payload)
        return {"id": self.snowflake(), "channel_id": channel_id, "type": 0, "content": payload.get("content") or "",
                "author": author, "timestamp": TIMESTAMP, "edited_timestamp": None, "tts": False,
                "mention_everyone": "everyone" in notified,
                "mentions": [],
                "mention_roles": sorted(n.removeprefix("role:") for n in notified if n.startswith("role:")),
                "attachments": [],
                "embeds": payload.get("embeds") or [], "components": payload.get("components") or [],
                "pinned": False, "flags": payload.get("flags") or 0}

    def _channel(self, channel_id: str) -> dict:
        return {"id": channel_id, "type": 0, "guild_id": GUILD_ID, "name": self.channels[channel_id],
                "position": 0, "permission_overwrites": [], "nsfw": False, "parent_id": None,
                "topic": None, "last_message_id": None, "rate_limit_per_user": 0}

    @staticmethod
    def _json(body: object, *, status: int = 200, headers: dict | None = None) -> web.Response:
        # Discord sends no charset; discord.py checks the content type exactly.
        return web.Response(body=json.dumps(body).encode(), status=status,
                            headers={"Content-Type": "application/json", **(headers or {})})

    # --- gateway ---

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.add(ws)
        sequence = itertools.count(1)
        await ws.send_json({"op": 10, "d": {"heartbeat_interval": 41250}, "s": None, "t": None})
        sender: asyncio.Task | None = None
        try:
            async for message in ws:
                if message.type != WSMsgType.TEXT:
                    continue
                frame = json.loads(message.data)
                if frame["op"] == 1:
                    await ws.send_json({"op": 11, "d": None, "s": None, "t": None})
                elif frame["op"] == 2:
                    if frame["d"].get("token") != TOKEN:
                        await ws.close(code=4004, message=b"Authentication failed.")
                        break
                    self.identified.set()
                    await ws.send_json({"op": 0, "t": "READY", "s": next(sequence), "d": {
                        "v": 10, "user": BOT_USER, "guilds": [{"id": GUILD_ID, "unavailable": True}],
                        "session_id": "fake-session", "resume_gateway_url": self.gateway_url,
                        "application": {"id": APP_ID, "flags": 0}, "shard": [0, 1]}})
                    await ws.send_json({"op": 0, "t": "GUILD_CREATE", "s": next(sequence), "d": self._guild()})
                    sender = asyncio.create_task(self._send_dispatches(ws, sequence))
        finally:
            if sender is not None:
                sender.cancel()
            self._sockets.discard(ws)
        return ws

    async def _send_dispatches(self, ws: web.WebSocketResponse, sequence) -> None:
        while True:
            event, data = await self._dispatches.get()
            await ws.send_json({"op": 0, "t": event, "s": next(sequence), "d": data})

    def _guild(self) -> dict:
        return {"id": GUILD_ID, "name": "Fake Co", "icon": None, "owner_id": USER_ID, "unavailable": False,
                "roles": [{"id": GUILD_ID, "name": "@everyone", "permissions": "68608", "position": 0,
                           "color": 0, "hoist": False, "managed": False, "mentionable": False, "flags": 0}],
                "emojis": [], "stickers": [], "features": [], "member_count": 2, "large": False,
                "channels": [self._channel(cid) for cid in self.channels], "threads": [], "members": [],
                "voice_states": [], "presences": [], "premium_tier": 0, "preferred_locale": "en-US",
                "verification_level": 0, "default_message_notifications": 0, "explicit_content_filter": 0,
                "mfa_level": 0, "system_channel_flags": 0, "afk_timeout": 300, "nsfw_level": 0,
                "joined_at": TIMESTAMP}

    # --- interactions ---

    def _interaction(self, kind: int, data: dict, *, channel_id: str = CHANNEL_ID, **extra) -> dict:
        interaction = {
            "id": self.snowflake(), "application_id": APP_ID, "type": kind, "token": f"itoken-{self.snowflake()}",
            "version": 1, "guild_id": GUILD_ID, "channel_id": channel_id, "channel": self._channel(channel_id),
            "member": {"user": ALICE, "roles": [], "joined_at": TIMESTAMP, "deaf": False, "mute": False,
                       "flags": 0, "permissions": "2147483647"},
            "app_permissions": "84992", "locale": "en-US", "guild_locale": "en-US",
            "attachment_size_limit": 8388608, "entitlements": [], "authorizing_integration_owners": {},
            "context": 0, "data": data,
        }
        interaction.update(extra)
        self._dispatches.put_nowait(("INTERACTION_CREATE", interaction))
        return interaction

    def intel(self, query: str | None) -> dict:
        """Queue `/intel` (INTERACTION_CREATE type 2) with `query` (None: no option given)."""
        options = [] if query is None else [{"name": "query", "type": 3, "value": query}]
        command_id = next((c["id"] for c in self.commands.get(GUILD_ID, []) if c["name"] == "intel"), APP_ID)
        return self._interaction(2, {"id": command_id, "name": "intel", "type": 1, "options": options,
                                     "guild_id": GUILD_ID})

    def autocomplete(self, typed: str) -> dict:
        """Queue an autocomplete request (type 4) for `/intel query:` with `typed` so far."""
        command_id = next((c["id"] for c in self.commands.get(GUILD_ID, []) if c["name"] == "intel"), APP_ID)
        return self._interaction(4, {"id": command_id, "name": "intel", "type": 1, "guild_id": GUILD_ID,
                                     "options": [{"name": "query", "type": 3, "value": typed, "focused": True}]})

    def click(self, message: dict, custom_id: str) -> dict:
        """Queue a button click (type 3) on `message` (a message payload this fake returned)."""
        return self._interaction(3, {"custom_id": custom_id, "component_type": 2}, message=message)

    async def next_callback(self, timeout: float = 5) -> dict:
        return await asyncio.wait_for(self.callbacks.get(), timeout)

    async def next_followup(self, timeout: float = 5) -> dict:
        return await asyncio.wait_for(self.followups.get(), timeout)
