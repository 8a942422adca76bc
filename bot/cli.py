"""The `intelbot` command: run, poll, search, status, match, check, schema, replay and demo."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta
from pathlib import Path

from adapters.console import ConsoleAdapter, result_json
from adapters.discord import DiscordAdapter, DiscordWebhookAdapter
from adapters.slack import SlackAdapter
from bot import __version__, messages
from bot.app import App, company_names, make_fetcher, platforms_in_use, utc_now
from bot.commands import Commands, explain
from bot.config import (
    DEFAULT_CONFIG_NAME,
    Config,
    format_duration,
    load_config,
    load_default_config,
    parse_duration,
)
from bot.errors import ConfigError, ConfigProblem, IntelbotError, StoreError
from bot.extract import extract_page
from bot.lint import config_schema, lint, read_config_text
from bot.matcher import CompanyMatcher, MatchResult
from bot.models import Command, Reply, parse_channel, webhook_variable
from bot.pipeline import PollReport
from bot.query import CompanyIndex
from bot.replay import count_stories, read_stories, replay, report_text
from bot.status import read_status
from bot.store import Store

log = logging.getLogger("intelbot")

CONFIG_ENV = "INTELBOT_CONFIG"
LOCAL_CONFIG = "intelbot.yaml"
SUPPORTED_PLATFORMS = {"console", "slack", "discord", "discord-webhook"}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO if args.command == "run" else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not args.verbose:
        # APScheduler logs every job start and end at INFO: noise next to intelbot's own lines.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
    try:
        return args.handler(args)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    except IntelbotError as error:
        print(f"intelbot: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="intelbot",
        description="Competitive-intelligence news bot: polls sources, flags tracked companies, alerts chat.",
    )
    parser.add_argument("--version", action="version", version=f"intelbot {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, handler, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("-v", "--verbose", action="store_true", help="log debug details to stderr")
        sub.set_defaults(handler=handler)
        return sub

    def with_config(sub: argparse.ArgumentParser) -> argparse.ArgumentParser:
        sub.add_argument(
            "--config", metavar="PATH",
            help=f"config file (default: ${CONFIG_ENV}, else ./{LOCAL_CONFIG}, else the embedded defaults)",
        )
        return sub

    with_config(command("run", cmd_run, "poll on schedule and post alerts until stopped (Ctrl-C)"))
    poll = with_config(command("poll", cmd_poll, "poll every source once, deliver alerts, exit"))
    poll.add_argument("--once", action="store_true", help="poll once and exit (the only mode; for clarity)")
    poll.add_argument("--json", action="store_true", help="print each alert as one JSON object per line")
    search = with_config(command("search", cmd_search, "look up stored stories, as /intel does"))
    search.add_argument("query", nargs="+", metavar="QUERY", help="company names and words, e.g. twitter china")
    search.add_argument("--json", action="store_true", help="print the answer as JSON")
    search.add_argument("--limit", type=int, default=5, help="how many results (default 5)")
    status = with_config(command("status", cmd_status, "show delivery per channel and the health of each source"))
    status.add_argument("--json", action="store_true", help="print the report as JSON")
    sources = with_config(command("sources", cmd_sources, "show each source's state (ok, failing, dead, silent) and why"))
    sources.add_argument("--json", action="store_true", help="print the sources as JSON")
    match = with_config(command("match", cmd_match, "extract and match pages without storing them"))
    match.add_argument("inputs", nargs="+", metavar="FILE_OR_URL", help="HTML files or http(s) URLs")
    match.add_argument("--json", action="store_true", help="print one JSON object per input")
    match.add_argument("--explain", action="store_true",
                       help="show every candidate name, kept or dropped, and why")
    check = with_config(command(
        "check", cmd_check, "validate the config, warn about likely mistakes, summarise it; exit 0, 1 or 2"))
    check.add_argument("--strict", action="store_true", help="exit 1 when there are warnings")
    command("schema", cmd_schema, "print the JSON Schema of the config file (for editors)")
    replay = command("replay", cmd_replay,
                     "show what a config would have alerted over stored stories; posts and writes nothing")
    replay.add_argument("--config", metavar="NEW.yaml",
                        help="the edited config to compare (default: the current config alone)")
    replay.add_argument("--current", metavar="PATH",
                        help=f"the current config (default: ${CONFIG_ENV}, else ./{LOCAL_CONFIG}, "
                             "else the embedded defaults); its database is read")
    replay.add_argument("--since", type=_duration_argument, default=timedelta(days=30), metavar="DURATION",
                        help="stories published within this long (default 30d)")
    replay.add_argument("--json", action="store_true", help="print the report as JSON")
    command("demo", cmd_demo, "run the whole pipeline on fictional news served from 127.0.0.1")
    return parser


def config_location(path: str | None) -> str | None:
    """The config file named on the command line, in the environment, or ./intelbot.yaml; None: embedded."""
    chosen = path or os.environ.get(CONFIG_ENV)
    if chosen:
        return chosen
    return LOCAL_CONFIG if Path(LOCAL_CONFIG).is_file() else None


def resolve_config(path: str | None) -> Config:
    """The config named on the command line, in the environment, in ./intelbot.yaml, or embedded."""
    chosen = config_location(path)
    if chosen:
        return load_config(chosen)
    print(
        f"intelbot: no --config given and no ./{LOCAL_CONFIG}: using the embedded defaults "
        "(copy config.example.yaml to intelbot.yaml to make your own)",
        file=sys.stderr,
    )
    return load_default_config()


def console_adapters(config: Config, *, json_lines: bool = False) -> dict:
    """The console adapter, with a warning for configured platforms this version cannot run."""
    unsupported = platforms_in_use(config) - SUPPORTED_PLATFORMS
    for platform in sorted(unsupported):
        log.warning(
            "%s channels are configured but this version has no %s adapter yet: "
            "their alerts wait in the outbox", platform, platform,
        )
    return {"console": ConsoleAdapter(json_lines=json_lines)}


def chat_adapters(
    config: Config,
    handle: Callable[[Command], Awaitable[Reply]],
    *,
    json_lines: bool = False,
    listen: bool = True,
    environ: Mapping[str, str] = os.environ,
) -> dict:
    """Every adapter `config` and the environment call for: the console; Slack when the
    config names a `slack:` channel or SLACK_BOT_TOKEN is set; Discord when it names a
    `discord:` channel or DISCORD_TOKEN is set; Discord webhooks for `discord-webhook:` channels.

    `listen=False` (one-shot polls) only posts: no Socket Mode connection, no HTTP server,
    no Discord gateway, so a running bot keeps receiving every `/intel`. Missing tokens are a `ConfigError`
    naming the variable; token values never appear in messages.
    """
    adapters = console_adapters(config, json_lines=json_lines)
    if "slack" in platforms_in_use(config) or environ.get("SLACK_BOT_TOKEN"):
        adapters["slack"] = slack_adapter(config, handle, listen=listen, environ=environ)
    if "discord" in platforms_in_use(config) or environ.get("DISCORD_TOKEN"):
        adapters["discord"] = discord_adapter(config, handle, listen=listen, environ=environ)
    if "discord-webhook" in platforms_in_use(config):
        adapters["discord-webhook"] = discord_webhook_adapter(config, environ=environ)
    return adapters


def discord_webhook_adapter(config: Config, *, environ: Mapping[str, str] = os.environ) -> DiscordWebhookAdapter:
    """The webhook adapter, with each `discord-webhook:<name>` URL from DISCORD_WEBHOOK_<NAME>."""
    channels = [parse_channel(channel) for w in config.watchlists for channel in w.channels]
    channels += [parse_channel(config.admin_channel)] if config.admin_channel else []
    names = sorted({channel.target for channel in channels if channel.platform == "discord-webhook"})
    missing = [webhook_variable(name) for name in names if not environ.get(webhook_variable(name))]
    if missing:
        where = str(config.path) if config.path else "the configuration"
        reason = (f"a discord-webhook channel is used but {', '.join(missing)} "
                  f"{'is' if len(missing) == 1 else 'are'} not set in the environment: copy the webhook's URL "
                  "from the channel's Integrations settings (README, \"Discord\")")
        raise ConfigError([ConfigProblem(where, None, None, "watchlists", reason)])
    return DiscordWebhookAdapter(webhooks={name: environ[webhook_variable(name)] for name in names}, clock=utc_now)


def discord_adapter(
    config: Config,
    handle: Callable[[Command], Awaitable[Reply]],
    *,
    listen: bool = True,
    environ: Mapping[str, str] = os.environ,
) -> DiscordAdapter:
    if not environ.get("DISCORD_TOKEN"):
        where = str(config.path) if config.path else "the configuration"
        reason = ("Discord is used but DISCORD_TOKEN is not set in the environment: create the "
                  "application and its bot user, then export the bot's token (README, \"Discord\")")
        raise ConfigError([ConfigProblem(where, None, None, "chat.discord", reason)])
    return DiscordAdapter(
        token=environ["DISCORD_TOKEN"],
        guild_id=config.chat.discord.guild_id,
        handle=handle,
        companies=[company.name for company in config.companies],
        clock=utc_now,
        listen=listen,
    )


def slack_adapter(
    config: Config,
    handle: Callable[[Command], Awaitable[Reply]],
    *,
    listen: bool = True,
    environ: Mapping[str, str] = os.environ,
) -> SlackAdapter:
    slack = config.chat.slack
    needed = ["SLACK_BOT_TOKEN"]
    if listen:
        needed.append("SLACK_APP_TOKEN" if slack.mode == "socket" else "SLACK_SIGNING_SECRET")
    missing = [name for name in needed if not environ.get(name)]
    if missing:
        where = str(config.path) if config.path else "the configuration"
        reason = (f"Slack is used ({slack.mode} mode) but {' and '.join(missing)} "
                  f"{'is' if len(missing) == 1 else 'are'} not set in the environment: "
                  "create the Slack app from slack-manifest.yaml and export its tokens (README, \"Slack\")")
        raise ConfigError([ConfigProblem(where, None, None, "chat.slack", reason)])
    return SlackAdapter(
        bot_token=environ["SLACK_BOT_TOKEN"],
        app_token=environ.get("SLACK_APP_TOKEN") or None,
        signing_secret=environ.get("SLACK_SIGNING_SECRET") or None,
        api_url=slack.api_url,
        mode=slack.mode,
        http_host=slack.http_host,
        http_port=slack.http_port,
        http_path=slack.http_path,
        handle=handle,
        listen=listen,
    )


def cmd_run(args: argparse.Namespace) -> int:
    config = resolve_config(args.config)
    return asyncio.run(_run(config))


async def _run(config: Config) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)

    async def handle(command: Command) -> Reply:
        # Bound late: the adapters exist before the App that answers them, and the App is
        # built (not started) before any adapter can receive a command.
        return await app.commands.handle(command)

    adapters = chat_adapters(config, handle)
    app = App(config, adapters)
    reloads: set[asyncio.Task] = set()

    def reload() -> None:  # SIGHUP, as daemons do; the file watcher reloads on its own too
        task = asyncio.create_task(app.reload())
        reloads.add(task)
        task.add_done_callback(reloads.discard)

    if hasattr(signal, "SIGHUP"):
        loop.add_signal_handler(signal.SIGHUP, reload)
    async with app:
        console: ConsoleAdapter = adapters["console"]
        reader = None
        if sys.stdin.isatty():
            print("Type /intel <words> to look up stored stories (Ctrl-C to stop).", file=sys.stderr)
            reader = asyncio.create_task(console.read_commands(app.commands.handle))
        await app.run(stop)
        if reader is not None:
            reader.cancel()
    print("intelbot stopped.", file=sys.stderr)
    return 0


def cmd_poll(args: argparse.Namespace) -> int:
    config = resolve_config(args.config)
    return asyncio.run(_poll(config, json_lines=args.json))


async def _poll(config: Config, *, json_lines: bool) -> int:

    async def handle(command: Command) -> Reply:
        return await app.commands.handle(command)

    app = App(config, chat_adapters(config, handle, json_lines=json_lines, listen=False))
    progress = _poll_progress(len(config.sources)) if sys.stderr.isatty() else None
    async with app:
        reports, delivery = await app.poll_once(progress)
    if progress is not None:
        print("\r\033[K", end="", file=sys.stderr, flush=True)  # erase the progress line
    failed = [r for r in reports if r.error]
    new = sum(r.new_articles for r in reports)
    print(
        f"polled {len(reports)} sources: {new} new stories, {len(delivery.sent)} alerts posted"
        + (f", {delivery.waiting} waiting for a chat connection" if delivery.waiting else "")
        + (f", {len(failed)} sources failed" if failed else ""),
        file=sys.stderr,
    )
    for report in failed:
        print(f"  {report.source}: {report.error}", file=sys.stderr)
    return 1 if failed else 0


def cmd_search(args: argparse.Namespace) -> int:
    config = resolve_config(args.config)
    text = " ".join(args.query)
    with Store(config.storage.path) as store:
        reply = Commands(store, CompanyIndex(company_names(config)), clock=utc_now).search(text, limit=args.limit)
    if args.json:
        print(json.dumps({"query": text, "results": [result_json(r) for r in reply.results]}, ensure_ascii=False))
    else:
        sys.stdout.write(ConsoleAdapter().render_reply(reply))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    config = resolve_config(args.config)
    with Store(config.storage.path) as store:
        report = read_status(store, config, now=utc_now())
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        sys.stdout.write(ConsoleAdapter().render_reply(Reply(messages.status_text(report))))
    return 0


def cmd_sources(args: argparse.Namespace) -> int:
    config = resolve_config(args.config)
    with Store(config.storage.path) as store:
        report = read_status(store, config, now=utc_now())
    if args.json:
        print(json.dumps(report.to_json()["sources"], ensure_ascii=False))
    else:
        sys.stdout.write(ConsoleAdapter().render_reply(Reply(messages.sources_text(report))))
    return 0


def cmd_match(args: argparse.Namespace) -> int:
    config = resolve_config(args.config)
    return asyncio.run(_match(config, args.inputs, json_lines=args.json, explain_all=args.explain))


async def _match(config: Config, inputs: Sequence[str], *, json_lines: bool, explain_all: bool) -> int:
    matcher = CompanyMatcher(company_names(config))
    status = 0
    async with make_fetcher(config) as fetcher:
        for item in inputs:
            try:
                if item.startswith(("http://", "https://")):
                    result = await fetcher.get(item, accept="text/html,application/xhtml+xml;q=0.9,*/*;q=0.5")
                    page = extract_page(result.content, result.url, charset=result.charset)
                else:
                    page = extract_page(Path(item).read_bytes(), Path(item).resolve().as_uri())
            except (IntelbotError, OSError) as error:
                print(f"{item}: {error}", file=sys.stderr)
                status = 1
                continue
            result = matcher.match(page.title, page.text)
            if explain_all and not json_lines:
                print(f"{item}: {explain(result, page.title)}")
            else:
                print(_format_match(item, page.title, result, json_lines=json_lines))
    return status


def _format_match(item: str, title: str, result: MatchResult, *, json_lines: bool) -> str:
    if json_lines:
        return json.dumps(
            {
                "input": item,
                "title": title,
                "companies": [
                    {"name": c.company, "mentions": c.mentions, "about": c.about, "score": c.score, "why": c.why}
                    for c in result.companies
                ],
                "mentions": [
                    {"company": m.company, "alias": m.alias, "field": m.field, "start": m.start, "end": m.end}
                    for m in result.mentions
                ],
            },
            ensure_ascii=False,
        )
    found = ", ".join(
        f"{c.company} ×{c.mentions} ({'about' if c.about else 'in passing'})" for c in result.companies
    ) or "no tracked company"
    return f"{item}: {title!r}: {found}"


def cmd_check(args: argparse.Namespace) -> int:
    config = resolve_config(args.config)
    location = config_location(args.config)
    # Warnings name the file as errors do: as given, or the embedded file's name.
    warnings = lint(config, read_config_text(config), str(Path(location)) if location else DEFAULT_CONFIG_NAME)
    for warning in warnings:
        print(warning, file=sys.stderr)
    names = sum(1 + len(c.aliases) for c in config.companies)
    where = str(config.path) if config.path else "embedded defaults"
    count = f", {len(warnings)} warning{'' if len(warnings) == 1 else 's'}" if warnings else ""
    print(f"{where}: OK{count}")
    print(f"  storage:    {config.storage.path}")
    print(f"  sources:    {len(config.sources)}")
    for source in config.sources:
        print(f"    - {source.name} every {format_duration(source.every)}: {source.url}")
    print(f"  companies:  {len(config.companies)} ({names} names and aliases)")
    print(f"  watchlists: {len(config.watchlists)}")
    for watchlist in config.watchlists:
        keywords = f", keywords: {', '.join(watchlist.keywords)}" if watchlist.keywords else ""
        print(f"    - {watchlist.name}: {len(watchlist.companies)} companies{keywords} → {', '.join(watchlist.channels)}")
    print(f"  backlog:    {format_duration(config.alerts.backlog)} on a source's first poll")
    if warnings and args.strict:
        print(f"intelbot: {len(warnings)} warning{'' if len(warnings) == 1 else 's'} (--strict)", file=sys.stderr)
        return 1
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    print(json.dumps(config_schema(), indent=2, ensure_ascii=False))
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    current = resolve_config(args.current)
    new = load_config(args.config) if args.config else None
    database = _replay_database(current, new)
    now = utc_now()
    since = now - args.since
    progress = _progress_line(count_stories(database, since)) if sys.stderr.isatty() else None
    report = replay(read_stories(database, since), current, new, since=since, progress=progress)
    if progress is not None:
        print("\r\033[K", end="", file=sys.stderr, flush=True)  # erase the progress line
    current_name = str(current.path) if current.path else DEFAULT_CONFIG_NAME
    if args.json:
        print(json.dumps({"database": str(database), "current": current_name, "new": args.config,
                          "window": format_duration(args.since), **report.to_json()}, ensure_ascii=False))
        return 0
    articles = f"{report.articles} article{'' if report.articles == 1 else 's'}"
    stories = f"{report.stories} stor{'y' if report.stories == 1 else 'ies'}"
    print(f"replayed {articles} ({stories}) published since {since:%Y-%m-%d %H:%M} UTC "
          f"({format_duration(args.since)}) from {database}")
    print(f"current config: {current_name}" + (f"; new config: {args.config}" if new else ""))
    sys.stdout.write(report_text(report, now=now, compare=new is not None))
    return 0


def _replay_database(current: Config, new: Config | None) -> Path:
    """The current config's database; the new config's when only that one exists."""
    for config in (current, new):
        if config is not None and Path(config.storage.path).is_file():
            return Path(config.storage.path)
    raise StoreError(f"no database at {current.storage.path}: nothing to replay "
                     "(intelbot poll or run stores stories; --current names the config that has them)")


def _progress_line(total: int) -> Callable[[int], None]:
    """`replay`'s progress: "replaying: 1,200 of 5,000 articles"."""
    line = _rewritten_line()
    return lambda done: line(f"replaying: {done:,} of {total:,} articles")


