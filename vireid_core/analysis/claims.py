"""Claims as checks: the comparative sentences of a teaching notebook, tested against its own numbers.

A notebook's prose may only say what its numbers show. A sentence with a number in it is *rendered* from
the numbers (:func:`render`: a ``str.format`` template such as ``"{plain_jaccard[ari]:.2f}"``); a
sentence that compares (below chance, rises, beats) is a :class:`Claim`: its text plus the condition on
the numbers that makes it true. :class:`ClaimLog` evaluates the claims where the notebook states them,
returns them as Markdown (a claim that does not hold is struck through and marked), and keeps the
records ``{"text", "condition", "holds"}`` that the notebook writes under ``claims`` in its
``figures/*_numbers.json``; the notebook tests assert that every one holds.

Conditions are short Python expressions over the keys of the notebook's numbers dict, e.g.
``knn_other_modality["after stage 1"]["visible"] < knn_chance["visible"] / 10``. They are *not* passed to
``eval``: :func:`evaluate_condition` walks the parsed expression itself and accepts only names of the
numbers dict, subscripts with constant keys, numbers, comparisons, ``and``/``or``/``not``, arithmetic (``+ - * / //``)
and the functions ``abs``, ``min``, ``max``, ``len``, ``sum`` and ``round``. Anything else (attributes,
other calls, comprehensions, lambdas) is refused with a :class:`ClaimError`.
"""

from __future__ import annotations

import ast
import operator
import string
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from vireid_core.errors import UserError

__all__ = ["Claim", "ClaimError", "ClaimLog", "claims_markdown", "evaluate_claims", "evaluate_condition", "render"]

_COMPARE: dict[type, Callable[[Any, Any], bool]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}
_ARITHMETIC: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
}
_UNARY: dict[type, Callable[[Any], Any]] = {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Not: operator.not_}
_FUNCTIONS: dict[str, Callable[..., Any]] = {"abs": abs, "min": min, "max": max, "len": len, "sum": sum, "round": round}


class ClaimError(UserError):
    """A claim whose condition cannot be evaluated: a key the numbers lack, a null value, or an
    expression outside the allowed forms. The message names the claim and the condition."""


@dataclass(frozen=True)
class Claim:
    """One comparative sentence and the condition on the numbers that makes it true.

    Args:
        text: the sentence; may hold ``str.format`` fields over the numbers (see :func:`render`),
            e.g. ``"ARI {clustering[plain Jaccard][ari]:.2f}"``, filled in when the claim is evaluated.
        condition: a restricted Python expression over the numbers' keys (see
            :func:`evaluate_condition`), or a callable taking the numbers dict and returning a bool.
        shown: how a callable condition is printed in the records and the Markdown (required for a
            callable; ignored for an expression, which is printed as written).
    """

    text: str
    condition: str | Callable[[Mapping[str, Any]], Any]
    shown: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.text, str) or not self.text.strip():
            raise ClaimError(f"a claim needs a non-empty text, got {self.text!r}")
        if callable(self.condition):
            if not self.shown:
                raise ClaimError(f"claim {self.text!r}: a callable condition needs its printed form (shown=...)")
        elif isinstance(self.condition, str):
            _parse(self.condition, self.text)  # refuse an unsafe or malformed expression at once
        else:
            raise ClaimError(
                f"claim {self.text!r}: the condition must be an expression string or a callable, "
                f"got {type(self.condition).__name__}"
            )

    @property
    def printed(self) -> str:
        """The condition as written in the records: the expression, or ``shown`` for a callable."""
        return self.shown if callable(self.condition) else " ".join(str(self.condition).split())


