"""The YAML schema of intelbot and its loading, with a `file:line:col` message for every problem.

`load_config(path)` reads a file, `parse_config(text, ...)` reads text, and
`load_default_config()` reads the catalogue shipped in `bot/data/default.yaml` (a byte-for-byte
copy of `config.example.yaml`). All three return a frozen `Config` or raise
`bot.errors.ConfigError` listing every problem at once, in file order.

Secrets never live in the file: a key such as `token` or `signing_secret` is an error that names
the environment variable to use instead (see `SECRET_VARIABLES`), and never echoes the value.
"""

from __future__ import annotations

import difflib
import os
import re
import unicodedata
from collections.abc import Callable, Mapping
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    PrivateAttr,
    StrictBool,
    StrictInt,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from bot import __version__
from bot.configtypes import (  # noqa: F401 (format_duration, parse_duration: part of this module's API)
    MODEL,
    Channel,
    Duration,
    HttpUrlText,
    Items,
    Section,
    Text,
    TextList,
    alias_items,
    at_least,
    format_duration,
    one_or_many,
    parse_duration,
)
from bot.config_delivery import ChannelConfig, DeliveryMode, DigestConfig, HealthConfig, PingList
from bot.errors import ConfigError, ConfigProblem
from bot.yamlsource import Loc, Position, YamlDocument, describe_value, load_yaml, path_text

DEFAULT_USER_AGENT = f"intelbot/{__version__} (+self-hosted news monitor)"
DEFAULT_CONFIG_NAME = "<built-in default.yaml>"  # the file name in messages about it
# The environment variables that hold what the file must not; adapters read these names.
SECRET_VARIABLES = ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "DISCORD_TOKEN")

# Field types live in bot/configtypes.py.

# ---------------------------------------------------------------- the schema


class StorageConfig(BaseModel):
    """Where the SQLite database lives; relative paths are taken from the config file's folder."""

    model_config = MODEL
    path: Path = Path("intelbot.db")

    @field_validator("path", mode="before")
    @classmethod
    def _not_empty(cls, value: object) -> object:
        if value == "":
            raise ValueError("expected a file name such as intelbot.db")
        return value

    @field_validator("path")
    @classmethod
    def _resolve(cls, value: Path, info: ValidationInfo) -> Path:
        base_dir = (info.context or {}).get("base_dir")
        if base_dir is None or str(value) == ":memory:":  # SQLite's in-memory database
            return value
        return Path(os.path.abspath(Path(base_dir) / value.expanduser()))


class FetchConfig(BaseModel):
    """Limits and manners of every HTTP request intelbot makes."""

    model_config = MODEL
    allow_private_networks: StrictBool = False
    timeout: Annotated[Duration, at_least(timedelta(milliseconds=1))] = timedelta(seconds=20)
    max_bytes: Annotated[StrictInt, Field(gt=0)] = 5_000_000
    max_redirects: Annotated[StrictInt, Field(ge=0, le=30)] = 5
    concurrency: Annotated[StrictInt, Field(ge=1, le=64)] = 16
    per_host: Annotated[StrictInt, Field(ge=1, le=16)] = 2
    host_delay: Annotated[Duration, at_least(timedelta(0))] = timedelta(seconds=1)
    user_agent: Text = DEFAULT_USER_AGENT


class SourceConfig(BaseModel):
    """A feed (or page) to poll, and how often.

    `every` is the shortest time between polls; a source that publishes rarely is polled less
    often, up to `max_every` (default: four times `every`, at most a day, never less than
    `every`; set it equal to `every` for a fixed interval). `robots: false` ignores the
    site's robots.txt for this source (only for a site that allowed you to).
    """

    model_config = MODEL
    name: Text
    url: HttpUrlText
    every: Annotated[Duration, at_least(timedelta(seconds=10))] = timedelta(minutes=15)
    max_every: Annotated[Duration, at_least(timedelta(seconds=10))] | None = None
    robots: StrictBool = True

    @property
    def longest_every(self) -> timedelta:
        """The longest time between polls the adaptive interval may use."""
        if self.max_every is not None:
            return max(self.max_every, self.every)
        return max(self.every, min(self.every * 4, timedelta(days=1)))

    @model_validator(mode="after")
    def _bounds_in_order(self) -> SourceConfig:
        if self.max_every is not None and self.max_every < self.every:
            raise ValueError(f"max_every ({format_duration(self.max_every)}) is shorter than every "
                             f"({format_duration(self.every)})")
        return self


