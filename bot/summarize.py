"""A short extractive summary of an article, centred on the companies it mentions.

Every sentence of a summary is copied verbatim from the article: nothing is invented. The
lead sentence comes first (it usually says what happened), then the earliest sentences that
name a matched company, in the article's order, within a character budget.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.text import shorten
from bot.models import Mention

MAX_CHARS = 400
MAX_SENTENCES = 3

# A sentence ends at . ! ? before white space, or at the full-width CJK terminators, which
# need no space after them; a closing quote or bracket right after the terminator belongs to
# the sentence (group 1 or 2 is the sentence's last part, the rest is separator).
_SENTENCE_END = re.compile(r"""([.!?]["'”’)\]]*)\s+|([。！？][”’」』）"']*)\s*|\n+""")
_ABBREVIATIONS = {"mr.", "mrs.", "ms.", "dr.", "inc.", "corp.", "co.", "ltd.", "st.", "u.s.", "e.g.", "i.e.", "vs."}


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Spans of the sentences of `text` (stripped), in order."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        end = match.end(1) if match.group(1) else match.end(2) if match.group(2) else match.start()
        words = text[start:end].split()
        if words and words[-1].lower() in _ABBREVIATIONS:
            continue  # "Northwind Inc. said" is one sentence
        spans.append((start, end))
        start = match.end()
    spans.append((start, len(text)))
    return [_strip_span(text, s, e) for s, e in spans if text[s:e].strip()]


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
    sentences = split_sentences(text)
    if not sentences:
        return shorten(" ".join(fallback.split()), limit)
    mention_starts = sorted(m.start for m in mentions if m.field == "text")
    naming = [
        index
        for index, (start, end) in enumerate(sentences)
        if any(start <= position < end for position in mention_starts)
    ]
    chosen = [0]
    for index in naming + list(range(1, len(sentences))):
        if len(chosen) == MAX_SENTENCES:
            break
        if index in chosen:
            continue
        candidate = sorted([*chosen, index])
        if len(_join(text, sentences, candidate)) <= limit:
            chosen = candidate
        elif index in naming:
            continue  # a later, shorter sentence naming the company may still fit
        else:
            break
    summary = _join(text, sentences, sorted(chosen))
    return summary if len(summary) <= limit else shorten(summary, limit)


def _join(text: str, sentences: list[tuple[int, int]], indices: list[int]) -> str:
    parts = [" ".join(text[sentences[i][0] : sentences[i][1]].split()) for i in indices]
    joined = ""
    for part in parts:
        if joined and not (joined[-1] in "。！？" or part[0] in "。！？"):
            joined += " "
        joined += part
    return joined
