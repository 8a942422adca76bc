"""Tests of bot.config: the schema, durations, and `file:line:col` messages for every problem."""

from __future__ import annotations

from datetime import timedelta
from importlib import resources
from pathlib import Path

import pytest

from bot.config import (
    AliasConfig,
    CompanyConfig,
    Config,
    WatchlistConfig,
    format_duration,
    load_config,
    load_default_config,
    parse_config,
    parse_duration,
)
from bot.errors import ConfigError, ConfigProblem

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "config.example.yaml"

VALID = """\
sources:
  - name: Example News
    url: https://news.example.com/feed.xml
companies:
  - name: Xiaomi
    aliases: [小米, Xiaomi Corp]
  - name: Haier
    aliases: [海尔]
watchlists:
  - name: china-expansion
    companies: [Xiaomi, Haier]
"""


def parse(text: str, base_dir: Path = Path("/srv/intel")) -> Config:
    return parse_config(text, filename="config.yaml", base_dir=base_dir)


def problems_of(text: str) -> list[ConfigProblem]:
    with pytest.raises(ConfigError) as caught:
        parse(text)
    return caught.value.problems


def only_problem(text: str) -> ConfigProblem:
    problems = problems_of(text)
    assert len(problems) == 1, problems
    return problems[0]


def position(text: str, needle: str) -> tuple[int, int]:
    """1-based line and column of the first `needle` in `text`."""
    index = text.index(needle)
    line_start = text.rfind("\n", 0, index) + 1
    return text.count("\n", 0, index) + 1, index - line_start + 1


def where(problem: ConfigProblem) -> tuple[int | None, int | None]:
    return problem.line, problem.column


# ---------------------------------------------------------------- the shipped example


def test_example_is_the_embedded_default_byte_for_byte():
    embedded = resources.files("bot.data").joinpath("default.yaml").read_bytes()
    assert EXAMPLE.read_bytes() == embedded


def test_example_loads_as_a_useful_starting_point():
    config = load_config(EXAMPLE)
    assert config.path == EXAMPLE
    assert config.storage.path == REPO / "intelbot.db"
    assert 6 <= len(config.sources) <= 10
    assert all(s.url.startswith("https://") for s in config.sources)
    assert all(timedelta(minutes=15) <= s.every <= timedelta(minutes=30) for s in config.sources)
    assert len(config.companies) >= 28
    for alias, company in [("小米", "Xiaomi"), ("阿里巴巴", "Alibaba"), ("腾讯", "Tencent"),
                           ("百度", "Baidu"), ("华为", "Huawei"), ("字节跳动", "ByteDance"),
                           ("TikTok", "ByteDance"), ("海尔", "Haier"), ("京东", "JD.com"),
                           ("比亚迪", "BYD")]:
        assert config.company(alias).name == company
    assert 2 <= len(config.watchlists) <= 3
    assert all(w.channels == ("console",) for w in config.watchlists)
    assert config.alerts.backlog == timedelta(days=2)


def test_example_shows_the_matching_levers():
    config = load_config(EXAMPLE)
    twitter = config.company("X")
    assert twitter.name == "Twitter" and AliasConfig(name="X", case="exact") in twitter.aliases
    assert "tweet" in twitter.context
    assert "Amazon rainforest" in config.company("Amazon").exclude
    assert "Nikola Tesla" in config.company("Tesla").exclude
    assert "iPhone" in config.company("Apple").context
    assert "about" in {w.require for w in config.watchlists}


def test_default_config_puts_the_database_in_the_given_folder(tmp_path):
    config = load_default_config(tmp_path)
    assert config.path is None
    assert config.storage.path == tmp_path / "intelbot.db"
    assert config == load_default_config(tmp_path)


# ---------------------------------------------------------------- durations


