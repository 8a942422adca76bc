"""Story lookup by fingerprint: the index gives the brute-force answer, and follows the store.

The brute force is the lookup as it was before the index: measure every fingerprint of the
window, keep the nearest within MAX_DISTANCE, the first stored on a tie.
"""

from __future__ import annotations

import random
import sqlite3
from datetime import timedelta

import pytest

from bot.errors import StoreError
from bot.fingerprint import MAX_DISTANCE, distance, same_story
from bot.models import Mention
from bot.store import Store
from bot.storyindex import SPAN_EXTRA, SPAN_WIDTHS, FingerprintIndex, Row, nearest
from tests.test_store import NOW, make_article

DAY = 86_400
WINDOW = timedelta(days=3)


def brute_force(fingerprint: int, candidates: list[tuple[int, int]]) -> int | None:
    """Pipeline._story_of before the index, over `Store.story_candidates` (story, fingerprint) by id."""
    best: tuple[int, int] | None = None
    for story, other in candidates:
        if same_story(fingerprint, other) and (best is None or distance(fingerprint, other) < best[0]):
            best = (distance(fingerprint, other), story)
    return best[1] if best else None


def signed(value: int) -> int:
    return value - (1 << 64) if value >> 63 else value


def near(rng: random.Random, fingerprint: int, bits: int) -> int:
    """`fingerprint` with `bits` random bits flipped."""
    for bit in rng.sample(range(64), bits):
        fingerprint ^= 1 << bit
    return signed(fingerprint & ((1 << 64) - 1))


def random_rows(rng: random.Random, count: int, *, span: int) -> list[Row]:
    """Rows with fingerprints in clusters (copies 0-14 bits apart) published over `span` seconds."""
    rows: list[Row] = []
    for article_id in range(1, count + 1):
        if rows and rng.random() < 0.6:
            _, _, other, story = rng.choice(rows)
            mark = near(rng, other, rng.randint(0, 14))
        else:
            mark, story = signed(rng.getrandbits(64)), article_id
        rows.append((article_id, rng.randrange(span), mark, story))
    return rows


@pytest.mark.parametrize("seed", range(5))
def test_the_index_finds_what_measuring_every_fingerprint_finds(seed):
    rng = random.Random(seed)
    rows = random_rows(rng, 3000, span=10 * DAY)
    index = FingerprintIndex()
    assert index.cover(0, 10 * DAY, lambda low, high: [r for r in rows if low <= r[1] <= high])
    found = 0
    for _ in range(400):
        _, published, other, _ = rng.choice(rows)
        fingerprint = near(rng, other, rng.randint(0, 16)) if rng.random() < 0.8 else signed(rng.getrandbits(64))
        low = max(0, published - rng.randrange(2 * DAY))
        high = min(10 * DAY, low + rng.choice((0, DAY, 2 * DAY)))
        in_window = [r for r in rows if low <= r[1] <= high]
        expected = nearest(fingerprint, in_window)
        assert index.nearest(fingerprint, low, high) == expected
        assert brute_force(fingerprint, [(story, mark) for _, _, mark, story in in_window]) == expected
        found += expected is not None
    assert found > 80  # the queries did find copies, not only strangers


def test_a_tie_goes_to_the_article_stored_first():
    base = 0x0123_4567_89AB_CDEF
    # Articles 7 and 3 both differ from the query in 4 bits, article 5 in 6: 3 wins.
    rows = [(7, 10, base ^ 0b1111, 70), (3, 20, base ^ (0b1111 << 40), 30), (5, 30, base ^ 0b111111, 50)]
    index = FingerprintIndex()
    index.cover(0, 100, lambda low, high: rows)
    assert index.nearest(base, 0, 100) == 30 == nearest(base, rows)
    assert index.nearest(base, 0, 15) == 70  # 3 is outside the window
    stranger = base ^ (((1 << MAX_DISTANCE + 1) - 1) << 20)  # 11 bits flipped where no copy differs
    assert index.nearest(stranger, 0, 100) is None is nearest(stranger, rows)


def test_the_span_follows_new_articles_and_leaves_old_ranges_to_the_caller():
    loads: list[tuple[int, int]] = []
    rows = [(n, n * 3600, signed(n * 0x9E37_79B9_7F4A_7C15 & ((1 << 64) - 1)), n) for n in range(1, 24 * 60)]

    def load(low: int, high: int) -> list[Row]:
        loads.append((low, high))
        return [r for r in rows if low <= r[1] <= high]

    def held() -> list[Row]:
        return [r for r in rows if index.low <= r[1] <= index.high]

    index = FingerprintIndex()
    width = 6 * DAY
    limit = SPAN_WIDTHS * width + SPAN_EXTRA
    assert index.cover(20 * DAY, 20 * DAY + width, load)
    assert len(index) == 6 * 24 + 1
    assert index.cover(21 * DAY, 21 * DAY + width, load)  # moving forward reads only the new day
    assert loads[-1] == (26 * DAY + 1, 27 * DAY)
    assert index.cover(19 * DAY, 19 * DAY + width, load)  # a day back, within the limit: read it
    assert loads[-1] == (19 * DAY, 20 * DAY - 1) and (index.low, index.high) == (19 * DAY, 27 * DAY)
    before = list(loads)
    assert not index.cover(0, width, load)  # far back: the caller reads that range itself
    assert loads == before and (index.low, index.high) == (19 * DAY, 27 * DAY)
    # Day by day forward: the oldest articles are dropped, what the next lookups need is kept.
    for day in range(22, 50):
        assert index.cover(day * DAY, day * DAY + width, load)
        assert index.low <= day * DAY and index.high == day * DAY + width and index.high - index.low <= limit
        assert len(index) == len(held())
    assert index.low > 19 * DAY
    copy = rows[45 * 24]
    assert index.nearest(copy[2], 45 * DAY, 45 * DAY + width) == copy[3]
    # A jump past everything held: start again from the range asked.
    assert index.cover(60 * DAY, 60 * DAY + width, load)
    assert (index.low, index.high) == (60 * DAY, 66 * DAY) and len(index) == len(held())


