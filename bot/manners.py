"""Per-host turn-taking for `bot.fetch.Fetcher`: how many requests a host has in flight, and when.

What it holds: `Manners`, the table of hosts in use (lower-case name and port) with each
host's `_Host` record. A request to a host waits until fewer than `per_host` of its requests
are in flight and at least `delay` seconds have passed since the last one started, in the
order the requests came; then for a place under a cap on requests in flight over all hosts.

Why apart from bot/fetch.py: it is pure asyncio bookkeeping, with no HTTP in it; bot/fetch.py
decides what a host is (`_host_key`), which delay applies (its own `host_delay`, or a
robots.txt Crawl-delay) and what the global cap is (MAX_IN_FLIGHT).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


class _Host:
    """One host's turn-taking: its requests in flight, when the last one started, who waits."""

    __slots__ = ("freed", "in_flight", "last_start", "quiet_at", "turn", "users")

    def __init__(self) -> None:
        self.turn = asyncio.Lock()  # held by the waiter at the head of the line; FIFO
        self.freed = asyncio.Event()  # set when a request in flight ends
        self.in_flight = 0
        self.users = 0  # requests waiting or in flight
        self.last_start = float("-inf")  # loop time
        self.quiet_at = float("-inf")  # loop time after which forgetting the host loses nothing


class Manners:
    """Per-host turns (at most `per_host` in flight, starts `delay` apart, FIFO) and a global cap.

    A waiter first waits for its host's turn, then for a place among the MAX_IN_FLIGHT, so a
    host that makes its requests wait never holds places other hosts could use. A host is
    forgotten once nothing waits for it and its delay has passed, so the table holds only
    hosts in use.
    """

    def __init__(self, *, per_host: int, in_flight: int):
        self._per_host = per_host
        self._in_flight = asyncio.Semaphore(in_flight)
        self._hosts: dict[tuple[str, int], _Host] = {}

    @contextlib.asynccontextmanager
    async def turn(self, key: tuple[str, int], delay: float) -> AsyncIterator[None]:
        """Wait until a request to host `key` may start, at least `delay` s after the last; hold it."""
        host = self._hosts.get(key)
        if host is None:
            host = self._hosts[key] = _Host()
        host.users += 1
        try:
            await self._start(host, delay)
        except BaseException:
            self._leave(key, host)
            raise
        try:
            yield
        finally:
            host.in_flight -= 1
            self._in_flight.release()
            host.freed.set()
            self._leave(key, host)

    async def _start(self, host: _Host, delay: float) -> None:
        loop = asyncio.get_running_loop()
        async with host.turn:
            while host.in_flight >= self._per_host:
                host.freed.clear()
                await host.freed.wait()
            wait = host.last_start + delay - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            await self._in_flight.acquire()
            host.in_flight += 1
            host.last_start = loop.time()
            host.quiet_at = max(host.quiet_at, host.last_start + delay)

    def hold(self, key: tuple[str, int], delay: float) -> None:
        """Count a request to host `key` as started now, so that the next one waits `delay` s.

        For the robots.txt just read, whose Crawl-delay was not known when it was requested.
        """
        host = self._hosts.get(key)
        if host is None:
            host = self._hosts[key] = _Host()
        now = asyncio.get_running_loop().time()
        host.last_start = max(host.last_start, now)
        host.quiet_at = max(host.quiet_at, now + delay)
        if host.users == 0:
            self._forget_when_quiet(key, host)

    def _leave(self, key: tuple[str, int], host: _Host) -> None:
        host.users -= 1
        if host.users == 0:
            self._forget_when_quiet(key, host)

    def _forget_when_quiet(self, key: tuple[str, int], host: _Host) -> None:
        loop = asyncio.get_running_loop()
        if loop.time() >= host.quiet_at:
            self._forget(key, host)
        else:
            loop.call_at(host.quiet_at, self._forget, key, host)

    def _forget(self, key: tuple[str, int], host: _Host) -> None:
        if host.users == 0 and self._hosts.get(key) is host:
            del self._hosts[key]

    def __len__(self) -> int:
        """How many hosts are remembered (for tests: the table must not grow without bound)."""
        return len(self._hosts)
