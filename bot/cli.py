"""The `intelbot` command: run, poll, search, status, match, check and demo."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path

from adapters.console import ConsoleAdapter, result_json
from adapters.discord import DiscordAdapter, DiscordWebhookAdapter
from adapters.slack import SlackAdapter
from bot import __version__, messages
from bot.app import App, company_names, make_fetcher, platforms_in_use, utc_now
from bot.commands import Commands, explain
from bot.config import Config, format_duration, load_config, load_default_config
from bot.errors import ConfigError, ConfigProblem, IntelbotError
from bot.extract import extract_page
from bot.matcher import CompanyMatcher, MatchResult
from bot.models import Command, Reply, parse_channel, webhook_variable
from bot.query import CompanyIndex
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
    match = with_config(command("match", cmd_match, "extract and match pages without storing them"))
    match.add_argument("inputs", nargs="+", metavar="FILE_OR_URL", help="HTML files or http(s) URLs")
    match.add_argument("--json", action="store_true", help="print one JSON object per input")
    match.add_argument("--explain", action="store_true",
                       help="show every candidate name, kept or dropped, and why")
    with_config(command("check", cmd_check, "validate the config and summarise it; exit 0 or 2"))
    command("demo", cmd_demo, "run the whole pipeline on fictional news served from 127.0.0.1")
    return parser


def resolve_config(path: str | None) -> Config:
    """The config named on the command line, in the environment, in ./intelbot.yaml, or embedded."""
    chosen = path or os.environ.get(CONFIG_ENV)
    if chosen:
        return load_config(chosen)
    if Path(LOCAL_CONFIG).is_file():
        return load_config(LOCAL_CONFIG)
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
    async with app:
        reports, delivery = await app.poll_once()
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
    names = sum(1 + len(c.aliases) for c in config.companies)
    where = str(config.path) if config.path else "embedded defaults"
    print(f"{where}: OK")
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
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from bot.demo import run_demo

    return asyncio.run(run_demo(ConsoleAdapter(sys.stdout), sys.stdout))


if __name__ == "__main__":
    sys.exit(main())
