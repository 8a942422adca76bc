"""The first matcher: names and aliases in any script, whole words, exact spans."""

from __future__ import annotations

from bot.matcher import CompanyMatcher, CompanyNames, PhraseMatcher, companies_by_mentions

COMPANIES = [
    CompanyNames("Northwind", ("Northwind Robotics", "北风机器人")),
    CompanyNames("Globex", ("Globex Corp",)),
    CompanyNames("Meta", ()),
]


def found(text: str, title: str = "") -> list[tuple[str, str, str]]:
    """(company, field, the text at the span) for every mention."""
    matcher = CompanyMatcher(COMPANIES)
    fields = {"title": title, "text": text}
    return [(m.company, m.field, fields[m.field][m.start : m.end]) for m in matcher.find(title, text)]


def test_name_and_alias_found_with_exact_spans():
    text = "Northwind Robotics said Globex Corp will buy parts. Globex declined to comment."
    assert found(text) == [
        ("Northwind", "text", "Northwind Robotics"),
        ("Globex", "text", "Globex Corp"),
        ("Globex", "text", "Globex"),
    ]


def test_whole_words_only_in_spaced_scripts():
    assert found("The metadata of Globexian files and Northwindish") == []
    assert found("Meta's new glasses; (Meta) and META.") == [
        ("Meta", "text", "Meta"),
        ("Meta", "text", "Meta"),
        ("Meta", "text", "META"),
    ]


def test_cjk_alias_matches_inside_running_text():
    text = "据报道，北风机器人今年在欧洲扩张。"
    assert found(text) == [("Northwind", "text", "北风机器人")]


def test_latin_name_glued_to_cjk_text_is_still_a_word():
    assert found("Globex等公司") == [("Globex", "text", "Globex")]


def test_full_width_and_case_variants_map_back_to_the_original_span():
    text = "Ｇｌｏｂｅｘ and gLoBeX ß Northwind"
    assert found(text) == [
        ("Globex", "text", "Ｇｌｏｂｅｘ"),
        ("Globex", "text", "gLoBeX"),
        ("Northwind", "text", "Northwind"),
    ]


def test_spans_survive_characters_that_fold_to_several():
    # "ß" case-folds to "ss": offsets after it must still point into the original string.
    text = "Straße report: Globex expands"
    assert found(text) == [("Globex", "text", "Globex")]


def test_title_mentions_are_reported_with_their_field():
    assert found("nothing here", title="Globex buys Northwind") == [
        ("Globex", "title", "Globex"),
        ("Northwind", "title", "Northwind"),
    ]


def test_curly_apostrophe_possessive():
    assert found("Globex\u2019s results") == [("Globex", "text", "Globex")]


def test_alias_shared_by_name_of_same_company_is_counted_once():
    matcher = PhraseMatcher([("Globex", "Globex"), ("Globex", "globex")])
    assert len(matcher) == 1
    assert [(h.key, h.start) for h in matcher.find("globex")] == [("Globex", 0)]


def test_companies_ranked_by_mentions_title_counting_double():
    matcher = CompanyMatcher(COMPANIES)
    mentions = matcher.find("Globex news", "Northwind, Northwind and Northwind. Globex too.")
    assert companies_by_mentions(matcher.find("", "Northwind, Northwind. Globex.")) == ("Northwind", "Globex")
    # Title counts 2, text 1: Globex 3, Northwind 3 -> tie broken by name.
    assert companies_by_mentions(mentions) == ("Globex", "Northwind")


def test_empty_inputs():
    assert CompanyMatcher([]).find("Globex", "Globex") == []
    assert found("") == []
