"""Tests for bot.feeds: URL canonicalisation and reading RSS, Atom, RDF and JSON Feed documents."""

from __future__ import annotations

import json
import logging
import random
from datetime import UTC, datetime

import pytest

from bot.errors import FeedError
from bot.feeds import MAX_ENTRIES, MAX_SUMMARY_CHARS, MAX_TITLE_CHARS, TRACKING_PARAMETERS, canonical_url, parse_feed

NOW = datetime(2024, 3, 6, 12, 0, tzinfo=UTC)
FEED_URL = "https://wire.example/news/feed.xml"

# ---- canonical_url ------------------------------------------------------------------------

CANONICAL = [
    ("HTTP://Wire.EXAMPLE", "http://wire.example/"),
    ("https://wire.example:443/a", "https://wire.example/a"),
    ("http://wire.example:80/a", "http://wire.example/a"),
    ("http://wire.example:8080/a", "http://wire.example:8080/a"),
    ("https://user:secret@wire.example/a#comments", "https://wire.example/a"),
    ("https://wire.example/a?utm_source=rss&id=7&fbclid=x&b=2", "https://wire.example/a?id=7&b=2"),
    ("https://wire.example/a?UTM_Medium=mail&gclid=1&mc_cid=2&mc_eid=3", "https://wire.example/a"),
    ("https://wire.example/a?z=1&a=2", "https://wire.example/a?z=1&a=2"),  # order kept
    ("https://wire.example/a?x=1&&y=2&", "https://wire.example/a?x=1&y=2"),
    ("https://wire.example/?", "https://wire.example/"),
    ("https://wire.example/a b", "https://wire.example/a%20b"),
    ("https://wire.example/a%2fb?q=caf%c3%a9", "https://wire.example/a%2Fb?q=caf%C3%A9"),
    ("https://Bücher.example/straße", "https://xn--bcher-kva.example/stra%C3%9Fe"),
    ("http://[2001:DB8::1]:8080/x", "http://[2001:db8::1]:8080/x"),
    ("https://wire.example./a", "https://wire.example/a"),
    ("  https://wire.example/a\n", "https://wire.example/a"),
    ("https://wire.example/st\nory", "https://wire.example/story"),
    ("mailto:desk@wire.example", ""),
    ("javascript:alert(1)", ""),
    ("ftp://files.wire.example/a", ""),
    ("/relative/without/base", ""),
    ("", ""),
    ("http://[::1", ""),
    ("http://wire.example:99999/", ""),
    ("https://", ""),
]


@pytest.mark.parametrize(("url", "expected"), CANONICAL)
def test_canonical_url(url: str, expected: str):
    assert canonical_url(url) == expected


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        ("../b?x=1", "https://wire.example/a/c/feed.xml", "https://wire.example/a/b?x=1"),
        ("/story/9", FEED_URL, "https://wire.example/story/9"),
        ("//cdn.example/x", "https://wire.example/", "https://cdn.example/x"),
        ("https://other.example/x", FEED_URL, "https://other.example/x"),
    ],
)
def test_canonical_url_resolves_against_base(url: str, base: str, expected: str):
    assert canonical_url(url, base) == expected


def test_tracking_parameters_live_in_one_constant():
    for name in ("fbclid", "gclid", "dclid", "msclkid", "igshid", "yclid", "_hsenc", "mkt_tok", "ocid"):
        assert name in TRACKING_PARAMETERS
        assert canonical_url(f"https://wire.example/a?{name}=1&keep=2") == "https://wire.example/a?keep=2"


def test_canonical_url_is_idempotent():
    pieces = {
        "scheme": ["http", "HTTPS", "https", "ftp"],
        "userinfo": ["", "ann:pw@", "@"],
        "host": ["wire.example", "WIRE.Example.", "bücher.example", "[::1]", "10.0.0.1", ""],
        "port": ["", ":80", ":443", ":8080", ":0"],
        "path": ["", "/", "/a b", "/a/../b", "/%7euser", "/ü/%zz", "//x", "/a;p=1"],
        "query": ["", "?", "?utm_x=1", "?a=1&utm_b=2&c", "?q=%e2%82%ac&&", "?a=1?b", "?x=a+b"],
        "fragment": ["", "#top", "#"],
    }
    generator = random.Random(20240306)
    urls = [url for url, _ in CANONICAL]
    for _ in range(500):
        part = {name: generator.choice(options) for name, options in pieces.items()}
        urls.append(
            f"{part['scheme']}://{part['userinfo']}{part['host']}{part['port']}"
            f"{part['path']}{part['query']}{part['fragment']}"
        )
    for url in urls:
        once = canonical_url(url)
        assert canonical_url(once) == once, url


