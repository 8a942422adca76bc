"""Every HTTP request intelbot makes: one httpx client with limits, conditional GET, SSRF guard.

`Fetcher.get` returns a `FetchResult` or raises `FetchError` (`RefusedAddressError` when the
host resolves to an address that is not globally routable). Its messages are short, meant for
a person reading a source's last error, and never contain the userinfo part of a URL.

Limits that apply to every request: a per-phase timeout plus an overall deadline, a cap on the
decompressed body size, a cap on redirects, and a check of every hop's scheme and host.

Known gap: the address check runs before the request, so a DNS answer that changes between the
check and the connection (DNS rebinding) is not caught. Moving the check to connect time is a
later issue.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import ssl
from collections.abc import Awaitable, Callable
from types import TracebackType

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


class Fetcher:
    """Every HTTP request intelbot makes goes through one shared httpx.AsyncClient.

    Use as an async context manager, or call `aclose()` when done. `transport` replaces the
    network (tests pass `httpx.MockTransport`); `resolve` replaces DNS for the address check
    and must return a list of IP address strings or raise OSError.
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
        resolve: Resolver | None = None,
    ):
        self._timeout = timeout
        self._max_bytes = max_bytes
        self._max_redirects = max_redirects
        self._allow_private_networks = allow_private_networks
        self._resolve = resolve or resolve_host
        self._client = httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,  # followed by hand so that every hop is checked
            headers={"User-Agent": user_agent},
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
            await self._check_host(current)
            try:
                request = self._client.build_request("GET", current, headers=headers)
                response = await self._client.send(request, stream=True)
            except httpx.RequestError as error:
                raise FetchError(redact_url(str(current)), self._describe(error, current)) from None
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

    async def _check_host(self, url: httpx.URL) -> None:
        """Refuse a host that is, or resolves to, an address that is not globally routable."""
        if self._allow_private_networks:
            return
        shown = redact_url(str(url))
        host = url.raw_host.decode("ascii")
        try:
            addresses = [ipaddress.ip_address(host)]
            literal = True
        except ValueError:
            addresses = await self._resolve_addresses(host, shown)
            literal = False
        for address in addresses:
            reason = refusal_reason(address)
            if reason is None:
                continue
            where = f"{host} is" if literal else f"{host} resolves to {address},"
            raise RefusedAddressError(
                shown,
                f"refused: {where} {reason} (set fetch.allow_private_networks: true to allow)",
            )

    async def _resolve_addresses(self, host: str, shown: str) -> list[IPAddress]:
        try:
            answers = await self._resolve(host)
        except (OSError, UnicodeError):
            answers = []
        addresses = []
        for answer in answers:
            try:
                # Link-local IPv6 answers carry a zone ("fe80::1%eth0").
                addresses.append(ipaddress.ip_address(answer.split("%", 1)[0]))
            except ValueError:
                continue
        if not addresses:
            raise FetchError(shown, f"could not resolve host '{host}'")
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

    async def _read_body(self, response: httpx.Response, url: httpx.URL) -> bytes:
        shown = redact_url(str(url))
        too_large = f"response larger than {_megabytes(self._max_bytes)} limit"
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and "content-encoding" not in response.headers:
            if int(declared) > self._max_bytes:
                raise FetchError(shown, too_large)
        chunks: list[bytes] = []
        size = 0
        try:
            # aiter_bytes decompresses one network chunk at a time, so a gzip bomb stops after
            # the first chunk that crosses the cap rather than after inflating everything.
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > self._max_bytes:
                    raise FetchError(shown, too_large)
                chunks.append(chunk)
        except httpx.RequestError as error:
            raise FetchError(shown, self._describe(error, url)) from None
        return b"".join(chunks)
