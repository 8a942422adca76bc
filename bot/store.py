"""The database: schema, migrations, full-text search and the alert outbox, over SQLite."""

from __future__ import annotations

import json
import math
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace as replace_fields
from datetime import datetime, timedelta, timezone
from functools import partial
from pathlib import Path

from bot.errors import StoreError
from bot.lookup_sql import (
    ABOUT_ANY,
    COMMON_COMPANY,
    COMMON_MATCHES,
    Cursor,
    DAY_FLOOR,
    FLATTEN,
    MAX_OFFSET,
    OPEN,
    RECENT,
    SNIPPET_TOKENS,
    SearchPage,
    decode_cursor,
    encode_cursor,
    excerpt,
    occurrences,
    parse_terms,
    ranking_sql,
    scan_filters,
    unmark,
)
from bot.models import Alert, Article, Coverage, DigestItem, Mention, Outlet, SearchResult, SourceState
from bot.storyindex import FingerprintIndex, Row, nearest

_BUSY_SECONDS = 5.0
_PRAGMAS = (
    "PRAGMA journal_mode = WAL",  # also the first read: a non-database file fails here
    "PRAGMA foreign_keys = ON",
    f"PRAGMA busy_timeout = {int(_BUSY_SECONDS * 1000)}",
    "PRAGMA synchronous = NORMAL",  # safe with WAL; only the last commits may be lost on power loss
)

# Statements run one by one: `executescript` would COMMIT first and break the migration's transaction.
_M001 = (
    """CREATE TABLE sources (
        name TEXT PRIMARY KEY, url TEXT NOT NULL, etag TEXT, last_modified TEXT, page_hash TEXT,
        polls INTEGER NOT NULL DEFAULT 0, last_success INTEGER, last_error TEXT, last_error_at INTEGER)""",
    """CREATE TABLE articles (
        id INTEGER PRIMARY KEY, source TEXT NOT NULL, url TEXT UNIQUE NOT NULL, guid TEXT,
        title TEXT NOT NULL DEFAULT '', text TEXT NOT NULL DEFAULT '', description TEXT NOT NULL DEFAULT '',
        language TEXT, published INTEGER NOT NULL, fetched_at INTEGER NOT NULL)""",
    "CREATE INDEX articles_source_guid ON articles (source, guid)",
    "CREATE INDEX articles_published ON articles (published)",
    # unicode61 splits on non-letters only, so Chinese/Japanese/Thai runs become one token each;
    # `search` falls back to substring filtering for such terms (a later issue may add trigram).
    """CREATE VIRTUAL TABLE articles_fts USING fts5 (title, text, content = 'articles',
        content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
        INSERT INTO articles_fts (rowid, title, text) VALUES (new.id, new.title, new.text); END""",
    """CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
        INSERT INTO articles_fts (articles_fts, rowid, title, text)
        VALUES ('delete', old.id, old.title, old.text); END""",
    """CREATE TRIGGER articles_fts_update AFTER UPDATE OF title, text ON articles BEGIN
        INSERT INTO articles_fts (articles_fts, rowid, title, text)
        VALUES ('delete', old.id, old.title, old.text);
        INSERT INTO articles_fts (rowid, title, text) VALUES (new.id, new.title, new.text); END""",
    # NOCASE: a lookup for "northwind" finds mentions stored under the configured "Northwind".
    """CREATE TABLE mentions (
        article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
        company TEXT NOT NULL COLLATE NOCASE, alias TEXT NOT NULL,
        field TEXT NOT NULL CHECK (field IN ('title', 'text')),
        "start" INTEGER NOT NULL CHECK ("start" >= 0), "end" INTEGER NOT NULL CHECK ("end" >= "start"))""",
    "CREATE INDEX mentions_company ON mentions (company, article_id)",
    # Per-article reads (result companies, snippets, replace, cascading deletes) need this one.
    "CREATE INDEX mentions_article ON mentions (article_id)",
    """CREATE TABLE alerts (
        id INTEGER PRIMARY KEY, article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
        watchlist TEXT NOT NULL, channel TEXT NOT NULL, companies TEXT NOT NULL, title TEXT NOT NULL,
        url TEXT NOT NULL, source TEXT NOT NULL, published INTEGER NOT NULL, summary TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, last_attempt_at INTEGER,
        created_at INTEGER NOT NULL, sent_at INTEGER, message_id TEXT, UNIQUE (article_id, channel))""",
    # Entries sort by (state, id): serves both the oldest-first outbox read and the counts.
    "CREATE INDEX alerts_state ON alerts (state)",
)


def m001_initial(db: sqlite3.Connection) -> None:
    """Create sources, articles with their FTS5 index, mentions and the alert outbox."""
    for statement in _M001:
        db.execute(statement)


def m002_alert_why(db: sqlite3.Connection) -> None:
    """Give each alert the one line that says why it matched ("'Xiaomi' in the title, 3 mentions")."""
    db.execute("ALTER TABLE alerts ADD COLUMN why TEXT NOT NULL DEFAULT ''")


def m003_article_companies(db: sqlite3.Connection) -> None:
    """Keep each company's salience in each story (score, about) for ranking and `about:`.

    Older stories get their mention count as score and count as "about": the matcher's
    verdict was not stored then, and filtering them out of `about:` would hide them.
    """
    db.execute("""CREATE TABLE article_companies (
        article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
        company TEXT NOT NULL COLLATE NOCASE, score REAL NOT NULL, about INTEGER NOT NULL,
        PRIMARY KEY (article_id, company)) WITHOUT ROWID""")
    db.execute("CREATE INDEX article_companies_company ON article_companies (company, article_id)")
    db.execute("""INSERT INTO article_companies (article_id, company, score, about)
        SELECT article_id, company, count(*), 1 FROM mentions GROUP BY article_id, company""")


def m004_stories(db: sqlite3.Connection) -> None:
    """Stories (copies of one article gathered under the first), event tags, and coverage replies.

    `articles.story_id` is the id of the story's first article (its own id for a first
    article); `fingerprint` is the content fingerprint (bot/fingerprint.py) that joins copies.
    An outbox row is an `alert` (the story's message in a channel) or a `coverage` row (a
    later article of the story, posted as a reply in the alert's thread).
    """
    db.execute("ALTER TABLE articles ADD COLUMN story_id INTEGER")
    db.execute("ALTER TABLE articles ADD COLUMN fingerprint INTEGER")
    db.execute("UPDATE articles SET story_id = id")
    db.execute("CREATE INDEX articles_story ON articles (story_id)")
    db.execute("""CREATE TABLE article_events (
        article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE, tag TEXT NOT NULL,
        PRIMARY KEY (article_id, tag)) WITHOUT ROWID""")
    db.execute("CREATE INDEX article_events_tag ON article_events (tag, article_id)")
    db.execute("ALTER TABLE alerts ADD COLUMN kind TEXT NOT NULL DEFAULT 'alert' CHECK (kind IN ('alert', 'coverage'))")
    db.execute("ALTER TABLE alerts ADD COLUMN story_id INTEGER")
    db.execute("ALTER TABLE alerts ADD COLUMN events TEXT NOT NULL DEFAULT '[]'")
    db.execute("ALTER TABLE alerts ADD COLUMN new_companies TEXT NOT NULL DEFAULT '[]'")
    db.execute("UPDATE alerts SET story_id = article_id")
    db.execute("CREATE INDEX alerts_story ON alerts (story_id, channel)")


