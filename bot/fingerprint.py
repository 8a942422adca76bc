"""Story identity by content: a SimHash of the lead and headline that survives copies and edits.

The same wire story runs on many sites with a different headline, different boilerplate
around it and, in feeds, only its first lines. What the copies share is the lead, so the
fingerprint is built from word pairs (character pairs in Chinese and Japanese) of the first
LEAD_TOKENS tokens of article prose, plus the headline's pairs at a quarter of the weight
(headlines are A/B-tested and rewritten).
Lines that are not prose (bylines, "Advertisement", related-story lists, share bars, cookie
notices) are skipped, so boilerplate added at the start does not shift the lead. The
constants were chosen with bench/dedupe.py; see its output for the distances behind them.
"""

from __future__ import annotations

import hashlib
import re
import struct

from bot.furniture import furniture_reason
from bot.matcher import normalize
from bot.text import is_cjk

MAX_DISTANCE = 10  # bits; two unrelated texts land this close with probability 1e-8
SHINGLE = 2  # tokens per feature
LEAD_TOKENS = 32  # tokens of prose that make the lead
LEAD_FLAT = 20  # lead tokens at full weight, after which the weight falls towards LEAD_TOKENS
LEAD_WEIGHT = 4
TITLE_WEIGHT = 1
MIN_LEAD_FEATURES = 8  # below this, unrelated short texts collide
PROSE_LINE_WORDS = 16  # a line this long is prose even without a full stop (headlines are shorter)
LINE_CHARS = 400  # of a line: room for LEAD_TOKENS tokens, and a bound on the work per line
TITLE_TOKENS = 32  # a long "headline" (a whole description) must not outweigh the lead
TITLE_CHARS = 500

# A token is a word of a script written with spaces, or one CJK character (no spaces to split
# on; pairs of characters then stand in for words). The ranges are those of bot.text.is_cjk,
# and \w is str.isalnum() plus "_", as in bot.text.is_word_char (a test checks they agree);
# a regex finds them without a Python call per character.
_CJK = "\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f\U00020000-\U0003ffff"
_TOKEN = re.compile(rf"[^\W{_CJK}]+|(?=\w)[{_CJK}]")
_SENTENCE_END = re.compile(r"[.!?。．！？…][\"'”’)\]」』）]*\s*$")
# Longer cookie notices than bot.furniture recognises (it stops at 12 words).
_NOTICE = re.compile(r"cookie.*(?:agree|accept|consent|privacy|brows|experience|同意|隐私|浏览)|(?:同意|接受).*cookie")
_UNSIGNED = (1 << 64) - 1


def fingerprint(title: str, text: str) -> int | None:
    """64-bit SimHash of the normalised title and lead, as a signed int that fits SQLite INTEGER.

    -2**63 <= value < 2**63. None when the text has too little prose to tell stories apart
    (a headline alone is not enough: "Live updates" heads many stories); the caller then
    relies on the URL alone. Never raises on any str.
    """
    lead = _shingles(_lead_tokens(text))
    if len(set(lead)) < MIN_LEAD_FEATURES:
        return None
    weights: dict[str, int] = {}
    for position, feature in enumerate(lead):
        weights[feature] = weights.get(feature, 0) + _lead_weight(position)
    for feature in _shingles(_TOKEN.findall(normalize(title[:TITLE_CHARS]))[:TITLE_TOKENS]):
        weights[feature] = weights.get(feature, 0) + TITLE_WEIGHT
    value = _simhash(weights)
    return value - (1 << 64) if value >> 63 else value


def distance(a: int, b: int) -> int:
    """Number of bits in which two fingerprints differ (signed or unsigned form alike)."""
    return ((a ^ b) & _UNSIGNED).bit_count()


def same_story(a: int | None, b: int | None) -> bool:
    """True when two fingerprints are close enough to be copies of one story; False if either is None."""
    return a is not None and b is not None and distance(a, b) <= MAX_DISTANCE


def _lead_tokens(text: str) -> list[str]:
    """The first LEAD_TOKENS tokens of the text's prose lines."""
    tokens: list[str] = []
    for line in text.splitlines():
        words = _TOKEN.findall(normalize(line[:LINE_CHARS]))
        if not words or not _is_prose(line, words):
            continue
        tokens += words
        if len(tokens) >= LEAD_TOKENS:
            break
    return tokens[:LEAD_TOKENS]


def _is_prose(line: str, words: list[str]) -> bool:
    """False for a byline, "Advertisement", a related-story headline, a share bar or a notice.

    Article prose ends with a full stop; labels, headlines and lists of links do not.
    """
    if _words(words[: 2 * PROSE_LINE_WORDS]) < PROSE_LINE_WORDS and not _SENTENCE_END.search(line.rstrip()[-8:]):
        return False
    return furniture_reason(line) is None and _NOTICE.search(line[:LINE_CHARS].casefold()) is None


def _words(tokens: list[str]) -> float:
    """Length in words, a CJK character counting as half a word."""
    return len(tokens) - sum(1 for token in tokens if len(token) == 1 and is_cjk(token)) / 2


def _lead_weight(position: int) -> int:
    """Full weight for the first LEAD_FLAT tokens, then less: a text cut after them loses little."""
    if position < LEAD_FLAT:
        return LEAD_WEIGHT
    return max(1, LEAD_WEIGHT * (LEAD_TOKENS - position) // (LEAD_TOKENS - LEAD_FLAT))


def _shingles(tokens: list[str]) -> list[str]:
    if 0 < len(tokens) < SHINGLE:
        return [" ".join(tokens)]
    return [" ".join(tokens[i : i + SHINGLE]) for i in range(len(tokens) - SHINGLE + 1)]


# Each hash becomes 64 16-bit lanes of one big int, one lane per bit (the UTF-16 code units of
# its binary digits: "0" is 0x30, "1" is 0x31), so a single multiply-add counts all 64 bits.
# No lane may carry into the next: a lane sums at most 0x31 * (total weight, under 200) < 2**16.
_ZERO_LANES = int.from_bytes(("0" * 64).encode("utf-16-be"), "big")
_LANES = struct.Struct(">64H")


def _simhash(weights: dict[str, int]) -> int:
    """Each bit is set when features whose hash has it set outweigh those that do not."""
    lanes = 0
    total = 0
    for feature, weight in weights.items():
        digest = hashlib.blake2b(feature.encode("utf-8", "surrogatepass"), digest_size=8).digest()
        bits = format(int.from_bytes(digest, "big"), "064b").encode("utf-16-be")
        lanes += weight * int.from_bytes(bits, "big")
        total += weight
    lanes -= total * _ZERO_LANES
    counts = _LANES.unpack(lanes.to_bytes(128, "big"))  # the highest bit first
    return int("".join("1" if 2 * count > total else "0" for count in counts), 2)
