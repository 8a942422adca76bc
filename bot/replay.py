"""Replay configs over stored stories: what each watchlist would alert, and what an edit changes.

`read_stories(path, since)` reads the archive; `replay(stories, current, new)` runs the
matcher and routing of both configs over it, as the pipeline does when it stores an article
(`Pipeline._store_article`), and returns a `ReplayReport`: per watchlist, the stories each
config alerts, and for each story only one of them alerts, the cause ("alias 'Meta'",
"company 'Initech'", "keyword 'ban'"). Nothing is posted and nothing is written.

A watchlist's alerts are counted in stories (copies of a story, `articles.story_id`, are one
alert with coverage replies); `ReplayReport.posts_*` counts messages, one per story and channel.

The database is read with plain sqlite3 opened read-only (`mode=ro`), not through `Store`:
opening a `Store` applies pending migrations and sets the WAL journal mode, both writes, and
replay must be safe on a live database and on one an older intelbot wrote. SQLite may still
create the `-wal` and `-shm` files beside a WAL database that has none (it needs them to read
safely while intelbot writes); the database file itself is never written.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal

from bot.config import Config
from bot.errors import StoreError
from bot.matcher import CompanyMatcher, MatchResult, company_names_of
from bot.models import Article
from bot.routing import Watchlist, compile_watchlists, route

EXAMPLES = 5  # stories listed per watchlist and direction in the text report


# ---------------------------------------------------------------- reading the archive


@dataclass(frozen=True)
class StoredStory:
    """One stored article and the story it belongs to (the id of the story's first article)."""

    id: int
    story: int
    article: Article


def _connect(path: Path) -> tuple[sqlite3.Connection, set[str]]:
    """A read-only connection, and the columns of its `articles` table."""
    if not path.is_file():
        raise StoreError(f"no database at {path}: nothing to replay (intelbot poll or run stores stories)")
    db = None
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        columns = {row[1] for row in db.execute("PRAGMA table_info(articles)")}
    except sqlite3.Error as error:
        if db is not None:
            db.close()
        raise StoreError(f"cannot read database {path}: {error}") from error
    if not columns:
        db.close()
        raise StoreError(f"{path} is not an intelbot database (it has no articles)")
    return db, columns


def count_stories(path: Path, since: datetime) -> int:
    """How many stored articles were published at or after `since`."""
    db, _ = _connect(path)
    try:
        return db.execute("SELECT count(*) FROM articles WHERE published >= ?", (_epoch(since),)).fetchone()[0]
    except sqlite3.Error as error:
        raise StoreError(f"cannot read database {path}: {error}") from error
    finally:
        db.close()


def read_stories(path: Path, since: datetime) -> Iterator[StoredStory]:
    """The articles published at or after `since`, oldest first, read without writing anything."""
    db, columns = _connect(path)
    # Databases written before stories were kept (schema 4) have no story_id: each article is its own.
    story = "coalesce(story_id, id)" if "story_id" in columns else "id"
    try:
        rows = db.execute(
            f"SELECT id, {story}, source, url, guid, title, text, description, language,"
            " published, fetched_at FROM articles WHERE published >= ? ORDER BY published, id",
            (_epoch(since),),
        )
        for id_, story, source, url, guid, title, text, description, language, published, fetched in rows:
            article = Article(source=source, url=url, guid=guid, title=title, text=text,
                              published=_moment(published), fetched_at=_moment(fetched),
                              language=language, description=description or "")
            yield StoredStory(id_, story, article)
    except sqlite3.Error as error:
        raise StoreError(f"cannot read database {path}: {error}") from error
    finally:
        db.close()


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _moment(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


# ---------------------------------------------------------------- the report


@dataclass(frozen=True)
class Cause:
    """Why one config alerts a story the other does not."""

    kind: Literal["alias", "company", "keyword", "keywords", "other"]
    name: str = ""
    company: str = ""  # for an alias: whose

    def __str__(self) -> str:
        if self.kind == "keywords":
            return "the keyword filter"
        if self.kind == "other":
            return "other changes (require, context, exclude)"
        return f"{self.kind} {self.name!r}"

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "name": self.name, "company": self.company}


@dataclass(frozen=True)
class ReplayedAlert:
    """A story one watchlist alerts under one config and not under the other."""

    story: int
    title: str
    url: str
    source: str
    published: datetime
    via: Cause

    def to_json(self) -> dict[str, Any]:
        return {"story": self.story, "title": self.title, "url": self.url, "source": self.source,
                "published": self.published.isoformat(), "via": self.via.to_json()}


@dataclass
class WatchlistReplay:
    """One watchlist's alerts (stories) under the current and the new config."""

    name: str
    before: int | None  # None: the current config has no such watchlist
    after: int | None  # None: the new config has none
    added: list[ReplayedAlert] = field(default_factory=list)  # alerted by the new config only
    removed: list[ReplayedAlert] = field(default_factory=list)  # by the current config only

    def causes(self, alerts: list[ReplayedAlert]) -> list[tuple[Cause, int]]:
        """Each cause with how many of `alerts` it explains, most first."""
        counts: dict[Cause, int] = {}
        for alert in alerts:
            counts[alert.via] = counts.get(alert.via, 0) + 1
        return sorted(counts.items(), key=lambda item: -item[1])

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "before": self.before, "after": self.after,
                "added": [a.to_json() for a in self.added], "removed": [a.to_json() for a in self.removed]}


