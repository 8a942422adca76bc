"""The lookup language behind `/intel` and `intelbot search`: text in, a `Query` value out.

Pure: no I/O, and the current time comes in as `now`. `parse_query` never raises; what it
cannot use it lists in `Query.problems` for the answer to name.

    twitter china          a word naming a tracked company (any alias, any case, several
                           words long included, small typos) selects it; other words must occur
    "supply chain"         a phrase (an unbalanced quote makes the rest of the text one phrase)
    -rumour  -"price war"  excludes stories containing the word or phrase
    since:7d  since:12h  since:2026-01-01   published in that window
    source:wire  source:"Tech Wire"         from that source (its configured name, any case)
    about:  about:twitter  only stories about the company, not passing mentions
    lang:zh                stories in that language (ISO 639-1)
    event:funding          stories tagged with that event (funding, acquisition, launch, ...;
                           alone, the newest such stories)
    after:<token>          the next page of an earlier answer (written by the bot in `more`)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from bot.events import tag_named
from bot.matcher import CompanyNames, builtin_senses, normalize

LONGEST_ALIAS_WORDS = 4
OPERATORS = ("since", "source", "about", "lang", "event", "after")
# Ordinary words within one edit of a company alias: searched as words, never "corrected".
NOT_TYPOS = frozenset({"goggle", "goggles", "titter", "alphabets", "tweeter", "twitted"})
_OPERATOR = re.compile(r"^([A-Za-z][A-Za-z_-]*):(.*)$", re.DOTALL)
_RELATIVE = re.compile(r"^(\d{1,5})([hdwmy])$")
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_LANG = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})?$")
_CURSOR = re.compile(r"^[0-9a-z]{1,14}(\.[0-9a-z]{1,14}){3}$")
_UNIT_HOURS = {"h": 1, "d": 24, "w": 24 * 7, "m": 24 * 30, "y": 24 * 365}


@dataclass(frozen=True)
class Query:
    """A parsed lookup. Empty tuples, None and False mean "no such condition"."""

    companies: tuple[str, ...] = ()
    terms: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()  # words or phrases that must not occur
    since: datetime | None = None  # aware UTC
    source: str | None = None
    about: bool = False
    lang: str | None = None
    event: str | None = None  # an event tag of bot/events.py
    after: str | None = None  # the paging cursor, opaque here
    corrections: tuple[tuple[str, str], ...] = ()  # (word as typed, company it was read as)
    problems: tuple[str, ...] = ()  # operators or values that could not be used, as typed

    @property
    def empty(self) -> bool:
        """Nothing to search for: filters and exclusions alone select nothing (an event tag does)."""
        return not (self.companies or self.terms or self.phrases or self.event)


class CompanyIndex:
    """Resolves words to company names through every name and alias, and corrects small typos."""

    def __init__(self, companies: Sequence[CompanyNames]):
        self._by_alias: dict[str, str] = {}
        ambiguous = builtin_senses().ambiguous
        for company in companies:
            for alias in (company.name, *company.aliases):
                text = alias if isinstance(alias, str) else alias.text
                self._by_alias.setdefault(normalize(text), company.name)
        # Typos are corrected only towards one-word, all-letter aliases of 6+ letters that are not
        # also ordinary words: "twiter" is Twitter, but "hair" must not become Haier.
        self._fuzzy = [
            (alias, name) for alias, name in self._by_alias.items()
            if len(alias) >= 6 and alias.isalpha() and alias not in ambiguous
            and not any(c.ambiguous for c in companies if c.name == name)
        ]

    def resolve(self, words: Sequence[str]) -> str | None:
        return self._by_alias.get(normalize(" ".join(words)))

    def correct(self, word: str) -> str | None:
        """The one company whose alias is a small typo away from `word`, or None."""
        folded = normalize(word)
        if len(folded) < 4 or not folded.isalpha() or folded in NOT_TYPOS:
            return None
        best, found = 3, set()
        for alias, name in self._fuzzy:
            allowed = 2 if len(alias) >= 9 else 1
            if abs(len(alias) - len(folded)) > allowed or alias[0] != folded[0]:
                continue
            distance = edit_distance(folded, alias, allowed)
            if distance <= allowed:
                if distance < best:
                    best, found = distance, {name}
                elif distance == best:
                    found.add(name)
        return found.pop() if len(found) == 1 else None


def edit_distance(a: str, b: str, bound: int) -> int:
    """Optimal-string-alignment distance (a swap of neighbours is one edit), or bound + 1 if larger."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > bound:
            return bound + 1
        previous2, previous = previous, current
    return previous[-1]


def tokens(text: str) -> list[str]:
    """Split on white space, keeping a quoted part (to the next quote or the end) in its token."""
    found: list[str] = []
    current: list[str] = []
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
            current.append(char)
        elif char.isspace() and not quoted:
            if current:
                found.append("".join(current))
                current = []
        else:
            current.append(char)
    if current:
        found.append("".join(current))
    return found


