"""`intelbot replay` (bot/replay.py): a config's alerts over stored stories, compared with another's."""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import sqlite3
import types
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot import cli
from bot.config import load_config
from bot.errors import StoreError
from bot.models import Article
from bot.replay import Cause, read_stories, replay, report_text
from bot.store import MIGRATIONS, Store
from tests.test_cli import intelbot

NOW = datetime.now(timezone.utc).replace(microsecond=0)

CURRENT = """\
storage:
  path: intel.db
companies:
  - name: Globex
    aliases: [Globex Corp]
  - name: Initech
watchlists:
  - name: rivals
    companies: [Globex, Initech]
    channels: [console]
"""
WITH_ALIAS = CURRENT.replace("aliases: [Globex Corp]", "aliases: [Globex Corp, Hank Scorpio Industries]")
WITHOUT_INITECH = CURRENT.replace("  - name: Initech\n", "").replace("[Globex, Initech]", "[Globex]")

# (title, text, days old); a story copied by a second outlet is one story.
STORIES = [
    ("Globex opens a factory in Poland", "Globex Corp will make batteries near Wrocław.", 1.0),
    ("Hank Scorpio Industries buys a volcano", "The deal closed on Friday, the buyer said.", 2.0),
    ("Initech cuts 200 jobs", "Initech said the cuts affect its printer division.", 3.0),
    ("Hank Scorpio Industries opens a lair", "Guests were given hammocks.", 4.5),
    ("Initech moves to a new office", "The office has no windows.", 5.0),
    ("Umbrella recalls a vaccine", "A batch was faulty.", 6.0),
    ("Globex founded, decades ago", "Old news about Globex Corp.", 60.0),
]
COPY = ("Globex opens a factory in Poland", "Globex, the maker of batteries, opens a plant.", 0.5)


def build_archive(path: Path, stories=STORIES, *, copy=COPY) -> None:
    with Store(path) as store:
        first = None
        for number, (title, text, days_old) in enumerate(stories):
            published = NOW - timedelta(days=days_old)
            added = store.add_article(Article("Wire", f"https://wire.test/{number}", None, title, text,
                                              published, published), [], [])
            first = first or added[0]
        if copy:
            title, text, days_old = copy
            published = NOW - timedelta(days=days_old)
            store.add_article(Article("Ticker", "https://ticker.test/1", None, title, text, published, published),
                              [], [], story=first)


def configs(tmp_path: Path, current: str = CURRENT, new: str | None = None):
    (tmp_path / "current.yaml").write_text(current, encoding="utf-8")
    loaded = [load_config(tmp_path / "current.yaml")]
    if new is not None:
        (tmp_path / "new.yaml").write_text(new, encoding="utf-8")
        loaded.append(load_config(tmp_path / "new.yaml"))
    return loaded


def replayed(tmp_path: Path, new: str | None = None, *, days: int = 30):
    build_archive(tmp_path / "intel.db")
    since = NOW - timedelta(days=days)
    return replay(read_stories(tmp_path / "intel.db", since), *configs(tmp_path, CURRENT, new), since=since)


def titles(alerts) -> list[str]:
    return [alert.title for alert in alerts]


def test_current_config_alone_counts_stories_once_within_the_window(tmp_path):
    report = replayed(tmp_path)
    assert (report.articles, report.stories) == (7, 6)  # the 60-day-old story is outside; the copy is one story
    [rivals] = report.watchlists
    assert (rivals.name, rivals.before, rivals.after, rivals.added, rivals.removed) == ("rivals", 3, 3, [], [])
    assert (report.posts_before, report.posts_after) == (3, 3)


def test_an_added_alias_adds_alerts_attributed_to_it(tmp_path):
    [rivals] = replayed(tmp_path, WITH_ALIAS).watchlists
    assert (rivals.before, rivals.after) == (3, 5)
    assert titles(rivals.added) == ["Hank Scorpio Industries opens a lair", "Hank Scorpio Industries buys a volcano"]
    assert {alert.via for alert in rivals.added} == {Cause("alias", "Hank Scorpio Industries", "Globex")}
    assert rivals.removed == []


def test_a_removed_company_removes_its_alerts(tmp_path):
    [rivals] = replayed(tmp_path, WITHOUT_INITECH).watchlists
    assert (rivals.before, rivals.after) == (3, 1)
    assert titles(rivals.removed) == ["Initech moves to a new office", "Initech cuts 200 jobs"]
    assert {alert.via for alert in rivals.removed} == {Cause("company", "Initech")}