# ---- feed fixtures (fictional publishers and stories) ------------------------------------

RSS_20 = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel>
<title>Wire Example</title><link>https://wire.example/</link><description>News</description>
<item>
  <title>Acme Rockets &lt;b&gt;opens&lt;/b&gt; a plant in   Lyon</title>
  <link>https://wire.example/news/acme-lyon?utm_source=rss&amp;id=4#top</link>
  <guid isPermaLink="false">wire-4</guid>
  <pubDate>Tue, 05 Mar 2024 10:30:00 +0200</pubDate>
  <description><![CDATA[<p>Acme <b>Rockets</b> said&nbsp;on Tuesday</p><p>it would hire 300 people.</p>
  <script>alert("x")</script>]]></description>
</item>
<item>
  <title>Globex &amp; Initech agree to merge, Tom &amp; Jerry &lt;3</title>
  <link>/news/globex-initech</link>
  <pubDate>Mon, 04 Mar 2024 08:00:00 GMT</pubDate>
</item>
<item>
  <title>A story without a date</title>
  <link>https://wire.example/news/undated</link>
</item>
</channel></rss>
"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Umbrella Corp blog</title>
  <id>tag:umbrella.example,2024:blog</id>
  <updated>2024-03-05T09:00:00Z</updated>
  <entry>
    <title type="html">Umbrella &lt;em&gt;launches&lt;/em&gt; a vaccine</title>
    <link rel="edit" href="https://umbrella.example/api/posts/17"/>
    <link rel="enclosure" href="https://umbrella.example/media/17.mp3"/>
    <link rel="alternate" type="text/html" href="/blog/vaccine"/>
    <id>tag:umbrella.example,2024:17</id>
    <published>2024-03-05T09:00:00+01:00</published>
    <updated>2024-03-05T11:00:00+01:00</updated>
    <content type="html">&lt;p&gt;The company &lt;a href="x"&gt;said&lt;/a&gt; more.&lt;/p&gt;</content>
  </entry>
  <entry>
    <title>Only updated</title>
    <link href="https://umbrella.example/blog/update"/>
    <id>tag:umbrella.example,2024:18</id>
    <updated>2024-03-04T07:15:00Z</updated>
    <summary>Short text summary.</summary>
  </entry>
</feed>
"""

RDF = b"""<?xml version="1.0" encoding="utf-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
         xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://initech.example/">
    <title>Initech press</title><link>https://initech.example/</link><description>Press</description>
    <items><rdf:Seq><rdf:li rdf:resource="https://initech.example/press/tps"/></rdf:Seq></items>
  </channel>
  <item rdf:about="https://initech.example/press/tps">
    <title>Initech retires the TPS report</title>
    <link>https://initech.example/press/tps</link>
    <description>After 20 years, the cover sheet goes.</description>
    <dc:date>2024-02-29T16:45:00-05:00</dc:date>
  </item>