def _poll_progress(total: int) -> Callable[[PollReport], None]:
    """`poll --once`'s progress: "polling: 12 of 40 sources done, 35 new stories, 2 errors"."""
    line = _rewritten_line()
    done = new = errors = 0

    def count(report: PollReport) -> None:
        nonlocal done, new, errors
        done, new, errors = done + 1, new + report.new_articles, errors + bool(report.error)
        line(f"polling: {done:,} of {total:,} sources done, {new:,} new {'story' if new == 1 else 'stories'}, "
             f"{errors:,} {'error' if errors == 1 else 'errors'}", force=done == total)

    return count


def _rewritten_line() -> Callable[..., None]:
    """A callback that rewrites one line on stderr, at most five times a second (or when forced)."""
    shown = time.monotonic()

    def show(text: str, *, force: bool = False) -> None:
        nonlocal shown
        if force or time.monotonic() - shown >= 0.2:
            shown = time.monotonic()
            print(f"\r\033[K{text}", end="", file=sys.stderr, flush=True)

    return show


def _duration_argument(text: str) -> timedelta:
    try:
        return parse_duration(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def cmd_demo(args: argparse.Namespace) -> int:
    from bot.demo import run_demo

    return asyncio.run(run_demo(ConsoleAdapter(sys.stdout), sys.stdout))


if __name__ == "__main__":
    sys.exit(main())