class AliasConfig(BaseModel):
    """Another name of a company and how its case counts; a plain string in YAML means `auto`.

    `case`: `auto`, intelbot decides (a name that is also a common word needs evidence, such as
    a context word nearby); `exact`, counts only when written with exactly this case ("X", not
    "x"); `any`, any case counts and no evidence is needed (the alias is unambiguous).
    """

    model_config = MODEL
    name: Text
    case: Literal["auto", "exact", "any"] = "auto"


class CompanyConfig(BaseModel):
    """A tracked company: its name as shown in chat, the other names the press uses, and hints.

    The `name` itself is always matched with case `auto`. `context` lists words that, near a
    name, show it means this company (iPhone, Cupertino); `exclude` lists phrases in which a name
    does not mean it (Amazon rainforest). `ambiguous` forces the single-word names to need such
    evidence (true) or never (false); None leaves it to intelbot's built-in list of common words.
    `links: true` counts a name inside a link or domain (twitter.com/someone) as a mention, for
    companies whose links are the news (an app store, a code host); by default they are not.
    """

    model_config = MODEL
    name: Text
    aliases: Annotated[tuple[AliasConfig, ...], BeforeValidator(alias_items)] = ()
    context: TextList = ()
    exclude: TextList = ()
    ambiguous: StrictBool | None = None
    links: StrictBool = False

    @property
    def alias_names(self) -> tuple[str, ...]:
        """The aliases as plain strings, in file order."""
        return tuple(alias.name for alias in self.aliases)

    @property
    def names(self) -> tuple[str, ...]:
        """The name first, then the aliases, as plain strings."""
        return (self.name, *self.alias_names)


class WatchlistConfig(BaseModel):
    """Companies (by configured name), optional keywords, and the channels that hear about them.

    `require: about` keeps only stories about a company (in the title or lead, or repeated),
    not every `mention` in passing. `mode`: `realtime` posts each story at once, `digest`
    collects them for the `digest` schedule, `both` posts stories *about* a company at once and
    collects passing mentions. `ping` names user groups (Slack) or roles (Discord) to notify
    for stories about a company; nothing else ever pings.
    """

    model_config = MODEL
    name: Text
    companies: Annotated[TextList, Field(min_length=1)]
    keywords: TextList = ()
    require: Literal["mention", "about"] = "mention"
    channels: Annotated[
        tuple[Channel, ...], BeforeValidator(one_or_many), Field(min_length=1)
    ] = ("console",)
    mode: DeliveryMode = "realtime"
    digest: Annotated[DigestConfig, Section] = DigestConfig()
    ping: PingList = ()


class AlertsConfig(BaseModel):
    """When stories become alerts, and how later copies of a story are gathered under its alert.

    Articles published within `story_window` of each other whose title and lead are nearly
    the same are one story. Its later copies are posted as one reply in the alert's thread
    once no copy arrived for `coverage_quiet`, or the oldest waited `coverage_longest`.
    """

    model_config = MODEL
    backlog: Annotated[Duration, at_least(timedelta(0))] = timedelta(0)
    story_window: Annotated[Duration, at_least(timedelta(0))] = timedelta(days=3)
    coverage_quiet: Annotated[Duration, at_least(timedelta(0))] = timedelta(minutes=10)
    coverage_longest: Annotated[Duration, at_least(timedelta(0))] = timedelta(hours=1)


def _url_path(value: str) -> str:
    if not value.startswith("/") or any(c.isspace() for c in value) or "?" in value or "#" in value:
        raise ValueError(f"expected a URL path such as /slack/events, got {describe_value(value)}")
    return value


class SlackConfig(BaseModel):
    """How intelbot reaches Slack. Tokens come from the environment: SLACK_BOT_TOKEN always,
    SLACK_APP_TOKEN in `socket` mode, SLACK_SIGNING_SECRET in `http` mode.

    `socket` (Socket Mode) needs no public address; `http` serves Slack's Events/commands
    endpoint on `http_host:http_port` + `http_path`, usually behind a TLS reverse proxy.
    """

    model_config = MODEL
    api_url: HttpUrlText = "https://slack.com/api/"
    mode: Literal["socket", "http"] = "socket"
    http_host: Text = "127.0.0.1"
    http_port: Annotated[StrictInt, Field(ge=0, le=65535)] = 3000
    http_path: Annotated[str, AfterValidator(_url_path)] = "/slack/events"


