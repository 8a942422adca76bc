"""Tests of bot.store: migrations, source state, articles, the outbox and search."""

from __future__ import annotations

import sqlite3
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.errors import StoreError
from bot.models import Alert, Article, Mention
from bot.store import SCHEMA_VERSION, Store

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=timezone.utc)


def make_article(url: str, title: str, text: str, *, days_old: float = 0, source: str = "wire",
                 guid: str | None = None) -> Article:
    """An article published `days_old` days before NOW."""
    published = NOW - timedelta(days=days_old)
    return Article(source=source, url=url, guid=guid, title=title, text=text,
                   published=published, fetched_at=published)


def mentions_of(article: Article, company: str, *aliases: str) -> list[Mention]:
    """A Mention for every occurrence of each alias (default: the company name) in title and text."""
    found = []
    for alias in aliases or (company,):
        for field in ("title", "text"):
            content = getattr(article, field)
            start = content.find(alias)
            while start != -1:
                found.append(Mention(company, alias, field, start, start + len(alias)))
                start = content.find(alias, start + 1)
    return found


def make_alert(article: Article, channel: str = "console",
               companies: tuple[str, ...] = ("Northwind",)) -> Alert:
    """An alert for `article` to `channel`."""
    return Alert(watchlist="rivals", channel=channel, companies=companies, title=article.title,
                 url=article.url, source=article.source, published=article.published,
                 summary=f"Summary of {article.title}")


def table_counts(path: Path) -> dict[str, int]:
    """Row counts read through a separate connection, so they show only what was committed."""
    with sqlite3.connect(path) as db:
        return {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("articles", "mentions", "alerts")}


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "intel.db"


@pytest.fixture
def store(db_path: Path):
    with Store(db_path) as opened:
        yield opened


# --- opening and migrations ---