def test_a_keyword_is_named_as_the_cause(tmp_path):
    current = CURRENT + "    keywords: [factory]\n"
    new = CURRENT + "    keywords: [factory, jobs]\n"
    build_archive(tmp_path / "intel.db")
    since = NOW - timedelta(days=30)
    report = replay(read_stories(tmp_path / "intel.db", since), *configs(tmp_path, current, new), since=since)
    [rivals] = report.watchlists
    assert (rivals.before, rivals.after) == (1, 2)
    assert [(a.title, a.via) for a in rivals.added] == [("Initech cuts 200 jobs", Cause("keyword", "jobs"))]


def test_new_and_dropped_watchlists(tmp_path):
    new = WITH_ALIAS.replace("watchlists:\n  - name: rivals", "watchlists:\n  - name: competitors")
    report = replayed(tmp_path, new)
    assert [(w.name, w.before, w.after) for w in report.watchlists] == [("rivals", 3, None), ("competitors", None, 5)]
    # Both send to the console: as many messages as before, plus the new alias's two stories.
    assert (report.posts_before, report.posts_after) == (3, 5)


def test_report_text_compares_and_lists_examples(tmp_path):
    report = replayed(tmp_path, WITH_ALIAS.replace("[Globex, Initech]", "[Globex]"))
    oldest = NOW - timedelta(days=6)  # the archive is younger than the 30-day window
    assert report.oldest == oldest
    assert report_text(report, now=NOW, compare=True) == (
        f"watchlist rivals: 3 → 3 alerts (as many, but not the same); 2 new: 2 via alias 'Hank Scorpio "
        "Industries'; 2 gone: 2 via company 'Initech'\n"
        f"  + {NOW - timedelta(days=4.5):%Y-%m-%d} Hank Scorpio Industries opens a lair (Wire; via alias "
        "'Hank Scorpio Industries')\n"
        f"  + {NOW - timedelta(days=2):%Y-%m-%d} Hank Scorpio Industries buys a volcano (Wire; via alias "
        "'Hank Scorpio Industries')\n"
        f"  - {NOW - timedelta(days=5):%Y-%m-%d} Initech moves to a new office (Wire; via company 'Initech')\n"
        f"  - {NOW - timedelta(days=3):%Y-%m-%d} Initech cuts 200 jobs (Wire; via company 'Initech')\n"
        "messages (one per story and channel): 3 → 3\n"
    )


def test_report_text_gives_the_change_per_week(tmp_path):
    report = replayed(tmp_path, WITHOUT_INITECH)
    weeks = 6 / 7  # from the oldest story replayed to now
    assert report_text(report, now=NOW, compare=True).splitlines()[0] == (
        f"watchlist rivals: 3 → 1 alert (-2, {-2 / weeks:+.1f}/week); 2 gone: 2 via company 'Initech'")
    # compare=False (the CLI's form without --config) shows the replayed config's counts only.
    assert report_text(report, now=NOW, compare=False).splitlines() == [
        f"watchlist rivals: 1 alert ({1 / weeks:.1f}/week)", "messages (one per story and channel): 1"]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def test_cli_replay_changes_nothing_in_the_database(tmp_path):
    build_archive(tmp_path / "intel.db")
    configs(tmp_path, CURRENT, WITH_ALIAS)
    with sqlite3.connect(tmp_path / "intel.db") as db:
        rows_before = db.execute("SELECT * FROM articles ORDER BY id").fetchall()
    before = digest(tmp_path / "intel.db")
    code, out, err = await intelbot("replay", "--current", "current.yaml", "--config", "new.yaml", cwd=tmp_path)
    assert code == 0, err
    assert digest(tmp_path / "intel.db") == before
    with sqlite3.connect(tmp_path / "intel.db") as db:
        assert db.execute("SELECT * FROM articles ORDER BY id").fetchall() == rows_before
        assert db.execute("SELECT count(*) FROM alerts").fetchone() == (0,)  # nothing was queued, or posted
    lines = out.splitlines()
    assert lines[0].startswith("replayed 7 articles (6 stories) published since ")
    assert lines[0].endswith(f"UTC (30d) from {tmp_path / 'intel.db'}")
    assert lines[1] == f"current config: {tmp_path / 'current.yaml'}; new config: new.yaml"
    assert lines[2].startswith("watchlist rivals: 3 → 5 alerts (+2, +2.3/week); 2 new: 2 via alias 'Hank Scorpio")
    assert lines[-1] == "messages (one per story and channel): 3 → 5"
    assert "replaying:" not in err  # stderr is not a terminal: no progress line


