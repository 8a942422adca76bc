"""robots.txt as RFC 9309 reads it: what a site lets intelbot fetch, cached per origin.

The decisions are pure: `policy_from_body` and `policy_from_failure` turn what a fetch of
/robots.txt gave into a `RobotsPolicy` and how long it may be kept. `RobotsCache` keeps one
policy per origin (scheme, host, port), fetches each once however many requests ask at the
same time, and asks again when the policy expires. The HTTP request itself is the caller's
(bot/fetch.py sends it through the same client as every other request, so the address guard
and the size limits hold for it too).

How a fetch of /robots.txt is read (RFC 9309 §2.3.1):
    2xx                  the rules, matched against the product token `intelbot`; kept 24 h
    3xx not followed     (more than 5 redirects, or no Location) as 4xx
    4xx (but 429)        no robots.txt: everything is allowed; kept 24 h
    5xx, 429, no answer  nothing may be fetched for now; asked again after the server's
                         Retry-After, or after 5 minutes, so that a site that recovers is
                         polled again soon. While a robots.txt read before is still cached,
                         that copy is used instead (§2.4 allows it when the file is unreachable).
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass

from protego import Protego

# The product token robots.txt groups are matched against; intelbot's User-Agent starts with it.
ROBOTS_TOKEN = "intelbot"
# §2.5: a parser must read at least 500 KiB; whatever follows is ignored.
MAX_ROBOTS_BYTES = 500 * 1024
# §2.3.1.2: follow at least five consecutive redirects.
MAX_ROBOTS_REDIRECTS = 5
# §2.4: a cached robots.txt should not be used for more than 24 hours.
ROBOTS_FRESH_FOR = 24 * 3600.0
# How soon a robots.txt that could not be read is asked for again, unless the server said.
ROBOTS_RETRY_AFTER = 5 * 60.0
# Crawl-delay is not in RFC 9309; it is honoured, up to a minute between two requests.
MAX_CRAWL_DELAY = 60.0
# How many origins' policies are kept, and how many bytes of robots.txt they may hold in all
# (a parsed robots.txt takes a few times its size); the least recently used go first.
MAX_ORIGINS = 4096
MAX_CACHED_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class RobotsPolicy:
    """What one origin's robots.txt lets intelbot fetch: its rules, everything, or nothing for now."""

    robots_url: str  # shown in messages, without credentials
    rules: Protego | None = None  # None and no refusal: everything is allowed
    refusal: str | None = None  # why nothing may be fetched for now (robots.txt could not be read)
    retry_after: float | None = None  # seconds the server asked for (Retry-After), with a refusal
    size: int = 0  # bytes of robots.txt read

    def why_not(self, url: str) -> str | None:
        """Why `url` (on this origin) may not be fetched, or None when it may."""
        if self.refusal is not None:
            return self.refusal
        if self.rules is not None and not self.rules.can_fetch(url, ROBOTS_TOKEN):
            return f"disallowed by {self.robots_url} (set robots: false on the source if the site allows intelbot)"
        return None

    @property
    def crawl_delay(self) -> float:
        """Seconds the site asks between two requests (Crawl-delay), at most MAX_CRAWL_DELAY; 0 if none."""
        if self.rules is None:
            return 0.0
        return min(self.rules.crawl_delay(ROBOTS_TOKEN) or 0.0, MAX_CRAWL_DELAY)


def policy_from_body(robots_url: str, body: bytes) -> tuple[RobotsPolicy, float]:
    """The policy of a robots.txt that was read (2xx), and for how many seconds it holds."""
    # §2.2: the file is UTF-8; a byte-order mark is allowed, undecodable bytes cost only themselves.
    text = body.decode("utf-8", "replace").removeprefix("\ufeff")
    if len(body) >= MAX_ROBOTS_BYTES:
        text = text.rsplit("\n", 1)[0]  # the last line may have been cut short
    return RobotsPolicy(robots_url, rules=Protego.parse(text), size=len(body)), ROBOTS_FRESH_FOR


