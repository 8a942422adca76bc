"""The core knows nothing of chat platforms (see DESIGN.md, "Two packages, one rule")."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

BOT = Path(__file__).resolve().parent.parent / "bot"
PLATFORM_PACKAGES = ("adapters", "slack_bolt", "slack_sdk", "discord")
COMPOSITION_ROOTS = {"cli.py", "__main__.py"}  # the only modules allowed to name both sides


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_core_modules_do_not_import_chat_platforms():
    offenders = []
    for path in sorted(BOT.rglob("*.py")):
        if path.name in COMPOSITION_ROOTS:
            continue
        for module in imported_modules(path):
            if module.split(".")[0] in PLATFORM_PACKAGES:
                offenders.append(f"{path.relative_to(BOT.parent)} imports {module}")
    assert offenders == []


def test_core_imports_without_loading_any_platform_library():
    modules = [f"bot.{p.stem}" for p in BOT.glob("*.py") if p.name not in COMPOSITION_ROOTS | {"__init__.py"}]
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in modules)
        + f"loaded = [m for m in sys.modules if m.split('.')[0] in {PLATFORM_PACKAGES!r}]\n"
        + "print(loaded); sys.exit(1 if loaded else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
