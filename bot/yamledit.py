"""Round-trip editing of the config file: change a few entries, keep everything else as written.

`Document` is the file parsed with ruamel.yaml's round trip; its helpers move the comments
ruamel hangs on neighbouring entries, so headings and notes stay where people put them, and
new entries are written the way the file writes its others. `replace_file` swaps the file
atomically (a temporary file in the same folder, fsynced, renamed over it, the folder fsynced).
Used by `bot.admin` for edits from chat.
"""

from __future__ import annotations

import difflib
import io
import os
import re
import stat
import tempfile
import unicodedata
from collections import Counter
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString
from ruamel.yaml.tokens import CommentToken

from bot import messages
from bot.config import CompanyConfig, Config, WatchlistConfig
from bot.errors import CommandError

_KEY_ONLY = re.compile(r"""^[^#'"\s-][^#'"]*:\s*(?:#.*)?$""")  # `companies:` with its value below


def name_key(name: str) -> str:
    """A name as intelbot compares names: without regard to case or Unicode form."""
    return unicodedata.normalize("NFKC", name).strip().casefold()


@dataclass
class Document:
    """The config file's YAML tree, to edit in place, and the same file validated.

    The i-th entry of `root["companies"]` is `config.companies[i]`, and so on for sources and
    watchlists: the validated config says what names mean, the tree is what gets written.
    """

    root: CommentedMap
    config: Config
    text: str  # the file as it was read, for `kept_comments`
    flow_aliases: bool = True  # write new `aliases:` lists as `[a, b]`, like the file does
    dropped: Counter[str] = field(default_factory=Counter)  # comment lines inside removed entries

    def company(self, name: str) -> CompanyConfig:
        company = self.config.company(name)
        if company is None:
            names = [c.name for c in self.config.companies]
            raise CommandError(messages.unknown_company(name, _close(name, names)))
        return company

    def watchlist(self, name: str) -> tuple[int, WatchlistConfig]:
        for index, watchlist in enumerate(self.config.watchlists):
            if name_key(watchlist.name) == name_key(name):
                return index, watchlist
        raise CommandError(messages.unknown_watchlist(name, [w.name for w in self.config.watchlists]))

    def items(self, key: str) -> CommentedSeq:
        """The block list under top-level `key`, made (in schema order) if missing or empty."""
        value = self.root.get(key)
        if isinstance(value, CommentedSeq) and (value or not value.fa.flow_style()):
            return value
        items = CommentedSeq()
        items.fa.set_block_style()
        if key in self.root:
            self.root[key] = items
        else:
            later = list(Config.model_fields)[list(Config.model_fields).index(key) + 1:]
            position = next((i for i, k in enumerate(self.root) if k in later), len(self.root))
            self.root.insert(position, key, items)
        return items

    def names(self, names: Sequence[str]) -> CommentedSeq:
        """A new list of names for an `aliases:` key, in the file's style."""
        items = CommentedSeq(names)
        if self.flow_aliases:
            items.fa.set_flow_style()
        return items

    # ruamel hangs the comment lines after an entry (often the heading of the next section) on
    # the entry's last value: appending after it, or removing it, would move or drop them.

    def append(self, items: CommentedSeq, item: object) -> None:
        """Append to a list, keeping the comments after its last entry after the new one."""
        if items.fa.flow_style():
            _shift_end_of_line_comment(items, _width(item) + (2 if items else 0))  # ", item"
            items.append(item)
            return
        following = _take_following(items, len(items) - 1) if items else ""
        items.append(item)
        _give_following(items, len(items) - 1, following)

    def delete(self, items: CommentedSeq, index: int, key: str | None = None) -> None:
        """Remove an entry of a list; the comments around it stay where they were. `key`: the
        list is `root[key]` (if it becomes empty, they go before the next top-level key)."""
        if items.fa.flow_style():
            _shift_end_of_line_comment(items, -_width(items[index]) - (2 if len(items) > 1 else 0))
            del items[index]
            return
        self.dropped.update(self._comments_inside(items, index))
        between = _pre_comment(items, index) + _take_following(items, index)
        del items[index]
        if not between:
            return
        if index < len(items):
            _set_pre_comment(items, index, between + _pre_comment(items, index))
        elif index > 0:
            _give_following(items, index - 1, between)
        elif key is not None and list(self.root).index(key) + 1 < len(self.root):
            following = list(self.root)[list(self.root).index(key) + 1]
            comments = self.root.ca.items.setdefault(following, [None, None, None, None])
            comments[1] = _comment_tokens(between) + (comments[1] or [])

    def _comments_inside(self, items: CommentedSeq, index: int) -> list[str]:
        """The comment lines written inside entry `index` (indented at least as far as its keys)."""
        entry = items[index]
        if not isinstance(entry, (CommentedMap, CommentedSeq)) or entry.lc.line is None:
            return []
        inside = []
        for line in self.text.splitlines()[entry.lc.line + 1:]:
            stripped, column = line.strip(), len(line) - len(line.lstrip(" "))
            if stripped and column < entry.lc.col and not stripped.startswith("#"):
                break  # the next entry, or whatever follows the list
            if stripped.startswith("#") and column >= entry.lc.col:
                inside.append(stripped)
        return inside

    def kept_comments(self, new_text: str) -> bool:
        """Whether `new_text` has every comment line of the file but those of removed entries."""
        before, after = _comment_lines(self.text), _comment_lines(new_text)
        return not (after - before) and not ((before - after) - self.dropped)


