"""Tests for bot.extract: decoding, article text and metadata, garbage input, the worker pool."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from bot.errors import ExtractError
from bot.extract import Extractor, decode_html, extract_page, language_code

URL = "https://ledger.example/business/northwind-rotterdam"

# A fictional newspaper page: the article sits between a nav, a share bar, a sidebar and a footer.
ARTICLE = """<!DOCTYPE html>
<html lang="en-GB">
<head>
  <meta charset="utf-8">
  <title>Northwind Robotics opens Rotterdam plant | The Harbour Ledger</title>
  <meta name="description" content="Northwind Robotics will build warehouse robots in Rotterdam from June.">
  <meta property="og:title" content="Northwind Robotics opens a plant in Rotterdam">
  <meta property="article:published_time" content="2024-03-05T09:30:00+01:00">
</head>
<body>
  <header>
    <a href="/">The Harbour Ledger</a>
    <nav><ul>
      <li><a href="/world">World</a></li><li><a href="/business">Business</a></li>
      <li><a href="/tech">Technology</a></li><li><a href="/subscribe">Subscribe today</a></li>
    </ul></nav>
  </header>
  <main>
    <article>
      <h1>Northwind Robotics opens a plant in Rotterdam</h1>
      <div class="share-bar"><a href="#">Share on Twitter</a> <a href="#">Share on LinkedIn</a>
        <a href="#">Email this story</a></div>
      <p>Northwind Robotics, the warehouse automation company founded in Tilburg, said on Tuesday
      that it would open its first large plant in the port of Rotterdam in June, hiring about
      400 engineers and technicians over the next two years.</p>
      <p>The company has been shipping its autonomous shelf-picking robots from a small workshop
      since 2019. Chief executive Ilse Bakker said demand from grocery chains in Germany and
      Poland had outgrown the old site within a year.</p>
      <p>"We are building for the next ten years, not the next quarter," Bakker told reporters at
      the harbour, adding that the new plant would run on power from offshore wind farms.</p>
      <p>Competitors Globex Logistics and Initech Automation have both announced European
      expansions this year, and analysts expect prices for picking robots to fall by a fifth.</p>
    </article>
    <aside><h2>Most read</h2><ul><li><a href="/a">Ferry strike enters third week</a></li>
      <li><a href="/b">Tulip prices hit record</a></li></ul></aside>
  </main>
  <footer><p>Copyright 2024 The Harbour Ledger. All rights reserved.</p>
    <a href="/privacy">Privacy policy</a> <a href="/cookies">Cookie settings</a></footer>
