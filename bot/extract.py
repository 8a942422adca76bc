"""Article HTML to text and metadata with trafilatura, run in a process pool off the event loop.

`extract_page` is pure CPU and synchronous: bytes (or text) in, `ExtractedPage` out, and
`ExtractError` for anything it cannot use, never another exception type. `Extractor` runs it
in worker processes so that a slow page never stalls the event loop, and survives a worker
that dies.
"""

from __future__ import annotations

import asyncio
import codecs
import functools
import logging
import multiprocessing
import os
import re
import threading
import time
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import trafilatura
from trafilatura.settings import set_date_params
from trafilatura.utils import detect_encoding

from bot.errors import ExtractError
from bot.models import ExtractedPage

log = logging.getLogger(__name__)

# Browsers look for <meta charset> in the first 1024 bytes; pages with long inline <head>
# scripts put it later, so look a little further.
META_PRESCAN_BYTES = 4096
# Labels that mean something wider than their name in practice (WHATWG Encoding Standard):
# a page declared gb2312 or latin-1 is decoded as its superset, like every browser does.
CHARSET_SUPERSETS = {
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "gb_2312-80": "gb18030",
    "iso-8859-1": "cp1252", "iso8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252",
    "us-ascii": "cp1252", "ascii": "cp1252", "euc-kr": "cp949", "ks_c_5601-1987": "cp949",
    "shift_jis": "cp932", "shift-jis": "cp932", "sjis": "cp932", "x-sjis": "cp932",
    "tis-620": "cp874", "iso-8859-11": "cp874", "big5": "big5hkscs",
}  # fmt: skip
# ISO 639-2 codes that turn up in lang attributes, mapped to ISO 639-1.
THREE_LETTER_LANGUAGES = {
    "eng": "en", "deu": "de", "ger": "de", "fra": "fr", "fre": "fr", "spa": "es", "ita": "it",
    "por": "pt", "rus": "ru", "zho": "zh", "chi": "zh", "jpn": "ja", "kor": "ko", "ara": "ar",
    "nld": "nl", "dut": "nl", "pol": "pl", "tur": "tr", "ukr": "uk", "swe": "sv",
}  # fmt: skip
# htmldate returns the time too when the page gives one, with its offset when known.
DATE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"
# Worker processes run this much nicer than the bot (see _start_worker): under CFS a nice-5
# process gets about a third of the CPU share of a nice-0 one when both want a core.
WORKER_NICENESS = 5
# How long each start-up job keeps its worker busy: a pool starts a new worker only when none
# is idle, so `Extractor.start` must not let one job end before the next is submitted.
START_HOLD = 0.1