</rdf:RDF>
"""

JSON_FEED = {
    "version": "https://jsonfeed.org/version/1.1",
    "title": "Hooli Newsroom",
    "home_page_url": "https://hooli.example/",
    "items": [
        {
            "id": 1001,
            "url": "https://hooli.example/news/nucleus?utm_campaign=x",
            "title": "Hooli ships Nucleus &amp; more",
            "content_html": "<p>Compression <i>at scale</i>.</p>",
            "date_published": "2024-03-01T10:00:00Z",
        },
        {
            "id": "1002",
            "external_url": "https://blog.example/hooli-review",
            "title": "A review",
            "content_text": "Plain   text\nbody.",
            "date_modified": "2024-03-02T10:00:00+02:00",
        },
        {"id": "1003", "url": "/news/relative", "title": "Relative", "summary": "Sum."},
    ],
}


def entries_of(content: bytes, **options) -> list:
    entries = parse_feed(content, source="wire", url=FEED_URL, now=NOW, **options)
    assert entries is not None
    return entries


def test_rss_20():
    first, second, third = entries_of(RSS_20, content_type="application/rss+xml")
    assert first.source == "wire"
    assert first.title == "Acme Rockets opens a plant in Lyon"
    assert first.link == "https://wire.example/news/acme-lyon?utm_source=rss&id=4#top"
    assert first.url == "https://wire.example/news/acme-lyon?id=4"
    assert first.guid == "wire-4"
    assert first.summary == "Acme Rockets said on Tuesday it would hire 300 people."
    assert first.published == datetime(2024, 3, 5, 8, 30, tzinfo=UTC)
    assert second.title == "Globex & Initech agree to merge, Tom & Jerry <3"
    assert second.link == second.url == "https://wire.example/news/globex-initech"
    assert second.guid is None
    assert second.summary == ""
    assert third.published is None


def test_atom_prefers_the_alternate_link_and_falls_back_to_updated():
    first, second = entries_of(ATOM, content_type="application/atom+xml")
    assert first.title == "Umbrella launches a vaccine"
    assert first.link == "https://wire.example/blog/vaccine"  # relative, resolved against the feed URL
    assert first.guid == "tag:umbrella.example,2024:17"
    assert first.summary == "The company said more."
    assert first.published == datetime(2024, 3, 5, 8, 0, tzinfo=UTC)
    assert second.published == datetime(2024, 3, 4, 7, 15, tzinfo=UTC)
    assert second.summary == "Short text summary."


def test_rdf():
    (entry,) = entries_of(RDF)
    assert entry.title == "Initech retires the TPS report"
    assert entry.url == "https://initech.example/press/tps"
    assert entry.summary == "After 20 years, the cover sheet goes."
    assert entry.published == datetime(2024, 2, 29, 21, 45, tzinfo=UTC)


def test_rss_091_with_html_entities():
    document = b"""<?xml version="1.0"?>
<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"
  "http://my.netscape.com/publish/formats/rss-0.91.dtd">
<rss version="0.91"><channel><title>Old wire</title><link>https://old.example/</link>
<item><title>Caf&eacute; chain Brewco expands</title><link>https://old.example/brewco</link></item>
</channel></rss>"""
    (entry,) = entries_of(document)
    assert entry.title == "Café chain Brewco expands"


def test_json_feed():
    first, second, third = entries_of(
        json.dumps(JSON_FEED).encode(), content_type="application/feed+json"
    )
    assert first.guid == "1001"
    assert first.title == "Hooli ships Nucleus & more"
    assert first.url == "https://hooli.example/news/nucleus"
    assert first.summary == "Compression at scale."
    assert first.published == datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
    assert second.link == "https://blog.example/hooli-review"
    assert second.summary == "Plain text body."
    assert second.published == datetime(2024, 3, 2, 8, 0, tzinfo=UTC)
    assert third.link == "https://wire.example/news/relative"
    assert third.summary == "Sum."


def test_json_feed_is_recognised_without_a_content_type():
    assert len(entries_of(json.dumps(JSON_FEED).encode())) == 3


def test_http_charset_decides_the_encoding():
    document = "<rss version='2.0'><channel><item><title>Société Générique rachète Zorg</title>" \
        "<link>https://wire.example/sg</link></item></channel></rss>".encode("iso-8859-1")
    (entry,) = entries_of(document, content_type="text/xml", charset="iso-8859-1")
    assert entry.title == "Société Générique rachète Zorg"


def test_xml_declaration_decides_the_encoding_without_http_charset():
    document = ("<?xml version='1.0' encoding='windows-1251'?><rss version='2.0'><channel><item>"
                "<title>Компания Рога и копыта</title><link>https://wire.example/rk</link>"
                "</item></channel></rss>").encode("windows-1251")
    (entry,) = entries_of(document)
    assert entry.title == "Компания Рога и копыта"


def test_utf16_feed_with_byte_order_mark():
    document = ("<?xml version='1.0' encoding='utf-16'?><rss version='2.0'><channel><item>"
                "<title>Vandelay Industries imports</title><link>https://wire.example/v</link>"
                "</item></channel></rss>").encode("utf-16")
    (entry,) = entries_of(document, content_type="text/xml")
    assert entry.title == "Vandelay Industries imports"


def test_dates_far_in_the_future_are_dropped():
    document = b"""<rss version="2.0"><channel>
<item><title>Tomorrow-ish</title><link>https://wire.example/1</link>
  <pubDate>Wed, 06 Mar 2024 23:00:00 GMT</pubDate></item>
