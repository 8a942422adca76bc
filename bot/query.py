"""The lookup language behind `/intel` and `intelbot search` (first version).

Words that name a tracked company (its name or any alias, any case, several words long
included) select that company; the remaining words are full-text terms that must all occur.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.matcher import CompanyNames, normalize

LONGEST_ALIAS_WORDS = 4


@dataclass(frozen=True)
class Query:
    """A parsed lookup: companies to filter on and terms to search for."""

    companies: tuple[str, ...] = ()
    terms: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.companies and not self.terms


class CompanyIndex:
    """Resolves words to company names through every name and alias."""

    def __init__(self, companies: Sequence[CompanyNames]):
        self._by_alias: dict[str, str] = {}
        for company in companies:
            for alias in (company.name, *company.aliases):
                text = alias if isinstance(alias, str) else alias.text
                self._by_alias.setdefault(normalize(text), company.name)

    def resolve(self, words: Sequence[str]) -> str | None:
        return self._by_alias.get(normalize(" ".join(words)))


def parse_query(text: str, index: CompanyIndex) -> Query:
    """Split `text` into companies (longest alias first) and the remaining terms."""
    words = text.split()
    companies: list[str] = []
    terms: list[str] = []
    position = 0
    while position < len(words):
        for size in range(min(LONGEST_ALIAS_WORDS, len(words) - position), 0, -1):
            company = index.resolve(words[position : position + size])
            if company is not None:
                if company not in companies:
                    companies.append(company)
                position += size
                break
        else:
            terms.append(words[position])
            position += 1
    return Query(tuple(companies), tuple(dict.fromkeys(terms)))


def complete_companies(typed: str, names: Sequence[str], *, limit: int = 25) -> list[str]:
    """Completions of a half-typed lookup: its last word replaced by each tracked company
    name that word begins (then names that contain it), earlier words kept as typed."""
    head, _, last = typed.rpartition(" ")
    needle = last.strip().casefold()
    starts = [name for name in names if name.casefold().startswith(needle)]
    contains = [name for name in names if needle in name.casefold() and name not in starts]
    prefix = head.strip() + " " if head.strip() else ""
    return list(dict.fromkeys(prefix + name for name in starts + contains))[:limit]
