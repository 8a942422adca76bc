"""Summaries: verbatim sentences, lead first, the companies' sentences next, within 400 chars."""

from __future__ import annotations

from bot.matcher import CompanyMatcher, CompanyNames
from bot.summarize import MAX_CHARS, split_sentences, summarize
from bot.text import shorten

TEXT = (
    "The city council met on Tuesday to discuss the new tram line. "
    "Several residents spoke about noise. "
    "The contract may go to a consortium. "
    "Globex Corp. said it would bid for the contract with a local partner. "
    "Officials expect a decision in March."
)


def mentions_in(text: str):
    return CompanyMatcher([CompanyNames("Globex", ("Globex Corp",))]).find("", text)


def test_lead_then_the_sentence_naming_the_company():
    summary = summarize(TEXT, mentions_in(TEXT))
    assert summary.startswith("The city council met on Tuesday")
    assert "Globex Corp. said it would bid" in summary
    assert len(summary) <= MAX_CHARS


def test_every_sentence_is_verbatim_from_the_text():
    summary = summarize(TEXT, mentions_in(TEXT))
    for start, end in split_sentences(summary):
        assert summary[start:end] in TEXT


def test_abbreviation_does_not_end_a_sentence():
    spans = split_sentences("Globex Corp. said so. Then it left.")
    assert len(spans) == 2
    assert len(split_sentences("It sold items. Then it left.")) == 2  # "items." is no "ms."


def test_chinese_sentences():
    text = "北风机器人宣布进入欧洲市场。公司计划在柏林设立办公室。分析师表示乐观。"
    spans = split_sentences(text)
    assert [text[s:e] for s, e in spans] == ["北风机器人宣布进入欧洲市场。", "公司计划在柏林设立办公室。", "分析师表示乐观。"]
    assert summarize(text, []) == "北风机器人宣布进入欧洲市场。公司计划在柏林设立办公室。分析师表示乐观。"


def test_long_text_never_cut_mid_word():
    text = "Globex " + "extraordinarily " * 60 + "long sentence."
    summary = summarize(text, mentions_in(text))
    assert len(summary) <= MAX_CHARS
    assert summary.endswith("…")
    assert summary[:-1].split()[-1] in ("extraordinarily", "Globex")


def test_blank_lines_and_leading_breaks():
    assert summarize("\n\nFirst line\n\nSecond.", []) == "First line Second."


def test_fallback_used_when_there_is_no_text():
    assert summarize("", [], fallback="Feed description here.") == "Feed description here."
    assert summarize("", []) == ""


def test_shorten_cuts_at_a_word_and_cjk_anywhere():
    assert shorten("  a b  ", 10) == "a b"
    assert shorten("alpha beta gamma", 12) == "alpha beta…"
    assert shorten("北风机器人宣布进入欧洲市场", 6) == "北风机器人…"
    assert shorten("Supercalifragilistic word", 10) == "Supercali…"  # one long word: cut inside


def test_closing_quotes_stay_with_their_sentence():
    text = '他说：“我们会进入欧洲。”公司随后发布了计划。 He said: "We will grow." Then he left.'
    sentences = [text[s:e] for s, e in split_sentences(text)]
    assert sentences == ['他说：“我们会进入欧洲。”', "公司随后发布了计划。", 'He said: "We will grow."', "Then he left."]
