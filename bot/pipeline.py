"""One poll of one source: fetch, parse, extract, match, summarise, route, store.

A poll is isolated: whatever goes wrong with a source is recorded against that source and
returned in its `PollReport`; it never raises into the scheduler and never touches other
sources. Each new article is written with its mentions and its outbox alerts in a single
transaction, so a crash mid-poll leaves either the whole article or nothing.

An article whose content fingerprint (title and lead) matches an article published within
the story window joins that story: where the story was already alerted, it becomes coverage
in the alert's thread instead of a second alert.

Threads: the event loop only waits. Parsing a feed, matching, summarising and storing each
article, and every other read and write of the store, run on the pipeline's one worker
thread (`close()` stops it), in the order they were asked for: one writer, each article
still its own transaction, and the loop neither computes nor waits for SQLite (a commit may
checkpoint the WAL or merge the full-text index: tens of milliseconds) while it could fetch.
Extraction runs in the Extractor's processes. A page holds a fetch slot (`page_concurrency`)
only while it is fetched; up to two pages per extraction worker wait for or are in
extraction, so the workers do not wait for a fetch to start.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import random
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import TypeVar

from bot.cadence import next_poll, usual_gap
from bot.errors import ExtractError, FeedError, FetchError, IntelbotError
from bot.extract import Extractor
from bot.events import event_tags
from bot.feeds import canonical_url, parse_feed
from bot.fetch import Fetcher
from bot.fingerprint import fingerprint
from bot.matcher import CompanyMatcher, MatchResult
from bot.models import Alert, Article, Entry, ExtractedPage, FetchResult, Route, SourceState
from bot.routing import Watchlist, is_announceable, route
from bot.store import Store
from bot.summarize import summarize

log = logging.getLogger(__name__)

HTML_TYPES = ("text/html", "application/xhtml+xml")
EXTRACTIONS_PER_WORKER = 2  # pages in or waiting for extraction, per worker: one running, one ready
CHECKPOINT_EVERY = 32  # stored articles (some 200 WAL pages) between checkpoints: see Store.checkpoint
_T = TypeVar("_T")


@dataclass(frozen=True)
class SourceSpec:
    """What a poll needs to know about a source (config's SourceConfig fits this shape)."""

    name: str
    url: str
    robots: bool = True  # obey the site's robots.txt
    every: timedelta = timedelta(minutes=15)  # the shortest time between polls
    longest_every: timedelta = timedelta(hours=1)  # the longest the adaptive interval may use


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
    next_poll_at: datetime | None = None  # when bot.cadence says to poll again (stored with the outcome)


@dataclass(frozen=True)
class _Settings:
    """What the config decides about matching and alerting; replaced whole by `reconfigure`."""

    matcher: CompanyMatcher
    watchlists: tuple[Watchlist, ...]
    backlog: timedelta
    story_window: timedelta


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
        rng: random.Random | None = None,
    ):
        self._store = store
        self._fetcher = fetcher
        self._extractor = extractor
        self._settings = _Settings(matcher, tuple(watchlists), backlog, story_window)
        self._clock = clock
        self._page_slots = asyncio.Semaphore(page_concurrency)
        self._handing_out = asyncio.Lock()  # held by the poll whose pages take the fetch slots now
        self._extraction_slots = asyncio.Semaphore(EXTRACTIONS_PER_WORKER * extractor.max_workers)
        self._worker: ThreadPoolExecutor | None = None
        self._taking: set[str] = set()  # URLs of entries some poll is fetching or storing now
        self._stored = 0  # articles stored by the worker thread, for CHECKPOINT_EVERY
        self._rng = rng or random.Random()  # the jitter of next polls
        self._gaps: dict[str, timedelta | None] = {}  # a source's usual gap, read again when it has news

    def reconfigure(self, *, matcher: CompanyMatcher, watchlists: Sequence[Watchlist], backlog: timedelta,
                    story_window: timedelta) -> None:
        """Use a new config's companies, watchlists and windows from the next article on."""
        self._settings = _Settings(matcher, tuple(watchlists), backlog, story_window)

    def close(self) -> None:
        """Let the worker thread finish the article it is storing, then stop it; work still
        queued is dropped (its entries are fetched again next time). Blocks for milliseconds."""
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.shutdown(wait=True, cancel_futures=True)

    async def _off_loop(self, function: Callable[..., _T], /, *args: object, **kwargs: object) -> _T:
        """Run `function` on the worker thread, after everything asked for before it."""
        if self._worker is None:
            self._worker = ThreadPoolExecutor(1, thread_name_prefix="intelbot-ingest")
        return await asyncio.get_running_loop().run_in_executor(self._worker, partial(function, *args, **kwargs))

    async def poll(self, source: SourceSpec, state: SourceState | None = None) -> PollReport:
        """Poll `source` once. Never raises for a problem of the source itself.

        `state` is what the store holds for it (`source_states`), read here when not given.
        The outcome (validators, or the error) and the planned next poll are stored in one
        transaction, on the worker thread, and the plan is returned in `PollReport.next_poll_at`.
        """
        if state is None:
            state = await self._off_loop(self._store.source_state, source.name, source.url)
        try:
            result = await self._fetcher.get(
                source.url, etag=state.etag, last_modified=state.last_modified,
                robots=source.robots,
            )
            if result.not_modified:
                report = PollReport(source.name, not_modified=True)
                return await self._off_loop(
                    self._record_success, source, report,
                    etag=state.etag, last_modified=state.last_modified, page_hash=state.page_hash,
                )
            entries = await self._off_loop(
                parse_feed, result.content, source=source.name, url=result.url,
                content_type=result.content_type, charset=result.charset,
            )
            first_poll = state.polls == 0
            if entries is None:
                report, page_hash = await self._take_page(source, result, state.page_hash, first_poll)
            else:
                report, page_hash = await self._take_entries(source, entries, first_poll), None
        except FetchError as error:
            return await self._fail(source, state.failures, str(error), retry_after=error.retry_after)
        except (FeedError, ExtractError) as error:
            return await self._fail(source, state.failures, str(error))
        except Exception as error:  # a bug must not stop the other sources
            log.exception("poll of %s failed unexpectedly", source.name)
            return await self._fail(source, state.failures, f"internal error: {type(error).__name__}: {error}")
        return await self._off_loop(
            self._record_success, source, report,
            etag=result.etag, last_modified=result.last_modified, page_hash=page_hash,
        )

    async def source_states(self, sources: Sequence[SourceSpec]) -> dict[str, SourceState]:
        """What the store holds for each source, by name, read at once (for `poll`)."""
        return await self._off_loop(self._store.source_states, [(s.name, s.url) for s in sources])

    async def _fail(self, source: SourceSpec, failures: int, reason: str, *,
                    retry_after: float | None = None) -> PollReport:
        """Record a failed poll (`failures` before this one) and plan the next, backing off."""
        log.warning("source %s: %s", source.name, reason)
        report = PollReport(source.name, error=reason, retry_after=retry_after)
        return await self._off_loop(self._record_failure, source, report, failures + 1)

    def _record_success(self, source: SourceSpec, report: PollReport, *, etag: str | None,
                        last_modified: str | None, page_hash: str | None) -> PollReport:
        due = self._next_poll(source, report, failures=0)
        self._store.record_poll_success(
            source.name, source.url, now=self._clock(), etag=etag, last_modified=last_modified,
            page_hash=page_hash, next_poll_at=due,
        )
        return dataclasses.replace(report, next_poll_at=due)

    def _record_failure(self, source: SourceSpec, report: PollReport, failures: int) -> PollReport:
        due = self._next_poll(source, report, failures=failures)
        assert report.error is not None
        self._store.record_poll_failure(source.name, source.url, now=self._clock(), error=report.error,
                                        next_poll_at=due)
        return dataclasses.replace(report, next_poll_at=due)

    def _next_poll(self, source: SourceSpec, report: PollReport, *, failures: int) -> datetime:
        """When to poll `source` again (bot.cadence), to the second as the store keeps it.

        The source's usual gap between stories is read from the store only when this poll
        stored news or it was not read yet: a poll of an unchanged feed costs no query for it.
        """
        if report.new_articles or source.name not in self._gaps:
            activity = self._store.source_activity([source.name]).get(source.name)
            self._gaps[source.name] = usual_gap(activity[1]) if activity else None
        due = next_poll(
            now=self._clock(), every=source.every, longest=source.longest_every, failures=failures,
            retry_after=report.retry_after, gap=self._gaps[source.name], rng=self._rng,
        )
        return due.replace(microsecond=0)  # so that a restart resumes exactly the stored plan

    async def _take_entries(self, source: SourceSpec, entries: list[Entry], first_poll: bool) -> PollReport:
        fresh = await self._off_loop(self._fresh_entries, source.name, _oldest_first(entries))
        # An entry that another poll is taking now (feeds that share links) would be fetched and
        # extracted twice, and stored once: it is left to that poll.
        taking: list[Entry] = []
        for entry in fresh:
            if entry.url not in self._taking:  # nor listed twice in this feed: the first is stored
                self._taking.add(entry.url)
                taking.append(entry)
        try:
            return await self._take_fresh(source, taking, len(entries), first_poll)
        finally:
            self._taking.difference_update(entry.url for entry in taking)

    async def _take_fresh(self, source: SourceSpec, fresh: list[Entry], listed: int, first_poll: bool) -> PollReport:
        """Fetch and extract the entries' pages, storing each article as soon as it and those
        before it are ready.

        A page gets a task only once it has a fetch slot, and one poll at a time hands its pages
        to the slots, in order: polls are served in the order they asked, as when every page
        waited for a slot in a task of its own, but without a waiting task (and its frame and
        context) for each of 20,000 entries, which made each garbage collection take longer.
        """
        pages: list[asyncio.Task[ExtractedPage | None]] = []
        new_articles = alerts = page_errors = 0
        try:
            async with self._handing_out:
                for entry in fresh:
                    await self._page_slots.acquire()
                    slot = _Slot(self._page_slots)
                    page = asyncio.create_task(self._fetch_page(entry.link, slot, robots=source.robots))
                    page.add_done_callback(slot.release)  # at the latest: a task cancelled before it ran
                    pages.append(page)
            for entry, page in zip(fresh, pages, strict=True):
                extracted = await page
                if extracted is None:
                    page_errors += 1
                try:
                    added = await self._off_loop(self._store_entry, entry, extracted, first_poll=first_poll)
                except IntelbotError as error:  # one bad entry must not cost the others
                    log.warning("source %s: skipped entry %s: %s", source.name, entry.link, error)
                    continue
                if added is not None:
                    new_articles += 1
                    alerts += added
        finally:  # the poll was cancelled, or a bug broke it: its other pages are not wanted
            for page in pages:
                if not page.done():
                    page.cancel()
                elif not page.cancelled():
                    page.exception()  # read, so that a second bug is not reported as never retrieved
        return PollReport(
            source.name, new_articles=new_articles, alerts=alerts,
            entries=listed, page_errors=page_errors,
        )

    def _fresh_entries(self, source: str, entries: list[Entry]) -> list[Entry]:
        """The entries with a URL that are not stored yet (by URL, or by this source's guid)."""
        return [entry for entry in entries
                if entry.url and not self._store.has_article(url=entry.url, source=source, guid=entry.guid)]

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
        added = await self._off_loop(self._store_article, article, first_poll=first_poll, replace=True)
        report = PollReport(source.name, new_articles=int(last_hash is None), alerts=added or 0, entries=1)
        return report, page_hash

    async def _fetch_page(self, link: str, slot: _Slot, *, robots: bool = True) -> ExtractedPage | None:
        """The entry's page, extracted; None when it cannot be had (the feed's text is used).

        `slot` is the fetch slot taken for it, kept until an extraction slot is free: pages
        waiting in memory stay few (fetch slots plus extraction slots) however many entries
        the polls find.
        """
        try:
            try:
                result = await self._fetcher.get(link, accept="text/html,application/xhtml+xml;q=0.9,*/*;q=0.5",
                                                 robots=robots)
                if result.content_type not in HTML_TYPES and result.content_type is not None:
                    raise ExtractError(f"not an HTML page (Content-Type {result.content_type})")
                await self._extraction_slots.acquire()
            finally:
                slot.release()
            try:
                return await self._extractor.extract(result.content, result.url, charset=result.charset)
            finally:
                self._extraction_slots.release()
        except (FetchError, ExtractError) as error:
            log.info("page %s: %s; using the feed's text", link, error)
            return None

    def _store_entry(self, entry: Entry, page: ExtractedPage | None, *, first_poll: bool) -> int | None:
        """`_store_article` for a feed entry and its page (on the worker thread)."""
        return self._store_article(self._article_from_entry(entry, page), first_poll=first_poll)

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
        """Match, route and store `article`; the number of alerts enqueued, None if already stored.

        Runs on the worker thread: pure CPU and one store transaction.
        """
        settings = self._settings  # one config for the whole article, whatever a reload does meanwhile
        match = settings.matcher.match(article.title, article.text)
        routes: list[Route] = []
        if is_announceable(article.published, first_poll=first_poll, backlog=settings.backlog, now=self._clock()):
            routes = route(article, match, settings.watchlists)
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
            story=None if replace else self._story_of(article, mark, settings.story_window),
            fingerprint=mark, events=events,
        )
        if stored is None:
            return None
        self._stored += 1
        if self._stored % CHECKPOINT_EVERY == 0:
            self._store.checkpoint()  # here, rather than in a commit on the event loop
        return len(stored[1])

    def _story_of(self, article: Article, mark: int | None, window: timedelta) -> int | None:
        """The story (its first article's id) that `article` is a copy of, or None for a new story.

        The nearest fingerprint among articles published within the story window wins; on a
        tie, the story of the article stored first.
        """
        if mark is None or not window:
            return None
        return self._store.story_of(mark, article.published - window, article.published + window)


class _Slot:
    """One acquired place of a semaphore, released once however often `release` is called."""

    def __init__(self, semaphore: asyncio.Semaphore):
        self._semaphore: asyncio.Semaphore | None = semaphore

    def release(self, *_: object) -> None:
        if self._semaphore is not None:
            self._semaphore.release()
            self._semaphore = None


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