@pytest.mark.parametrize(
    "text, expected",
    [
        ("30s", timedelta(seconds=30)),
        ("15m", timedelta(minutes=15)),
        ("2h", timedelta(hours=2)),
        ("1d", timedelta(days=1)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1h 30m", timedelta(hours=1, minutes=30)),
        ("1.5s", timedelta(seconds=1.5)),
        ("45", timedelta(seconds=45)),
        ("0s", timedelta(0)),
    ],
)
def test_parse_duration(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "duration, text",
    [
        (timedelta(0), "0s"),
        (timedelta(minutes=15), "15m"),
        (timedelta(hours=1, minutes=30), "1h30m"),
        (timedelta(days=2), "2d"),
        (timedelta(days=1, hours=2, minutes=3, seconds=4), "1d2h3m4s"),
        (timedelta(milliseconds=1500), "1.5s"),
        (timedelta(seconds=-90), "-1m30s"),
    ],
)
def test_format_duration_is_the_shortest_form_and_parses_back(duration, text):
    assert format_duration(duration) == text
    if duration >= timedelta(0):
        assert parse_duration(text) == duration


@pytest.mark.parametrize("bad", ["fifteen", "", "15 minutes", "1x", "m", "-5m", "15M"])
def test_parse_duration_rejects_what_it_cannot_read(bad):
    with pytest.raises(ValueError) as caught:
        parse_duration(bad)
    assert str(caught.value) == (
        f"invalid duration {bad!r}: use a number with s, m, h or d, e.g. 15m"
    )


def test_durations_accept_bare_seconds_and_timedeltas():
    config = parse("fetch:\n  timeout: 7.5\nalerts:\n  backlog: 3600\n")
    assert config.fetch.timeout == timedelta(seconds=7.5)
    assert config.alerts.backlog == timedelta(hours=1)
    assert Config(alerts={"backlog": timedelta(days=1)}).alerts.backlog == timedelta(days=1)
    assert config.model_dump(mode="json")["alerts"]["backlog"] == "1h"


def test_bad_duration_in_the_file_is_located():
    text = VALID + "alerts:\n  backlog: fifteen\n"
    problem = only_problem(text)
    assert where(problem) == position(text, "fifteen")
    assert problem.path == "alerts.backlog"
    assert problem.message == (
        "invalid duration 'fifteen': use a number with s, m, h or d, e.g. 15m"
    )


def test_source_interval_has_a_floor():
    text = "sources:\n  - name: A\n    url: https://a.example/\n    every: 5s\n"
    problem = only_problem(text)
    assert where(problem) == position(text, "5s")
    assert problem.message == "must be at least 10s, got 5s"


# ---------------------------------------------------------------- a valid file


def test_defaults_and_lookups():
    config = parse(VALID)
    assert config.path is None
    assert config.fetch.max_bytes == 5_000_000
    assert config.fetch.timeout == timedelta(seconds=20)
    assert config.sources[0].every == timedelta(minutes=15)
    assert config.watchlists[0].channels == ("console",)
    assert config.watchlists[0].keywords == ()
    assert config.company("XIAOMI CORP").name == "Xiaomi"
    assert config.company("海尔").name == "Haier"
    assert config.company("Apple") is None


def test_watchlist_companies_take_the_configured_spelling():
    text = VALID.replace("companies: [Xiaomi, Haier]", "companies: [xiaomi, 海尔, Xiaomi Corp]")
    assert parse(text).watchlists[0].companies == ("Xiaomi", "Haier")


def test_empty_sections_mean_defaults():
    config = parse("storage:\nsources:\ncompanies:\nwatchlists:\nchat:\n")
    assert config.sources == () and config.chat.slack.api_url == "https://slack.com/api/"


def test_storage_path_is_relative_to_the_config_files_folder(tmp_path):
    folder = tmp_path / "team"
    folder.mkdir()
    (folder / "config.yaml").write_text("storage:\n  path: data/intel.db\n", encoding="utf-8")
    assert load_config(folder / "config.yaml").storage.path == folder / "data" / "intel.db"
    absolute = tmp_path / "elsewhere.db"
    assert parse(f"storage:\n  path: {absolute}\n").storage.path == absolute


def test_aliases_are_plain_strings_or_mappings_with_a_case():
    text = VALID.replace(
        "aliases: [海尔]", "aliases: [海尔, {name: HGRP, case: exact}, {name: hsh, case: any}]"
    )
    config = parse(text)
    haier = config.company("hgrp")
    assert haier.aliases == (
        AliasConfig(name="海尔"),
        AliasConfig(name="HGRP", case="exact"),
        AliasConfig(name="hsh", case="any"),
    )
    assert haier.alias_names == ("海尔", "HGRP", "hsh")
    assert haier.names == ("Haier", "海尔", "HGRP", "hsh")
    assert config.company("Hsh") is haier
    assert haier.links is False and parse(VALID.replace("aliases: [海尔]", "aliases: [海尔]\n    links: true")).company("Haier").links


def test_one_alias_needs_no_list_and_numbers_are_names():
    config = parse("companies:\n  - name: Alibaba\n    aliases: 阿里巴巴\n  - name: 1688\n"
                   "    aliases: [1688.com, 2024]\n")
    assert config.companies[0].aliases == (AliasConfig(name="阿里巴巴"),)
    assert config.companies[1].names == ("1688", "1688.com", "2024")


def test_matching_hints_default_to_nothing():
    config = parse(VALID)
    xiaomi = config.companies[0]
    assert (xiaomi.context, xiaomi.exclude, xiaomi.ambiguous) == ((), (), None)
    assert config.watchlists[0].require == "mention"


def test_matching_hints_are_read():
    text = (
        "companies:\n  - name: Amazon\n    aliases: [AWS]\n    context: [Bezos, cloud]\n"
        "    exclude: [Amazon rainforest, aws re:Invent]\n    ambiguous: false\n"
        "watchlists:\n  - name: retail\n    companies: [Amazon]\n    require: about\n"
    )
    config = parse(text)
    amazon = config.companies[0]
    assert amazon.context == ("Bezos", "cloud")
    assert amazon.exclude == ("Amazon rainforest", "aws re:Invent")
    assert amazon.ambiguous is False
    assert config.watchlists[0].require == "about"


def test_watchlist_companies_resolve_by_an_alias_written_as_a_mapping():
    text = VALID.replace("[小米, Xiaomi Corp]", "[小米, {name: Mi, case: exact}]").replace(
        "companies: [Xiaomi, Haier]", "companies: [mi, Haier, MI]"
    )
    assert parse(text).watchlists[0].companies == ("Xiaomi", "Haier")


def test_a_config_built_in_python_is_checked_too():
    with pytest.raises(ValueError, match="unknown company 'Haeir'"):
        Config(
            companies=[CompanyConfig(name="Haier")],
            watchlists=[WatchlistConfig(name="w", companies=["Haeir"])],
        )


# ---------------------------------------------------------------- located problems


def test_unknown_key_suggests_the_known_one():
    text = "sorces:\n  - name: A\n    url: https://a.example/\n"
    problem = only_problem(text)
    assert str(problem) == "config.yaml:1:1: sorces: unknown key 'sorces' (did you mean 'sources'?)"


def test_nested_unknown_key_points_at_the_key_and_is_not_also_missing():
    text = "sources:\n  - name: A\n    ulr: https://a.example/\n"
    problem = only_problem(text)
    assert where(problem) == position(text, "ulr")
    assert problem.path == "sources[0].ulr"
    assert problem.message == "unknown key 'ulr' (did you mean 'url'?)"


def test_missing_required_key_points_at_its_mapping():
    text = VALID + "  - name: no-companies\n    keywords: [china]\n"
    problem = only_problem(text)
    assert where(problem) == position(text, "name: no-companies")
    assert problem.path == "watchlists[1].companies"
    assert problem.message == "missing required key 'companies'"


def test_unknown_company_suggests_the_closest():
    text = VALID.replace("companies: [Xiaomi, Haier]", "companies: [Haier, Xiaomy]")
    problem = only_problem(text)
    line, column = position(text, "Xiaomy")
    assert str(problem) == (
        f"config.yaml:{line}:{column}: watchlists[0].companies[1]: "
        "unknown company 'Xiaomy' (did you mean 'Xiaomi'?)"
    )


def test_duplicate_source_names_differ_only_in_case():
    text = (
        "sources:\n"
        "  - name: Example News\n    url: https://a.example/\n"
        "  - name: example news\n    url: https://b.example/\n"
    )
    problem = only_problem(text)
    assert where(problem) == position(text, "example news")
    assert problem.path == "sources[1].name"
    assert problem.message == (
        "duplicate source name 'example news' (first used at sources[0].name, line 2)"
    )


def test_alias_collision_names_both_companies():
    redmi = "  - name: Redmi\n    aliases: [XIAOMI CORP]\n"
    text = VALID.replace("  - name: Haier\n", redmi + "  - name: Haier\n")
    problem = only_problem(text)
    assert where(problem) == position(text, "XIAOMI CORP")
    assert problem.path == "companies[1].aliases[0]"
    assert "'Redmi'" in problem.message and "'Xiaomi'" in problem.message
    assert problem.message == (
        "alias 'XIAOMI CORP' of 'Redmi' is already a name or alias of 'Xiaomi' "
        "(at companies[0].aliases[1], line 6)"
    )


def test_alias_collision_written_as_a_mapping_points_at_its_name():
    redmi = "  - name: Redmi\n    aliases:\n      - {case: exact, name: XIAOMI CORP}\n"
    text = VALID.replace("  - name: Haier\n", redmi + "  - name: Haier\n")
    problem = only_problem(text)
    line, column = position(text, "XIAOMI CORP")
    assert str(problem) == (
        f"config.yaml:{line}:{column}: companies[1].aliases[0].name: alias 'XIAOMI CORP' of "
        "'Redmi' is already a name or alias of 'Xiaomi' (at companies[0].aliases[1], line 6)"
    )


def test_collision_with_an_alias_written_as_a_mapping_points_back_at_its_name():
    text = VALID.replace("[小米, Xiaomi Corp]", "[小米, {name: Mi, case: exact}]").replace(
        "  - name: Haier\n", "  - name: mi\n  - name: Haier\n"
    )
    problem = only_problem(text)
    line, column = position(text, "name: mi\n")
    column += len("name: ")
    assert str(problem) == (
        f"config.yaml:{line}:{column}: companies[1].name: name 'mi' is already a name or alias "
        "of 'Xiaomi' (at companies[0].aliases[1].name, line 6)"
    )


def test_unknown_key_in_an_alias_mapping():
    text = VALID.replace("[海尔]", "[海尔, {name: X, cas: exact}]")
    problem = only_problem(text)
    line, column = position(text, "cas:")
    assert str(problem) == (
        f"config.yaml:{line}:{column}: companies[1].aliases[1].cas: "
        "unknown key 'cas' (did you mean 'case'?)"
    )


def test_invalid_alias_case_lists_the_choices():
    text = VALID.replace("[海尔]", "[海尔, {name: X, case: Exact}]")
    problem = only_problem(text)
    line, column = position(text, "Exact")
    assert str(problem) == (
        f"config.yaml:{line}:{column}: companies[1].aliases[1].case: "
        "expected 'auto', 'exact' or 'any', got 'Exact'"
    )


def test_alias_mapping_without_a_name():
    text = VALID.replace("[海尔]", "[海尔, {case: exact}]")
    problem = only_problem(text)
    assert where(problem) == position(text, "{case")
    assert (problem.path, problem.message) == (
        "companies[1].aliases[1].name", "missing required key 'name'"
    )


def test_exclude_phrase_without_a_name_of_the_company():
    text = VALID.replace("aliases: [海尔]", "aliases: [海尔]\n    exclude: [haier group, rainforest]")
    problem = only_problem(text)
    line, column = position(text, "rainforest")
    assert str(problem) == (
        f"config.yaml:{line}:{column}: companies[1].exclude[1]: exclude phrase 'rainforest' "
        "does not contain a name of Haier (Haier, 海尔): it could never apply"
    )


def test_exclude_phrase_that_is_a_name_would_exclude_every_mention():
    text = VALID.replace("aliases: [海尔]", "aliases: [海尔]\n    exclude: [海尔]")
    problem = only_problem(text)
    assert problem.path == "companies[1].exclude[0]"
    assert problem.message == (
        "exclude phrase '海尔' is itself a name of Haier: it would exclude every mention"
    )


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("  - name: Haier\n", "  - name: Haier\n    ambiguous: yes\n",
         "expected true or false, got 'yes'"),
        ("    companies: [Xiaomi, Haier]\n", "    companies: [Xiaomi, Haier]\n    require: all\n",
         "expected 'mention' or 'about', got 'all'"),
    ],
)
def test_hint_values_are_checked(old, new, message):
    text = VALID.replace(old, new)
    problem = only_problem(text)
    value = new.rstrip().rsplit(": ", 1)[1]
    assert where(problem) == position(text, value)
    assert problem.message == message


