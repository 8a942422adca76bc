"""The delivery settings of the config: modes, digests, pings, quiet hours, budgets, health."""

from __future__ import annotations

from datetime import time

import pytest

from tests.test_config import VALID, only_problem, parse, position

DELIVERY = VALID.replace("    companies: [Xiaomi, Haier]\n", """\
    companies: [Xiaomi, Haier]
    channels: [slack:#intel]
    mode: both
    digest: {cron: "0 9 * * 1-5", tz: Europe/Berlin, when_empty: say}
    ping: [slack:S0123ABCD, discord:123456789012345678]
""") + """\
channels:
  - channel: slack:#intel
    max_per_hour: 10
    quiet_hours: {start: "22:00", end: "07:00", tz: Europe/Berlin, then: digest}
admin_channel: slack:#intelbot-admin
health:
  listen: 127.0.0.1:9108
"""


def test_delivery_settings_are_read():
    config = parse(DELIVERY)
    watchlist = config.watchlists[0]
    assert (watchlist.mode, watchlist.digest.cron, watchlist.digest.tz, watchlist.digest.when_empty) == (
        "both", "0 9 * * 1-5", "Europe/Berlin", "say")
    assert watchlist.ping == ("slack:S0123ABCD", "discord:123456789012345678")
    (channel,) = config.channels
    assert channel.channel == "slack:#intel" and channel.max_per_hour == 10
    assert (channel.quiet_hours.start, channel.quiet_hours.end, channel.quiet_hours.then) == (
        time(22, 0), time(7, 0), "digest")
    assert config.admin_channel == "slack:#intelbot-admin" and config.health.listen == "127.0.0.1:9108"


def test_defaults_are_realtime_with_a_daily_digest_and_no_pings():
    watchlist = parse(VALID).watchlists[0]
    assert (watchlist.mode, watchlist.digest.cron, watchlist.digest.tz, watchlist.ping) == (
        "realtime", "0 9 * * *", "UTC", ())
    assert parse(VALID).channels == () and parse(VALID).health.listen is None


@pytest.mark.parametrize("old, new, needle, message", [
    ('cron: "0 9 * * 1-5"', 'cron: "0 25 * * *"', '"0 25', "cannot read the cron expression '0 25 * * *'"),
    ("tz: Europe/Berlin, when", "tz: Europe/Berlinn, when", "Europe/Berlinn", "unknown time zone 'Europe/Berlinn'"),
    ('start: "22:00"', 'start: "10pm"', '"10pm"', 'expected a time of day such as "22:00"'),
    ("slack:S0123ABCD,", "slack:@here,", "slack:@here", "people and @channel/@everyone are never pinged"),
    ("mode: both", "mode: sometimes", "sometimes", "realtime"),
    ("max_per_hour: 10", "max_per_hour: 0", "0\n", "greater than 0"),
])
def test_delivery_mistakes_point_at_the_value(old, new, needle, message):
    text = DELIVERY.replace(old, new)
    problem = only_problem(text)
    assert message in problem.message
    assert (problem.line, problem.column) == position(text, needle)
