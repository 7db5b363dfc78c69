"""Checks of the teaching notebooks' parameters: papermill (or a student) may pass any value.

Each function returns the value to use and raises :class:`~vireid_core.errors.UserError` naming the
parameter and what it expects, instead of a ``TypeError``/``IndexError`` deep inside numpy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vireid_core.association.feasibility import check_k1, feasible_k
from vireid_core.config import GlobalClusteringConfig
from vireid_core.errors import UserError


def whole_number(name: str, value: Any, minimum: int = 0) -> int:
    """``value`` as an int >= ``minimum``; refuses text, floats with a fraction, booleans and None."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, np.integer, float))
        or (isinstance(value, float) and not value.is_integer())
    ):
        raise UserError(f"parameter {name}={value!r}: expected a whole number >= {minimum}")
    if int(value) < minimum:
        raise UserError(f"parameter {name}={value!r}: expected a whole number >= {minimum}")
    return int(value)


def neighbour_settings(
    modality: Any, k1: Any, k2: Any, eps: Any, defaults: GlobalClusteringConfig
) -> tuple[int, int, float]:
    """The ``(k1, k2, eps)`` a notebook analyses with the modality-aware Jaccard.

    Args:
        modality: modality value (0 visible, 1 infrared) of every analysed sample.
        k1, k2, eps: the notebook's parameters; 0 means the preset's global value.
        defaults: the preset's ``global_clustering`` section (its ``k1``, ``k2`` and ``eps``).

    Returns:
        ``(k1, k2, eps)`` with k1 and k2 lowered to what the subset allows, as every training epoch
        lowers them (:func:`vireid_core.association.feasibility.feasible_k`: k1 at most twice the
        smaller modality's size, k2 at most k1 // 2).

    Raises:
        UserError: naming the parameter when it is not a usable value, or when the subset lacks one of
            the two modalities.
    """
    mods = np.asarray(modality)
    k1 = whole_number("k1", k1) or defaults.k1
    k2 = whole_number("k2", k2) or defaults.k2
    check_k1(k1, "parameter k1")
    if isinstance(eps, bool) or not isinstance(eps, (int, float, np.floating)) or not 0.0 <= float(eps) <= 1.0:
        raise UserError(f"parameter eps={eps!r}: expected a number in [0, 1] (0 = the preset's global_clustering.eps)")
    eps = float(eps) or defaults.eps
    counts = [int(np.sum(mods == 0)), int(np.sum(mods == 1))]
    feasible = feasible_k(k1, k2, counts, per_modality=True)
    if feasible is None:
        raise UserError(
            f"the analysed subset holds {counts[0]} visible and {counts[1]} infrared images; the "
            "modality-aware Jaccard needs images of both modalities"
        )
    return feasible[0], feasible[1], eps


def infrared_query(modality: Any, query_rank: Any) -> int:
    """The row of the ``query_rank``-th infrared sample (0-based); refuses a rank beyond their number."""
    rows = np.flatnonzero(np.asarray(modality) == 1)
    rank = whole_number("query_rank", query_rank)
    if rank >= len(rows):
        raise UserError(
            f"parameter query_rank={query_rank!r}: the analysed subset has {len(rows)} infrared "
            f"images; expected 0..{len(rows) - 1}"
        )
    return int(rows[rank])
