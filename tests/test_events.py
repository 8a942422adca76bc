"""Event tags: what kind of event a story reports, from its title and lead (bot/events.py)."""

from __future__ import annotations

from importlib import resources

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from bot.events import EVENT_TAGS, event_evidence, event_tags, lead, tag_label, tag_named

FILLER = (
    "The weather in Springfield was mild this week. Residents walked their dogs in the park. "
    "The local bakery sold out of bread by noon. "
)


def tags(title: str, text: str = "") -> tuple[str, ...]:
    return event_tags(title, text)


# --- each tag, in English and in Chinese

POSITIVES = [
    ("funding", "Globex raises $40 million in Series B round led by Initech Ventures"),
    ("funding", "Globex files to go public in New York"),
    ("funding", "华星科技完成5亿元B轮融资，红杉中国领投"),
    ("funding", "華星科技完成A輪融資"),
    ("acquisition", "Globex agrees to buy Initech for $2 billion"),
    ("acquisition", "Initech to be acquired by Globex"),
    ("acquisition", "华星科技宣布收购初创公司云帆"),
    ("acquisition", "華星科技與月光電子宣布合併"),
    ("launch", "Globex unveils the Hoverboard 2, its first consumer drone"),
    ("launch", "Initech launches a payroll app for small shops"),
    ("launch", "华星科技正式发布新一代智能手表"),
    ("launch", "華星科技推出平價筆電"),
    ("partnership", "Globex partners with Initech on delivery robots"),
    ("partnership", "Globex and Initech team up on battery recycling"),
    ("partnership", "华星科技与Initech达成战略合作"),
    ("partnership", "华星科技将与本地银行合作推广移动支付"),
    ("partnership", "華星科技攜手月光電子打造智慧工廠"),
    ("leadership", "Globex CEO Hank Scorpio steps down"),
    ("leadership", "Globex names finance chief Jane Doe as CEO"),
    ("leadership", "Initech appoints Bill Lumbergh chief operating officer"),
    ("leadership", "华星科技创始人卸任董事长，由李明接任"),
    ("leadership", "華星科技總經理辭職"),
    ("layoffs", "Globex to cut 1,200 jobs as orders slow"),
    ("layoffs", "Initech lays off a tenth of its staff"),
    ("layoffs", "华星科技宣布裁员10%"),
    ("layoffs", "華星科技傳出裁員"),
    ("legal", "Globex sued by shareholders over battery fires"),
    ("legal", "Regulators fined Initech $18 million over card data"),
    ("legal", "华星科技因数据泄露被罚款2000万元"),
    ("legal", "市场监管总局对华星科技展开反垄断调查"),
    ("legal", "華星科技遭競爭對手起訴"),
    ("earnings", "Globex quarterly revenue rose 12% on strong cloud demand"),
    ("earnings", "Initech third-quarter profit fell short of estimates"),
    ("earnings", "华星科技发布2025年财报：营收增长20%，净利润翻倍"),
    ("earnings", "華星科技第三季財報：營收創新高"),
    ("expansion", "Globex enters the Indian market"),
    ("expansion", "Initech opens its first office in Tokyo"),
    ("expansion", "华星科技进军东南亚，计划明年进入欧洲市场"),
    ("expansion", "華星科技進軍日本"),
]


@pytest.mark.parametrize(("tag", "title"), POSITIVES)
def test_each_tag_in_english_and_chinese(tag: str, title: str) -> None:
    assert tags(title) == (tag,)


def test_japanese_and_german_phrases() -> None:
    assert tags("グローベックス、新型ドローンを発売") == ("launch",)
    assert tags("グローベックスがイニテックを買収") == ("acquisition",)
    assert tags("Globex baut 500 Stellen ab") == ("layoffs",)
    assert tags("Globex sammelt 30 Millionen Euro in Finanzierungsrunde ein") == ("funding",)