def test_fresh_file_is_created_migrated_and_reopens(db_path: Path) -> None:
    with Store(db_path) as store:
        store.add_article(make_article("https://news.test/a", "Northwind grows", "Text."), [], [])
    with sqlite3.connect(db_path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with Store(db_path) as store:  # re-opening applies nothing and keeps the data
        assert store.article_count() == 1


def test_memory_database_and_closed_store(tmp_path: Path) -> None:
    store = Store(":memory:")
    assert store.article_count() == 0
    store.close()
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.article_count()


def test_newer_schema_is_refused(db_path: Path) -> None:
    Store(db_path).close()
    with sqlite3.connect(db_path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    expected = (f"database schema version {SCHEMA_VERSION + 1} is newer than this intelbot "
                f"\\({SCHEMA_VERSION}\\); upgrade intelbot")
    with pytest.raises(StoreError, match=expected):
        Store(db_path)


def test_non_database_file_is_refused_with_its_path(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are my notes, not a database\n" * 200)
    with pytest.raises(StoreError) as caught:
        Store(path)
    assert str(path) in str(caught.value)
    assert path.read_bytes().startswith(b"these are my notes")


# --- sources ---

def test_source_state_round_trip(store: Store) -> None:
    assert store.source_state("wire", "https://wire.test/feed").polls == 0
    store.record_poll_success("wire", "https://wire.test/feed", now=NOW, etag='"v1"',
                              last_modified="Sat, 01 Jun 2024 11:00:00 GMT")
    later = NOW + timedelta(minutes=5)
    store.record_poll_failure("wire", "https://wire.test/feed", now=later, error="timed out")
    state = store.source_state("wire", "https://wire.test/feed")
    assert (state.etag, state.last_modified, state.polls) == ('"v1"', "Sat, 01 Jun 2024 11:00:00 GMT", 1)
    assert (state.last_success, state.last_error, state.last_error_at) == (NOW, "timed out", later)
    assert state.last_success.tzinfo is not None

    store.record_poll_success("wire", "https://wire.test/feed", now=later, etag='"v2"',
                              last_modified=None, page_hash="abc")
    state = store.source_state("wire", "https://wire.test/feed")
    assert (state.etag, state.page_hash, state.polls, state.last_error, state.last_error_at) == (
        '"v2"', "abc", 2, None, None)
    assert [s.name for s in store.sources()] == ["wire"]


def test_changed_source_url_resets_http_state(store: Store) -> None:
    store.record_poll_success("wire", "https://old.test/feed", now=NOW, etag='"v1"',
                              last_modified="x", page_hash="h")
    moved = store.source_state("wire", "https://new.test/feed")
    assert (moved.url, moved.etag, moved.last_modified, moved.page_hash, moved.polls) == (
        "https://new.test/feed", None, None, None, 0)
    # A failure at the new URL must not carry the old URL's validators forward.
    store.record_poll_failure("wire", "https://new.test/feed", now=NOW, error="404")
    state = store.source_state("wire", "https://new.test/feed")
    assert (state.etag, state.polls, state.last_error) == (None, 0, "404")
    store.record_poll_success("wire", "https://new.test/feed", now=NOW, etag='"n1"', last_modified=None)
    assert store.source_state("wire", "https://new.test/feed").polls == 1


def test_naive_datetimes_are_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="naive"):
        store.record_poll_failure("wire", "https://wire.test/", now=datetime(2024, 1, 1), error="x")


# --- articles ---

def test_has_article_by_url_or_guid(store: Store) -> None:
    store.add_article(make_article("https://news.test/a", "T", "x", source="wire", guid="g-1"), [], [])
    assert store.has_article(url="https://news.test/a", source="other", guid=None)
    assert store.has_article(url="https://news.test/moved", source="wire", guid="g-1")
    assert not store.has_article(url="https://news.test/moved", source="other", guid="g-1")
    assert not store.has_article(url="https://news.test/b", source="wire", guid="")


def test_add_article_then_duplicate_writes_nothing(store: Store, db_path: Path) -> None:
    article = make_article("https://news.test/a", "Northwind opens in Lyon", "Northwind said so.")
    mentions = mentions_of(article, "Northwind")
    article_id, alert_ids = store.add_article(article, mentions, [make_alert(article)])
    assert len(alert_ids) == 1
    before = table_counts(db_path)
    assert before == {"articles": 1, "mentions": 2, "alerts": 1}

    again = make_article("https://news.test/a", "Other title", "Other text")
    assert store.add_article(again, mentions_of(again, "Other"), [make_alert(again, "slack:#x")]) is None
    assert table_counts(db_path) == before
    assert store.search(terms=["Lyon"], now=NOW)[0].title == "Northwind opens in Lyon"


def test_two_alerts_to_one_channel_queue_once(store: Store) -> None:
    article = make_article("https://news.test/a", "Northwind", "x")
    _, alert_ids = store.add_article(article, [], [make_alert(article), make_alert(article)])
    assert len(alert_ids) == 1 and store.alert_counts()["pending"] == 1


def test_replace_updates_text_mentions_and_adds_only_new_channels(store: Store, db_path: Path) -> None:
    first = make_article("https://pages.test/pricing", "Globex pricing", "Globex charges ten crowns.")
    article_id, first_ids = store.add_article(first, mentions_of(first, "Globex"), [make_alert(first)])
    changed = make_article("https://pages.test/pricing", "Globex pricing",
                           "Globex and Northwind now charge twelve ducats.")
    mentions = mentions_of(changed, "Globex") + mentions_of(changed, "Northwind")
    result = store.add_article(changed, mentions, [make_alert(changed), make_alert(changed, "slack:#intel")],
                               replace=True)
    assert result is not None
    same_id, new_ids = result
    assert same_id == article_id and len(new_ids) == 1 and new_ids[0] not in first_ids
    assert table_counts(db_path) == {"articles": 1, "mentions": 3, "alerts": 2}
    assert store.search(terms=["crowns"], now=NOW) == []
    [hit] = store.search(terms=["ducats"], now=NOW)
    assert hit.companies == ("Globex", "Northwind")  # Globex: 2 mentions (title + text), Northwind: 1
    with sqlite3.connect(db_path) as db:  # the external-content index agrees with the table
        db.execute("INSERT INTO articles_fts (articles_fts) VALUES ('integrity-check')")


def test_failed_add_leaves_nothing_behind(store: Store, db_path: Path) -> None:
    article = make_article("https://news.test/a", "Northwind", "Northwind text")
    bad = Mention("Northwind", "Northwind", "body", 0, 9)  # type: ignore[arg-type]
    with pytest.raises(StoreError):
        store.add_article(article, [*mentions_of(article, "Northwind"), bad], [make_alert(article)])
    assert table_counts(db_path) == {"articles": 0, "mentions": 0, "alerts": 0}
    assert store.search(terms=["Northwind"], now=NOW) == []
    assert not store.has_article(url=article.url, source="wire", guid=None)


def test_error_after_article_and_mentions_rolls_back(store: Store, db_path: Path, monkeypatch) -> None:
    original = make_article("https://pages.test/p", "Globex page", "old words here")
    store.add_article(original, mentions_of(original, "Globex"), [])

    def explode(*args: object, **kwargs: object) -> list[int]:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(Store, "_insert_alerts", explode)
    fresh = make_article("https://news.test/new", "Northwind", "Northwind text")
    with pytest.raises(RuntimeError):
        store.add_article(fresh, mentions_of(fresh, "Northwind"), [make_alert(fresh)])
    changed = make_article("https://pages.test/p", "Globex page", "new words here")
    with pytest.raises(RuntimeError):
        store.add_article(changed, [], [make_alert(changed)], replace=True)
    assert table_counts(db_path) == {"articles": 1, "mentions": 1, "alerts": 0}
    assert [r.url for r in store.search(terms=["old"], now=NOW)] == ["https://pages.test/p"]
    assert store.search(terms=["new"], now=NOW) == []


def test_deleting_an_article_cascades_and_keeps_the_index_in_sync(store: Store, db_path: Path) -> None:
    article = make_article("https://news.test/a", "Northwind", "Northwind text about sprockets")
    store.add_article(article, mentions_of(article, "Northwind"), [make_alert(article)])
    with sqlite3.connect(db_path) as db:  # pruning old stories is a later issue; the schema is ready
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("DELETE FROM articles")
        db.execute("INSERT INTO articles_fts (articles_fts) VALUES ('integrity-check')")
    assert table_counts(db_path) == {"articles": 0, "mentions": 0, "alerts": 0}
    assert store.search(terms=["sprockets"], now=NOW) == []


# --- outbox ---

def test_outbox_transitions(store: Store, db_path: Path) -> None:
    ids = []
    for n in range(3):
        article = make_article(f"https://news.test/{n}", f"Story {n}", "x", days_old=n)
        ids += store.add_article(article, [], [make_alert(article, companies=("Northwind", "Globex"))])[1]
    pending = store.pending_alerts()
    assert [a.id for a in pending] == ids  # oldest row first, whatever the publication dates
    assert pending[0].companies == ("Northwind", "Globex")
    assert pending[1].published == NOW - timedelta(days=1)
    assert len(store.pending_alerts(limit=2)) == 2

    store.mark_sent(ids[0], now=NOW, message_id="1717243200.000100")
    store.mark_failed(ids[1], now=NOW, error="rate limited", permanent=False)
    assert [a.id for a in store.pending_alerts()] == ids[1:]
    store.mark_failed(ids[1], now=NOW, error="channel_not_found", permanent=True)
    assert [a.id for a in store.pending_alerts()] == ids[2:]
    assert store.alert_counts() == {"pending": 1, "sent": 1, "failed": 1}
    with sqlite3.connect(db_path) as db:
        rows = db.execute("SELECT state, attempts, last_error, message_id FROM alerts ORDER BY id").fetchall()
    assert rows[:2] == [("sent", 0, None, "1717243200.000100"), ("failed", 2, "channel_not_found", None)]
    with pytest.raises(StoreError, match="no alert"):
        store.mark_sent(999, now=NOW)


def test_threads_share_one_store(store: Store) -> None:
    def add(worker: int) -> None:
        for n in range(25):
            article = make_article(f"https://news.test/{worker}/{n}", "Northwind", "Northwind text")
            store.add_article(article, mentions_of(article, "Northwind"), [make_alert(article)])
            store.search(companies=["Northwind"], now=NOW)

    threads = [threading.Thread(target=add, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.article_count() == 100 and store.alert_counts()["pending"] == 100


# --- search ---

@pytest.fixture
def archive(store: Store) -> Store:
    stories = [
        ("https://news.test/nw-china", "Northwind expands in China",
         "The logistics firm Northwind opened a hub near Shenzhen. Analysts expect growth.", 1,
         ["Northwind"]),
        ("https://news.test/globex-q2", "Globex quarterly results",
         "Globex reported flat revenue. Its rival Northwind gained share in China.", 2,
         ["Globex", "Northwind"]),
        ("https://news.test/initech", "Initech hires",
         "Initech hired two hundred engineers for its China office.", 3, ["Initech"]),
        ("https://news.test/xiaomi", "小米发布新手机",
         "小米今天在北京发布了新手机。Northwind 的竞争对手也在关注。", 4,
         ["Northwind"]),
    ]
    for url, title, text, days_old, companies in stories:
        article = make_article(url, title, text, days_old=days_old)
        mentions = [m for company in companies for m in mentions_of(article, company)]
        store.add_article(article, mentions, [])
    return store


def test_search_filters_by_company_and_requires_every_term(archive: Store) -> None:
    assert {r.url for r in archive.search(companies=["Globex"], now=NOW)} == {"https://news.test/globex-q2"}
    assert {r.url for r in archive.search(terms=["china"], now=NOW)} == {
        "https://news.test/nw-china", "https://news.test/globex-q2", "https://news.test/initech"}
    both = archive.search(companies=["northwind"], terms=["china", "share"], now=NOW)  # any case
    assert [r.url for r in both] == ["https://news.test/globex-q2"]
    assert both[0].companies == ("Globex", "Northwind") and both[0].published == NOW - timedelta(days=2)
    assert archive.search(terms=["china", "nowhere"], now=NOW) == []
    assert len(archive.search(terms=["china"], limit=2, now=NOW)) == 2


def test_search_ranking_title_age_and_companies(store: Store) -> None:
    stories = [
        ("https://r.test/text", "Quarterly roundup", "Sprockets were mentioned once by Globex.", 1),
        ("https://r.test/title", "Sprockets shortage", "Suppliers for Globex are worried.", 1),
        ("https://r.test/old", "Sprockets shortage", "Suppliers for Globex are worried.", 90),
    ]
    for url, title, text, days_old in stories:
        article = make_article(url, title, text, days_old=days_old)
        store.add_article(article, mentions_of(article, "Globex"), [])
    ranked = [r.url for r in store.search(terms=["sprockets"], now=NOW)]
    assert ranked.index("https://r.test/title") < ranked.index("https://r.test/text")
    assert ranked.index("https://r.test/title") < ranked.index("https://r.test/old")

    both = make_article("https://r.test/both", "Sprockets shortage",
                        "Suppliers for Globex and Northwind worry.", days_old=1)
    store.add_article(both, mentions_of(both, "Globex") + mentions_of(both, "Northwind"), [])
    ranked = store.search(companies=["Globex", "Northwind"], terms=["sprockets"], now=NOW)
    assert ranked[0].url == "https://r.test/both"


def test_search_without_terms_is_newest_first(archive: Store) -> None:
    results = archive.search(companies=["Northwind"], now=NOW)
    assert [r.url for r in results] == [
        "https://news.test/nw-china", "https://news.test/globex-q2", "https://news.test/xiaomi"]
    first = results[0]
    start, end = first.highlights[0]
    assert first.snippet[start:end] == "Northwind"
    assert first.snippet.startswith("The logistics firm")


def test_excerpt_is_cut_at_word_boundaries_around_the_mention(store: Store) -> None:
    words = " ".join(f"word{n}" for n in range(100))
    text = words + " Northwind signed. " + " ".join("tail" for _ in range(80))
    article = make_article("https://news.test/long", "Long story", text)
    store.add_article(article, mentions_of(article, "Northwind"), [])
    [result] = store.search(companies=["Northwind"], now=NOW)
    assert result.snippet.startswith("…word") and result.snippet.endswith("tail…")
    assert len(result.snippet) <= 202
    [(start, end)] = result.highlights
    assert result.snippet[start:end] == "Northwind"


def test_search_snippet_highlights_the_terms(archive: Store) -> None:
    for term in ("shenzhen", "growth"):
        [result] = archive.search(terms=[term], now=NOW)
        assert result.highlights
        for start, end in result.highlights:
            assert result.snippet[start:end].lower() == term
        assert "\x02" not in result.snippet and "\x03" not in result.snippet
    [title_only] = archive.search(terms=["hires"], now=NOW)  # the text has no hit: the title is the snippet
    assert title_only.snippet == "Initech hires"
    assert [title_only.snippet[s:e] for s, e in title_only.highlights] == ["hires"]


@pytest.mark.parametrize("term", [
    '"', 'Northwind"', "*", "north*", "NEAR(", "NEAR(a b)", "OR", "AND", "NOT", "-x", "title:foo",
    '"unbalanced', "^", "^Northwind", "(", ")", "{title}: x", "\x00", "' OR 1=1 --",
])
def test_search_terms_are_text_never_fts_syntax(archive: Store, term: str) -> None:
    archive.search(terms=[term], now=NOW)
    archive.search(companies=["Northwind"], terms=[term, "china"], now=NOW)


def test_search_term_syntax_is_matched_literally(archive: Store) -> None:
    assert [r.url for r in archive.search(terms=["-Shenzhen"], now=NOW)] == ["https://news.test/nw-china"]
    assert archive.search(terms=["OR"], now=NOW) == []  # the word "or", not the operator
    # A term of punctuation only is dropped rather than matching nothing.
    assert len(archive.search(terms=["***", "china"], now=NOW)) == 3
    assert archive.search(terms=["***"], now=NOW) == []


def test_search_cjk_terms_by_substring(archive: Store) -> None:
    [result] = archive.search(terms=["小米"], now=NOW)
    assert result.url == "https://news.test/xiaomi"
    assert [result.snippet[s:e] for s, e in result.highlights] == ["小米"]
    assert [r.url for r in archive.search(companies=["Northwind"], terms=["北京"], now=NOW)] == [
        "https://news.test/xiaomi"]
    mixed = archive.search(terms=["northwind", "北京"], now=NOW)  # one FTS5 term, one substring term
    assert [r.url for r in mixed] == ["https://news.test/xiaomi"]
    assert sorted(mixed[0].snippet[s:e].lower() for s, e in mixed[0].highlights) == ["northwind", "北京"]
    assert archive.search(terms=["上海"], now=NOW) == []


def test_empty_query_finds_nothing(archive: Store) -> None:
    assert archive.search(now=NOW) == []
    assert archive.search(companies=[" "], terms=["", "  "], now=NOW) == []
    assert archive.search(companies=["Umbrella"], now=NOW) == []
    assert archive.search(terms=["china"], limit=0, now=NOW) == []


def test_checkpoint_copies_the_wal_into_the_file_without_the_store_lock(store: Store, db_path: Path) -> None:
    for number in range(40):
        article = make_article(f"https://news.test/{number}", f"Northwind {number}", "Northwind text " * 50)
        store.add_article(article, mentions_of(article, "Northwind"), [])
    before = db_path.stat().st_size  # the articles are in the WAL still (under 1,000 pages)
    with store._lock:  # another thread in a transaction: the checkpoint does not wait for it
        store.checkpoint()
    assert db_path.stat().st_size > before
    assert store.article_count() == 40
    store.close()
    store.checkpoint()  # closed: nothing to do, and no error
    with Store(":memory:") as memory:
        memory.checkpoint()


def test_source_states_read_at_once_match_source_state(tmp_path):
    store = Store(tmp_path / "intel.db")
    now = datetime(2026, 3, 1, tzinfo=timezone.utc)
    store.record_poll_success("wire", "https://wire.test/feed", now=now, etag='"e1"', last_modified=None)
    store.record_poll_failure("blog", "https://blog.test/feed", now=now, error="HTTP 503")
    asked = [("wire", "https://wire.test/feed"), ("blog", "https://blog.test/new-feed"), ("new", "https://new.test/")]
    states = store.source_states(asked)
    assert states == {name: store.source_state(name, url) for name, url in asked}
    assert states["wire"].etag == '"e1"' and states["wire"].polls == 1
    assert states["blog"].failures == 0 and states["blog"].url == "https://blog.test/new-feed"  # its URL changed
    assert states["new"].polls == 0 and states["new"].etag is None
