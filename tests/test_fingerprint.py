"""Story identity by content: copies of a story share a fingerprint, different stories do not."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from bot.fingerprint import _TOKEN, MAX_DISTANCE, distance, fingerprint, same_story
from bot.text import is_cjk, is_word_char

# Invented stories. Both Globex stories come from the same wire on the same day and open alike.
DEAL_TITLE = "Globex to buy Initech for $2.1 billion in cloud push"
DEAL = """SPRINGFIELD (Wire) - Globex Corp said on Tuesday it had agreed to buy software maker Initech for $2.1 billion in cash, its largest deal in a decade, as the industrial group pushes deeper into cloud services for factories.
The offer of $34 a share is a 28% premium to Initech's closing price on Monday. Both boards have approved the deal, which is expected to close in the first quarter of next year.
"Initech gives us the software our customers keep asking for," Globex chief executive Hank Rearden said on a call with analysts.
Initech, founded in 1998 and based in Austin, employs about 1,200 people. Its shares jumped 25% before the opening bell, while Globex shares were little changed.
Analysts at Northwind Securities said the price looked full but the fit was sound."""

FORECAST_TITLE = "Globex cuts annual profit forecast as steel costs bite"
FORECAST = """SPRINGFIELD (Wire) - Globex Corp said on Tuesday it expects full-year profit to fall short of its earlier forecast, blaming higher steel prices and a slower recovery in orders from European carmakers.
The company now sees adjusted earnings of $3.10 to $3.25 a share, down from $3.60 to $3.80. Globex shares fell 6% in early trading.
"The second half has been harder than we planned for," chief financial officer Dagny Ortega told reporters."""

HUAXING_TITLE = "华星科技拟以50亿元收购北风机器人"
HUAXING = """华星科技周二晚间公告称，公司拟以现金50亿元收购北风机器人全部股权，以加快在工业自动化领域的布局。交易完成后，北风机器人将成为华星科技的全资子公司。
公告显示，北风机器人成立于2012年，总部位于苏州，主要生产焊接和搬运机器人，去年营业收入约12亿元。
华星科技董事长李明表示，此次收购将帮助公司打通从芯片到整机的产业链。"""

OUTLOOK_TITLE = "华星科技上调全年业绩预期"
OUTLOOK = """华星科技周二晚间公告称，受海外订单大幅增长带动，公司预计全年净利润同比增长35%至45%，高于此前预期的20%。
公司表示，第三季度芯片出货量创历史新高，欧洲和东南亚市场的收入均实现翻倍。"""


def test_syndicated_copy_with_other_boilerplate_is_the_same_story():
    copy = "\n".join([
        "Advertisement",
        "By Jane Roe, Daily Planet",
        "Share this article",
        "Facebook Twitter LinkedIn Email",
        DEAL,
        "Related coverage",
        "Initech shares hit a record high on takeover talk",
        "Northwind Robotics opens its first plant in Europe",
        "© 2024 Daily Planet. All rights reserved.",
    ])
    assert same_story(fingerprint(DEAL_TITLE, DEAL), fingerprint(DEAL_TITLE + " - Daily Planet", copy))


def test_a_cookie_notice_before_the_text_does_not_matter():
    notice = ("We use cookies to improve your experience on our website. By continuing to browse, "
              "you agree to our use of cookies. Read our privacy policy to learn more.")
    assert same_story(fingerprint(DEAL_TITLE, DEAL), fingerprint(DEAL_TITLE, notice + "\n" + DEAL))


def test_edited_headline_is_the_same_story():
    original = fingerprint(DEAL_TITLE, DEAL)
    assert same_story(original, fingerprint("Globex agrees $2.1bn deal for software maker Initech", DEAL))
    assert same_story(original, fingerprint(DEAL_TITLE.upper(), DEAL))


def test_truncated_text_as_a_feed_carries_it_is_the_same_story():
    first_paragraph = DEAL.split("\n")[0]
    assert same_story(fingerprint(DEAL_TITLE, DEAL), fingerprint(DEAL_TITLE, first_paragraph))
    assert same_story(fingerprint(DEAL_TITLE, DEAL), fingerprint(DEAL_TITLE, DEAL[:180] + "…"))


def test_chinese_story_and_its_copy_are_the_same_story():
    copy = "\n".join(["来源：华星日报", "分享到：", "微信 微博 QQ空间", HUAXING, "责任编辑：王芳", "相关阅读", "北风机器人在欧洲开设首家工厂"])
    original = fingerprint(HUAXING_TITLE, HUAXING)
    assert original is not None
    assert same_story(original, fingerprint(HUAXING_TITLE + "_财经频道", copy))
    assert same_story(original, fingerprint(HUAXING_TITLE, HUAXING.split("\n")[0]))


def test_different_stories_about_one_company_on_one_day_stay_apart():
    deal, forecast = fingerprint(DEAL_TITLE, DEAL), fingerprint(FORECAST_TITLE, FORECAST)
    assert not same_story(deal, forecast)
    assert distance(deal, forecast) > MAX_DISTANCE + 5  # not a near miss
    assert not same_story(deal, fingerprint(HUAXING_TITLE, HUAXING))
    assert not same_story(fingerprint(HUAXING_TITLE, HUAXING), fingerprint(OUTLOOK_TITLE, OUTLOOK))


def test_too_little_text_has_no_fingerprint():
    assert fingerprint("Live updates", "") is None
    assert fingerprint(DEAL_TITLE, "Globex Corp said on Tuesday.") is None
    assert fingerprint(DEAL_TITLE, "Advertisement\nShare this article\nFacebook Twitter LinkedIn Email") is None
    assert not same_story(None, None)
    assert not same_story(fingerprint(DEAL_TITLE, DEAL), None)


def test_fingerprint_is_the_same_in_every_process():
    """Stored fingerprints must match future ones: no per-process hash seed may leak in."""
    code = "from bot.fingerprint import fingerprint; from tests.test_fingerprint import DEAL_TITLE, DEAL; " \
           "print(fingerprint(DEAL_TITLE, DEAL))"
    values = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                       cwd=Path(__file__).parent.parent, env={"PYTHONHASHSEED": seed}).stdout.strip()
        for seed in ("1", "2")
    }
    assert values == {str(fingerprint(DEAL_TITLE, DEAL))}


@given(st.text(st.characters(exclude_categories=())), st.text(st.characters(exclude_categories=())))
def test_never_raises_and_fits_a_signed_64_bit_integer(title, text):
    value = fingerprint(title, text)
    assert value is None or -(2**63) <= value < 2**63


@given(st.lists(st.text(st.characters(categories=("L", "N", "M", "S")), min_size=1), min_size=10, max_size=60))
def test_sentences_in_any_script_get_a_signed_64_bit_fingerprint(words):
    """Words of letters, digits, marks and symbols: most reach the SimHash, unlike random text."""
    value = fingerprint(" ".join(words[:5]), " ".join(words) + ".")
    assert value is None or -(2**63) <= value < 2**63


@given(st.integers(-(2**63), 2**63 - 1), st.integers(-(2**63), 2**63 - 1))
def test_distance_is_symmetric_and_zero_for_equal(a, b):
    assert distance(a, b) == distance(b, a)
    assert distance(a, a) == 0
    assert 0 <= distance(a, b) <= 64
    assert same_story(a, a)


def test_distance_counts_bits_of_the_signed_form():
    assert distance(-1, 0) == 64
    assert distance(-(2**63), 0) == 1
    assert distance(-(2**63), 2**63 - 1) == 64


def test_tokens_are_the_words_and_cjk_characters_of_bot_text():
    """The token regex copies bot.text's CJK ranges; this fails if the two drift apart."""
    for char in map(chr, range(0x40000)):  # is_cjk ends at U+3FFFF
        expected = is_word_char(char) or (is_cjk(char) and char.isalnum())
        assert bool(_TOKEN.fullmatch(char)) == expected, f"U+{ord(char):04X}"
