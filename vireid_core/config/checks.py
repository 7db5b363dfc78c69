"""Checks and conversions of config values: ``--set`` text to typed values, types, choices, ranges.

Used by the config sections (each section's ``check`` method states its own rules with the helpers here)
and by :func:`validate`, which checks every leaf's type first and then asks the run config to check its
sections. The choices of ``global_clustering.method`` and the k1/k2 rule come from the association room
(its registry and :mod:`vireid_core.association.feasibility`), so they are stated once. Every failure is
a :class:`~vireid_core.errors.UserError` naming the dotted config key and what it expects.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import fields, is_dataclass
from typing import Any

from vireid_core.errors import UserError


def flatten(data: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """``[(dotted key, value)]`` of every leaf of a nested dict (sections become ``a.b`` prefixes)."""
    items: list[tuple[str, Any]] = []
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            items.extend(flatten(value, name + "."))
        else:
            items.append((name, value))
    return items


def unflatten(items: list[tuple[str, Any]]) -> dict[str, Any]:
    """The nested dict whose :func:`flatten` is ``items`` (``a.b`` keys become sections)."""
    nested: dict[str, Any] = {}
    for key, value in items:
        *sections, name = key.split(".")
        target = nested
        for section in sections:
            target = target.setdefault(section, {})
        target[name] = value
    return nested


def parse_text(text: str, current: Any, annotation: str) -> Any:
    """Turn ``text`` from ``--set key=value`` into the type of the field (its current value, or its
    ``annotation`` when the current value is None); fields annotated ``... | None`` accept ``none``, and a
    text field that cannot be None takes ``none`` as its text (``global_clustering.method=none``)."""
    if current is None:
        current = 0.0 if "float" in annotation else 0 if "int" in annotation else ""
    if text.lower() in ("none", "null") and not (isinstance(current, str) and "None" not in annotation):
        if "None" in annotation:
            return None
        raise UserError(f"expected {_kind(current)}, got {text!r} (this key cannot be none)")
    if isinstance(current, bool):
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off"):
            return False
        raise UserError(f"expected true/false, got {text!r}")
    try:
        if isinstance(current, int):
            return int(text)
        if isinstance(current, float):
            return float(text)
    except ValueError:
        raise UserError(f"expected {_kind(current)}, got {text!r}") from None
    return text


def _kind(value: Any) -> str:
    """How a value of ``value``'s type is described in messages."""
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    return "text"


def annotation_of(target: Any, name: str) -> str:
    """The type annotation of dataclass field ``name`` of ``target``, as text (e.g. ``"str | None"``)."""
    return str(next(f.type for f in fields(target) if f.name == name))


_CHOICES = {
    "precision": ("auto", "fp32", "bf16"),
    "model.arch": ("agw_resnet50", "resnet18_small", "effnet_lite0"),
    "schedule.stage2_init": ("last", "best"),
    "schedule.checkpoint_selection": ("last", "best"),
    "pretrain.modalities": ("both", "visible"),
}


def allow_choice(key: str, value: str) -> None:
    """Accept ``value`` for the choice-valued config ``key`` from now on.

    The model registry calls this when an architecture is registered, so ``--set model.arch=<name>``
    accepts every registered architecture (the built-in names are listed above, so validation does not
    depend on whether :mod:`vireid_core.model` has been imported yet).

    Raises:
        ValueError: ``key`` is not a choice-valued key.
    """
    if key not in _CHOICES:
        raise ValueError(f"{key!r} is not a choice-valued config key")
    if value not in _CHOICES[key]:
        _CHOICES[key] = (*_CHOICES[key], value)


# ---------------------------------------------------------------------- the rules sections state
def need_choice(key: str, value: Any, allowed: tuple[str, ...] | None = None) -> None:
    """``value`` is one of ``allowed`` (default: the registered choices of ``key``)."""
    allowed = _CHOICES[key] if allowed is None else allowed
    if value not in allowed:
        raise UserError(f"config key {key!r} must be one of {allowed}, got {value!r}")


def need_int(key: str, value: Any, minimum: int) -> None:
    """``value`` is an integer >= ``minimum`` (1: "a positive integer", 0: "a non-negative integer")."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        what = {0: "a non-negative integer", 1: "a positive integer"}.get(minimum, f"an integer >= {minimum}")
        raise UserError(f"config key {key!r} must be {what}, got {value!r}")


def need_positive(key: str, value: float) -> None:
    """``value`` > 0."""
    if not float(value) > 0.0:
        raise UserError(f"config key {key!r} must be positive, got {value!r}")


def need_non_negative(key: str, value: float) -> None:
    """``value`` >= 0."""
    if not float(value) >= 0.0:
        raise UserError(f"config key {key!r} must be >= 0, got {value!r}")


def need_fraction(key: str, value: float, *, zero: bool = True, one: bool = True) -> None:
    """``value`` lies in [0, 1]; ``zero``/``one`` False exclude that end (message names the interval)."""
    low_ok = float(value) >= 0.0 if zero else float(value) > 0.0
    high_ok = float(value) <= 1.0 if one else float(value) < 1.0
    if not (low_ok and high_ok):
        interval = f"{'[' if zero else '('}0, 1{']' if one else ')'}"
        raise UserError(f"config key {key!r} must lie in {interval}, got {value!r}")


# ---------------------------------------------------------------------- types, then the sections' own rules
def _annotations(cls: Any, prefix: str = "") -> dict[str, str]:
    """Dotted key → type annotation text of every leaf field of a config dataclass."""
    found: dict[str, str] = {}
    for f in fields(cls):
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        if is_dataclass(default):
            found.update(_annotations(type(default), f"{prefix}{f.name}."))
        else:
            found[f"{prefix}{f.name}"] = str(f.type)
    return found


def _check_types(flat: dict[str, Any], cls: Any) -> None:
    """Every value has its field's type (numbers finite); raise ``UserError`` naming the key."""
    for key, annotation in _annotations(cls).items():
        value = flat[key]
        if value is None:
            if "None" in annotation:
                continue
            raise UserError(f"config key {key!r} must not be none; expected {annotation}")
        kind = annotation.split("|")[0].strip()
        if kind == "bool":
            ok, what = isinstance(value, bool), "true or false"
        elif kind == "int":
            ok, what = isinstance(value, int) and not isinstance(value, bool), "an integer"
        elif kind == "float":
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
            what = "a finite number"
        else:
            ok, what = isinstance(value, str), "text"
        if not ok:
            raise UserError(f"config key {key!r} must be {what}, got {value!r}")


def validate(config: Any) -> Any:
    """Check a run config: every leaf's type, then each section's rules (``config.check()``, which names
    the offending dotted key); raise ``UserError`` (a ``ValueError``). Returns ``config``."""
    _check_types(dict(flatten(config.to_dict())), type(config))
    config.check()
    return config