@dataclass
class ReplayReport:
    """What the current and the new config alert over the same stored stories."""

    since: datetime
    articles: int = 0
    stories: int = 0  # distinct stories among the articles
    oldest: datetime | None = None  # when the oldest replayed article was published
    watchlists: list[WatchlistReplay] = field(default_factory=list)
    posts_before: int = 0  # messages: one per story and channel
    posts_after: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"since": self.since.isoformat(), "articles": self.articles, "stories": self.stories,
                "posts": {"before": self.posts_before, "after": self.posts_after},
                "watchlists": [w.to_json() for w in self.watchlists]}


# ---------------------------------------------------------------- replaying


@dataclass(frozen=True)
class _Rules:
    """A config compiled as the pipeline uses it."""

    matcher: CompanyMatcher
    watchlists: tuple[Watchlist, ...]

    @classmethod
    def of(cls, config: Config) -> _Rules:
        return cls(CompanyMatcher(company_names_of(config.companies)), compile_watchlists(config.watchlists))

    def watchlist(self, name: str) -> Watchlist | None:
        return next((w for w in self.watchlists if w.name == name), None)


def replay(
    stories: Iterable[StoredStory],
    current: Config,
    new: Config | None = None,
    *,
    since: datetime,
    progress: Callable[[int], None] | None = None,
) -> ReplayReport:
    """Match and route each story under `current` and `new` (default: `current` again); a pure function.

    `progress(n)` is called after every 100th article with how many were replayed.
    """
    before = _Rules.of(current)
    after = _Rules.of(new) if new is not None and new is not current else before
    names = list(dict.fromkeys([w.name for w in before.watchlists] + [w.name for w in after.watchlists]))
    pairs = [(name, before.watchlist(name), after.watchlist(name)) for name in names]
    alerted: dict[tuple[str, str], dict[int, ReplayedAlert | None]] = {
        (side, name): {} for side in ("before", "after") for name in names
    }
    posts: dict[str, set[tuple[int, str]]] = {"before": set(), "after": set()}
    report = ReplayReport(since)
    seen: set[int] = set()
    for stored in stories:
        article = stored.article
        match_before = before.matcher.match(article.title, article.text)
        match_after = match_before if after is before else after.matcher.match(article.title, article.text)
        for side, rules, match in (("before", before, match_before), ("after", after, match_after)):
            posts[side].update((stored.story, r.channel) for r in route(article, match, rules.watchlists))
        for name, old, new_watchlist in pairs:
            routed_before = route(article, match_before, (old,)) if old else []
            routed_after = route(article, match_after, (new_watchlist,)) if new_watchlist else []
            # A story's first alerting article counts; its cause matters only if the other config missed it.
            was, now = alerted[("before", name)], alerted[("after", name)]
            if routed_before and stored.story not in was:
                was[stored.story] = None if routed_after else _alert(stored, _cause(
                    article, old, routed_before[0].companies, match_before, new_watchlist, match_after))
            if routed_after and stored.story not in now:
                now[stored.story] = None if routed_before else _alert(stored, _cause(
                    article, new_watchlist, routed_after[0].companies, match_after, old, match_before))
        report.articles += 1
        seen.add(stored.story)
        if report.oldest is None or article.published < report.oldest:
            report.oldest = article.published
        if progress is not None and report.articles % 100 == 0:
            progress(report.articles)
    report.stories = len(seen)
    report.posts_before, report.posts_after = len(posts["before"]), len(posts["after"])
    for name in names:
        was, now = alerted[("before", name)], alerted[("after", name)]
        report.watchlists.append(WatchlistReplay(
            name,
            before=len(was) if before.watchlist(name) else None,
            after=len(now) if after.watchlist(name) else None,
            added=[alert for story, alert in now.items() if story not in was and alert is not None],
            removed=[alert for story, alert in was.items() if story not in now and alert is not None],
        ))
    return report


