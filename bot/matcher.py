"""Find tracked companies in an article: which names, where, why, and whether it is about them.

All names and aliases of all companies are compiled once per config into one Aho-Corasick
automaton (ahocorasick-rs); matching an article is one scan per field plus a decision for each
candidate, a pure function of (compiled companies, title, text). Text and patterns are
compared after NFKC normalisation and case folding; spans are mapped back to the original
string, so `text[m.start:m.end]` is always what was written.

A candidate becomes a mention only if it is a whole word (CJK names need no boundaries; a
possessive or plural ending is allowed: Twitter's, Samsungs, Googlers), is not inside a link
or domain, a line of code or page furniture (share bars, credits, "Read more:" links), and,
for names that are also ordinary words (`bot/data/senses.yaml`, or `ambiguous: true` in
config) or very short (X, IG), has evidence that it means the company: written as a name,
company words nearby, or another name of the same company in the story. Every candidate
keeps the reason it was kept or dropped, for `intelbot match --explain` and `/intel why`.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Literal

import ahocorasick_rs
from ruamel.yaml import YAML

from bot.furniture import furniture_reason, in_contact_sentence, looks_like_code
from bot.models import Field, Mention
from bot.salience import CompanyMatch, salience
from bot.text import is_cjk as _is_cjk
from bot.text import is_word_char

CaseRule = Literal["auto", "exact", "any"]
SUFFIXES = ("s", "es", "r", "rs", "er", "ers")  # Samsungs, Googlers, IBMers (Twitter's needs none)
WINDOW = 100  # characters either side of a name in which context words count


def normalize(text: str) -> str:
    """The comparison form of a pattern: NFKC, case-folded, curly apostrophes made straight."""
    if not unicodedata.is_normalized("NFKC", text):  # a quick check: most text already is
        text = unicodedata.normalize("NFKC", text)
    return text.casefold().replace("\u2019", "'")


class _FoldTable(dict):
    """str.translate table: each character to its normalised form, computed once per character."""

    def __missing__(self, code: int) -> str:
        folded = normalize(chr(code))
        self[code] = folded
        return folded


_FOLD = _FoldTable()


def normalize_with_offsets(text: str) -> tuple[str, list[int] | None]:
    """Normalise `text` and return, for each normalised character, its index in `text`.

    The offset list is None when normalisation kept every character in place (the common
    case), so callers can use normalised indices directly. Characters are normalised one at
    a time (a table lookup in C), which keeps spans exact; composed sequences such as
    "e" + U+0301 stay two characters, which matters only for names written that way.
    """
    if text.isascii():
        return text.lower(), None
    folded = normalize(text)
    if len(folded) == len(text):
        # Same length: every character was mapped to one character (full-width letters,
        # punctuation, case), so positions line up. Compositions that shorten and
        # decompositions that lengthen could cancel out; the character-wise path below
        # is exact, and is taken whenever the lengths differ.
        return folded, None
    pieces: list[str] = []
    offsets: list[int] = []
    for index, char in enumerate(text):
        piece = _FOLD[ord(char)]
        pieces.append(piece)
        offsets.extend([index] * len(piece))
    return "".join(pieces), offsets


# ---------------------------------------------------------------- the values


@dataclass(frozen=True)
class AliasSpec:
    """One name of a company and how strictly its case must match."""

    text: str
    case: CaseRule = "auto"


@dataclass(frozen=True)
class CompanyNames:
    """A company as the matcher needs it (built from config by `company_names_of`)."""

    name: str
    aliases: tuple[str | AliasSpec, ...] = ()
    context: tuple[str, ...] = ()  # words that, nearby, show a name means this company
    exclude: tuple[str, ...] = ()  # phrases in which a name does not mean this company
    ambiguous: bool | None = None  # None: the built-in list of common words decides
    links: bool = False  # a name inside a link or domain counts as a mention


@dataclass(frozen=True)
class Candidate:
    """One occurrence of a name, kept as a mention or dropped, with the reason."""

    company: str
    alias: str
    field: Field
    start: int
    end: int
    surface: str  # the text as written
    kept: bool
    reason: str


@dataclass(frozen=True)
class MatchResult:
    """Everything matching found in one article."""

    mentions: tuple[Mention, ...]
    companies: tuple[CompanyMatch, ...]  # most salient first
    candidates: tuple[Candidate, ...] = field(default=(), repr=False)

    @property
    def rejected(self) -> tuple[Candidate, ...]:
        return tuple(c for c in self.candidates if not c.kept)

    def company(self, name: str) -> CompanyMatch | None:
        return next((c for c in self.companies if c.company == name), None)


# ---------------------------------------------------------------- phrases


@dataclass(frozen=True)
class Hit:
    """One occurrence of a phrase: which key it stands for, and where, in original indices."""

    key: str
    pattern: str
    start: int
    end: int


class PhraseMatcher:
    """Many phrases in one automaton; `find` returns whole-word occurrences (CJK: anywhere)."""

    def __init__(self, phrases: Iterable[tuple[str, str]]):
        self._entries: dict[str, list[tuple[str, str]]] = {}
        for key, phrase in phrases:
            folded = normalize(phrase).strip()
            if not folded:
                continue
            entries = self._entries.setdefault(folded, [])
            if all(k != key for k, _ in entries):
                entries.append((key, phrase))
        self._patterns = list(self._entries)
        self._automaton = (
            _automaton(self._patterns) if self._patterns else None
        )

    def __len__(self) -> int:
        return len(self._patterns)

    def find(self, text: str) -> list[Hit]:
        if self._automaton is None or not text:
            return []
        folded, offsets = normalize_with_offsets(text)
        hits = []
        for index, start, end in self._automaton.find_matches_as_indexes(folded):
            if whole_word(folded, start, end) is None:
                continue
            if offsets is not None:
                start, end = offsets[start], offsets[end - 1] + 1
            hits.extend(Hit(key, phrase, start, end) for key, phrase in self._entries[self._patterns[index]])
        return hits

    def contains(self, text: str) -> str | None:
        """The first phrase found in `text`, or None."""
        hits = self.find(text)
        return hits[0].pattern if hits else None


def _automaton(patterns: list[str]) -> ahocorasick_rs.AhoCorasick:
    # A DFA takes longer to build and scans faster (measured 58 against 40 MB/s at 10k names).
    implementation = ahocorasick_rs.Implementation.DFA if len(patterns) <= 100_000 else None
    return ahocorasick_rs.AhoCorasick(
        patterns, matchkind=ahocorasick_rs.MatchKind.LeftmostLongest, implementation=implementation
    )


def whole_word(folded: str, start: int, end: int) -> int | None:
    """The end of the word if [start, end) is a whole word, allowing a plural/possessive ending.

    Returns None when the match is glued to letters of a space-separated script.
    """
    if start > 0 and is_word_char(folded[start]) and is_word_char(folded[start - 1]):
        return None
    if end == len(folded) or not is_word_char(folded[end - 1]) or not is_word_char(folded[end]):
        return end  # "Twitter's" ends here too: the apostrophe is not a word character
    if end - start < 3 or folded[end] not in "ser":
        return None  # "Xs" and "IGs" are other words
    for suffix in SUFFIXES:
        stop = end + len(suffix)
        if folded.startswith(suffix, end) and (stop == len(folded) or not is_word_char(folded[stop])):
            return stop
    return None


# ---------------------------------------------------------------- built-in senses


@dataclass(frozen=True)
class Senses:
    company_cues: tuple[str, ...]
    ambiguous: dict[str, tuple[str, ...]]
    capitalised_senses: frozenset[str] = frozenset()
    name_cues: dict[str, tuple[str, ...]] = field(default_factory=dict)


@cache
def builtin_senses() -> Senses:
    """The shipped lexicon of company cue words and names that are also ordinary words."""
    text = resources.files("bot.data").joinpath("senses.yaml").read_text(encoding="utf-8")
    data = YAML(typ="safe").load(text)
    return Senses(
        company_cues=tuple(str(cue) for cue in data["company_cues"]),
        ambiguous={normalize(str(word)): tuple(str(c) for c in cues) for word, cues in data["ambiguous"].items()},
        capitalised_senses=frozenset(normalize(str(word)) for word in data.get("capitalised_senses", ())),
        name_cues={normalize(str(name)): tuple(str(c) for c in cues)
                   for name, cues in (data.get("name_cues") or {}).items()},
    )


# ---------------------------------------------------------------- compiling


@cache
def _cue_matcher(cues: tuple[str, ...]) -> PhraseMatcher:
    """One matcher per list of cue words, shared by every company and config that uses it."""
    return PhraseMatcher((cue, cue) for cue in cues)


Kind = Literal["plain", "ambiguous", "short"]


@dataclass(frozen=True)
class _Pattern:
    company: int  # index into CompanyMatcher.companies
    alias: str
    case: CaseRule
    kind: Kind
    other_senses: PhraseMatcher | None
    capital_is_evidence: bool = True
    own_cues: PhraseMatcher | None = None  # the lexicon's cues for this name (name_cues)


def _kind(alias: str, folded: str, company: CompanyNames, case: CaseRule, senses: Senses) -> Kind:
    if case == "any":
        return "plain"
    if len(folded) <= 2 and not any(_is_cjk(c) for c in folded):
        return "short"
    single_word = " " not in folded and not any(c.isdigit() or c in ".&-" for c in folded)
    internal_capitals = any(c.isupper() for c in alias[1:]) and not alias.isupper()
    if not single_word or internal_capitals:
        return "plain"  # "Meta Platforms", "WhatsApp", "Amazon.com": nothing else is called that
    if company.ambiguous is not None:
        return "ambiguous" if company.ambiguous else "plain"
    return "ambiguous" if folded in senses.ambiguous else "plain"


class CompanyMatcher:
    """All tracked companies compiled together; `match` turns a title and text into mentions."""

    def __init__(self, companies: Sequence[CompanyNames], *, senses: Senses | None = None):
        self.companies = tuple(companies)
        senses = senses or builtin_senses()
        self._patterns: list[list[_Pattern]] = []
        strings: list[str] = []
        index_of: dict[str, int] = {}
        for number, company in enumerate(self.companies):
            aliases = [AliasSpec(company.name)] + [
                a if isinstance(a, AliasSpec) else AliasSpec(a) for a in company.aliases
            ]
            for alias in aliases:
                folded = normalize(alias.text).strip()
                if not folded:
                    continue
                kind = _kind(alias.text, folded, company, alias.case, senses)
                cues = senses.ambiguous.get(folded, ())
                name_cues = senses.name_cues.get(folded, ())
                pattern = _Pattern(number, alias.text, alias.case, kind,
                                   _cue_matcher(cues) if kind != "plain" and cues else None,
                                   folded not in senses.capitalised_senses,
                                   _cue_matcher(name_cues) if kind != "plain" and name_cues else None)
                if folded not in index_of:
                    index_of[folded] = len(strings)
                    strings.append(folded)
                    self._patterns.append([])
                slot = self._patterns[index_of[folded]]
                if all(p.company != number for p in slot):
                    slot.append(pattern)
        self._automaton = _automaton(strings) if strings else None
        self._shared_cues = _cue_matcher(senses.company_cues)
        self._own_cues = [PhraseMatcher((c, c) for c in company.context) if company.context else None
                          for company in self.companies]
        self._excludes = [PhraseMatcher((p, p) for p in company.exclude) if company.exclude else None
                          for company in self.companies]

    def __len__(self) -> int:
        return len(self._patterns)

    def find(self, title: str, text: str) -> list[Mention]:
        """The kept mentions, title first (see `match` for the full result)."""
        return list(self.match(title, text).mentions)

    def match(self, title: str, text: str) -> MatchResult:
        """Mentions, per-company salience and every candidate's reason, for one article."""
        candidates: list[Candidate] = []
        pending: list[tuple[Candidate, bool]] = []  # undecided: (candidate, needs a non-short name)
        for field_name, value in (("title", title), ("text", text)):
            for candidate, verdict in self._candidates(field_name, value):  # type: ignore[arg-type]
                if verdict == "weak" or verdict == "weak-short":
                    pending.append((candidate, verdict == "weak-short"))
                else:
                    candidates.append(candidate)
        candidates += self._settle(candidates, pending)
        candidates.sort(key=lambda c: (c.field != "title", c.start))
        mentions = tuple(Mention(c.company, c.alias, c.field, c.start, c.end) for c in candidates if c.kept)
        return MatchResult(mentions, salience(mentions, text), tuple(candidates))

    def _settle(self, decided: list[Candidate], pending: list[tuple[Candidate, bool]]) -> list[Candidate]:
        """Weak candidates count when the company is named with confidence elsewhere."""
        confident = {c.company for c in decided if c.kept}
        confident_long = {c.company for c in decided if c.kept and len(normalize(c.alias)) > 2}
        settled = []
        for candidate, needs_long_name in pending:
            backed = candidate.company in (confident_long if needs_long_name else confident)
            reason = (
                f"{candidate.reason}; kept: the company is named elsewhere in the story" if backed
                else f"{candidate.reason}; dropped: no other evidence it means the company"
            )
            settled.append(_with(candidate, kept=backed, reason=reason))
        return settled

    def _candidates(self, field_name: Field, text: str) -> Iterable[tuple[Candidate, str]]:
        if self._automaton is None or not text:
            return
        folded, offsets = normalize_with_offsets(text)
        hits: list[tuple[int, int, int]] = []  # (pattern slot, start, end) in original indices
        for index, start, end in self._automaton.find_matches_as_indexes(folded):
            # Most raw hits of a large name list sit inside longer words: reject those cheaply.
            if start and folded[start - 1].isalnum() and folded[start].isalnum() and folded[start - 1] < "\u2e80":
                continue
            if whole_word(folded, start, end) is None:
                continue
            if offsets is not None:
                start, end = offsets[start], offsets[end - 1] + 1
            hits.append((index, start, end))
        # Where each company is named in this field: a name beside other companies' names
        # ("Google Stadia, Microsoft xCloud, Apple Arcade") is a company in a list of companies.
        named_at = [(p.company, start) for index, start, _ in hits for p in self._patterns[index]]
        layout = _Layout(text, named_at)
        for index, start, end in hits:
            for pattern in self._patterns[index]:
                company = self.companies[pattern.company]
                candidate = Candidate(company.name, pattern.alias, field_name, start, end, text[start:end], True, "")
                verdict, reason = self._judge(pattern, candidate, text, layout)
                yield _with(candidate, kept=verdict == "keep", reason=reason), verdict

    def _judge(self, pattern: _Pattern, candidate: Candidate, text: str, layout: _Layout) -> tuple[str, str]:
        """("keep" | "drop" | "weak" | "weak-short", reason) for one candidate."""
        start, end, surface = candidate.start, candidate.end, candidate.surface
        name = f"'{surface}'"
        in_link = _in_link(text, start, end)
        if in_link and not self.companies[pattern.company].links:
            return "drop", f"{name} dropped: part of a link or domain"
        line_start, line_end = layout.line(start, end)
        line_reason = layout.line_reason(line_start, line_end)
        if line_reason:
            return "drop", f"{name} dropped: in {line_reason}"
        if layout.in_contact_sentence(start, end):
            return "drop", f"{name} dropped: in a follow or contact line"
        window = text[max(line_start, start - WINDOW) : min(line_end, end + WINDOW)]
        excludes = self._excludes[pattern.company]
        offset = max(line_start, start - WINDOW)
        for hit in excludes.find(window) if excludes is not None else ():
            if hit.start + offset <= start and end <= hit.end + offset:
                return "drop", f"{name} dropped: in the excluded phrase '{hit.pattern}'"
        if pattern.case == "exact" and unicodedata.normalize("NFKC", surface) != pattern.alias:
            return "drop", f"{name} dropped: written differently from '{pattern.alias}' (case: exact)"
        if in_link:
            return "keep", f"{name} kept: a link or domain, and {candidate.company} counts links"
        if pattern.kind == "plain":
            return "keep", f"{name} kept: a name of {candidate.company}"
        neighbour = layout.neighbour(pattern.company, start, line_start, line_end)
        return self._judge_ambiguous(pattern, candidate, text, window, layout, neighbour)

    def _own_cue_near(self, pattern: _Pattern, window: str) -> str | None:
        """The first of the company's own context words (config), or the name's cues (lexicon), in `window`."""
        for cues in (self._own_cues[pattern.company], pattern.own_cues):
            found = cues.contains(window) if cues is not None else None
            if found:
                return found
        return None

    def _cue_near(self, pattern: _Pattern, window: str) -> str | None:
        """The first company cue in `window`: the company's own context words, then the shared ones."""
        return self._own_cue_near(pattern, window) or self._shared_cues.contains(window)

    def _judge_ambiguous(self, pattern: _Pattern, candidate: Candidate, text: str,
                         window: str, layout: _Layout, neighbour: int | None) -> tuple[str, str]:
        start, surface = candidate.start, candidate.surface
        name = f"'{surface}'"
        cjk = any(_is_cjk(c) for c in surface)
        if pattern.kind == "short":
            if surface != pattern.alias:
                return "drop", f"{name} dropped: a short name must be written exactly '{pattern.alias}'"
            if _part_of_product_name(text, candidate.start, candidate.end, layout.line(start, candidate.end)[0]):
                return "drop", f"{name} dropped: part of another name or model number"
        elif not cjk and surface.islower() and not pattern.alias.islower():
            return "drop", f"{name} dropped: lower-case common word"
        if pattern.other_senses is not None:
            other = pattern.other_senses.contains(window)
            if other:
                return "drop", f"{name} dropped: '{other}' nearby shows another sense"
        if _after_number(text, start, candidate.end):
            return "drop", f"{name} dropped: a quantity or unit, not the company"
        if pattern.kind == "short":
            # Generic company words are too common near a stray letter: only the company's
            # own context words (config) or its other names (settled later) count.
            own = self._own_cue_near(pattern, window)
            if own:
                return "keep", f"{name} kept: '{own}' nearby"
            return "weak-short", f"{name} is a short name"
        cue = self._cue_near(pattern, window)
        if cue and normalize(cue) != normalize(surface):
            return "keep", f"{name} kept: company context '{cue}' nearby"
        price = _PRICE.search(window)
        if price:
            return "keep", f"{name} kept: a price nearby ('{price.group()}'): commerce"
        if neighbour is not None:
            return "keep", f"{name} kept: named beside {self.companies[neighbour].name}"
        if not cjk and pattern.capital_is_evidence and _written_as_name(text, candidate, layout):
            return "keep", f"{name} kept: capitalised as a name inside a sentence"
        return "weak", f"{name} is also a common word"


