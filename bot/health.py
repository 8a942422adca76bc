"""The optional HTTP endpoint for running intelbot as a service: /healthz and /metrics.

`/healthz` answers 200 "ok" while the scheduler runs its jobs, 503 when its heartbeat is
older than `STALLED_AFTER` (the scheduler stopped firing, or a job holds the loop; a loop
blocked outright cannot answer at all, which a probe's timeout catches). `/metrics` is the
Prometheus text format 0.0.4, rendered by the pure `render_metrics` from a `StatusReport`.
Bind it to loopback (the default in the docs): it has no authentication, and the metrics
name channels and sources.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from datetime import datetime, timedelta

from aiohttp import web

from bot.errors import ConfigError, ConfigProblem
from bot.status import Histogram, StatusReport

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
HEARTBEAT_EVERY = timedelta(seconds=10)
STALLED_AFTER = timedelta(seconds=90)


def parse_listen(text: str) -> tuple[str, int]:
    """("127.0.0.1", 9108) from "127.0.0.1:9108"; "[::1]:9108" for IPv6. Raises ValueError."""
    host, colon, port = text.strip().rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not colon or not host or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"expected host:port such as 127.0.0.1:9108, got {text!r}")
    return host, int(port)


class Heartbeat:
    """When the scheduler last ran a job. `beat` is a scheduled coroutine, so it runs on the loop."""

    def __init__(self, clock: Callable[[], datetime]):
        self._clock = clock
        self.last = clock()

    async def beat(self) -> None:
        self.last = self._clock()

    def stalled_for(self, *, limit: timedelta = STALLED_AFTER) -> timedelta | None:
        """How long the heartbeat has been silent, if longer than `limit`; else None."""
        silent = self._clock() - self.last
        return silent if silent > limit else None


def _label(value: str) -> str:
    """A Prometheus label value: backslash, double quote and newline escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


def render_metrics(report: StatusReport, lookups: Histogram | None = None) -> str:
    """The Prometheus text exposition of a status report and the lookup timings."""
    lines: list[str] = []

    def family(name: str, kind: str, help_text: str, samples: list[tuple[str, float]]) -> None:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")
        lines.extend(f"{name}{labels} {_number(value)}" for labels, value in samples)

    family("intelbot_up", "gauge", "1 while intelbot runs.", [("", 1)])
    family("intelbot_polls_total", "counter", "Successful polls of each source.",
           [(f'{{source="{_label(s.name)}"}}', s.polls) for s in report.sources])
    family("intelbot_source_failures", "gauge", "Failed polls of each source in a row since its last success.",
           [(f'{{source="{_label(s.name)}"}}', s.failures) for s in report.sources])
    family("intelbot_source_last_success_timestamp_seconds", "gauge",
           "Unix time of each source's last successful poll (0: never).",
           [(f'{{source="{_label(s.name)}"}}', s.last_success.timestamp() if s.last_success else 0)
            for s in report.sources])
    family("intelbot_alerts", "gauge", "Outbox rows (alerts and later copies of stories) by channel and state.",
           [(f'{{channel="{_label(c.channel)}",state="{state}"}}', value) for c in report.channels
            for state, value in (("pending", c.pending), ("sent", c.sent), ("failed", c.failed))])
    if lookups is not None:
        buckets, total, count = lookups.snapshot()
        samples = [(f'_bucket{{le="{_number(bound)}"}}', seen) for bound, seen in buckets]
        samples += [('_bucket{le="+Inf"}', count), ("_sum", total), ("_count", count)]
        lines.append("# HELP intelbot_lookup_seconds Time to answer a lookup (/intel or intelbot search).")
        lines.append("# TYPE intelbot_lookup_seconds histogram")
        lines.extend(f"intelbot_lookup_seconds{suffix} {_number(value)}" for suffix, value in samples)
    return "\n".join(lines) + "\n"


class HealthServer:
    """Serves /healthz and /metrics on `host:port` (port 0: any free port, see `port`).

    Lifecycle: `start()` on the running loop binds the port (a ConfigError naming `where`,
    the config file, if it cannot), `stop()` closes it. `status` reads a fresh report for
    each scrape, in a worker thread.
    """

    def __init__(self, host: str, port: int, *, status: Callable[[], StatusReport], heartbeat: Heartbeat,
                 lookups: Histogram | None = None, where: str = "the configuration"):
        self.host = host
        self.port = port
        self._where = where
        self._status = status
        self._heartbeat = heartbeat
        self._lookups = lookups
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except OSError as error:
            await runner.cleanup()
            reason = f"cannot listen on {self.host}:{self.port}: {error.strerror or error}"
            raise ConfigError([ConfigProblem(self._where, None, None, "health.listen", reason)]) from None
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        if self.port == 0:
            self.port = runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _healthz(self, request: web.Request) -> web.Response:
        silent = self._heartbeat.stalled_for()
        if silent is not None:
            seconds = int(silent.total_seconds())
            return web.Response(status=503, text=f"stalled: the scheduler has run nothing for {seconds} s\n")
        return web.Response(text="ok\n")

    async def _metrics(self, request: web.Request) -> web.Response:
        report = await asyncio.to_thread(self._status)
        return web.Response(body=render_metrics(report, self._lookups).encode(),
                            headers={"Content-Type": CONTENT_TYPE})


def health_server(listen: str, where: str, *, status: Callable[[], StatusReport], heartbeat: Heartbeat,
                  lookups: Histogram | None = None) -> HealthServer:
    """The server for `health.listen`; a listen address it cannot read is a ConfigError naming `where`."""
    try:
        host, port = parse_listen(listen)
    except ValueError as error:
        raise ConfigError([ConfigProblem(where, None, None, "health.listen", str(error))]) from None
    return HealthServer(host, port, status=status, heartbeat=heartbeat, lookups=lookups, where=where)