def _close(name: str, names: Sequence[str]) -> str | None:
    keys = {name_key(n): n for n in names}
    close = difflib.get_close_matches(name_key(name), list(keys), n=1, cutoff=0.6)
    return keys[close[0]] if close else None


def _comment_lines(text: str) -> Counter[str]:
    return Counter(line.strip() for line in text.splitlines() if line.lstrip().startswith("#"))


def _width(item: object) -> int:
    """How many columns a name takes in a one-line flow list (`[a, "b c"]`)."""
    quoted = isinstance(item, (DoubleQuotedScalarString, SingleQuotedScalarString))
    return len(str(item)) + (2 if quoted else 0)


def _shift_end_of_line_comment(items: CommentedSeq, change: int) -> None:
    """Keep the gap before the comment after a flow list (`[a, b]   # why`) as the list grows or shrinks."""
    token = items.ca.comment[0] if items.ca.comment else None
    if token is not None and token.column is not None:
        token.column = max(0, token.column + change)


def _slot_after(items: CommentedSeq, index: int) -> tuple[CommentedMap | CommentedSeq, object, int]:
    """Where ruamel keeps the comment after entry `index`: the slot of its deepest last value."""
    container: CommentedMap | CommentedSeq = items
    key: object = index
    slot = 0  # a list keeps it in slot 0 of the item's comments, a mapping in slot 2 of the key's
    child = items[index]
    while isinstance(child, (CommentedMap, CommentedSeq)) and len(child) and not child.fa.flow_style():
        container = child
        key = list(child)[-1] if isinstance(child, CommentedMap) else len(child) - 1
        slot = 2 if isinstance(child, CommentedMap) else 0
        child = child[key]
    return container, key, slot


def _take_following(items: CommentedSeq, index: int) -> str:
    """Detach the lines after entry `index` that ruamel hung on it (its end-of-line comment stays)."""
    container, key, slot = _slot_after(items, index)
    comments = container.ca.items.get(key)
    token = comments[slot] if comments and len(comments) > slot else None
    if token is None:
        return ""
    end_of_line, _, following = token.value.partition("\n")
    if not following:
        return ""
    if end_of_line.strip():
        token.value = end_of_line + "\n"
    else:
        comments[slot] = None
    return following


def _give_following(items: CommentedSeq, index: int, following: str) -> None:
    if not following:
        return
    container, key, slot = _slot_after(items, index)
    comments = container.ca.items.setdefault(key, [None, None, None, None])
    if comments[slot] is None:
        comments[slot] = CommentToken("\n" + following, CommentMark(0), None)
    else:
        comments[slot].value += following


