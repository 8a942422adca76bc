"""What kind of event a story reports (funding, acquisition, launch, ...): its event tags.

The lexicon is `bot/data/events.yaml`: phrases per tag in several languages, compiled once into
one `PhraseMatcher` (whole words in spaced scripts, substrings in Chinese and Japanese, after
NFKC and case folding). Where phrases overlap, the leftmost and then the longest wins, so a
longer phrase decides: "launched an investigation" is legal, not a launch, and phrases under
`not_events` ("customer acquisition", "上市公司") hide the tag phrases inside them. A phrase
written with "…" allows a few words between its parts ("names … as ceo", "进入…市场").

Precision matters more than recall: a tag must say what the story is about. So only the title
and the lead (the first three sentences) count; the rest of the text is not read. A story is
about what its headline and first paragraph say; further down, background ("the 2019
acquisition of ...", "a lawsuit dismissed last year") and asides are the rule, and counting
repeated hits there would tag long features with whatever they dwell on.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources

from ruamel.yaml import YAML

from bot.furniture import furniture_reason
from bot.matcher import Hit, PhraseMatcher
from bot.text import is_cjk

EVENT_TAGS: tuple[str, ...] = (
    "funding",
    "acquisition",
    "launch",
    "partnership",
    "leadership",
    "layoffs",
    "legal",
    "earnings",
    "expansion",
)

_LABELS = {
    "funding": "Funding",
    "acquisition": "Acquisition / merger",
    "launch": "Product launch",
    "partnership": "Partnership",
    "leadership": "Leadership change",
    "layoffs": "Layoffs",
    "legal": "Legal / regulatory",
    "earnings": "Earnings",
    "expansion": "Market expansion",
}

LEAD_SENTENCES = 3
LEAD_LIMIT = 800  # characters: the lead of a text without sentence punctuation
GAP = "…"
GAP_WORDS = 4  # words of a spaced script allowed where a phrase has "…"
GAP_CJK = 10  # Chinese or Japanese characters allowed there
# A gap stays inside one clause: no clause punctuation ("1,200", "5.5" and "U.S." are not), no new clause.
_CLAUSE_BREAK = re.compile(r"[;:!?\n，；：！？。、]|,(?!\d)|(?<!\b\w)\.(?!\w)")
_CONNECTIVES = frozenset(
    "and or but to for with which that who while after before because if when than not".split()
)
_GAP_WORD = re.compile(r"\d[\d.,]*|[^\W\d_]+")
_SENTENCE_END = re.compile(r"[.!?]+(?=[\s\"'”’)\]]|$)|[。！？]+|\n")


# ---------------------------------------------------------------- the API


def event_tags(title: str, text: str) -> tuple[str, ...]:
    """The event tags of a story, in canonical order."""
    return tuple(event_evidence(title, text))


def event_evidence(title: str, text: str) -> dict[str, tuple[str, ...]]:
    """Each tag of the story, in canonical order, with the phrases that gave it (as in the lexicon)."""
    lexicon = _lexicon()
    found: dict[str, list[str]] = {}
    for part in (title or "", lead(text or "")):
        for tag, phrase in lexicon.tags_in(part):
            phrases = found.setdefault(tag, [])
            if phrase not in phrases:
                phrases.append(phrase)
    return {tag: tuple(found[tag]) for tag in EVENT_TAGS if tag in found}


def tag_label(tag: str) -> str:
    """A short human label for a tag ("Acquisition / merger"); the tag itself if unknown."""
    return _LABELS.get(tag, tag)


def tag_named(word: str) -> str | None:
    """The tag a user means by `word` in `/intel event:<word>`: a tag name, or a synonym
    (merger, m&a, ipo, launches, lawsuit, results, 融资 ...), any case; None if unknown."""
    return _lexicon().names.get(_name_key(word))


def lead(text: str) -> str:
    """The first three sentences of `text`, past page furniture ("Read more: ...", credits).

    Headings, bylines and abbreviations ("U.S.") do not count as sentences; a text without
    sentence punctuation is cut after about LEAD_LIMIT characters.
    """
    kept: list[str] = []
    size = 0
    for line in text[: LEAD_LIMIT * 8].splitlines():
        if size >= LEAD_LIMIT:
            break
        if line.strip() and furniture_reason(line) is None:
            kept.append(line)
            size += len(line) + 1
    story = "\n".join(kept)
    sentences = 0
    start = 0
    for end_mark in _SENTENCE_END.finditer(story, 0, LEAD_LIMIT):
        if _is_sentence(story[start : end_mark.start()]):
            sentences += 1
            if sentences == LEAD_SENTENCES:
                return story[: end_mark.end()]
        start = end_mark.end()
    if len(story) <= LEAD_LIMIT:
        return story
    cut = story.rfind(" ", 0, LEAD_LIMIT)
    return story[: cut if cut > LEAD_LIMIT // 2 else LEAD_LIMIT]


# ---------------------------------------------------------------- the lexicon


@dataclass(frozen=True)
class _Gapped:
    """A phrase with a gap: its parts are phrases of the matcher, keyed '<n' and '>n'."""

    tag: str
    phrase: str


@dataclass(frozen=True)
class _Lexicon:
    matcher: PhraseMatcher  # keys: a tag, "" (not an event), "<n" / ">n" (parts of gapped[n])
    gapped: tuple[_Gapped, ...]
    names: dict[str, str]  # what users may type, normalised, to its tag

    def tags_in(self, text: str) -> list[tuple[str, str]]:
        """(tag, phrase) for every tag phrase in `text`, gapped phrases included."""
        found = []
        heads: dict[str, Hit] = {}  # the latest first part of each gapped phrase
        for hit in self.matcher.find(text):
            if hit.key in EVENT_TAGS:
                found.append((hit.key, hit.pattern))
            elif hit.key.startswith("<"):
                heads[hit.key[1:]] = hit
            elif hit.key.startswith(">"):
                head = heads.get(hit.key[1:])
                if head is not None and head.end <= hit.start and _fits_gap(text[head.end : hit.start]):
                    gapped = self.gapped[int(hit.key[1:])]
                    found.append((gapped.tag, gapped.phrase))
        return found


def _fits_gap(between: str) -> bool:
    """True when the text between the parts of a gapped phrase is a few words of one clause.

    Chinese and Japanese parts need something between them: "谈判与合作" is "talks and
    cooperation", not "与…合作" (working with someone).
    """
    if not between or len(between) > 80 or _CLAUSE_BREAK.search(between):
        return False
    cjk = sum(1 for char in between if is_cjk(char))
    words = _GAP_WORD.findall("".join(" " if is_cjk(char) else char for char in between))
    return cjk <= GAP_CJK and len(words) <= GAP_WORDS and not any(w.casefold() in _CONNECTIVES for w in words)


def _is_sentence(text: str) -> bool:
    """Long enough to be a sentence of the story rather than a heading, byline or abbreviation."""
    return len(text.split()) >= 4 or sum(1 for char in text if is_cjk(char)) >= 8


def _name_key(word: str) -> str:
    folded = unicodedata.normalize("NFKC", word or "").casefold()
    return " ".join(re.split(r"[\s_/-]+", folded.strip(" \"'“”"))).strip()


@cache
def _lexicon() -> _Lexicon:
    """The packaged lexicon, compiled once."""
    text = resources.files("bot.data").joinpath("events.yaml").read_text(encoding="utf-8")
    data = YAML(typ="safe").load(text)
    if list(data["events"]) != list(EVENT_TAGS):
        raise ValueError(f"events.yaml lists tags {list(data['events'])}, expected {list(EVENT_TAGS)}")
    entries: list[tuple[str, str]] = []
    gapped: list[_Gapped] = []
    for tag, phrases in data["events"].items():
        for phrase in phrases:
            phrase = str(phrase).replace("...", GAP)
            if GAP not in phrase:
                entries.append((tag, phrase))
                continue
            head, tail = (part.strip() for part in phrase.split(GAP, 1))
            if not head or not tail or GAP in tail:
                raise ValueError(f"events.yaml: {phrase!r} needs words on both sides of one {GAP}")
            number = len(gapped)
            gapped.append(_Gapped(tag, phrase))
            entries += [(f"<{number}", head), (f">{number}", tail)]
    entries += [("", str(phrase)) for phrase in data["not_events"]]
    names = {tag: tag for tag in EVENT_TAGS}
    for tag, words in data["names"].items():
        for word in words:
            names[_name_key(str(word))] = tag
    return _Lexicon(PhraseMatcher(entries), tuple(gapped), names)
