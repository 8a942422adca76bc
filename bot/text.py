"""Plain-text helpers shared by the core and every adapter: words across scripts, shortening."""

from __future__ import annotations

from collections.abc import Callable, Sequence


def is_cjk(char: str) -> bool:
    """True for characters of scripts that do not separate words with spaces."""
    code = ord(char)
    return (
        0x2E80 <= code <= 0x9FFF  # CJK radicals, kana, CJK unified ideographs, ...
        or 0xAC00 <= code <= 0xD7AF  # Hangul syllables
        or 0xF900 <= code <= 0xFAFF  # CJK compatibility ideographs
        or 0xFF66 <= code <= 0xFF9F  # half-width katakana
        or 0x20000 <= code <= 0x3FFFF  # CJK extensions B and later
    )


def is_word_char(char: str) -> bool:
    """True for characters that continue a word in a script written with spaces."""
    return (char.isalnum() or char == "_") and (char < "\u2e80" or not is_cjk(char))


def shorten(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters at a word boundary, with an ellipsis if cut.

    Chinese and Japanese text can be cut anywhere; a single word longer than half the limit
    is cut inside rather than leaving almost nothing.
    """
    text = text.strip()
    if len(text) <= limit:
        return text
    if limit <= 1:
        return "…"[:limit]
    cut = limit - 1  # room for the ellipsis
    while cut > 0 and is_word_char(text[cut - 1]) and is_word_char(text[cut]):
        cut -= 1
    if cut <= (limit - 1) // 2:
        cut = limit - 1
    return text[:cut].rstrip(" ,;:.-–—") + "…"


def fit(text: str, limit: int, escape: Callable[[str], str]) -> str:
    """`text` shortened at a word so that its escaped form has at most `limit` characters.

    Cutting after escaping could split an escape sequence; cutting before it could overflow.
    """
    if limit <= 0:
        return ""
    cut = limit
    while len(escaped := escape(shorten(text, cut))) > limit:
        cut = max(1, min(cut - 1, cut * limit // len(escaped)))  # shrink in proportion
    return escaped


def mark_spans(text: str, spans: Sequence[tuple[int, int]], limit: int, *,
               escape: Callable[[str], str], mark: Callable[[str], str]) -> str:
    """`text` cut at a word near `limit` and escaped, with each span passed through `mark`.

    Spans that overlap an earlier one or run past the cut are shown plain. `mark` receives
    the raw span text and must escape it itself (each platform marks bold its own way).
    """
    end = len(shorten(text, limit).rstrip("…"))
    pieces, position = [], 0
    for start, stop in sorted(spans):
        if start < position or stop > end or start >= stop:
            continue
        word = text[start:stop]
        pieces += [escape(text[position:start]), mark(word) if word.strip() else escape(word)]
        position = stop
    pieces.append(escape(text[position:end]))
    return "".join(pieces) + ("…" if end < len(text.strip()) else "")