@pytest.mark.parametrize(
    "channel, message",
    [
        ("slack:general", "invalid Slack channel 'slack:general': write slack:#channel-name"),
        ("discord:abc", "invalid Discord channel 'discord:abc'"),
        ("teams:#x", "unknown channel 'teams:#x'"),
    ],
)
def test_channel_syntax_errors(channel, message):
    text = VALID + f'    channels: [console, "{channel}"]\n'
    problem = only_problem(text)
    assert where(problem) == position(text, f'"{channel}"')
    assert problem.path == "watchlists[0].channels[1]"
    assert problem.message.startswith(message)


def test_channel_written_with_a_space_after_the_colon():
    text = VALID + "    channels:\n      - slack: #news\n"
    problem = only_problem(text)
    assert where(problem) == position(text, "slack: #news")
    assert "no space after the colon" in problem.message


@pytest.mark.parametrize(
    "yaml, key, variable",
    [
        ("chat:\n  slack:\n    bot_token: {}\n", "bot_token", "SLACK_BOT_TOKEN"),
        ("chat:\n  slack:\n    signing_secret: {}\n", "signing_secret", "SLACK_SIGNING_SECRET"),
        ("chat:\n  discord:\n    token: {}\n", "token", "DISCORD_TOKEN"),
        ("fetch:\n  password: {}\n", "password", "SLACK_BOT_TOKEN (or the relevant variable"),
        ("sources:\n  - name: A\n    url: https://a.example/\n    api_key: {}\n", "api_key",
         "SLACK_BOT_TOKEN (or the relevant variable"),
    ],
)
def test_secrets_are_rejected_without_echoing_them(yaml, key, variable):
    text = yaml.format("hunter2-s3cr3t")
    with pytest.raises(ConfigError) as caught:
        parse(text)
    assert "hunter2-s3cr3t" not in str(caught.value)
    [problem] = caught.value.problems
    assert where(problem) == position(text, key + ":")
    assert problem.message.startswith(
        f"secrets do not belong in the config file: set {variable}"
    )


