"""The first matcher: names and aliases in any script, whole words, exact spans."""

from __future__ import annotations

from bot.matcher import CompanyMatcher, CompanyNames, PhraseMatcher

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


def test_companies_ranked_by_salience():
    matcher = CompanyMatcher(COMPANIES)
    result = matcher.match("Globex news", "Northwind, Northwind and Northwind. Globex too.")
    # Title 3 + lead 2 for Globex; three lead mentions (2 each) for Northwind.
    assert [(c.company, c.score) for c in result.companies] == [("Northwind", 6.0), ("Globex", 5.0)]
    assert [c.company for c in matcher.match("", "Northwind, Northwind. Globex.").companies] == ["Northwind", "Globex"]


def test_empty_inputs():
    assert CompanyMatcher([]).find("Globex", "Globex") == []
    assert found("") == []


# ---------------------------------------------------------------- evidence for ambiguous names
# "Pomme" and "Nilo" are fictional companies whose names are also ordinary words; the test
# lexicon below plays the role of bot/data/senses.yaml.

from hypothesis import given, settings, strategies as st  # noqa: E402

from bot.matcher import AliasSpec, Senses  # noqa: E402

SENSES = Senses(
    company_cues=("company", "shares", "ceo", "公司"),
    ambiguous={"pomme": ("fruit", "pie"), "nilo": ("river", "rainforest"), "果子": ("吃",)},
    capitalised_senses=frozenset({"nilo"}),
)
AMBIGUOUS = [
    CompanyNames("Pomme", ("果子",)),
    CompanyNames("Nilo", (), exclude=("Nilo basin",)),
    CompanyNames("Twitterly", (AliasSpec("Q", "exact"),)),
    CompanyNames("Globex"),
]


def decide(text: str, title: str = "") -> dict[str, bool]:
    result = CompanyMatcher(AMBIGUOUS, senses=SENSES).match(title, text)
    return {c.company: True for c in result.companies}


def reasons(text: str, title: str = "") -> list[str]:
    return [c.reason for c in CompanyMatcher(AMBIGUOUS, senses=SENSES).match(title, text).candidates]


def test_lower_case_common_word_is_not_the_company():
    assert decide("I ate a pomme for lunch.") == {}
    assert "lower-case common word" in reasons("I ate a pomme for lunch.")[0]


def test_capitalised_inside_a_sentence_is_the_company():
    assert decide("Analysts said Pomme would report on Monday.") == {"Pomme": True}


def test_sentence_initial_capital_alone_is_not_evidence():
    assert decide("Pomme trees bloom in spring.") == {}


def test_other_sense_words_nearby_drop_the_name():
    assert decide("We baked a Pomme pie with the fruit of the season.") == {}
    assert "'pie' nearby shows another sense" in reasons("We baked a Pomme pie.")[0]


def test_company_words_nearby_keep_the_name():
    assert decide("Pomme shares fell 3% after the results.") == {"Pomme": True}


def test_a_name_whose_other_sense_is_capitalised_needs_more_than_a_capital():
    assert decide("Fires raged along the Nilo for weeks.") == {}
    assert decide("The chief executive of Nilo, its CEO said, will step down.") == {"Nilo": True}


def test_weak_mention_is_kept_when_the_company_is_named_with_confidence_elsewhere():
    text = "Pomme sells phones.\nAnalysts said Pomme would report on Monday."
    result = CompanyMatcher(AMBIGUOUS, senses=SENSES).match("", text)
    assert [c.kept for c in result.candidates] == [True, True]
    assert "named elsewhere in the story" in result.candidates[0].reason


def test_named_beside_another_company_is_evidence():
    assert decide("", title="Globex Cloud, Pomme Arcade: so many ways to play") == {"Globex": True, "Pomme": True}


def test_numbers_before_a_name_make_it_a_quantity():
    assert decide("The scanner works at 3 Pomme units, and Globex sells it.") == {"Globex": True}


def test_exclude_phrase():
    assert decide("Logging in the Nilo basin continued, the company said.") == {}
    assert "excluded phrase 'Nilo basin'" in reasons("Logging in the Nilo basin continued, the company said.")[0]


def test_short_name_needs_exact_case_and_another_name():
    assert decide("Meanwhile, Q launched a feature.") == {}
    assert decide("Twitterly, now called Q, launched a feature; Q said so.") == {"Twitterly": True}
    assert decide("Twitterly said the q key is broken.").keys() == {"Twitterly"}