</body>
</html>
"""

# A fictional Chinese news page, served as GBK and declared only by its <meta> tag.
CHINESE = """<!DOCTYPE html>
<html><head><meta charset="{label}"><title>华星电子在杭州开设新工厂</title>
<meta name="description" content="华星电子宣布在杭州建设新工厂。"></head>
<body><nav><a href="/">首页</a> <a href="/tech">科技</a> <a href="/finance">财经</a></nav>
<article><h1>华星电子在杭州开设新工厂</h1>
<p>虚构公司华星电子周二宣布，将在杭州建设一座新的智能手机工厂，预计明年投产，并招聘约两千名员工。</p>
<p>公司首席执行官李明远表示，新工厂将主要生产面向欧洲市场的中端机型，以应对日益激烈的竞争。</p>
<p>分析人士认为，此举将使华星电子在与竞争对手的价格战中占据更有利的位置。</p>
</article><footer>版权所有 虚构新闻网</footer></body></html>"""


def test_article_text_without_navigation_and_furniture():
    page = extract_page(ARTICLE.encode(), URL)
    assert page.title == "Northwind Robotics opens a plant in Rotterdam"
    assert page.text.startswith("Northwind Robotics, the warehouse automation company")  # no headline
    assert "hiring about 400 engineers and technicians" in page.text
    assert "Competitors Globex Logistics and Initech Automation" in page.text
    for furniture in ("Subscribe today", "Technology", "Share on Twitter", "Most read",
                      "Ferry strike", "All rights reserved", "Cookie settings"):
        assert furniture not in page.text
    assert page.published == datetime(2024, 3, 5, 8, 30, tzinfo=UTC)
    assert page.language == "en"
    assert page.description == "Northwind Robotics will build warehouse robots in Rotterdam from June."


def test_paragraphs_are_separated_by_newlines_with_spaces_collapsed():
    page = extract_page(ARTICLE, URL)  # str input works too
    paragraphs = page.text.split("\n")
    assert any(p.startswith("The company has been shipping") for p in paragraphs)
    assert all(p == " ".join(p.split()) and p for p in paragraphs)


@pytest.mark.parametrize("label", ["gbk", "gb2312", "GBK"])
def test_chinese_page_declared_by_meta_only(label: str):
    page = extract_page(CHINESE.format(label=label).encode("gbk"), "https://news.example.cn/hx")
    assert page.title == "华星电子在杭州开设新工厂"
    assert "虚构公司华星电子周二宣布，将在杭州建设一座新的智能手机工厂" in page.text
    assert "首页" not in page.text
    assert page.description == "华星电子宣布在杭州建设新工厂。"


def test_meta_http_equiv_declares_the_charset():
    html = ('<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1251">'
            "</head><body><p>Рога и копыта</p></body></html>").encode("windows-1251")
    assert "Рога и копыта" in decode_html(html)


def test_http_charset_beats_the_meta_tag():
    html = '<html><head><meta charset="utf-8"></head><body><p>Zoë’s café</p></body></html>'
    assert "Zoë’s café" in decode_html(html.encode("cp1252"), "windows-1252")


def test_byte_order_mark_beats_everything():
    html = '<html><head><meta charset="iso-8859-1"></head><body>Grüße</body></html>'
    assert "Grüße" in decode_html(b"\xef\xbb\xbf" + html.encode(), "iso-8859-1")


@pytest.mark.parametrize("label", [None, "no-such-charset", "base64", "rot13", "utf-7"])
def test_undeclared_utf8_and_unusable_labels(label: str | None):
    html = "<html><body><p>Łódź → Kraków</p></body></html>"
    assert "Łódź → Kraków" in decode_html(html.encode(), label)
    meta = f'<html><head><meta charset="{label}"></head><body><p>Łódź</p></body></html>'
    assert "Łódź" in decode_html(meta.encode())


@pytest.mark.parametrize(
    ("value", "code"),
    [("en-GB", "en"), ("EN", "en"), ("zh_Hans_CN", "zh"), ("deu", "de"), ("de, en", "de"),
     ("x-klingon", None), ("", None), (None, None), ("123", None)],
)
def test_language_code(value: str | None, code: str | None):
    assert language_code(value) == code


def test_language_from_content_language_meta():
    html = ('<html><head><meta http-equiv="Content-Language" content="fr-CA"><title>Acme</title>'
            "</head><body><p>Acme ouvre une usine.</p></body></html>")
    assert extract_page(html, URL).language == "fr"


def test_page_with_only_a_title_keeps_the_title():
    page = extract_page("<html><head><title>Acme earnings call</title></head><body></body></html>", URL)
    assert (page.title, page.text) == ("Acme earnings call", "")


def junk_inputs() -> list[bytes | str]:
    generator = random.Random(7)
    noise = [bytes(generator.randrange(256) for _ in range(generator.randrange(1, 3000))) for _ in range(8)]
    return [
        b"",
        b"  \n\t",
        b"\x00\xff" * 2000,
        bytes(range(256)) * 40,
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >>",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        "<div>" * 50_000 + "deep",
        "<html><body></body></html>",
        "<html><body>" + "<table><tr><td>" * 5_000 + "</body></html>",
        *noise,
    ]


@pytest.mark.parametrize("junk", junk_inputs(), ids=lambda junk: repr(junk[:12]))
def test_garbage_raises_extract_error_only(junk: bytes | str):
    with pytest.raises(ExtractError):
        extract_page(junk, URL)


def test_nothing_extractable_says_so():
    with pytest.raises(ExtractError, match="no article text found"):
        extract_page("<html><head></head><body><div></div></body></html>", URL)


# ---- the worker pool ----------------------------------------------------------------------


async def test_extractor_in_processes_returns_what_extract_page_returns():
    html = ARTICLE.encode()
    chinese = CHINESE.format(label="gbk").encode("gbk")
    with Extractor(max_workers=1) as extractor:
        assert await extractor.extract(html, URL) == extract_page(html, URL)
        assert await extractor.extract(chinese, URL, charset="gbk") == extract_page(chinese, URL)
        with pytest.raises(ExtractError, match="the page is empty"):
            await extractor.extract(b"", URL)


async def test_the_first_page_starts_every_worker_from_a_thread():
    # Starting the fork server and a worker blocks for hundreds of milliseconds: `extract`
    # has `start` do it in a thread, all workers at once, instead of one per call on the loop.
    # _processes is the executor's own table of workers (see the crash test below).
    with Extractor(max_workers=2) as extractor:
        assert await extractor.extract(ARTICLE.encode(), URL) == extract_page(ARTICLE, URL)
        assert len(extractor._pool._processes) == 2
        extractor.start()  # again: nothing new to start
        assert len(extractor._pool._processes) == 2


async def test_extractor_in_threads():
    with Extractor(processes=False) as extractor:
        assert await extractor.extract(ARTICLE.encode(), URL) == extract_page(ARTICLE, URL)


async def test_worker_crash_is_an_extract_error_and_the_pool_comes_back():
    extractor = Extractor(max_workers=1)
    try:
        await extractor.extract(ARTICLE.encode(), URL)
        # Kill the worker as an out-of-memory killer would. _processes is the executor's own
        # table of workers: reading it is the only way to reach them from outside.
        for process in list(extractor._pool._processes.values()):
            process.kill()
            process.join(5)
        with pytest.raises(ExtractError, match="worker crashed"):
            await extractor.extract(ARTICLE.encode(), URL)
        page = await extractor.extract(ARTICLE.encode(), URL)
        assert page.title == "Northwind Robotics opens a plant in Rotterdam"
    finally:
        extractor.close()


def test_utf8_page_with_a_stale_legacy_charset_declaration_is_read_as_utf8():
    # Pages re-saved as UTF-8 often keep their old <meta charset=gb2312>.
    html = ('<html lang="zh"><head><meta charset="gb2312"><title>北风机器人进入欧洲</title></head>'
            "<body><article><p>" + "北风机器人周一宣布，将在柏林设立欧洲总部。" * 5 + "</p></article></body></html>")
    page = extract_page(html.encode("utf-8"), "https://news.test/a")
    assert page.title.startswith("北风机器人进入欧洲")
    assert "柏林" in page.text
