"""Tests of lookups end to end: ranking, filters and paging in the store, answers from Commands."""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.commands import Commands
from bot.matcher import CompanyNames
from bot.models import Article, Mention
from bot.query import CompanyIndex
from bot.store import MIGRATIONS, Store

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc)
INDEX = CompanyIndex([CompanyNames("Globex"), CompanyNames("Northwind"), CompanyNames("Initech"),
                      CompanyNames("Twitter"), CompanyNames("Xiaomi", ("小米",))])


def story(url: str, title: str, text: str, *, days_old: float = 1, source: str = "wire",
          language: str | None = "en") -> Article:
    published = NOW - timedelta(days=days_old)
    return Article(source=source, url=f"https://news.test/{url}", guid=None, title=title, text=text,
                   published=published, fetched_at=NOW, language=language)


def add(store: Store, article: Article, *companies: str, about: bool = True, score: float = 3.0) -> None:
    """Store `article` naming `companies` (one mention each, in the text) with the given salience."""
    mentions = []
    for company in companies:
        start = article.text.find(company)
        mentions.append(Mention(company, company, "text", max(start, 0), max(start, 0) + len(company)))
    store.add_article(article, mentions, [], salience={c: (score, about) for c in companies})


def urls(results) -> list[str]:
    return [r.url.rsplit("/", 1)[1] for r in results]


@pytest.fixture
def store():
    with Store(":memory:") as opened:
        yield opened


# --- ranking ---

def test_title_hit_beats_text_hit(store: Store) -> None:
    add(store, story("text", "Quarterly roundup", "Globex reported sprockets in its accounts."), "Globex")
    add(store, story("title", "Sprockets at Globex", "Globex reported its accounts today."), "Globex")
    assert urls(store.search(companies=["Globex"], terms=["sprockets"], now=NOW)) == ["title", "text"]
    assert urls(store.search(terms=["sprockets"], now=NOW)) == ["title", "text"]


def test_about_beats_passing_mention(store: Store) -> None:
    add(store, story("passing", "Sprockets news", "Globex and the sprockets trade."), "Globex",
        about=False, score=1.0)
    add(store, story("about", "Sprockets news", "Globex and the sprockets trade."), "Globex", about=True)
    assert urls(store.search(companies=["Globex"], terms=["sprockets"], now=NOW)) == ["about", "passing"]
    assert urls(store.search(companies=["Globex"], now=NOW)) == ["about", "passing"]


def test_newer_beats_older_at_equal_relevance(store: Store) -> None:
    add(store, story("old", "Sprockets news", "Globex and the sprockets trade.", days_old=20), "Globex")
    add(store, story("new", "Sprockets news", "Globex and the sprockets trade.", days_old=2), "Globex")
    assert urls(store.search(companies=["Globex"], terms=["sprockets"], now=NOW)) == ["new", "old"]
    assert urls(store.search(terms=["sprockets"], now=NOW)) == ["new", "old"]
    assert urls(store.search(companies=["Globex"], now=NOW)) == ["new", "old"]


def test_more_requested_companies_rank_first(store: Store) -> None:
    add(store, story("one", "Sprockets news", "Globex and the sprockets trade."), "Globex")
    add(store, story("two", "Sprockets news", "Globex, Northwind and the sprockets trade."), "Globex", "Northwind")
    add(store, story("other", "Sprockets news", "Initech and the sprockets trade."), "Initech")
    assert urls(store.search(companies=["Globex", "Northwind"], terms=["sprockets"], now=NOW)) == ["two", "one"]
    assert urls(store.search(companies=["Northwind", "Globex"], now=NOW)) == ["two", "one"]


# --- filters ---