<item><title>Next week</title><link>https://wire.example/2</link>
  <pubDate>Wed, 13 Mar 2024 12:00:00 GMT</pubDate></item>
<item><title>Garbled</title><link>https://wire.example/3</link>
  <pubDate>the day after the launch</pubDate></item>
</channel></rss>"""
    soon, later, garbled = entries_of(document)
    assert soon.published == datetime(2024, 3, 6, 23, 0, tzinfo=UTC)
    assert later.published is None
    assert garbled.published is None


def test_non_english_weekday_is_still_a_date():
    document = b"""<rss version="2.0"><channel><item><title>Notizia</title>
<link>https://wire.example/it</link><pubDate>mar, 05 mar 2024 10:00:00 +0100</pubDate>
</item></channel></rss>"""
    (entry,) = entries_of(document)
    assert entry.published == datetime(2024, 3, 5, 9, 0, tzinfo=UTC)


def test_long_summary_is_cut():
    words = " ".join(["quarterly"] * 600)
    document = f"""<rss version="2.0"><channel><item><title>Long</title>
<link>https://wire.example/long</link><description>{words}</description></item></channel></rss>"""
    (entry,) = entries_of(document.encode())
    assert len(entry.summary) <= MAX_SUMMARY_CHARS
    assert entry.summary.endswith("quarterly…")


def test_one_broken_entry_is_skipped_and_logged(caplog: pytest.LogCaptureFixture):
    document = b"""<rss version="2.0"><channel>
<item><title>Good one</title><link>https://wire.example/good-1</link></item>
<item><description>Neither a title nor a link</description></item>
<item><title>Good two</title><link>https://wire.example/good-2</link></item>
</channel></rss>"""
    with caplog.at_level(logging.WARNING, logger="bot.feeds"):
        entries = parse_feed(document, source="wire", url=FEED_URL, now=NOW)
    assert [entry.title for entry in entries] == ["Good one", "Good two"]
    assert "source wire: skipped feed entry 2: no link and no title" in caplog.messages


def test_json_feed_item_that_fails_is_skipped_and_logged(caplog: pytest.LogCaptureFixture):
    document = dict(JSON_FEED, items=[["not", "an", "object"], JSON_FEED["items"][0]])
    with caplog.at_level(logging.WARNING, logger="bot.feeds"):
        entries = parse_feed(json.dumps(document).encode(), source="hooli", url=FEED_URL, now=NOW)
    assert [entry.guid for entry in entries] == ["1001"]
    assert any(message.startswith("source hooli: skipped feed entry 1:") for message in caplog.messages)


def test_entry_with_title_but_no_link_is_kept_without_url():
    document = b"""<rss version="2.0"><channel><item><title>Statement from Acme</title></item>
</channel></rss>"""
    (entry,) = entries_of(document)
    assert (entry.title, entry.link, entry.url) == ("Statement from Acme", "", "")


def test_valid_feed_without_entries_gives_an_empty_list():
    document = b"<rss version='2.0'><channel><title>Quiet wire</title></channel></rss>"
    assert entries_of(document) == []


# ---- not a feed, or not readable ---------------------------------------------------------

HTML_PAGE = b"""<!DOCTYPE html><html lang="en"><head><title>Acme Rockets</title></head>
<body><nav>Home</nav><article><h1>Acme opens a plant</h1><p>Text.</p></article></body></html>"""


@pytest.mark.parametrize("content_type", [None, "text/html"])
def test_html_page_is_not_a_feed(content_type: str | None):
    assert parse_feed(HTML_PAGE, source="acme", url=FEED_URL, content_type=content_type) is None


def test_other_json_is_not_a_feed():
    document = json.dumps({"status": "ok", "items": [1, 2]}).encode()
    assert parse_feed(document, source="api", url=FEED_URL, content_type="application/json") is None


