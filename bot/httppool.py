"""The connection machinery under `bot.fetch.Fetcher`: where sockets are opened and pooled.

`AiohttpTransport` is the httpx transport `Fetcher` sends through when it makes connections
itself: httpx keeps the request and response model (and tests keep `httpx.MockTransport`),
aiohttp opens, pools and speaks HTTP/1.1 on the sockets. `GuardedResolver` is the aiohttp
resolver under it: a host is resolved once, through a checking function it is given, and the
socket is opened to an address that function approved, so a DNS answer that changes between
the check and the connection (DNS rebinding) cannot slip through. TLS still verifies the
certificate against the name. What counts as approved, and the error raised otherwise, is
bot/fetch.py's business; so are redirects, bodies, robots.txt and manners.

Why aiohttp under httpx: on loopback a page GET cost 1.5 ms of CPU through httpcore and anyio
(0.8 ms through this transport, 0.23 ms with aiohttp alone), and a poll of many feeds is
mostly that. Why not the httpx-aiohttp package, which does the same: it reports a reset
connection or a server that hung up as `httpx.ConnectTimeout`, and a source's health would
then say "timed out" for a server that refused to talk. `_mapped_errors` keeps the causes.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import aiohttp
import httpx
import yarl
from aiohttp.abc import AbstractResolver, ResolveResult

# An idle connection is closed after this long (httpx's default keep-alive, 5 s): long enough
# for the article pages that follow a feed on its host, short enough that a poll of many hosts
# does not keep a socket per host open for long.
KEEPALIVE_S = 5.0
# aiohttp keeps every idle connection until KEEPALIVE_S has passed, with no cap on their count:
# a poll of thousands of sites holds a socket for each site it heard from in the last 5 s. The
# soft limit on open files is raised to this (never above the hard limit), as Go programs do
# at start: 1,024, a common default, is few for a poll of a few thousand feeds.
OPEN_FILES_WANTED = 16384

log = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
AddressCheck = Callable[[str], Awaitable[list[IPAddress]]]
# Tests only: where a checked address and port are actually connected to (a loopback server
# standing for a public address); None connects to the checked address itself.
Route = Callable[[str, int], tuple[str, int]]


class GuardedResolver(AbstractResolver):
    """An aiohttp resolver that answers only addresses the guard approved.

    `addresses(host)` resolves a host once and returns its checked addresses, or raises an
    exception of bot/fetch.py's (not an OSError, so that aiohttp passes it on unchanged).
    aiohttp tries the answers in order, the next when one does not answer.
    """

    def __init__(self, addresses: AddressCheck, route: Route | None = None):
        self._addresses = addresses
        self._route = route

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        answers: list[ResolveResult] = []
        for address in await self._addresses(host):
            target, target_port = str(address), port
            if self._route is not None:
                target, target_port = self._route(target, port)
            answers.append({
                "hostname": host, "host": target, "port": target_port,
                "family": socket.AF_INET6 if ":" in target else socket.AF_INET,
                "proto": 0, "flags": socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
            })
        return answers

    async def close(self) -> None:
        return None


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An httpx transport over one aiohttp ClientSession, created in the running event loop.

    `addresses` is the guard (None: the system resolver, no check); at most `max_connections`
    are in use at once. Bodies are passed on as they came (`auto_decompress=False`): bot/fetch.py
    inflates them itself, under its size cap. No cookies are kept, no proxy is used (bot/fetch.py
    uses httpx's own transport when the environment names one), and redirects are not followed.
    """

    def __init__(self, addresses: AddressCheck | None, *, max_connections: int, route: Route | None = None):
        self._addresses = addresses
        self._resolver = GuardedResolver(addresses, route) if addresses is not None else None
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None
        self._ssl = httpx.create_ssl_context()  # the CA bundle httpx would use (certifi)

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise_open_file_limit(OPEN_FILES_WANTED)
            connector = aiohttp.TCPConnector(
                limit=self._max_connections, limit_per_host=0, resolver=self._resolver,
                use_dns_cache=self._resolver is None,  # the guard resolves for every new connection
                ssl=self._ssl, keepalive_timeout=KEEPALIVE_S,
            )
            self._session = aiohttp.ClientSession(
                connector=connector, cookie_jar=aiohttp.DummyCookieJar(), auto_decompress=False,
                trust_env=False, timeout=aiohttp.ClientTimeout(total=None),
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.raw_host.decode("ascii")  # IDNA-encoded already: no decoding for every request
        if self._addresses is not None and _is_literal_address(host):
            await self._addresses(host)  # aiohttp connects to an address in the URL without asking the resolver
        timeout: dict[str, float | None] = request.extensions.get("timeout", {})
        with _mapped_errors():
            response = await self._client().request(
                request.method,
                yarl.URL(str(request.url), encoded=True),  # as httpx encoded it: not quoted again
                headers=[(name.decode("latin-1"), value.decode("latin-1")) for name, value in request.headers.raw],
                data=request.content or None,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(
                    total=None, connect=timeout.get("connect"),  # connect covers the lookup too
                    sock_connect=timeout.get("connect"), sock_read=timeout.get("read"),
                ),
                server_hostname=request.extensions.get("sni_hostname"),
            )
        extensions: dict[str, Any] = {"http_version": b"HTTP/1.1"}
        if response.reason:
            extensions["reason_phrase"] = response.reason.encode("latin-1", "replace")
        return httpx.Response(
            status_code=response.status, headers=response.raw_headers,
            stream=_Body(response), request=request, extensions=extensions,
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


class _Body(httpx.AsyncByteStream):
    """A response body as it comes off the socket; closing it frees the connection.

    A body read to its end gives its connection back to the pool; one closed earlier closes
    the connection (aiohttp does that on release).
    """

    def __init__(self, response: aiohttp.ClientResponse):
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _mapped_errors():
            async for chunk in self._response.content.iter_any():
                yield chunk

    async def aclose(self) -> None:
        self._response.release()


@contextlib.contextmanager
def _mapped_errors() -> Iterator[None]:
    """aiohttp's errors as the httpx errors bot/fetch.py describes, the cause kept as __cause__."""
    try:
        yield
    except aiohttp.ConnectionTimeoutError as error:
        raise httpx.ConnectTimeout(str(error)) from error
    except aiohttp.ServerTimeoutError as error:  # no byte for the read timeout
        raise httpx.ReadTimeout(str(error)) from error
    except aiohttp.ClientConnectorError as error:  # refused, unreachable, TLS, no such host
        raise httpx.ConnectError(str(error)) from error
    except aiohttp.ServerDisconnectedError as error:
        raise httpx.RemoteProtocolError(f"the server closed the connection: {error}") from error
    except aiohttp.ClientPayloadError as error:  # a body cut short of its length, bad chunked encoding
        raise httpx.RemoteProtocolError(str(error)) from error
    except aiohttp.ClientOSError as error:  # reset while sending or reading
        raise httpx.ReadError(str(error)) from error
    except aiohttp.ClientResponseError as error:  # a status line or headers that are not HTTP
        raise httpx.RemoteProtocolError(str(error)) from error
    except aiohttp.ClientError as error:
        raise httpx.TransportError(f"{type(error).__name__}: {error}") from error
    except ssl.SSLError as error:
        raise httpx.ConnectError(str(error)) from error


def raise_open_file_limit(wanted: int) -> int:
    """Raise the soft limit on open files to `wanted`, or to the hard limit if that is lower;
    never lower it. Returns the soft limit in force (unchanged where limits cannot be set)."""
    try:
        import resource  # not on Windows
    except ImportError:
        return wanted
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError) as error:
            log.warning("could not raise the open-file limit from %d to %d: %s", soft, target, error)
            return soft
        log.debug("open-file limit raised from %d to %d", soft, target)
        return target
    return soft


def _is_literal_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return host.replace(".", "").isdigit() or host.lower().startswith("0x")  # 2130706433, 0x7f.1
    return True
