"""How a lookup becomes SQL over the store, and how results become snippets.

The ranking queries (bm25 over title and text, recency, company salience), the paging
cursor, and the pure text work on results: FTS5 highlight markers to spans, excerpts cut at
word boundaries. `bot.store.Store.search_page` binds and runs what this module builds. User
text reaches FTS5 only through `parse_terms`, as quoted strings.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from bot.models import SearchResult

# bm25 is negative (lower is better): title hits weigh 10x; relevance is divided by
# 1 + age/30 days (half at 30 days, a third at 60) and, with companies, multiplied by the
# boost: +0.5 per extra requested company named, +0.5 per requested company the story is
# about, +0.05 per point of salience (capped at 10). The window :low..:high is a rowid range
# that FTS5 applies inside its own scan (`since` and the paging snapshot).
_BY_RELEVANCE = """
SELECT a.id{boost_column} FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid
WHERE articles_fts MATCH :match AND articles_fts.rowid BETWEEN :low AND :high {filters}
ORDER BY bm25(articles_fts, 10.0, 1.0) / (1.0 + max(0, :now - a.published) / 2592000.0) {boost},
    a.published DESC, a.id DESC
LIMIT :limit"""
_BOOST = """(SELECT 1.0 + 0.5 * (count(*) - 1) + 0.5 * sum(ac.about) + 0.05 * min(sum(ac.score), 10.0)
    FROM article_companies ac WHERE ac.article_id = a.id AND ac.company IN ({companies}) {about})"""
# Without terms: newest UTC day first; within a day, more requested companies, about them, salience.
_BY_DAY = """
SELECT a.id FROM (
    SELECT article_id, count(*) AS matched, sum(about) AS abouts, sum(score) AS salience
    FROM article_companies WHERE company IN ({companies}) {about} AND article_id BETWEEN :low AND :high
        {recent} GROUP BY article_id) m
JOIN articles a ON a.id = m.article_id WHERE 1 {filters}
ORDER BY a.published / 86400 DESC, m.matched DESC, m.abouts DESC, m.salience DESC, a.published DESC, a.id DESC
LIMIT :limit"""
# A company named in many stories: walk the published index newest first to the `limit`-th
# match; every story that can rank before it was published that day or later, so `_BY_DAY`
# then only groups those (`RECENT`) instead of every story naming the company.
DAY_FLOOR = """
SELECT a.published / 86400 * 86400 FROM articles a INDEXED BY articles_published
WHERE a.id BETWEEN :low AND :high AND EXISTS (SELECT 1 FROM article_companies ac
    WHERE ac.article_id = a.id AND ac.company IN ({companies}) {about}) {filters}