def policy_from_failure(
    robots_url: str, *, status: int | None, reason: str, retry_after: float | None
) -> tuple[RobotsPolicy, float]:
    """The policy when /robots.txt gave no file: `status` of the last response (None: no answer).

    3xx (redirects not followed) and 4xx mean there is no robots.txt and everything is allowed;
    5xx, 429 and no answer at all mean nothing may be fetched until it can be read (§2.3.1.4).
    429 is read as a server error, as major crawlers do: the site is asking us to slow down.
    """
    if status is not None and 300 <= status < 500 and status != 429:
        return RobotsPolicy(robots_url), ROBOTS_FRESH_FOR
    word = "unreachable" if status is None else "unavailable"
    refusal = f"robots.txt {word} ({reason}); RFC 9309 says wait"
    lifetime = ROBOTS_RETRY_AFTER if retry_after is None else min(max(retry_after, 1.0), ROBOTS_FRESH_FOR)
    return RobotsPolicy(robots_url, refusal=refusal, retry_after=retry_after), lifetime


@dataclass(frozen=True)
class _Cached:
    policy: RobotsPolicy
    expires: float  # clock() time after which robots.txt is asked for again

    def retry_after(self, now: float) -> float | None:
        """What is left of the server's Retry-After, if it gave one."""
        if self.policy.retry_after is None:
            return None
        return max(0.0, self.expires - now)


Fetch = Callable[[Hashable], Awaitable[tuple[RobotsPolicy, float]]]


class RobotsCache:
    """The robots.txt policy of each origin, fetched once and shared by every request to it.

    `fetch(origin)` reads the origin's /robots.txt and returns `policy_from_body` or
    `policy_from_failure`; an exception it raises (such as a refused address) reaches every
    caller waiting for that origin and is not cached. `clock` gives seconds (monotonic).
    At most `size` origins and `max_bytes` of robots.txt are kept. Call `aclose()` to cancel
    fetches still running.
    """

    def __init__(
        self,
        fetch: Fetch,
        *,
        clock: Callable[[], float] = time.monotonic,
        size: int = MAX_ORIGINS,
        max_bytes: int = MAX_CACHED_BYTES,
    ):
        self._fetch = fetch
        self._clock = clock
        self._size = size
        self._max_bytes = max_bytes
        self._bytes = 0
        self._cached: OrderedDict[Hashable, _Cached] = OrderedDict()
        self._pending: dict[Hashable, asyncio.Future[_Cached]] = {}

    async def policy(self, origin: Hashable) -> tuple[RobotsPolicy, float | None]:
        """The origin's policy and what is left of its Retry-After, fetching robots.txt if needed."""
        cached = self._cached.get(origin)
        if cached is not None and cached.expires > self._clock():
            self._cached.move_to_end(origin)
            return cached.policy, cached.retry_after(self._clock())
        pending = self._pending.get(origin)
        if pending is None:
            previous = cached.policy if cached is not None else None
            pending = asyncio.ensure_future(self._refresh(origin, previous))
            self._pending[origin] = pending
            pending.add_done_callback(functools.partial(self._settled, origin))
        # Shielded: a caller that gives up does not cancel the fetch the others wait for.
        cached = await asyncio.shield(pending)
        return cached.policy, cached.retry_after(self._clock())

    async def _refresh(self, origin: Hashable, previous: RobotsPolicy | None) -> _Cached:
        policy, lifetime = await self._fetch(origin)
        if policy.refusal is not None and previous is not None and previous.refusal is None:
            policy = previous  # §2.4: while robots.txt is unreachable, the last copy read may serve
        cached = _Cached(policy, self._clock() + lifetime)
        replaced = self._cached.pop(origin, None)
        if replaced is not None:
            self._bytes -= replaced.policy.size
        self._cached[origin] = cached
        self._bytes += policy.size
        while len(self._cached) > 1 and (len(self._cached) > self._size or self._bytes > self._max_bytes):
            _origin, dropped = self._cached.popitem(last=False)
            self._bytes -= dropped.policy.size
        return cached

    def _settled(self, origin: Hashable, future: asyncio.Future[_Cached]) -> None:
        if self._pending.get(origin) is future:
            del self._pending[origin]
        if not future.cancelled():
            future.exception()  # retrieved here, so that a failure nobody awaited is not logged

    async def aclose(self) -> None:
        """Cancel the fetches still running."""
        pending = list(self._pending.values())
        for future in pending:
            future.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
