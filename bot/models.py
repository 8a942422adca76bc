"""The plain values that flow through intelbot, from a fetched feed to a chat message.

Every value is a frozen dataclass: stages hand these to each other and never call back
upstream. Times are timezone-aware UTC `datetime`s; adapters convert only when rendering.
No type from a chat platform library appears here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Field = Literal["title", "text"]
PLATFORMS = ("console", "slack", "discord", "discord-webhook")


@dataclass(frozen=True)
class FetchResult:
    """What one HTTP GET returned (after redirects), or that the resource did not change."""

    requested_url: str
    url: str  # the final URL after redirects
    status: int
    content: bytes  # decompressed body, at most the configured size cap; b"" when not modified
    content_type: str | None  # media type only, lower-case, e.g. "application/rss+xml"
    charset: str | None  # from the Content-Type header, if given
    etag: str | None
    last_modified: str | None
    not_modified: bool = False  # True for 304: `content` is empty, keep what you had


@dataclass(frozen=True)
class Entry:
    """One item of a feed, before its page is fetched."""

    source: str  # the source's configured name
    url: str  # canonical URL (see `bot.feeds.canonical_url`); "" if the item has no link
    link: str  # the link as the feed gave it (what we fetch)
    guid: str | None
    title: str
    summary: str  # the feed's description as plain text ("" if none)
    published: datetime | None  # UTC; None when the feed gives no usable date


@dataclass(frozen=True)
class ExtractedPage:
    """What extraction found in one HTML page. Empty strings when a part is missing."""

    title: str
    text: str  # main text, paragraphs separated by "\n"
    published: datetime | None  # UTC
    language: str | None  # ISO 639-1 when known
    description: str = ""  # the page's own meta description


@dataclass(frozen=True)
class Article:
    """A story as intelbot stores it: one page, its text and where it came from."""

    source: str
    url: str  # canonical URL
    guid: str | None
    title: str
    text: str
    published: datetime  # UTC; the time first seen when neither feed nor page gave one
    fetched_at: datetime  # UTC
    language: str | None = None
    description: str = ""  # the feed's summary, used when the text is thin


@dataclass(frozen=True)
class Mention:
    """One place where a tracked company is named in an article."""

    company: str  # the company's configured name
    alias: str  # the configured name or alias that matched
    field: Field  # "title" or "text"
    start: int  # character offsets into that field of the Article: text[start:end]
    end: int


@dataclass(frozen=True)
class Route:
    """A decision that one stored article goes to one channel because of one watchlist."""

    watchlist: str
    channel: str  # as written in config: "console", "slack:#news", "discord:1234"
    companies: tuple[str, ...]  # the watchlist's companies the article mentions, most-mentioned first
    tier: Literal["realtime", "digest"] = "realtime"  # post now, or collect for the watchlist's digest
    ping: tuple[str, ...] = ()  # user groups / roles to notify ("slack:S0123ABCD", "discord:<role id>")


@dataclass(frozen=True)
class Alert:
    """A story ready to post: what every adapter renders, in its own way."""

    watchlist: str
    channel: str
    companies: tuple[str, ...]
    title: str
    url: str
    source: str
    published: datetime
    summary: str
    why: str = ""  # one line: which names matched, where ("'Xiaomi' in the title, 3 mentions")
    id: int | None = None  # the outbox row, once stored
    events: tuple[str, ...] = ()  # event tags of the story (funding, acquisition, ...), see bot/events.py
    ping: tuple[str, ...] = ()  # user groups / roles to notify (configured, for stories about a company)
    tier: Literal["realtime", "digest"] = "realtime"


@dataclass(frozen=True)
class DigestItem:
    """One story in a digest."""

    title: str
    url: str
    source: str
    published: datetime
    companies: tuple[str, ...]
    about: bool = False  # about one of its companies, not a passing mention
    events: tuple[str, ...] = ()


@dataclass(frozen=True)
class Digest:
    """A watchlist's stories of a period for one channel, grouped by company, most salient first.

    `sections` pairs each company with its stories (a story about several companies is listed
    under the first); `total` counts stories. An empty digest (no sections) says nothing new.
    """

    channel: str
    watchlist: str
    since: datetime | None  # the start of the period: the previous digest, or None for the first
    until: datetime
    sections: tuple[tuple[str, tuple[DigestItem, ...]], ...]
    total: int = 0
    ids: tuple[int, ...] = ()  # the outbox rows it reports


@dataclass(frozen=True)
class Outlet:
    """One later article of a story: who carried it, where."""

    source: str
    url: str
    title: str = ""


@dataclass(frozen=True)
class Coverage:
    """Later coverage of a story already alerted in a channel: one reply in the alert's thread.

    `outlets` are the later articles this reply reports, oldest first (a burst of copies is one
    reply); `new_companies` are tracked companies they name that the alert did not. Adapters
    post it as a reply to `parent_message_id` (the alert's message in this channel) where the
    platform has threads or replies, and as a plain message naming the story where it has not.
    """

    channel: str
    story_title: str
    story_url: str
    outlets: tuple[Outlet, ...]
    parent_message_id: str | None = None
    new_companies: tuple[str, ...] = ()
    ids: tuple[int, ...] = ()  # the outbox rows this reply reports, once stored


@dataclass(frozen=True)
class SearchResult:
    """One stored story that answers a lookup."""

    title: str
    url: str
    source: str
    published: datetime
    companies: tuple[str, ...]
    snippet: str  # plain text around the matched terms
    highlights: tuple[tuple[int, int], ...] = ()  # spans of `snippet` to emphasise


@dataclass(frozen=True)
class Command:
    """A chat command as the core sees it: the words after `/intel`, and who typed them."""

    text: str
    user: str  # platform-qualified, e.g. "console", "slack:U0123", "discord:4567"
    channel: str | None = None


@dataclass(frozen=True)
class Reply:
    """What a command answers. Adapters render `results` as rich items and `text` as prose."""

    text: str
    results: tuple[SearchResult, ...] = ()
    ephemeral: bool = True
    more: str | None = None  # the command text that fetches the next results, when there are more


@dataclass(frozen=True)
class ChannelRef:
    """A parsed channel address: `console`, `slack:#name`, `slack:C0123`, `discord:1234`, or
    `discord-webhook:<name>` (an alert-only Discord webhook whose URL is in the environment)."""

    platform: Literal["console", "slack", "discord", "discord-webhook"]
    target: str = ""  # "" for the console

    def __str__(self) -> str:
        return self.platform if self.platform == "console" else f"{self.platform}:{self.target}"


_SLACK_TARGET = re.compile(r"^(#[a-z0-9][a-z0-9._-]{0,79}|[CGD][A-Z0-9]{6,})$")
_DISCORD_TARGET = re.compile(r"^[0-9]{15,22}$")
_WEBHOOK_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def webhook_variable(name: str) -> str:
    """The environment variable holding the URL of webhook channel `discord-webhook:<name>`."""
    return "DISCORD_WEBHOOK_" + name.upper().replace("-", "_")


def parse_channel(text: str) -> ChannelRef:
    """Parse a channel address from config; raise ValueError with a sentence saying what is wrong."""
    platform, _, target = text.strip().partition(":")
    if platform == "console":
        if target:
            raise ValueError(f"'console' takes no target, got {text!r}")
        return ChannelRef("console")
    if platform == "slack":
        if not _SLACK_TARGET.match(target):
            raise ValueError(
                f"invalid Slack channel {text!r}: write slack:#channel-name or slack:C0123ABCD"
            )
        return ChannelRef("slack", target)
    if platform == "discord":
        if not _DISCORD_TARGET.match(target):
            raise ValueError(
                f"invalid Discord channel {text!r}: write discord:<channel id>, a number "
                "(Developer Mode, right-click the channel, Copy Channel ID)"
            )
        return ChannelRef("discord", target)
    if platform == "discord-webhook":
        if not _WEBHOOK_NAME.match(target):
            raise ValueError(
                f"invalid Discord webhook channel {text!r}: write discord-webhook:<name>, a lower-case "
                "name such as news-desk; its URL goes in DISCORD_WEBHOOK_<NAME> (e.g. DISCORD_WEBHOOK_NEWS_DESK)"
            )
        return ChannelRef("discord-webhook", target)
    raise ValueError(
        f"unknown channel {text!r}: use console, slack:#name, slack:<channel id>, discord:<channel id> "
        "or discord-webhook:<name>"
    )


@dataclass(frozen=True)
class SourceState:
    """What the store remembers about one source between polls."""

    name: str
    url: str
    etag: str | None = None
    last_modified: str | None = None
    polls: int = 0  # successful polls so far; 0 means the next poll is the first
    last_success: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    page_hash: str | None = None  # for plain-page sources: hash of the last text seen
    failures: int = 0  # polls failed in a row since the last success
    next_poll_at: datetime | None = None  # when the next poll is due (backoff, Retry-After, adaptive interval)
