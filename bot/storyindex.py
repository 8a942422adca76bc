"""Which stored article is nearest a content fingerprint, found without reading the whole window.

Story lookup (bot/pipeline.py) asks, for each new article, which article published within the
story window has the nearest fingerprint (bot/fingerprint.py), if one is at most MAX_DISTANCE
bits away. Reading every fingerprint of the window made ingest quadratic: 129 ms an article
with 20,000 articles in the window.

`FingerprintIndex` holds the fingerprints of the articles published in one span of time, each
filed under its four 16-bit blocks. Two fingerprints at most MAX_DISTANCE (10) bits apart
differ in at most 10 // 4 = 2 bits of at least one block: were every block 3 bits off, they
would be 12 apart. A lookup therefore reads, for each block, the buckets of the 137 block
values within 2 bits of its own, and measures only the fingerprints filed there: about
N x 548 / 65,536 of them (170 at 20,000), instead of N. The answer is the brute-force one,
`nearest` (a test checks the two agree).

The index knows nothing of SQLite: the store keeps it in step with the articles table (it
adds what it commits and hands over rows it reads) and decides when to drop it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from itertools import combinations

from bot.fingerprint import MAX_DISTANCE

BLOCKS = 4
BLOCK_BITS = 64 // BLOCKS
RADIUS = MAX_DISTANCE // BLOCKS  # pigeonhole: some block of a near fingerprint is this close
# How far the span held may reach, in lookup widths (twice the story window) plus a day: the
# span follows the newest articles forward, and older ones are dropped once it grows past this.
SPAN_WIDTHS = 3
SPAN_EXTRA = 86_400
_UNSIGNED = (1 << 64) - 1
_SHIFTS = tuple(BLOCK_BITS * block for block in range(BLOCKS))
_BLOCK_MASK = (1 << BLOCK_BITS) - 1
# Every value of a block within RADIUS bits of 0: XOR-ed with a block, its near values.
_NEAR = tuple(
    sum(1 << bit for bit in bits) for count in range(RADIUS + 1) for bits in combinations(range(BLOCK_BITS), count)
)

Row = tuple[int, int, int, int]  # (article id, published as Unix seconds, fingerprint, story id)
Load = Callable[[int, int], Iterable[Row]]  # the rows of articles published in [low, high]


def nearest(fingerprint: int, rows: Iterable[Row]) -> int | None:
    """The story of the row whose fingerprint is nearest `fingerprint`, within MAX_DISTANCE
    bits; on a tie the row with the lowest article id; None when no row is that close."""
    best: tuple[int, int, int] | None = None  # (distance, article id, story)
    for article_id, _, other, story in rows:
        gap = ((fingerprint ^ other) & _UNSIGNED).bit_count()
        if gap <= MAX_DISTANCE and (best is None or (gap, article_id) < best[:2]):
            best = (gap, article_id, story)
    return None if best is None else best[2]


class FingerprintIndex:
    """The fingerprints of the articles published in [low, high] (Unix seconds), by block.

    Not thread-safe: the store calls it under its lock. Empty until `cover` is first called.
    """

    def __init__(self) -> None:
        self.low: int | None = None
        self.high: int | None = None
        # Tuples of ints only, never lists: the garbage collector then stops tracking them (and
        # the dicts that hold them), instead of walking 80,000 lists at each full collection,
        # on whatever thread, the event loop's included, happens to trigger it.
        self._rows: dict[int, tuple[int, int, int, int]] = {}  # article id -> (id, published, unsigned, story)
        self._buckets: list[dict[int, tuple[tuple[int, int, int, int], ...]]] = [{} for _ in range(BLOCKS)]

    def __len__(self) -> int:
        return len(self._rows)

    def clear(self) -> None:
        """Hold nothing (the next `cover` reads its span again)."""
        self.low = self.high = None
        self._rows.clear()
        for buckets in self._buckets:
            buckets.clear()

    def cover(self, low: int, high: int, load: Load) -> bool:
        """Make the index hold [low, high], reading what it lacks with `load`.

        False, and nothing changes, when the range lies so far before the span held that
        holding both would pass the size limit (an old entry, say): the caller then reads
        that range itself. Moving forward, the oldest articles are dropped instead.
        """
        limit = SPAN_WIDTHS * (high - low) + SPAN_EXTRA
        if self.low is None or self.high is None or low > self.high:
            self.clear()
            self.low, self.high = low, high
            self._file(load(low, high))
            return True
        if low < self.low:
            if max(high, self.high) - low > limit:
                return False
            self._file(load(low, self.low - 1))
            self.low = low
        if high > self.high:
            self._file(load(self.high + 1, high))
            self.high = high
        if self.high - self.low > limit:
            # Keep what the next lookups need (they move forward): the range asked, and as much before it.
            self._drop_before(self.high - limit // 2)
        return True

    def add(self, article_id: int, published: int, fingerprint: int, story: int) -> None:
        """File a newly stored article (ignored when published outside the span held)."""
        if self.low is not None and self.high is not None and self.low <= published <= self.high:
            self._file([(article_id, published, fingerprint, story)])

    def discard(self, article_id: int) -> None:
        """Forget an article (its fingerprint changed, or it is gone); unknown ids are ignored."""
        row = self._rows.pop(article_id, None)
        if row is None:
            return
        for shift, buckets in zip(_SHIFTS, self._buckets):
            key = (row[2] >> shift) & _BLOCK_MASK
            bucket = tuple(other for other in buckets[key] if other[0] != article_id)
            if bucket:
                buckets[key] = bucket
            else:
                del buckets[key]

    def nearest(self, fingerprint: int, low: int, high: int) -> int | None:
        """`nearest(fingerprint, rows)` over the articles published in [low, high], which the
        span held must include (see `cover`)."""
        assert self.low is not None and self.high is not None and self.low <= low and high <= self.high
        unsigned = fingerprint & _UNSIGNED
        best_gap, best_id, best_story = MAX_DISTANCE + 1, 0, None
        for shift, buckets in zip(_SHIFTS, self._buckets):
            get = buckets.get
            block = (unsigned >> shift) & _BLOCK_MASK
            for near in _NEAR:
                bucket = get(block ^ near)
                if bucket is None:
                    continue
                for article_id, published, other, story in bucket:
                    if low <= published <= high:
                        gap = (unsigned ^ other).bit_count()
                        if gap < best_gap or (gap == best_gap and article_id < best_id):
                            best_gap, best_id, best_story = gap, article_id, story
        return best_story

    def _file(self, rows: Iterable[Row]) -> None:
        for article_id, published, fingerprint, story in rows:
            if article_id in self._rows:
                self.discard(article_id)
            row = (article_id, published, fingerprint & _UNSIGNED, story)
            self._rows[article_id] = row
            for shift, buckets in zip(_SHIFTS, self._buckets):
                key = (row[2] >> shift) & _BLOCK_MASK
                buckets[key] = buckets.get(key, ()) + (row,)  # buckets hold one or two rows: copying is cheap

    def _drop_before(self, low: int) -> None:
        kept = [row for row in self._rows.values() if row[1] >= low]
        high = self.high
        self.clear()
        self.low, self.high = low, high
        self._file(kept)