@pytest.mark.parametrize(
    ("content", "content_type", "words"),
    [
        (b"", None, "the document is empty"),
        (b"  \n", "application/rss+xml", "the document is empty"),
        (
            b"<?xml version='1.0'?>\n<rss version='2.0'>\n<channel><item><title>Cut o",
            "application/rss+xml",
            "not a readable feed: the XML is not well-formed (no element found at line 3",
        ),
        (b"\x00\x9f\x13garbage\xff", "application/rss+xml", "neither XML nor JSON"),
        (b"<urlset><url>https://wire.example/</url></urlset>", "application/xml", "root element is <urlset>"),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": [', None, "invalid JSON Feed: Expecting"),
        (b'{"title": "no version"}', "application/feed+json", "invalid JSON Feed: no 'version'"),
        (b'{"version": "https://jsonfeed.org/version/1", "items": {}}', None, "'items' is not a list"),
    ],
)
def test_unreadable_feed_raises_feed_error(content: bytes, content_type: str | None, words: str):
    with pytest.raises(FeedError) as caught:
        parse_feed(content, source="wire", url=FEED_URL, content_type=content_type)
    assert words in str(caught.value)


def test_truncated_feed_with_entries_is_still_read():
    document = RSS_20[: RSS_20.index(b"<item>\n  <title>A story without")]  # cut after two items
    assert [entry.guid for entry in entries_of(document)] == ["wire-4", None]


def test_feed_that_yields_nothing_because_it_is_broken_says_so():
    document = b"<?xml version='1.0'?>\n<rss version='2.0'><channel><title>Wire</title><item>"
    with pytest.raises(FeedError, match="not well-formed"):
        parse_feed(document, source="wire", url=FEED_URL)


def test_bytes_are_never_opened_as_a_file_name(tmp_path):
    secret = tmp_path / "secret.xml"
    secret.write_bytes(RSS_20)
    with pytest.raises(FeedError):  # read as a document, not as a path to open
        parse_feed(str(secret).encode(), source="wire", url=FEED_URL)


# ---- hostile documents (the whole-pipeline versions live in tests/test_hostile.py) -----------


@pytest.mark.parametrize(
    ("prologue", "words"),
    [
        ('<!DOCTYPE rss [<!ENTITY a "aaaa">]>', "the XML entity 'a' (entity expansion"),
        ('<!DOCTYPE rss [\n<!ENTITY b "&a;&a;">\n]>', "the XML entity 'b'"),
        ('<!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/hostname">]>', "an external XML entity 'x'"),
        ("<!DOCTYPE rss [<!ENTITY x PUBLIC '-//X//EN' 'http://evil.example/x'>]>", "an external XML entity 'x'"),
        ('<!DOCTYPE rss [<!ENTITY % p SYSTEM "http://evil.example/p.dtd"> %p;]>', "an external XML entity 'p'"),
        ('<!DOCTYPE rss [<!-- ]> --><!ENTITY a "x">]>', "the XML entity 'a'"),  # a comment hiding "]>"
        ('<!DOCTYPE rss [<!ENTITY q "]>"><!ENTITY a "x">]>', "the XML entity 'q'"),
        ('<!DOCTYPE rss [<!ENTITY t "<b>"><!ENTITY a "x">]>', "the XML entity 't'"),
        ('<!doctype rss [<!entity a "x">]>', "the XML entity 'a'"),
    ],
)
def test_entity_declarations_are_refused(prologue: str, words: str):
    document = (f"<?xml version='1.0'?>{prologue}<rss version='2.0'><channel><item><title>&a;</title>"
                "<link>https://wire.example/a</link></item></channel></rss>").encode()
    with pytest.raises(FeedError, match="refused: the feed declares") as caught:
        parse_feed(document, source="wire", url=FEED_URL, content_type="application/rss+xml")
    assert words in str(caught.value)


def test_entity_text_inside_an_entry_is_not_a_declaration():
    document = (b"<rss version='2.0'><channel><item><title>How XXE works</title><link>https://wire.example/x</link>"
                b"<description><![CDATA[<!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]>]]></description>"
                b"</item></channel></rss>")
    (entry,) = entries_of(document)
    assert entry.title == "How XXE works"


def test_a_feed_of_many_items_is_cut_to_the_first_ones(caplog: pytest.LogCaptureFixture):
    items = "".join(f"<item><title>Story {n}</title><link>https://wire.example/{n}</link></item>" for n in range(600))
    document = f"<rss version='2.0'><channel><title>Flood</title>{items}<ttl>5</ttl></channel></rss>".encode()
    with caplog.at_level(logging.WARNING, logger="bot.feeds"):
        entries = entries_of(document)
    assert [entry.title for entry in entries] == [f"Story {n}" for n in range(MAX_ENTRIES)]
    assert "source wire: the feed lists 600 entries; reading the first 500" in caplog.messages


