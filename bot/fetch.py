"""Every HTTP request intelbot makes: one httpx client with limits, conditional GET, SSRF guard.

`Fetcher.get` returns a `FetchResult` or raises `FetchError` (`RefusedAddressError` when the
host resolves to an address that is not globally routable). Its messages are short, meant for
a person reading a source's last error, and never contain the userinfo part of a URL.

Limits that apply to every request: a per-phase timeout (connect, read, write) plus an overall
deadline, a cap on the body size that holds for the bytes received and for the decompressed
bytes alike, a cap on redirects, and a check of every hop's scheme and host.

The address check happens where the connection is made: the host is resolved once, every
answer is checked, and the socket is connected to a checked address, so a DNS answer that
changes between a check and a connection (DNS rebinding) cannot slip through. Where intelbot
does not make the connection itself (a proxy from the environment, or a `transport` given by
a test), the host is checked before the request instead.
"""

from __future__ import annotations

import asyncio
import email.utils
import ipaddress
import re
import socket
import ssl
import typing
import urllib.request
import zlib
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC
from types import TracebackType

import httpcore
import httpx

from bot.errors import FetchError, RefusedAddressError
from bot.models import FetchResult

DEFAULT_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/json;q=0.9, text/html;q=0.8, */*;q=0.5"
)
ALLOWED_SCHEMES = ("http", "https")
# The whole get (all redirects and the body) may take this many times the per-phase timeout;
# without it a server dripping one byte per second would never trip the read timeout.
DEADLINE_FACTOR = 2.0
# The encodings `_Inflater` decodes; brotli and zstd are neither asked for nor accepted.
ACCEPT_ENCODING = "gzip, deflate"
# The most one step of decompression may produce, so that a bomb is caught at the size cap
# instead of after inflating a whole network read (64 kB of zeros in gzip inflate to 60 MB).
INFLATE_STEP = 64 * 1024

Resolver = Callable[[str], Awaitable[list[str]]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64_PREFIX = ipaddress.ip_network("64:ff9b::/96")
_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*:/*)[^/?#]*@")


async def resolve_host(host: str) -> list[str]:
    """Return the addresses `host` resolves to, as the operating system's resolver answers."""
    loop = asyncio.get_running_loop()
    answers = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return [str(sockaddr[0]) for _family, _type, _proto, _name, sockaddr in answers]


def redact_url(url: str) -> str:
    """Return `url` without its userinfo (`user:password@`), for messages and logs."""
    return _USERINFO.sub(r"\1", url)


def refusal_reason(address: IPAddress) -> str | None:
    """Say why `address` is not globally routable ("a private address"), or None when it is."""
    if isinstance(address, ipaddress.IPv6Address):
        # Addresses that carry an IPv4 address inside reach that IPv4 host on many networks.
        if address.ipv4_mapped is not None:
            return f"an IPv4-mapped IPv6 address of {address.ipv4_mapped}"
        embedded = address.sixtofour
        if embedded is None and address in _NAT64_PREFIX:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            inner = refusal_reason(embedded)
            if inner is not None:
                return f"an IPv6 address that embeds {embedded}, {inner}"
            return None
        if address.is_site_local:
            return "a site-local address"
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_loopback:
        return "a loopback address"
    # Checked before is_private: 169.254.0.0/16 (cloud metadata) counts as private too.
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    # Checked before is_private, which also covers 240.0.0.0/4 on Python 3.11.
    if address.is_reserved:
        return "a reserved address"
    if address.is_private:
        return "a private address"
    if not address.is_global:
        return "a non-public address"
    return None


def describe_request_error(error: httpx.RequestError, *, timeout: float, host: str) -> str:
    """Turn an httpx request error into a few words a user understands."""
    if isinstance(error, httpx.TimeoutException):
        return f"timed out after {timeout:g} s"
    root = _root_cause(error)
    if isinstance(root, ssl.SSLCertVerificationError):
        return f"TLS error: {root.verify_message or 'certificate verification failed'}"
    if isinstance(root, ssl.SSLError):
        return f"TLS error: {root.reason or type(root).__name__}"
    if isinstance(root, socket.gaierror):
        return f"could not resolve host '{host}'"
    if isinstance(root, ConnectionRefusedError):
        return "connection refused"
    if isinstance(root, ConnectionResetError):
        return "connection reset by the server"
    if isinstance(error, httpx.RemoteProtocolError):
        # httpx parses Location even when not following redirects itself.
        if str(error).startswith("Invalid URL in location header"):
            return "invalid redirect location"
        return "the server broke the HTTP protocol (connection closed or malformed response)"
    if isinstance(error, httpx.DecodingError):
        return "could not decode the response body (bad Content-Encoding)"
    if isinstance(error, httpx.ConnectError):
        if isinstance(root, OSError) and root.strerror:
            return f"could not connect: {root.strerror.lower()}"
        return "could not connect"
    if isinstance(error, httpx.ReadError):
        return "connection lost while reading the response"
    if isinstance(error, httpx.ProxyError):
        return "the proxy refused the request"
    return f"request failed ({type(error).__name__})"


def _root_cause(error: BaseException) -> BaseException:
    """Follow `__cause__`/`__context__` to the innermost exception (httpx wraps httpcore wraps OSError)."""
    seen: set[int] = set()
    while id(error) not in seen:
        seen.add(id(error))
        inner = error.__cause__ or error.__context__
        if inner is None:
            break
        error = inner
    return error


def _media_type(response: httpx.Response) -> str | None:
    value = response.headers.get("content-type", "")
    media_type = value.split(";", 1)[0].strip().lower()
    return media_type or None


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def _retry_after(value: str | None) -> str | None:
    """Retry-After (seconds or an HTTP date) in words, or None when absent or unreadable."""
    value = (value or "").strip()
    if value.isdigit() and len(value) <= 9:
        return f"retry after {int(value)} s"
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return f"retry after {moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def _environment_proxies() -> bool:
    """Whether the environment (or the system) names a proxy that httpx would use."""
    return any(scheme in ("http", "https", "all") for scheme in urllib.request.getproxies())


class _Unreachable(Exception):
    """A host that may not, or cannot, be connected to; raised under httpx, turned into a FetchError."""

    def __init__(self, reason: str, *, refused: bool):
        super().__init__(reason)
        self.reason = reason
        self.refused = refused

    def as_fetch_error(self, url: str) -> FetchError:
        kind = RefusedAddressError if self.refused else FetchError
        return kind(url, self.reason)


class _GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that connects only to addresses the guard approved.

    `addresses(host)` resolves a host once and returns its checked addresses, or raises; the
    socket is then opened to one of those addresses, never to the name, so no second lookup
    can answer differently. TLS still verifies the certificate against the name: httpcore
    passes the host name to `start_tls` separately.
    """

    def __init__(
        self,
        addresses: Callable[[str], Awaitable[list[IPAddress]]],
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


class _GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's own HTTP transport, connecting through a given httpcore network backend.

    httpx 0.28 has no parameter for the network backend (encode/httpx#3749), so the httpcore
    pool that `AsyncHTTPTransport` sends through (`_pool`) is replaced by one built with the
    same settings and the backend. tests/test_fetch.py checks that connections go through it.
    """

    def __init__(self, network_backend: httpcore.AsyncNetworkBackend):
        super().__init__()
        if not isinstance(getattr(self, "_pool", None), httpcore.AsyncConnectionPool):
            raise RuntimeError("this httpx version keeps its connection pool elsewhere; see bot/fetch.py")
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)  # httpx's defaults
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=network_backend,
        )


class _Inflater:
    """Decompresses one gzip or deflate layer in steps of at most INFLATE_STEP bytes."""

    def __init__(self, encoding: str):
        self._gzip = encoding in ("gzip", "x-gzip")
        self._wbits = zlib.MAX_WBITS | 16 if self._gzip else zlib.MAX_WBITS
        self._zlib = zlib.decompressobj(self._wbits)
        # "deflate" means zlib-wrapped data, but some servers send raw deflate: the first two
        # bytes (a zlib header or not) tell which, so they are held until both have come.
        self._undecided: bytes | None = None if self._gzip else b""

    def decode(self, data: bytes) -> Iterator[bytes]:
        """Inflate `data`, yielding pieces of at most INFLATE_STEP bytes; raises zlib.error."""
        if self._undecided is not None:
            data = self._undecided + data
            if len(data) < 2:
                self._undecided = data
                return
            self._undecided = None
            if not _is_zlib_header(data[:2]):
                self._wbits = -zlib.MAX_WBITS
                self._zlib = zlib.decompressobj(self._wbits)
        more = True
        while data or more:
            piece = self._zlib.decompress(data, INFLATE_STEP)
            if piece:
                yield piece
            data = self._zlib.unconsumed_tail
            # A full step may leave output inside zlib although all input was taken.
            more = len(piece) == INFLATE_STEP
            if self._zlib.eof:
                # A gzip body may hold several members; anything else after the end is ignored.
                data = self._zlib.unused_data
                if not (self._gzip and data.startswith(b"\x1f\x8b")):
                    return
                self._zlib = zlib.decompressobj(self._wbits)

    def finish(self) -> bytes:
        """What zlib still holds once the body has ended (a truncated stream is not an error)."""
        return self._zlib.flush()


def _is_zlib_header(two: bytes) -> bool:
    """RFC 1950: method 8 (deflate), a window of at most 32 kB, and a check value."""
    return two[0] & 0x0F == zlib.DEFLATED and two[0] >> 4 <= 7 and int.from_bytes(two, "big") % 31 == 0


def _inflate(inflaters: list[_Inflater], data: bytes) -> Iterator[bytes]:
    """Pass `data` through every layer in turn, in bounded pieces."""
    if not inflaters:
        yield data
        return
    for piece in inflaters[0].decode(data):
        yield from _inflate(inflaters[1:], piece)


def _inflate_rest(inflaters: list[_Inflater]) -> Iterator[bytes]:
    """What each layer still holds at the end of the body, passed through the layers after it."""
    for position, inflater in enumerate(inflaters):
        yield from _inflate(inflaters[position + 1 :], inflater.finish())


class Fetcher:
    """Every HTTP request intelbot makes goes through one shared httpx.AsyncClient.

    Use as an async context manager, or call `aclose()` when done. `transport` replaces the
    network (tests pass `httpx.MockTransport`; the host is then checked before each request);
    `network_backend` replaces only the sockets under the address guard (tests pass an
    `httpcore.AsyncMockBackend`); `resolve` replaces DNS for the address check and must return
    a list of IP address strings or raise OSError.
    """

    def __init__(
        self,
        *,
        user_agent: str,
        timeout: float = 20.0,
        max_bytes: int = 5_000_000,
        max_redirects: int = 5,
        allow_private_networks: bool = False,
        transport: httpx.AsyncBaseTransport | None = None,
        network_backend: httpcore.AsyncNetworkBackend | None = None,
        resolve: Resolver | None = None,
    ):
        self._timeout = timeout
        self._max_bytes = max_bytes
        self._max_redirects = max_redirects
        self._resolve = resolve or resolve_host
        # Through a proxy, the proxy resolves and connects: the host can only be checked before.
        direct = transport is None and (network_backend is not None or not _environment_proxies())
        if direct:
            backend = network_backend or httpcore.AnyIOBackend()
            if not allow_private_networks:
                backend = _GuardedNetworkBackend(self._checked_addresses, backend)
            transport = _GuardedTransport(backend)
        self._check_before_request = not direct and not allow_private_networks
        self._client = httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,  # followed by hand so that every hop is checked
            headers={"User-Agent": user_agent, "Accept-Encoding": ACCEPT_ENCODING},
        )

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()

    async def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str | None = None,
        robots: bool = True,
    ) -> FetchResult:
        """GET `url`, following redirects; 304 gives `not_modified=True` with empty content.

        Raises FetchError for anything but a usable response: refused address, bad scheme,
        timeout, HTTP status of 400 or more, body over the size cap, too many redirects.
        """
        headers = {"Accept": accept or DEFAULT_ACCEPT}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        deadline = self._timeout * DEADLINE_FACTOR
        try:
            async with asyncio.timeout(deadline):
                return await self._follow(url, headers, etag=etag, last_modified=last_modified)
        except TimeoutError:
            raise FetchError(redact_url(url), f"timed out after {deadline:g} s") from None

    async def _follow(
        self, url: str, headers: dict[str, str], *, etag: str | None, last_modified: str | None
    ) -> FetchResult:
        current = self._parse_url(url, shown=url)
        for _hop in range(self._max_redirects + 1):
            shown = redact_url(str(current))
            try:
                if self._check_before_request:
                    await self._checked_addresses(current.raw_host.decode("ascii"))
                request = self._client.build_request("GET", current, headers=headers)
                response = await self._client.send(request, stream=True)
            except _Unreachable as problem:
                raise problem.as_fetch_error(shown) from None
            except httpx.RequestError as error:
                raise FetchError(shown, self._describe(error, current)) from None
            try:
                if response.has_redirect_location:
                    current = self._parse_url(
                        response.headers["location"], base=current, shown=str(current)
                    )
                    continue
                return await self._read(
                    url, current, response, etag=etag, last_modified=last_modified
                )
            finally:
                await response.aclose()
        raise FetchError(redact_url(url), f"too many redirects (more than {self._max_redirects})")

    def _describe(self, error: httpx.RequestError, url: httpx.URL) -> str:
        return describe_request_error(
            error, timeout=self._timeout, host=url.raw_host.decode("ascii", "replace")
        )

    def _parse_url(self, url: str, *, shown: str, base: httpx.URL | None = None) -> httpx.URL:
        """Parse `url` (relative to `base`) and check its scheme; `shown` names it in errors."""
        try:
            parsed = base.join(url) if base is not None else httpx.URL(url)
        except (httpx.InvalidURL, ValueError, TypeError):
            what = "invalid redirect location" if base is not None else "invalid URL"
            raise FetchError(redact_url(shown), what) from None
        if parsed.scheme not in ALLOWED_SCHEMES:
            scheme = parsed.scheme or "(none)"
            raise FetchError(redact_url(shown), f"unsupported URL scheme '{scheme}'")
        if not parsed.raw_host:
            raise FetchError(redact_url(shown), "URL has no host")
        return parsed

    async def _checked_addresses(self, host: str) -> list[IPAddress]:
        """The addresses to connect to for `host`: resolved once, every one globally routable.

        Raises `_Unreachable` when the host does not resolve or any answer is refused (a name
        that answers both public and private addresses is refused: which one a later lookup
        picks is the attacker's choice).
        """
        try:
            addresses = [ipaddress.ip_address(host)]
            literal = True
        except ValueError:
            addresses = await self._resolve_addresses(host)
            literal = False
        for address in addresses:
            reason = refusal_reason(address)
            if reason is None:
                continue
            where = f"{host} is" if literal else f"{host} resolves to {address},"
            raise _Unreachable(
                f"refused: {where} {reason} (set fetch.allow_private_networks: true to allow)",
                refused=True,
            )
        return addresses

    async def _resolve_addresses(self, host: str) -> list[IPAddress]:
        try:
            answers = await self._resolve(host)
        except (OSError, UnicodeError):
            answers = []
        addresses: list[IPAddress] = []
        for answer in answers:
            try:
                # Link-local IPv6 answers carry a zone ("fe80::1%eth0").
                address = ipaddress.ip_address(answer.split("%", 1)[0])
            except ValueError:
                continue
            if address not in addresses:
                addresses.append(address)
        if not addresses:
            raise _Unreachable(f"could not resolve host '{host}'", refused=False)
        return addresses

    async def _read(
        self,
        requested_url: str,
        url: httpx.URL,
        response: httpx.Response,
        *,
        etag: str | None,
        last_modified: str | None,
    ) -> FetchResult:
        """Turn a final (non-redirect) response into a FetchResult, reading at most max_bytes."""
        shown = redact_url(str(url))
        status = response.status_code
        if status == 304:
            # A 304 may omit the validators; keep the ones the caller already has.
            return FetchResult(
                requested_url=requested_url,
                url=shown,
                status=status,
                content=b"",
                content_type=_media_type(response),
                charset=response.charset_encoding,
                etag=response.headers.get("etag") or etag,
                last_modified=response.headers.get("last-modified") or last_modified,
                not_modified=True,
            )
        if status >= 300:
            phrase = httpx.codes.get_reason_phrase(status) or response.reason_phrase[:60]
            reason = f"HTTP {status} {phrase}".strip()
            if status < 400:
                reason += " without a Location header"
            retry = _retry_after(response.headers.get("retry-after"))
            if retry:
                reason += f", {retry}"
            raise FetchError(shown, reason, status=status)
        content = await self._read_body(response, url)
        return FetchResult(
            requested_url=requested_url,
            url=shown,
            status=status,
            content=content,
            content_type=_media_type(response),
            charset=response.charset_encoding,
            etag=response.headers.get("etag"),
            last_modified=response.headers.get("last-modified"),
        )

    def _inflaters(self, response: httpx.Response, shown: str) -> list[_Inflater]:
        """One inflater per Content-Encoding layer, outermost first; refuses unknown encodings."""
        inflaters = []
        for value in reversed(response.headers.get_list("content-encoding", split_commas=True)):
            encoding = value.strip().lower()
            if encoding in ("", "identity"):
                continue
            if encoding not in ("gzip", "x-gzip", "deflate"):
                raise FetchError(shown, f"unsupported Content-Encoding '{encoding[:30]}'")
            inflaters.append(_Inflater(encoding))
        return inflaters

    async def _read_body(self, response: httpx.Response, url: httpx.URL) -> bytes:
        """The body, decompressed by hand so that the size cap stops a bomb mid-stream.

        The cap holds for the bytes received and for the bytes decompressed; httpx's own
        decoders inflate a whole network read at once, so the raw stream is read instead.
        """
        shown = redact_url(str(url))
        too_large = FetchError(shown, f"response larger than {_megabytes(self._max_bytes)} limit")
        inflaters = self._inflaters(response, shown)
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self._max_bytes:
            raise too_large
        if response.is_stream_consumed:
            # Only a response built in memory (httpx.MockTransport) arrives already read, and
            # decoded by httpx: there is no network to protect against.
            if len(response.content) > self._max_bytes:
                raise too_large
            return response.content
        chunks: list[bytes] = []
        received = size = 0
        try:
            async for raw in response.aiter_raw():
                received += len(raw)
                if received > self._max_bytes:
                    raise too_large
                for piece in _inflate(inflaters, raw):
                    size += len(piece)
                    if size > self._max_bytes:
                        raise too_large
                    chunks.append(piece)
            for piece in _inflate_rest(inflaters):
                size += len(piece)
                if size > self._max_bytes:
                    raise too_large
                chunks.append(piece)
        except httpx.RequestError as error:
            raise FetchError(shown, self._describe(error, url)) from None
        except zlib.error:
            raise FetchError(shown, "could not decode the response body (bad Content-Encoding)") from None
        return b"".join(chunks)