class DiscordConfig(BaseModel):
    model_config = MODEL
    guild_id: Annotated[StrictInt, Field(gt=0)] | None = None




_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")
_DISCORD_USER = re.compile(r"^[0-9]{15,22}$")


def _user_is_one_word(value: object) -> object:
    if isinstance(value, Mapping):  # `- slack: U0123ABCD` parses as a mapping
        raise ValueError("write the user as one word, no space after the colon: slack:U0123ABCD")
    return value


def _admin_user(value: str) -> str:
    platform, _, target = value.partition(":")
    if value == "console" or (platform == "slack" and _SLACK_USER.match(target)) or (
            platform == "discord" and _DISCORD_USER.match(target)):
        return value
    if platform == "slack":
        raise ValueError(f"invalid Slack user {value!r}: write slack:U0123ABCD, the member ID "
                         "(in Slack: the person's profile, the ⋮ menu, Copy member ID)")
    if platform == "discord":
        raise ValueError(f"invalid Discord user {value!r}: write discord:<user id>, a number "
                         "(Developer Mode, right-click the user, Copy User ID)")
    raise ValueError(f"unknown user {value!r}: write slack:<member ID>, discord:<user id> or console")


# Who may change watchlists and sources from chat; "console" (the terminal) always may.
AdminUser = Annotated[str, BeforeValidator(_user_is_one_word), AfterValidator(_admin_user)]


class ChatConfig(BaseModel):
    """Platform settings that are not secret; tokens come from the environment."""

    model_config = MODEL
    slack: Annotated[SlackConfig, Section] = SlackConfig()
    discord: Annotated[DiscordConfig, Section] = DiscordConfig()


class Config(BaseModel):
    """The whole validated configuration. `path` is the file it came from, if any."""

    model_config = MODEL
    storage: Annotated[StorageConfig, Section] = StorageConfig()
    fetch: Annotated[FetchConfig, Section] = FetchConfig()
    sources: Annotated[tuple[SourceConfig, ...], Items] = ()
    companies: Annotated[tuple[CompanyConfig, ...], Items] = ()
    watchlists: Annotated[tuple[WatchlistConfig, ...], Items] = ()
    alerts: Annotated[AlertsConfig, Section] = AlertsConfig()
    channels: Annotated[tuple[ChannelConfig, ...], Items] = ()
    admin_channel: Channel | None = None
    admins: Annotated[tuple[AdminUser, ...], BeforeValidator(one_or_many)] = ()
    health: Annotated[HealthConfig, Section] = HealthConfig()
    chat: Annotated[ChatConfig, Section] = ChatConfig()
    _path: Path | None = PrivateAttr(default=None)
    _companies_by_name: dict[str, CompanyConfig] = PrivateAttr(default_factory=dict)

    @property
    def path(self) -> Path | None:
        return self._path

    def company(self, name: str) -> CompanyConfig | None:
        """The company with this name or alias, compared case-insensitively; None if unknown."""
        return self._companies_by_name.get(_name_key(name))

    def model_post_init(self, context: Any, /) -> None:
        for company in self.companies:
            for name in company.names:
                self._companies_by_name.setdefault(_name_key(name), company)

    @model_validator(mode="before")
    @classmethod
    def _spell_watchlist_companies_as_configured(cls, data: Any) -> Any:
        if not isinstance(data, Mapping) or not isinstance(data.get("watchlists"), (list, tuple)):
            return data
        owners, _ = _company_owners(data.get("companies"), path_text)
        spelling = {key: name for key, (name, _loc) in owners.items()}
        return {**data, "watchlists": [_respell(w, spelling) for w in data["watchlists"]]}

    @model_validator(mode="after")
    def _check_references(self) -> Config:
        problems = find_reference_problems(self)
        if problems:
            raise ValueError("; ".join(f"{path_text(loc)}: {text}" for loc, text in problems))
        return self


# ---------------------------------------------------------------- checks across entries


def _name_key(name: str) -> str:
    return unicodedata.normalize("NFKC", name).strip().casefold()


def _get(item: Any, key: str) -> Any:
    # The checks read raw YAML mappings (to locate problems) and built models (to guard Config).
    return item.get(key) if isinstance(item, Mapping) else getattr(item, key, None)