@pytest.fixture
def archive(store: Store) -> Store:
    add(store, story("fresh", "Globex opens a plant", "Globex builds sprockets in Poland.", days_old=1), "Globex")
    add(store, story("month", "Globex closes a plant", "Globex stops sprockets in Spain.", days_old=30,
                     source="Tech Wire"), "Globex", about=False, score=1.0)
    chinese = story("zh", "小米发布新手机", "小米今天在北京发布了新手机 sprockets。", days_old=3, language="zh-CN")
    add(store, chinese, "Xiaomi")
    # Stored last but published first (a backlog): the `since` rowid bound must not hide it wrongly.
    add(store, story("backlog", "Globex history", "Globex made sprockets in 1990.", days_old=400), "Globex")
    add(store, story("recent-late", "Globex rumour", "A rumour about Globex sprockets.", days_old=0.5), "Globex")
    return store


def test_since_keeps_the_window_even_for_stories_stored_out_of_order(archive: Store) -> None:
    week = NOW - timedelta(days=7)
    assert set(urls(archive.search(terms=["sprockets"], since=week, now=NOW))) == {"recent-late", "fresh", "zh"}
    assert urls(archive.search(companies=["Globex"], since=week, now=NOW)) == ["recent-late", "fresh"]
    assert set(urls(archive.search(companies=["Globex"], since=NOW - timedelta(days=500), now=NOW))) == {
        "fresh", "month", "backlog", "recent-late"}
    assert archive.search(terms=["sprockets"], since=NOW + timedelta(days=1), now=NOW) == []


def test_source_lang_and_about_filters(archive: Store) -> None:
    assert urls(archive.search(terms=["sprockets"], source="tech wire", now=NOW)) == ["month"]
    assert urls(archive.search(companies=["Globex"], source="TECH WIRE", now=NOW)) == ["month"]
    assert urls(archive.search(terms=["北京"], lang="zh", now=NOW)) == ["zh"]  # zh matches zh-CN
    assert archive.search(terms=["北京"], lang="en", now=NOW) == []
    about = archive.search(companies=["Globex"], terms=["sprockets"], about=True, now=NOW)
    assert "month" not in urls(about) and len(about) == 3
    assert "month" not in urls(archive.search(companies=["Globex"], about=True, now=NOW))
    assert "month" not in urls(archive.search(terms=["sprockets"], about=True, now=NOW))


def test_excluded_words_and_phrases(archive: Store) -> None:
    assert "recent-late" not in urls(archive.search(terms=["sprockets"], exclude=["rumour"], now=NOW))
    assert urls(archive.search(companies=["Globex"], exclude=["rumour", "Poland"], now=NOW)) == [
        "month", "backlog"]
    assert urls(archive.search(terms=["sprockets"], exclude=["北京"], now=NOW)) == [
        "recent-late", "fresh", "month", "backlog"]
    assert urls(archive.search(companies=["Globex"], exclude=["stops sprockets"], now=NOW)) == [
        "recent-late", "fresh", "backlog"]
    # Exclusions are text too, never FTS5 syntax.
    for hostile in ('"', "NOT", "OR", "*", "NEAR(", "title:x", "^"):
        archive.search(terms=["sprockets"], exclude=[hostile], now=NOW)
        archive.search(companies=["Globex"], exclude=[hostile], now=NOW)


def test_phrases_match_words_in_order(archive: Store) -> None:
    assert urls(archive.search(phrases=["builds sprockets"], now=NOW)) == ["fresh"]
    assert archive.search(phrases=["sprockets builds"], now=NOW) == []
    assert urls(archive.search(companies=["Globex"], phrases=["a plant"], now=NOW)) == ["fresh", "month"]


# --- paging ---

