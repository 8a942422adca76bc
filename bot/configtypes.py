"""Value types of the config schema: durations, text, URLs, channels, times of day, time zones.

Shared by `bot.config` (the schema and its loading) and `bot.config_delivery` (how alerts are
paced). Each type reads what people write in YAML and says precisely what is wrong otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
)

from bot.models import parse_channel
from bot.yamlsource import describe_value

# ---------------------------------------------------------------- durations

_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_DURATION = re.compile(r"(?:\d+(?:\.\d+)?\s*[dhms]\s*)+")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([dhms])")


def parse_duration(text: str) -> timedelta:
    """Read "30s", "15m", "2h", "1d", "1h30m" or a plain number of seconds; raise ValueError."""
    cleaned = text.strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", cleaned):
        return timedelta(seconds=float(cleaned))
    if not cleaned or not _DURATION.fullmatch(cleaned):
        raise ValueError(f"invalid duration {text!r}: use a number with s, m, h or d, e.g. 15m")
    seconds = sum(float(n) * _UNIT_SECONDS[unit] for n, unit in _DURATION_PART.findall(cleaned))
    return timedelta(seconds=seconds)


def format_duration(duration: timedelta) -> str:
    """Write a duration the way `parse_duration` reads it, largest units first: "1h30m", "0s"."""
    if duration < timedelta(0):
        return "-" + format_duration(-duration)
    micros = duration // timedelta(microseconds=1)
    whole, fraction = divmod(micros, 1_000_000)
    parts = []
    for unit, size in _UNIT_SECONDS.items():
        count, whole = divmod(whole, size)
        if unit == "s" and fraction:
            parts.append(f"{count}.{fraction:06d}".rstrip("0") + "s")
        elif count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


def _to_duration(value: object) -> object:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return timedelta(seconds=value)
    if isinstance(value, str):
        return parse_duration(value)
    raise ValueError(f"invalid duration {describe_value(value)}: use a number with s, m, h or d, e.g. 15m")


def at_least(minimum: timedelta) -> AfterValidator:
    def check(value: timedelta) -> timedelta:
        if value < minimum:
            raise ValueError(
                f"must be at least {format_duration(minimum)}, got {format_duration(value)}"
            )
        return value

    return AfterValidator(check)


Duration = Annotated[
    timedelta,
    BeforeValidator(_to_duration),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
]

# ---------------------------------------------------------------- field types


def one_or_many(value: object) -> object:
    # `aliases: 小米` is an obvious one-item list; accept it rather than lecture.
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else value


def alias_items(value: object) -> object:
    # A plain string is short for `{name: ...}`, so the usual case stays a list of names.
    items = one_or_many(value)
    if not isinstance(items, (list, tuple)):
        return items
    return tuple(i if isinstance(i, (Mapping, BaseModel)) else {"name": i} for i in items)


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.password:  # checked first: the messages below quote the URL
        raise ValueError("the URL contains a password: secrets do not belong in the config file")
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"expected an http:// or https:// URL, got {describe_value(value)}")
    if not parts.hostname:
        raise ValueError(f"the URL {describe_value(value)} has no host")
    return value


def _channel(value: str) -> str:
    return str(parse_channel(value))


def _channel_is_one_word(value: object) -> object:
    if isinstance(value, Mapping):  # `- slack: #news` parses as a mapping
        raise ValueError("write the channel as one word, no space after the colon: slack:#news")
    return value


Text = Annotated[str, Field(min_length=1)]
HttpUrlText = Annotated[str, AfterValidator(_http_url)]
Channel = Annotated[str, BeforeValidator(_channel_is_one_word), AfterValidator(_channel)]
TextList = Annotated[tuple[Text, ...], BeforeValidator(one_or_many)]
# Numbers become text where text is expected: a company called 1688 needs no quotes.
MODEL = ConfigDict(
    extra="forbid", frozen=True, str_strip_whitespace=True, coerce_numbers_to_str=True
)

# A section whose lines are all commented out reads as null: that means "all defaults".
Section = BeforeValidator(lambda value: {} if value is None else value)
Items = BeforeValidator(lambda value: () if value is None else value)