ORDER BY a.published DESC LIMIT 1 OFFSET :limit - 1"""
RECENT = "AND article_id IN (SELECT id FROM articles WHERE published >= :floor)"
COMMON_COMPANY = 2000  # stories naming the requested companies above which the walk pays off
COMMON_MATCHES = 2000  # matches of the words above which only the newest are ranked
# Substring terms only: walk the published index newest first and stop at `limit` hits.
_BY_DATE = """SELECT a.id FROM articles a WHERE a.id BETWEEN :low AND :high {filters}
ORDER BY a.published DESC, a.id DESC LIMIT :limit"""
# An event tag and nothing else to look for: that tag's stories, newest first.
_BY_EVENT = """SELECT a.id FROM article_events e JOIN articles a ON a.id = e.article_id
WHERE e.tag = :event AND e.article_id BETWEEN :low AND :high {filters}
ORDER BY a.published DESC, a.id DESC LIMIT :limit"""
EVENT_FILTER = "AND a.id IN (SELECT article_id FROM article_events WHERE tag = :event)"
_SCAN_FILTER = "AND (instr(a.title, :s{i}) > 0 OR instr(a.text, :s{i}) > 0)"
_SCAN_EXCLUDE = "AND instr(a.title, :x{i}) = 0 AND instr(a.text, :x{i}) = 0"
ABOUT_ANY = "AND EXISTS (SELECT 1 FROM article_companies ac WHERE ac.article_id = a.id AND ac.about)"
MAX_OFFSET = 1000  # deeper pages are refused: nobody reads them, and each costs more
SNIPPET_TOKENS = 24
_EXCERPT_CHARS = 200
OPEN, _CLOSE = "\x02", "\x03"
_MARKERS = re.compile("([\x02\x03])")
# Scripts written without spaces between words: unicode61 keeps a whole run as one token.
_UNSEGMENTED = re.compile(
    "[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003ffff]"
)
_SPACE = re.compile(r"\s+")
FLATTEN = str.maketrans("\n\r\t\v\f", "     ")  # length-preserving, so highlight offsets survive



def parse_terms(terms: Sequence[str], joiner: str = " AND ") -> tuple[str, list[str]]:
    """Split terms into an FTS5 MATCH expression (each a quoted string) and substring terms."""
    quoted, scans = [], []
    for raw in terms:
        term = _SPACE.sub(" ", raw.replace("\x00", " ")).strip()
        if _UNSEGMENTED.search(term):
            scans.append(term)
        elif any(ch.isalnum() or unicodedata.category(ch) == "Co" for ch in term):
            # Inside an FTS5 string every character is literal except `"`, written `""`.
            quoted.append('"' + term.replace('"', '""') + '"')
        # else: unicode61 keeps no token of it; an empty phrase would make the AND match nothing
    return joiner.join(quoted), scans


def ranking_sql(relevance: bool, scans: int, companies: int, excluded_scans: int = 0, *,
                 about: bool = False, filters: str = "", event: bool = False) -> str:
    """The query returning ranked article ids, for the parameters `search_page` binds."""
    if event and not (relevance or scans or companies):
        return _BY_EVENT.format(filters=scan_filters(filters, 0, excluded_scans))
    if event:
        filters += " " + EVENT_FILTER
    filters = scan_filters(filters, scans, excluded_scans)
    in_companies = ", ".join(f":c{i}" for i in range(companies))
    about_only = "AND about" if about else ""
    if relevance:
        if not companies:
            return _BY_RELEVANCE.format(boost_column="", filters=filters, boost="")
        boost = _BOOST.format(companies=in_companies, about="AND ac.about" if about else "")
        # The boost is NULL when no requested company is named: that is the company filter.
        return _BY_RELEVANCE.format(boost_column=", " + boost + " AS boost",
                                    filters=filters + " AND boost IS NOT NULL", boost="* boost")
    if companies:
        # "{recent}" stays for `search_page` to fill: empty, or `RECENT` for common companies.
        return _BY_DAY.format(companies=in_companies, about=about_only, filters=filters, recent="{recent}")
    return _BY_DATE.format(filters=filters)


def scan_filters(filters: str, scans: int, excluded_scans: int) -> str:
    """`filters` plus the substring conditions for `scans` terms and `excluded_scans` exclusions."""
    # Substring filters use no index (see the FTS note in m001); the other conditions narrow first.
    filters += "".join(" " + _SCAN_FILTER.format(i=i) for i in range(scans))
    return filters + "".join(" " + _SCAN_EXCLUDE.format(i=i) for i in range(excluded_scans))


@dataclass(frozen=True)
class SearchPage:
    """One page of a lookup: its results, the cursor for the next page (None: no more), its offset."""

    results: list[SearchResult]
    cursor: str | None
    offset: int


@dataclass(frozen=True)
class Cursor:
    """Where a page stopped: the archive snapshot (highest id), the clock, the offset and last id."""

    high: int
    now: int
    offset: int
    last_id: int


def encode_cursor(cursor: Cursor) -> str:
    """A short token for chat buttons: four base-36 numbers joined by dots."""
    return ".".join(_base36(n) for n in (cursor.high, cursor.now, cursor.offset, cursor.last_id))


def decode_cursor(token: str) -> Cursor | None:
    """The Cursor in a token from `encode_cursor`, or None when it is not one."""
    parts = token.split(".")
    if len(parts) != 4 or not all(re.fullmatch(r"[0-9a-z]{1,14}", p) for p in parts):
        return None
    high, now, offset, last_id = (int(p, 36) for p in parts)
    if offset > MAX_OFFSET or now > 2**40:
        return None
    return Cursor(high, now, offset, last_id)


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        number, digit = divmod(number, 36)
        text = digits[digit] + text
        if not number:
            return text


def unmark(marked: str) -> tuple[str, list[tuple[int, int]]]:
    """Strip \\x02/\\x03 markers, returning the plain text and the spans they enclosed."""
    plain: list[str] = []
    spans: list[tuple[int, int]] = []
    length, opened = 0, None
    for piece in _MARKERS.split(marked):
        if piece == OPEN:
            opened = length if opened is None else opened  # a stray marker from the page itself
        elif piece == _CLOSE:
            if opened is not None and length > opened:
                spans.append((opened, length))
            opened = None
        else:
            plain.append(piece)
            length += len(piece)
    if opened is not None and length > opened:
        spans.append((opened, length))
    return "".join(plain), spans


def occurrences(text: str, needles: Sequence[str]) -> list[tuple[int, int]]:
    """Spans of every occurrence of each needle in text."""
    return [(m.start(), m.end()) for needle in needles for m in re.finditer(re.escape(needle), text)]


def excerpt(
    title: str, text: str, mentions: list[tuple[int, int]], scans: Sequence[str]
) -> tuple[str, list[tuple[int, int]]]:
    """About 200 characters of text around the first searched term or mention, cut at word boundaries."""
    term_spans = occurrences(text, scans)
    if scans and not term_spans:
        return title, occurrences(title, scans)  # the substring terms are in the title only
    spans = sorted(term_spans) + mentions
    if spans:
        anchor_start, anchor_end = spans[0]
        low = anchor_start - (_EXCERPT_CHARS - (anchor_end - anchor_start)) // 2
        low = max(0, min(low, len(text) - _EXCERPT_CHARS))  # near the end: show more before it
        high = min(len(text), max(anchor_end, low + _EXCERPT_CHARS))
    else:
        anchor_start, anchor_end, low, high = 0, 0, 0, min(len(text), _EXCERPT_CHARS)
    if low > 0:
        space = _SPACE.search(text, low, anchor_start)
        low = space.end() if space else low  # no space at all (e.g. Chinese): cut mid-run
    if high < len(text):
        last = None
        for last in _SPACE.finditer(text, anchor_end, high):
            pass
        high = last.start() if last else high
    prefix = "…" if low > 0 else ""
    suffix = "…" if high < len(text) else ""
    shift = len(prefix) - low
    highlights = [(start + shift, end + shift) for start, end in spans if low <= start and end <= high]
    return prefix + text[low:high] + suffix, highlights