def test_paging_neither_repeats_nor_skips_while_stories_arrive(store: Store) -> None:
    for n in range(7):
        add(store, story(f"g{n}", f"Globex sprockets {n}", f"Globex made sprockets, batch {n}.", days_old=n + 1),
            "Globex")
    queries = ({"companies": ["Globex"]}, {"terms": ["sprockets"]}, {"companies": ["Globex"], "terms": ["sprockets"]})
    for query in queries:
        expected = urls(store.search(**query, limit=20, now=NOW))
        first = store.search_page(**query, limit=3, now=NOW)
        assert first.cursor and first.offset == 0 and urls(first.results) == expected[:3]
        # A newer story that would rank first arrives, and the clock moves on.
        add(store, story(f"late-{len(query)}-{query.get('terms')}", "Globex sprockets news",
                         "Globex sprockets sprockets.", days_old=0), "Globex")
        later = NOW + timedelta(hours=5)
        second = store.search_page(**query, limit=3, after=first.cursor, now=later)
        third = store.search_page(**query, limit=3, after=second.cursor, now=later)
        assert third.cursor is None and second.offset == 3
        seen = urls(first.results + second.results + third.results)
        assert seen == expected, query  # the same order as one long page at the time of page one
        assert urls(store.search(**query, limit=3, now=later))[0].startswith("late-")  # a new lookup shows it


def test_a_garbled_cursor_is_refused(store: Store) -> None:
    add(store, story("a", "Globex", "Globex."), "Globex")
    with pytest.raises(ValueError):
        store.search_page(companies=["Globex"], after="not a cursor", now=NOW)


# --- salience storage ---

def test_old_databases_get_salience_from_mentions(tmp_path: Path) -> None:
    path = tmp_path / "intel.db"
    with sqlite3.connect(path) as db:  # a version-2 database, as intelbot 0.1 left it
        for migration in MIGRATIONS[:2]:
            migration(db)
        db.execute("PRAGMA user_version = 2")
        db.execute("INSERT INTO articles (id, source, url, title, text, published, fetched_at)"
                   " VALUES (7, 'wire', 'https://news.test/a', 'Globex and Northwind', 'Globex, Globex and Northwind.', ?, ?)",
                   (int(NOW.timestamp()), int(NOW.timestamp())))
        db.executemany("INSERT INTO mentions (article_id, company, alias, field, start, end) VALUES (7, ?, ?, 'text', ?, ?)",
                       [("Globex", "Globex", 0, 6), ("Globex", "Globex", 8, 14), ("Northwind", "Northwind", 19, 28)])
    with Store(path) as store:
        assert urls(store.search(companies=["northwind"], about=True, now=NOW)) == ["a"]
        assert store.story_articles("https://news.test/a") == [("wire", "https://news.test/a", "Globex and Northwind")]  # its own story
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT company, score, about FROM article_companies ORDER BY company").fetchall()
    assert rows == [("Globex", 2.0, 1), ("Northwind", 1.0, 1)]


def test_replacing_an_article_replaces_its_salience(store: Store) -> None:
    article = story("a", "Globex", "Globex sprockets.")
    add(store, article, "Globex", about=True)
    store.add_article(article, [], [], replace=True, salience={"Globex": (0.5, False)})
    assert store.search(companies=["Globex"], about=True, now=NOW) == []
    assert urls(store.search(companies=["Globex"], now=NOW)) == ["a"]


# --- answers ---

@pytest.fixture
def commands(archive: Store) -> Commands:
    return Commands(archive, INDEX, clock=lambda: NOW)


def test_answer_states_typo_corrections(commands: Commands) -> None:
    reply = commands.search("globxe sprockets")
    assert reply.text.startswith("Showing results for Globex (you typed “globxe”).\n")
    assert reply.results


def test_unknown_operators_get_help_naming_them(commands: Commands) -> None:
    reply = commands.search("globex foo:bar")
    assert "`foo:`" in reply.text and "/intel" in reply.text and reply.results == ()
    assert "since:7d" in commands.search("globex since:soon").text


