"""Hot reload: the running bot picks up an edited config file, or keeps the last good one."""

from __future__ import annotations

import asyncio
import io
import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

from adapters.console import ConsoleAdapter
from bot.app import App
from bot.config import load_config
from bot.reload import config_diff
from bot.scheduler import build_scheduler
from tests.support import article_page, hours_ago, rss

CONFIG = """\
# The team's watchlist (reviewed in git).
storage:
  path: intel.db
fetch:
  allow_private_networks: true
  host_delay: 0s
sources:
  - name: Wire
    url: {feed}
    every: 15m
companies:
  - name: Globex
    aliases: [Globex Corp]
watchlists:
  - name: rivals
    companies: [Globex]
    channels: [console]
admin_channel: console
alerts:
  backlog: 7d
"""
WITH_INITECH = CONFIG.replace("""    aliases: [Globex Corp]
watchlists:""", """    aliases: [Globex Corp]
  - name: Initech
    aliases: [Initech AG]
watchlists:""").replace("companies: [Globex]\n", "companies: [Globex, Initech]\n    keywords: [tariff]\n")


def serve_stories(site) -> str:
    initech = site.put("/initech.html", article_page("Initech faces a new tariff", [
        "Initech AG said the new tariff on software imports will cost it two million euros a year.",
        "The company will raise prices for customers in the United States next quarter."]))
    globex = site.put("/globex.html", article_page("Globex warns of a tariff", [
        "Globex Corp warned that a tariff on batteries would hurt its scooter business in Europe.",
        "Its shares fell three percent in Frankfurt after the warning on Tuesday."]))
    return site.put("/feed.xml", rss([
        {"title": "Initech faces a new tariff", "link": initech, "published": hours_ago(2)},
        {"title": "Globex warns of a tariff", "link": globex, "published": hours_ago(1)},
    ]), "application/rss+xml")


def test_the_diff_says_what_changed_briefly(tmp_path):
    path = tmp_path / "intelbot.yaml"
    path.write_text(CONFIG.format(feed="https://news.test/feed.xml"))
    old = load_config(path)
    path.write_text(WITH_INITECH.format(feed="https://news.test/feed.xml").replace("every: 15m", "every: 30m\n    max_every: 2h\n    robots: false")
                    .replace("allow_private_networks: true", "allow_private_networks: false"))
    assert config_diff(old, load_config(path)) == [
        "+1 company: Initech",
        "source Wire: every 15m → 30m, max_every default → 2h, robots true → false",
        "watchlist rivals: +company 'Initech', +keyword 'tariff'",
        "fetch changed (restart to apply)",
    ]
    assert config_diff(old, old) == []


async def test_a_valid_edit_applies_without_a_restart(news_site, tmp_path):
    path = tmp_path / "intelbot.yaml"
    feed = serve_stories(news_site)
    path.write_text(CONFIG.format(feed=feed))
    out = io.StringIO()
    async with App(load_config(path), {"console": ConsoleAdapter(out, json_lines=True)},
                   extractor_processes=False) as app:
        path.write_text(WITH_INITECH.format(feed=feed))
        said = await app.reload()
        assert said.endswith("+1 company: Initech; watchlist rivals: +company 'Initech', +keyword 'tariff'.")
        _, delivery = await app.poll_once()
        lookup = await asyncio.to_thread(app.commands.search, "initech")
    # Both stories have the new keyword; the Initech one alerts because Initech is now tracked.
    assert sorted(a.title for a in delivery.sent) == ["Globex warns of a tariff", "Initech faces a new tariff"]
    assert [r.title for r in lookup.results] == ["Initech faces a new tariff"]  # lookups know it too
    assert said in out.getvalue()  # the admin channel (the console here) heard it


async def test_an_invalid_edit_keeps_the_running_config_and_says_where(news_site, tmp_path):
    path = tmp_path / "intelbot.yaml"
    feed = serve_stories(news_site)
    path.write_text(CONFIG.format(feed=feed))
    out = io.StringIO()
    async with App(load_config(path), {"console": ConsoleAdapter(out, json_lines=True)},
                   extractor_processes=False) as app:
        running = app.config
        path.write_text(CONFIG.format(feed=feed).replace("companies: [Globex]", "companies: [Globexx]"))
        said = await app.reload()
        assert app.config is running
        _, delivery = await app.poll_once()
    assert said.startswith(f"Did not reload {path}: it has errors, so the running configuration stays.")
    assert said.endswith("intelbot.yaml:16:17: watchlists[0].companies[0]: unknown company 'Globexx' "
                         "(did you mean 'Globex'?)")
    assert [a.title for a in delivery.sent] == ["Globex warns of a tariff"]  # still working, as before


async def test_the_running_bot_reloads_when_the_file_changes(news_site, tmp_path):
    path = tmp_path / "intelbot.yaml"
    feed = serve_stories(news_site)
    path.write_text(CONFIG.format(feed=feed))
    stop = asyncio.Event()
    async with App(load_config(path), {"console": ConsoleAdapter(io.StringIO(), json_lines=True)},
                   extractor_processes=False) as app:
        runner = asyncio.create_task(app.run(stop))
        await asyncio.sleep(0.5)  # the watcher is up
        second = feed.replace("/feed.xml", "/other.xml")
        news_site.put("/other.xml", rss([]), "application/rss+xml")
        edited = WITH_INITECH.format(feed=feed) .replace("sources:\n", f"sources:\n  - name: Other\n    url: {second}\n")
        temporary = path.with_suffix(".tmp")
        temporary.write_text(edited)
        temporary.replace(path)  # as editors save: a new file renamed over the old one
        for _ in range(100):
            if app.config.company("Initech") is not None:
                break
            await asyncio.sleep(0.1)
        jobs = sorted(job.id for job in app._scheduler.get_jobs() if job.id.startswith("poll:"))
        stop.set()
        await asyncio.wait_for(runner, 10)
    assert app.config.company("Initech") is not None
    assert jobs == ["poll:Other", "poll:Wire"]


def test_sync_keeps_unchanged_jobs_and_reschedules_changed_ones(tmp_path):
    now = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
    path = tmp_path / "intelbot.yaml"
    text = CONFIG.format(feed="https://news.test/feed.xml").replace(
        "sources:\n", "sources:\n  - name: Daily\n    url: https://daily.test/feed.xml\n    every: 1h\n")
    path.write_text(text)
    config = load_config(path)

    async def poll(source) -> None: ...

    async def deliver() -> None: ...

    scheduler = build_scheduler(config.sources, poll, deliver, now=now, rng=random.Random(1))
    daily = scheduler.get_job("poll:Daily").next_run_time
    path.write_text(text.replace("every: 15m", "every: 45m").replace(
        "  - name: Daily\n    url: https://daily.test/feed.xml\n    every: 1h\n", "  - name: Daily\n    url: https://daily.test/feed.xml\n    every: 1h\n  - name: Weekly\n    url: https://weekly.test/rss\n"))
    from bot.scheduler import sync_jobs
    new = load_config(path)
    sync_jobs(scheduler, new.sources, poll, [], now=now, rng=random.Random(1))
    assert sorted(j.id for j in scheduler.get_jobs()) == ["deliver", "poll:Daily", "poll:Weekly", "poll:Wire"]
    assert scheduler.get_job("poll:Daily").next_run_time == daily  # untouched: not polled again at once
    assert scheduler.get_job("poll:Wire").trigger.interval == timedelta(minutes=45)
    sync_jobs(scheduler, new.sources[:1], poll, [], now=now)
    assert sorted(j.id for j in scheduler.get_jobs()) == ["deliver", "poll:Daily"]