def test_a_slack_token_pasted_as_a_value_is_rejected_without_echo():
    text = VALID + "chat:\n  slack:\n    api_url: xoxb-1234-abcd\n"
    with pytest.raises(ConfigError) as caught:
        parse(text)
    assert "xoxb-1234" not in str(caught.value)
    assert "looks like a Slack token" in str(caught.value)


def test_human_messages_for_wrong_types():
    text = "fetch:\n  max_bytes: abc\n  concurrency: 100\n  allow_private_networks: yes\n"
    messages = [p.message for p in problems_of(text)]
    assert messages == [
        "expected a whole number, got 'abc'",
        "must be at most 64, got 100",
        "expected true or false, got 'yes'",
    ]


def test_source_url_must_be_http():
    text = "sources:\n  - name: A\n    url: ftp://a.example/feed\n"
    problem = only_problem(text)
    assert where(problem) == position(text, "ftp://")
    assert problem.message == "expected an http:// or https:// URL, got 'ftp://a.example/feed'"


def test_all_problems_are_reported_at_once_in_file_order():
    text = (
        "sorces: []\n"
        + VALID.replace("companies: [Xiaomi, Haier]", "companies: [Xiaomy]")
        + "fetch:\n  max_redirects: -1\n"
    )
    with pytest.raises(ConfigError) as caught:
        parse(text)
    (l1, c1), (l2, c2), (l3, c3) = (position(text, s) for s in ("sorces", "Xiaomy", "-1"))
    assert str(caught.value).splitlines() == [
        f"config.yaml:{l1}:{c1}: sorces: unknown key 'sorces' (did you mean 'sources'?)",
        f"config.yaml:{l2}:{c2}: watchlists[0].companies[0]: unknown company 'Xiaomy' "
        "(did you mean 'Xiaomi'?)",
        f"config.yaml:{l3}:{c3}: fetch.max_redirects: must be at least 0, got -1",
    ]