_META_CHARSET = re.compile(rb"""<meta\b[^>]*?\bcharset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_BYTE_ORDER_MARKS = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
# lxml refuses NUL and most C0 controls in text; they carry nothing readable anyway.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def decode_html(content: bytes, charset: str | None = None) -> str:
    """Decode an HTML page: BOM, then valid UTF-8, then HTTP charset, then <meta>, then a guess.

    Text that decodes as UTF-8 and has multi-byte characters is UTF-8 whatever the page
    declares: legacy encodings (GBK, Latin-1) almost never form long valid UTF-8 runs by
    chance, while pages re-saved as UTF-8 with their old `<meta charset=gb2312>` are common.
    """
    for bom, encoding in _BYTE_ORDER_MARKS:
        if content.startswith(bom):
            return content[len(bom) :].decode(encoding, "replace")
    if not content.isascii():
        try:
            return content.decode("utf-8")
        except UnicodeDecodeError:
            pass
    declared = [_codec_name(charset)] if charset else []
    meta = _META_CHARSET.search(content[:META_PRESCAN_BYTES])
    if meta:
        # A <meta> tag readable as ASCII cannot be in UTF-16, whatever it says.
        label = meta.group(1).decode("ascii").lower()
        declared.append("utf-8" if label.startswith("utf-16") else _codec_name(label))
    for encoding in declared:
        if encoding:
            return content.decode(encoding, "replace")
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        pass
    for guess in detect_encoding(content):
        try:
            return content.decode(guess)
        except (LookupError, UnicodeDecodeError):
            continue
    return content.decode("utf-8", "replace")


def _codec_name(label: str) -> str | None:
    """The Python codec for a charset label, or None when Python does not know it."""
    label = label.strip().strip("\"'").lower()
    label = CHARSET_SUPERSETS.get(label, label)
    if label in ("utf-7", "utf7"):
        return None  # no browser decodes it: it was a way to smuggle markup past filters
    try:
        name = codecs.lookup(label).name
        b"a".decode(name, "replace")  # rejects codecs that are not text encodings ("base64")
    except LookupError:
        return None
    return name


def language_code(value: str | None) -> str | None:
    """The ISO 639-1 code of a language tag ("en-US" → "en", "zh_Hans" → "zh"); None if unknown."""
    if not value:
        return None
    primary = value.split(",")[0].strip().replace("_", "-").split("-")[0].lower()
    if len(primary) == 2 and primary.isalpha() and primary.isascii():
        return primary
    return THREE_LETTER_LANGUAGES.get(primary)


def page_language(tree: Any) -> str | None:
    """The language a page declares: <html lang> first, then <meta http-equiv=content-language>."""
    for attribute in ("lang", "{http://www.w3.org/XML/1998/namespace}lang", "xml:lang"):
        code = language_code(tree.get(attribute))
        if code:
            return code
    for meta in tree.iter("meta"):
        if (meta.get("http-equiv") or "").strip().lower() == "content-language":
            code = language_code(meta.get("content"))
            if code:
                return code
    return None


def parse_page_date(value: str | None) -> datetime | None:
    """htmldate's output to an aware UTC datetime; a time without offset is read as UTC."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _one_line(text: str | None) -> str:
    return " ".join((text or "").split())


def _paragraphs(text: str | None) -> str:
    """Collapse spaces inside each paragraph and drop empty ones; paragraphs end with "\\n"."""
    lines = (_one_line(line) for line in (text or "").splitlines())
    return "\n".join(line for line in lines if line)


def _without_headline(text: str, title: str) -> str:
    """Drop the <h1> from the start of the text when it repeats the title.

    The title is stored on its own; counting it twice would double every company it names.
    """
    first, _, rest = text.partition("\n")
    if title and first.casefold() == title.casefold():
        return rest
    return text


def extract_page(html: bytes | str, url: str, *, charset: str | None = None) -> ExtractedPage:
    """Extract the main text, title, date, language and description of one HTML page.

    `charset` is the HTTP header's; without it the page's own declaration or a guess decides.
    Raises ExtractError, and no other exception, when nothing usable is found.
    """
    try:
        return _extract_page(html, url, charset)
    except ExtractError:
        raise
    except Exception as error:  # lxml and trafilatura fail in many ways on hostile markup
        raise ExtractError(f"could not parse the page ({type(error).__name__})") from error


def _extract_page(html: bytes | str, url: str, charset: str | None) -> ExtractedPage:
    text = decode_html(html, charset) if isinstance(html, bytes) else html
    text = _CONTROL_CHARACTERS.sub("", text)
    if not text.strip():
        raise ExtractError("the page is empty")
    tree = trafilatura.load_html(text)
    if tree is None:
        raise ExtractError("not an HTML page")
    language = page_language(tree)
    # Not htmldate's extensive search: it guesses from any year in the page ("© 2024" became
    # 1 January) and found a date for only 9 more of 299 sample pages than markup alone.
    date_params = {**set_date_params(False), "outputformat": DATE_FORMAT}
    document = trafilatura.bare_extraction(
        tree,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=False,
        favor_precision=True,
        date_extraction_params=date_params,
    )
    body = document.text if document is not None else ""
    if document is None:
        # No main text found; the title and meta tags may still name a company worth a match.
        document = trafilatura.extract_metadata(text, default_url=url, date_config=date_params)
    title = _one_line(document.title)
    page = ExtractedPage(
        title=title,
        text=_without_headline(_paragraphs(body), title),
        published=parse_page_date(document.date),
        language=language,
        description=_one_line(document.description),
    )
    if not page.title and not page.text:
        raise ExtractError("no article text found")
    return page


class Extractor:
    """Runs extract_page off the event loop, in a process pool (threads when processes=False).

    The pool starts on first use, from a thread (`start()`): starting the fork server and its
    workers blocks for a few hundred milliseconds (each imports trafilatura), which the event
    loop must not spend waiting. A worker that dies (killed, out of memory, a crash in lxml)
    fails only the call it was running, with ExtractError; the next call gets a fresh pool.
    Call `close()` (or use as a context manager) to shut the pool down.
    Workers start from a fork server, which re-imports the main module: a script that uses
    processes must guard its entry point with `if __name__ == "__main__":`.
    """

    def __init__(self, *, max_workers: int = 2, processes: bool = True):
        self._max_workers = max_workers
        self._processes = processes
        self._pool: Executor | None = None
        self._started: Executor | None = None  # the pool whose workers are known to run
        self._pool_lock = threading.Lock()  # `start` runs in threads, the rest on the loop

    @property
    def max_workers(self) -> int:
        """How many pages are extracted at once."""
        return self._max_workers

    def start(self) -> None:
        """Start the pool and every worker now; blocks until they run (call it from a thread).

        A pool that cannot start is left for the first `extract` to report, as without `start`.
        """
        pool = None
        try:
            pool = self._get_pool()
            # One job per worker, submitted together: each finds no idle worker (the jobs before
            # it are still running), so each starts one.
            for ready in [pool.submit(_ready, START_HOLD) for _ in range(self._max_workers)]:
                ready.result()
            self._started = pool
        except (BrokenProcessPool, OSError, RuntimeError) as error:  # too few processes or file handles
            log.warning("the extraction workers did not start: %s", error)
            if pool is not None:
                self._discard(pool)

    def __enter__(self) -> Extractor:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    async def extract(self, html: bytes, url: str, *, charset: str | None = None) -> ExtractedPage:
        """Extract one page in a worker; raises ExtractError as `extract_page` does."""
        if self._pool is None or self._pool is not self._started:
            # Submitting to a pool still starting would wait, on the loop, for its lock.
            await asyncio.to_thread(self.start)
        pool = self._get_pool()
        loop = asyncio.get_running_loop()
        job = functools.partial(extract_page, html, url, charset=charset)
        try:
            return await loop.run_in_executor(pool, job)
        except BrokenProcessPool:
            self._discard(pool)
            raise ExtractError("the extraction worker crashed; the page was not extracted") from None

    def close(self) -> None:
        """Shut the pool down, cancelling queued work and waiting for running work."""
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def _get_pool(self) -> Executor:
        with self._pool_lock:
            if self._pool is None:
                if self._processes:
                    self._pool = ProcessPoolExecutor(self._max_workers, mp_context=_worker_context(),
                                                     initializer=_start_worker, initargs=(os.getpid(),))
                else:
                    self._pool = ThreadPoolExecutor(self._max_workers, thread_name_prefix="extract")
            return self._pool

    def _discard(self, pool: Executor) -> None:
        """Drop a broken pool so that the next call builds a new one (unless another did already)."""
        with self._pool_lock:
            if self._pool is pool:
                self._pool = None
        pool.shutdown(wait=False, cancel_futures=True)


def _ready(hold: float) -> None:
    """In a worker: wait `hold` seconds; `Extractor.start` waits for this to know the worker runs."""
    time.sleep(hold)


def _start_worker(bot_pid: int) -> None:
    """In a new worker: yield the CPU to the bot's own process, and leave with it.

    Extraction is a batch job: when the cores are busy, the event loop and the thread that
    matches and stores articles go first. They also feed the workers their pages, so the
    workers lose nothing by waiting for them (and chat replies are not held up by a burst).
    """
    try:
        os.nice(WORKER_NICENESS)
    except (AttributeError, OSError):  # no nice() on this platform, or not allowed
        pass
    _exit_with_parent(bot_pid)


def _exit_with_parent(bot_pid: int) -> None:
    """In a worker: exit when the bot is gone, even if it was killed (kill -9 skips all clean-up).

    A worker's parent is the fork server, which exits when the bot dies; the worker is then
    re-parented and would otherwise wait forever on a queue its siblings keep open.
    """
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent or not _alive(bot_pid):
                os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _worker_context() -> multiprocessing.context.BaseContext:
    """Start workers from a clean server process rather than by forking the running bot.

    Forking a process that runs an event loop and threads can deadlock the child; the fork
    server imports trafilatura once and forks workers from itself, which stays cheap.
    """
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["bot.extract"])
        return context
    return multiprocessing.get_context("spawn")
