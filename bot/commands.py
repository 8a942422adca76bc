"""The `/intel` command surface shared by every adapter and by `intelbot search`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from bot import messages
from bot.models import Command, Reply
from bot.query import CompanyIndex, parse_query
from bot.store import Store

RESULTS_PER_ANSWER = 5


class Commands:
    """Answers `/intel ...` commands. Lookups run in a worker thread so the loop keeps going."""

    def __init__(self, store: Store, companies: CompanyIndex, *, clock: Callable[[], datetime]):
        self._store = store
        self._companies = companies
        self._clock = clock

    async def handle(self, command: Command) -> Reply:
        """The reply to `command`; never raises for anything a user can type."""
        text = command.text.strip()
        if text.lower() in ("help", "?", "-h", "--help"):
            return Reply(messages.HELP)
        if not text:
            return Reply(messages.EMPTY_QUERY + "\n\n" + messages.HELP)
        return await asyncio.to_thread(self.search, text)

    def search(self, text: str, *, limit: int = RESULTS_PER_ANSWER) -> Reply:
        """Run a lookup synchronously (the CLI calls this directly)."""
        query = parse_query(text, self._companies)
        if query.empty:
            return Reply(messages.EMPTY_QUERY)
        results = self._store.search(
            companies=query.companies, terms=query.terms, limit=limit, now=self._clock()
        )
        if not results:
            return Reply(messages.no_results(query.companies, query.terms))
        return Reply(messages.results_heading(len(results), query.companies, query.terms), tuple(results))
