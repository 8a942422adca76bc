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


# ---- splitting only as far as needed gives the summary of splitting everything ------------

from bisect import bisect_left  # noqa: E402
from itertools import pairwise  # noqa: E402

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from bot.models import Mention  # noqa: E402
from bot.summarize import MAX_SENTENCES  # noqa: E402


def summarize_splitting_everything(text: str, mentions, *, fallback: str = "", limit: int = MAX_CHARS) -> str:
    """The summary as written before bot.summarize split lazily: every sentence first."""
    sentences = split_sentences(text)
    if not sentences:
        return shorten(" ".join(fallback.split()), limit)
    starts = sorted(m.start for m in mentions if m.field == "text")

    def names(start: int, end: int) -> bool:
        found = bisect_left(starts, start)
        return found < len(starts) and starts[found] < end

    naming = [index for index, (start, end) in enumerate(sentences) if names(start, end)]
    part = [" ".join(text[start:end].split()) for start, end in sentences]

    def joined(indices: list[int]) -> str:
        pieces = [part[i] for i in indices]
        out = pieces[0]
        for before, after in pairwise(pieces):
            out += ("" if before[-1] in "。！？" or after[0] in "。！？" else " ") + after
        return out

    chosen = [0]
    for index in naming + list(range(1, len(sentences))):
        if len(chosen) == MAX_SENTENCES:
            break
        if index in chosen:
            continue
        candidate = sorted([*chosen, index])
        if len(joined(candidate)) <= limit:
            chosen = candidate
        elif index in naming:
            continue
        else:
            break
    summary = joined(sorted(chosen))
    return summary if len(summary) <= limit else shorten(summary, limit)


PIECES = ["Globex said", " it grew", ". ", "! ", "? ", "\n", "Inc. ", "。", "销售增长", " word", "  ", "\"", ") ",
          "A much longer clause that takes up a good part of the character budget on its own"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=60), st.lists(st.integers(0, 10_000), max_size=6),
       st.integers(20, 400))
def test_lazy_splitting_summarises_as_splitting_everything(pieces, positions, limit):
    text = "".join(pieces)
    mentions = [Mention("Globex", "Globex", "text", p % (len(text) + 1), p % (len(text) + 1) + 1) for p in positions]
    assert summarize(text, mentions, fallback="feed text", limit=limit) == summarize_splitting_everything(
        text, mentions, fallback="feed text", limit=limit)
