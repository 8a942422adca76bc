"""Config of how alerts reach people: digests, quiet hours, budgets, pings, health reporting.

Part of the schema in `bot.config` (watchlists[].mode/digest/ping, channels[], admin_channel,
health); kept apart so each piece stays readable. Validation is strict and the messages say
what to write instead: a cron expression APScheduler cannot read, an unknown time zone, a
time of day that is not HH:MM.
"""

from __future__ import annotations

import re
from datetime import time
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, StrictInt

from bot.configtypes import MODEL, Channel, Text
from bot.scheduler import crontab_trigger
from bot.yamlsource import describe_value


def _time_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {describe_value(value)}: use a name such as Europe/Berlin or UTC") from None
    return value


def _cron(value: str) -> str:
    try:
        crontab_trigger(value)
    except ValueError as error:
        raise ValueError(
            f"cannot read the cron expression {describe_value(value)} ({error}): write five fields, "
            "minute hour day month weekday, e.g. \"0 9 * * 1-5\" for 09:00 on weekdays"
        ) from None
    return value


_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def _time_of_day(value: object) -> object:
    if isinstance(value, time):
        return value
    match = _CLOCK.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"expected a time of day such as \"22:00\" (in quotes), got {describe_value(value)}")
    return time(int(match.group(1)), int(match.group(2)))


def _ping(value: str) -> str:
    platform, _, target = value.partition(":")
    if platform == "slack" and re.fullmatch(r"S[A-Z0-9]{4,}", target):
        return value
    if platform == "discord" and re.fullmatch(r"\d{5,20}", target):
        return value
    raise ValueError(
        f"cannot ping {describe_value(value)}: write slack:<user group id> (S0123ABCD, from the group's "
        "profile) or discord:<role id> (a number: Server Settings > Roles > Copy Role ID); "
        "people and @channel/@everyone are never pinged"
    )


TimeZone = Annotated[str, AfterValidator(_time_zone)]
Cron = Annotated[str, AfterValidator(_cron)]
TimeOfDay = Annotated[time, BeforeValidator(_time_of_day)]
Ping = Annotated[str, AfterValidator(_ping)]


class DigestConfig(BaseModel):
    """When a watchlist's digest goes out: a cron schedule in a time zone.

    `when_empty: say` posts "nothing new" when the period had no stories; `skip` stays silent.
    """

    model_config = MODEL
    cron: Cron = "0 9 * * *"
    tz: TimeZone = "UTC"
    when_empty: Literal["skip", "say"] = "skip"


class QuietHoursConfig(BaseModel):
    """Hours in which a channel gets no realtime alerts: they are held until the end (`hold`)
    or folded into the next digest (`digest`). `start` after `end` spans midnight."""

    model_config = MODEL
    start: TimeOfDay
    end: TimeOfDay
    tz: TimeZone = "UTC"
    then: Literal["hold", "digest"] = "hold"


class ChannelConfig(BaseModel):
    """Pacing of one channel: quiet hours, and at most `max_per_hour` realtime alerts (the
    overflow goes to the next digest of its watchlist instead of flooding the channel)."""

    model_config = MODEL
    channel: Channel
    quiet_hours: QuietHoursConfig | None = None
    max_per_hour: Annotated[StrictInt, Field(gt=0)] | None = None


class HealthConfig(BaseModel):
    """An optional HTTP endpoint for people who run intelbot as a service: /healthz, /metrics."""

    model_config = MODEL
    listen: Text | None = None  # "127.0.0.1:9108"; None: no endpoint


DeliveryMode = Literal["realtime", "digest", "both"]
PingList = Annotated[tuple[Ping, ...], BeforeValidator(lambda v: (v,) if isinstance(v, str) else v)]
