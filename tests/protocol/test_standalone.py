"""The protocol package stands alone: the jkbms-ble library is built from these very files.

Runs against the integration's copy here, and against the installed ``jkbms_ble``
in scripts/test-library's clean venv (the imports are rewritten there).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from custom_components.jk_bms.protocol import framing

PACKAGE = Path(framing.__file__).parent
# The link session talks through bleak (the library's extra "ble").
ALLOWED_THIRD_PARTY = {"bleak", "bleak_retry_connector"}


def _imports(path: Path) -> list[tuple[int, str]]:
    """(level, module) of every import in ``path``."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            found.append((node.level, node.module or ""))
        elif isinstance(node, ast.Import):
            found.extend((0, alias.name) for alias in node.names)
    return found


def test_only_relative_imports_the_standard_library_and_bleak() -> None:
    """No Home Assistant, no integration module, no absolute self-import."""
    modules = sorted(PACKAGE.rglob("*.py"))
    assert len(modules) > 10
    for path in modules:
        for level, module in _imports(path):
            if level > 0:
                continue
            top = module.split(".")[0]
            assert top in sys.stdlib_module_names or top in ALLOWED_THIRD_PARTY, (
                f"{path.name} imports {module}"
            )


def test_decoding_needs_no_bleak() -> None:
    """The package itself (decode, encode, CLI) imports nothing from bleak."""
    for name in (
        "__init__.py",
        "cli.py",
        "__main__.py",
        "decoding.py",
        "building.py",
        "plan.py",
    ):
        tops = {
            module.split(".")[0]
            for level, module in _imports(PACKAGE / name)
            if not level
        }
        assert not tops & ALLOWED_THIRD_PARTY, name
