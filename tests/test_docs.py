"""The docs tell the truth: README commands, CLI reference, config reference, example config."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

from bot.cli import build_parser
from bot.config import Config, load_config

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    command = next(line for line in ci.splitlines() if "pytest" in line and not line.startswith("#"))
    assert command.strip() in README


def test_readme_starts_with_the_two_setup_commands():
    blocks = re.findall(r"```sh\n(.*?)```", README, re.S)
    assert "intelbot run" in blocks[0] and "pytest" in blocks[1]
    assert README.index(blocks[1]) < README.index("## Your own configuration")


def test_readme_lists_every_cli_command():
    subcommands = next(a for a in build_parser()._actions if a.dest == "command").choices
    for name in subcommands:
        assert f"`intelbot {name}" in README, f"README does not document `intelbot {name}`"


def _keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    keys = []
    for name, info in model.model_fields.items():
        annotation = info.annotation
        args = getattr(annotation, "__args__", ())
        inner = next((a for a in (annotation, *args) if isinstance(a, type) and issubclass(a, BaseModel)), None)
        is_list = getattr(annotation, "__origin__", None) in (list, tuple)
        path = f"{prefix}{name}{'[]' if is_list and inner is not None else ''}"
        if inner is not None:
            keys += _keys(inner, path + ".")
        else:
            keys.append(path)
    return keys


def test_readme_documents_every_config_key():
    for key in _keys(Config):
        if key == "path":  # where the config came from, not a key people write
            continue
        assert f"`{key}`" in README, f"README's configuration reference lacks `{key}`"


def test_example_config_loads_and_is_useful():
    config = load_config(ROOT / "config.example.yaml")
    assert len(config.sources) >= 5
    assert len(config.companies) >= 25
    aliases = {alias for company in config.companies for alias in company.alias_names}
    assert {"小米", "阿里巴巴", "腾讯"} <= aliases
    assert config.watchlists
