"""How much a story is about each company it names: a score and an about/in-passing verdict.

Pure functions of the kept mentions and the article text. A company named in the title, or
named other than in passing, is one the story is *about*; one named only as the platform
something was posted on, as a news agency, as a descriptor of a person ("Amazon founder Jeff
Bezos"), as a comparison or in a product spec ("Intel Core i7") is named *in passing*.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.models import Mention

LEAD_CHARS = 400  # the start of the text that counts as the lead


@dataclass(frozen=True)
class CompanyMatch:
    """A company found in an article, with its salience."""

    company: str
    mentions: int
    score: float
    about: bool  # the story is about it (title, lead, repeated), not naming it in passing
    why: str  # one line for people: which name, where


# Ways of naming a company in passing: as the platform something was posted or watched on,
# as a news agency, as a descriptor of a person, as a comparison, or in a product spec.
_PASSING_LAST_WORDS = {"on", "via", "through", "told", "former", "ex", "like"}
_PASSING_LAST_TWO = {("according", "to"), ("reporting", "by"), ("version", "of"), ("such", "as"),
                     ("similar", "to"), ("equivalent", "of"), ("answer", "to"), ("on", "the"), ("via", "the")}
_PASSING_NEXT_WORDS = {"account", "accounts", "page", "feed", "post", "posts", "video", "videos", "channel",
                       "handle", "followers", "stream", "reported", "reports", "founder", "co-founder", "alum",
                       "alumnus", "veteran"}
_PRODUCT_SPEC = re.compile(r"\s+[A-Z][\w-]*\s+[\w-]*\d")


def passing(text: str, mention: Mention) -> bool:
    """True when the words around a mention name the company only in passing."""
    before = text[max(0, mention.start - 30) : mention.start]
    if before.endswith(("(", "ex-")):
        return True
    words = before.lower().replace("-", " ").split()
    if words and (words[-1] in _PASSING_LAST_WORDS or tuple(words[-2:]) in _PASSING_LAST_TWO):
        return True
    after = text[mention.end : mention.end + 40]
    if after.startswith(")"):
        return True
    following = after[3:] if after.startswith(("'s", "’s")) else after
    next_word = following.split(maxsplit=1)[:1]
    if next_word and next_word[0].lower().strip(".,;:") in _PASSING_NEXT_WORDS:
        return True
    return bool(following[:1].isspace() and following.lstrip()[:1].isupper() and _PRODUCT_SPEC.match(following))


def salience(mentions: Sequence[Mention], text: str, title: str = "") -> tuple[CompanyMatch, ...]:
    """Score each company by where and how it is named, and judge if the story is about it.

    A title mention weighs 3, a mention in the lead (the first paragraph, at least ~400
    characters) 2, any other 1, and a mention in passing ("posted on Twitter", "told Reuters",
    "Amazon founder Jeff Bezos", "Intel Core i7") 0.25. The story is about a company named in
    its title, or named at least once other than in passing.
    """
    lead_end = _lead_end(text)
    by_company: dict[str, list[Mention]] = {}
    for mention in mentions:
        by_company.setdefault(mention.company, []).append(mention)
    results = []
    for company, found in by_company.items():
        in_title = [m for m in found if m.field == "title"]
        in_text = [m for m in found if m.field == "text"]
        substantive = [m for m in in_text if not passing(text, m)]
        in_lead = [m for m in substantive if m.start < lead_end]
        in_passing = len(in_text) - len(substantive)
        score = (3.0 * bool(in_title) + 2.0 * len(in_lead) + 1.0 * (len(substantive) - len(in_lead))
                 + 0.25 * in_passing)
        about = bool(in_title) or bool(substantive)
        names = sorted({m.alias for m in found})
        where = ("in the title" if in_title else "in the lead" if in_lead else "in the text" if substantive
                 else "only in passing")
        count = f"{len(found)} mention{'s' if len(found) != 1 else ''}"
        why = f"{', '.join(repr(n) for n in names)} {where}, {count}"
        results.append(CompanyMatch(company, len(found), score, about, why))
    results.sort(key=lambda c: (-c.score, c.company))
    return tuple(results)


def _lead_end(text: str) -> int:
    """Where the lead ends: the first paragraph, or LEAD_CHARS characters, whichever is longer."""
    first_break = text.find("\n", 0, LEAD_CHARS * 2)
    return max(LEAD_CHARS, first_break if first_break > 0 else 0)