def test_no_result_says_what_was_searched_and_how_to_broaden(commands: Commands) -> None:
    reply = commands.search('globex "steel mill" -rumour since:2026-03-01 source:wire lang:en about:')
    assert reply.results == ()
    for part in ("about Globex", "“steel mill”", "without “rumour”", "since 2026-03-01", "from wire",
                 "“en”", 'Try without the filters: `/intel Globex "steel mill"`'):
        assert part in reply.text, part
    assert "Try fewer words, e.g. `/intel Globex`" in commands.search("globex nowhere").text


def test_more_carries_the_query_and_a_cursor(commands: Commands) -> None:
    first = commands.search("globex -rumour", limit=2)
    assert re.fullmatch(r"globex -rumour after:[0-9a-z.]+", first.more)
    second = commands.search(first.more, limit=2)
    assert "(page 2)" in second.text and second.more is None
    assert not set(urls(first.results)) & set(urls(second.results))
    assert len(first.results + second.results) == 3
    assert "expired" in commands.search("globex after:zzzzzzzzzz.1.zzzz.1").text


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from(list('globex sprockets 北京 "-*():^{}NEAROTsince:7d source:lang:zh about:after:.0a'))
               | st.characters(blacklist_categories=("Cs",)), max_size=60))
def test_any_typed_text_gets_an_answer_never_an_error(text: str) -> None:
    with Store(":memory:") as store:
        add(store, story("a", "Globex sprockets", "Globex sprockets in 北京 (NEAR) \"quoted\"."), "Globex")
        reply = Commands(store, INDEX, clock=lambda: NOW).search(text)
    assert reply.text


def test_common_companies_walk_the_date_index_to_the_same_answer(store: Store, monkeypatch) -> None:
    for n in range(12):
        companies = ("Globex", "Northwind") if n % 4 == 0 else ("Globex",)
        add(store, story(f"g{n}", f"Globex batch {n}", f"Globex, Northwind sprockets {n}.", days_old=n // 3),
            *companies, about=n % 2 == 0)
    queries = ({"companies": ["Globex"]}, {"companies": ["Globex", "Northwind"]},
               {"companies": ["Globex"], "about": True}, {"companies": ["Globex"], "exclude": ["7"]})
    grouped = [urls(store.search(**query, limit=20, now=NOW)) for query in queries]
    monkeypatch.setattr("bot.store.COMMON_COMPANY", 0)  # every company counts as common
    for query, expected in zip(queries, grouped):
        assert urls(store.search(**query, limit=20, now=NOW)) == expected
        first = store.search_page(**query, limit=4, now=NOW)
        second = store.search_page(**query, limit=4, after=first.cursor, now=NOW)
        assert urls(first.results + second.results) == expected[:8]


def test_very_common_words_rank_only_their_newest_matches(store: Store, monkeypatch) -> None:
    # Inserted oldest first, as stories arrive: g0 is the oldest, g9 the newest. The two oldest
    # have the word in their titles, so on relevance alone they would lead.
    for n in range(10):
        title = "Sprockets everywhere" if n < 2 else f"Report {n}"
        add(store, story(f"g{n}", title, f"Globex sprockets note {n}.", days_old=10 - n), "Globex")
    everything = urls(store.search(terms=["sprockets"], limit=3, now=NOW))
    assert everything[0] in ("g0", "g1")
    monkeypatch.setattr("bot.store.COMMON_MATCHES", 5)  # "sprockets" now counts as very common
    capped = urls(store.search(terms=["sprockets"], limit=3, now=NOW))
    assert set(capped) <= {f"g{n}" for n in range(5, 10)}  # only the newest five matches ranked
    first = store.search_page(terms=["sprockets"], limit=3, now=NOW)
    second = store.search_page(terms=["sprockets"], limit=3, after=first.cursor, now=NOW)
    paged = urls(first.results) + urls(second.results)
    assert len(paged) == 5 and set(paged) == {f"g{n}" for n in range(5, 10)} and second.cursor is None
    # When the newest matches cannot fill a page, the whole archive is ranked after all.
    assert len(store.search(terms=["sprockets"], limit=8, now=NOW)) == 8
