"""One story, one message: copies of a story become coverage in its alert's thread.

The store decides alert or coverage per channel in the article's own transaction; the
dispatcher gathers a story's pending copies into one reply once they stop arriving. The
adapter here records what it is asked to post, as a chat platform would; the real
platforms' renderings are tested in test_slack.py, test_discord.py and test_console.py.
"""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta

import pytest

from adapters.console import ConsoleAdapter
from bot.app import App
from bot.delivery import Dispatcher
from bot.errors import DeliveryError, StoreError
from bot.models import Alert, ChannelRef, Coverage, Digest, Reply
from bot.store import Store
from tests.support import NewsSite, article_page, hours_ago, make_config, rss
from tests.test_store import NOW, make_alert, make_article, mentions_of


class Recorder:
    """A chat platform that numbers its messages and remembers each post."""

    platform = "slack"

    def __init__(self) -> None:
        self.posts: list[tuple[str, object]] = []
        self.refuse: set[str] = set()

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def post_alert(self, channel: ChannelRef, alert: Alert) -> str | None:
        return self._post(channel, alert)

    async def post_reply(self, channel: ChannelRef, reply: Reply) -> str | None:
        return self._post(channel, reply)

    async def post_coverage(self, channel: ChannelRef, coverage: Coverage) -> str | None:
        return self._post(channel, coverage)

    async def post_digest(self, channel: ChannelRef, digest: Digest) -> str | None:
        return self._post(channel, digest)

    def _post(self, channel: ChannelRef, what: object) -> str:
        if channel.target in self.refuse:
            raise DeliveryError(f"no channel {channel.target}", permanent=True)
        self.posts.append((channel.target, what))
        return f"ts-{len(self.posts)}"

    def coverage(self) -> list[Coverage]:
        return [what for _, what in self.posts if isinstance(what, Coverage)]


LEAD = "Globex Corp said on Monday that it will open its first European factory near Wrocław."


def copy(n: int, *, source: str = "mirror", minutes: float = 0, companies=("Globex",), text: str = LEAD):
    article = make_article(f"https://{source}.test/{n}", "Globex opens a factory", text, source=source)
    return article, make_alert(article, "slack:#intel", companies=companies)


def add(store: Store, article, alert, *, story: int | None = None, at: datetime = NOW) -> int:
    article = article.__class__(**{**article.__dict__, "fetched_at": at})
    stored = store.add_article(article, mentions_of(article, "Globex"), [alert], story=story)
    assert stored is not None
    return stored[0]


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "intel.db") as store:
        yield store


def dispatcher(store: Store, recorder: Recorder, now: datetime = NOW) -> Dispatcher:
    return Dispatcher(store, {"slack": recorder}, clock=lambda: now,
                      coverage_quiet=timedelta(minutes=10), coverage_longest=timedelta(hours=1))


async def test_a_copy_of_an_alerted_story_becomes_one_threaded_reply(store):
    first = add(store, *copy(1, source="wire"))
    add(store, *copy(2), story=first)
    recorder = Recorder()
    report = await dispatcher(store, recorder, NOW + timedelta(minutes=11)).deliver_pending()

    assert [type(what).__name__ for _, what in recorder.posts] == ["Alert", "Coverage"]
    reply = recorder.coverage()[0]
    assert reply.parent_message_id == "ts-1"  # the alert's message, stored when it was sent
    assert [o.url for o in reply.outlets] == ["https://mirror.test/2"]
    assert reply.story_url == "https://wire.test/1" and reply.new_companies == ()
    assert len(report.sent) == 1 and len(report.coverage) == 1
    assert store.alert_counts() == {"pending": 0, "sent": 2, "failed": 0}


async def test_a_burst_of_copies_waits_until_quiet_then_is_one_reply(store):
    first = add(store, *copy(0, source="wire"))
    recorder = Recorder()
    await dispatcher(store, recorder).deliver_pending()  # the alert goes out at once
    for n in range(1, 13):
        add(store, *copy(n, source=f"site{n}"), story=first, at=NOW + timedelta(minutes=n))
    await dispatcher(store, recorder, NOW + timedelta(minutes=15)).deliver_pending()
    assert recorder.coverage() == []  # the last copy came 3 minutes ago: more may follow
    await dispatcher(store, recorder, NOW + timedelta(minutes=23)).deliver_pending()
    (reply,) = recorder.coverage()
    assert [o.source for o in reply.outlets] == [f"site{n}" for n in range(1, 13)]
    assert len(reply.ids) == 12 and reply.parent_message_id == "ts-1"