def test_added_and_discarded_articles():
    index = FingerprintIndex()
    index.cover(100, 200, lambda low, high: [])
    index.add(1, 150, 42, 1)
    index.add(2, 250, 42, 2)  # outside the span held: the store reads it when the span reaches it
    assert index.nearest(42, 100, 200) == 1 and len(index) == 1
    index.discard(1)
    index.discard(99)
    assert index.nearest(42, 100, 200) is None and len(index) == 0


# --- through the store ---


def add(store: Store, number: int, mark: int | None, *, days_old: float, story: int | None = None) -> int:
    article = make_article(f"https://wire.test/{number}", f"Story {number}", "text", days_old=days_old)
    stored = store.add_article(article, [], [], fingerprint=mark, story=story)
    assert stored is not None
    return stored[0]


def story_of(store: Store, mark: int, days_old: float) -> tuple[int | None, int | None]:
    """(Store.story_of, brute force over Store.story_candidates) for an article published `days_old` ago."""
    published = NOW - timedelta(days=days_old)
    start, end = published - WINDOW, published + WINDOW
    return store.story_of(mark, start, end), brute_force(mark, store.story_candidates(start, end))


def test_store_story_of_equals_the_brute_force_as_articles_arrive(tmp_path):
    rng = random.Random(11)
    with Store(tmp_path / "intel.db") as store:
        marks: list[int] = []
        for number in range(600):
            days_old = rng.uniform(0, 12)
            mark = near(rng, rng.choice(marks), rng.randint(0, 14)) if marks and rng.random() < 0.5 else signed(
                rng.getrandbits(64))
            found, expected = story_of(store, mark, days_old)
            assert found == expected
            add(store, number, None if rng.random() < 0.05 else mark, days_old=days_old, story=found)
            marks.append(mark)
        for days_old in (0, 5, 40, 400):  # 400 days back: beyond the span held, read directly
            for mark in rng.sample(marks, 20):
                found, expected = story_of(store, near(rng, mark, 3), days_old)
                assert found == expected


def test_a_replaced_fingerprint_is_used_at_once(tmp_path):
    with Store(tmp_path / "intel.db") as store:
        add(store, 1, 0x0F0F, days_old=1)
        assert story_of(store, 0x0F0F, 1)[0] == 1
        page = make_article("https://wire.test/1", "Story 1", "changed text", days_old=1)
        store.add_article(page, [], [], replace=True, fingerprint=0x7FFF_0000_0000_0000)
        assert story_of(store, 0x0F0F, 1) == (None, None)
        assert story_of(store, 0x7FFF_0000_0000_0001, 1) == (1, 1)


def test_what_another_process_writes_is_seen(tmp_path):
    path = tmp_path / "intel.db"
    with Store(path) as store, Store(path) as other:
        add(store, 1, 0x1234, days_old=1)
        assert story_of(store, 0x1234, 1)[0] == 1  # the index now holds the window
        add(other, 2, 0x5678 << 32, days_old=1)
        assert story_of(store, 0x5678 << 32, 1) == (2, 2)
        with sqlite3.connect(path) as db:  # a deletion, as a maintenance script might do
            db.execute("DELETE FROM articles WHERE id = 1")
        assert story_of(store, 0x1234, 1) == (None, None)


def test_a_rolled_back_insert_leaves_no_trace_in_the_index(tmp_path):
    with Store(tmp_path / "intel.db") as store:
        add(store, 1, 0x1234, days_old=1)
        assert story_of(store, 0x1234, 1)[0] == 1
        article = make_article("https://wire.test/2", "Story 2", "text", days_old=1)
        bad = Mention("Globex", "Globex", "body", 0, 4)  # type: ignore[arg-type]  # fails after the insert
        other = 0x7FFF_FFFF_0000_0000
        with pytest.raises(StoreError):
            store.add_article(article, [bad], [], fingerprint=other)
        assert story_of(store, other, 1) == (None, None)
        assert add(store, 2, other, days_old=1) == 2  # SQLite reuses the rolled-back id
        assert story_of(store, other, 1) == (2, 2)