def _list(value: Any) -> list[Any]:
    if isinstance(value, str):
        return [value]
    return list(value) if isinstance(value, (list, tuple)) else []


def _respell(watchlist: Any, spelling: dict[str, str]) -> Any:
    names = _list(_get(watchlist, "companies"))
    if not names:
        return watchlist
    # dict.fromkeys drops a company listed twice (say by name and by alias), keeping the order.
    respelled = tuple(
        dict.fromkeys(spelling.get(_name_key(n), n) if isinstance(n, str) else n for n in names)
    )
    if isinstance(watchlist, WatchlistConfig):
        return watchlist.model_copy(update={"companies": respelled})
    if isinstance(watchlist, Mapping):
        return {**watchlist, "companies": list(respelled)}
    return watchlist


def _duplicate_names(
    items: Any, section: str, what: str, where: Callable[[Loc], str]
) -> list[tuple[Loc, str]]:
    seen: dict[str, Loc] = {}
    problems = []
    for index, item in enumerate(_list(items)):
        name, loc = _get(item, "name"), (section, index, "name")
        if not isinstance(name, str) or not name.strip():
            continue
        first = seen.setdefault(_name_key(name), loc)
        if first != loc:
            message = f"duplicate {what} name {name.strip()!r} (first used at {where(first)})"
            problems.append((loc, message))
    return problems


def _company_names(company: Any, index: int) -> list[tuple[str, Loc]]:
    """The name, then the alias names (either form), each with where its text is; [] if unnamed."""
    name = _get(company, "name")
    if not isinstance(name, str) or not name.strip():
        return []
    labelled: list[tuple[Any, Loc]] = [(name, ("companies", index, "name"))]
    for i, alias in enumerate(_list(_get(company, "aliases"))):
        loc: Loc = ("companies", index, "aliases", i)
        text_at = (alias, loc) if isinstance(alias, str) else (_get(alias, "name"), (*loc, "name"))
        labelled.append(text_at)
    return [(text.strip(), loc) for text, loc in labelled if isinstance(text, str) and text.strip()]


def _company_owners(
    companies: Any, where: Callable[[Loc], str]
) -> tuple[dict[str, tuple[str, Loc]], list[tuple[Loc, str]]]:
    """Map every name and alias to (company name, where it is written); report clashes."""
    owners: dict[str, tuple[str, Loc]] = {}
    problems = []
    for index, company in enumerate(_list(companies)):
        labelled = _company_names(company, index)
        for label, loc in labelled:
            name, is_alias = labelled[0][0], loc[2] == "aliases"
            owner, first = owners.setdefault(_name_key(label), (name, loc))
            same_company = _name_key(owner) == _name_key(name)
            if first == loc or (same_company and is_alias):
                continue  # new, or an alias repeating its own company's name: harmless
            if same_company:
                message = f"duplicate company name {name!r} (first used at {where(first)})"
            else:
                what = f"alias {label!r} of" if is_alias else "name"
                message = (
                    f"{what} {name!r} is already a name or alias of {owner!r} (at {where(first)})"
                )
            problems.append((loc, message))
    return owners, problems


def _idle_excludes(companies: Any) -> list[tuple[Loc, str]]:
    """Exclude phrases without a name of their company (never apply) or equal to one (always)."""
    problems = []
    for index, company in enumerate(_list(companies)):
        names = [label for label, _ in _company_names(company, index)]
        keys = [_name_key(name) for name in names]
        for i, phrase in enumerate(_list(_get(company, "exclude")) if names else []):
            if not isinstance(phrase, str) or not phrase.strip():
                continue
            quoted = repr(phrase.strip())
            if _name_key(phrase) in keys:
                message = (f"exclude phrase {quoted} is itself a name of {names[0]}: "
                           "it would exclude every mention")
            elif not any(key in _name_key(phrase) for key in keys):
                message = (f"exclude phrase {quoted} does not contain a name of {names[0]} "
                           f"({', '.join(names)}): it could never apply")
            else:
                continue
            problems.append((("companies", index, "exclude", i), message))
    return problems