def m005_delivery(db: sqlite3.Connection) -> None:
    """Retries, tiers and digests of the outbox, and a source's failures in a row.

    `next_attempt_at`: when a failed row may be tried again (backoff). `tier`: `realtime`
    rows are posted as they come, `digest` rows wait for their watchlist's digest. `ping`:
    the user groups / roles a realtime alert notifies. `digests` remembers when each
    watchlist's digest last went to each channel: the next one starts there.
    """
    db.execute("ALTER TABLE alerts ADD COLUMN next_attempt_at INTEGER")
    db.execute("ALTER TABLE alerts ADD COLUMN tier TEXT NOT NULL DEFAULT 'realtime'"
               " CHECK (tier IN ('realtime', 'digest'))")
    db.execute("ALTER TABLE alerts ADD COLUMN ping TEXT NOT NULL DEFAULT '[]'")
    db.execute("CREATE INDEX alerts_channel_sent ON alerts (channel, sent_at)")
    db.execute("ALTER TABLE sources ADD COLUMN failures INTEGER NOT NULL DEFAULT 0")
    db.execute("""CREATE TABLE digests (
        watchlist TEXT NOT NULL, channel TEXT NOT NULL, sent_at INTEGER NOT NULL, message_id TEXT,
        PRIMARY KEY (watchlist, channel))""")


def m006_poll_schedule(db: sqlite3.Connection) -> None:
    """When each source is due next, so that backoff, a server's Retry-After and the adaptive
    interval survive a restart."""
    db.execute("ALTER TABLE sources ADD COLUMN next_poll_at INTEGER")


def m007_story_fingerprints(db: sqlite3.Connection) -> None:
    """The fingerprints of a span of publication dates, read without touching the articles' text.

    Story lookup keeps the story window's fingerprints in memory (bot/storyindex.py) and
    reads them through this index when it moves: a range scan of the index alone.
    """
    db.execute("CREATE INDEX articles_fingerprints ON articles (published, fingerprint, story_id)"
               " WHERE fingerprint IS NOT NULL")


# Append only: a released migration is never edited, its successor fixes it.
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (
    m001_initial, m002_alert_why, m003_article_companies, m004_stories, m005_delivery, m006_poll_schedule,
    m007_story_fingerprints)
SCHEMA_VERSION = len(MIGRATIONS)

_SOURCE_COLUMNS = ("name, url, etag, last_modified, polls, last_success, last_error, last_error_at, page_hash,"
                   " failures, next_poll_at")
_RECORD_SUCCESS = """
INSERT INTO sources (name, url, etag, last_modified, page_hash, polls, last_success, next_poll_at)
VALUES (:name, :url, :etag, :last_modified, :page_hash, 1, :now, :next_poll_at)
ON CONFLICT (name) DO UPDATE SET
    polls = CASE WHEN url = excluded.url THEN polls + 1 ELSE 1 END, url = excluded.url,
    etag = excluded.etag, last_modified = excluded.last_modified, page_hash = excluded.page_hash,
    last_success = excluded.last_success, last_error = NULL, last_error_at = NULL, failures = 0,
    next_poll_at = coalesce(excluded.next_poll_at, next_poll_at)"""
# A failure keeps the HTTP state, unless the URL changed: validators of the old URL mean nothing now.
_RECORD_FAILURE = """
INSERT INTO sources (name, url, last_error, last_error_at, failures, next_poll_at)
VALUES (:name, :url, :error, :now, 1, :next_poll_at)
ON CONFLICT (name) DO UPDATE SET
    failures = CASE WHEN url = excluded.url THEN failures + 1 ELSE 1 END,
    etag = CASE WHEN url = excluded.url THEN etag END,
    last_modified = CASE WHEN url = excluded.url THEN last_modified END,
    page_hash = CASE WHEN url = excluded.url THEN page_hash END,
    polls = CASE WHEN url = excluded.url THEN polls ELSE 0 END, url = excluded.url,
    last_error = excluded.last_error, last_error_at = excluded.last_error_at,
    next_poll_at = coalesce(excluded.next_poll_at, next_poll_at)"""
_INSERT_ARTICLE = """
INSERT INTO articles (source, url, guid, title, text, description, language, published, fetched_at,
    story_id, fingerprint)
VALUES (:source, :url, :guid, :title, :text, :description, :language, :published, :fetched_at,
    :story_id, :fingerprint)"""
_REPLACE_ARTICLE = """
UPDATE articles SET title = :title, text = :text, description = :description, language = :language,
    fingerprint = :fingerprint
WHERE id = :id"""
_INSERT_MENTION = """
INSERT INTO mentions (article_id, company, alias, field, "start", "end") VALUES (?, ?, ?, ?, ?, ?)"""
_INSERT_SALIENCE = "INSERT INTO article_companies (article_id, company, score, about) VALUES (?, ?, ?, ?)"
_INSERT_ALERT = """
INSERT INTO alerts (article_id, watchlist, channel, companies, title, url, source, published, summary,
    why, created_at, kind, story_id, events, new_companies, tier, ping)
VALUES (:article_id, :watchlist, :channel, :companies, :title, :url, :source, :published, :summary,
    :why, :created_at, :kind, :story_id, :events, :new_companies, :tier, :ping)
ON CONFLICT (article_id, channel) DO NOTHING"""
# Channels with a row waiting for its retry time: nothing else goes there before it (order kept).
_NOT_BACKING_OFF = """AND (:now IS NULL OR {channel} NOT IN (
    SELECT channel FROM alerts WHERE state = 'pending' AND next_attempt_at > :now))"""
RETRY_FIRST = 30.0  # seconds before the first retry of a failed post; doubled each time
RETRY_LONGEST = 30 * 60.0
STORY_COPIES = 3  # a lookup ranks this many articles per result shown, for stories with copies
_ALERT_COLUMNS = "id, watchlist, channel, companies, title, url, source, published, summary, why, events, ping"

