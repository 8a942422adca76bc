"""Feed documents (RSS 0.9x/1.0/2.0, Atom, JSON Feed) to entries, and URL canonicalisation.

`parse_feed` returns None for a document that is not a feed at all (an HTML page: the caller
treats the source as a plain page) and raises `FeedError` for one that means to be a feed but
cannot be read. Everything a feed says is hostile text: titles and summaries come out as
plain text with tags stripped, and one bad entry never costs the others.
"""

from __future__ import annotations

import codecs
import email.utils
import io
import json
import logging
import re
import xml.sax
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, unquote_plus, urljoin, urlsplit, urlunsplit

import feedparser

from bot.errors import FeedError
from bot.models import Entry
from bot.text import shorten

logger = logging.getLogger(__name__)

# Query parameters that only say where a click came from; dropped so one story has one URL.
TRACKING_PARAMETERS = frozenset(
    "fbclid gclid dclid msclkid mc_cid mc_eid igshid yclid _hsenc _hsmi mkt_tok ref_src cmpid ocid".split()
)
TRACKING_PREFIXES = ("utm_",)
DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_SUMMARY_CHARS = 2000
MAX_TITLE_CHARS = 300
MAX_URL_CHARS = 4096  # a longer entry link is junk, and is dropped
# Entries read from one document; more take feedparser seconds (0.6 ms each) on the event loop.
MAX_ENTRIES = 500
# HTML read to make text of N characters: up to 100 N, as markup is mostly not text.
MARKUP_FACTOR = 100
# Dates further ahead than this are clock or time-zone mistakes, not scheduled stories.
MAX_FUTURE_SKEW = timedelta(days=1)

