"""Validation and conversion of the arrays the association functions receive.

Features may be numpy arrays or torch tensors (converted through ``.detach().cpu().numpy()``
without importing torch); the modality array holds 0 (visible) and 1 (infrared) in any order.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def as_feature_matrix(features: Any, *, name: str = "features") -> np.ndarray:
    """Return ``features`` as a C-contiguous float32 array of shape [N, D].

    Raises:
        ValueError: if the array is not two-dimensional, is empty or holds NaN/inf.
    """
    if hasattr(features, "detach") and hasattr(features, "cpu"):
        features = features.detach().cpu().numpy()
    array = np.ascontiguousarray(np.asarray(features), dtype=np.float32)
    if array.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array [N, D], got shape {array.shape}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"{name} must have at least one row and one column, got shape {array.shape}")
    if not np.isfinite(array).all():
        bad = int(np.count_nonzero(~np.isfinite(array).all(axis=1)))
        raise ValueError(f"{name} holds NaN or infinite values in {bad} row(s); expected finite features")
    return array


def as_modality_array(modality: Any, n: int) -> np.ndarray:
    """Return ``modality`` as an int64 array of shape [n] holding only 0 and 1.

    Raises:
        ValueError: on a wrong length or shape, or values other than 0 (visible) / 1 (infrared).
    """
    if hasattr(modality, "detach") and hasattr(modality, "cpu"):
        modality = modality.detach().cpu().numpy()
    array = np.asarray(modality)
    if array.ndim != 1 or array.shape[0] != n:
        raise ValueError(f"modality must be a 1-D array with one entry per feature row ({n}), "
                         f"got shape {array.shape}")
    if array.dtype.kind == "f" and not np.all(np.mod(array, 1) == 0):
        raise ValueError("modality must hold integers 0 (visible) or 1 (infrared), got non-integer values")
    values = np.unique(array)
    if not np.isin(values, (0, 1)).all():
        raise ValueError(f"modality must hold only 0 (visible) and 1 (infrared), got {values.tolist()}")
    return array.astype(np.int64)


def check_k_values(k1: int, k2: int, n: int, *, per_modality: dict[int, int] | None = None) -> None:
    """Check the k-reciprocal parameters against the sample counts.

    ``per_modality`` maps modality -> number of samples for the modality-aware distance, which takes
    ``k1 // 2`` neighbours from each modality (plus one for the query's own modality when the
    off-by-one is corrected).

    Raises:
        ValueError: if k1 < 2, k2 < 1, k1 > N, k2 > the ranking length, or a modality is too small.
    """
    if int(k1) != k1 or k1 < 2:
        raise ValueError(f"k1 must be an integer >= 2, got {k1!r}")
    if int(k2) != k2 or k2 < 1:
        raise ValueError(f"k2 must be an integer >= 1, got {k2!r}")
    if per_modality is None:
        if k1 > n:
            raise ValueError(f"k1={k1} is larger than the number of samples N={n}; use k1 <= N")
        if k2 > k1:
            raise ValueError(f"k2={k2} must not exceed k1={k1}")
        return
    half = k1 // 2
    for value, count in sorted(per_modality.items()):
        name = "visible" if value == 0 else "infrared"
        if count < half:
            raise ValueError(
                f"the modality-aware Jaccard takes k1//2 = {half} neighbours from each modality, but the "
                f"{name} modality (value {value}) has only {count} samples; lower k1 to at most "
                f"{2 * count + 1} or use jaccard_distance on one modality")
    if k2 > half:
        raise ValueError(f"k2={k2} must not exceed k1//2={half} for the modality-aware Jaccard")