def _pre_comment(items: CommentedSeq, index: int) -> str:
    """The comment lines before entry `index` (ruamel keeps those of a list in slot 1)."""
    comments = items.ca.items.get(index)
    tokens = comments[1] if comments and len(comments) > 1 and comments[1] else []
    return "".join(" " * (token.column or 0) + token.value for token in tokens)


def _comment_tokens(text: str) -> list[CommentToken]:
    tokens = []
    for line in text.splitlines(keepends=True):
        body = line.lstrip(" ")
        tokens.append(CommentToken(body, CommentMark(len(line) - len(body)), None))
    return tokens


def _set_pre_comment(items: CommentedSeq, index: int, text: str) -> None:
    items.ca.items.setdefault(index, [None, None, None, None])[1] = _comment_tokens(text) or None


# ---------------------------------------------------------------- YAML text and the file


def indentation(text: str) -> tuple[int, int, int]:
    """(mapping, sequence, offset) as `YAML.indent` takes them, read from the file's first
    nested mapping and first block list; (2, 4, 2) for what the file does not show."""
    mapping = sequence = offset = None
    parent = None  # the indentation of the previous line if it was a key with its value below
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        column = len(line) - len(line.lstrip(" "))
        is_item = stripped == "-" or stripped.startswith("- ")
        if parent is not None and is_item and column >= parent and offset is None:
            offset = column - parent  # 0 when the dashes line up with their key
            sequence = offset + 1 + len(stripped[1:]) - len(stripped[1:].lstrip(" "))
        elif parent is not None and not is_item and column > parent and mapping is None:
            mapping = column - parent
        if mapping is not None and offset is not None:
            break
        parent = column if _KEY_ONLY.match(stripped) else None
    if sequence is not None and sequence < 2:
        sequence = 2
    return mapping or 2, sequence or 4, offset if offset is not None else 2


def round_trip(text: str) -> YAML:
    """A ruamel round-trip YAML that writes `text` back as it is: its quotes and indentation."""
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    mapping, sequence, offset = indentation(text)
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    yaml.width = 1 << 30  # never fold a long line that was not folded
    return yaml


def dump(yaml: YAML, root: CommentedMap) -> str:
    buffer = io.StringIO()
    yaml.dump(root, buffer)
    return buffer.getvalue()


def aliases_flow(root: CommentedMap) -> bool:
    """Whether the file writes `aliases:` lists in flow style, `[a, b]` (also when it has none)."""
    companies = root.get("companies")
    for company in companies if isinstance(companies, CommentedSeq) else ():
        aliases = company.get("aliases") if isinstance(company, CommentedMap) else None
        if isinstance(aliases, CommentedSeq):
            return bool(aliases.fa.flow_style())
    return True


def decode(raw: bytes, path: Path) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CommandError(messages.config_on_disk_invalid(f"{path}: not valid UTF-8 text")) from None


def encode(text: str, original: bytes) -> bytes:
    """`text` with the original file's byte order mark and line endings."""
    if b"\r\n" in original:
        text = text.replace("\r\n", "\n").replace("\n", "\r\n")
    data = text.encode("utf-8")
    return b"\xef\xbb\xbf" + data if original.startswith(b"\xef\xbb\xbf") else data


def lines_changed(before: str, after: str) -> int:
    """How many lines of `before` are not in `after`, as a line diff counts them."""
    matcher = difflib.SequenceMatcher(None, before.splitlines(), after.splitlines(), autojunk=False)
    return sum(i2 - i1 for tag, i1, i2, _, _ in matcher.get_opcodes() if tag != "equal")


def replace_file(path: Path, *, expected: bytes, data: bytes) -> None:
    """Replace the file at `path` with `data`, atomically, if it still holds `expected`.

    A temporary file in the same folder is written and fsynced, takes the file's permissions,
    and is renamed over it; then the folder is fsynced so the rename survives a crash. A
    symbolic link is followed: the file it points to is replaced, the link stays.
    """
    target = path.resolve()
    descriptor, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(descriptor, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, stat.S_IMODE(os.stat(target).st_mode))
        if target.read_bytes() != expected:  # changed by hand while this edit was made
            raise CommandError(messages.CHANGED_ON_DISK)
        os.replace(temporary, target)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    folder = os.open(target.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