def test_atom_feed_of_many_entries_is_cut_too():
    entries = "".join(f"<entry><title>E{n}</title><link href='https://wire.example/{n}'/><id>e{n}</id></entry>"
                      for n in range(MAX_ENTRIES + 5))
    document = f"<feed xmlns='http://www.w3.org/2005/Atom'><title>F</title>{entries}</feed>".encode()
    assert len(entries_of(document)) == MAX_ENTRIES


def test_repeated_entries_are_kept_once():
    document = b"""<rss version="2.0"><channel>
<item><title>First</title><link>https://wire.example/1</link><guid>g1</guid></item>
<item><title>Same guid</title><link>https://wire.example/2</link><guid>g1</guid></item>
<item><title>Same page</title><link>https://wire.example/1?utm_source=x</link><guid>g3</guid></item>
<item><title>Other</title><link>https://wire.example/4</link><guid>g4</guid></item>
</channel></rss>"""
    assert [entry.title for entry in entries_of(document)] == ["First", "Other"]


def test_titles_and_links_have_limits():
    title = "Globex " * 10_000
    document = (f"<rss version='2.0'><channel><item><title>{title}</title><link>https://wire.example/ok</link></item>"
                f"<item><title>Long link</title><link>https://wire.example/{'x' * 5000}</link></item>"
                "</channel></rss>").encode()
    first, second = entries_of(document)
    assert len(first.title) <= MAX_TITLE_CHARS and first.title.endswith("…")
    assert second.link == second.url == ""


@pytest.mark.parametrize(
    ("document", "encoding", "http_charset"),
    [
        # GBK bytes under a UTF-8 declaration, HTTP saying UTF-8 too: both wrong, the bytes win
        ("<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><item><title>北风机器人在中国开设新工厂"
         "，雇用四百名员工</title><link>https://wire.example/zh</link></item></channel></rss>", "gbk", "utf-8"),
        # the server's default ISO-8859-1 against the publisher's own gb2312 declaration
        ("<?xml version='1.0' encoding='gb2312'?><rss version='2.0'><channel><item><title>北风机器人在中国开设新工厂"
         "</title><link>https://wire.example/zh</link></item></channel></rss>", "gbk", "iso-8859-1"),
        # UTF-8 bytes that the HTTP header calls ISO-8859-1
        ("<rss version='2.0'><channel><item><title>Société Générique rachète Zorg à Zürich</title>"
         "<link>https://wire.example/sg</link></item></channel></rss>", "utf-8", "iso-8859-1"),
        # windows-1252 bytes (curly quotes) that everyone calls UTF-8
        ("<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><item><title>Globex’s “new” plant – "
         "café</title><link>https://wire.example/q</link></item></channel></rss>", "windows-1252", "utf-8"),
        ("<?xml version='1.0' encoding='utf-16'?><rss version='2.0'><channel><item><title>Vandelay Ünïcode</title>"
         "<link>https://wire.example/v</link></item></channel></rss>", "utf-16-le", None),  # no byte order mark
        ("<?xml version='1.0' encoding='utf-32'?><rss version='2.0'><channel><item><title>Vandelay Ünïcode</title>"
         "<link>https://wire.example/v</link></item></channel></rss>", "utf-32", "iso-8859-1"),
    ],
)
def test_text_is_right_whatever_the_labels_say(document: str, encoding: str, http_charset: str | None):
    (entry,) = entries_of(document.encode(encoding), content_type="text/xml", charset=http_charset)
    assert entry.title == document.split("<title>")[1].split("</title>")[0]


@pytest.mark.parametrize("charset", ["punycode", "rot13", "hex", "x-no-such-thing", "utf-7"])
def test_charset_labels_that_are_not_charsets_are_ignored(charset: str):
    entry, *_ = entries_of(RSS_20.replace(b"Lyon", b"Lyon \xc3\xa0 bient\xc3\xb4t"), charset=charset)
    assert entry.title == "Acme Rockets opens a plant in Lyon à bientôt"


def test_json_nested_too_deeply():
    document = b'{"version": "https://jsonfeed.org/version/1.1", "items": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with pytest.raises(FeedError, match="nested too deeply"):
        parse_feed(document, source="wire", url=FEED_URL)
    assert parse_feed(b"[" * 100_000, source="api", url=FEED_URL, content_type="application/json") is None