def _alert(stored: StoredStory, cause: Cause) -> ReplayedAlert:
    article = stored.article
    return ReplayedAlert(stored.story, article.title, article.url, article.source, article.published, cause)


def _cause(article: Article, this: Watchlist, named: tuple[str, ...], match: MatchResult,
           other: Watchlist | None, other_match: MatchResult) -> Cause:
    """Why `this` routes the article for its `named` companies (with `match`) and `other` does not.

    The first of: a company `other` lacks; a name of a company that `other_match` did not count
    (a new alias, or one whose mentions its context words now keep); the keyword that `other`'s
    keywords lack; "the keyword filter" when only `other` has one; else other changes.
    """
    other_companies = other.companies if other is not None else frozenset()
    for company in named:
        if company not in other_companies:
            return Cause("company", company)
        aliases = dict.fromkeys(m.alias for m in match.mentions if m.company == company)
        other_aliases = {m.alias for m in other_match.mentions if m.company == company}
        fresh = [alias for alias in aliases if alias not in other_aliases]
        if fresh:
            return Cause("alias", fresh[0], company)
    if other is not None and other.keywords is not None and not _keyword_hits(article, other):
        hits = _keyword_hits(article, this)
        return Cause("keyword", hits[0], "") if hits else Cause("keywords")
    return Cause("other")


def _keyword_hits(article: Article, watchlist: Watchlist) -> list[str]:
    if watchlist.keywords is None:
        return []
    hits = watchlist.keywords.find(article.title) + watchlist.keywords.find(article.text)
    return list(dict.fromkeys(hit.key for hit in hits))


# ---------------------------------------------------------------- text


def report_text(report: ReplayReport, *, now: datetime, compare: bool) -> str:
    """The report for a terminal: one line per watchlist, then a few of the stories that change.

    Rates per week are over the time the archive covers: from `since`, or from the oldest
    story replayed when the archive is younger, to `now`.
    """
    start = max(report.since, report.oldest) if report.oldest else report.since
    weeks = (now - start) / timedelta(days=7)
    lines = []
    for w in report.watchlists:
        if not compare:
            lines.append(f"watchlist {w.name}: {_alerts(w.after)}{_rate(w.after, weeks)}")
            continue
        if w.before is None:
            lines.append(f"watchlist {w.name}: new watchlist → {_alerts(w.after)}{_rate(w.after, weeks)}")
        elif w.after is None:
            lines.append(f"watchlist {w.name}: {_alerts(w.before)} → none (not in the new config)")
        else:
            change = w.after - w.before
            if change == 0 and not w.added:
                lines.append(f"watchlist {w.name}: {_alerts(w.after)}, unchanged")
            else:
                delta = f" ({change:+d}{_weekly(change, weeks)})" if change else " (as many, but not the same)"
                line = f"watchlist {w.name}: {w.before} → {_alerts(w.after)}{delta}"
                for label, alerts in (("new", w.added), ("gone", w.removed)):
                    if alerts:
                        causes = ", ".join(f"{count} via {cause}" for cause, count in w.causes(alerts))
                        line += f"; {len(alerts)} {label}: {causes}"
                lines.append(line)
        for mark, alerts in (("+", w.added), ("-", w.removed)):
            for alert in alerts[:EXAMPLES]:
                lines.append(f"  {mark} {alert.published:%Y-%m-%d} {alert.title} ({alert.source}; via {alert.via})")
            if len(alerts) > EXAMPLES:
                lines.append(f"  {mark} … and {len(alerts) - EXAMPLES} more (--json lists every one)")
    if compare:
        lines.append(f"messages (one per story and channel): {report.posts_before} → {report.posts_after}")
    else:
        lines.append(f"messages (one per story and channel): {report.posts_after}")
    return "\n".join(lines) + "\n"


def _alerts(count: int | None) -> str:
    return "none" if count is None else f"{count} alert{'' if count == 1 else 's'}"


def _weekly(change: int, weeks: float) -> str:
    return f", {change / weeks:+.1f}/week" if weeks > 0 else ""


def _rate(count: int | None, weeks: float) -> str:
    return f" ({count / weeks:.1f}/week)" if count and weeks > 0 else ""
