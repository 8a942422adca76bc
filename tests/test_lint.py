"""`intelbot check` warnings (bot/lint.py) and `intelbot schema`: what loads but is probably not meant."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from bot.config import DEFAULT_CONFIG_NAME, load_config, load_default_config, parse_config
from bot.errors import ConfigError
from bot.lint import config_schema, lint, read_config_text
from tests.test_cli import intelbot

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "config.example.yaml"

# One finding of every kind, and next to most a case that must stay silent.
LINTED = """\
storage:
  path: intel.db
sources:
  - name: Wire
    url: https://wire.test/feed?utm_source=rss
    every: 30s
  - name: Wire again
    url: HTTPS://WIRE.test/feed
  - name: Ticker
    url: https://ticker.test/rss
    every: 1m
companies:
  - name: Globex
    aliases: [Globex Corp, "Hooli’s"]
  - name: Initech
    aliases: ["Hooli's", Glöbex Corp]
  - name: Umbrella
    aliases: [Target]
  - name: Soylent
    aliases: [{name: SY, case: auto}]
  - name: Vandelay
    aliases: [Square, {name: Gap, case: any}, {name: VI, case: exact}]
    context: [imports, latex]
  - name: Kramerica
    aliases: [Shell]
    ambiguous: false
watchlists:
  - name: rivals
    companies: [Globex, Initech]
    keywords: ["factory  plant", "!!!", launch, Launch, Globex Corp, c++]
  - name: quiet
    companies: [Umbrella, Soylent, Vandelay, Kramerica]
    channels: console