def test_name_cues_from_the_lexicon_count_for_a_short_name():
    senses = Senses(company_cues=("company",), ambiguous={}, name_cues={"q": ("qpost", "粉絲團")})
    matcher = CompanyMatcher([CompanyNames("Twitterly", (AliasSpec("Q", "exact"),)), CompanyNames("Quux", ("QX",))],
                             senses=senses)
    kept = matcher.match("", "Her qpost on Q went viral.").candidates
    assert [c.kept for c in kept] == [True] and "'qpost' nearby" in kept[0].reason
    assert matcher.match("", "歡迎到Q粉絲團按讚").companies[0].company == "Twitterly"
    # The cue belongs to the name, not to every short name, and a generic company word is not enough.
    assert matcher.match("", "Her qpost on QX went viral.").mentions == ()
    assert matcher.match("", "The company Q said hello.").mentions == ()


def test_shipped_name_cues_tell_facebook_fan_pages():
    matcher = CompanyMatcher([CompanyNames("Facebook", ("FB",))])
    assert [m.company for m in matcher.match("", "歡迎到 FB 粉絲團 按個讚").mentions] == ["Facebook"]
    assert matcher.match("", "露營區的 FB 帳號").mentions == ()


def test_short_name_inside_a_model_name_is_dropped():
    result = CompanyMatcher(AMBIGUOUS, senses=SENSES).match("", "Twitterly shipped the Moto Q and a Q-ray.")
    short = [c for c in result.candidates if c.alias == "Q"]
    assert short and all(not c.kept for c in short)


def test_cjk_ambiguous_name_needs_company_context():
    assert decide("我今天吃了一个果子。") == {}
    assert decide("果子公司发布了新手机。") == {"Pomme": True}


# ---------------------------------------------------------------- furniture and links


def test_links_and_domains_are_not_mentions():
    assert decide("See globex.com/careers and https://twitter.com/globex for more.") == {}
    assert decide("Read it at www.globex.net today.") == {}


def test_a_company_can_count_its_links():
    text = "The code is at globex.com/careers, says Globex."
    plain = CompanyMatcher([CompanyNames("Globex")]).match("", text).candidates
    assert [c.kept for c in plain] == [False, True]
    counted = CompanyMatcher([CompanyNames("Globex", links=True)]).match("", text).candidates
    assert [c.kept for c in counted] == [True, True]
    assert "a link or domain, and Globex counts links" in counted[0].reason


def test_share_bars_credits_and_related_links_are_not_mentions():
    text = "\n".join([
        "Share on Facebook · Globex · Email",
        "Photo: Globex/Getty Images",
        "Read more: Globex opens a store in Lyon",
        "© 2026 Globex. All rights reserved.",
        "Follow @globexnews on Globex to keep up.",
    ])
    assert decide(text) == {}
    assert decide(text + "\nGlobex said it would hire 40 people.") == {"Globex": True}


def test_a_line_of_code_is_not_a_mention():
    assert decide('USER_AGENT = "Mozilla/5.0 (Globex; rv:65.0) Gecko/20100101"') == {}


# ---------------------------------------------------------------- salience


def test_about_versus_in_passing():
    matcher = CompanyMatcher([CompanyNames("Globex"), CompanyNames("Initech"), CompanyNames("Wire Agency")])
    result = matcher.match(
        "Globex cuts 300 jobs",
        "Globex said on Monday it would cut 300 jobs. The memo was first posted on Initech, "
        "a source told Wire Agency.",
    )
    by_name = {c.company: c for c in result.companies}
    assert by_name["Globex"].about and by_name["Globex"].score > by_name["Initech"].score
    assert not by_name["Initech"].about and not by_name["Wire Agency"].about
    assert [c.company for c in result.companies][0] == "Globex"
    assert "in the title" in by_name["Globex"].why and "only in passing" in by_name["Initech"].why


# ---------------------------------------------------------------- properties


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300), st.text(max_size=60))
def test_matching_never_raises_and_spans_point_at_the_name(text, title):
    matcher = CompanyMatcher(COMPANIES + AMBIGUOUS, senses=SENSES)
    result = matcher.match(title, text)
    for candidate in result.candidates:
        field = title if candidate.field == "title" else text
        assert field[candidate.start : candidate.end] == candidate.surface


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40),
       st.sampled_from(["Globex", "北风机器人", "Northwind Robotics"]),
       st.text(max_size=40))
def test_a_name_between_spaces_is_always_a_candidate_at_its_span(before, name, after):
    # Kept or dropped (furniture, links) is a decision; being seen at the right place is not.
    text = f"{before} {name} {after}"
    start = len(before) + 1
    candidates = CompanyMatcher(COMPANIES).match("", text).candidates
    assert any(c.start == start and text[c.start : c.end] == c.surface for c in candidates) or any(
        c.start <= start < c.end for c in candidates  # a longer name overlapping it, e.g. "Northwind Robotics"
    )


def test_hashtags_handles_and_cashtags_name_the_company():
    matcher = CompanyMatcher([CompanyNames("Globex", ("$GLBX",))])
    text = "Investors cheered #Globex, a reply from @Globex and $GLBX up 4%."
    assert [text[m.start : m.end] for m in matcher.find("", text)] == ["Globex", "Globex", "$GLBX"]
