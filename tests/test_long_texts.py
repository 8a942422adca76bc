"""Pages without line or sentence breaks: matching and summarising read them once, not once a name.

A candidate is judged on its line and its sentence; reading those anew for each candidate
made such a page quadratic ("Globex " x 8,000 took 17 s on the event loop). These tests check
what comes out of pages built to hit those paths; had the work stayed quadratic they would
take minutes, but they assert on the results only.
"""

from __future__ import annotations

from bot.events import event_tags
from bot.fingerprint import fingerprint
from bot.matcher import AliasSpec, CompanyMatcher, CompanyNames, Senses
from bot.summarize import MAX_CHARS, split_sentences, summarize

SENSES = Senses(company_cues=("company",), ambiguous={"pomme": ("fruit",)})
COMPANIES = [
    CompanyNames("Globex", ("Globex Corp",)),
    CompanyNames("Pomme"),  # also an ordinary word: judged on its line and its neighbours
    CompanyNames("Twitterly", (AliasSpec("Q", "exact"),)),  # a short name: judged on the word before it
]
REPEATS = 8000


def matcher() -> CompanyMatcher:
    return CompanyMatcher(COMPANIES, senses=SENSES)


def test_one_name_repeated_on_one_line():
    text = "Globex " * REPEATS
    result = matcher().match("Globex title", text)
    assert len(result.mentions) == REPEATS + 1
    assert [m.start for m in result.mentions if m.field == "text"] == list(range(0, 7 * REPEATS, 7))
    (company,) = result.companies
    assert company.company == "Globex" and company.mentions == REPEATS + 1 and company.about
    summary = summarize(text, result.mentions)
    assert summary.startswith("Globex Globex") and len(summary) <= MAX_CHARS
    assert fingerprint("Globex title", text) is None  # no sentence: no prose to fingerprint
    assert event_tags("Globex title", text) == ()


def test_an_ambiguous_name_on_one_long_line_is_judged_for_each_occurrence():
    # Lower case, it is the word; capitalised inside the sentence, the company (the line is
    # half lower case: no Title Case Heading).
    text = "a pomme and Pomme " * (REPEATS // 2)
    result = matcher().match("", text)
    kept = [c for c in result.candidates if c.kept]
    dropped = [c for c in result.candidates if not c.kept]
    assert len(kept) == len(dropped) == REPEATS // 2
    assert {c.surface for c in kept} == {"Pomme"} and {c.surface for c in dropped} == {"pomme"}
    assert all("capitalised as a name inside a sentence" in c.reason for c in kept)


def test_short_names_and_their_neighbours_on_one_long_line():
    # "Q" after a capitalised word is part of a product name; "Q" after "the" stays a
    # candidate, kept because "Globex" is named beside it on the line.
    text = "Moto Q and the Q with Globex " * (REPEATS // 4)
    result = matcher().match("", text)
    short = [c for c in result.candidates if c.company == "Twitterly"]
    assert len(short) == REPEATS // 2
    assert sum("part of another name or model number" in c.reason for c in short) == REPEATS // 4
    assert sum(c.kept for c in short) == 0  # a short name needs its own evidence; Globex alone is not
    assert len([m for m in result.mentions if m.company == "Globex"]) == REPEATS // 4


def test_a_contact_sentence_repeated_without_line_breaks():
    text = "Follow Globex at @globex_news. " * (REPEATS // 2)
    result = matcher().match("", text)
    assert result.mentions == ()
    assert {c.reason for c in result.candidates} == {"'Globex' dropped: in a follow or contact line"}


def test_abbreviations_do_not_end_sentences_however_many():
    text = "Mr. " * REPEATS + "Globex said so. Next sentence here."
    assert split_sentences(text) == [(0, len(text) - len(" Next sentence here.")),
                                     (len(text) - len("Next sentence here."), len(text))]
    text = "Globex Inc. " * REPEATS
    result = matcher().match("", text)
    assert split_sentences(text) == [(0, len(text) - 1)]
    assert len(summarize(text, result.mentions)) <= MAX_CHARS


def test_a_huge_lead_then_many_short_sentences_naming_the_company():
    text = "word " * (10 * REPEATS) + ". " + "Globex said. " * REPEATS
    result = matcher().match("", text)
    summary = summarize(text, result.mentions)
    assert len(summary) <= MAX_CHARS and summary.startswith("word word")