"""


def at(text: str, needle: str, occurrence: int = 1) -> str:
    """`line:column` of the `occurrence`-th `needle` in `text`."""
    index = -1
    for _ in range(occurrence):
        index = text.index(needle, index + 1)
    line_start = text.rfind("\n", 0, index) + 1
    return f"{text.count(chr(10), 0, index) + 1}:{index - line_start + 1}"


def lint_text(text: str, filename: str = "intelbot.yaml") -> list[str]:
    config = parse_config(text, filename=filename, base_dir=Path("/srv/intel"))
    return [str(warning) for warning in lint(config, text, filename)]


def expected_warnings(file: str = "intelbot.yaml") -> list[str]:
    t = LINTED
    return [
        (f"{file}:{at(t, '30s')}: sources[0].every: warning: source 'Wire' is polled every 30s: more often "
         "than once a minute rarely finds more news and can get intelbot rate-limited or blocked"),
        (f"{file}:{at(t, 'HTTPS://')}: sources[1].url: warning: source 'Wire again' polls the same URL as "
         f"'Wire' (at sources[0].url, line {at(t, 'https://wire').split(':')[0]}) once case and tracking "
         "parameters are ignored: a story is stored once, so the second source finds nothing new"),
        (f"{file}:{at(t, chr(34) + 'Hooli' + chr(39))}: companies[1].aliases[0]: warning: alias \"Hooli's\" "
         "of 'Initech' and 'Hooli’s' of 'Globex' (at companies[0].aliases[1], line "
         f"{at(t, 'Hooli’s').split(':')[0]}): the matcher reads them alike (case, width and curly "
         "apostrophes do not count), so every mention counts for both companies"),
        (f"{file}:{at(t, 'Glöbex')}: companies[1].aliases[1]: warning: alias 'Glöbex Corp' of 'Initech' and "
         f"'Globex Corp' of 'Globex' (at companies[0].aliases[0], line {at(t, 'Globex Corp').split(':')[0]}): "
         "they differ only in accents, punctuation or spaces: is it one company configured twice?"),
        (f"{file}:{at(t, 'Target')}: companies[2].aliases[0]: warning: alias 'Target' is also a common word "
         "and Umbrella has no `context` or `exclude`: it counts only with generic evidence (written as a "
         "name, a company word nearby, another of its names); add context words (products, people, "
         "places), or `case: any` if it is unambiguous in your news"),
        (f"{file}:{at(t, 'SY,')}: companies[3].aliases[0].name: warning: alias 'SY' has two letters or fewer "
         "and Soylent has no `context` or `exclude`: it counts only written exactly so, in a story that "
         "names Soylent by a longer name too; add context words, or `case: any` if it is unambiguous in "
         "your news"),
        (f"{file}:{at(t, 'rivals')}: watchlists[0].name: warning: watchlist 'rivals' names no channels: its "
         "alerts go only to the console (the terminal intelbot runs in); write `channels: [console]` if "
         "that is what you want"),
        (f"{file}:{at(t, chr(34) + 'factory')}: watchlists[0].keywords[0]: warning: keyword 'factory  plant' contains "
         "a tab, a line break or several spaces in a row: stored stories have single spaces between words, "
         "so it can never match"),
        (f"{file}:{at(t, chr(34) + '!!!')}: watchlists[0].keywords[1]: warning: keyword '!!!' has no letters or "
         "digits: it matches wherever those characters appear, not a word"),
        (f"{file}:{at(t, 'Launch')}: watchlists[0].keywords[3]: warning: keyword 'Launch' repeats 'launch' "
         "of the same watchlist"),
        (f"{file}:{at(t, 'Globex Corp', 2)}: watchlists[0].keywords[4]: warning: keyword 'Globex Corp' is a "
         "name of Globex, one of this watchlist's companies: every story naming Globex so passes the "
         "keyword test, so the keyword filters nothing for it"),
    ]


def test_each_finding_is_located_and_explained():
    assert lint_text(LINTED) == expected_warnings()


def test_a_clean_config_has_no_warnings():
    clean = LINTED.split("companies:\n  - name: Globex")[0].replace("every: 30s", "every: 15m")
    clean = clean.replace("url: HTTPS://WIRE.test/feed", "url: https://wire.test/other")
    assert lint_text(clean) == []


def test_the_example_and_the_embedded_default_have_no_warnings(tmp_path):
    # Their common words (Meta, Intel, Alphabet, 小米) have context words for this reason.
    example = load_config(EXAMPLE)
    assert lint(example, read_config_text(example), str(EXAMPLE)) == []
    default = load_default_config(tmp_path)
    assert lint(default, read_config_text(default), DEFAULT_CONFIG_NAME) == []


def test_validation_already_rejects_what_differs_only_in_case_or_width():
    # So lint's similar-names covers only what the loader lets through (apostrophes, accents, punctuation).
    text = LINTED.replace('"Hooli\'s", Glöbex Corp', "ＧＬＯＢＥＸ corp")
    with pytest.raises(ConfigError) as caught:
        parse_config(text, filename="intelbot.yaml", base_dir=Path("/srv/intel"))
    assert "is already a name or alias of 'Globex'" in str(caught.value)


def test_a_config_built_without_text_has_findings_without_positions(tmp_path):
    (tmp_path / "intelbot.yaml").write_text(LINTED, encoding="utf-8")
    config = load_config(tmp_path / "intelbot.yaml")
    warnings = lint(config, None, "intelbot.yaml")
    # No text: no position, and no telling whether `channels` was written.
    assert all(w.line is None and w.column is None for w in warnings)
    assert [w.code for w in warnings] == [
        "fast-poll", "duplicate-source", "similar-names", "similar-names", "common-word", "common-word",
        "keyword-never-matches", "keyword-not-a-word", "keyword-repeated", "keyword-is-a-name",
    ]
    assert str(warnings[0]).startswith("intelbot.yaml: sources[0].every: warning: source 'Wire'")


async def test_check_prints_warnings_and_exits_0(tmp_path):
    (tmp_path / "intelbot.yaml").write_text(LINTED, encoding="utf-8")
    code, out, err = await intelbot("check", cwd=tmp_path)
    assert code == 0, err
    assert err.splitlines() == expected_warnings()
    assert out.startswith(f"{tmp_path / 'intelbot.yaml'}: OK, 11 warnings\n")


async def test_check_strict_exits_1_on_warnings_only(tmp_path):
    (tmp_path / "linted.yaml").write_text(LINTED, encoding="utf-8")
    code, out, err = await intelbot("check", "--strict", "--config", "linted.yaml", cwd=tmp_path)
    assert code == 1
    assert err.splitlines() == [*expected_warnings("linted.yaml"), "intelbot: 11 warnings (--strict)"]
    code, out, err = await intelbot("check", "--strict", "--config", str(EXAMPLE), cwd=tmp_path)
    assert (code, err) == (0, "")
    assert out.startswith(f"{EXAMPLE}: OK\n")


# ---------------------------------------------------------------- the schema


async def test_committed_schema_is_the_generated_one(tmp_path):
    code, out, err = await intelbot("schema", cwd=tmp_path)
    assert code == 0, err
    committed = (REPO / "config.schema.json").read_text(encoding="utf-8")
    assert out == committed, "config.schema.json is stale: run  intelbot schema > config.schema.json"


def test_the_example_names_the_schema_on_its_first_line():
    first = EXAMPLE.read_text(encoding="utf-8").splitlines()[0]
    assert first == "# yaml-language-server: $schema=config.schema.json"
    assert (EXAMPLE.parent / "config.schema.json").is_file()


def test_values_are_described_as_they_are_written():
    schema = config_schema()
    defs = schema["$defs"]
    every = defs["SourceConfig"]["properties"]["every"]
    assert every["$ref"] == "#/$defs/Duration" and every["default"] == "15m"
    assert "15m" in defs["Duration"]["description"]
    assert defs["WatchlistConfig"]["properties"]["channels"]["anyOf"][1]["items"] == {"$ref": "#/$defs/Channel"}
    assert "slack:#channel-name" in defs["Channel"]["description"]
    assert defs["QuietHoursConfig"]["properties"]["start"]["$ref"] == "#/$defs/TimeOfDay"
    assert "user_agent" in defs["FetchConfig"]["properties"]
    assert "intelbot/<version>" in defs["FetchConfig"]["properties"]["user_agent"]["description"]
    assert defs["CompanyConfig"]["description"].startswith("A tracked company")


def _load_yaml(path: Path) -> Any:
    from ruamel.yaml import YAML

    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


def test_the_example_validates_against_the_schema():
    schema = json.loads((REPO / "config.schema.json").read_text(encoding="utf-8"))
    assert schema_errors(_load_yaml(EXAMPLE), schema) == []


def test_the_schema_catches_what_an_editor_should_flag():
    schema = config_schema()
    good = {"sources": [{"name": 1688, "url": "https://wire.test/feed", "every": "1h30m"}],
            "companies": [{"name": "Globex", "aliases": "Globex Corp"},
                          {"name": "Initech", "aliases": ["Initech Inc", {"name": "IT", "case": "exact"}]}],
            "watchlists": [{"name": "rivals", "companies": "Globex", "channels": "slack:#rivals"}],
            "alerts": None}
    assert schema_errors(good, schema) == []
    assert schema_errors({"sorces": []}, schema) == ["$: unknown key 'sorces'"]
    errors = schema_errors({"sources": [{"name": "Wire", "url": "ftp://x", "every": "soon"}]}, schema)
    assert [error.split(" does not match ")[0] for error in errors] == [
        "$.sources[0].url: 'ftp://x'", "$.sources[0].every: 'soon'"]
    errors = schema_errors({"watchlists": [{"name": "w", "companies": [], "channels": "slack: #x"}]}, schema)
    assert [error.split(" does not match ")[0] for error in errors] == [
        "$.watchlists[0].companies: too few items", "$.watchlists[0].channels: 'slack: #x'"]
    assert schema_errors({"companies": [{"name": "Globex", "aliases": [{"name": "G", "case": "some"}]}]},
                         schema) == ["$.companies[0].aliases[0].case: 'some' is not one of ['auto', 'exact', 'any']"]


def test_the_example_validates_with_jsonschema_when_installed():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((REPO / "config.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(_load_yaml(EXAMPLE), schema, cls=jsonschema.Draft202012Validator)


def schema_errors(value: Any, schema: dict[str, Any], root: dict[str, Any] | None = None,
                  where: str = "$") -> list[str]:
    """Check `value` against the JSON Schema keywords config.schema.json uses (jsonschema is not a
    dependency); a keyword this does not know fails the test rather than passing silently."""
    root = root or schema
    known = {"$schema", "$defs", "$ref", "title", "description", "default", "examples", "format", "type",
             "properties", "additionalProperties", "required", "items", "anyOf", "enum", "pattern",
             "minLength", "minItems", "minimum", "maximum", "exclusiveMinimum"}
    assert set(schema) <= known, set(schema) - known
    if "$ref" in schema:
        errors = schema_errors(value, root["$defs"][schema["$ref"].rsplit("/", 1)[1]], root, where)
        if errors:
            return errors
    if "anyOf" in schema:
        outcomes = [schema_errors(value, option, root, where) for option in schema["anyOf"]]
        if all(outcomes):
            # Report the one option of the value's own type, as an editor does; else say none fits.
            near = [errors for errors in outcomes if not (len(errors) == 1 and " is not of type " in errors[0])]
            if not near:
                return [f"{where}: {value!r} is not of type of any option"]
            return near[0] if len(near) == 1 else [f"{where}: matches none of anyOf"]
    kinds = schema.get("type")
    if kinds is not None:
        kinds = [kinds] if isinstance(kinds, str) else kinds
        checks = {"string": lambda v: isinstance(v, str), "integer": lambda v: type(v) is int,
                  "number": lambda v: type(v) in (int, float), "boolean": lambda v: type(v) is bool,
                  "null": lambda v: v is None, "array": lambda v: isinstance(v, list),
                  "object": lambda v: isinstance(v, dict)}
        if not any(checks[kind](value) for kind in kinds):
            return [f"{where}: {value!r} is not of type {kinds}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{where}: {value!r} is not one of {schema['enum']}"]
    errors: list[str] = []
    if isinstance(value, str):
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append(f"{where}: {value!r} does not match {schema['pattern']!r}")
        if len(value) < schema.get("minLength", 0):
            errors.append(f"{where}: too short")
    if type(value) in (int, float):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{where}: below the minimum")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{where}: above the maximum")
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            errors.append(f"{where}: not above the minimum")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            errors.append(f"{where}: too few items")
        for index, item in enumerate(value):
            errors += schema_errors(item, schema.get("items", {}), root, f"{where}[{index}]")
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        for key, item in value.items():
            if key in properties:
                errors += schema_errors(item, properties[key], root, f"{where}.{key}")
            elif schema.get("additionalProperties") is False:
                errors.append(f"{where}: unknown key {key!r}")
        errors += [f"{where}: missing {key!r}" for key in schema.get("required", []) if key not in value]
    return errors