def _unknown_companies(
    watchlists: Any, owners: dict[str, tuple[str, Loc]]
) -> list[tuple[Loc, str]]:
    problems = []
    for w_index, watchlist in enumerate(_list(watchlists)):
        for c_index, name in enumerate(_list(_get(watchlist, "companies"))):
            if not isinstance(name, str) or not name.strip() or _name_key(name) in owners:
                continue
            message = f"unknown company {name.strip()!r}"
            close = difflib.get_close_matches(_name_key(name), list(owners), n=1, cutoff=0.6)
            if close:
                message += f" (did you mean {owners[close[0]][0]!r}?)"
            elif not owners:
                message += ": add it under companies: first"
            problems.append((("watchlists", w_index, "companies", c_index), message))
    return problems


def find_reference_problems(
    config: Any, where: Callable[[Loc], str] | None = None
) -> list[tuple[Loc, str]]:
    """Problems beyond single values (duplicates, alias clashes, unknown companies, idle excludes).

    Each is (loc, message). Works on a raw mapping read from YAML as well as on a `Config`;
    `where` describes a location in messages (the loader adds line numbers).
    """
    where = where or path_text
    owners, problems = _company_owners(_get(config, "companies"), where)
    problems += _idle_excludes(_get(config, "companies"))
    problems += _duplicate_names(_get(config, "sources"), "sources", "source", where)
    problems += _duplicate_names(_get(config, "watchlists"), "watchlists", "watchlist", where)
    problems += _unknown_companies(_get(config, "watchlists"), owners)
    return problems


# ---------------------------------------------------------------- secrets

_SECRET_KEY = re.compile(
    r"(?:^|_)(?:token|secret|password|passwd|api_?key|private_key|credentials?)$"
)
_SECRET_VALUE = re.compile(r"^(?:xox[a-z]|xapp)-")  # Slack tokens pasted as a value
_SECRET_VARIABLE_BY_KEY = {
    ("slack", "token"): "SLACK_BOT_TOKEN",
    ("slack", "bot_token"): "SLACK_BOT_TOKEN",
    ("slack", "app_token"): "SLACK_APP_TOKEN",
    ("slack", "signing_secret"): "SLACK_SIGNING_SECRET",
    ("discord", "token"): "DISCORD_TOKEN",
    ("discord", "bot_token"): "DISCORD_TOKEN",
}


def _secret_message(loc: Loc) -> str:
    parent = str(loc[-2]) if len(loc) > 1 else ""
    key = str(loc[-1]).lower().replace("-", "_")
    variable = _SECRET_VARIABLE_BY_KEY.get((parent, key))
    if variable:
        return f"secrets do not belong in the config file: set {variable} in the environment"
    others = ", ".join(SECRET_VARIABLES[1:])
    return ("secrets do not belong in the config file: set SLACK_BOT_TOKEN "
            f"(or the relevant variable: {others}) in the environment")


def _withhold_secret(loc: Loc, value: Any) -> str | None:
    """The message for a secret written in the file (by key name, or a token as a value)."""
    if isinstance(loc[-1], str) and _SECRET_KEY.search(loc[-1].lower().replace("-", "_")):
        return _secret_message(loc)
    if isinstance(value, str) and _SECRET_VALUE.match(value):
        return "this looks like a Slack token: " + _secret_message(("slack", "token"))
    return None


# ---------------------------------------------------------------- messages


def _model_at(loc: Loc) -> type[BaseModel] | None:
    model: type[BaseModel] | None = Config
    for step in loc:
        if isinstance(step, int):
            continue  # an index into a list of models keeps the same model
        field = model.model_fields.get(step) if model else None
        model = _model_in(field.annotation) if field else None
    return model


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in getattr(annotation, "__args__", ()):
        if found := _model_in(argument):
            return found
    return None


def _known_key_like(loc: Loc) -> str | None:
    """The key of the same mapping that an unknown key was probably meant to be."""
    model = _model_at(loc[:-1])
    close = difflib.get_close_matches(str(loc[-1]), list(model.model_fields) if model else [], n=1)
    return close[0] if close else None


# Pydantic's messages reworded for people editing YAML; {got} is the value found.
_MESSAGES = {
    "int_type": "expected a whole number, got {got}",
    "int_parsing": "expected a whole number, got {got}",
    "int_from_float": "expected a whole number, got {got}",
    "bool_type": "expected true or false, got {got}",
    "bool_parsing": "expected true or false, got {got}",
    "string_type": "expected text, got {got}",
    "model_type": "expected a mapping (indented key: value lines), got {got}",
    "dict_type": "expected a mapping (indented key: value lines), got {got}",
    "tuple_type": "expected a list, got {got}",
    "list_type": "expected a list, got {got}",
    "literal_error": "expected {expected}, got {got}",
    "string_too_short": "must not be empty",
    "too_short": "must list at least {min_length} item",
    "greater_than": "must be greater than {gt}, got {got}",
    "greater_than_equal": "must be at least {ge}, got {got}",
    "less_than": "must be less than {lt}, got {got}",
    "less_than_equal": "must be at most {le}, got {got}",
}