class _NoAttributes(string.Formatter):
    """``str.format`` restricted to indexing: ``{a[b]}`` works, ``{a.b}`` is refused; a list is
    formatted item by item and joined with ", " (``{sweep[ari]:.2f}`` -> ``0.10, 0.18, 0.26``)."""

    def format_field(self, value: Any, format_spec: str) -> str:
        if isinstance(value, (list, tuple)):
            return ", ".join(super(_NoAttributes, self).format_field(item, format_spec) for item in value)
        return super().format_field(value, format_spec)

    def get_field(self, field_name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        if "." in field_name.split("[", 1)[0] or "]." in field_name:
            raise ClaimError(f"field {{{field_name}}}: attribute access is not allowed, index with [key]")
        return super().get_field(field_name, args, kwargs)


def render(template: str, numbers: Mapping[str, Any]) -> str:
    """``template`` with its ``str.format`` fields filled from ``numbers``.

    Fields index the numbers dict: ``{knn_k}``, ``{plain_jaccard[ari]:.2f}``,
    ``{knn_other_modality[after stage 1][visible]:.1%}`` (keys inside brackets are written without
    quotes, as ``str.format`` reads them). A list is formatted item by item, joined with ", ".
    Attribute access (``{a.b}``) is refused.

    Returns:
        the filled-in text. Raises :class:`ClaimError` naming the field when a key is missing.
    """
    try:
        return _NoAttributes().vformat(template, (), numbers)
    except (KeyError, IndexError, TypeError, ValueError) as error:
        if isinstance(error, ClaimError):
            raise
        raise ClaimError(
            f"text {template!r}: cannot fill it from the numbers ({type(error).__name__}: {error}); "
            f"the numbers hold {_keys(numbers)}"
        ) from None


def _keys(mapping: Any) -> str:
    return ", ".join(map(str, mapping)) if isinstance(mapping, Mapping) else f"a {type(mapping).__name__}"


def _parse(condition: str, text: str) -> ast.Expression:
    try:
        tree = ast.parse(condition.strip(), mode="eval")
    except SyntaxError as error:
        raise ClaimError(f"claim {text!r}: condition {condition!r} is not an expression ({error.msg})") from None
    for node in ast.walk(tree):
        allowed = isinstance(
            node,
            (
                ast.Expression,
                ast.Compare,
                ast.BoolOp,
                ast.And,
                ast.Or,
                ast.UnaryOp,
                ast.BinOp,
                ast.Constant,
                ast.Name,
                ast.Subscript,
                ast.Load,
                ast.Tuple,
                ast.List,
                ast.Call,
                *_COMPARE,
                *_ARITHMETIC,
                *_UNARY,
            ),
        )
        if isinstance(node, ast.Call):
            allowed = isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS and not node.keywords
        if isinstance(node, ast.Constant):
            allowed = node.value is None or isinstance(node.value, (bool, int, float, str))
        if isinstance(node, ast.Subscript):
            allowed = not isinstance(node.slice, ast.Slice)
        if not allowed:
            raise ClaimError(
                f"claim {text!r}: condition {condition!r} uses {ast.unparse(node)!r} "
                f"({type(node).__name__}), which a claim may not: only the numbers' keys, "
                f"[key] lookups, numbers, comparisons, and/or/not, + - * / // and "
                f"{', '.join(_FUNCTIONS)}"
            )
    return tree


class _Evaluator:
    """Walks a parsed condition over the numbers; every failure becomes a ClaimError naming the claim."""

    def __init__(self, numbers: Mapping[str, Any], text: str, condition: str) -> None:
        self.numbers, self.text, self.condition = numbers, text, condition

    def fail(self, why: str) -> ClaimError:
        return ClaimError(f"claim {self.text!r}: condition {self.condition!r}: {why}")

    def value(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return self.value(node.body)
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            if node.id in _FUNCTIONS:
                raise self.fail(f"{node.id!r} is a function: call it")
            if node.id not in self.numbers:
                raise self.fail(f"the numbers hold no key {node.id!r} (they hold: {_keys(self.numbers)})")
            return self.numbers[node.id]
        if isinstance(node, ast.Subscript):
            container, key = self.value(node.value), self.value(node.slice)
            try:
                return container[key]
            except (KeyError, IndexError, TypeError):
                raise self.fail(
                    f"{ast.unparse(node.value)} has no key {key!r} (it holds: {_keys(container)})"
                ) from None
        if isinstance(node, (ast.Tuple, ast.List)):
            return [self.value(item) for item in node.elts]
        if isinstance(node, ast.BoolOp):
            values = (self.value(item) for item in node.values)
            return all(values) if isinstance(node.op, ast.And) else any(values)
        if isinstance(node, ast.UnaryOp):
            return self.apply(_UNARY[type(node.op)], [self.value(node.operand)], node)
        if isinstance(node, ast.BinOp):
            operands = [self.value(node.left), self.value(node.right)]
            if not all(isinstance(x, (int, float)) or x is None for x in operands):
                raise self.fail(f"{ast.unparse(node)!r}: arithmetic is for numbers only")
            return self.apply(_ARITHMETIC[type(node.op)], operands, node)
        if isinstance(node, ast.Compare):
            left = self.value(node.left)
            for op, item in zip(node.ops, node.comparators, strict=True):
                right = self.value(item)
                if not self.apply(_COMPARE[type(op)], [left, right], node):
                    return False
                left = right
            return True
        if isinstance(node, ast.Call):
            args = [self.value(item) for item in node.args]
            return self.apply(_FUNCTIONS[node.func.id], args, node)
        raise self.fail(f"cannot evaluate {ast.unparse(node)!r}")  # _parse already refused it

    def apply(self, function: Callable[..., Any], args: list[Any], node: ast.AST) -> Any:
        if any(arg is None for arg in args) and function not in (operator.eq, operator.ne):
            raise self.fail(f"{ast.unparse(node)!r} meets a null value (a number the notebook did not compute)")
        try:
            return function(*args)
        except (TypeError, ValueError, ZeroDivisionError) as error:
            raise self.fail(f"{ast.unparse(node)!r} fails: {error}") from None


def evaluate_condition(condition: str, numbers: Mapping[str, Any], text: str = "") -> bool:
    """Whether ``condition`` holds for ``numbers``.

    Args:
        condition: an expression over the numbers' top-level keys, e.g.
            ``clustering["modality-aware Jaccard"]["ari"] < clustering["plain Jaccard"]["ari"]``.
        numbers: the notebook's numbers dict.
        text: the claim's text, named in error messages.

    Returns:
        the truth value of the condition. Raises :class:`ClaimError` (naming the claim) for a missing
        key, a null operand or an expression outside the allowed forms.
    """
    return bool(_Evaluator(numbers, text, condition).value(_parse(condition, text)))


def _holds(claim: Claim, numbers: Mapping[str, Any]) -> bool:
    if not callable(claim.condition):
        return evaluate_condition(claim.condition, numbers, claim.text)
    try:
        return bool(claim.condition(numbers))
    except (KeyError, IndexError, TypeError) as error:
        raise ClaimError(
            f"claim {claim.text!r}: condition {claim.shown!r} fails on the numbers ({type(error).__name__}: {error})"
        ) from None


def evaluate_claims(claims: Iterable[Claim], numbers: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Evaluate each claim against ``numbers``.

    Returns:
        one record per claim, ``{"text": rendered text, "condition": printed condition, "holds": bool}``,
        in the order given. Raises :class:`ClaimError` naming the claim when a condition cannot be
        evaluated.
    """
    return [
        {"text": render(claim.text, numbers), "condition": claim.printed, "holds": _holds(claim, numbers)}
        for claim in claims
    ]


def _line(record: Mapping[str, Any]) -> str:
    if record["holds"]:
        return f"✓ {record['text']} <sub>(check: `{record['condition']}`)</sub>"
    return f"✗ **does not hold:** ~~{record['text']}~~ <sub>(check: `{record['condition']}`)</sub>"


def claims_markdown(records: Iterable[Mapping[str, Any]]) -> str:
    """Markdown for evaluated claims: one bullet each, ✓ when it holds; a claim that does not hold is
    struck through and marked **does not hold**. Each line ends with its condition.

    Returns:
        the Markdown text (for ``display(Markdown(...))``).
    """
    return "\n".join(f"- {_line(record)}" for record in records)


class ClaimLog:
    """The claims of one notebook, evaluated where the notebook states them.

    ``check`` and ``reading`` evaluate against the numbers dict given here as it is *at that moment*
    (the notebook fills it cell by cell) and return Markdown; :attr:`records` is the list the notebook
    stores as ``numbers["claims"]``. Checking a claim of the same text again replaces its record, so
    re-running a cell does not duplicate it.
    """

    def __init__(self, numbers: Mapping[str, Any]) -> None:
        self.numbers = numbers
        self._records: dict[str, dict[str, Any]] = {}

    @property
    def records(self) -> list[dict[str, Any]]:
        """``[{"text", "condition", "holds"}, ...]`` for every claim checked so far, in order."""
        return list(self._records.values())

    def summary(self) -> str:
        """One line: how many of the checked claims hold, and the text of each that does not."""
        failing = [r["text"] for r in self._records.values() if not r["holds"]]
        line = f"{len(self._records) - len(failing)} of {len(self._records)} claims hold"
        return line + "".join(f"\n  does not hold: {textwrap.shorten(text, 200)}" for text in failing)

    def _evaluate(self, claims: Iterable[Claim]) -> list[dict[str, Any]]:
        records = evaluate_claims(claims, self.numbers)
        for record in records:
            self._records.pop(record["text"], None)
            self._records[record["text"]] = record
        return records

    def check(self, claims: Iterable[Claim]) -> str:
        """Evaluate and record ``claims``.

        Returns:
            their Markdown (:func:`claims_markdown`).
        """
        return claims_markdown(self._evaluate(claims))

    def reading(
        self, shows: str | Claim | Sequence[str | Claim], not_shows: str | Claim | Sequence[str | Claim]
    ) -> str:
        """The two lines after a figure: what it shows and what it does not show.

        Each part is a sentence (a :func:`render` template, for statements without a comparison), a
        :class:`Claim` (evaluated and recorded), or a list of these joined into one line.

        Returns:
            Markdown: "**What this shows:** ..." and "**What it does not show:** ..." on two lines.
        """
        return f"**What this shows:** {self._part(shows)}  \n**What it does not show:** {self._part(not_shows)}"

    def _part(self, part: str | Claim | Sequence[str | Claim]) -> str:
        items = [part] if isinstance(part, (str, Claim)) else list(part)
        out = []
        for item in items:
            if isinstance(item, Claim):
                out.append(_line(self._evaluate([item])[0]))
            else:
                out.append(render(item, self.numbers))
        return " ".join(out)
