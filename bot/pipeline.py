"""One poll of one source: fetch, parse, extract, match, summarise, route, store.

A poll is isolated: whatever goes wrong with a source is recorded against that source and
returned in its `PollReport`; it never raises into the scheduler and never touches other
sources. Each new article is written with its mentions and its outbox alerts in a single
transaction, so a crash mid-poll leaves either the whole article or nothing.

An article whose content fingerprint (title and lead) matches an article published within
the story window joins that story: where the story was already alerted, it becomes coverage
in the alert's thread instead of a second alert.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.errors import ExtractError, FeedError, FetchError, IntelbotError
from bot.extract import Extractor
from bot.events import event_tags
from bot.feeds import canonical_url, parse_feed
from bot.fetch import Fetcher
from bot.fingerprint import distance, fingerprint, same_story
from bot.matcher import CompanyMatcher, MatchResult
from bot.models import Alert, Article, Entry, ExtractedPage, FetchResult, Route
from bot.routing import Watchlist, is_announceable, route
from bot.store import Store
from bot.summarize import summarize

log = logging.getLogger(__name__)

HTML_TYPES = ("text/html", "application/xhtml+xml")


@dataclass(frozen=True)
class SourceSpec:
    """What a poll needs to know about a source (config's SourceConfig fits this shape)."""

    name: str
    url: str
    robots: bool = True  # obey the site's robots.txt


@dataclass(frozen=True)
class PollReport:
    """What one poll of one source did."""

    source: str
    new_articles: int = 0
    alerts: int = 0
    entries: int = 0  # entries the feed listed (1 for a plain page)
    page_errors: int = 0  # entries whose page could not be fetched/extracted (feed text used)
    not_modified: bool = False
    error: str | None = None  # why the poll failed; None when it worked
    retry_after: float | None = None  # seconds the server asked us to wait before the next poll


class Pipeline:
    """Turns a source's news into stored articles and pending alerts."""

    def __init__(
        self,
        *,
        store: Store,
        fetcher: Fetcher,
        extractor: Extractor,
        matcher: CompanyMatcher,
        watchlists: Sequence[Watchlist],
        backlog: timedelta,
        clock: Callable[[], datetime],
        page_concurrency: int = 4,
        story_window: timedelta = timedelta(days=3),
    ):
        self._store = store
        self._fetcher = fetcher
        self._extractor = extractor
        self._matcher = matcher
        self._watchlists = tuple(watchlists)
        self._backlog = backlog
        self._clock = clock
        self._page_slots = asyncio.Semaphore(page_concurrency)
        self._story_window = story_window

    def reconfigure(self, *, matcher: CompanyMatcher, watchlists: Sequence[Watchlist], backlog: timedelta,
                    story_window: timedelta) -> None:
        """Use a new config's companies, watchlists and windows from the next article on."""
        self._matcher, self._watchlists = matcher, tuple(watchlists)
        self._backlog, self._story_window = backlog, story_window

    async def poll(self, source: SourceSpec) -> PollReport:
        """Poll `source` once. Never raises for a problem of the source itself."""
        state = self._store.source_state(source.name, source.url)
        try:
            result = await self._fetcher.get(
                source.url, etag=state.etag, last_modified=state.last_modified,
                robots=source.robots,
            )
            if result.not_modified:
                self._store.record_poll_success(
                    source.name, source.url, now=self._clock(),
                    etag=state.etag, last_modified=state.last_modified, page_hash=state.page_hash,
                )
                return PollReport(source.name, not_modified=True)
            entries = parse_feed(
                result.content, source=source.name, url=result.url,
                content_type=result.content_type, charset=result.charset,
            )
            first_poll = state.polls == 0
            if entries is None:
                report, page_hash = await self._take_page(source, result, state.page_hash, first_poll)
            else:
                report, page_hash = await self._take_entries(source, entries, first_poll), None
        except FetchError as error:
            return self._fail(source, str(error), retry_after=error.retry_after)
        except (FeedError, ExtractError) as error:
            return self._fail(source, str(error))
        except Exception as error:  # a bug must not stop the other sources
            log.exception("poll of %s failed unexpectedly", source.name)
            return self._fail(source, f"internal error: {type(error).__name__}: {error}")
        self._store.record_poll_success(
            source.name, source.url, now=self._clock(),
            etag=result.etag, last_modified=result.last_modified, page_hash=page_hash,
        )
        return report

    def _fail(self, source: SourceSpec, reason: str, *, retry_after: float | None = None) -> PollReport:
        log.warning("source %s: %s", source.name, reason)
        self._store.record_poll_failure(source.name, source.url, now=self._clock(), error=reason)
        return PollReport(source.name, error=reason, retry_after=retry_after)

    async def _take_entries(self, source: SourceSpec, entries: list[Entry], first_poll: bool) -> PollReport:
        fresh = [
            entry for entry in _oldest_first(entries)
            if entry.url and not self._store.has_article(url=entry.url, source=source.name, guid=entry.guid)
        ]
        robots = source.robots
        pages = await asyncio.gather(*(self._fetch_page(entry.link, robots=robots) for entry in fresh))
        new_articles = alerts = page_errors = 0
        for entry, page in zip(fresh, pages, strict=True):
            if page is None:
                page_errors += 1
            try:
                article = self._article_from_entry(entry, page)
                added = self._store_article(article, first_poll=first_poll)
            except IntelbotError as error:  # one bad entry must not cost the others
                log.warning("source %s: skipped entry %s: %s", source.name, entry.link, error)
                continue
            if added is not None:
                new_articles += 1
                alerts += added
        return PollReport(
            source.name, new_articles=new_articles, alerts=alerts,
            entries=len(entries), page_errors=page_errors,
        )

    async def _take_page(
        self, source: SourceSpec, result: FetchResult, last_hash: str | None, first_poll: bool
    ) -> tuple[PollReport, str | None]:
        """A plain web page is one article, re-read (and re-matched) whenever its text changes."""
        if result.content_type not in HTML_TYPES and result.content_type is not None:
            raise FeedError(f"neither a feed nor an HTML page (Content-Type {result.content_type})")
        page = await self._extractor.extract(result.content, result.url, charset=result.charset)
        page_hash = hashlib.sha256(f"{page.title}\n{page.text}".encode()).hexdigest()
        if page_hash == last_hash:
            return PollReport(source.name, entries=1), page_hash
        now = self._clock()
        article = Article(
            source=source.name, url=canonical_url(source.url) or source.url, guid=None,
            title=page.title, text=page.text, published=_not_after(page.published or now, now),
            fetched_at=now, language=page.language, description=page.description,
        )
        added = self._store_article(article, first_poll=first_poll, replace=True)
        report = PollReport(source.name, new_articles=int(last_hash is None), alerts=added or 0, entries=1)
        return report, page_hash

    async def _fetch_page(self, link: str, *, robots: bool = True) -> ExtractedPage | None:
        """The entry's page, extracted; None when it cannot be had (the feed's text is used)."""
        async with self._page_slots:
            try:
                result = await self._fetcher.get(link, accept="text/html,application/xhtml+xml;q=0.9,*/*;q=0.5",
                                                 robots=robots)
                if result.content_type not in HTML_TYPES and result.content_type is not None:
                    raise ExtractError(f"not an HTML page (Content-Type {result.content_type})")
                return await self._extractor.extract(result.content, result.url, charset=result.charset)
            except (FetchError, ExtractError) as error:
                log.info("page %s: %s; using the feed's text", link, error)
                return None

    def _article_from_entry(self, entry: Entry, page: ExtractedPage | None) -> Article:
        now = self._clock()
        published = entry.published or (page.published if page else None) or now
        text = page.text if page and page.text else entry.summary
        return Article(
            source=entry.source, url=entry.url, guid=entry.guid,
            title=entry.title or (page.title if page else "") or entry.link,
            text=text, published=_not_after(published, now), fetched_at=now,
            language=page.language if page else None, description=entry.summary,
        )

    def _store_article(self, article: Article, *, first_poll: bool, replace: bool = False) -> int | None:
        """Match, route and store `article`; the number of alerts enqueued, None if already stored."""
        match = self._matcher.match(article.title, article.text)
        routes: list[Route] = []
        if is_announceable(article.published, first_poll=first_poll, backlog=self._backlog, now=self._clock()):
            routes = route(article, match, self._watchlists)
        summary = summarize(article.text, match.mentions, fallback=article.description)
        events = event_tags(article.title, article.text or article.description)
        alerts = [
            Alert(
                watchlist=r.watchlist, channel=r.channel, companies=r.companies, title=article.title,
                url=article.url, source=article.source, published=article.published, summary=summary,
                why=why_line(match, r.companies), events=events, ping=r.ping, tier=r.tier,
            )
            for r in routes
        ]
        salience = {c.company: (c.score, c.about) for c in match.companies}
        mark = fingerprint(article.title, article.text or article.description)
        stored = self._store.add_article(
            article, match.mentions, alerts, replace=replace, salience=salience,
            story=None if replace else self._story_of(article, mark), fingerprint=mark, events=events,
        )
        if stored is None:
            return None
        return len(stored[1])

    def _story_of(self, article: Article, mark: int | None) -> int | None:
        """The story (its first article's id) that `article` is a copy of, or None for a new story.

        The nearest fingerprint among articles published within the story window wins; on a
        tie, the oldest story.
        """
        if mark is None or not self._story_window:
            return None
        window = self._story_window
        candidates = self._store.story_candidates(article.published - window, article.published + window)
        best: tuple[int, int] | None = None
        for story, other in candidates:
            if same_story(mark, other) and (best is None or distance(mark, other) < best[0]):
                best = (distance(mark, other), story)
        return best[1] if best else None


def why_line(match: MatchResult, companies: Sequence[str]) -> str:
    """One line saying why an alert matched: "Xiaomi: '小米' in the title, 3 mentions"."""
    found = {c.company: c for c in match.companies}
    return "; ".join(f"{name}: {found[name].why}" for name in companies if name in found)


def _oldest_first(entries: list[Entry]) -> list[Entry]:
    """Entries in publication order (undated ones keep their feed position, after dated ones)."""
    far_future = datetime.max.replace(tzinfo=None)
    return sorted(entries, key=lambda e: e.published.replace(tzinfo=None) if e.published else far_future)


def _not_after(moment: datetime, now: datetime) -> datetime:
    """Dates in the future (clock skew, typos in feeds) are taken as now."""
    return min(moment, now)