async def test_copies_that_keep_coming_are_posted_after_the_longest_wait(store):
    first = add(store, *copy(0, source="wire"))
    recorder = Recorder()
    await dispatcher(store, recorder).deliver_pending()
    for n in range(1, 14):  # one copy every 5 minutes for an hour: never quiet for 10
        add(store, *copy(n, source=f"site{n}"), story=first, at=NOW + timedelta(minutes=5 * n))
    await dispatcher(store, recorder, NOW + timedelta(minutes=64)).deliver_pending()
    assert recorder.coverage() == []  # the oldest copy has waited 59 minutes
    await dispatcher(store, recorder, NOW + timedelta(minutes=66)).deliver_pending()
    assert len(recorder.coverage()) == 1 and len(recorder.coverage()[0].outlets) == 13


async def test_coverage_after_a_restart_still_replies_in_the_thread(tmp_path):
    path = tmp_path / "intel.db"
    recorder = Recorder()
    with Store(path) as store:
        first = add(store, *copy(1, source="wire"))
        await dispatcher(store, recorder).deliver_pending()
    with Store(path) as store:  # a new process: the alert's message id comes from the database
        add(store, *copy(2), story=first)
        await dispatcher(store, recorder, NOW + timedelta(hours=2)).deliver_pending()
    assert recorder.coverage()[0].parent_message_id == "ts-1"


async def test_coverage_waits_for_its_alert_and_a_failed_alert_leaves_it_unthreaded(store):
    recorder = Recorder()
    recorder.refuse.add("#intel")
    first = add(store, *copy(1, source="wire"))
    add(store, *copy(2), story=first)
    await dispatcher(store, recorder, NOW + timedelta(hours=2)).deliver_pending()
    assert store.alert_counts() == {"pending": 1, "sent": 0, "failed": 1}  # the channel waits a round
    recorder.refuse.clear()
    await dispatcher(store, recorder, NOW + timedelta(hours=2)).deliver_pending()
    (reply,) = recorder.coverage()
    assert reply.parent_message_id is None  # no thread to reply in: posted as a message of its own

    pending = add(store, *copy(3, source="other"))
    add(store, *copy(4), story=pending)
    assert store.pending_coverage(now=NOW + timedelta(hours=2), quiet=timedelta(0), longest=timedelta(0)) == []


async def test_a_later_copy_naming_another_tracked_company_says_so(store):
    first = add(store, *copy(1, source="wire"))
    add(store, *copy(2, companies=("Globex", "Initech")), story=first)
    add(store, *copy(3, companies=("Globex", "Initech", "Northwind")), story=first)
    recorder = Recorder()
    await dispatcher(store, recorder).deliver_pending(gather_coverage=False)
    assert recorder.coverage()[0].new_companies == ("Initech", "Northwind")


async def test_a_copy_in_a_channel_without_the_story_is_an_alert_there(store):
    first = add(store, *copy(1, source="wire"))
    article, _ = copy(2)
    stored = store.add_article(article, [], [make_alert(article, "slack:#china")], story=first)
    recorder = Recorder()
    await dispatcher(store, recorder).deliver_pending(gather_coverage=False)
    assert [(target, type(what).__name__) for target, what in recorder.posts] == [
        ("#intel", "Alert"), ("#china", "Alert")]
    assert stored is not None


def test_joining_an_unknown_story_is_refused(store):
    article, alert = copy(1)
    with pytest.raises(StoreError, match="no story 99"):
        store.add_article(article, [], [alert], story=99)
    assert store.article_count() == 0


def test_story_articles_and_candidates(store):
    first = add(store, *copy(1, source="wire"))
    add(store, *copy(2), story=first)
    assert [url for _, url, _ in store.story_articles("https://mirror.test/2")] == [
        "https://wire.test/1", "https://mirror.test/2"]


# --- through the whole pipeline: real feeds on 127.0.0.1, real extraction ---

PARAGRAPHS = [
    "Globex Corp said on Monday that it will open its first European factory near Wrocław, Poland.",
    "The plant will make batteries for electric scooters and employ 400 people by next year.",
    "Globex has been looking for a European site since its sales in Germany doubled last spring.",
    "Local officials welcomed the investment, the largest in the region this year, and promised roads.",
]
OTHER_GLOBEX = [
    "Globex Corp reported quarterly revenue of 2.1 billion dollars on Monday, up 12 percent.",
    "The company raised its forecast for the year, citing strong demand for scooter batteries.",
    "Shares rose 4 percent in early trading after the results were published in Frankfurt.",
]