JSON_FEED_VERSION = re.compile(r"^https?://jsonfeed\.org/version/")
FEED_MEDIA_TYPES = frozenset(
    "application/rss+xml application/x-rss+xml application/atom+xml application/rdf+xml "
    "application/feed+json application/xml text/xml".split()
)
HTML_MEDIA_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_FEED_ROOT = re.compile(rb"<(?:[A-Za-z0-9_-]+:)?(?:rss|feed|RDF|channel)[\s>/]")
_HTML_ROOT = re.compile(rb"<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]", re.IGNORECASE)
_BYTE_ORDER_MARKS = (  # UTF-32 first: its little-endian mark starts like UTF-16's
    (b"\x00\x00\xfe\xff", "utf-32-be"), (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"),
)
# How an XML document without a byte order mark starts in encodings that are not ASCII-based.
_WIDE_SIGNATURES = (
    (b"\x00\x00\x00<", "utf-32-be"), (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00<", "utf-16-be"), (b"<\x00", "utf-16-le"), (b"\x4c\x6f\xa7\x94", "cp037"),
)
# Codecs never used on a label's word: UTF-16/32 are told apart by their first bytes; the rest
# are not charsets of documents, and punycode takes hours (quadratic) on a 5 MB body.
_UNREAD_ENCODINGS = frozenset({"utf-7", "unicode-escape", "raw-unicode-escape", "punycode", "idna", "undefined"})
# HTTP charsets that servers attach to everything by default.
_SERVER_DEFAULTS = frozenset({"iso8859-1", "ascii", "cp1252"})
# Labels read as their supersets, as browsers do (WHATWG Encoding Standard).
_BROWSER_ENCODINGS = {
    "utf-8": "utf-8-sig", "iso8859-1": "cp1252", "ascii": "cp1252", "gb2312": "gb18030", "gbk": "gb18030",
    "shift_jis": "cp932", "euc_kr": "cp949",
}
# Declarations, processing instructions, comments and doctype before the root element.
_XML_PROLOGUE = re.compile(rb"^(?:\s*(?:<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>))*\s*", re.DOTALL)
_XML_ENCODING = re.compile(rb"""\s*<\?xml[^>]*?\bencoding\s*=\s*["']?([A-Za-z0-9._:-]{1,40})""")
# What the entity guard looks for before the root element (see _refuse_entity_declarations).
_FIRST_ELEMENT = re.compile(rb"<\w")
_PROLOGUE_ITEM = re.compile(rb"\s+|<\?.*?\?>|<!--.*?-->", re.DOTALL)
_DOCTYPE_TOKEN = re.compile(rb"""["'\[>]""")
_SUBSET_TOKEN = re.compile(rb"""["']|<!--|<\?|\]""")
_CLOSING = {b'"': b'"', b"'": b"'", b"<!--": b"-->", b"<?": b"?>"}
_ENTITY_DECLARATION = re.compile(rb"""<!ENTITY\b(?:[^>"']|"[^"]*"|'[^']*')*>?""", re.IGNORECASE)
_CHARACTER_ENTITY = re.compile(
    rb"""<!ENTITY\s+[^\s%"'>]+\s+(["'])&#(?:[0-9]{1,7}|x[0-9a-fA-F]{1,6});\1\s*>""", re.IGNORECASE
)
_ENTITY_NAME = re.compile(rb"""<!ENTITY\s+(%\s*)?([^\s"'>]+)""", re.IGNORECASE)
_QUOTED = re.compile(rb""""[^"]*"|'[^']*'""")
_EXTERNAL_ID = re.compile(rb"\b(?:SYSTEM|PUBLIC)\b", re.IGNORECASE)
_ITEM_END = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?(?:item|entry)\s*>")
_PERCENT_ESCAPE = re.compile(r"%[0-9a-fA-F]{2}")
_WEEKDAY = re.compile(r"^\s*[^\W\d]+\.?,\s*")
_WHITESPACE = re.compile(r"\s+")
_URL_NOISE = re.compile(r"[\t\n\r]")
# Characters left as they are when percent-encoding a path or a query parameter.
_PATH_SAFE = "/:@!$&'()*+,;=-._~%"
_QUERY_SAFE = _PATH_SAFE + "?"


def canonical_url(url: str, base: str | None = None) -> str:
    """Return one spelling of `url` for deduplication, or "" when it is not an http(s) URL.

    Resolves against `base`, lower-cases scheme and host (IDNA-encoded), drops userinfo,
    default ports, the fragment and tracking parameters, keeps other parameters in order,
    and percent-encodes what must be. canonical_url(canonical_url(u)) == canonical_url(u).
    """
    url = _URL_NOISE.sub("", url or "").strip()
    try:
        if base:
            url = urljoin(base, url)
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = parts.hostname  # lower-cased, userinfo and IPv6 brackets removed
        port = parts.port
    except ValueError:
        return ""
    if scheme not in DEFAULT_PORTS or not host:
        return ""
    host = _ascii_host(host.rstrip("."))
    if not host:
        return ""
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != DEFAULT_PORTS[scheme]:
        netloc += f":{port}"
    path = _normalise_percent(quote(parts.path, safe=_PATH_SAFE)) or "/"
    kept = [
        _normalise_percent(quote(parameter, safe=_QUERY_SAFE))
        for parameter in parts.query.split("&")
        if parameter and not _is_tracking_parameter(parameter)
    ]
    return urlunsplit((scheme, netloc, path, "&".join(kept), ""))


def _ascii_host(host: str) -> str:
    """IDNA-encode a host name; keep it as it is when it cannot be encoded (it is still unique)."""
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def _normalise_percent(text: str) -> str:
    return _PERCENT_ESCAPE.sub(lambda match: match.group(0).upper(), text)


def _is_tracking_parameter(parameter: str) -> bool:
    name = unquote_plus(parameter.split("=", 1)[0]).strip().lower()
    return name in TRACKING_PARAMETERS or name.startswith(TRACKING_PREFIXES)


class _TextCollector(HTMLParser):
    """Collects the text of an HTML fragment; block elements become spaces, scripts vanish."""

    _SKIPPED = frozenset({"script", "style", "template", "noscript"})
    # Tags that sit inside a line of text; every other tag separates words ("<p>One</p><p>Two").
    _INLINE = frozenset(
        "a abbr b bdi bdo cite code data dfn em font i kbd mark q s samp small span strong "
        "sub sup time u var wbr".split()
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIPPED:
            self._skipping += 1
        if tag not in self._INLINE:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIPPED and self._skipping:
            self._skipping -= 1
        if tag not in self._INLINE:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def plain_text(fragment: str | None, limit: int | None = None) -> str:
    """HTML fragment to one line of plain text: tags stripped, entities decoded, spaces collapsed.

    With `limit` (the characters wanted), only the first MARKUP_FACTOR × limit are read.
    """
    if not fragment:
        return ""
    if limit is not None:
        fragment = fragment[: limit * MARKUP_FACTOR]
    collector = _TextCollector()
    collector.feed(fragment)
    collector.close()
    return _WHITESPACE.sub(" ", "".join(collector.parts)).strip()


def parse_feed(
    content: bytes,
    *,
    source: str,
    url: str,
    content_type: str | None = None,
    charset: str | None = None,
    now: datetime | None = None,
) -> list[Entry] | None:
    """Read a feed document into entries; None when it is not a feed; FeedError when unreadable.

    `url` is the feed's own URL (entry links are resolved against it); `content_type` and
    `charset` come from the HTTP response. `now` (UTC, default: the current time) decides
    which dates lie too far in the future to be true.
    """
    now = now or datetime.now(UTC)
    body = content.lstrip()
    if not body or body in (bom for bom, _charset in _BYTE_ORDER_MARKS):
        raise FeedError("the document is empty")
    if (content_type or "").endswith("json") or body.removeprefix(b"\xef\xbb\xbf").lstrip()[:1] == b"{":
        document = _load_json(content, content_type=content_type, charset=charset)
        if document is None:
            return None
        return _json_feed_entries(document, source=source, url=url, now=now)
    return _xml_feed_entries(
        content, source=source, url=url, content_type=content_type, charset=charset, now=now
    )


def _load_json(content: bytes, *, content_type: str | None, charset: str | None) -> Any:
    """Decode a JSON document that may be a JSON Feed; None when it is some other JSON."""
    claims_feed = content_type == "application/feed+json" or b"jsonfeed.org/version" in content[:4096]
    text = _decode_as(content, charset or "utf-8")
    if text is None:
        if claims_feed:
            raise FeedError(f"invalid JSON Feed: the text is not valid {charset or 'UTF-8'}")
        return None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        if claims_feed:
            raise FeedError(
                f"invalid JSON Feed: {error.msg} at line {error.lineno}, column {error.colno}"
            ) from None
        return None
    except RecursionError:  # "[[[[…" a hundred thousand deep
        if claims_feed:
            raise FeedError("invalid JSON Feed: nested too deeply") from None
        return None
    if isinstance(document, dict) and JSON_FEED_VERSION.match(str(document.get("version", ""))):
        return document
    if claims_feed:
        raise FeedError("invalid JSON Feed: no 'version' naming https://jsonfeed.org/version/…")
    return None


def _json_feed_entries(
    document: dict[str, Any], *, source: str, url: str, now: datetime
) -> list[Entry]:
    items = document.get("items", [])
    if not isinstance(items, list):
        raise FeedError("invalid JSON Feed: 'items' is not a list")
    if len(items) > MAX_ENTRIES:
        logger.warning("source %s: the feed lists %d entries; reading the first %d", source, len(items), MAX_ENTRIES)
        items = items[:MAX_ENTRIES]
    return _collect_entries(
        source, items, lambda item: _json_feed_entry(item, source=source, url=url, now=now)
    )


def _json_feed_entry(item: Any, *, source: str, url: str, now: datetime) -> Entry | None:
    if not isinstance(item, dict):
        raise ValueError("the item is not a JSON object")
    # JSON Feed says title and summary are plain text, but publishers put entities and
    # tags in them as in RSS; stripping costs nothing on real plain text.
    summary = plain_text(_first_text(item.get("summary"), item.get("content_html")), MAX_SUMMARY_CHARS)
    if not summary:
        summary = _plain(_first_text(item.get("content_text")), MAX_SUMMARY_CHARS)
    guid = item.get("id")
    return _build_entry(
        source=source,
        feed_url=url,
        link=_first_text(item.get("url"), item.get("external_url")),
        guid=str(guid) if guid not in (None, "") else None,
        title=plain_text(_first_text(item.get("title")), MAX_TITLE_CHARS),
        summary=summary,
        published=_parse_json_feed_date(
            _first_text(item.get("date_published"), item.get("date_modified"))
        ),
        now=now,
    )


def _collect_entries(source: str, items: list[Any], build: Callable[[Any], Entry | None]) -> list[Entry]:
    """Build an Entry from each item; an item that fails is logged and skipped, not fatal.

    An item with the guid or the URL of an earlier one is the same story listed twice: the
    first one is kept.
    """
    entries = []
    seen: set[tuple[str, str]] = set()
    for position, item in enumerate(items, start=1):
        try:
            entry = build(item)
        except Exception as error:  # one bad entry must not cost the others
            logger.warning("source %s: skipped feed entry %d: %s", source, position, error)
            continue
        if entry is None:
            logger.warning("source %s: skipped feed entry %d: no link and no title", source, position)
            continue
        keys = {("guid", entry.guid or ""), ("url", entry.url)} - {("guid", ""), ("url", "")}
        if keys & seen:
            logger.info("source %s: skipped feed entry %d: it repeats an earlier entry", source, position)
            continue
        seen |= keys
        entries.append(entry)
    return entries


def _first_text(*values: Any) -> str:
    for value in values:
        if isinstance(value, str) and value.strip():
            return value
    return ""


def _parse_json_feed_date(value: str) -> datetime | None:
    """RFC 3339 as the JSON Feed spec says; RFC 822 as some publishers write anyway."""
    if not value:
        return None
    try:
        return _as_utc(datetime.fromisoformat(value.strip()))
    except ValueError:
        return _parse_localised_rfc822(value)


def _xml_feed_entries(
    content: bytes,
    *,
    source: str,
    url: str,
    content_type: str | None,
    charset: str | None,
    now: datetime,
) -> list[Entry] | None:
    # feedparser is handed UTF-8 and told so: the encoding is decided here (`_decode_xml`),
    # where a wrong declaration can be overruled and the guards below can read the bytes.
    document = _decode_xml(content, charset).encode("utf-8")
    _refuse_entity_declarations(document)
    document = _first_items(document, source=source)
    headers = {"content-type": f"{content_type or 'application/xml'}; charset=utf-8"}
    # BytesIO, not bytes: feedparser treats a bare string as a file name or URL to open.
    # Its HTML sanitising (slow: 30 s for a 5 MB feed of markup) is skipped; plain_text
    # strips every tag anyway.
    result = feedparser.parse(
        io.BytesIO(document), response_headers=headers, sanitize_html=False, resolve_relative_uris=False
    )
    if not result.entries and not result.get("version"):
        if _is_html_page(document, content_type):
            return None
        raise FeedError(_unreadable_reason(result, document))
    broken = isinstance(result.get("bozo_exception"), xml.sax.SAXParseException)
    entries = _collect_entries(
        source, result.entries, lambda raw: _feedparser_entry(raw, source=source, url=url, now=now)
    )
    if broken and not entries:
        # A truncated or mangled feed that yields nothing must say so, not look empty.
        raise FeedError(_unreadable_reason(result, document))
    return entries


def _decode_xml(content: bytes, charset: str | None = None) -> str:
    """The text of an XML document, whatever its encoding claims; `charset` is the HTTP one.

    In order: a byte order mark (as browsers do); UTF-16/32 recognised by the first bytes;
    UTF-8 when the bytes are valid UTF-8 and not plain ASCII (a server that calls every file
    ISO-8859-1 is common, valid UTF-8 by accident is not); the HTTP charset, then the XML
    declaration; UTF-8 with the odd invalid byte replaced; a guess from the bytes; windows-1252.
    """
    for bom, encoding in _BYTE_ORDER_MARKS:
        if content.startswith(bom):
            return content[len(bom) :].decode(encoding, "replace")
    for signature, encoding in _WIDE_SIGNATURES:
        if content.startswith(signature):
            return content.decode(encoding, "replace")
    if not content.isascii():
        try:
            return content.decode("utf-8")
        except UnicodeDecodeError:
            pass
    declaration = _XML_ENCODING.match(content)
    labels = [charset, declaration.group(1).decode("ascii") if declaration else None, "utf-8"]
    if _python_name(charset) in _SERVER_DEFAULTS:
        # "ISO-8859-1" is what servers say of every file; the publisher's own declaration wins.
        labels[:2] = labels[1::-1]
    for label in labels:
        if (text := _decode_as(content, label)) is not None:
            return text
    text = content.decode("utf-8", "replace")
    replaced = text.count("\ufffd")
    if len(text) - len(text.encode("ascii", "ignore")) > 4 * replaced:
        return text  # UTF-8 with a few broken bytes: keep the rest right
    # trafilatura already ships charset detection; imported here because feeds rarely need it.
    from trafilatura.utils import detect_encoding

    for guess in detect_encoding(content):
        if (text := _decode_as(content, guess)) is not None:
            return text
    return content.decode("windows-1252", "replace")


def _decode_as(content: bytes, label: str | None) -> str | None:
    """`content` decoded as the charset `label` names, read as browsers read it; None if it cannot be."""
    name = _python_name(label)
    if name is None or name.startswith(("utf-16", "utf-32")) or name in _UNREAD_ENCODINGS:
        return None
    try:
        return content.decode(_BROWSER_ENCODINGS.get(name, name))
    except (LookupError, ValueError):  # not a text encoding, or not this one
        return None


def _python_name(label: str | None) -> str | None:
    """Python's name for the codec a charset label names ("latin1" → "iso8859-1"); None if unknown."""
    if not label:
        return None
    try:
        return codecs.lookup(label.strip().strip("\"'")).name
    except (LookupError, ValueError):
        return None


def _refuse_entity_declarations(document: bytes) -> None:
    """Raise FeedError if the prologue of `document` (UTF-8) declares XML entities.

    Entities are how XML bombs (an entity that expands to gigabytes) and external-entity
    attacks (an entity that reads file:///etc/passwd) work, and feeds have no use for them.
    Only entities that stand for a single character (`<!ENTITY nbsp "&#160;">`) are let through.
    feedparser's own filter misses declarations written on one line with the DOCTYPE and keeps
    any entity of plain text, which 50,000 references inflate to 5 GB.
    """
    first_element = _FIRST_ELEMENT.search(document)
    # Up to the root element, or to feedparser's idea of it (the first "<x"), whichever is later.
    end = max(_prologue_end(document), first_element.start() if first_element else len(document))
    for declaration in _ENTITY_DECLARATION.finditer(document, 0, end):
        if _CHARACTER_ENTITY.fullmatch(declaration.group()):
            continue
        name_match = _ENTITY_NAME.match(declaration.group())
        name = name_match.group(2).decode("utf-8", "replace")[:40] if name_match else "?"
        parameter = name_match is not None and name_match.group(1) is not None
        if parameter or _EXTERNAL_ID.search(_QUOTED.sub(b"", declaration.group())):
            raise FeedError(
                f"refused: the feed declares an external XML entity '{name}' (a way to read local files)"
            )
        raise FeedError(
            f"refused: the feed declares the XML entity '{name}' (entity expansion is how XML bombs work)"
        )


def _prologue_end(document: bytes) -> int:
    """Where the root element starts: after declarations, comments, PIs and the DOCTYPE."""
    position = 0
    while position < len(document):
        item = _PROLOGUE_ITEM.match(document, position)
        if item is not None and item.end() > position:
            position = item.end()
        elif document[position : position + 9].upper() == b"<!DOCTYPE":
            position = _doctype_end(document, position + 9)
        else:
            break
    return position


def _doctype_end(document: bytes, position: int) -> int:
    """The end of a DOCTYPE whose name starts at `position`; quoted text may hold '>' and ']'."""
    in_subset = False
    while (token := (_SUBSET_TOKEN if in_subset else _DOCTYPE_TOKEN).search(document, position)) is not None:
        mark = token.group()
        if mark in (b'"', b"'", b"<!--", b"<?"):
            closing = document.find(_CLOSING[mark], token.end())
            if closing < 0:
                return len(document)
            position = closing + len(_CLOSING[mark])
        elif mark == b"[":
            in_subset, position = True, token.end()
        elif mark == b"]":
            in_subset, position = False, token.end()
        else:  # ">" outside the internal subset
            return token.end()
    return len(document)


def _first_items(document: bytes, *, source: str) -> bytes:
    """The document cut down to its first MAX_ENTRIES items (feeds list the newest first).

    Cut between items, so what remains is still a well-formed feed: a reader that parsed
    50,000 entries would hold the event loop for half a minute.
    """
    ends = [match.end() for match in _ITEM_END.finditer(document)]
    if len(ends) <= MAX_ENTRIES:
        return document
    logger.warning("source %s: the feed lists %d entries; reading the first %d", source, len(ends), MAX_ENTRIES)
    return document[: ends[MAX_ENTRIES - 1]] + document[ends[-1] :]


def _sniffable_head(document: bytes) -> bytes:
    """The part of a (UTF-8) document that byte patterns look at to say what it is."""
    return document[:2048]


def _is_html_page(content: bytes, content_type: str | None) -> bool:
    """Whether a document feedparser could not read is an ordinary web page, not a broken feed."""
    head = _sniffable_head(content)
    if _FEED_ROOT.search(head) or (content_type in FEED_MEDIA_TYPES):
        return False
    return bool(content_type in HTML_MEDIA_TYPES or _HTML_ROOT.search(head))


def _unreadable_reason(result: feedparser.FeedParserDict, content: bytes) -> str:
    """Say in words why feedparser found no feed in a document that looks like one."""
    error = result.get("bozo_exception")
    head = _sniffable_head(content)
    if not head.lstrip().startswith(b"<"):
        return "not a feed: the document is neither XML nor JSON"
    if _HTML_ROOT.search(head) and not _FEED_ROOT.search(head):
        return "not a feed: the document is an HTML page"
    if isinstance(error, xml.sax.SAXParseException):
        line = error.getLineNumber()
        if not head.startswith(b"<?xml"):
            line -= 1  # feedparser put an XML declaration line in front of the document
        return (
            f"not a readable feed: the XML is not well-formed ({error.getMessage()} "
            f"at line {line}, column {error.getColumnNumber() + 1})"
        )
    root = re.search(rb"<([A-Za-z_][\w:.-]*)", _XML_PROLOGUE.sub(b"", head.lstrip()))
    name = root.group(1).decode("ascii", "replace") if root else "?"
    return f"not a feed: the document is XML whose root element is <{name}>, not RSS, Atom or RDF"


def _feedparser_entry(
    raw: feedparser.FeedParserDict, *, source: str, url: str, now: datetime
) -> Entry | None:
    summary = _feedparser_text(raw.get("summary"), raw.get("summary_detail"), MAX_SUMMARY_CHARS)
    if not summary and raw.get("content"):
        summary = _feedparser_text(raw["content"][0].get("value"), raw["content"][0], MAX_SUMMARY_CHARS)
    return _build_entry(
        source=source,
        feed_url=url,
        link=_alternate_link(raw),
        guid=raw.get("id") or None,
        title=_feedparser_text(raw.get("title"), raw.get("title_detail"), MAX_TITLE_CHARS),
        summary=summary,
        published=_entry_date(raw),
        now=now,
    )


def _feedparser_text(value: str | None, detail: dict[str, Any] | None, limit: int) -> str:
    """Plain text of a feedparser value: HTML is stripped, text/plain already has entities decoded.

    Stripping tags from a text/plain title would eat words such as "<3" or "Use <br>".
    """
    if not value:
        return ""
    media_type = (detail or {}).get("type") or "text/html"
    if "html" in media_type or "xml" in media_type:
        return plain_text(value, limit)
    return _plain(value, limit)


def _plain(text: str, limit: int) -> str:
    """Plain text with its spaces collapsed; only the first MARKUP_FACTOR × limit characters are read."""
    return _WHITESPACE.sub(" ", text[: limit * MARKUP_FACTOR]).strip()


def _alternate_link(raw: feedparser.FeedParserDict) -> str:
    """The entry's page: Atom's rel="alternate" link first, then whatever feedparser calls `link`."""
    for link in raw.get("links") or ():
        if link.get("rel", "alternate") == "alternate" and link.get("href"):
            return link["href"]
    return raw.get("link") or ""


def _entry_date(raw: feedparser.FeedParserDict) -> datetime | None:
    """Published, else updated; dict.get skips feedparser's deprecated updated→published alias."""
    for parsed_key, text_key in (("published_parsed", "published"), ("updated_parsed", "updated")):
        moment = _struct_time_to_utc(dict.get(raw, parsed_key))
        moment = moment or _parse_localised_rfc822(dict.get(raw, text_key))
        if moment is not None:
            return moment
    return None


def _struct_time_to_utc(value: Any) -> datetime | None:
    """feedparser's parsed dates are `time.struct_time` in UTC."""
    if value is None:
        return None
    try:
        return datetime(*value[:6], tzinfo=UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def _parse_localised_rfc822(value: Any) -> datetime | None:
    """Read an RFC 822 date whose weekday is not English ("mer, 16 nov 2022 00:38:15 +0100")."""
    if not isinstance(value, str):
        return None
    try:
        return _as_utc(email.utils.parsedate_to_datetime(_WEEKDAY.sub("", value)))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _as_utc(moment: datetime) -> datetime:
    """A date without offset is read as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _build_entry(
    *,
    source: str,
    feed_url: str,
    link: str,
    guid: str | None,
    title: str,
    summary: str,
    published: datetime | None,
    now: datetime,
) -> Entry | None:
    """Assemble one Entry (title and summary already plain text); None without link and title."""
    link = _URL_NOISE.sub("", link).strip()
    if len(link) > MAX_URL_CHARS:
        link = ""
    if link:
        link = urljoin(feed_url, link)
    if not link and not title:
        return None
    if published is not None and published > now + MAX_FUTURE_SKEW:
        published = None
    return Entry(
        source=source,
        url=canonical_url(link) if link else "",
        link=link,
        guid=guid.strip() if guid and guid.strip() else None,
        title=shorten(title, MAX_TITLE_CHARS),
        summary=shorten(summary, MAX_SUMMARY_CHARS),
        published=published,
    )
