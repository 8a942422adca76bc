"""The `/intel` command surface shared by every adapter and by `intelbot search`."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from datetime import datetime

from bot import messages
from bot.admin import EDIT_WORDS, Admin, split_words
from bot.feeds import canonical_url
from bot.matcher import CompanyMatcher, MatchResult
from bot.models import Command, Reply
from bot.query import CompanyIndex, parse_query
from bot.status import Histogram, StatusReport
from bot.store import Store

RESULTS_PER_ANSWER = 5
_AFTER = re.compile(r"(?:^|\s)after:\S*", re.IGNORECASE)
HELP = messages.HELP + "\n" + messages.STATUS_HELP


class Commands:
    """Answers `/intel ...` commands. Lookups run in a worker thread so the loop keeps going.

    `status` reads the report `/intel status` shows (None: the command says it is not
    available). `admin` answers `/intel watch ...` and `/intel source ...` (None: they say
    that editing from chat is not enabled). `lookup_seconds` times every lookup, for /metrics.
    """

    def __init__(self, store: Store, companies: CompanyIndex, *, clock: Callable[[], datetime],
                 matcher: CompanyMatcher | None = None, status: Callable[[], StatusReport] | None = None,
                 admin: Admin | None = None):
        self._store = store
        self._companies = companies
        self._clock = clock
        self._matcher = matcher
        self._status = status
        self._admin = admin
        self.lookup_seconds = Histogram()

    def reconfigure(self, companies: CompanyIndex, matcher: CompanyMatcher) -> None:
        """Answer with a new config's companies from the next command on."""
        self._companies, self._matcher = companies, matcher

    async def handle(self, command: Command) -> Reply:
        """The reply to `command`; never raises for anything a user can type."""
        text = command.text.strip()
        if text.lower() in ("help", "?", "-h", "--help"):
            return Reply(HELP + "\n\n" + messages.ADMIN_HELP)
        if not text:
            return Reply(messages.EMPTY_QUERY + "\n\n" + HELP)
        word, _, rest = text.partition(" ")
        if word.lower() == "why":
            return await asyncio.to_thread(self.why, rest.strip())
        if text.lower() == "status":
            return await asyncio.to_thread(self.status)
        if text.lower() == "sources":
            return await asyncio.to_thread(self.sources)
        if word.lower() in EDIT_WORDS:  # a lookup for the word itself: /intel "watch"
            if self._admin is None:
                return Reply(messages.EDITING_NOT_ENABLED)
            return await self._admin.handle(command, split_words(text))
        return await asyncio.to_thread(self.search, text)

    def status(self) -> Reply:
        """Delivery per channel and the health of each source, as `intelbot status` prints it."""
        if self._status is None:
            return Reply(messages.STATUS_UNAVAILABLE)
        return Reply(messages.status_text(self._status()))

    def sources(self) -> Reply:
        """Each source's state (ok, failing, dead, silent) and why, as `intelbot sources` prints it."""
        if self._status is None:
            return Reply(messages.STATUS_UNAVAILABLE)
        return Reply(messages.sources_text(self._status()))

    def why(self, url: str) -> Reply:
        """Explain which companies a stored story names, where, and what was dropped and why."""
        url = url.strip("<>")  # Slack wraps links in angle brackets
        if not url:
            return Reply(messages.WHY_USAGE)
        article = self._store.article(canonical_url(url) or url)
        if article is None or self._matcher is None:
            return Reply(messages.not_stored(url))
        text = explain(self._matcher.match(article.title, article.text), article.title)
        story = self._store.story_articles(article.url)
        if len(story) > 1:
            text += "\n" + messages.story_coverage(story, article.url)
        return Reply(text)

    def search(self, text: str, *, limit: int = RESULTS_PER_ANSWER) -> Reply:
        """Run a lookup synchronously (the CLI calls this directly).

        `text` is in the language of `bot.query`. A reply with more results after it carries,
        in `Reply.more`, the command text for the next page: the same query with `after:<cursor>`.
        """
        started = time.perf_counter()
        try:
            return self._search(text, limit=limit)
        finally:
            self.lookup_seconds.observe(time.perf_counter() - started)

    def _search(self, text: str, *, limit: int) -> Reply:
        query = parse_query(text, self._companies, now=self._clock())
        if query.problems:
            return Reply(messages.query_problems(query.problems) + "\n\n" + HELP)
        if query.empty:
            return Reply(messages.EMPTY_QUERY)
        try:
            page = self._store.search_page(
                companies=query.companies, terms=query.terms, phrases=query.phrases, exclude=query.exclude,
                since=query.since, source=query.source, about=query.about, lang=query.lang, event=query.event,
                after=query.after,
                limit=limit, now=self._clock(),
            )
        except ValueError:  # a cursor the store cannot read: an old or hand-edited `after:`
            return Reply(messages.STALE_MORE)
        note = messages.corrections(query.corrections)
        if not page.results:
            return Reply(note + messages.no_results(query))
        words = " ".join(_AFTER.sub(" ", text).split())
        more = f"{words} after:{page.cursor}" if page.cursor else None
        heading = messages.results_heading(len(page.results), query, page=page.offset // limit + 1)
        return Reply(note + heading, tuple(page.results), more=more)


def explain(match: MatchResult, title: str) -> str:
    """Every candidate name in a story, kept or dropped, and why; then each company's verdict."""
    lines = [messages.explain_heading(title)]
    for company in match.companies:
        verdict = "about" if company.about else "in passing"
        lines.append(f"• {company.company} ({verdict}, score {company.score:g}): {company.why}")
    if not match.companies:
        lines.append(messages.NO_COMPANY)
    for candidate in match.candidates:
        mark = "+" if candidate.kept else "-"
        lines.append(f"  {mark} {candidate.field} {candidate.start}-{candidate.end}: {candidate.reason}")
    return "\n".join(lines)