# ---------------------------------------------------------------- broken files


def test_yaml_syntax_error_is_located():
    text = "sources:\n  - name: A\n    url: [https://a.example/\nfetch: {}\n"
    problem = only_problem(text)
    assert problem.path == ""
    assert where(problem) == position(text, ": {}")  # where the unclosed [ turned out wrong
    assert problem.message == (
        "invalid YAML: expected ',' or ']', but got ':' (while parsing a flow sequence at line 3)"
    )


def test_tab_indentation_gets_a_hint():
    problem = only_problem("fetch:\n\ttimeout: 5s\n")
    assert where(problem) == (2, 1)
    assert "indent with spaces" in problem.message


def test_duplicate_key_is_located():
    text = "sources:\n  - name: A\n    name: B\n    url: https://a.example/\n"
    problem = only_problem(text)
    assert where(problem) == position(text, "name: B")
    assert problem.message.startswith("duplicate key 'name'")


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "the file is empty"),
        ("# everything commented out\n", "the file is empty"),
        ("- sources\n- companies\n", "the top level must be a mapping"),
        ("just words\n", "the top level must be a mapping"),
    ],
)
def test_documents_that_are_not_a_config(text, message):
    assert message in only_problem(text).message


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "nope.yaml")
    [problem] = caught.value.problems
    assert problem.file == str(tmp_path / "nope.yaml")
    assert "file not found" in problem.message