def parse_query(text: str, index: CompanyIndex, *, now: datetime | None = None) -> Query:
    """Parse `text` into a Query; `now` (aware) anchors relative windows such as `since:7d`."""
    text = text.replace("\x00", " ")
    words: list[str | None] = []  # plain words; None marks a break (a phrase or operator between)
    phrases: list[str] = []
    exclude: list[str] = []
    problems: list[str] = []
    options: dict[str, object] = {}
    for token in tokens(text):
        operator = _OPERATOR.match(token)
        if operator and not operator.group(2).startswith("//"):  # a link is a word, not an operator
            name, value = operator.group(1).lower(), _unquote(operator.group(2))
            if not _apply_operator(name, value, options, now):
                problems.append(token)
            elif name == "about" and value:
                words.extend([None, *value.split()])  # about:twitter also selects Twitter; about:x corp too
            continue
        if token.startswith("-") and len(token) > 1:
            excluded = _clean(_unquote(token[1:]))
            if excluded:
                exclude.append(excluded)
            continue
        if '"' in token:
            phrase = _clean(_unquote(token))  # quoted text is searched as text, never as a company
            if phrase:
                phrases.append(phrase)
            words.append(None)
            continue
        if token:
            words.append(token)
    companies, terms, corrections = _companies_and_terms(words, index)
    return Query(
        companies=tuple(companies), terms=tuple(dict.fromkeys(terms)), phrases=tuple(dict.fromkeys(phrases)),
        exclude=tuple(dict.fromkeys(exclude)), corrections=tuple(corrections), problems=tuple(problems),
        **options,  # type: ignore[arg-type]
    )


def _companies_and_terms(
    words: list[str | None], index: CompanyIndex
) -> tuple[list[str], list[str], list[tuple[str, str]]]:
    """Longest alias first over runs of plain words; then typos; the rest are terms."""
    companies: list[str] = []
    terms: list[str] = []
    corrections: list[tuple[str, str]] = []
    position = 0
    while position < len(words):
        if words[position] is None:
            position += 1
            continue
        run = []
        for word in words[position : position + LONGEST_ALIAS_WORDS]:
            if word is None:
                break
            run.append(word)
        for size in range(len(run), 0, -1):
            company = index.resolve(run[:size])
            if company is not None:
                if company not in companies:
                    companies.append(company)
                position += size
                break
        else:
            word = run[0]
            company = index.correct(word)
            if company is not None:
                if company not in companies:
                    companies.append(company)
                corrections.append((word, company))
            else:
                terms.append(word)
            position += 1
    return companies, terms, corrections


def _apply_operator(name: str, value: str, options: dict[str, object], now: datetime | None) -> bool:
    """Record a known operator's value in `options`; False when the operator or value is unusable."""
    if name == "since":
        since = parse_since(value, now)
        if since is None:
            return False
        options["since"] = since
    elif name == "source":
        if not value.strip():
            return False
        options["source"] = " ".join(value.split())
    elif name == "about":
        options["about"] = True
    elif name == "lang":
        lang = value.strip().lower()
        if not _LANG.match(lang):
            return False
        options["lang"] = lang
    elif name == "event":
        tag = tag_named(value)
        if tag is None:
            return False
        options["event"] = tag
    elif name == "after":
        if not _CURSOR.match(value):
            return False
        options["after"] = value
    else:
        return False
    return True


def parse_since(value: str, now: datetime | None) -> datetime | None:
    """`7d`, `12h`, `2w`, `3m`, `1y` before `now`, or a date `2026-01-01` (UTC midnight); None if unusable."""
    value = value.strip().lower()
    relative = _RELATIVE.match(value)
    if relative:
        if now is None:
            return None
        hours = int(relative.group(1)) * _UNIT_HOURS[relative.group(2)]
        try:
            return now.astimezone(timezone.utc) - timedelta(hours=hours)
        except OverflowError:
            return datetime(1970, 1, 1, tzinfo=timezone.utc)
    date = _DATE.match(value)
    if date:
        try:
            return datetime(*(int(part) for part in date.groups()), tzinfo=timezone.utc)
        except ValueError:
            return None
    return None


def _unquote(text: str) -> str:
    return text.replace('"', "")


def _clean(text: str) -> str:
    return " ".join(text.split())


def complete_companies(typed: str, names: Sequence[str], *, limit: int = 25) -> list[str]:
    """Completions of a half-typed lookup: its last word replaced by each tracked company
    name that word begins (then names that contain it), earlier words kept as typed."""
    head, _, last = typed.rpartition(" ")
    needle = last.strip().casefold()
    starts = [name for name in names if name.casefold().startswith(needle)]
    contains = [name for name in names if needle in name.casefold() and name not in starts]
    prefix = head.strip() + " " if head.strip() else ""
    return list(dict.fromkeys(prefix + name for name in starts + contains))[:limit]
