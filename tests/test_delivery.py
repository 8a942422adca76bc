"""Retries of the outbox: backoff with jitter, Retry-After, order per channel, permanent failures."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.delivery import Dispatcher
from bot.errors import DeliveryError
from bot.models import ChannelRef
from bot.store import RETRY_FIRST, Store
from tests.test_stories import Recorder
from tests.test_store import NOW, make_alert, make_article


class Flaky(Recorder):
    """Refuses posts to some channels for a while, as a platform in trouble does."""

    def __init__(self) -> None:
        super().__init__()
        self.down: dict[str, DeliveryError] = {}

    def _post(self, channel: ChannelRef, what: object) -> str:
        if channel.target in self.down:
            raise self.down[channel.target]
        return super()._post(channel, what)


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "intel.db") as store:
        yield store


def queue(store: Store, *channels: str) -> None:
    for n, channel in enumerate(channels):
        article = make_article(f"https://wire.test/{n}", f"Story {n}", f"Text {n}.")
        store.add_article(article, [], [make_alert(article, f"slack:{channel}")])


async def deliver(store: Store, platform: Flaky, seconds: float) -> list[str]:
    """Run one round at NOW + seconds; the titles posted in it."""
    before = len(platform.posts)
    await Dispatcher(store, {"slack": platform}, clock=lambda: NOW + timedelta(seconds=seconds)).deliver_pending()
    return [what.title for _, what in platform.posts[before:]]


async def test_a_failed_channel_waits_its_backoff_and_keeps_its_order(store):
    queue(store, "#a", "#b", "#a")
    platform = Flaky()
    platform.down["#a"] = DeliveryError("Slack is unavailable (503)")
    assert await deliver(store, platform, 0) == ["Story 1"]  # #b is not held up by #a
    del platform.down["#a"]
    assert await deliver(store, platform, 10) == []  # too soon: #a backs off, Story 2 waits behind Story 0
    assert await deliver(store, platform, RETRY_FIRST * 1.2 + 1) == ["Story 0", "Story 2"]
    assert store.alert_counts() == {"pending": 0, "sent": 3, "failed": 0}


async def test_backoff_doubles_with_each_failure(store):
    queue(store, "#a")
    platform = Flaky()
    platform.down["#a"] = DeliveryError("Slack is unavailable (503)")
    moment, tries = 0.0, 0
    for _ in range(4):
        await deliver(store, platform, moment)
        tries += 1
        moment += RETRY_FIRST * 2 ** (tries - 1) * 0.8 - 1  # just before the earliest retry jitter allows
        assert await deliver(store, platform, moment) == [] and len(platform.posts) == 0
        moment += RETRY_FIRST * 2 ** (tries - 1) * 0.4 + 2  # past the latest
    del platform.down["#a"]
    assert await deliver(store, platform, moment) == ["Story 0"]


async def test_retry_after_from_the_platform_is_honoured(store):
    queue(store, "#a")
    platform = Flaky()
    platform.down["#a"] = DeliveryError("rate limited", retry_after=300)
    await deliver(store, platform, 0)
    del platform.down["#a"]
    assert await deliver(store, platform, 299) == []
    assert await deliver(store, platform, 301) == ["Story 0"]


async def test_a_permanent_failure_is_recorded_and_never_retried(store):
    queue(store, "#gone", "#b")
    platform = Flaky()
    platform.down["#gone"] = DeliveryError("channel_not_found", permanent=True)
    assert await deliver(store, platform, 0) == ["Story 1"]
    assert await deliver(store, platform, 3600) == []
    assert store.alert_counts() == {"pending": 0, "sent": 1, "failed": 1}


def test_a_source_counts_its_failures_in_a_row(store):
    for _ in range(3):
        store.record_poll_failure("Wire", "https://wire.test/feed", now=NOW, error="HTTP 503")
    assert store.source_state("Wire", "https://wire.test/feed").failures == 3
    store.record_poll_success("Wire", "https://wire.test/feed", now=NOW, etag=None, last_modified=None)
    assert store.source_state("Wire", "https://wire.test/feed").failures == 0


# --- against the fake Slack Web API, with the real Slack adapter ---

async def test_slack_failing_for_a_while_then_recovering_gets_each_alert_once_in_order(store):
    from adapters.slack import SlackAdapter
    from tests.fakeslack import BOT_TOKEN, FakeSlack, Scripted

    slack = FakeSlack()
    await slack.start()
    adapter = SlackAdapter(bot_token=BOT_TOKEN, api_url=slack.api_url, handle=None, min_interval=0,
                           clock=lambda: NOW, listen=False)  # posting only, as `intelbot poll` does
    try:
        queue(store, *(["C0123ABCD", "C0456EFGH"] * 4))  # Story 0..7, alternating channels
        # Slack's answers, in order: two 500s, a 429 with Retry-After (slack_sdk waits it out
        # and sends again), then the platform recovers.
        slack.then("chat.postMessage", Scripted(500, {"ok": False, "error": "internal_error"}),
                   Scripted(503, {"ok": False, "error": "service_unavailable"}),
                   Scripted(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"}))
        await adapter.start()
        moment = 0.0
        for _ in range(12):
            dispatcher = Dispatcher(store, {"slack": adapter}, clock=lambda m=moment: NOW + timedelta(seconds=m))
            await dispatcher.deliver_pending()
            moment += RETRY_FIRST * 5  # past any backoff
            if store.alert_counts()["pending"] == 0:
                break
    finally:
        await adapter.stop()
        await slack.stop()
    assert store.alert_counts() == {"pending": 0, "sent": 8, "failed": 0}
    assert slack.calls.count("chat.postMessage") == 8 + 3  # the three refused attempts, then each once
    by_channel: dict[str, list[str]] = {}
    for post in slack.posts:
        by_channel.setdefault(post["channel"], []).append(post["text"].split(": ", 1)[1])
    assert by_channel == {  # once each, and in each channel in the order they were queued
        "C0123ABCD": ["Story 0 (wire)", "Story 2 (wire)", "Story 4 (wire)", "Story 6 (wire)"],
        "C0456EFGH": ["Story 1 (wire)", "Story 3 (wire)", "Story 5 (wire)", "Story 7 (wire)"],
    }
