"""What a valid config says that is probably not meant: lint warnings, and the config's JSON Schema.

`lint(config, text, filename)` takes a `Config` that already validated and the YAML text it
came from (for positions), and returns `LintWarning`s in file order, each located like a
`ConfigProblem`: `file:line:col key.path: warning: message`. Validation (bot/config.py) already
rejects names shared by two companies (compared after NFKC and case folding), duplicate source
and watchlist names, unknown companies and idle excludes; lint covers what still loads:

- similar-names: two companies' names that the matcher reads alike (curly and straight
  apostrophes) or that differ only in accents, punctuation or spaces;
- common-word: a name that is also a common word (the matcher's built-in lexicon) or has two
  letters or fewer, matched with case `auto`, of a company with no `context` and no `exclude`;
- default-channel: a watchlist that does not write `channels` (its alerts go to the console);
- fast-poll: a source polled more often than once a minute;
- duplicate-source: two sources with the same URL once canonicalised (`bot.feeds.canonical_url`);
- keyword-never-matches, keyword-not-a-word, keyword-repeated, keyword-is-a-name: keywords that
  cannot match stored text, match punctuation rather than words, or filter nothing.

`config_schema()` is the JSON Schema of the YAML file as the loader reads it (plain strings for
aliases, one item for a list, `15m` for a duration, an empty section for its defaults), for
editors that check a file as it is typed (`# yaml-language-server: $schema=...`).
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from importlib import resources
from typing import Any, get_args

from pydantic.json_schema import GenerateJsonSchema

from bot.config import DEFAULT_USER_AGENT, CompanyConfig, Config, SlackConfig
from bot.config_delivery import Cron, Ping, PingList, TimeZone
from bot.configtypes import (
    Channel,
    HttpUrlText,
    Items,
    Section,
    alias_items,
    format_duration,
    one_or_many,
)
from bot.errors import ConfigProblem
from bot.feeds import canonical_url
from bot.matcher import Senses, builtin_senses, normalize
from bot.text import is_cjk
from bot.yamlsource import Loc, YamlDocument, load_yaml, path_text

FAST_POLL = timedelta(minutes=1)


@dataclass(frozen=True)
class LintWarning:
    """One finding: where it is written, a short `code` naming the check, and what to do."""

    file: str
    line: int | None  # 1-based; None for a config built without YAML text
    column: int | None
    path: str  # key path such as "watchlists[0].keywords[1]"
    code: str
    message: str

    def __str__(self) -> str:
        return str(ConfigProblem(self.file, self.line, self.column, self.path, f"warning: {self.message}"))


Finding = tuple[Loc, str, str]  # (where, code, message)


def lint(config: Config, text: str | None, filename: str, *, senses: Senses | None = None) -> list[LintWarning]:
    """The warnings about `config`, read from `text` (None: no positions), in file order."""
    document = YamlDocument(load_yaml(text, filename)) if text is not None else None

    def where(loc: Loc) -> str:
        return document.describe(loc) if document else path_text(loc)

    senses = senses or builtin_senses()
    findings = [  # in the order of the sections in config.example.yaml, for configs without text
        *_fast_sources(config),
        *_duplicate_sources(config, where),
        *_similar_names(config.companies, where),
        *_common_words(config.companies, senses),
        *_default_channels(config, document),
        *_keyword_findings(config),
    ]
    warnings = []
    for loc, code, message in findings:
        if document is not None and (*loc, "name") in document.values:
            loc = (*loc, "name")  # a mapping (a watchlist, an alias with a case) is shown at its name
        line, column = document.value_position(loc) if document else (None, None)
        warnings.append(LintWarning(filename, line, column, path_text(loc), code, message))
    return sorted(warnings, key=lambda w: (w.line or 0, w.column or 0))


def read_config_text(config: Config) -> str:
    """The YAML text `config` was loaded from: its file, or the embedded default."""
    if config.path is not None:
        return config.path.read_bytes().decode("utf-8-sig")
    return resources.files("bot.data").joinpath("default.yaml").read_text(encoding="utf-8")


# ---------------------------------------------------------------- companies


def _labelled_names(companies: Iterable[CompanyConfig]) -> Iterable[tuple[int, str, str, Loc]]:
    """(company index, name or alias, its case rule, where it is written), in file order."""
    for index, company in enumerate(companies):
        yield index, company.name, "auto", ("companies", index, "name")
        for i, alias in enumerate(company.aliases):
            # A mapping's text is at its `name`; a plain string (or a lone alias) is the item itself.
            yield index, alias.name, alias.case, ("companies", index, "aliases", i)


def _loose_key(name: str) -> str:
    """The name without accents, punctuation or spaces: "Nestlé S.A." and "Nestle SA" meet."""
    return "".join(c for c in unicodedata.normalize("NFKD", normalize(name)) if c.isalnum())


def _similar_names(companies: tuple[CompanyConfig, ...], where) -> list[Finding]:
    exact: dict[str, tuple[int, str, Loc]] = {}
    loose: dict[str, tuple[int, str, Loc]] = {}
    findings = []
    for index, label, _case, loc in _labelled_names(companies):
        what = "alias" if "aliases" in loc else "name"
        company = companies[index].name
        for table, key, reason in (
            (exact, normalize(label).strip(),
             ("the matcher reads them alike (case, width and curly apostrophes do not count), "
              "so every mention counts for both companies")),
            (loose, _loose_key(label),
             "they differ only in accents, punctuation or spaces: is it one company configured twice?"),
        ):
            if not key:
                continue
            first = table.setdefault(key, (index, label, loc))
            if first[0] != index:
                other, other_label, other_loc = first
                findings.append((loc, "similar-names", (
                    f"{what} {label!r} of {company!r} and {other_label!r} of {companies[other].name!r} "
                    f"(at {where(other_loc)}): {reason}")))
                break  # one finding per name: the closer resemblance
    return findings


def _common_words(companies: tuple[CompanyConfig, ...], senses: Senses) -> list[Finding]:
    findings = []
    for index, label, case, loc in _labelled_names(companies):
        company = companies[index]
        if case != "auto" or company.context or company.exclude:
            continue
        kind = _needs_evidence(label, company, senses)
        if kind is None:
            continue
        what = "alias" if "aliases" in loc else "name"
        lacking = f"{company.name} has no `context` or `exclude`"
        case = ", or `case: any` if it is unambiguous in your news" if what == "alias" else ""
        if kind == "short":
            message = (f"{what} {label!r} has two letters or fewer and {lacking}: it counts only written "
                       f"exactly so, in a story that names {company.name} by a longer name too; "
                       f"add context words{case}")
        else:
            message = (f"{what} {label!r} is also a common word and {lacking}: it counts only with "
                       "generic evidence (written as a name, a company word nearby, another of its "
                       f"names); add context words (products, people, places){case}")
        findings.append((loc, "common-word", message))
    return findings


def _needs_evidence(label: str, company: CompanyConfig, senses: Senses) -> str | None:
    """"short", "common" or None: how the matcher's `_kind` classifies a name with case `auto`.

    Mirrors `bot.matcher._kind` for the two cases lint warns about: at most two letters (not
    Chinese, Japanese or Korean), or a single word of the built-in lexicon that the company
    did not declare unambiguous (`ambiguous: false`).
    """
    folded = normalize(label).strip()
    if not folded:
        return None
    if len(folded) <= 2 and not any(is_cjk(c) for c in folded):
        return "short"
    single_word = " " not in folded and not any(c.isdigit() or c in ".&-" for c in folded)
    internal_capitals = any(c.isupper() for c in label[1:]) and not label.isupper()
    if company.ambiguous is False or not single_word or internal_capitals:
        return None
    return "common" if folded in senses.ambiguous else None


# ---------------------------------------------------------------- watchlists and sources


def _default_channels(config: Config, document: YamlDocument | None) -> list[Finding]:
    if document is None:
        return []  # without the text there is no telling what was written
    return [
        (("watchlists", index), "default-channel", (
            f"watchlist {watchlist.name!r} names no channels: its alerts go only to the console "
            "(the terminal intelbot runs in); write `channels: [console]` if that is what you want"))
        for index, watchlist in enumerate(config.watchlists)
        if ("watchlists", index, "channels") not in document.keys
    ]


def _fast_sources(config: Config) -> list[Finding]:
    return [
        (("sources", index, "every"), "fast-poll", (
            f"source {source.name!r} is polled every {format_duration(source.every)}: more often than "
            "once a minute rarely finds more news and can get intelbot rate-limited or blocked"))
        for index, source in enumerate(config.sources)
        if source.every < FAST_POLL
    ]


def _duplicate_sources(config: Config, where) -> list[Finding]:
    seen: dict[str, int] = {}
    findings = []
    for index, source in enumerate(config.sources):
        key = canonical_url(source.url) or source.url
        first = seen.setdefault(key, index)
        if first != index:
            findings.append((("sources", index, "url"), "duplicate-source", (
                f"source {source.name!r} polls the same URL as {config.sources[first].name!r} "
                f"(at {where(('sources', first, 'url'))}) once case and tracking parameters are "
                "ignored: a story is stored once, so the second source finds nothing new")))
    return findings


def _keyword_findings(config: Config) -> list[Finding]:
    """Keywords that cannot match, match punctuation, repeat, or filter nothing.

    Keywords are matched as `bot.matcher.PhraseMatcher` phrases: NFKC, case-folded, whole
    words, in stored text whose words are separated by single spaces (extraction collapses
    runs of white space). Spaces around a keyword are stripped when the config is read.
    """
    findings = []
    for w_index, watchlist in enumerate(config.watchlists):
        names = {
            normalize(name).strip(): company.name
            for company in filter(None, map(config.company, watchlist.companies))
            for name in company.names
        }
        seen: dict[str, str] = {}
        for k_index, keyword in enumerate(watchlist.keywords):
            folded = normalize(keyword).strip()
            loc = ("watchlists", w_index, "keywords", k_index)
            quoted = repr(keyword)
            if not folded:
                message = f"keyword {quoted} is empty once normalised: it can never match"
                findings.append((loc, "keyword-never-matches", message))
            elif " ".join(folded.split()) != folded:
                message = (f"keyword {quoted} contains a tab, a line break or several spaces in a row: "
                           "stored stories have single spaces between words, so it can never match")
                findings.append((loc, "keyword-never-matches", message))
            elif not any(c.isalnum() for c in folded):
                message = (f"keyword {quoted} has no letters or digits: it matches wherever those "
                           "characters appear, not a word")
                findings.append((loc, "keyword-not-a-word", message))
            elif folded in seen:
                message = f"keyword {quoted} repeats {seen[folded]!r} of the same watchlist"
                findings.append((loc, "keyword-repeated", message))
            elif folded in names:
                message = (f"keyword {quoted} is a name of {names[folded]}, one of this watchlist's "
                           f"companies: every story naming {names[folded]} so passes the keyword test, "
                           "so the keyword filters nothing for it")
                findings.append((loc, "keyword-is-a-name", message))
            seen.setdefault(folded, keyword)
    return findings


# ---------------------------------------------------------------- JSON Schema

_DURATION = {
    "anyOf": [
        {"type": "string", "pattern": r"^\s*(\d+(\.\d+)?\s*[dhms]\s*)+$|^\s*\d+(\.\d+)?\s*$"},
        {"type": "number", "minimum": 0},
    ],
    "description": "A duration: a number and a unit, 30s, 15m, 2h, 1d, or combined, 1h30m; "
                   "a bare number is seconds.",
}
_CHANNEL = {
    "type": "string",
    "pattern": r"^\s*(console|(slack|discord|discord-webhook):\S+)\s*$",
    "description": "Where alerts go: console, slack:#channel-name, slack:C0123ABCD (a channel ID), "
                   "discord:<channel id> or discord-webhook:<name> (its URL in DISCORD_WEBHOOK_<NAME>).",
    "examples": ["console", "slack:#competitors", "discord:123456789012345678"],
}
_TIME_OF_DAY = {
    "type": "string", "pattern": r"^([01]?\d|2[0-3]):[0-5]\d$",
    "description": "A time of day, HH:MM on a 24-hour clock, in quotes: \"22:00\".",
}
# Pydantic resolves every "$ref" it sees against its own definitions: these types are marked
# while it works, and the marks become references to _VALUE_DEFS afterwards (`_tidy`).
_DEF_MARK = "x-intelbot-definition"
_VALUE_DEFS = {"Channel": _CHANNEL, "Duration": _DURATION, "TimeOfDay": _TIME_OF_DAY}
_SPECIAL_AFTER: dict[Any, dict[str, Any]] = {
    get_args(Channel)[2].func: {_DEF_MARK: "Channel"},
    get_args(HttpUrlText)[1].func: {
        "type": "string", "format": "uri", "pattern": "^https?://",
        "description": "An http:// or https:// URL, without a password.",
    },
    get_args(TimeZone)[1].func: {
        "type": "string", "description": "An IANA time zone such as Europe/Berlin or UTC.",
        "examples": ["UTC", "Europe/Berlin", "America/New_York"],
    },
    get_args(Cron)[1].func: {
        "type": "string", "description": "A cron expression of five fields, minute hour day month "
                                         "weekday: \"0 9 * * 1-5\" is 09:00 on weekdays.",
    },
    get_args(Ping)[1].func: {
        "type": "string", "pattern": r"^(slack:S[A-Z0-9]{4,}|discord:\d{5,20})$",
        "description": "slack:<user group id> (S0123ABCD) or discord:<role id>.",
    },
    SlackConfig.model_fields["http_path"].metadata[0].func: {
        "type": "string", "pattern": r"^/[^\s?#]*$", "description": "A URL path such as /slack/events.",
    },
}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    if {"type": "null"} in schema.get("anyOf", []):
        return schema
    return {"anyOf": [schema, {"type": "null"}]}


def _one_or_many(array: dict[str, Any]) -> dict[str, Any]:
    items = array.get("items", {})
    return {"anyOf": [items, array]}


class _ConfigSchema(GenerateJsonSchema):
    """Pydantic's schema, with the YAML forms the loader's before-validators accept."""

    def timedelta_schema(self, schema):
        return {_DEF_MARK: "Duration"}

    def time_schema(self, schema):
        return {_DEF_MARK: "TimeOfDay"}

    def str_schema(self, schema):
        # Numbers become text where text is expected (MODEL's coerce_numbers_to_str).
        json_schema = super().str_schema(schema)
        return {**json_schema, "type": ["string", "number"]}

    def function_after_schema(self, schema):
        function = schema["function"]["function"]
        special = _SPECIAL_AFTER.get(function)
        if special is not None:
            return dict(special)
        inner = self.generate_inner(schema["schema"])
        if isinstance(function, functools.partial) and "min_length" in function.keywords:
            inner = _with_min_items(inner, function.keywords["min_length"])
        return inner

    def function_before_schema(self, schema):
        function = schema["function"]["function"]
        inner = self.generate_inner(schema["schema"])
        if function in (one_or_many, get_args(PingList)[1].func):
            return _one_or_many(inner)
        if function is alias_items:
            either = {"anyOf": [{"type": ["string", "number"], "minLength": 1}, inner["items"]]}
            return {"anyOf": [either, {**inner, "items": either}]}
        if function in (Section.func, Items.func):
            return _nullable(inner)
        return inner  # durations and times of day: timedelta_schema and time_schema say what is written

    def encode_default(self, dft):
        if isinstance(dft, timedelta):
            return format_duration(dft)
        return super().encode_default(dft)


def _with_min_items(schema: dict[str, Any], count: int) -> dict[str, Any]:
    """`count` items at least, on the list form (a lone item is one item)."""
    schema = {k: v for k, v in schema.items() if k != "minLength"}
    if schema.get("type") == "array":
        return {**schema, "minItems": count}
    if "anyOf" in schema:
        return {**schema, "anyOf": [_with_min_items(s, count) if s.get("type") == "array" else s
                                    for s in schema["anyOf"]]}
    return schema


def _tidy(node: Any) -> Any:
    """Finish pydantic's schema: marks become `$ref`s; drop what helps no editor (a section's
    default, each key has its own; a `minLength` on a list) or dates it (the versioned user agent)."""
    if isinstance(node, list):
        return [_tidy(item) for item in node]
    if not isinstance(node, dict):
        return node
    tidied = {key: _tidy(value) for key, value in node.items()}
    if _DEF_MARK in tidied:
        tidied["$ref"] = f"#/$defs/{tidied.pop(_DEF_MARK)}"
    if isinstance(tidied.get("default"), dict):
        del tidied["default"]
    if tidied.get("default") == DEFAULT_USER_AGENT:
        del tidied["default"]
        tidied["description"] = "Sent with every request; default: intelbot/<version> (+self-hosted news monitor)."
    if tidied.get("format") == "path":
        del tidied["format"]
    if "anyOf" in tidied and "type" not in tidied:
        tidied.pop("minLength", None)  # a list's minimum, already on its array form as minItems
    return tidied


def config_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of an intelbot YAML config file."""
    schema = _tidy(Config.model_json_schema(schema_generator=_ConfigSchema))
    schema["$defs"] = dict(sorted({**schema["$defs"], **_VALUE_DEFS}.items()))
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **schema,
        "title": "intelbot configuration",
        "description": "intelbot's YAML config (see config.example.yaml). Generated by "
                       "`intelbot schema`; `intelbot check` validates more than this schema can.",
    }
