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
        raise ValueError(f"modality must be a 1-D array with one entry per feature row ({n}), got shape {array.shape}")
    if array.dtype.kind == "f" and not np.all(np.mod(array, 1) == 0):
        raise ValueError("modality must hold integers 0 (visible) or 1 (infrared), got non-integer values")
    values = np.unique(array)
    if not np.isin(values, (0, 1)).all():
        raise ValueError(f"modality must hold only 0 (visible) and 1 (infrared), got {values.tolist()}")
    return array.astype(np.int64)
