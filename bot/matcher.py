"""Find tracked companies (and watchlist keywords) in article text, with exact spans.

All names and aliases are compiled once per config into one Aho-Corasick automaton
(pyahocorasick), so matching costs one pass over the text however many aliases there are.
Text and patterns are compared after NFKC normalisation and case folding; spans are mapped
back to the original string, so `text[m.start:m.end]` is always what was written.

Word boundaries: a pattern that starts (ends) with a letter or digit of a script written
with spaces must not be preceded (followed) by another such character, so "Meta" does not
match inside "metadata". Han, kana and Hangul have no spaces between words, so a CJK alias
matches as a substring, and a Latin name directly followed by CJK text ("Twitter等") still
counts as a whole word.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import ahocorasick

from bot.models import Field, Mention


def _is_cjk(char: str) -> bool:
    """True for characters of scripts that do not separate words with spaces."""
    code = ord(char)
    return (
        0x2E80 <= code <= 0x9FFF  # CJK radicals, kana, CJK unified ideographs, ...
        or 0xAC00 <= code <= 0xD7AF  # Hangul syllables
        or 0xF900 <= code <= 0xFAFF  # CJK compatibility ideographs
        or 0x20000 <= code <= 0x3FFFF  # CJK extensions B and later
    )


def is_word_char(char: str) -> bool:
    """True for characters that continue a word in a script written with spaces."""
    return (char.isalnum() or char == "_") and not _is_cjk(char)


def normalize(text: str) -> str:
    """The comparison form of a pattern: NFKC, case-folded, curly apostrophes made straight."""
    return unicodedata.normalize("NFKC", text).casefold().replace("\u2019", "'")


def normalize_with_offsets(text: str) -> tuple[str, list[int] | None]:
    """Normalise `text` and return, for each normalised character, its index in `text`.

    The offset list is None when normalisation kept every character in place (the common
    case, checked cheaply), so callers can use normalised indices directly.
    """
    folded = normalize(text)
    if len(folded) == len(text) and unicodedata.is_normalized("NFKC", text):
        return folded, None
    pieces: list[str] = []
    offsets: list[int] = []
    for index, char in enumerate(text):
        piece = normalize(char)
        pieces.append(piece)
        offsets.extend([index] * len(piece))
    return "".join(pieces), offsets


@dataclass(frozen=True)
class Hit:
    """One occurrence of a pattern: which key it stands for, and where, in original indices."""

    key: str  # the company name, or the keyword, the pattern belongs to
    pattern: str  # the pattern as configured
    start: int
    end: int


class PhraseMatcher:
    """Many phrases compiled into one automaton; `find` returns every whole-word occurrence."""

    def __init__(self, phrases: Iterable[tuple[str, str]]):
        """Compile (key, phrase) pairs. Phrases that normalise to nothing are ignored."""
        self._automaton = ahocorasick.Automaton()
        self._size = 0
        for key, phrase in phrases:
            folded = normalize(phrase).strip()
            if not folded:
                continue
            existing = self._automaton.get(folded, None)
            if existing is None:
                self._automaton.add_word(folded, [(key, phrase, len(folded))])
                self._size += 1
            elif all(k != key for k, _, _ in existing):
                existing.append((key, phrase, len(folded)))
        if self._size:
            self._automaton.make_automaton()

    def __len__(self) -> int:
        return self._size

    def find(self, text: str) -> list[Hit]:
        """Every whole-word occurrence in `text`, leftmost first, longest first at a position.

        Overlapping hits of different phrases are all returned (the caller decides); a
        shorter phrase inside a longer match of the same key is dropped, so "Xiaomi Corp"
        yields one hit, not two.
        """
        if not self._size or not text:
            return []
        folded, offsets = normalize_with_offsets(text)
        hits: list[Hit] = []
        for end_index, candidates in self._automaton.iter(folded):
            for key, pattern, length in candidates:
                start = end_index - length + 1
                end = end_index + 1
                if not _whole_word(folded, start, end):
                    continue
                if offsets is None:
                    hits.append(Hit(key, pattern, start, end))
                else:
                    hits.append(Hit(key, pattern, offsets[start], offsets[end - 1] + 1))
        hits.sort(key=lambda h: (h.start, -(h.end - h.start)))
        return _drop_nested_same_key(hits)


def _whole_word(folded: str, start: int, end: int) -> bool:
    """True when the match is not glued to letters of a space-separated script on either side."""
    if is_word_char(folded[start]) and start > 0 and is_word_char(folded[start - 1]):
        return False
    if is_word_char(folded[end - 1]) and end < len(folded) and is_word_char(folded[end]):
        return False
    return True


def _drop_nested_same_key(hits: list[Hit]) -> list[Hit]:
    kept: list[Hit] = []
    for hit in hits:
        if any(k.key == hit.key and k.start <= hit.start and hit.end <= k.end for k in kept):
            continue
        kept.append(hit)
    return kept


@dataclass(frozen=True)
class CompanyNames:
    """A company as the matcher needs it: its name and every alias."""

    name: str
    aliases: tuple[str, ...] = ()


class CompanyMatcher:
    """All tracked companies compiled together; `find` turns a title and text into mentions."""

    def __init__(self, companies: Sequence[CompanyNames]):
        self.companies = tuple(companies)
        self._phrases = PhraseMatcher(
            (company.name, alias) for company in companies for alias in (company.name, *company.aliases)
        )

    def find(self, title: str, text: str) -> list[Mention]:
        """Mentions in the title, then in the text, each with the alias and exact span."""
        mentions: list[Mention] = []
        for field_name, value in (("title", title), ("text", text)):
            field: Field = field_name  # type: ignore[assignment]
            mentions.extend(
                Mention(hit.key, hit.pattern, field, hit.start, hit.end)
                for hit in self._phrases.find(value)
            )
        return mentions


def companies_by_mentions(mentions: Sequence[Mention]) -> tuple[str, ...]:
    """Companies named in `mentions`, most-mentioned first (a title mention counts double)."""
    counts: dict[str, int] = {}
    for mention in mentions:
        counts[mention.company] = counts.get(mention.company, 0) + (2 if mention.field == "title" else 1)
    return tuple(sorted(counts, key=lambda name: (-counts[name], name)))
