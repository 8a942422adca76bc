"""Health and status: the report, `intelbot status`, `/intel status`, admin notices, /healthz and /metrics.

Everything runs against a real SQLite store; the health endpoint is a real HTTP server on
127.0.0.1, asked by a real client; the admin channel is an adapter that records its posts.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from bot import messages
from bot.app import App, company_names
from bot.commands import Commands
from bot.config import Config, parse_config
from bot.errors import ConfigError, DeliveryError
from bot.health import (
    CONTENT_TYPE,
    HealthServer,
    Heartbeat,
    health_server,
    render_metrics,
)
from bot.models import Alert, ChannelRef, Command, Coverage, Digest, Reply
from bot.query import CompanyIndex
from bot.status import (
    ChannelStatus,
    Histogram,
    Notifier,
    SourceStatus,
    StatusReport,
    read_status,
)
from bot.store import Store
from tests.test_store import make_alert, make_article

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=timezone.utc)
INTELBOT = shutil.which("intelbot", path=str(Path(sys.executable).parent)) or "intelbot"

CONFIG = """\
storage:
  path: intel.db
fetch:
  allow_private_networks: true
  host_delay: 0s
sources:
  - name: Wire
    url: {wire}
  - name: Blog
    url: https://blog.test/feed.xml
  - name: Fresh
    url: https://fresh.test/feed.xml
companies:
  - name: Northwind