class Store:
    """intelbot's SQLite database: sources, articles, mentions, full-text search and the outbox.

    Lifecycle: `Store(path)` creates the folder and file if missing and applies pending
    migrations; `close()` (or leaving a `with` block) releases it. ":memory:" gives a private,
    throwaway database. Other processes (the CLI) may open the same file: WAL journal, writes
    begin IMMEDIATE and wait up to 5 s for a competing writer.
    Threading: one connection behind one lock; every public method holds the lock for its
    whole transaction, so the event loop and worker threads may share one instance. Calls
    block: writes take milliseconds, a search over a large archive longer (call it from a thread).
    Time zone: every datetime in and out is timezone-aware UTC, stored as integer Unix
    seconds (sub-second precision is dropped). A naive datetime raises ValueError.
    Errors: a file that cannot be opened, is not a database, or has a schema newer than this
    code raises StoreError naming the path; any SQLite failure later is a StoreError too.
    Each method is one transaction: when it raises, nothing it did is kept.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        # Story lookup's fingerprints (see `story_of`), kept in step with what this connection
        # commits; dropped when another connection commits (`PRAGMA data_version` moves).
        self._fingerprints = FingerprintIndex()
        self._data_version: int | None = None
        self._after_commit: list[Callable[[], None]] = []
        self._checkpoint_lock = threading.Lock()
        self._checkpointer: sqlite3.Connection | None = None  # see `checkpoint`
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: the module never opens transactions behind our back.
            self._db = sqlite3.connect(
                self.path, timeout=_BUSY_SECONDS, isolation_level=None, check_same_thread=False
            )
            for pragma in _PRAGMAS:
                self._db.execute(pragma)
            self._migrate(self._db)
        except (OSError, sqlite3.Error) as err:
            self.close()
            raise StoreError(f"cannot open database {self.path}: {err}") from err
        except BaseException:
            self.close()
            raise

    def _migrate(self, db: sqlite3.Connection) -> None:
        """Apply each migration newer than the file's `user_version`, one transaction each."""
        current = db.execute("PRAGMA user_version").fetchone()[0]
        if current > SCHEMA_VERSION:
            raise StoreError(
                f"database schema version {current} is newer than this intelbot ({SCHEMA_VERSION}); "
                "upgrade intelbot"
            )
        for version in range(current + 1, SCHEMA_VERSION + 1):
            db.execute("BEGIN IMMEDIATE")
            try:
                # Another process may have migrated while we waited for the write lock.
                if db.execute("PRAGMA user_version").fetchone()[0] < version:
                    MIGRATIONS[version - 1](db)
                    db.execute(f"PRAGMA user_version = {version}")
                db.execute("COMMIT")
            except BaseException:
                _rollback(db)
                raise

    def close(self) -> None:
        """Close the connection; later calls raise StoreError. Closing twice is harmless."""
        with self._checkpoint_lock:
            if self._checkpointer is not None:
                self._checkpointer.close()
                self._checkpointer = None
        with self._lock:
            if self._db is None:
                return
            try:
                self._db.execute("PRAGMA optimize")  # keeps query-planner statistics fresh
            except sqlite3.Error:
                pass
            self._db.close()
            self._db = None

    def checkpoint(self) -> None:
        """Copy the pages the WAL holds into the database file, holding up no other call.

        SQLite does this itself in whichever commit finds the WAL past 1,000 pages, and that
        commit then waits for the copy and an fsync: tens of milliseconds, on the event loop
        if the commit was made there. A busy writer that calls this every few dozen writes,
        from a thread, keeps the WAL under that size. It uses a connection of its own, in
        PASSIVE mode (it waits for no reader or writer), so it needs no lock of this store;
        it never raises: a failed checkpoint is left to the next commit.
        """
        if self.path == ":memory:":
            return
        with self._checkpoint_lock:
            if self._db is None:  # closed (or never opened)
                return
            try:
                if self._checkpointer is None:
                    self._checkpointer = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
                self._checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            except sqlite3.Error:
                pass

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self, begin: str = "BEGIN IMMEDIATE") -> Iterator[sqlite3.Connection]:
        """Run a block under the lock as one transaction; roll back on any exception.

        Callables the block appends to `self._after_commit` run after the COMMIT, still under
        the lock, and only if it succeeded: in-memory state follows the database exactly.
        """
        with self._lock:
            db = self._db
            if db is None:
                raise StoreError(f"the store {self.path} is closed")
            try:
                db.execute(begin)
                yield db
                db.execute("COMMIT")
            except sqlite3.Error as err:
                self._after_commit.clear()
                _rollback(db)
                raise StoreError(f"database error in {self.path}: {err}") from err
            except BaseException:
                self._after_commit.clear()
                _rollback(db)
                raise
            hooks, self._after_commit = self._after_commit, []
            for hook in hooks:
                hook()

    # --- sources ---

    def source_state(self, name: str, url: str) -> SourceState:
        """What was stored for a source; fresh state if unknown or if its URL has changed since."""
        with self._transaction("BEGIN") as db:
            row = db.execute(f"SELECT {_SOURCE_COLUMNS} FROM sources WHERE name = ?", (name,)).fetchone()
        return _state_at(row, name, url)

    def source_states(self, sources: Sequence[tuple[str, str]]) -> dict[str, SourceState]:
        """`source_state` of each (name, URL), read in one transaction: a poll of every source
        asks once, not once per source."""
        with self._transaction("BEGIN") as db:
            rows = {row[0]: row for row in db.execute(f"SELECT {_SOURCE_COLUMNS} FROM sources")}
        return {name: _state_at(rows.get(name), name, url) for name, url in sources}

    def record_poll_success(
        self, name: str, url: str, *, now: datetime, etag: str | None,
        last_modified: str | None, page_hash: str | None = None, next_poll_at: datetime | None = None,
    ) -> None:
        """Count a successful poll; the validators given replace the stored ones (pass them again on 304).

        `next_poll_at`, when given, is when the next poll is due (kept across restarts); None keeps the stored one.
        """
        params = {"name": name, "url": url, "etag": etag, "last_modified": last_modified,
                  "page_hash": page_hash, "now": _to_epoch(now),
                  "next_poll_at": _to_epoch(next_poll_at) if next_poll_at else None}
        with self._transaction() as db:
            db.execute(_RECORD_SUCCESS, params)

    def record_poll_failure(self, name: str, url: str, *, now: datetime, error: str,
                            next_poll_at: datetime | None = None) -> None:
        """Remember why a poll failed and when; the HTTP validators are kept. `next_poll_at` as above."""
        with self._transaction() as db:
            db.execute(_RECORD_FAILURE, {"name": name, "url": url, "error": error, "now": _to_epoch(now),
                                         "next_poll_at": _to_epoch(next_poll_at) if next_poll_at else None})

    def sources(self) -> list[SourceState]:
        """Every source the store has seen, by name."""
        with self._transaction("BEGIN") as db:
            rows = db.execute(f"SELECT {_SOURCE_COLUMNS} FROM sources ORDER BY name").fetchall()
        return [_source_state(row) for row in rows]

    # --- articles ---

    def has_article(self, *, url: str, source: str, guid: str | None) -> bool:
        """Whether the URL is stored (from any source), or the same source already gave this guid."""
        with self._transaction("BEGIN") as db:
            if db.execute("SELECT 1 FROM articles WHERE url = ?", (url,)).fetchone():
                return True
            if not guid:
                return False
            found = db.execute("SELECT 1 FROM articles WHERE source = ? AND guid = ? LIMIT 1", (source, guid))
            return found.fetchone() is not None

    def article(self, url: str) -> Article | None:
        """The stored article with this canonical URL, or None."""
        with self._transaction("BEGIN") as db:
            row = db.execute(
                "SELECT source, url, guid, title, text, published, fetched_at, language, description "
                "FROM articles WHERE url = ?", (url,)
            ).fetchone()
        if row is None:
            return None
        source, url, guid, title, text, published, fetched_at, language, description = row
        return Article(source=source, url=url, guid=guid, title=title, text=text,
                       published=_from_epoch(published), fetched_at=_from_epoch(fetched_at),
                       language=language, description=description or "")

    def add_article(
        self, article: Article, mentions: Sequence[Mention], alerts: Sequence[Alert], *, replace: bool = False,
        salience: Mapping[str, tuple[float, bool]] | None = None, story: int | None = None,
        fingerprint: int | None = None, events: Sequence[str] = (),
    ) -> tuple[int, list[int]] | None:
        """Store an article with its mentions and outbox rows; return (article id, new alert ids).

        A known URL writes nothing and returns None, unless `replace`: then title, text,
        description and language are updated, the mentions replaced, and only alerts for
        channels that never had one for this article are added. `Alert.id` is ignored; the
        outbox row's `created_at` is the article's `fetched_at`. `salience` maps a company to
        (score, about) from the matcher; companies it lacks get their mention count as score
        and count as about (as stories stored before salience was kept).

        `story` is the id of the story this article is a later copy of (see `story_of`),
        None for a new story. In a channel that already has the story's alert, the article's
        alert becomes a `coverage` row naming the companies the story had not named before.
        """
        values = {"source": article.source, "url": article.url, "guid": article.guid,
                  "title": article.title, "text": article.text, "description": article.description,
                  "language": article.language, "published": _to_epoch(article.published),
                  "fetched_at": _to_epoch(article.fetched_at), "story_id": story, "fingerprint": fingerprint}
        with self._transaction() as db:
            row = db.execute("SELECT id, story_id FROM articles WHERE url = ?", (article.url,)).fetchone()
            if row is None:
                if story is not None and not db.execute(
                        "SELECT 1 FROM articles WHERE id = ? AND story_id = id", (story,)).fetchone():
                    raise StoreError(f"no story {story} in {self.path}")
                article_id = db.execute(_INSERT_ARTICLE, values).lastrowid
                if story is None:
                    db.execute("UPDATE articles SET story_id = id WHERE id = ?", (article_id,))
                if fingerprint is not None:
                    self._after_commit.append(partial(
                        self._fingerprints.add, article_id, values["published"], fingerprint,
                        article_id if story is None else story))
            elif not replace:
                return None
            else:
                article_id, story = row[0], (row[1] if row[1] != row[0] else None)
                db.execute(_REPLACE_ARTICLE, {**values, "id": article_id})
                for table in ("mentions", "article_companies", "article_events"):
                    db.execute(f"DELETE FROM {table} WHERE article_id = ?", (article_id,))
                self._after_commit.append(partial(self._refile, db, article_id))
            known = self._story_companies(db, story, article_id) if story is not None else set()
            self._insert_mentions(db, article_id, mentions)
            self._insert_salience(db, article_id, mentions, salience or {})
            db.executemany("INSERT OR IGNORE INTO article_events (article_id, tag) VALUES (?, ?)",
                           [(article_id, tag) for tag in events])
            return article_id, self._insert_alerts(
                db, article_id, alerts, values["fetched_at"], story=story, known=known, events=events)

    def story_candidates(self, start: datetime, end: datetime) -> list[tuple[int, int]]:
        """(story id, fingerprint) of the articles published in [start, end] that have a fingerprint, by id."""
        with self._transaction("BEGIN") as db:
            rows = self._fingerprint_rows(db, _to_epoch(start), _to_epoch(end))
        return [(story, mark) for _, _, mark, story in sorted(rows)]

    def story_of(self, fingerprint: int, start: datetime, end: datetime) -> int | None:
        """The story of the article published in [start, end] whose fingerprint is nearest
        `fingerprint` (bot.fingerprint.same_story); on a tie the article stored first; None
        when no article is that close.

        The same answer as measuring every `story_candidates` row, from an index of the
        range's fingerprints kept in memory (bot/storyindex.py): well under a millisecond
        with 20,000 articles in the range. The index follows what this store commits and
        is read again after another process writes to the file.
        """
        low, high = _to_epoch(start), _to_epoch(end)
        with self._transaction("BEGIN") as db:
            version = db.execute("PRAGMA data_version").fetchone()[0]
            if version != self._data_version:
                self._fingerprints.clear()
                self._data_version = version
            if self._fingerprints.cover(low, high, partial(self._fingerprint_rows, db)):
                return self._fingerprints.nearest(fingerprint, low, high)
            return nearest(fingerprint, self._fingerprint_rows(db, low, high))  # far older than the rest

    def _fingerprint_rows(self, db: sqlite3.Connection, low: int, high: int) -> list[Row]:
        """(id, published, fingerprint, story id) of the articles published in [low, high] with a fingerprint."""
        return db.execute(
            "SELECT id, published, fingerprint, story_id FROM articles INDEXED BY articles_fingerprints"
            " WHERE published BETWEEN ? AND ? AND fingerprint IS NOT NULL", (low, high),
        ).fetchall()

    def _refile(self, db: sqlite3.Connection, article_id: int) -> None:
        """After a replace: the article's fingerprint (or lack of one) in the story index."""
        self._fingerprints.discard(article_id)
        row = db.execute("SELECT id, published, fingerprint, story_id FROM articles WHERE id = ?",
                         (article_id,)).fetchone()
        if row is not None and row[2] is not None:
            self._fingerprints.add(*row)

    def story_articles(self, url: str) -> list[tuple[str, str, str]]:
        """(source, url, title) of every article of the story the article at `url` belongs to, first first."""
        with self._transaction("BEGIN") as db:
            return db.execute(
                "SELECT source, url, title FROM articles WHERE story_id ="
                " (SELECT story_id FROM articles WHERE url = ?) ORDER BY id", (url,),
            ).fetchall()

    def _story_companies(self, db: sqlite3.Connection, story: int, article_id: int) -> set[str]:
        """The companies (case-folded) the story's other articles name."""
        rows = db.execute(
            "SELECT DISTINCT ac.company FROM articles a JOIN article_companies ac ON ac.article_id = a.id"
            " WHERE a.story_id = ? AND a.id != ?", (story, article_id),
        )
        return {company.casefold() for (company,) in rows}

    def _insert_mentions(self, db: sqlite3.Connection, article_id: int, mentions: Sequence[Mention]) -> None:
        """Write an article's mentions (inside the caller's transaction)."""
        db.executemany(
            _INSERT_MENTION, [(article_id, m.company, m.alias, m.field, m.start, m.end) for m in mentions]
        )

    def _insert_salience(
        self, db: sqlite3.Connection, article_id: int, mentions: Sequence[Mention],
        salience: Mapping[str, tuple[float, bool]],
    ) -> None:
        """Write each company's (score, about) in the article; keys compare case-insensitively."""
        rows: dict[str, tuple[str, float, bool]] = {}
        for mention in mentions:
            key = mention.company.casefold()
            name, count, _ = rows.get(key, (mention.company, 0.0, True))
            rows[key] = (name, count + 1, True)
        for company, (score, about) in salience.items():
            rows[company.casefold()] = (company, float(score), bool(about))
        db.executemany(
            _INSERT_SALIENCE, [(article_id, name, score, int(about)) for name, score, about in rows.values()]
        )

    def _insert_alerts(
        self, db: sqlite3.Connection, article_id: int, alerts: Sequence[Alert], created_at: int, *,
        story: int | None, known: set[str], events: Sequence[str],
    ) -> list[int]:
        """Queue alerts (or coverage of an alerted story), skipping channels this article already
        has one for; return the new row ids."""
        new_ids = []
        for alert in alerts:
            kind, new_companies = "alert", []
            if story is not None and db.execute(
                "SELECT 1 FROM alerts WHERE story_id = ? AND channel = ? AND kind = 'alert' AND article_id != ?",
                (story, alert.channel, article_id),
            ).fetchone():
                kind = "coverage"
                new_companies = [c for c in alert.companies if c.casefold() not in known]
            cursor = db.execute(_INSERT_ALERT, {
                "article_id": article_id, "watchlist": alert.watchlist, "channel": alert.channel,
                "companies": json.dumps(list(alert.companies), ensure_ascii=False), "title": alert.title,
                "url": alert.url, "source": alert.source, "published": _to_epoch(alert.published),
                "summary": alert.summary, "why": alert.why, "created_at": created_at, "kind": kind,
                "story_id": story if story is not None else article_id,
                "events": json.dumps(list(alert.events or events)),
                "new_companies": json.dumps(new_companies, ensure_ascii=False),
                "tier": alert.tier, "ping": json.dumps(list(alert.ping))})
            if cursor.rowcount == 1:  # 0 when the channel already had this article
                new_ids.append(cursor.lastrowid)
        return new_ids

    def article_count(self) -> int:
        """How many articles are stored."""
        with self._transaction("BEGIN") as db:
            return db.execute("SELECT count(*) FROM articles").fetchone()[0]

    # --- outbox ---

    def pending_alerts(self, limit: int = 100, *, now: datetime | None = None) -> list[Alert]:
        """Alerts (not coverage) waiting to be sent, oldest first, with `Alert.id` set.

        With `now`, a channel whose oldest pending row waits for a retry (`mark_failed`'s
        backoff) is left out entirely, so its alerts still go out in order.
        """
        with self._transaction("BEGIN") as db:
            rows = db.execute(
                f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE state = 'pending' AND kind = 'alert' AND tier = 'realtime' {_NOT_BACKING_OFF.format(channel='channel')}"
                " ORDER BY id LIMIT :limit", {"limit": limit, "now": _to_epoch(now) if now else None}
            ).fetchall()
        return [
            Alert(watchlist=watchlist, channel=channel, companies=tuple(json.loads(companies)), title=title,
                  url=url, source=source, published=_from_epoch(published), summary=summary, why=why, id=alert_id,
                  events=tuple(json.loads(events)), ping=tuple(json.loads(ping)))
            for alert_id, watchlist, channel, companies, title, url, source, published, summary, why, events, ping
            in rows
        ]

    def pending_coverage(self, *, now: datetime, quiet: timedelta, longest: timedelta) -> list[Coverage]:
        """Coverage replies due now: one per (story, channel), gathering every pending copy.

        A story's copies usually arrive in a burst over several polls: a reply is due once no
        copy arrived for `quiet`, or its oldest copy waited `longest`. Coverage of an alert
        still pending waits for it; of an alert that failed, goes out without a thread.
        """
        with self._transaction("BEGIN") as db:
            rows = db.execute(
                "SELECT c.id, c.story_id, c.channel, c.source, c.url, c.title, c.new_companies, c.created_at,"
                " p.state, p.message_id, p.title, p.url FROM alerts c JOIN alerts p"
                " ON p.story_id = c.story_id AND p.channel = c.channel AND p.kind = 'alert'"
                f" WHERE c.state = 'pending' AND c.kind = 'coverage' {_NOT_BACKING_OFF.format(channel='c.channel')}"
                " ORDER BY c.id", {"now": _to_epoch(now)},
            ).fetchall()
        batches: dict[tuple[int, str], list[tuple]] = {}
        for row in rows:
            if row[8] != "pending":
                batches.setdefault((row[1], row[2]), []).append(row)
        due = []
        moment = _to_epoch(now)
        for (_, channel), batch in batches.items():
            newest, oldest = max(r[7] for r in batch), min(r[7] for r in batch)
            if moment - newest < quiet.total_seconds() and moment - oldest < longest.total_seconds():
                continue
            first = batch[0]
            new_companies = dict.fromkeys(c for r in batch for c in json.loads(r[6]))
            outlets: dict[str, Outlet] = {}  # one per source: a site's second copy is not news
            for _, _, _, source, url, title, *_ in batch:
                outlets.setdefault(source.casefold(), Outlet(source, url, title))
            due.append(Coverage(
                channel=channel, story_title=first[10], story_url=first[11],
                outlets=tuple(outlets.values()),
                parent_message_id=first[9] if first[8] == "sent" else None,
                new_companies=tuple(new_companies), ids=tuple(r[0] for r in batch),
            ))
        return due

    def mark_sent(self, alert_id: int | Sequence[int], *, now: datetime, message_id: str | None = None) -> None:
        """Record that an alert (or the rows of one coverage reply) was delivered as `message_id`."""
        self._update_alerts(
            "state = 'sent', sent_at = :now, last_attempt_at = :now, message_id = :message_id",
            alert_id, {"now": _to_epoch(now), "message_id": message_id},
        )

    def mark_failed(self, alert_id: int | Sequence[int], *, now: datetime, error: str, permanent: bool,
                    retry_after: float | None = None, jitter: float = 1.0) -> None:
        """Count a failed delivery; a permanent failure leaves the outbox, another stays pending.

        A pending row is tried again after RETRY_FIRST seconds, doubling with each attempt up to
        RETRY_LONGEST, times `jitter` (the caller's random factor, so channels that failed
        together do not retry together), and never before the platform's `retry_after`.
        """
        self._update_alerts(
            "attempts = attempts + 1, last_error = :error, last_attempt_at = :now, "
            "state = CASE WHEN :permanent THEN 'failed' ELSE state END, "
            "next_attempt_at = :now + CAST(max(:retry_after, min(:longest, :first * (1 << min(attempts, 16)))"
            " * :jitter) AS INTEGER)",
            alert_id, {"now": _to_epoch(now), "error": error, "permanent": permanent,
                       "retry_after": retry_after or 0.0, "first": RETRY_FIRST, "longest": RETRY_LONGEST,
                       "jitter": jitter},
        )

    def _update_alerts(self, assignments: str, ids: int | Sequence[int], params: dict[str, object]) -> None:
        """Update outbox rows in one transaction; an unknown id is a StoreError (a caller bug, not a race)."""
        ids = [ids] if isinstance(ids, int) else list(ids)
        with self._transaction() as db:
            for alert_id in ids:
                if db.execute(f"UPDATE alerts SET {assignments} WHERE id = :id", {**params, "id": alert_id}).rowcount != 1:
                    raise StoreError(f"no alert with id {alert_id} in {self.path}")

    # --- digests and pacing ---

    def move_to_digest(self, ids: Sequence[int]) -> None:
        """Fold realtime outbox rows into their watchlist's next digest (quiet hours, budget)."""
        with self._transaction() as db:
            db.executemany("UPDATE alerts SET tier = 'digest', ping = '[]' WHERE id = ? AND state = 'pending'",
                           [(i,) for i in ids])

    def sent_since(self, channel: str, since: datetime) -> int:
        """How many realtime alerts went to `channel` since `since` (for `max_per_hour`)."""
        with self._transaction("BEGIN") as db:
            return db.execute(
                "SELECT count(*) FROM alerts WHERE channel = ? AND sent_at >= ? AND state = 'sent'"
                " AND kind = 'alert' AND tier = 'realtime'", (channel, _to_epoch(since)),
            ).fetchone()[0]

    def digest_channels(self, watchlist: str) -> list[str]:
        """Channels with stories waiting for this watchlist's digest."""
        with self._transaction("BEGIN") as db:
            return [row[0] for row in db.execute(
                "SELECT DISTINCT channel FROM alerts WHERE watchlist = ? AND tier = 'digest' AND state = 'pending'"
                " ORDER BY channel", (watchlist,))]

    def digest_items(self, watchlist: str, channel: str) -> list[tuple[int, DigestItem, float]]:
        """(outbox id, story, salience of its first company) waiting for this digest, oldest first."""
        with self._transaction("BEGIN") as db:
            rows = db.execute(
                "SELECT al.id, al.title, al.url, al.source, al.published, al.companies, al.events,"
                " coalesce(ac.about, 0), coalesce(ac.score, 0) FROM alerts al"
                " LEFT JOIN article_companies ac ON ac.article_id = al.article_id"
                "  AND ac.company = json_extract(al.companies, '$[0]')"
                " WHERE al.watchlist = ? AND al.channel = ? AND al.tier = 'digest' AND al.state = 'pending'"
                " AND al.kind = 'alert' ORDER BY al.id", (watchlist, channel),
            ).fetchall()
        return [
            (row_id, DigestItem(title, url, source, _from_epoch(published), tuple(json.loads(companies)),
                                bool(about), tuple(json.loads(events))), float(score))
            for row_id, title, url, source, published, companies, events, about, score in rows
        ]

    def last_digest(self, watchlist: str, channel: str) -> datetime | None:
        """When this watchlist's digest last went to `channel`, or None."""
        with self._transaction("BEGIN") as db:
            row = db.execute("SELECT sent_at FROM digests WHERE watchlist = ? AND channel = ?",
                             (watchlist, channel)).fetchone()
        return _from_epoch(row[0]) if row else None

    def record_digest(self, watchlist: str, channel: str, ids: Sequence[int], *, now: datetime,
                      message_id: str | None) -> None:
        """Mark a digest's rows sent and remember when it went out, in one transaction."""
        with self._transaction() as db:
            db.executemany(
                "UPDATE alerts SET state = 'sent', sent_at = ?, last_attempt_at = ?, message_id = ? WHERE id = ?",
                [(_to_epoch(now), _to_epoch(now), message_id, i) for i in ids])
            db.execute(
                "INSERT INTO digests (watchlist, channel, sent_at, message_id) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (watchlist, channel) DO UPDATE SET sent_at = excluded.sent_at,"
                " message_id = excluded.message_id", (watchlist, channel, _to_epoch(now), message_id))

    def alert_counts(self) -> dict[str, int]:
        """How many alerts are in each state: {'pending': n, 'sent': n, 'failed': n}."""
        counts = {"pending": 0, "sent": 0, "failed": 0}
        with self._transaction("BEGIN") as db:
            counts.update(db.execute("SELECT state, count(*) FROM alerts GROUP BY state").fetchall())
        return counts

    # --- lookups ---

    def search(
        self, *, companies: Sequence[str] = (), terms: Sequence[str] = (), phrases: Sequence[str] = (),
        exclude: Sequence[str] = (), since: datetime | None = None, source: str | None = None,
        about: bool = False, lang: str | None = None, event: str | None = None, after: str | None = None,
        limit: int = 5, now: datetime,
    ) -> list[SearchResult]:
        """The results of `search_page` (same arguments), without the paging cursor."""
        return self.search_page(
            companies=companies, terms=terms, phrases=phrases, exclude=exclude, since=since, source=source,
            about=about, lang=lang, event=event, after=after, limit=limit, now=now,
        ).results

    def search_page(
        self, *, companies: Sequence[str] = (), terms: Sequence[str] = (), phrases: Sequence[str] = (),
        exclude: Sequence[str] = (), since: datetime | None = None, source: str | None = None,
        about: bool = False, lang: str | None = None, event: str | None = None, after: str | None = None,
        limit: int = 5, now: datetime,
    ) -> SearchPage:
        """Stories that mention any of `companies` (if given) and contain every term and phrase.

        Terms, phrases and `exclude` are matched as text, never as FTS5 syntax; one with no
        letters or digits is dropped. `since` keeps stories published then or later; `source`
        (any case) and `lang` (ISO 639-1; "zh" also matches "zh-tw") filter; `about` keeps
        stories about a requested company (about any tracked company when none is requested);
        `event` keeps stories with that event tag (bot/events.py) and alone lists them newest first.
        With terms, order by bm25 (title 10x text) divided by (1 + age_days / 30), times the
        companies' boost (more requested companies, about them, salience). Without terms:
        newest UTC day first; within a day, more requested companies, about, salience, newest.
        No companies and no usable terms or phrases give an empty page.

        Paging: `SearchPage.cursor` (when more follow) passed back as `after` continues where
        the page stopped. It pins the archive as it was (stories stored later are left out)
        and the clock, and resumes after the last story shown, so pages neither repeat nor
        skip stories while new ones arrive. An unreadable cursor raises ValueError.
        """
        match, scans = parse_terms([*terms, *phrases])
        excluded_match, excluded_scans = parse_terms(exclude, joiner=" OR ")
        wanted = list(dict.fromkeys(c for c in companies if c.strip()))
        position = decode_cursor(after) if after else None
        if after and position is None:
            raise ValueError(f"unreadable paging cursor {after!r}")
        if limit <= 0 or not (wanted or match or scans or event):
            return SearchPage([], None, 0)
        if match and excluded_match:
            match = f"({match}) NOT ({excluded_match})"  # FTS5's NOT is binary: only after a positive term
        params: dict[str, object] = {"match": match, "limit": 0, "low": 0}
        params.update({f"c{i}": company for i, company in enumerate(wanted)})
        params.update({f"s{i}": term for i, term in enumerate(scans)})
        params.update({f"x{i}": term for i, term in enumerate(excluded_scans)})
        filters = []
        if since is not None:
            params["since"] = _to_epoch(since)
            filters.append("AND a.published >= :since")
        if source:
            params["source"] = source
            filters.append("AND a.source = :source COLLATE NOCASE")
        if lang:
            params["lang"], params["lang_prefix"] = lang.lower(), lang.lower() + "-%"
            filters.append("AND (lower(a.language) = :lang OR lower(a.language) LIKE :lang_prefix)")
        if excluded_match and not match:
            params["exclude"] = excluded_match
            filters.append("AND a.id NOT IN (SELECT rowid FROM articles_fts WHERE articles_fts MATCH :exclude)")
        if about and not wanted:
            filters.append(ABOUT_ANY)
        sql_filters = scan_filters(" ".join(filters), len(scans), len(excluded_scans))
        if event:
            params["event"] = event
        sql = ranking_sql(bool(match), len(scans), len(wanted), len(excluded_scans), about=about,
                           filters=" ".join(filters), event=bool(event))
        offset = position.offset if position else 0
        with self._transaction("BEGIN") as db:
            if position:
                params["high"], params["now"] = position.high, position.now
            else:
                params["high"] = db.execute("SELECT coalesce(max(id), 0) FROM articles").fetchone()[0]
                params["now"] = _to_epoch(now)
            if since is not None:
                # A rowid bound FTS5 applies inside its scan: far cheaper than joining on dates.
                # Through the published index: left to itself, SQLite answers min(id) by walking
                # the rowids from 1 until a recent story turns up (200 ms at 100k stories).
                low = db.execute(
                    "SELECT min(id) FROM articles INDEXED BY articles_published WHERE published >= ?",
                    (params["since"],),
                ).fetchone()[0]
                if low is None:
                    return SearchPage([], None, 0)
                params["low"] = low
            # Copies of one story rank side by side and are shown once: ask for more ids than shown.
            params["limit"] = (offset + limit + 1) * STORY_COPIES
            if wanted and not match and self._named_often(db, wanted, params):
                floor_sql = DAY_FLOOR.format(companies=", ".join(f":c{i}" for i in range(len(wanted))),
                                              about="AND ac.about" if about else "", filters=sql_filters)
                row = db.execute(floor_sql, params).fetchone()
                if row is not None:
                    params["floor"] = row[0]
                    sql = sql.replace("{recent}", RECENT)
            sql = sql.replace("{recent}", "")
            ids = self._one_per_story(db, self._ranked_ids(db, sql, params, bool(match), page=limit))
            start = offset
            if position and position.last_id in ids:
                start = ids.index(position.last_id) + 1
            shown = ids[start : start + limit]
            cursor = None
            if len(ids) > start + limit and start + limit <= MAX_OFFSET:
                cursor = encode_cursor(Cursor(params["high"], params["now"], start + limit, shown[-1]))
            return SearchPage(self._results(db, shown, match, scans, wanted), cursor, start)

    def _ranked_ids(self, db: sqlite3.Connection, sql: str, params: dict[str, object], terms: bool,
                    *, page: int) -> list[int]:
        """Run the ranking query; for very common words, rank only their newest matches.

        bm25 scores every match before the top few are picked, and a word found in most
        stories costs seconds at a million. Recency divides every score anyway, so the newest
        `COMMON_MATCHES` matches are ranked (and paged through); if they do not fill a page
        (the other filters are strict), the whole window is ranked after all. The choice
        depends only on the snapshot the cursor pins, so every page makes the same one.
        """
        if terms:
            newest = db.execute(
                "SELECT rowid FROM articles_fts WHERE articles_fts MATCH :match AND rowid BETWEEN :low AND :high"
                f" ORDER BY rowid DESC LIMIT 1 OFFSET {COMMON_MATCHES - 1}", params,
            ).fetchone()
            if newest is not None:
                # More than a page among the newest matches, whatever the depth asked for: the
                # same test every page of one snapshot makes.
                ids = [row[0] for row in db.execute(sql, {**params, "low": newest[0]})]
                if len(ids) > page:
                    return ids
        return [row[0] for row in db.execute(sql, params)]

    def _one_per_story(self, db: sqlite3.Connection, ids: list[int]) -> list[int]:
        """The ranked ids with only the best-ranked article of each story."""
        if not ids:
            return ids
        marks = ", ".join("?" * len(ids))
        story_of = dict(db.execute(f"SELECT id, story_id FROM articles WHERE id IN ({marks})", ids).fetchall())
        seen: set[int] = set()
        kept = []
        for article_id in ids:
            story = story_of.get(article_id, article_id)
            if story not in seen:
                seen.add(story)
                kept.append(article_id)
        return kept

    def _named_often(self, db: sqlite3.Connection, companies: list[str], params: dict[str, object]) -> bool:
        """Whether the companies are named in more than `COMMON_COMPANY` stories up to the snapshot."""
        marks = ", ".join(f":c{i}" for i in range(len(companies)))
        found = db.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM article_companies WHERE company IN ({marks})"
            f" AND article_id <= :high LIMIT {COMMON_COMPANY + 1})", params,
        ).fetchone()[0]
        return found > COMMON_COMPANY

    def _results(
        self, db: sqlite3.Connection, ids: list[int], match: str, scans: list[str], wanted: list[str]
    ) -> list[SearchResult]:
        """Build the results for ranked article ids: companies, snippet and highlights."""
        if not ids:
            return []
        marks = ", ".join("?" * len(ids))
        companies: dict[int, list[str]] = {article_id: [] for article_id in ids}
        for article_id, company in db.execute(
            f"SELECT article_id, company FROM mentions WHERE article_id IN ({marks})"
            " GROUP BY article_id, company ORDER BY count(*) DESC, company", ids
        ):
            companies[article_id].append(company)
        spans: dict[int, list[tuple[int, int]]] = {article_id: [] for article_id in ids}
        if wanted and not match:
            for article_id, start, end in db.execute(
                f'SELECT article_id, "start", "end" FROM mentions WHERE article_id IN ({marks})'
                f" AND field = 'text' AND company IN ({', '.join('?' * len(wanted))}) ORDER BY \"start\"",
                [*ids, *wanted],
            ):
                spans[article_id].append((start, end))
        results = []
        for article_id in ids:
            title, url, source, published, text, description = db.execute(
                "SELECT title, url, source, published, text, description FROM articles WHERE id = ?",
                (article_id,),
            ).fetchone()
            if match:
                snippet, highlights = self._fts_snippet(db, article_id, match)
                highlights += occurrences(snippet, scans)  # substring terms get no FTS5 markers
            else:
                snippet, highlights = excerpt(title, text or description or title, spans[article_id], scans)
            results.append(SearchResult(
                title=title, url=url, source=source, published=_from_epoch(published),
                companies=tuple(companies[article_id]), snippet=snippet.translate(FLATTEN),
                highlights=tuple(sorted(set(highlights))),
            ))
        return results

    def _fts_snippet(
        self, db: sqlite3.Connection, article_id: int, match: str
    ) -> tuple[str, list[tuple[int, int]]]:
        """FTS5's snippet of the text around the hits, or the highlighted title when the text has none."""
        text_snippet, title = db.execute(
            f"SELECT snippet(articles_fts, 1, char(2), char(3), '…', {SNIPPET_TOKENS}),"
            " highlight(articles_fts, 0, char(2), char(3))"
            " FROM articles_fts WHERE articles_fts MATCH ? AND rowid = ?", (match, article_id)
        ).fetchone()
        return unmark(text_snippet if OPEN in text_snippet else title)

    # --- status (read-only) ---

    def source_activity(self, names: Sequence[str], *, recent: int = 20) -> dict[str, tuple[datetime, list[float]]]:
        """Per source: when it last gave a new story, and the gaps in seconds between the
        publication times of its `recent` newest stories (for "silent" sources)."""
        found: dict[str, tuple[datetime, list[float]]] = {}
        with self._transaction("BEGIN") as db:
            for name in names:
                rows = db.execute(
                    "SELECT published, fetched_at FROM articles INDEXED BY articles_source_guid WHERE source = ?"
                    " ORDER BY published DESC LIMIT ?", (name, recent),
                ).fetchall()
                if not rows:
                    continue
                last_new = max(fetched for _, fetched in rows)
                published = [row[0] for row in rows]
                gaps = [float(a - b) for a, b in zip(published, published[1:]) if a > b]
                found[name] = (_from_epoch(last_new), gaps)
        return found

    # `sent_at` is set exactly when a row becomes 'sent', so "sent" reads go through the
    # (channel, sent_at) index and unsent rows through the state index: the archive of sent
    # rows is never scanned, and a metrics scrape costs milliseconds at any size.

    def outbox_status(
        self, channels: Sequence[str] = (), *, sent_since: datetime,
    ) -> list[tuple[str, int, int, int, int, int, datetime | None]]:
        """(channel, pending, retrying, failed, sent, sent since `sent_since`, last sent) per channel.

        One tuple for each of `channels` and for every other channel with pending or failed
        rows, by channel. Counts are outbox rows: alerts and later copies of a story (several
        copies go out as one thread reply). `retrying` counts pending rows that failed before.
        """
        with self._transaction("BEGIN") as db:
            unsent: dict[str, dict[str, tuple[int, int]]] = {}
            for channel, state, rows, tried in db.execute(
                "SELECT channel, state, count(*), sum(attempts > 0) FROM alerts INDEXED BY alerts_state"
                " WHERE state IN ('pending', 'failed') GROUP BY channel, state"
            ):
                unsent.setdefault(channel, {})[state] = (rows, tried)
            statuses = []
            for channel in sorted({*channels, *unsent}):
                sent, today, last = db.execute(
                    "SELECT count(*), count(CASE WHEN sent_at >= ? THEN 1 END), max(sent_at) FROM alerts"
                    " WHERE channel = ? AND sent_at IS NOT NULL", (_to_epoch(sent_since), channel),
                ).fetchone()
                pending, retrying = unsent.get(channel, {}).get("pending", (0, 0))
                failed, _ = unsent.get(channel, {}).get("failed", (0, 0))
                statuses.append((channel, pending, retrying, failed, sent, today, _from_epoch(last)))
        return statuses

    def outbox_errors(self, *, per_channel: int = 3) -> list[tuple[str, str, datetime]]:
        """(channel, error, last seen) of unsent rows (failed, or pending a retry): up to
        `per_channel` distinct errors per channel, by channel, newest first."""
        with self._transaction("BEGIN") as db:
            rows = db.execute(
                "SELECT channel, last_error, seen FROM (SELECT channel, last_error, max(last_attempt_at) AS seen,"
                "  row_number() OVER (PARTITION BY channel ORDER BY max(last_attempt_at) DESC, last_error) AS n"
                "  FROM alerts INDEXED BY alerts_state WHERE state IN ('pending', 'failed')"
                "  AND last_error IS NOT NULL GROUP BY channel, last_error)"
                " WHERE n <= ? ORDER BY channel, n", (per_channel,),
            ).fetchall()
        return [(channel, error, _from_epoch(seen)) for channel, error, seen in rows]

    def channel_failures(self) -> list[tuple[str, int, datetime, str, datetime | None]]:
        """(channel, rows failed since its last sent row, newest failure, its error, last sent)
        for every channel with a permanently failed row whose newest failure is later than its
        last successful post (or that never had one), by channel."""
        failing = []
        with self._transaction("BEGIN") as db:
            for channel, newest, error in db.execute(
                "SELECT channel, max(last_attempt_at), last_error FROM alerts INDEXED BY alerts_state"
                " WHERE state = 'failed' GROUP BY channel ORDER BY channel"
            ).fetchall():
                last_sent = db.execute("SELECT max(sent_at) FROM alerts WHERE channel = ?", (channel,)).fetchone()[0]
                if last_sent is not None and last_sent > newest:  # same second: the failure came last
                    continue
                count = db.execute(
                    "SELECT count(*) FROM alerts INDEXED BY alerts_state WHERE state = 'failed' AND channel = ?"
                    " AND last_attempt_at >= ?", (channel, last_sent if last_sent is not None else 0),
                ).fetchone()[0]
                failing.append((channel, count, _from_epoch(newest), error or "", _from_epoch(last_sent)))
        return failing


