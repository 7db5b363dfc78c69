"""Which (k1, k2) the k-reciprocal distances can use: the rule in one place.

Read by the config validation (the ``check`` of the ``intra_clustering`` and ``global_clustering``
sections, :mod:`vireid_core.config.sections`), by the distances themselves and by the epoch's association
(:func:`vireid_core.learning.pseudo_labels.associate`). Where the rule comes from:

* The initial ranking of a row holds the row itself and k1 - 1 neighbours (the official code's
  ranking of k1 columns), so with k1 = 1 every k-reciprocal set is the row alone, every distance to
  another row is 1 and DBSCAN clusters nothing: **k1 >= 2**.
* The modality-aware Jaccard (MAJ) takes k1 // 2 neighbours from each modality; k1 >= 2 keeps that
  at least one.
* The query expansion averages a row's k2 first neighbours: **1 <= k2 <= k1** for the plain
  distance, and **1 <= k2 <= k1 // 2** for MAJ, whose per-modality lists hold k1 // 2 entries
  (k2 = 1 switches the expansion off).
* On data: the plain distance needs k1 <= N; MAJ needs each modality to hold at least k1 // 2
  samples. :func:`feasible_k` lowers k1/k2 to what a set of samples allows, as every epoch does.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vireid_core.errors import UserError

K1_RULE = (
    "k1 must be an integer >= 2 (the ranking holds the sample itself and k1 - 1 neighbours; "
    "with k1 = 1 no sample has a neighbour and nothing is clustered)"
)
K2_RULE = "k2 must be an integer >= 1 (1 switches the query expansion off)"


def _is_whole(value: object) -> bool:
    """True for ints and integral numbers (numpy included), False for bools and everything else."""
    return (
        isinstance(value, (int, float, np.integer, np.floating))
        and not isinstance(value, bool)
        and float(value).is_integer()
    )


def k_rule_violation(k1: int, k2: int, *, per_modality: bool) -> tuple[str, str] | None:
    """The first rule that (k1, k2) break, independent of any data.

    Args:
        k1: reciprocal neighbourhood size.
        k2: query-expansion size.
        per_modality: True for the modality-aware Jaccard (k1 // 2 neighbours per modality).

    Returns:
        ("k1" or "k2", the rule in words), or None when the pair can be used.
    """
    if not _is_whole(k1) or k1 < 2:
        return "k1", K1_RULE
    if not _is_whole(k2) or k2 < 1:
        return "k2", K2_RULE
    if per_modality and k2 > k1 // 2:
        return "k2", (
            f"k2 must not exceed k1 // 2 = {k1 // 2} for the modality-aware Jaccard (the "
            "query expansion averages the k2 nearest of each modality's k1 // 2)"
        )
    if not per_modality and k2 > k1:
        return "k2", f"k2 must not exceed k1 = {k1} (the query expansion averages the first k2 of the ranking)"
    return None


def check_k_pair(k1: int, k2: int, *, per_modality: bool, names: tuple[str, str] = ("k1", "k2")) -> None:
    """Raise when (k1, k2) break the rule (see the module docstring).

    Args:
        k1: reciprocal neighbourhood size.
        k2: query-expansion size.
        per_modality: True for the modality-aware Jaccard.
        names: how k1 and k2 are named in the message (e.g. config keys).

    Raises:
        UserError: naming the parameter, its value and the rule it breaks.
    """
    broken = k_rule_violation(k1, k2, per_modality=per_modality)
    if broken is not None:
        which, rule = broken
        name, value = (names[0], k1) if which == "k1" else (names[1], k2)
        raise UserError(f"{name}={value!r} is not usable: {rule}")


def check_k1(k1: int, name: str = "k1") -> None:
    """Raise :class:`UserError` unless ``k1`` is an integer >= 2 (the k1 half of the rule)."""
    if not _is_whole(k1) or k1 < 2:
        raise UserError(f"{name}={k1!r} is not usable: {K1_RULE}")


def check_k_values(k1: int, k2: int, n: int, *, per_modality: dict[int, int] | None = None) -> None:
    """Check (k1, k2) against the rule and against the samples they will be used on.

    Args:
        k1: reciprocal neighbourhood size.
        k2: query-expansion size.
        n: number of samples N.
        per_modality: for the modality-aware Jaccard, modality value -> number of samples; None for
            the plain distance.

    Raises:
        UserError: (a ValueError) if the rule is broken, k1 > N (plain) or a modality holds fewer
            than k1 // 2 samples (modality-aware).
    """
    check_k_pair(k1, k2, per_modality=per_modality is not None)
    if per_modality is None:
        if k1 > n:
            raise UserError(f"k1={k1} is larger than the number of samples N={n}; use k1 <= N")
        return
    half = k1 // 2
    for value, count in sorted(per_modality.items()):
        if count < half:
            name = "visible" if value == 0 else "infrared"
            raise UserError(
                f"the modality-aware Jaccard takes k1//2 = {half} neighbours from each modality, but the "
                f"{name} modality (value {value}) has only {count} samples; lower k1 to at most "
                f"{2 * count + 1} or use jaccard_distance on one modality"
            )


def feasible_k(k1: int, k2: int, counts: Sequence[int], *, per_modality: bool) -> tuple[int, int] | None:
    """(k1, k2) lowered to what a set of samples allows, or None when nothing can be clustered.

    Args:
        k1: the configured reciprocal neighbourhood size (already checked by :func:`check_k_pair`).
        k2: the configured query-expansion size.
        counts: samples per modality in the set (one entry for a single-modality set).
        per_modality: True for the modality-aware Jaccard.

    Returns:
        The plain distance: k1 capped at N and k2 at k1. The modality-aware one: k1 capped at N and
        at twice the smaller modality, k2 at k1 // 2. None if the capped k1 is below 2 (too few
        samples: every row is an outlier).
    """
    k1 = min(k1, sum(counts))
    if per_modality:
        k1 = min(k1, 2 * min(counts))
    if k1 < 2:
        return None
    return k1, min(k2, k1 // 2 if per_modality else k1)
