"""The composition root: builds a running intelbot from a validated config.

This is the one module of `bot` that may name chat adapters; everything it wires together
talks through the plain values of `bot.models` and the protocols of each stage.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Mapping
from contextlib import AsyncExitStack
from datetime import datetime, timezone
from functools import partial

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot import __version__
from bot.commands import Commands
from bot import messages
from bot.admin import Admin
from bot.config import Config, load_config
from bot.delivery import ChatAdapter, DeliveryReport, Dispatcher
from bot.errors import ConfigError, IntelbotError
from bot.extract import Extractor
from bot.fetch import Fetcher
from bot.health import HEARTBEAT_EVERY, Heartbeat, health_server
from bot.matcher import CompanyMatcher, CompanyNames, company_names_of
from bot.models import Reply, parse_channel
from bot.pipeline import Pipeline, PollReport
from bot.query import CompanyIndex
from bot.reload import config_diff, watch_config
from bot.routing import compile_watchlists
from bot.scheduler import build_scheduler, sync_jobs
from bot.status import Notifier, StatusReport, configured_channels, read_status
from bot.store import Store

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def company_names(config: Config) -> list[CompanyNames]:
    return company_names_of(config.companies)


def make_fetcher(config: Config) -> Fetcher:
    return Fetcher(
        user_agent=config.fetch.user_agent,
        timeout=config.fetch.timeout.total_seconds(),
        max_bytes=config.fetch.max_bytes,
        max_redirects=config.fetch.max_redirects,
        allow_private_networks=config.fetch.allow_private_networks,
        per_host=config.fetch.per_host,
        host_delay=config.fetch.host_delay.total_seconds(),
    )


def platforms_in_use(config: Config) -> set[str]:
    """The chat platforms the config's watchlists (and admin notices) send to."""
    admin = [config.admin_channel] if config.admin_channel else []
    return {parse_channel(channel).platform for w in config.watchlists for channel in [*w.channels, *admin]}


