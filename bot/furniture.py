"""Tell page furniture from article text, one extracted line at a time.

Extraction keeps some of the page around an article: share and follow bars ("Facebook
Twitter LinkedIn"), photo credits and copyright lines ("Photo: Reuters", "© Thomson Reuters"),
"Read more:" links to other stories, cookie notices, QR-code prompts and reference lists. A
company named there is not coverage. These functions look only at the line itself, so they
work on any extractor's output, and return the reason a line is furniture, or None.
"""

from __future__ import annotations

import re

# A line that starts like this introduces a link to another story, not this one's text.
_LINK_LEAD = re.compile(
    r"^\s*(?:[-–—•·*]\s*)?(?:read more|more|related|related stories|related articles|see also|also read|"
    r"recommended|most read|most popular|trending|watch|listen|lesen sie auch|mehr zum thema|"
    r"auch interessant|lire aussi|à lire aussi|voir aussi|leer más|相关阅读|相关新闻|相关文章|延伸阅读|推荐阅读|"
    r"热门推荐|猜你喜欢)\s*[:：»>|]",
    re.IGNORECASE,
)
_CREDIT = re.compile(
    r"(?:©|\(c\)\s*\d{4}|\bcopyright\b|\ball rights reserved\b|\bphoto(?:graph)?s?\s*(?:by|:|credit)|"
    r"\bimages?\s*(?:by|:|credit)|\bcredit\s*:|\bpicture\s*:|\bfoto\s*:|\bbild\s*:|\bquelle\s*:|"
    r"\bsource\s*:|\bgetty images\b|\bvia getty\b|\bap photo\b|\breuters/|/reuters\b|"
    r"图片来源|图源|来源[:：]|版权|转载|责任编辑|编辑[:：]|引用日期|\[\d+\])",
    re.IGNORECASE,
)
# Reference lists: scholarly citations and encyclopaedia footnotes, whatever their length.
_REFERENCE = re.compile(
    r"(?:\bgoogle scholar\b|\bpubmed\b|\bcrossref\b|\bdoi:\s*10\.|\bdoi\.org/|\bretrieved (?:on )?\d|"
    r"\baccessed (?:on )?\d|\[引用日期|引用日期)",
    re.IGNORECASE,
)
# "Follow @someone on Twitter", "Reach the reporter at http://...": a contact line, not the story.
_CONTACT = re.compile(r"\b(?:follow|reach|contact|find)\b[^.!?\n]{0,60}(?:@\w|://)", re.IGNORECASE)
_NOTICE = re.compile(
    r"(?:\bcookies?\b|\bprivacy policy\b|\bterms of (?:use|service)\b|\bsubscribe\b|\bnewsletter\b|"
    r"\bsign up\b|\blog ?in\b|\badvertisement\b|\bsponsored\b|扫一扫|扫码|二维码|关注(?:我们|公众号|该公众号)|"
    r"公众号|下载客户端|打开app)",
    re.IGNORECASE,
)
_SHARE = re.compile(
    r"^\s*(?:share|share this|share on|follow us|follow|tweet|email|print|teilen|partager|compartir|分享|"
    r"分享到)\b",
    re.IGNORECASE,
)
_SOCIAL = {
    "facebook", "twitter", "x", "linkedin", "instagram", "youtube", "whatsapp", "email", "e-mail",
    "print", "share", "reddit", "pinterest", "telegram", "tiktok", "flipboard", "messenger",
    "wechat", "weibo", "微信", "微博", "qq", "copy", "link", "tumblr", "mail", "sms", "comment",
    "comments", "google", "apple", "news", "podcasts", "spotify", "rss",
}
_WORD = re.compile(r"[\w'’.-]+")
SHORT_LINE_WORDS = 12  # furniture lines are labels and lists, not sentences


_REFERENCE_WORDS = ("scholar", "pubmed", "crossref", "doi", "retrieved", "accessed", "引用日期")


def furniture_reason(line: str) -> str | None:
    """Why `line` is page furniture ("share bar", "photo credit", ...), or None for article text."""
    stripped = line.strip()
    if not stripped:
        return None
    lowered = stripped.lower()
    if _LINK_LEAD.search(stripped):
        return "a link to another story"
    if any(word in lowered for word in _REFERENCE_WORDS) and _REFERENCE.search(stripped):
        return "a reference list"
    if len(stripped) > 400:
        return None  # a paragraph: credits, notices and bars are all short
    words = _WORD.findall(stripped)
    if not _is_short(stripped, words, limit=20):
        return None
    if _CREDIT.search(stripped):
        return "a credit or copyright line"
    if _NOTICE.search(stripped) and _is_short(stripped, words, limit=12):
        return "a site notice (cookies, subscriptions, QR codes)"
    if _SHARE.search(stripped) and _is_short(stripped, words, limit=SHORT_LINE_WORDS) and not _is_sentence(stripped):
        return "a share or follow bar"
    if len(words) >= 2 and _is_short(stripped, words, limit=SHORT_LINE_WORDS):
        social = sum(1 for word in words if word.lower().strip(".") in _SOCIAL)
        if social >= 2 and social * 2 >= len(words):
            return "a share or follow bar"
    return None


def in_contact_sentence(text: str, start: int, end: int) -> bool:
    """True when [start, end) sits in a sentence like "Follow @someone on Twitter" or "reach us at http://".

    Judged per sentence, not per line: an author bio naming the companies the author worked
    for is article text even when its last sentence gives the author's handle.
    """
    low = max(text.rfind(mark, 0, start) for mark in ".!?\n") + 1
    highs = [i for i in (text.find(mark, end) for mark in ".!?\n") if i >= 0]
    return bool(_CONTACT.search(text[low : min(highs) if highs else len(text)]))


_CJK = re.compile(r"[\u3000-\u9fff]")


def _is_short(line: str, words: list[str], *, limit: int) -> bool:
    # CJK lines have no spaces: count characters instead, about two per word.
    if _CJK.search(line):
        return len(line) <= limit * 2
    return len(words) <= limit


def _is_sentence(line: str) -> bool:
    return line.rstrip()[-1:] in ".!?。！？" and len(line.split()) > 5


def looks_like_code(line: str) -> bool:
    """True for lines of source code or configuration (a user-agent string, `x = "..."`)."""
    stripped = line.strip()
    if len(stripped) < 20:
        return False
    if stripped.startswith(("#", "//", "/*", "$ ", ">>> ")):
        return True
    if ";" not in stripped and "=" not in stripped and "{" not in stripped:
        return False  # prose: no statement separators, assignments or blocks
    if "=" in stripped and _ASSIGNMENT.search(stripped):
        return True
    symbols = sum(stripped.count(char) for char in _CODE_SYMBOLS)
    return symbols / len(stripped) > 0.12


_ASSIGNMENT = re.compile(r"\w\s*=\s*[\"'\[{(]")
_CODE_SYMBOLS = "=;{}()[]<>/\\\"'_|$#"