def test_every_tag_has_a_positive_in_english_and_chinese() -> None:
    english = {tag for tag, title in POSITIVES if title.isascii()}
    chinese = {tag for tag, title in POSITIVES if not title.isascii()}
    assert english == chinese == set(EVENT_TAGS)


def test_the_lead_counts_as_well_as_the_title() -> None:
    text = "Initech said on Monday that it had agreed to buy Globex. The deal values Globex at $2 billion."
    assert tags("A big week in Springfield", text) == ("acquisition",)
    assert tags("华星科技的一周", "华星科技周一宣布裁员，涉及约三百名员工。公司表示将补偿受影响员工。") == ("layoffs",)


def test_the_same_phrase_after_the_lead_does_not_tag() -> None:
    text = FILLER + "Years ago the bakery was the subject of a lawsuit, which was dismissed."
    assert tags("Springfield bakery sells out", text) == ()
    repeated = FILLER + "A lawsuit was filed. Another lawsuit followed. The lawsuit was dropped."
    assert tags("Springfield bakery sells out", repeated) == ()


def test_page_furniture_is_not_the_lead() -> None:
    text = "Read more: Globex agrees to buy Initech\nThe bakery sold out of bread by noon on Tuesday, again."
    assert tags("Springfield bakery sells out", text) == ()


# --- what is not an event

def test_a_chief_executive_quoted_is_no_leadership_change() -> None:
    text = ("Globex chief executive Hank Scorpio said on Tuesday that demand was strong. "
            "The CEO said the company would keep its prices. Globex's new CEO said little else.")
    assert tags("Globex CEO says demand is strong", text) == ()
    assert tags("华星科技CEO：需求依然强劲", "华星科技首席执行官李明表示，今年需求依然强劲。") == ()


def test_launching_an_investigation_is_legal_not_a_launch() -> None:
    assert tags("EU regulators launched an investigation into Globex") == ("legal",)
    assert tags("Initech launched an inquiry into the outage") == ("legal",)


def test_partners_the_noun_is_no_partnership() -> None:
    assert tags("Globex thanks its partners", "Our partners and suppliers made the year possible.") == ()
    assert tags("Jane Doe, a partner with Dewey Cheatem, spoke at the Globex event") == ()
    assert tags("华星科技感谢合作伙伴") == ()


def test_words_that_only_look_like_events() -> None:
    assert tags("How Globex cut customer acquisition costs in half") == ()
    assert tags("Globex releases the Hoverboard launcher for Windows") == ()
    assert tags("Globex, the court-appointed receiver, reports") == ()
    assert tags("Initech helps small shops succeed in a tough market") == ()
    assert tags("Globex shares rose after a regulatory filing") == ()
    assert tags("华星科技等上市公司股价上涨") == ()
    assert tags("两融余额：华星科技融资融券余额增加") == ()
    assert tags("Globex cut costs and added jobs in Ohio") == ()
    assert tags("The company declined to release names. As CEO, Smith spoke first.") == ()
    assert tags("Globex will open office hours for developers on Friday") == ()


def test_listing_is_funding_and_going_on_sale_is_a_launch() -> None:
    assert tags("华星科技递表港交所，冲刺上市") == ("funding",)
    assert tags("华星科技新款手表今日开售") == ("launch",)


def test_tags_come_in_canonical_order_each_once() -> None:
    title = "Globex to cut jobs after quarterly results, and agrees to buy Initech"
    text = "Globex raised $10 million in a funding round. Globex also unveiled a drone. Job cuts follow."
    assert tags(title, text) == ("funding", "acquisition", "launch", "layoffs", "earnings")
    evidence = event_evidence(title, text)
    assert list(evidence) == ["funding", "acquisition", "launch", "layoffs", "earnings"]
    assert evidence["acquisition"] == ("agrees to buy",)