def _error_message(error: Any) -> str:
    template = _MESSAGES.get(error["type"])
    if template is None:
        return str(error["msg"]).removeprefix("Value error, ")
    return template.format(got=describe_value(error.get("input")), **(error.get("ctx") or {}))


def _validation_problems(
    error: ValidationError, document: YamlDocument, skip_model_level: bool
) -> list[tuple[Loc, Position, str]]:
    details = error.errors()
    unknown = [tuple(e["loc"]) for e in details if e["type"] == "extra_forbidden"]
    meant = {loc: _known_key_like(loc) for loc in unknown}
    # A misspelt key also shows up as a missing one; its "did you mean" already says it all.
    suggested = {(*loc[:-1], key) for loc, key in meant.items() if key}
    problems = []
    for detail in details:
        loc = tuple(detail["loc"])
        if not loc and skip_model_level:
            continue  # the cross-entry checks, already reported with positions
        if detail["type"] == "extra_forbidden":
            message = f"unknown key {loc[-1]!r}"
            message += f" (did you mean {meant[loc]!r}?)" if meant[loc] else ""
            problems.append((loc, document.key_position(loc), message))
        elif detail["type"] == "missing":
            if loc not in suggested:
                message = f"missing required key {loc[-1]!r}"
                problems.append((loc, document.value_position(loc[:-1]), message))
        else:
            problems.append((loc, document.value_position(loc), _error_message(detail)))
    return problems


# ---------------------------------------------------------------- loading


def parse_config(text: str, *, filename: str, base_dir: Path) -> Config:
    """Validate YAML text; a relative `storage.path` is taken from `base_dir`."""
    document = YamlDocument(load_yaml(text, filename), _withhold_secret)
    secret_locs = [loc for loc, _ in document.withheld]
    problems = [(loc, document.key_position(loc), message) for loc, message in document.withheld]
    references = find_reference_problems(document.data, document.describe)
    problems += [(loc, document.value_position(loc), message) for loc, message in references]
    config = None
    try:
        config = Config.model_validate(document.data, context={"base_dir": Path(base_dir)})
    except ValidationError as error:
        for loc, position, message in _validation_problems(error, document, bool(references)):
            # Never describe what sits under a secret key: the message could echo it.
            if not any(loc[: len(secret)] == secret for secret in secret_locs):
                problems.append((loc, position, message))
    if problems or config is None:
        problems.sort(key=lambda problem: problem[1])
        raise ConfigError([ConfigProblem(filename, line, column, path_text(loc), message)
                           for loc, (line, column), message in problems])
    return config


def _read_text(path: Path) -> str:
    def problem(message: str, line: int | None = None, column: int | None = None) -> ConfigError:
        return ConfigError([ConfigProblem(str(path), line, column, "", message)])

    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise problem("file not found (copy config.example.yaml to start)") from None
    except IsADirectoryError:
        raise problem("this is a folder, not a config file") from None
    except OSError as error:
        raise problem(f"cannot read the file: {error.strerror or error}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        before = data[: error.start]
        line_start = before.rfind(b"\n") + 1
        column = len(before[line_start:].decode("utf-8", errors="replace")) + 1
        message = f"not valid UTF-8 text (byte 0x{data[error.start]:02x}): save the file as UTF-8"
        raise problem(message, before.count(b"\n") + 1, column) from None


def load_config(path: str | Path) -> Config:
    """Read and validate a config file; raise ConfigError listing every problem in it."""
    path = Path(path)
    config = parse_config(_read_text(path), filename=str(path), base_dir=path.absolute().parent)
    config._path = path.absolute()
    return config


def load_default_config(base_dir: Path | None = None) -> Config:
    """The configuration shipped with intelbot; its database goes in `base_dir` (default: CWD)."""
    text = resources.files("bot.data").joinpath("default.yaml").read_text(encoding="utf-8")
    return parse_config(text, filename=DEFAULT_CONFIG_NAME, base_dir=base_dir or Path.cwd())