watchlists:
  - name: rivals
    companies: [Northwind]
    channels: [slack:#intel, slack:#gone, console]
admin_channel: {admin}
"""


def config_for(tmp_path: Path, *, wire: str = "https://wire.test/feed.xml", admin: str = "slack:#intel-admin",
               extra: str = "") -> Config:
    return parse_config(CONFIG.format(wire=wire, admin=admin) + extra, filename="intelbot.yaml", base_dir=tmp_path)


class Recorder:
    """A chat platform that remembers each post; `refuse` makes the next post fail with that error."""

    platform = "slack"

    def __init__(self) -> None:
        self.posts: list[tuple[str, object]] = []
        self.refuse: DeliveryError | None = None

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def post_alert(self, channel: ChannelRef, alert: Alert) -> str | None:
        return self._post(channel, alert)

    async def post_reply(self, channel: ChannelRef, reply: Reply) -> str | None:
        await asyncio.sleep(0)  # a real platform answers later: other tasks run meanwhile
        return self._post(channel, reply)

    async def post_coverage(self, channel: ChannelRef, coverage: Coverage) -> str | None:
        return self._post(channel, coverage)

    async def post_digest(self, channel: ChannelRef, digest: Digest) -> str | None:
        return self._post(channel, digest)

    def _post(self, channel: ChannelRef, what: object) -> str:
        if self.refuse is not None:
            error, self.refuse = self.refuse, None
            raise error
        self.posts.append((str(channel), what))
        return f"ts-{len(self.posts)}"

    def texts(self) -> list[str]:
        return [what.text for _, what in self.posts if isinstance(what, Reply)]


class Queue:
    """Puts alerts for a channel in the outbox of a real store, one new article each."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.count = 0

    def __call__(self, channel: str) -> int:
        self.count += 1
        article = make_article(f"https://news.test/{self.count}", f"Northwind story {self.count}", "Northwind.")
        _, ids = self.store.add_article(article, [], [make_alert(article, channel)])
        return ids[0]


@pytest.fixture
def store(tmp_path: Path):
    with Store(tmp_path / "intel.db") as opened:
        yield opened


def fill(store: Store) -> None:
    """Outbox rows in three channels and three sources in three states, as of NOW."""
    queue = Queue(store)
    yesterday, today, later = queue("slack:#intel"), queue("slack:#intel"), queue("slack:#intel")
    store.mark_sent(yesterday, now=NOW - timedelta(days=1))
    store.mark_sent([today, later], now=NOW - timedelta(hours=2))
    store.mark_failed(queue("slack:#intel"), now=NOW - timedelta(minutes=5), error="rate limited", permanent=False)
    queue("slack:#intel")  # waiting for its first try
    store.mark_failed(queue("slack:#gone"), now=NOW - timedelta(hours=2), error="channel_not_found", permanent=True)
    store.mark_failed(queue("slack:#gone"), now=NOW - timedelta(hours=1), error="not_in_channel", permanent=True)
    store.mark_failed(queue("slack:#gone"), now=NOW - timedelta(minutes=30), error="not_in_channel", permanent=True)
    queue("slack:#old")  # a channel no longer configured that still has an unsent row
    for hours in (3, 1):
        store.record_poll_success("Wire", "https://wire.test/feed.xml", now=NOW - timedelta(hours=hours),
                                  etag=None, last_modified=None)
    store.record_poll_success("Blog", "https://blog.test/feed.xml", now=NOW - timedelta(hours=5),
                              etag=None, last_modified=None)
    for minutes in (30, 20, 10):
        store.record_poll_failure("Blog", "https://blog.test/feed.xml", now=NOW - timedelta(minutes=minutes),
                                  error="HTTP 503 Service Unavailable")


# --- the report ---

def test_report_counts_each_channel_and_source(store, tmp_path):
    fill(store)
    report = read_status(store, config_for(tmp_path), now=NOW)

    channels = {c.channel: c for c in report.channels}
    assert [c.channel for c in report.channels] == ["slack:#intel", "slack:#gone", "console", "slack:#old"]
    intel = channels["slack:#intel"]
    assert (intel.pending, intel.retrying, intel.failed, intel.sent, intel.sent_today) == (2, 1, 0, 3, 2)
    assert intel.last_sent == NOW - timedelta(hours=2)
    assert intel.errors == (("rate limited", NOW - timedelta(minutes=5)),)
    gone = channels["slack:#gone"]
    assert (gone.pending, gone.failed, gone.sent, gone.last_sent) == (0, 3, 0, None)
    assert gone.errors == (("not_in_channel", NOW - timedelta(minutes=30)),
                           ("channel_not_found", NOW - timedelta(hours=2)))  # distinct, newest first
    assert channels["console"] == ChannelStatus("console")  # configured, no rows yet: zeros
    assert channels["slack:#old"].pending == 1

    wire, blog, fresh = report.sources
    assert (wire.name, wire.polls, wire.failures, wire.last_success) == ("Wire", 2, 0, NOW - timedelta(hours=1))
    assert (blog.failures, blog.last_error, blog.last_error_at) == (
        3, "HTTP 503 Service Unavailable", NOW - timedelta(minutes=10))
    assert blog.last_success == NOW - timedelta(hours=5)
    assert fresh == SourceStatus("Fresh", "https://fresh.test/feed.xml") and fresh.never_polled


def test_report_reads_as_text(store, tmp_path):
    fill(store)
    text = messages.status_text(read_status(store, config_for(tmp_path), now=NOW))
    assert text.splitlines() == [
        "intelbot status at 2024-06-01 12:00 UTC",
        "Channels:",
        "• slack:#intel: 2 pending (1 retrying), 2 sent today, 0 failed; last sent 2 h ago",
        "    latest failures: rate limited (5 min ago)",
        "• slack:#gone: 0 pending, 0 sent today, 3 failed; nothing sent yet",
        "    latest failures: not_in_channel (30 min ago); channel_not_found (2 h ago)",
        "• console: 0 pending, 0 sent today, 0 failed; nothing sent yet",
        "• slack:#old: 1 pending, 0 sent today, 0 failed; nothing sent yet",
        "Sources:",
        "• Wire: OK, last success 1 h ago (2 polls)",
        "• Blog: failing, 3 polls in a row: HTTP 503 Service Unavailable (10 min ago); last success 5 h ago",
        "• Fresh: never polled",
    ]


async def test_intel_status_in_chat(store, tmp_path):
    fill(store)
    config = config_for(tmp_path)
    commands = Commands(store, CompanyIndex(company_names(config)), clock=lambda: NOW,
                        status=lambda: read_status(store, config, now=NOW))
    reply = await commands.handle(Command("status", user="slack:U1"))
    assert reply.text == messages.status_text(read_status(store, config, now=NOW)) and reply.ephemeral
    assert "/intel status" in (await commands.handle(Command("help", user="slack:U1"))).text
    without = Commands(store, CompanyIndex(company_names(config)), clock=lambda: NOW)
    assert (await without.handle(Command("status", user="console"))).text == messages.STATUS_UNAVAILABLE


async def intelbot(*args: str, cwd: Path) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items()
           if "proxy" not in k.lower() and not k.startswith(("SLACK_", "DISCORD_"))}
    process = await asyncio.create_subprocess_exec(
        INTELBOT, *args, cwd=cwd, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    return process.returncode, out.decode(), err.decode()


async def test_intelbot_status_json_and_text(tmp_path):
    (tmp_path / "intelbot.yaml").write_text(CONFIG.format(wire="https://wire.test/feed.xml", admin="console"),
                                            encoding="utf-8")
    started = datetime.now(timezone.utc)
    with Store(tmp_path / "intel.db") as store:
        queue = Queue(store)
        store.mark_sent(queue("slack:#intel"), now=started)
        store.mark_failed(queue("slack:#gone"), now=started, error="channel_not_found", permanent=True)
        store.record_poll_failure("Blog", "https://blog.test/feed.xml", now=started, error="timed out")

    code, out, err = await intelbot("status", "--config", "intelbot.yaml", "--json", cwd=tmp_path)
    assert code == 0, err
    answer = json.loads(out)
    assert set(answer) == {"now", "channels", "sources"}
    intel, gone, console = answer["channels"]
    assert (intel["channel"], intel["sent"], intel["pending"], intel["failed"]) == ("slack:#intel", 1, 0, 0)
    if datetime.now(timezone.utc).date() == started.date():  # not across midnight UTC
        assert intel["sent_today"] == 1
    assert gone["failed"] == 1 and [r["error"] for r in gone["failure_reasons"]] == ["channel_not_found"]
    assert console == {"channel": "console", "pending": 0, "retrying": 0, "failed": 0, "sent": 0, "sent_today": 0,
                       "last_sent": None, "failure_reasons": []}
    wire, blog, _ = answer["sources"]
    assert wire["last_success"] is None and wire["consecutive_failures"] == 0
    assert blog["last_error"] == "timed out" and blog["consecutive_failures"] == 1
    assert blog["last_error_at"] == started.replace(microsecond=0).isoformat().replace("+00:00", "Z")

    code, out, err = await intelbot("status", "--config", "intelbot.yaml", cwd=tmp_path)
    assert code == 0, err
    assert "• slack:#gone: 0 pending, 0 sent today, 1 failed; nothing sent yet" in out
    assert "• Wire: never polled" in out and "• Blog: failing, 1 poll: timed out" in out

    code, out, err = await intelbot("sources", "--config", "intelbot.yaml", cwd=tmp_path)
    assert code == 0, err
    assert "• Wire [new]: never polled" in out and "• Blog [failing]: failing, 1 poll: timed out" in out
    code, out, err = await intelbot("sources", "--config", "intelbot.yaml", "--json", cwd=tmp_path)
    assert [(s["name"], s["state"], s["reason"]) for s in json.loads(out)] == [
        ("Wire", "new", "never polled"), ("Blog", "failing", "timed out"), ("Fresh", "new", "never polled")]


# --- admin notices ---

def notifier_for(store: Store, admin: Recorder, *, channels=("slack:#intel",), sources=("Wire",),
                 clock=lambda: NOW) -> Notifier:
    return Notifier(store, {"slack": admin}, "slack:#intel-admin", channels=list(channels), sources=list(sources),
                    clock=clock)


async def test_a_channel_failing_for_good_is_announced_once_per_spell(store):
    admin, queue = Recorder(), Queue(store)
    notifier = notifier_for(store, admin)
    await notifier.start()
    store.mark_sent(queue("slack:#intel"), now=NOW - timedelta(hours=3))
    store.mark_failed(queue("slack:#intel"), now=NOW - timedelta(hours=2), error="ratelimited", permanent=False)
    assert await notifier.check() == []  # sent, or will be retried: nothing to say

    store.mark_failed(queue("slack:#intel"), now=NOW - timedelta(hours=1), error="channel_not_found", permanent=True)
    notices = await notifier.check()
    assert notices == [messages.channel_failing("slack:#intel", "channel_not_found", 1, NOW - timedelta(hours=3), NOW)]
    assert "cannot post to slack:#intel: channel_not_found. 1 alert failed since the last successful post" in notices[0]
    assert admin.posts == [("slack:#intel-admin", Reply(notices[0], ephemeral=False))]

    store.mark_failed(queue("slack:#intel"), now=NOW - timedelta(minutes=50), error="channel_not_found", permanent=True)
    assert await notifier.check() == []  # the same spell

    store.mark_sent(queue("slack:#intel"), now=NOW - timedelta(minutes=40))  # fixed
    assert await notifier.check() == []
    store.mark_failed(queue("slack:#intel"), now=NOW - timedelta(minutes=30), error="not_in_channel", permanent=True)
    again = await notifier.check()
    assert len(again) == 1 and "not_in_channel" in again[0]
    assert len(admin.posts) == 2

    store.mark_failed(queue("slack:#other"), now=NOW, error="channel_not_found", permanent=True)
    assert await notifier.check() == []  # not a configured channel


async def test_a_source_is_announced_at_its_third_failure_in_a_row(store):
    admin = Recorder()
    notifier = notifier_for(store, admin)
    await notifier.start()
    url = "https://wire.test/feed.xml"

    def fail(minute: int) -> None:
        store.record_poll_failure("Wire", url, now=NOW + timedelta(minutes=minute), error="HTTP 500")

    store.record_poll_success("Wire", url, now=NOW, etag=None, last_modified=None)
    said = []
    for minute in (1, 2, 3, 4):
        fail(minute)
        said.append(await notifier.check())
    assert [len(notices) for notices in said] == [0, 0, 1, 0]
    assert said[2][0].startswith("Source Wire failed 3 polls in a row: HTTP 500. Last success")

    store.record_poll_success("Wire", url, now=NOW + timedelta(minutes=5), etag=None, last_modified=None)
    assert await notifier.check() == ["Source Wire is working again."]  # once
    assert await notifier.check() == []
    said = []
    for minute in (6, 7, 8):
        fail(minute)
        said.append(await notifier.check())
    assert [len(notices) for notices in said] == [0, 0, 1]
    assert len(admin.texts()) == 3


async def test_checks_that_run_together_post_a_notice_once(store):
    admin = Recorder()
    notifier = notifier_for(store, admin)
    await notifier.start()
    store.mark_failed(Queue(store)("slack:#intel"), now=NOW, error="channel_not_found", permanent=True)
    first, second = await asyncio.gather(notifier.check(), notifier.check())
    assert len(first + second) == 1 and len(admin.posts) == 1


async def test_a_recovery_between_two_checks_still_starts_a_new_spell(store):
    admin = Recorder()
    notifier = notifier_for(store, admin)
    await notifier.start()
    url = "https://wire.test/feed.xml"
    for minute in (1, 2, 3):
        store.record_poll_failure("Wire", url, now=NOW + timedelta(minutes=minute), error="HTTP 500")
    assert len(await notifier.check()) == 1
    store.record_poll_success("Wire", url, now=NOW + timedelta(minutes=4), etag=None, last_modified=None)
    for minute in (5, 6, 7):  # the next check comes only now, as after an `intelbot poll --once` elsewhere
        store.record_poll_failure("Wire", url, now=NOW + timedelta(minutes=minute), error="HTTP 500")
    assert len(await notifier.check()) == 1


async def test_problems_present_at_start_are_not_announced_again(store):
    queue = Queue(store)
    store.mark_failed(queue("slack:#intel"), now=NOW, error="channel_not_found", permanent=True)
    for minute in range(5):
        store.record_poll_failure("Wire", "https://wire.test/feed.xml", now=NOW + timedelta(minutes=minute),
                                  error="timed out")
    admin = Recorder()
    restarted = notifier_for(store, admin)
    await restarted.start()
    assert await restarted.check() == []
    store.record_poll_failure("Wire", "https://wire.test/feed.xml", now=NOW + timedelta(minutes=9), error="timed out")
    assert await restarted.check() == [] and admin.posts == []


async def test_a_refused_notice_is_tried_again_unless_refused_for_good(store, caplog):
    admin, queue = Recorder(), Queue(store)
    notifier = notifier_for(store, admin)
    await notifier.start()
    store.mark_failed(queue("slack:#intel"), now=NOW, error="channel_not_found", permanent=True)
    admin.refuse = DeliveryError("Slack is down", permanent=False)
    with caplog.at_level(logging.WARNING, logger="bot.status"):
        assert await notifier.check() == []
    assert "could not post an admin notice to slack:#intel-admin: Slack is down" in caplog.text
    assert len(await notifier.check()) == 1  # the next check posts it

    for minute in (1, 2, 3):
        store.record_poll_failure("Wire", "https://wire.test/feed.xml", now=NOW + timedelta(minutes=minute),
                                  error="HTTP 500")
    admin.refuse = DeliveryError("no channel #intel-admin", permanent=True)
    assert await notifier.check() == []
    assert await notifier.check() == []  # retrying cannot help: not tried again
    assert len(admin.posts) == 1


async def test_one_shot_polls_announce_a_failing_source_once(news_site, tmp_path):
    """`intelbot poll --once` from cron: each run is a new process, yet the notice comes once."""
    news_site.put("/feed.xml", "overloaded", status=503)
    config = config_for(tmp_path, wire=news_site.url("/feed.xml"), admin="console")
    config = config.model_copy(update={"sources": config.sources[:1]})
    admin = Recorder()
    for _ in range(4):
        async with App(config, {"console": admin}, extractor_processes=False) as app:
            reports, _ = await asyncio.wait_for(app.poll_once(), 20)
            assert reports[0].error
    assert len(admin.texts()) == 1
    assert admin.texts()[0].startswith("Source Wire failed 3 polls in a row: ")
    assert admin.posts[0][0] == "console"


# --- /healthz and /metrics ---

class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def test_healthz_and_metrics_over_http(store, tmp_path):
    fill(store)
    config = config_for(tmp_path)
    clock = Clock(NOW)
    commands = Commands(store, CompanyIndex(company_names(config)), clock=clock)
    commands.search("northwind")
    server = HealthServer("127.0.0.1", 0, status=lambda: read_status(store, config, now=clock()),
                          heartbeat=Heartbeat(clock), lookups=commands.lookup_seconds)
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
            health = await client.get("/healthz")
            assert (health.status_code, health.text) == (200, "ok\n")

            metrics = await client.get("/metrics")
            assert metrics.status_code == 200 and metrics.headers["content-type"] == CONTENT_TYPE
            lines = metrics.text.splitlines()
            assert "intelbot_up 1" in lines and "# TYPE intelbot_up gauge" in lines
            assert 'intelbot_polls_total{source="Wire"} 2' in lines
            assert 'intelbot_polls_total{source="Fresh"} 0' in lines
            assert 'intelbot_source_failures{source="Blog"} 3' in lines
            assert f'intelbot_source_last_success_timestamp_seconds{{source="Wire"}} {int(NOW.timestamp()) - 3600}' in lines
            assert 'intelbot_alerts{channel="slack:#intel",state="pending"} 2' in lines
            assert 'intelbot_alerts{channel="slack:#intel",state="sent"} 3' in lines
            assert 'intelbot_alerts{channel="slack:#gone",state="failed"} 3' in lines
            assert 'intelbot_alerts{channel="console",state="sent"} 0' in lines
            assert "# TYPE intelbot_lookup_seconds histogram" in lines
            assert 'intelbot_lookup_seconds_bucket{le="+Inf"} 1' in lines and "intelbot_lookup_seconds_count 1" in lines

            clock.now = NOW + timedelta(minutes=5)  # the scheduler's heartbeat has stopped
            stalled = await client.get("/healthz")
            assert stalled.status_code == 503 and stalled.text.startswith("stalled")
    finally:
        await server.stop()
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient() as client:
            await client.get(f"http://127.0.0.1:{server.port}/healthz")


def test_metrics_escape_label_values():
    report = StatusReport(NOW, (ChannelStatus("console", pending=1),),
                          (SourceStatus('Tech "Wire"\\EU\nnews', "https://x.test"),))
    text = render_metrics(report, Histogram((0.5,)))
    assert 'intelbot_polls_total{source="Tech \\"Wire\\"\\\\EU\\nnews"} 0' in text.splitlines()
    assert 'intelbot_lookup_seconds_bucket{le="0.5"} 0' in text


async def test_the_running_app_serves_health_and_stops_cleanly(tmp_path):
    config = config_for(tmp_path, admin="console", extra="health:\n  listen: 127.0.0.1:0\n")
    stop = asyncio.Event()
    async with App(config, {"console": Recorder()}, extractor_processes=False) as app:
        running = asyncio.create_task(app.run(stop))
        await asyncio.wait_for(_bound(app.health), 10)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{app.health.port}") as client:
            assert (await client.get("/healthz")).text == "ok\n"
            assert "intelbot_up 1" in (await client.get("/metrics")).text
        stop.set()
        await asyncio.wait_for(running, 10)
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient() as client:
            await client.get(f"http://127.0.0.1:{app.health.port}/healthz")


async def _bound(server: HealthServer) -> None:
    while server.port == 0:  # yields to the loop until `run` has bound the port
        await asyncio.sleep(0)


async def test_a_listen_address_that_cannot_be_used_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="health.listen: expected host:port"):
        health_server("localhost", "intelbot.yaml", status=lambda: None, heartbeat=Heartbeat(lambda: NOW))
    first = HealthServer("127.0.0.1", 0, status=lambda: None, heartbeat=Heartbeat(lambda: NOW))
    await first.start()
    try:
        taken = health_server(f"127.0.0.1:{first.port}", "intelbot.yaml", status=lambda: None,
                              heartbeat=Heartbeat(lambda: NOW))
        with pytest.raises(ConfigError, match=f"intelbot.yaml: health.listen: cannot listen on 127.0.0.1:{first.port}"):
            await taken.start()
    finally:
        await first.stop()