class _Layout:
    """The lines and sentences of one field's text, for judging its candidates.

    Judging a candidate looks at its whole line and its whole sentence. Finding and reading
    them anew for each candidate made a long text without line or sentence breaks quadratic
    ("Globex " x 8,000 took 17 s); here the breaks are found once per field, by bisection,
    and what depends only on a line or a sentence is worked out once for it.
    """

    def __init__(self, text: str, named_at: list[tuple[int, int]]):
        self._text = text
        self._named_at = named_at  # (company, start), by start
        self._named_starts = [at for _, at in named_at]
        self._newlines: list[int] | None = None
        self._sentence_ends: list[int] | None = None
        self._line_reasons: dict[int, str | None] = {}
        self._contact: dict[tuple[int, int], bool] = {}
        self._title_case: dict[int, bool] = {}

    def line(self, start: int, end: int) -> tuple[int, int]:
        """(start, end) of the line around [start, end): after the last newline before `start`,
        up to the first newline from `end` on."""
        if self._newlines is None:
            self._newlines = [m.start() for m in _NEWLINE.finditer(self._text)]
        newlines = self._newlines
        before = bisect_left(newlines, start)
        after = bisect_left(newlines, end)
        return (newlines[before - 1] + 1 if before else 0,
                newlines[after] if after < len(newlines) else len(self._text))

    def line_reason(self, line_start: int, line_end: int) -> str | None:
        """Why the line is not article text (code, page furniture), or None."""
        if line_start not in self._line_reasons:
            line = self._text[line_start:line_end]
            self._line_reasons[line_start] = "a line of code" if looks_like_code(line) else furniture_reason(line)
        return self._line_reasons[line_start]

    def in_contact_sentence(self, start: int, end: int) -> bool:
        """bot.furniture.in_contact_sentence(text, start, end), each sentence read once."""
        if self._sentence_ends is None:
            self._sentence_ends = [m.start() for m in _SENTENCE_MARK.finditer(self._text)]
        ends = self._sentence_ends
        before = bisect_left(ends, start)
        after = bisect_left(ends, end)
        low = ends[before - 1] + 1 if before else 0
        high = ends[after] if after < len(ends) else len(self._text)
        if (low, high) not in self._contact:
            # The sentence alone holds no mark before `start` or from `end` on: the function
            # takes all of it, as it would have in the whole text.
            self._contact[low, high] = in_contact_sentence(self._text[low:high], start - low, end - low)
        return self._contact[low, high]

    def neighbour(self, company: int, start: int, line_start: int, line_end: int) -> int | None:
        """The first other company named on the line within WINDOW // 2 characters of `start`."""
        starts = self._named_starts
        for position in range(bisect_left(starts, start - WINDOW // 2), bisect_right(starts, start + WINDOW // 2)):
            other, at = self._named_at[position]
            if other != company and line_start <= at < line_end:
                return other
        return None

    def title_case(self, line_start: int, line_end: int) -> bool:
        """Whether the line is a Title Case Heading: four words or more, 70 % of them capitalised."""
        if line_start not in self._title_case:
            words = _LETTER_WORD.findall(self._text, line_start, line_end)
            capitalised = sum(1 for w in words if w[0].isupper())
            self._title_case[line_start] = len(words) >= 4 and capitalised * 10 >= len(words) * 7
        return self._title_case[line_start]


_NEWLINE = re.compile("\n")
_SENTENCE_MARK = re.compile(r"[.!?\n]")  # what bot.furniture.in_contact_sentence ends a sentence at
_LETTER_WORD = re.compile(r"[^\W\d_]+")


def _with(candidate: Candidate, *, kept: bool, reason: str) -> Candidate:
    return Candidate(candidate.company, candidate.alias, candidate.field, candidate.start, candidate.end,
                     candidate.surface, kept, reason)


_LINK_TOKEN = re.compile(r"(?:://|^www\.|@[\w.-]+\.\w|\.(?:com|net|org|cn|io|co|de|uk|jp|fr|html?|php)\b)", re.I)


_TOKEN_AFTER = re.compile(r"[^\s)>\"'”,;]*")


def _in_link(text: str, start: int, end: int) -> bool:
    """True when the name sits inside a URL, domain or e-mail address (twitter.com/someone)."""
    head = text[max(0, start - 200) : start]
    before = "" if not head or head[-1].isspace() else head.rsplit(None, 1)[-1]
    before = before[max(before.rfind(mark) for mark in "(<\"'“") + 1 :]
    after = _TOKEN_AFTER.match(text, end, end + 200).group()
    if not before and not after:
        return False
    token = before + text[start:end] + after
    if "://" in token or token.lower().startswith("www."):
        return True
    if before.endswith(".") or (after.startswith(".") and re.match(r"\.[a-z]{2,}\b", after, re.I)):
        return bool(_LINK_TOKEN.search(token))
    return False


_PRICE = re.compile(r"[$€£¥]\s?\d[\d.,]*|\d[\d.,]*\s?(?:€|euro|dollars|美元|元)")


def _after_number(text: str, start: int, end: int) -> bool:
    """'3 Tesla', '1.5 Tesla': a count or unit, not a company ('$1,000 Meta Quest' is a product)."""
    if not re.search(r"\d[\d.,]*\s?$", text[max(0, start - 12) : start]):
        return False
    following = text[end:end + 30].split()
    return not (following and following[0][:1].isupper())


def _part_of_product_name(text: str, start: int, end: int, line_start: int) -> bool:
    """'Moto X', 'Mac OS X', 'X-ray', 'X1': a short name inside another name or model number."""
    after = text[end : end + 2]
    if after[:1] in ("-", "'", "’") or after[:1].isdigit():
        return True
    # The word before, on this line: read backwards, so a long line costs no more than a short one.
    stop = _skip_spaces_back(text, start, line_start)
    word_start = stop
    while word_start > line_start and not text[word_start - 1].isspace():
        word_start -= 1
    previous = text[word_start:stop]
    return bool(previous) and (previous[0].isupper() or previous[0].isdigit()) and previous[-1] not in ".:,"


_SENTENCE_OPENERS = ".!?:;|•·\"“”‘’([—–-"  # after one of these (and spaces), a sentence or clause starts


def _written_as_name(text: str, candidate: Candidate, layout: _Layout) -> bool:
    """Capitalised where an ordinary word would not be: inside a sentence, not a title-case line."""
    surface = candidate.surface
    if not surface[:1].isupper() or candidate.field == "title":
        return False
    line_start, line_end = layout.line(candidate.start, candidate.end)
    stop = _skip_spaces_back(text, candidate.start, line_start)
    if stop == line_start or text[stop - 1] in _SENTENCE_OPENERS:
        return False  # first word of the line, or of a sentence
    return not layout.title_case(line_start, line_end)


def _skip_spaces_back(text: str, position: int, floor: int) -> int:
    """Where the white space that ends text[floor:position] starts."""
    while position > floor and text[position - 1].isspace():
        position -= 1
    return position


def company_names_of(companies: Sequence[object]) -> list[CompanyNames]:
    """CompanyNames for config companies (with name, aliases and optional context/exclude)."""
    result = []
    for company in companies:
        aliases = []
        for alias in getattr(company, "aliases", ()):
            if isinstance(alias, str):
                aliases.append(AliasSpec(alias))
            else:
                aliases.append(AliasSpec(alias.name, getattr(alias, "case", "auto")))
        result.append(CompanyNames(
            company.name,  # type: ignore[attr-defined]
            tuple(aliases),
            tuple(getattr(company, "context", ())),
            tuple(getattr(company, "exclude", ())),
            getattr(company, "ambiguous", None),
            getattr(company, "links", False),
        ))
    return result
