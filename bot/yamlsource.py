"""Read YAML into plain data and remember the line and column of every key and value.

Config validation works on plain dicts and lists; its messages need to say where in the file
each problem is. `load_yaml` parses with ruamel's round-trip loader (which keeps positions)
and turns syntax errors into `ConfigError`s with a position; `YamlDocument` walks the tree
once, producing the plain data and two maps from key paths to positions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.scalarbool import ScalarBoolean

from bot.errors import ConfigError, ConfigProblem

Loc = tuple[str | int, ...]  # a key path: ("watchlists", 0, "companies", 1)
Position = tuple[int, int]  # 1-based line and column
# Decides whether an entry must be left out of the data (a secret): the message to report, or None.
Withhold = Callable[[Loc, Any], "str | None"]


def path_text(loc: Loc) -> str:
    """A key path as people write it: `watchlists[0].companies[1]`."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def describe_value(value: Any) -> str:
    """A short description of a value for messages: 'abc', 5, true, a list, nothing."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    if not isinstance(value, str):
        return str(value)
    text = repr(value)
    return text if len(text) <= 60 else text[:56] + "...'"


def _lc(getter: Callable[[Any], Any], arg: Any) -> Position | None:
    try:
        line, column = getter(arg)
    except (KeyError, IndexError, TypeError, AttributeError):  # e.g. keys merged in with <<
        return None
    return (line + 1, column + 1)


def _start(node: Any) -> Position | None:
    if isinstance(node, (CommentedMap, CommentedSeq)) and node.lc.line is not None:
        return (node.lc.line + 1, node.lc.col + 1)
    return None


def plain_scalar(node: Any) -> Any:
    """Drop ruamel's round-trip subclasses so pydantic's strict types see plain values."""
    if isinstance(node, (bool, ScalarBoolean)):
        return bool(node)
    for plain in (int, float, str):
        if isinstance(node, plain):
            return plain(node)
    return node


class YamlDocument:
    """Plain data read from the YAML tree, with where each key and value is written.

    Entries for which `withhold(loc, value)` returns a message are left out of `data` (so no
    later message can echo them) and listed in `withheld` with that message.
    """

    def __init__(self, root: CommentedMap, withhold: Withhold = lambda loc, value: None):
        self.values: dict[Loc, Position] = {}
        self.keys: dict[Loc, Position] = {}
        self.withheld: list[tuple[Loc, str]] = []
        self._withhold = withhold
        self.data = self._plain(root, (), _start(root) or (1, 1))

    def _plain(self, node: Any, loc: Loc, position: Position) -> Any:
        self.values[loc] = position
        if isinstance(node, CommentedMap):
            result = {}
            for key, value in node.items():
                child = (*loc, str(key))
                key_position = _lc(node.lc.key, key) or position
                self.keys[child] = key_position
                if self._withheld_entry(child, value):
                    continue
                # An empty value has no position of its own: ruamel points past it.
                at = _start(value) or (key_position if value is None else _lc(node.lc.value, key))
                result[child[-1]] = self._plain(value, child, at or key_position)
            return result
        if isinstance(node, CommentedSeq):
            items = []
            for index, item in enumerate(node):
                child = (*loc, index)
                at = _start(item) or _lc(node.lc.item, index) or position
                if self._withheld_entry(child, item):
                    self.values[child] = at
                    continue
                items.append(self._plain(item, child, at))
            return items
        return plain_scalar(node)

    def _withheld_entry(self, loc: Loc, value: Any) -> bool:
        message = self._withhold(loc, value)
        if message is not None:
            self.withheld.append((loc, message))
        return message is not None

    def value_position(self, loc: Loc) -> Position:
        """Where the value at `loc` is written, or its deepest enclosing part that the file has."""
        for end in range(len(loc), -1, -1):
            if loc[:end] in self.values:
                return self.values[loc[:end]]
        return (1, 1)

    def key_position(self, loc: Loc) -> Position:
        """Where the key of `loc` is written (for unknown keys), else its value's position."""
        return self.keys.get(loc) or self.value_position(loc)

    def describe(self, loc: Loc) -> str:
        return f"{path_text(loc)}, line {self.value_position(loc)[0]}"


def load_yaml(text: str, filename: str) -> CommentedMap:
    """Parse YAML text whose top level must be a mapping; raise ConfigError with a position."""

    def problem(message: str, line: int | None = None, column: int | None = None) -> ConfigError:
        return ConfigError([ConfigProblem(filename, line, column, "", message)])

    try:
        root = YAML(typ="rt").load(text)
    except DuplicateKeyError as error:
        found = re.search(r'duplicate key "(.*?)" with value', str(error.problem))
        key = found.group(1) if found else "?"
        mark = error.problem_mark
        raise problem(f"duplicate key {key!r}: a key may appear only once in the same mapping",
                      mark.line + 1, mark.column + 1) from None
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        message = f"invalid YAML: {error.problem or error.context}"
        if error.problem and error.context and error.context_mark:
            message += f" ({error.context} at line {error.context_mark.line + 1})"
        if "'\\t'" in message:
            message += " (indent with spaces, not tabs)"
        if mark is None:
            raise problem(message) from None
        raise problem(message, mark.line + 1, mark.column + 1) from None
    except YAMLError as error:
        raise problem(f"invalid YAML: {error}") from None
    if root is None:
        raise problem("the file is empty: start from config.example.yaml")
    if not isinstance(root, CommentedMap):
        line, column = _start(root) or (1, 1)
        raise problem(f"the top level must be a mapping (storage:, sources:, companies:, ...), "
                      f"got {describe_value(plain_scalar(root))}", line, column)
    return root