def test_no_tags_for_an_unrelated_story() -> None:
    assert tags("Springfield bakery sells out of bread", FILLER * 3) == ()
    assert tags("春田市面包店面包售罄", "本周春田市天气温和，居民在公园遛狗。面包店中午前就卖完了面包。") == ()
    assert tags("", "") == ()


def test_lead_is_three_sentences_and_skips_headings() -> None:
    text = "By Jane Doe\nOne two three four. Five six seven eight. Nine ten eleven twelve. Thirteen fourteen."
    assert lead(text) == "By Jane Doe\nOne two three four. Five six seven eight. Nine ten eleven twelve."
    assert lead("x" * 5000).startswith("x") and len(lead("x" * 5000)) <= 800
    short = "Globex enters the U.S. market today. It is big."
    assert lead(short) == short


# --- the command's vocabulary

@pytest.mark.parametrize(("word", "tag"), [
    ("funding", "funding"), ("FUNDING", "funding"), ("IPO", "funding"), ("融资", "funding"),
    ("merger", "acquisition"), ("M&A", "acquisition"), ("acquisitions", "acquisition"), ("收购", "acquisition"),
    ("launches", "launch"), ("product launch", "launch"), ("product-launch", "launch"),
    ("partners", "partnership"), ("ceo", "leadership"), ("Leadership change", "leadership"),
    ("lay-offs", "layoffs"), ("job cuts", "layoffs"), ("裁员", "layoffs"),
    ("lawsuit", "legal"), ("regulation", "legal"), ("Legal / regulatory", "legal"),
    ("results", "earnings"), ("财报", "earnings"), ("market expansion", "expansion"), ("出海", "expansion"),
    ("  Earnings ", "earnings"), ("ＩＰＯ", "funding"),
])
def test_tag_named_knows_tags_and_synonyms(word: str, tag: str) -> None:
    assert tag_named(word) == tag


@pytest.mark.parametrize("word", ["", " ", "weather", "hiring", "fundingx", "partnershipp", "-", "事件"])
def test_tag_named_unknown_words(word: str) -> None:
    assert tag_named(word) is None


def test_every_tag_names_itself_and_has_a_label() -> None:
    for tag in EVENT_TAGS:
        assert tag_named(tag) == tag
        assert tag_label(tag) and tag_label(tag) != tag
    assert tag_label("acquisition") == "Acquisition / merger"
    assert tag_label("nonsense") == "nonsense"


def test_the_lexicon_lists_the_tags_in_canonical_order() -> None:
    text = resources.files("bot.data").joinpath("events.yaml").read_text(encoding="utf-8")
    data = YAML(typ="safe").load(text)
    assert tuple(data["events"]) == EVENT_TAGS
    assert set(data["names"]) <= set(EVENT_TAGS)
    assert all(isinstance(p, str) and p.strip() for phrases in data["events"].values() for p in phrases)


# --- robustness

@settings(max_examples=300, deadline=None)
@given(st.text(), st.text())
def test_never_raises_on_any_text(title: str, text: str) -> None:
    result = event_tags(title, text)
    assert all(tag in EVENT_TAGS for tag in result)
    assert list(result) == sorted(result, key=EVENT_TAGS.index)
    assert tag_named(title) in (None, *EVENT_TAGS)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["Globex", "acquires", "…", "，", "合作", "与", "names", "as", "CEO", ".",
                                 "U.S.", "1,200", "jobs", "cut", "\n", " ", "ﬁ", "İ", "A轮", "融资"]),
                max_size=40))
def test_never_raises_on_phrase_fragments(words: list[str]) -> None:
    text = " ".join(words)
    assert set(event_tags(text, text)) <= set(EVENT_TAGS)


def test_a_gap_needs_a_partner_between_chinese_parts() -> None:
    assert tags("中美之间需要谈判与合作") == ()
    assert tags("华星科技将与月光电子合作") == ("partnership",)


def test_sports_regulation_time_is_not_regulation() -> None:
    assert tags("Globex Arena: the Isles tie it late in regulation") == ()