def test_file_that_is_not_utf8_is_located(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_bytes(b"sources:\n  - name: Caf\xe9\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    [problem] = caught.value.problems
    assert where(problem) == position("sources:\n  - name: Caf?\n", "?")
    assert "not valid UTF-8" in problem.message


def test_slack_defaults_to_socket_mode_on_a_local_port():
    slack = parse(VALID).chat.slack
    assert (slack.mode, slack.http_host, slack.http_port, slack.http_path) == (
        "socket", "127.0.0.1", 3000, "/slack/events"
    )
    assert slack.api_url == "https://slack.com/api/"


def test_slack_http_mode_settings_are_read():
    text = VALID + (
        "chat:\n  slack:\n    mode: http\n    http_host: 0.0.0.0\n    http_port: 8080\n"
        "    http_path: /hooks/slack\n    api_url: http://127.0.0.1:9/api/\n"
    )
    slack = parse(text).chat.slack
    assert (slack.mode, slack.http_host, slack.http_port, slack.http_path) == (
        "http", "0.0.0.0", 8080, "/hooks/slack"
    )
    assert slack.api_url == "http://127.0.0.1:9/api/"


@pytest.mark.parametrize(
    ("setting", "needle"),
    [
        ("mode: websocket", "websocket"),
        ("http_port: 70000", "70000"),
        ("http_path: slack/events", "slack/events"),
    ],
)
def test_slack_settings_are_checked(setting, needle):
    text = VALID + f"chat:\n  slack:\n    {setting}\n"
    problem = only_problem(text)
    assert problem.path.startswith("chat.slack.")
    assert where(problem) == position(text, needle)