async def test_cli_replay_json_and_window(tmp_path):
    build_archive(tmp_path / "intel.db")
    configs(tmp_path, CURRENT, WITHOUT_INITECH)
    code, out, err = await intelbot("replay", "--current", "current.yaml", "--config", "new.yaml",
                                    "--since", "4d", "--json", cwd=tmp_path)
    assert code == 0, err
    report = json.loads(out)
    assert (report["database"], report["new"], report["window"]) == (str(tmp_path / "intel.db"), "new.yaml", "4d")
    assert (report["articles"], report["stories"], report["posts"]) == (4, 3, {"before": 2, "after": 1})
    [rivals] = report["watchlists"]
    assert (rivals["name"], rivals["before"], rivals["after"], rivals["added"]) == ("rivals", 2, 1, [])
    [gone] = rivals["removed"]
    assert gone["title"] == "Initech cuts 200 jobs" and gone["url"] == "https://wire.test/2"
    assert gone["via"] == {"kind": "company", "name": "Initech", "company": ""}


async def test_cli_replay_reads_the_new_configs_database_when_the_current_has_none(tmp_path):
    (tmp_path / "archive").mkdir()
    build_archive(tmp_path / "archive" / "intel.db")
    (tmp_path / "archive" / "new.yaml").write_text(WITH_ALIAS, encoding="utf-8")
    # No --current and no ./intelbot.yaml: the embedded defaults, whose database does not exist here.
    code, out, err = await intelbot("replay", "--config", "archive/new.yaml", cwd=tmp_path)
    assert code == 0, err
    assert f"from {tmp_path / 'archive' / 'intel.db'}" in out
    assert "current config: <built-in default.yaml>; new config: archive/new.yaml" in out
    assert "watchlist rivals: new watchlist → 5 alerts" in out


async def test_cli_replay_without_a_database(tmp_path):
    configs(tmp_path)
    code, _, err = await intelbot("replay", "--current", "current.yaml", cwd=tmp_path)
    assert code == 1
    assert err.startswith(f"intelbot: no database at {tmp_path / 'intel.db'}: nothing to replay")
    assert not (tmp_path / "intel.db").exists()


def test_progress_line_only_on_a_terminal(tmp_path, monkeypatch, capsys):
    many = [(f"Globex story {n}", "Globex Corp said so.", n / 100) for n in range(250)]
    build_archive(tmp_path / "intel.db", many, copy=None)
    configs(tmp_path)

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    ticks = itertools.count()
    monkeypatch.setattr(cli, "time", types.SimpleNamespace(monotonic=lambda: next(ticks)))
    monkeypatch.setattr("sys.stderr", terminal)
    assert cli.main(["replay", "--current", str(tmp_path / "current.yaml")]) == 0
    assert terminal.getvalue() == (
        "\r\033[Kreplaying: 100 of 250 articles\r\033[Kreplaying: 200 of 250 articles\r\033[K")
    assert "watchlist rivals: 250 alerts" in capsys.readouterr().out


def test_reads_a_database_from_before_stories_without_migrating_it(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        for migration in MIGRATIONS[:3]:  # schema 3: no articles.story_id yet
            migration(db)
        db.execute("PRAGMA user_version = 3")
        db.execute("INSERT INTO articles (source, url, title, text, published, fetched_at)"
                   " VALUES ('Wire', 'https://wire.test/1', 'Globex opens a plant', '', ?, ?)",
                   (int(NOW.timestamp()), int(NOW.timestamp())))
    db.close()
    [story] = read_stories(path, NOW - timedelta(days=1))
    assert (story.id, story.story, story.article.title) == (1, 1, "Globex opens a plant")
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (3,)
    db.close()


def test_a_file_that_is_no_intelbot_database(tmp_path):
    (tmp_path / "notes.db").write_bytes(b"")
    with pytest.raises(StoreError, match="is not an intelbot database"):
        list(read_stories(tmp_path / "notes.db", NOW))
