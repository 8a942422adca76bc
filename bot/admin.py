"""Changes to the config file from chat: `/intel watch ...` and `/intel source ...`, for admins.

Anyone may list the watchlists. Only the users under `admins:` may change watchlists and
sources, and so may the console: whoever types into the terminal that runs intelbot owns its
config file anyway. Everyone else is refused politely and nothing changes.

An edit works on the file as it is on disk, through ruamel.yaml's round trip, so comments, key
order, quoting and indentation of every part it does not touch stay byte for byte; new entries
are written the way the file writes its others (flow-style `aliases: [a, b]` if it uses that).
The new text is validated with `bot.config.parse_config` before it replaces the file (a
temporary file in the same folder, fsynced, renamed over it, then the folder fsynced), and the
`reload` hook runs after each successful save.

Hand edits are never overwritten: an edit goes ahead only when the file on disk is the one the
running configuration came from (it validates to the same config; its comments may differ, and
are kept) or exactly what the previous edit from chat wrote. Otherwise the person is asked to
let intelbot reload first. The file is read again just before the rename, which leaves a window
of milliseconds, not of minutes.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import logging
import unicodedata
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from bot import messages
from bot.config import (
    Config,
    SourceConfig,
    format_duration,
    parse_config,
    parse_duration,
)
from bot.errors import CommandError, ConfigError
from bot.fetch import Resolver, refusal_reason, resolve_host
from bot.models import Command, Reply
from bot.yamledit import (
    Document,
    aliases_flow,
    decode,
    encode,
    name_key,
    lines_changed,
    dump,
    replace_file,
    round_trip,
)

log = logging.getLogger(__name__)

EDIT_WORDS = ("watch", "source")  # the first words of `/intel` that this module answers
RESOLVE_TIMEOUT = 5.0  # seconds to resolve a new source's host for the address check
NAME_LIMIT = 200  # characters in a company, alias or source name typed in chat
DEFAULT_EVERY: timedelta = SourceConfig.model_fields["every"].default

Reload = Callable[[], Awaitable["str | None"]]
Edit = Callable[["Document"], str]  # changes the tree, says what it did; CommandError: nothing to do

_QUOTES = {'"': '"', "“": "”", "”": "”", "„": "“"}  # opening quote -> its closing quote


class Admin:
    """Answers `/intel watch ...` and `/intel source ...`.

    `config` returns the running configuration (its `path`, `admins` and fetch settings are read
    at every command, so a reload takes effect at once). `reload` is awaited after each save:
    `App.reload`, which returns what it said (or None); the reply then says whether the new
    config is running. `resolve` replaces DNS for the address check of new sources.
    """

    def __init__(self, config: Callable[[], Config], *, reload: Reload | None = None,
                 resolve: Resolver | None = None, resolve_timeout: float = RESOLVE_TIMEOUT):
        self._config = config
        self._reload = reload
        self._resolve = resolve or resolve_host
        self._resolve_timeout = resolve_timeout
        self._lock = asyncio.Lock()  # one edit at a time, from reading the file to reloading it
        self._written: bytes | None = None  # the SHA-256 of what the last edit saved

    def is_admin(self, user: str) -> bool:
        return user == "console" or user in self._config().admins

    async def handle(self, command: Command, words: Sequence[str]) -> Reply:
        """The reply to `words` (from `split_words`, starting with `watch` or `source`); never
        raises for anything a user can type."""
        try:
            return Reply(await self._answer(command, list(words)))
        except CommandError as error:
            return Reply(str(error))

    async def _answer(self, command: Command, words: list[str]) -> str:
        topic, action = ([word.lower() for word in words[:2]] + ["", ""])[:2]
        rest = words[2:]
        if (topic, action) == ("watch", "list"):
            return watchlists_text(self._config())
        if action not in ("add", "remove") or topic not in EDIT_WORDS:
            return messages.admin_usage()
        if not self.is_admin(command.user):
            return messages.not_an_admin(command.user)
        if self._config().path is None:
            return messages.BUILT_IN_CONFIG
        if topic == "watch" and action == "add":
            edit = parse_watch_add(rest)
        elif topic == "watch":
            edit = parse_watch_remove(rest)
        elif action == "add":
            url, every = parse_source_add(rest)
            await self._check_address(url)
            edit = partial(add_source, url=url, every=every)
        else:
            edit = partial(remove_source, name=_name(" ".join(rest), "source"))
        return await self._save(command.user, edit)

    async def _check_address(self, url: str) -> None:
        """Refuse a host that is, or resolves to, an address that is not globally routable,
        as every fetch does (see `bot.fetch`), unless `fetch.allow_private_networks`."""
        if self._config().fetch.allow_private_networks:
            return
        host = urlsplit(url).hostname or ""
        try:
            addresses = [ipaddress.ip_address(host)]
        except ValueError:
            addresses = await self._resolve_addresses(host)
        for address in addresses:
            reason = refusal_reason(address)
            if reason is not None:
                where = f"{host} is" if str(address) == host else f"{host} resolves to {address},"
                raise CommandError(messages.refused_source(
                    f"{where} {reason} (set fetch.allow_private_networks: true to allow)"))

    async def _resolve_addresses(self, host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
        try:
            async with asyncio.timeout(self._resolve_timeout):
                answers = await self._resolve(host)
        except (OSError, UnicodeError, TimeoutError):
            answers = []
        addresses = []
        for answer in answers:
            with suppress(ValueError):
                addresses.append(ipaddress.ip_address(answer.split("%", 1)[0]))  # fe80::1%eth0
        if not addresses:
            raise CommandError(messages.cannot_resolve(host))
        return addresses

    async def _save(self, user: str, edit: Edit) -> str:
        async with self._lock:
            running = self._config()
            assert running.path is not None  # checked by the caller
            saved = await asyncio.to_thread(self._edit_file, running.path, running, edit)
            log.info("%s changed %s from chat: %s", user, running.path, saved.done)
            text = messages.saved(saved.done, await self._apply(saved.config))
        return text + ("\n" + messages.reformatted(saved.reformatted) if saved.reformatted else "")

    async def _apply(self, saved: Config) -> str | None:
        """Reload; None when the saved config is now the running one, else why it is not."""
        if self._reload is None:
            return messages.RELOAD_LATER
        try:
            said = await self._reload()
        except Exception as error:
            log.exception("reloading after an edit from chat failed")
            said = f"reloading failed ({type(error).__name__})"
        return None if same_config(self._config(), saved) else messages.not_running_yet(said)

    def _edit_file(self, path: Path, running: Config, edit: Edit) -> _Saved:
        """Read, check, edit, validate and replace the file (blocking: run in a thread)."""
        try:
            raw = path.read_bytes()
        except OSError as error:
            raise CommandError(messages.save_failed(str(path), error.strerror or str(error))) from None
        text = decode(raw, path)
        current = self._current(raw, text, path, running)
        yaml = round_trip(text)
        root = yaml.load(text)
        document = Document(root, current, text, aliases_flow(root))
        unchanged = dump(yaml, document.root)  # what ruamel writes for the file as it is
        done = edit(document)
        new_text = dump(yaml, document.root)
        if not document.kept_comments(new_text):
            raise CommandError(messages.COMMENTS_AT_RISK)
        try:
            new_config = parse_config(new_text, filename=str(path), base_dir=path.parent)
        except ConfigError as error:
            raise CommandError(messages.edit_invalid(str(error))) from None
        data = encode(new_text, raw)
        try:
            replace_file(path, expected=raw, data=data)
        except OSError as error:
            raise CommandError(messages.save_failed(str(path), error.strerror or str(error))) from None
        self._written = hashlib.sha256(data).digest()
        return _Saved(done, new_config, lines_changed(text.replace("\r\n", "\n"), unchanged))

    def _current(self, raw: bytes, text: str, path: Path, running: Config) -> Config:
        """The file on disk, validated; CommandError if it is not what intelbot runs or wrote."""
        try:
            current = parse_config(text, filename=str(path), base_dir=path.parent)
        except ConfigError as error:
            raise CommandError(messages.config_on_disk_invalid(str(error))) from None
        if hashlib.sha256(raw).digest() != self._written and not same_config(current, running):
            raise CommandError(messages.CHANGED_ON_DISK)
        return current


@dataclass(frozen=True)
class _Saved:
    done: str  # what changed, for the reply
    config: Config  # the saved file, validated
    reformatted: int  # lines outside the edit that ruamel could not keep as they were


def same_config(a: Config, b: Config) -> bool:
    """Whether two configs say the same (comments and layout aside)."""
    return a.model_dump() == b.model_dump()


# ---------------------------------------------------------------- words typed in chat


def split_words(text: str) -> list[str]:
    """Split on white space; a part in double quotes ("Globex Corp", “Globex Corp”) is one word.

    A quote opens only at the start of a word (so `O'Neil` and `5"` stay as typed) and an
    unclosed one runs to the end. White space inside a word is collapsed to single spaces.
    """
    words: list[str] = []
    current: list[str] = []
    closing: str | None = None
    quoted = False
    for char in text:
        if closing is not None:
            if char == closing:
                closing = None
            else:
                current.append(char)
        elif char in _QUOTES and not current:
            closing, quoted = _QUOTES[char], True
        elif char.isspace():
            if current or quoted:
                words.append("".join(current))
            current, quoted = [], False
        else:
            current.append(char)
    if current or quoted:
        words.append("".join(current))
    return [" ".join(word.split()) for word in words]


def _name(text: str, what: str) -> str:
    if not text:
        raise CommandError(messages.admin_usage(messages.needs_name(what)))
    if len(text) > NAME_LIMIT or any(unicodedata.category(char) in ("Cc", "Cf") for char in text):
        raise CommandError(messages.bad_name(what, NAME_LIMIT))
    return text


def _target(words: list[str], keyword: str) -> tuple[list[str], str | None]:
    """Split `... to <watchlist>` (or `from`) off the end of `words`."""
    if len(words) >= 2 and words[-2].lower() == keyword:
        return words[:-2], words[-1]
    return words, None


def parse_watch_add(words: list[str]) -> Edit:
    """`<company> [aliases…] [to <watchlist>]`."""
    words, watchlist = _target(words, "to")
    if not words:
        raise CommandError(messages.admin_usage(messages.needs_name("company")))
    name = _name(words[0], "company")
    aliases = [_name(alias, "alias") for alias in words[1:]]
    return partial(add_company, name=name, aliases=aliases, watchlist=watchlist)


def parse_watch_remove(words: list[str]) -> Edit:
    """`<company> [from <watchlist>]`; a name of several words needs no quotes here."""
    words, watchlist = _target(words, "from")
    return partial(remove_company, name=_name(" ".join(words), "company"), watchlist=watchlist)


def parse_source_add(words: list[str]) -> tuple[str, timedelta | None]:
    """`<url> [every 30m]`: the URL (Slack's `<url>` and `<url|label>` unwrapped) and interval."""
    words, every_text = _target(words, "every")
    if len(words) != 1:
        raise CommandError(messages.admin_usage(messages.SOURCE_ADD_USAGE))
    url = words[0]
    if url.startswith("<") and url.endswith(">"):
        url = url[1:-1].split("|", 1)[0]
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise CommandError(messages.admin_usage(messages.SOURCE_ADD_USAGE))
    every = None
    if every_text is not None:
        try:
            every = parse_duration(every_text)
        except ValueError as error:
            raise CommandError(str(error)) from None
    return url, every


# ---------------------------------------------------------------- the edits


def _unique(names: Sequence[str], besides: Sequence[str] = ()) -> list[str]:
    seen = {name_key(name) for name in besides}
    kept = []
    for name in names:
        if name_key(name) not in seen:
            seen.add(name_key(name))
            kept.append(name)
    return kept


def _append_name(node: CommentedMap, key: str, names: Sequence[str], document: Document) -> None:
    """Add `names` to the list under `node[key]` (made if missing; a single name becomes a list)."""
    value = node.get(key)
    if isinstance(value, CommentedSeq):
        for name in names:
            document.append(value, name)
    elif value is None or value == "":
        if key in node:
            node[key] = document.names(names)
        else:
            node.insert(min(1, len(node)), key, document.names(names))  # after `name:`
    else:
        node[key] = document.names([value, *names])


def add_company(document: Document, *, name: str, aliases: Sequence[str], watchlist: str | None) -> str:
    """Track `name` (new, or known by a name or alias) with `aliases`, in `watchlist` (default:
    the first)."""
    config = document.config
    if not config.watchlists:
        raise CommandError(messages.NO_WATCHLIST_TO_ADD_TO)
    index, target = document.watchlist(watchlist) if watchlist else (0, config.watchlists[0])
    known = config.company(name)
    if known is None:
        new_aliases = _unique(aliases, besides=[name])
        entry = CommentedMap([("name", name)])
        if new_aliases:
            entry["aliases"] = document.names(new_aliases)
        document.append(document.items("companies"), entry)
        company = name
    else:
        company = known.name
        new_aliases = _unique(aliases, besides=known.names)
        if new_aliases:
            position = next(i for i, c in enumerate(config.companies) if c.name == known.name)
            _append_name(document.root["companies"][position], "aliases", new_aliases, document)
    listed = company in target.companies
    if not listed:
        _append_name(document.root["watchlists"][index], "companies", [company], document)
    if known is None:
        return messages.company_added(company, new_aliases, target.name)
    if listed and not new_aliases:
        raise CommandError(messages.already_watched(company, target.name, bool(aliases)))
    return messages.company_changed(company, new_aliases, None if listed else target.name)


def remove_company(document: Document, *, name: str, watchlist: str | None) -> str:
    """Take a company out of `watchlist`; or, with None, out of every watchlist and `companies:`."""
    config = document.config
    company = document.company(name).name
    if watchlist is not None:
        index, target = document.watchlist(watchlist)
        if company not in target.companies:
            raise CommandError(messages.not_in_watchlist(company, target.name))
        targets = [(index, target)]
    else:
        targets = [(i, w) for i, w in enumerate(config.watchlists) if company in w.companies]
    alone = [w.name for _, w in targets if len(w.companies) == 1]
    if alone:
        raise CommandError(messages.only_company(company, alone))
    for index, _ in targets:
        names = document.root["watchlists"][index]["companies"]
        for position in reversed(range(len(names))):  # listed by any of its names, maybe twice
            listed = config.company(str(names[position]))
            if listed is not None and listed.name == company:
                document.delete(names, position)
    removed_from = [w.name for _, w in targets]
    if watchlist is not None:
        still_in = [w.name for w in config.watchlists if company in w.companies and w.name not in removed_from]
        return messages.removed_from_watchlist(company, removed_from[0], still_in)
    position = next(i for i, c in enumerate(config.companies) if c.name == company)
    document.delete(document.root["companies"], position, "companies")
    return messages.company_removed(company, removed_from)


def add_source(document: Document, *, url: str, every: timedelta | None) -> str:
    """Poll `url`, named after its host (made unique), every `every` (default: 15m)."""
    sources = document.config.sources
    for source in sources:
        if source.url == url:
            raise CommandError(messages.source_exists(source.name, url))
    host = urlsplit(url).hostname or url
    base = host.removeprefix("www.")
    taken = {name_key(source.name) for source in sources}
    name, number = base, 1
    while name_key(name) in taken:
        number += 1
        name = f"{base} {number}"
    items = document.items("sources")
    entry = CommentedMap([("name", name), ("url", url)])
    # Written when asked for, or when the file's other sources all say how often.
    if every is not None or (items and all(isinstance(s, CommentedMap) and "every" in s for s in items)):
        entry["every"] = format_duration(every or DEFAULT_EVERY)
    document.append(items, entry)
    return messages.source_added(name, url, format_duration(every or DEFAULT_EVERY))


def remove_source(document: Document, *, name: str) -> str:
    for position, source in enumerate(document.config.sources):
        if name_key(source.name) == name_key(name):
            document.delete(document.items("sources"), position, "sources")
            return messages.source_removed(source.name, source.url)
    raise CommandError(messages.unknown_source(name, [s.name for s in document.config.sources]))


# ---------------------------------------------------------------- the listing


COMPANIES_LISTED = 40  # a watchlist in `/intel watch list` names this many, then "+N more"


def watchlists_text(config: Config) -> str:
    """`/intel watch list`: each watchlist with its channels, companies and keywords."""
    lines = []
    for watchlist in config.watchlists:
        lines.append(messages.watchlist_heading(watchlist.name, watchlist.channels, watchlist.require, watchlist.mode))
        lines.append(messages.watchlist_companies(watchlist.companies[:COMPANIES_LISTED],
                                                  len(watchlist.companies) - COMPANIES_LISTED))
        if watchlist.keywords:
            lines.append(messages.watchlist_keywords(watchlist.keywords))
    return messages.watchlists_text(lines, len(config.watchlists))
