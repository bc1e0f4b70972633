"""The operations guide's troubleshooting table covers every error the pipeline raises:
a new `raise CxnError(...)` without a row in docs/operations.md fails this test."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUIDE = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")


def _error_classes() -> set[str]:
    """CxnError and every class of pipeline/ that derives from it, however deep."""
    bases: dict[str, set[str]] = {}
    for path in (ROOT / "pipeline").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                bases[node.name] = {b.id for b in node.bases if isinstance(b, ast.Name)}
    errors = {"CxnError"}
    while True:
        more = {name for name, parents in bases.items() if parents & errors} - errors
        if not more:
            return errors
        errors |= more


ERRORS = _error_classes()


def _fragments(node: ast.expr) -> list[str]:
    """The literal parts of a message (an f-string's text between its placeholders)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        return [v.value for v in node.values if isinstance(v, ast.Constant)]
    if isinstance(node, ast.BinOp):
        return _fragments(node.left) + _fragments(node.right)
    return []


def _raised_messages() -> list[tuple[str, str]]:
    found = []
    for path in sorted((ROOT / "pipeline").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
                continue
            func = node.exc.func
            if isinstance(func, ast.Name) and func.id in ERRORS and node.exc.args:
                parts = [p.strip(" :;,.()") for p in _fragments(node.exc.args[0])]
                key = max(parts, key=len, default="")
                if key:
                    found.append((f"{path.name}:{node.lineno}", key))
    return found


MESSAGES = _raised_messages()


def test_the_scan_finds_the_pipeline_errors():
    assert {"LoadError", "BuildError", "NotBuiltError", "SmtpConfigError"} <= ERRORS
    assert len(MESSAGES) >= 30


@pytest.mark.parametrize(("where", "fragment"), MESSAGES, ids=[w for w, _ in MESSAGES])
def test_every_error_message_is_in_the_troubleshooting_table(where, fragment):
    # The guide's rows quote the message's words; code marks and quotes may differ.
    words = _plain(fragment).split()
    assert " ".join(words[:4]) in " ".join(_plain(GUIDE).split()), f"{where}: {fragment!r}"


def _plain(text: str) -> str:
    return text.translate(str.maketrans("", "", "`'\""))
