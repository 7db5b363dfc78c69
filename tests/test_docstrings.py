"""The docstring convention of vireid_core: Google-style sections (``Args:``, ``Returns:``, ``Raises:``,
``Attributes:``) or prose; no reST field lists (``:param x:``, ``:returns:``) and no numpy-style section
underlines (``----------``). Sphinx roles such as ``:func:`` and ``:class:`` are prose and allowed."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "vireid_core"
REST_FIELD = re.compile(r"^\s*:(param|parameter|arg|argument|key|keyword|type|returns?|rtype|raises?|yields?|ytype)\b")
UNDERLINE = re.compile(r"^\s*-{3,}\s*$")


def _docstrings(tree: ast.Module):
    """(line, text) of every string statement: module, class and function docstrings, attribute docstrings."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            yield node.lineno, node.value.value


def test_docstrings_are_google_style_or_prose():
    offences = []
    files = sorted(PACKAGE.rglob("*.py"))
    assert files
    for path in files:
        for line, text in _docstrings(ast.parse(path.read_text(encoding="utf-8"))):
            for row in text.splitlines():
                if REST_FIELD.match(row) or UNDERLINE.match(row):
                    offences.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {row.strip()}")
    assert not offences, "reST or numpy-style docstring lines:\n" + "\n".join(offences)
