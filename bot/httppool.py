"""The connection machinery under `bot.fetch.Fetcher`: where sockets are opened and pooled.

What it holds:

- `GuardedNetworkBackend`, the httpcore network backend that resolves a host once (through a
  checking function it is given) and connects only to the addresses that function approved, so
  a DNS answer that changes between the check and the connection (DNS rebinding) cannot slip
  through. What counts as approved, and the error raised otherwise, is bot/fetch.py's business.
- `ShardedTransport`, the httpx transport `Fetcher` sends through when it makes connections
  itself: POOL_SHARDS `_GuardedTransport`s (httpx's transport with its httpcore pool swapped
  for an `_Http11Pool` over the guarded backend), each request going to the one its origin
  hashes to.

Why apart from bot/fetch.py: this is plumbing against httpx's and httpcore's internals (a
replaced `_pool`, an overridden `_assign_requests_to_connections`), pinned to their versions
and tested through `Fetcher`; it knows nothing of redirects, bodies, robots.txt or manners.
"""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
import time
import typing
import zlib
from collections.abc import Awaitable, Callable

import httpcore
import httpx

# Connection pools, each request going to one chosen by its origin: httpcore's pool checks
# every connection for every request it queues or finishes, so several small pools do far
# less work than one large one. Each may open as many connections as requests may be in
# flight in all (`max_connections`, bot/fetch.py's MAX_IN_FLIGHT), so no request waits in a
# pool for one, and keeps up to KEEPALIVE_PER_POOL idle (one host's largest `per_host`).
POOL_SHARDS = 8
KEEPALIVE_PER_POOL = 16


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that connects only to addresses the guard approved.

    `addresses(host)` resolves a host once and returns its checked addresses, or raises; the
    socket is then opened to one of those addresses, never to the name, so no second lookup
    can answer differently. TLS still verifies the certificate against the name: httpcore
    passes the host name to `start_tls` separately.
    """

    def __init__(
        self,
        addresses: Callable[[str], Awaitable[list[ipaddress.IPv4Address | ipaddress.IPv6Address]]],
        backend: httpcore.AsyncNetworkBackend | None = None,
    ):
        self._addresses = addresses
        self._backend = backend or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                addresses = await self._addresses(host)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"no answer from DNS for {host}") from None
        for position, address in enumerate(addresses, start=1):
            try:
                return await self._backend.connect_tcp(
                    str(address), port, timeout=timeout,
                    local_address=local_address, socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout):
                if position == len(addresses):
                    raise
                # else try the host's next address, as a browser would
        raise httpcore.ConnectError(f"{host} has no address")  # not reached: `addresses` is never empty

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


class _Http11Pool(httpcore.AsyncConnectionPool):
    """httpcore's connection pool (HTTP/1.1 only) with an assignment pass that is linear.

    httpcore 1.0's `_assign_requests_to_connections`, which runs whenever a request comes or
    goes, counts the idle connections once per idle connection, compares the count of all
    connections with `max_keepalive_connections`, and hands the same idle connection to every
    queued request of its origin, all but one of which then fail and queue again (measured:
    ~3 extra passes per request with 16 connections busy). See encode/httpcore#1035 and #1110.
    Here a connection a request holds (assigned, started or not) is never handed out again,
    closed as surplus or expired. Whether an idle connection has expired (its keep-alive ran
    out, or the server closed it: a system call) is asked before it is reused, and of all of
    them at most once per SWEEP_EVERY seconds rather than on every pass. The rest is httpcore's.
    """

    SWEEP_EVERY = 1.0
    _swept_at = float("-inf")

    def _assign_requests_to_connections(self) -> list[httpcore.AsyncConnectionInterface]:
        closing: list[httpcore.AsyncConnectionInterface] = []
        held = {id(request.connection) for request in self._requests if request.connection is not None}
        now = time.monotonic()
        sweep = now - self._swept_at >= self.SWEEP_EVERY
        if sweep:
            self._swept_at = now
        kept: list[httpcore.AsyncConnectionInterface] = []
        idle: list[httpcore.AsyncConnectionInterface] = []  # not held by a request, ready for one
        for connection in self._connections:
            if id(connection) in held:
                kept.append(connection)
            elif connection.is_closed():
                pass  # dropped
            elif sweep and connection.has_expired():
                closing.append(connection)
            else:
                kept.append(connection)
                if connection.is_idle():
                    idle.append(connection)
        surplus = len(idle) - (self._max_keepalive_connections or 0)
        if surplus > 0:  # the oldest idle connections go first
            closing.extend(idle[:surplus])
            kept = [connection for connection in kept if connection not in idle[:surplus]]
            idle = idle[surplus:]
        self._connections = kept
        for pool_request in self._requests:
            if not pool_request.is_queued():
                continue
            origin = pool_request.request.url.origin
            reusable = self._reusable(idle, origin, closing)
            if reusable is not None:
                pool_request.assign_to_connection(reusable)
                continue
            if len(self._connections) >= self._max_connections:
                if not idle:
                    continue  # waits for a connection to come free
                victim = idle.pop(0)
                self._connections.remove(victim)
                closing.append(victim)
            connection = self.create_connection(origin)
            self._connections.append(connection)
            pool_request.assign_to_connection(connection)
        return closing

    def _reusable(
        self,
        idle: list[httpcore.AsyncConnectionInterface],
        origin: httpcore.Origin,
        closing: list[httpcore.AsyncConnectionInterface],
    ) -> httpcore.AsyncConnectionInterface | None:
        """Take from `idle` a connection to `origin` that has not expired; expired ones go to `closing`."""
        for connection in [connection for connection in idle if connection.can_handle_request(origin)]:
            idle.remove(connection)
            if not connection.has_expired():
                return connection
            self._connections.remove(connection)
            closing.append(connection)
        return None


class _GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's own HTTP transport, connecting through a given httpcore network backend.

    httpx 0.28 has no parameter for the network backend (encode/httpx#3749), so the httpcore
    pool that `AsyncHTTPTransport` sends through (`_pool`) is replaced by an `_Http11Pool`
    with the given limits and the backend. tests/test_fetch.py checks that connections go
    through it.
    """

    def __init__(
        self,
        network_backend: httpcore.AsyncNetworkBackend,
        *,
        ssl_context: ssl.SSLContext,
        max_connections: int,
        max_keepalive_connections: int,
    ):
        super().__init__(verify=ssl_context)  # given, so that httpx does not load the CA file again
        pool = getattr(self, "_pool", None)
        if not isinstance(pool, httpcore.AsyncConnectionPool) or not all(
            hasattr(pool, name) for name in ("_requests", "_connections", "_max_connections", "create_connection")
        ):
            raise RuntimeError("this httpx or httpcore version keeps its connection pool otherwise; see bot/httppool.py")
        self._pool = _Http11Pool(
            ssl_context=ssl_context,
            max_connections=max_connections,
            max_keepalive_connections=max_keepalive_connections,
            keepalive_expiry=httpx.Limits(max_connections=None).keepalive_expiry,  # httpx's default, 5 s
            network_backend=network_backend,
        )


class ShardedTransport(httpx.AsyncBaseTransport):
    """POOL_SHARDS guarded transports; each request goes to the one its origin hashes to.

    One origin always uses the same pool, so its connections are reused as with one pool.
    """

    def __init__(self, network_backend: httpcore.AsyncNetworkBackend, *, max_connections: int):
        ssl_context = httpx.create_ssl_context()
        self._shards = [
            _GuardedTransport(
                network_backend, ssl_context=ssl_context,
                max_connections=max_connections, max_keepalive_connections=KEEPALIVE_PER_POOL,
            )
            for _ in range(POOL_SHARDS)
        ]

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        origin = b"%s://%s:%d" % (url.raw_scheme, url.raw_host, url.port or 0)
        return await self._shards[zlib.crc32(origin) % len(self._shards)].handle_async_request(request)

    async def aclose(self) -> None:
        for shard in self._shards:
            await shard.aclose()