class App:
    """A running intelbot: store, fetcher, extractor, pipeline, delivery and commands.

    Use as an async context manager; `poll_once()` for one round, `run()` for the scheduler.
    """

    def __init__(
        self,
        config: Config,
        adapters: Mapping[str, ChatAdapter],
        *,
        clock: Callable[[], datetime] = utc_now,
        extractor_processes: bool = True,
    ):
        self.config = config
        self.clock = clock
        self.adapters = dict(adapters)
        self.store = Store(config.storage.path)
        self.fetcher = make_fetcher(config)
        self.extractor = Extractor(processes=extractor_processes)
        names = company_names(config)
        matcher = CompanyMatcher(names)
        self._rng = random.Random()  # the jitter of planned polls
        self.pipeline = Pipeline(
            store=self.store,
            fetcher=self.fetcher,
            extractor=self.extractor,
            matcher=matcher,
            watchlists=compile_watchlists(config.watchlists),
            backlog=config.alerts.backlog,
            clock=clock,
            page_concurrency=config.fetch.concurrency,
            story_window=config.alerts.story_window,
            rng=self._rng,
        )
        self.dispatcher = Dispatcher(
            self.store, self.adapters, clock=clock,
            coverage_quiet=config.alerts.coverage_quiet, coverage_longest=config.alerts.coverage_longest,
            pacing={c.channel: c for c in config.channels})
        self.admin = Admin(lambda: self.config, reload=self.reload)
        self.commands = Commands(self.store, CompanyIndex(names), clock=clock, matcher=matcher, status=self.status,
                                 admin=self.admin)
        self.notifier = Notifier(
            self.store, self.adapters, config.admin_channel, channels=configured_channels(config),
            sources=[s.name for s in config.sources], clock=clock) if config.admin_channel else None
        self.heartbeat = Heartbeat(clock)
        self.health = health_server(
            config.health.listen, str(config.path or "the configuration"), status=self.status,
            heartbeat=self.heartbeat, lookups=self.commands.lookup_seconds) if config.health.listen else None
        self._exit = AsyncExitStack()
        self._polls: set[asyncio.Task] = set()
        self._scheduler: AsyncIOScheduler | None = None
        self._reloading = asyncio.Lock()

    async def __aenter__(self) -> "App":
        try:
            await self._exit.enter_async_context(self.fetcher)
            self._exit.callback(self.store.close)
            self._exit.callback(self.extractor.close)
            self._exit.callback(self.pipeline.close)  # before the store closes: it may be storing
            for adapter in self.adapters.values():
                await adapter.start()
                self._exit.push_async_callback(adapter.stop)
            if self.notifier is not None:
                await self.notifier.start()
        except BaseException:
            await self._exit.aclose()
            raise
        import gc  # used by this start-up step alone

        if gc.get_freeze_count() == 0:  # once per process
            # What exists now (modules, config, compiled matchers) lives as long as the process.
            # Frozen, the collector stops walking its ~80,000 objects at every full collection,
            # each of which held the event loop for 50-100 ms under load.
            gc.collect()
            gc.freeze()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._exit.aclose()

    async def poll_source(self, source) -> PollReport:
        """Poll one source and deliver what it produced at once."""
        task = asyncio.current_task()
        if task is not None:
            self._polls.add(task)
            task.add_done_callback(self._polls.discard)
        report = await self.pipeline.poll(source)
        await self._plan_next_poll(source, report)
        if report.alerts:
            await self.dispatcher.deliver_pending()
        await self.notify()
        return report

    async def _plan_next_poll(self, source, report: PollReport) -> None:
        """Move the source's job to the next poll the pipeline planned (and stored)."""
        job = self._scheduler.get_job(f"poll:{source.name}") if self._scheduler is not None else None
        if job is not None and job.args[0] == source and report.next_poll_at is not None:
            job.modify(next_run_time=report.next_poll_at)  # unless a reload replaced or removed it

    def _planned_polls(self) -> dict[str, datetime | None]:
        """Sources polled before at their configured URL, with when their next poll was due."""
        urls = {source.name: source.url for source in self.config.sources}
        return {state.name: state.next_poll_at for state in self.store.sources()
                if urls.get(state.name) == state.url and (state.polls or state.failures)}

    async def poll_once(
        self, progress: Callable[[PollReport], None] | None = None,
    ) -> tuple[list[PollReport], DeliveryReport]:
        """Poll every source once (concurrently), then deliver the outbox.

        Later copies of a story go out at once, as one reply per story: a one-shot poll does
        not stay to wait for more copies. `progress` is called with each source's report as
        it finishes. Each source's next poll is planned as after a scheduled poll, so that a
        later `run` honours a server's Retry-After and a failing source's backoff.
        """

        states = await self.pipeline.source_states(self.config.sources)

        async def poll(source) -> PollReport:
            report = await self.pipeline.poll(source, states[source.name])
            await self._plan_next_poll(source, report)
            if progress is not None:
                progress(report)
            return report

        reports = await asyncio.gather(*(poll(source) for source in self.config.sources))
        delivery = await self.dispatcher.deliver_pending(gather_coverage=False)
        await self.notify()
        return list(reports), delivery

    async def deliver(self) -> DeliveryReport:
        """One scheduled delivery round, then the admin notices it calls for."""
        report = await self.dispatcher.deliver_pending()
        await self.notify()
        return report

    async def notify(self) -> None:
        """Tell the admin channel about new trouble (`Notifier`); never raises, it only logs."""
        if self.notifier is None:
            return
        try:
            await self.notifier.check()
        except IntelbotError as error:
            log.warning("could not check for admin notices: %s", error)

    def status(self) -> StatusReport:
        """The status report now (blocks for milliseconds: call it from a thread on the loop)."""
        return read_status(self.store, self.config, now=self.clock())

    async def reload(self) -> str | None:
        """Read the config file again and, if it is valid, use it without a restart.

        On success the new sources, companies and watchlists take effect (scheduler jobs
        added, removed or rescheduled, the matcher compiled again) and a short list of the
        changes goes to the log and the admin channel; on failure the running config stays
        and the precise errors go to the same places. Returns what was said, or None when
        there is no file (the embedded default) or nothing changed.
        """
        path = self.config.path
        if path is None:
            return None
        async with self._reloading:
            try:
                new = await asyncio.to_thread(load_config, path)
            except ConfigError as error:
                text = messages.reload_failed(str(path), str(error))
                log.error("%s", text)
                await self._tell_admin(text)
                return text
            changes = config_diff(self.config, new)
            if not changes:
                log.info("%s changed on disk; nothing intelbot uses changed", path)
                self.config = new  # comments or layout: the file and the running config agree again
                return None
            names = company_names(new)
            matcher = await asyncio.to_thread(CompanyMatcher, names)  # 50k names take a second or two
            self._apply(new, matcher, names)
            text = messages.reloaded(str(path), changes)
            log.info("%s", text)
            await self._tell_admin(text)
            return text

    def _apply(self, config: Config, matcher: CompanyMatcher, names: list[CompanyNames]) -> None:
        """Switch every stage to `config` (all at once: no await in between)."""
        self.pipeline.reconfigure(matcher=matcher, watchlists=compile_watchlists(config.watchlists),
                                  backlog=config.alerts.backlog, story_window=config.alerts.story_window)
        self.dispatcher.reconfigure(pacing={c.channel: c for c in config.channels},
                                    coverage_quiet=config.alerts.coverage_quiet,
                                    coverage_longest=config.alerts.coverage_longest)
        self.commands.reconfigure(CompanyIndex(names), matcher)
        if self.notifier is not None:
            self.notifier.reconfigure(channels=configured_channels(config), sources=[s.name for s in config.sources])
        self.config = config
        if self._scheduler is not None:
            sync_jobs(self._scheduler, config.sources, self.poll_source, self._digest_jobs(), now=self.clock(),
                      planned=self._planned_polls())

    def _digest_jobs(self) -> list:
        return [(w, partial(self.dispatcher.deliver_digest, w)) for w in self.config.watchlists]

    async def _tell_admin(self, text: str) -> None:
        """Post `text` to the admin channel, if there is one with a running adapter; never raises."""
        if self.config.admin_channel is None:
            return
        channel = parse_channel(self.config.admin_channel)
        adapter = self.adapters.get(channel.platform)
        if adapter is None:
            return
        try:
            await adapter.post_reply(channel, Reply(text))
        except IntelbotError as error:
            log.warning("could not tell %s: %s", self.config.admin_channel, error)

    async def run(self, stop: asyncio.Event) -> None:
        """Poll on schedule and deliver until `stop` is set; then finish cleanly.

        The config file is watched: when it changes, `reload` applies it.
        """
        log.info("intelbot %s: %d sources, %d companies, %d watchlists", __version__,
                 len(self.config.sources), len(self.config.companies), len(self.config.watchlists))
        scheduler = build_scheduler(
            self.config.sources, self.poll_source, self.deliver, now=self.clock(), digests=self._digest_jobs(),
            planned=self._planned_polls(), rng=self._rng,
        )
        self._scheduler = scheduler
        scheduler.add_job(self.heartbeat.beat, "interval", seconds=HEARTBEAT_EVERY.total_seconds(),
                          id="heartbeat", coalesce=True, max_instances=1,
                          misfire_grace_time=int(HEARTBEAT_EVERY.total_seconds()))
        if self.health is not None:
            await self.health.start()
            log.info("health and metrics on http://%s:%d/healthz and /metrics", self.health.host, self.health.port)
        scheduler.start()
        watcher = None
        if self.config.path is not None:
            watcher = asyncio.create_task(watch_config(self.config.path, self.reload, stop_event=stop),
                                          name="watch config")
        try:
            await stop.wait()
        finally:
            scheduler.shutdown(wait=False)
            self._scheduler = None
            if watcher is not None:
                watcher.cancel()
                await asyncio.gather(watcher, return_exceptions=True)
            if self.health is not None:
                await self.health.stop()
            # Polls still running are cancelled: each article is stored in one transaction,
            # so whatever is cut short now is simply fetched again on the next start.
            for task in list(self._polls):
                task.cancel()
            await asyncio.gather(*self._polls, return_exceptions=True)