def _rollback(db: sqlite3.Connection) -> None:
    """Roll back if a transaction is open (a failed COMMIT may already have ended it)."""
    if db.in_transaction:
        db.execute("ROLLBACK")


def _to_epoch(moment: datetime) -> int:
    """Unix seconds of an aware datetime; naive datetimes are refused, not guessed."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment.isoformat()}: intelbot stores timezone-aware UTC times")
    return math.floor(moment.timestamp())


def _from_epoch(seconds: int | None) -> datetime | None:
    """An aware UTC datetime from Unix seconds (None stays None)."""
    return None if seconds is None else datetime.fromtimestamp(seconds, tz=timezone.utc)


def _state_at(row: tuple | None, name: str, url: str) -> SourceState:
    """The state a poll of `name` at `url` starts from: fresh if unknown or if its URL changed."""
    if row is None:
        return SourceState(name, url)
    state = _source_state(row)
    if state.url != url:
        return replace_fields(state, url=url, etag=None, last_modified=None, page_hash=None, polls=0, failures=0)
    return state


def _source_state(row: tuple) -> SourceState:
    """A SourceState from a row selected with `_SOURCE_COLUMNS`."""
    name, url, etag, last_modified, polls, last_success, last_error, last_error_at, page_hash, failures, due = row
    return SourceState(name, url, etag, last_modified, polls, _from_epoch(last_success),
                       last_error, _from_epoch(last_error_at), page_hash, failures, _from_epoch(due))


