"""A short extractive summary of an article, centred on the companies it mentions.

Every sentence of a summary is copied verbatim from the article: nothing is invented. The
lead sentence comes first (it usually says what happened), then the earliest sentences that
name a matched company, in the article's order, within a character budget.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from itertools import chain, count, pairwise

from bot.text import shorten
from bot.models import Mention

MAX_CHARS = 400
MAX_SENTENCES = 3

# A sentence ends at . ! ? before white space, or at the full-width CJK terminators, which
# need no space after them; a closing quote or bracket right after the terminator belongs to
# the sentence (group 1 or 2 is the sentence's last part, the rest is separator).
_SENTENCE_END = re.compile(r"""([.!?]["'”’)\]]*)\s+|([。！？][”’」』）"']*)\s*|\n+""")
# Every match of _SENTENCE_END starts with one of these. The regex engine cannot skip ahead to
# them by itself (its alternatives start with groups): searching for them first is 4x faster.
_SENTENCE_END_START = re.compile(r"[.!?。！？\n]")
_ABBREVIATIONS = {"mr.", "mrs.", "ms.", "dr.", "inc.", "corp.", "co.", "ltd.", "st.", "u.s.", "e.g.", "i.e.", "vs."}
_LONGEST_ABBREVIATION = max(len(word) for word in _ABBREVIATIONS)


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Spans of the sentences of `text` (stripped), in order."""
    return list(_sentence_spans(text))


def _sentence_spans(text: str) -> Iterator[tuple[int, int]]:
    """`split_sentences`, one sentence at a time."""
    start = 0
    for match in _sentence_ends(text):
        end = match.end(1) if match.group(1) else match.end(2) if match.group(2) else match.start()
        if _ends_with_abbreviation(text, start, end):
            continue  # "Northwind Inc. said" is one sentence
        span = _strip_span(text, start, end)
        if span[0] < span[1]:
            yield span
        start = match.end()
    span = _strip_span(text, start, len(text))
    if span[0] < span[1]:
        yield span


class _Sentences:
    """The sentence spans of a text, split only as far as they are asked for: a summary needs
    the lead, those naming a company (none after the last mention) and a few to fill up."""

    def __init__(self, text: str):
        self._spans: list[tuple[int, int]] = []
        self._rest = _sentence_spans(text)

    def get(self, index: int) -> tuple[int, int] | None:
        """The span of sentence `index`, or None past the last sentence."""
        while len(self._spans) <= index:
            span = next(self._rest, None)
            if span is None:
                return None
            self._spans.append(span)
        return self._spans[index]


def _sentence_ends(text: str) -> Iterator[re.Match[str]]:
    """_SENTENCE_END.finditer(text), found faster."""
    position = 0
    while (found := _SENTENCE_END_START.search(text, position)) is not None:
        match = _SENTENCE_END.match(text, found.start())
        if match is None:
            position = found.start() + 1
        else:
            yield match
            position = match.end()  # never empty: each alternative takes a character


def _ends_with_abbreviation(text: str, start: int, end: int) -> bool:
    """Whether the last word of text[start:end] is an abbreviation ("Inc."), read backwards:
    a long run of "Mr. Mr. Mr." is not one sentence read again at every full stop."""
    while end > start and text[end - 1].isspace():
        end -= 1
    word_start = end
    while word_start > start and not text[word_start - 1].isspace():
        word_start -= 1
        if end - word_start > _LONGEST_ABBREVIATION:
            return False  # lower() never shortens a word: too long to be one
    return text[word_start:end].lower() in _ABBREVIATIONS


def _strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def summarize(text: str, mentions: Sequence[Mention], *, fallback: str = "", limit: int = MAX_CHARS) -> str:
    """Two or three sentences of `text`, preferring the lead and those naming a company.

    `mentions` are the company mentions found in `text` (field "text"); others are ignored.
    When `text` is empty the feed's `fallback` description is shortened instead.
    """
    sentences = _Sentences(text)
    if sentences.get(0) is None:
        return shorten(" ".join(fallback.split()), limit)
    mention_starts = sorted(m.start for m in mentions if m.field == "text")
    last_mention = mention_starts[-1] if mention_starts else -1
    naming: list[int] = []
    index = 0
    while (span := sentences.get(index)) is not None and span[0] <= last_mention:
        if _any_within(mention_starts, *span):
            naming.append(index)
        index += 1
    naming_set = set(naming)
    parts: dict[int, str] = {}  # each sentence on one line, made once however often it is tried

    def part(index: int) -> str:
        if index not in parts:
            start, end = sentences.get(index)  # type: ignore[misc]  # only indices that exist
            parts[index] = " ".join(text[start:end].split())
        return parts[index]

    chosen = [0]
    for index in chain(naming, count(1)):
        if len(chosen) == MAX_SENTENCES:
            break
        if index in chosen:
            continue
        if sentences.get(index) is None:
            break  # past the last sentence (the naming ones all exist)
        candidate = sorted([*chosen, index])
        if _joined_length([part(i) for i in candidate]) <= limit:
            chosen = candidate
        elif index in naming_set:
            continue  # a later, shorter sentence naming the company may still fit
        else:
            break
    summary = _join([part(i) for i in sorted(chosen)])
    return summary if len(summary) <= limit else shorten(summary, limit)


def _any_within(positions: list[int], start: int, end: int) -> bool:
    """Whether any of the sorted `positions` lies in [start, end)."""
    found = bisect_left(positions, start)
    return found < len(positions) and positions[found] < end


def _needs_space(before: str, after: str) -> bool:
    """Sentences are joined with a space, except around CJK full stops (which take none)."""
    return not (before[-1] in "。！？" or after[0] in "。！？")


def _joined_length(parts: list[str]) -> int:
    """len(_join(parts)), without building it."""
    return sum(map(len, parts)) + sum(_needs_space(a, b) for a, b in pairwise(parts))


def _join(parts: list[str]) -> str:
    joined = parts[0] if parts else ""
    for before, after in pairwise(parts):
        joined += (" " if _needs_space(before, after) else "") + after
    return joined