def syndicate(site: NewsSite, name: str, headline: str, paragraphs: list[str], *, extra: list[str] = ()) -> str:
    """A feed of one site carrying a story (its own URL, headline and furniture)."""
    link = site.put(f"/{name}/story.html", article_page(headline, [*extra, *paragraphs]))
    item = {"title": headline, "link": link + "?utm_source=feed", "guid": f"{name}-1",
            "description": paragraphs[0], "published": hours_ago(1)}
    return site.put(f"/{name}/feed.xml", rss([item], title=name), "application/rss+xml")


async def run_poll(config) -> list[dict]:
    out = io.StringIO()
    async with App(config, {"console": ConsoleAdapter(out, json_lines=True)}, extractor_processes=False) as app:
        await app.poll_once()
    return [json.loads(line) for line in out.getvalue().splitlines()]


async def test_syndicated_copies_make_one_alert_and_one_reply(news_site, tmp_path):
    feeds = [
        ("Wire", syndicate(news_site, "wire", "Globex opens a factory in Poland", PARAGRAPHS)),
        ("Daily", syndicate(news_site, "daily", "Globex to build battery plant near Wrocław", PARAGRAPHS,
                            extra=["By Daily staff"])),
        ("Ledger", syndicate(news_site, "ledger", "Globex picks Poland for factory - Ledger", PARAGRAPHS[:2])),
        ("Results", syndicate(news_site, "results", "Globex revenue rises 12 percent", OTHER_GLOBEX)),
    ]
    lines = await run_poll(make_config(tmp_path, feeds))
    alerts = [line for line in lines if line.get("kind", "alert") == "alert"]
    replies = [line for line in lines if line.get("kind") == "coverage"]
    factory = {"Globex opens a factory in Poland", "Globex to build battery plant near Wrocław",
               "Globex picks Poland for factory - Ledger"}
    titles = [a["title"] for a in alerts]
    assert len(titles) == 2 and "Globex revenue rises 12 percent" in titles  # two stories, one alert each
    (first,) = [t for t in titles if t in factory]
    (reply,) = replies  # the other two copies, in one reply under the first
    assert reply["story_title"] == first and len(reply["outlets"]) == 2
    with Store(make_config(tmp_path, feeds).storage.path) as store:
        story = store.story_articles(news_site.url("/wire/story.html"))
    assert sorted(source for source, _, _ in story) == ["Daily", "Ledger", "Wire"]


# --- lookups: one result per story; event tags ---

def test_a_lookup_shows_each_story_once(store):
    first = add(store, *copy(1, source="wire"))
    for n in range(2, 6):
        add(store, *copy(n), story=first)
    other, alert = copy(9, source="wire", text="Globex Corp reported quarterly revenue on Monday.")
    store.add_article(other, mentions_of(other, "Globex"), [])
    results = store.search(companies=["Globex"], now=NOW)
    assert len(results) == 2 and len({r.url for r in results}) == 2
    assert {r.url for r in results} >= {"https://wire.test/9"}
    # Paging goes on past the copies, never repeating a story.
    page = store.search_page(companies=["Globex"], limit=1, now=NOW)
    rest = store.search_page(companies=["Globex"], limit=1, after=page.cursor, now=NOW)
    assert page.results[0].url != rest.results[0].url and rest.cursor is None


def test_event_tags_are_stored_and_searchable(store):
    funding = make_article("https://wire.test/f", "Globex raises money", "Globex raised a Series B round.")
    store.add_article(funding, mentions_of(funding, "Globex"), [], events=("funding",))
    other = make_article("https://wire.test/o", "Globex opens a shop", "Globex opened a shop.")
    store.add_article(other, mentions_of(other, "Globex"), [], events=("expansion",))
    assert [r.url for r in store.search(event="funding", now=NOW)] == ["https://wire.test/f"]
    assert [r.url for r in store.search(companies=["Globex"], event="expansion", now=NOW)] == ["https://wire.test/o"]
    assert [r.url for r in store.search(terms=["globex"], event="funding", now=NOW)] == ["https://wire.test/f"]
    assert store.search(event="layoffs", now=NOW) == []