# --- source health: ok, failing, dead, silent ---

def test_source_states_say_why(store, tmp_path):
    from bot.status import DEAD_FAILURES, read_status
    from tests.test_store import make_article

    config = config_for(tmp_path)

    def status_at(hours: float):
        wire = read_status(store, config, now=NOW + timedelta(hours=hours)).sources[0]
        return wire.health(NOW + timedelta(hours=hours))

    assert status_at(0) == ("new", "never polled")
    for n in range(6):  # a story every 4 hours
        article = make_article(f"https://wire.test/{n}", f"Story {n}", "Text.", days_old=(20 - 4 * n) / 24, source="Wire")
        article = article.__class__(**{**article.__dict__, "fetched_at": article.published})
        store.add_article(article, [], [])
    store.record_poll_success("Wire", "https://wire.test/feed.xml", now=NOW, etag=None, last_modified=None)
    assert status_at(1) == ("ok", "")
    assert status_at(23) == ("ok", "")  # 23 h quiet: within a day
    assert status_at(30) == ("silent", "no new stories for 30 h (usually one every 4 h)")
    for _ in range(DEAD_FAILURES - 1):
        store.record_poll_failure("Wire", "https://wire.test/feed.xml", now=NOW, error="HTTP 503")
    assert status_at(1) == ("failing", "HTTP 503")
    store.record_poll_failure("Wire", "https://wire.test/feed.xml", now=NOW, error="HTTP 410")
    assert status_at(1) == ("dead", "HTTP 410")


async def test_a_silent_source_is_announced_once_and_its_recovery_too(store):
    from tests.test_store import make_article

    admin = Recorder()
    moment = [NOW]
    notifier = Notifier(store, {"console": admin}, "console", channels=[], sources=["Wire"], clock=lambda: moment[0])
    for n in range(6):
        article = make_article(f"https://wire.test/{n}", f"Story {n}", "Text.", days_old=(20 - 4 * n) / 24, source="Wire")
        store.add_article(article.__class__(**{**article.__dict__, "fetched_at": article.published}), [], [])
    store.record_poll_success("Wire", "https://wire.test/feed.xml", now=NOW, etag=None, last_modified=None)
    await notifier.start()
    moment[0] = NOW + timedelta(hours=30)
    assert await notifier.check() == [
        "Source Wire has gone silent: no new stories for 30 h (usually one every 4 h). "
        "Its feed may have moved or changed; `/intel sources` shows all."]
    assert await notifier.check() == []
    fresh = make_article("https://wire.test/new", "Story new", "Text.", source="Wire")
    store.add_article(fresh.__class__(**{**fresh.__dict__, "fetched_at": moment[0]}), [], [])
    assert await notifier.check() == ["Source Wire is working again."]
    assert await notifier.check() == []
