"""Tests of bot.query: the `/intel` lookup language, parsed without I/O."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.matcher import CompanyNames
from bot.query import CompanyIndex, Query, edit_distance, parse_query, tokens

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc)
INDEX = CompanyIndex([
    CompanyNames("Twitter", ("X Corp",)),
    CompanyNames("Xiaomi", ("小米", "Xiaomi Corp")),
    CompanyNames("Northwind", ("Northwind Traders", "NW Logistics Group")),
    CompanyNames("Haier"),
    CompanyNames("Apple"),
    CompanyNames("Google", ("Alphabet",)),
])


def parse(text: str) -> Query:
    return parse_query(text, INDEX, now=NOW)


# --- companies and words ---

def test_company_words_any_alias_any_case_and_multi_word_aliases() -> None:
    assert parse("twitter china") == Query(companies=("Twitter",), terms=("china",))
    assert parse("X CORP phones").companies == ("Twitter",)
    assert parse("nw logistics group ships").companies == ("Northwind",)
    assert parse("northwind traders twitter northwind") == Query(companies=("Northwind", "Twitter"))
    assert parse("小米 手机") == Query(companies=("Xiaomi",), terms=("手机",))
    assert parse("china china") == Query(terms=("china",))


@pytest.mark.parametrize(("typed", "company"), [("twiter", "Twitter"), ("xiaomy", "Xiaomi"),
                                                ("Twtiter", "Twitter"), ("northwnid", "Northwind")])
def test_small_typos_of_company_names_are_corrected_and_reported(typed: str, company: str) -> None:
    query = parse(f"{typed} china")
    assert query.companies == (company,) and query.terms == ("china",)
    assert query.corrections == ((typed, company),)


@pytest.mark.parametrize("word", [
    "hair",  # Haier is too short to guess at
    "apply",  # Apple: short, and an ordinary word
    "goggle",  # an ordinary word one letter from Google
    "twi",  # too short
    "twitterverse", "xiaomi2", "tweets", "china",
])
def test_ordinary_words_are_never_corrected_into_companies(word: str) -> None:
    query = parse(word)
    assert query.companies == () and query.corrections == () and query.terms == (word,)


def test_exact_matches_win_over_typos_and_quoted_words_are_text() -> None:
    assert parse("twitter").corrections == ()
    assert parse('"twitter" "twiter"') == Query(phrases=("twitter", "twiter"))


def test_edit_distance_is_bounded() -> None:
    assert edit_distance("twiter", "twitter", 2) == 1
    assert edit_distance("xiaomy", "xiaomi", 1) == 1
    assert edit_distance("ab", "ba", 1) == 1  # a swap is one edit
    assert edit_distance("abcdef", "uvwxyz", 1) == 2  # stops early: bound + 1


# --- phrases and exclusions ---

def test_phrases_and_unbalanced_quotes() -> None:
    assert parse('twitter "supply  chain" ban') == Query(
        companies=("Twitter",), terms=("ban",), phrases=("supply chain",))
    assert parse('globex "price war in europe').phrases == ("price war in europe",)
    assert parse('"').empty and parse('""   "').empty
    assert tokens('a "b c" d"e f"') == ["a", '"b c"', 'd"e f"']


def test_phrase_breaks_a_multi_word_alias() -> None:
    query = parse('northwind "x" traders')
    assert query.companies == ("Northwind",) and query.terms == ("traders",) and query.phrases == ("x",)


def test_excluded_words_and_phrases() -> None:
    query = parse('twitter -rumour -"price war" -  -')
    assert query.exclude == ("rumour", "price war") and query.terms == ("-",)  # the store drops "-"
    assert query.companies == ("Twitter",)
    assert parse("-rumour").empty  # exclusions alone select nothing


# --- operators ---

def test_since_relative_and_absolute() -> None:
    assert parse("twitter since:7d").since == NOW - timedelta(days=7)
    assert parse("twitter since:12h").since == NOW - timedelta(hours=12)
    assert parse("twitter SINCE:2w").since == NOW - timedelta(weeks=2)
    assert parse("twitter since:2026-01-01").since == datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert parse("twitter since:7d").since.tzinfo is not None
    for bad in ("since:", "since:yesterday", "since:2026-13-01", "since:7x"):
        assert parse(f"twitter {bad}").problems == (bad,)
    assert parse_query("twitter since:7d", INDEX).problems == ("since:7d",)  # no clock given
    assert parse("since:99999y").since is not None  # far past, never an overflow


def test_source_about_lang_and_after() -> None:
    query = parse('xiaomi source:"Tech Wire" about: lang:ZH after:7.tp37h1.5.3')
    assert query == Query(companies=("Xiaomi",), source="Tech Wire", about=True, lang="zh",
                          after="7.tp37h1.5.3")
    assert parse("about:twitter china") == Query(companies=("Twitter",), terms=("china",), about=True)
    assert parse("about:x corp").companies == ("Twitter",)
    assert parse("source:wire xiaomi").source == "wire"
    assert parse("lang:zh-TW xiaomi").lang == "zh-tw"
    for bad in ("lang:chinese", "lang:", "source:", "after:page2", "after:"):
        assert parse(f"xiaomi {bad}").problems == (bad,)


def test_unknown_operators_are_reported_not_searched() -> None:
    query = parse("twitter foo:bar title:china page:2 NEAR:x")
    assert query.problems == ("foo:bar", "title:china", "page:2", "NEAR:x")
    assert query.companies == ("Twitter",) and query.terms == ()
    # Links and quoted colons are text.
    assert parse("https://news.test/a").terms == ("https://news.test/a",)
    assert parse('"foo:bar"').phrases == ("foo:bar",)
    assert parse("10:30 :x").problems == ()


@pytest.mark.parametrize("text", [
    'NEAR(twitter china)', "twitter OR china", "twitter AND NOT china", "title:twitter", "tw*",
    "{title text}: china", "^twitter", "' OR 1=1 --", "\x00twitter", "china)(", "-", "--", '-"',
])
def test_injection_attempts_stay_plain_text(text: str) -> None:
    query = parse(text)
    for piece in (*query.terms, *query.phrases, *query.exclude):
        assert "\x00" not in piece and '"' not in piece


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80))
def test_parse_query_never_raises(text: str) -> None:
    query = parse(text)
    assert isinstance(query, Query)
    parse_query(text, INDEX)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(['"', "-", ":", "since:", "source:", "about:", "lang:", "after:", "twiter",
                                 "x", "corp", "7d", "2026-01-01", " ", "NEAR(", "*", "小米"]), max_size=12))
def test_parse_query_never_raises_on_operator_soup(pieces: list[str]) -> None:
    parse("".join(pieces))
    parse(" ".join(pieces))
