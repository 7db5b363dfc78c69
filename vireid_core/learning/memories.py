"""Cluster memories of BMIL: the hybrid intra-modality memory and the split-prototype global memory.

Both hold unit vectors in two slots per class — a *mean* slot and a *hard* slot — and follow the clean
timing rule of docs/method.md §5 (§11, Q14): ``loss(...)`` scores the batch against the memory as it is (a constant,
so gradients reach only the features), the engine calls ``backward()``, then ``update(...)`` applies the
momentum update of docs/method.md §5. Memories are ``nn.Module`` s with buffers, so ``.to(device)`` moves them.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from vireid_core.learning.losses import hybrid_loss, multi_positive_loss

LossType = Literal["multi_positive", "hybrid"]


def _as_tensor(values: torch.Tensor | np.ndarray, name: str, dtype: torch.dtype) -> torch.Tensor:
    if isinstance(values, np.ndarray):
        values = torch.from_numpy(np.ascontiguousarray(values))
    if not isinstance(values, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor or numpy array, got {type(values)}")
    return values.to(dtype=dtype)


def _check_labels(labels: np.ndarray, num_rows: int, name: str) -> tuple[np.ndarray, int]:
    """Validate cluster labels (−1 = outlier, others 0..C−1 all present); returns (labels, C)."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.shape[0] != num_rows:
        raise ValueError(f"{name} must have shape [{num_rows}], got {labels.shape}")
    if labels.size and not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"{name} must be integers, got dtype {labels.dtype}")
    labels = labels.astype(np.int64)
    if labels.size and labels.min() < -1:
        raise ValueError(f"{name} must be -1 (outlier) or 0..C-1, found {labels.min()}")
    present = np.unique(labels[labels >= 0])
    num_classes = int(present.size)
    if num_classes == 0:
        raise ValueError(f"{name} holds no cluster (all outliers)")
    if present[-1] != num_classes - 1:
        missing = sorted(set(range(int(present[-1]) + 1)) - set(present.tolist()))[:10]
        raise ValueError(f"{name} must use every label 0..C-1; missing e.g. {missing}")
    return labels, num_classes


class MomentumSlotMemory(nn.Module):
    """Mean and hard slots per class, both initialised to normalise(centroids), with the momentum update
    of docs/method.md §5.

    Buffers ``mean_slots`` and ``hard_slots``: [C, D] unit rows.
    """

    def __init__(self, centroids: torch.Tensor, *, momentum: float = 0.1, temperature: float = 0.05) -> None:
        super().__init__()
        centroids = _as_tensor(centroids, "centroids", torch.float32)
        if centroids.dim() != 2 or centroids.shape[0] == 0:
            raise ValueError(f"centroids must have shape [C >= 1, D], got {tuple(centroids.shape)}")
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"momentum must be in [0, 1], got {momentum}")
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.momentum = float(momentum)
        self.temperature = float(temperature)
        slots = F.normalize(centroids.detach().clone(), dim=1)
        self.register_buffer("mean_slots", slots.clone())
        self.register_buffer("hard_slots", slots.clone())

    @property
    def num_classes(self) -> int:
        """C, the number of classes (slots of each kind)."""
        return int(self.mean_slots.shape[0])

    def _check_batch(self, features: torch.Tensor, targets: torch.Tensor) -> None:
        if features.dim() != 2 or features.shape[1] != self.mean_slots.shape[1]:
            raise ValueError(f"features must have shape [n, {self.mean_slots.shape[1]}], got {tuple(features.shape)}")
        if targets.shape != (features.shape[0],):
            raise ValueError(f"targets must have shape [{features.shape[0]}], got {tuple(targets.shape)}")
        if targets.numel() and (targets.min() < 0 or targets.max() >= self.num_classes):
            raise ValueError(
                f"targets must lie in 0..{self.num_classes - 1}, got range {int(targets.min())}..{int(targets.max())}"
            )

    def scores(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean scores, hard scores), each [n, C] = normalise(features) · slotsᵀ / τ.

        The slots are copied, so the backward pass always uses the forward-time memory, even if
        :meth:`update` runs before ``backward()`` (docs/method.md §5, clean rule).
        """
        normed = F.normalize(features, dim=1)
        mean_slots = self.mean_slots.detach().to(normed.device, normed.dtype, copy=True)
        hard_slots = self.hard_slots.detach().to(normed.device, normed.dtype, copy=True)
        return normed @ mean_slots.t() / self.temperature, normed @ hard_slots.t() / self.temperature

    @torch.no_grad()
    def update(self, features: torch.Tensor, targets: torch.Tensor) -> None:
        """Momentum update (docs/method.md §5) for every class present in the batch.

        With B_k the normalised rows of class k and μ the momentum:
        M[k] <- normalise(μ·M[k] + (1−μ)·mean(B_k)); H[k] <- normalise(μ·H[k] + (1−μ)·f_j*), where j* is the
        row of B_k least similar to the pre-update M[k] (first row on ties).
        """
        targets = targets.to(self.mean_slots.device)
        self._check_batch(features, targets)
        normed = F.normalize(features.detach().to(self.mean_slots.device, self.mean_slots.dtype), dim=1)
        mu = self.momentum
        for k in torch.unique(targets).tolist():
            rows = normed[targets == k]
            similarity = rows @ self.mean_slots[k]
            hardest = rows[int(torch.argmin(similarity))]
            self.mean_slots[k] = F.normalize(mu * self.mean_slots[k] + (1 - mu) * rows.mean(dim=0), dim=0)
            self.hard_slots[k] = F.normalize(mu * self.hard_slots[k] + (1 - mu) * hardest, dim=0)


class HybridMemory(MomentumSlotMemory):
    """Intra-modality hybrid memory (docs/method.md §5): one mean and one hard slot per cluster.

    Args:
        centroids: [C, D] cluster centroids (un-normalised means are fine; rows get normalised).
        momentum: μ of the update (0.1: new = 0.1·old + 0.9·batch).
        temperature: τ of the scores.
        margin: hinge r on the mean-slot cross-entropy.
    """

    def __init__(
        self, centroids: torch.Tensor, *, momentum: float = 0.1, temperature: float = 0.05, margin: float = 0.2
    ) -> None:
        super().__init__(centroids, momentum=momentum, temperature=temperature)
        self.margin = float(margin)

    @classmethod
    def from_clusters(cls, features: torch.Tensor | np.ndarray, labels: np.ndarray, **kwargs: float) -> HybridMemory:
        """Memory from cluster centroids: mean of the un-normalised features of each label 0..C−1.

        Args:
            features: [N, D] features (e.g. flip-averaged extraction, docs/method.md §8).
            labels: [N] pseudo labels, −1 = outlier (ignored); must use every label 0..C−1.
            **kwargs: momentum, temperature, margin.
        """
        features = _as_tensor(features, "features", torch.float32)
        labels, num_classes = _check_labels(labels, features.shape[0], "labels")
        keep = torch.from_numpy(labels >= 0)
        kept_labels = torch.from_numpy(labels[labels >= 0])
        sums = torch.zeros(num_classes, features.shape[1]).index_add_(0, kept_labels, features[keep])
        counts = torch.bincount(kept_labels, minlength=num_classes).to(torch.float32)
        return cls(sums / counts.unsqueeze(1), **kwargs)

    def loss(self, features: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """½·[CE(s_hard, y) + max(0, CE(s_mean, y) − margin)] for raw features [n, D]; scalar tensor."""
        targets = targets.to(features.device)
        self._check_batch(features, targets)
        mean_scores, hard_scores = self.scores(features)
        return hybrid_loss(mean_scores, hard_scores, targets, self.margin)


class SplitPrototypeMemory(MomentumSlotMemory):
    """Global memory of split prototypes with the multi-positive loss (docs/method.md §6).

    Attributes:
        proto_label: LongTensor[P], global cluster of each prototype.
        proto_modality: LongTensor[P], 0 visible / 1 infrared / −1 (both, when not split).
        num_selected: size of the selected set of the multi-positive loss (reference: 50).
        loss_type: "multi_positive" (reference) or "hybrid" (CE over all prototypes, as docs/method.md §5).
    """

    def __init__(
        self,
        prototypes: torch.Tensor,
        proto_label: torch.Tensor,
        proto_modality: torch.Tensor,
        *,
        momentum: float = 0.1,
        temperature: float = 0.05,
        num_selected: int = 50,
        loss_type: LossType = "multi_positive",
        margin: float = 0.2,
    ) -> None:
        super().__init__(prototypes, momentum=momentum, temperature=temperature)
        if loss_type not in ("multi_positive", "hybrid"):
            raise ValueError(f"loss_type must be 'multi_positive' or 'hybrid', got {loss_type!r}")
        if num_selected < 2:
            raise ValueError(f"num_selected must be >= 2, got {num_selected}")
        proto_label = _as_tensor(proto_label, "proto_label", torch.int64)
        proto_modality = _as_tensor(proto_modality, "proto_modality", torch.int64)
        if proto_label.shape != (self.num_classes,) or proto_modality.shape != (self.num_classes,):
            raise ValueError(f"proto_label and proto_modality must have shape [{self.num_classes}]")
        self.register_buffer("proto_label", proto_label.clone())
        self.register_buffer("proto_modality", proto_modality.clone())
        self.num_selected = int(num_selected)
        self.loss_type: LossType = loss_type
        self.margin = float(margin)

    @property
    def num_prototypes(self) -> int:
        """P, the number of prototypes."""
        return self.num_classes

    @classmethod
    def from_global_clusters(
        cls,
        features: torch.Tensor | np.ndarray,
        global_labels: np.ndarray,
        modality: np.ndarray,
        *,
        split_prototypes: bool = True,
        loss_type: LossType | None = None,
        **kwargs: float,
    ) -> tuple[SplitPrototypeMemory, np.ndarray]:
        """Build the prototypes from global clusters over [visible rows; infrared rows] (any row order).

        With ``split_prototypes`` (reference), for k = 0..K−1 in order: the visible prototype of cluster k
        (mean of its visible members' features) if it has any, then its infrared prototype if it has any.
        Without it (ablation): one prototype per cluster (mean of all members), ``proto_modality`` −1, and
        by default the hybrid loss of docs/method.md §5 over all prototypes.

        Args:
            features: [N, D] un-normalised features of the rows.
            global_labels: [N] cluster labels, −1 = outlier, others 0..K−1 (all used).
            modality: [N] 0 visible / 1 infrared.
            split_prototypes: split each cluster by modality (True) or not (False).
            loss_type: None = "multi_positive" when split, "hybrid" when not.
            **kwargs: momentum, temperature, num_selected, margin.

        Returns:
            (memory, proxy_index): proxy_index is np.ndarray[N] int64, the prototype of each row
            (−1 for outliers).
        """
        features = _as_tensor(features, "features", torch.float32)
        labels, num_clusters = _check_labels(global_labels, features.shape[0], "global_labels")
        modality = np.asarray(modality).astype(np.int64)
        if modality.shape != labels.shape or not np.isin(modality, (0, 1)).all():
            raise ValueError(f"modality must be an array of 0/1 with shape {labels.shape}")
        if loss_type is None:
            loss_type = "multi_positive" if split_prototypes else "hybrid"
        group_modalities = (0, 1) if split_prototypes else (None,)
        proxy_index = np.full(labels.shape[0], -1, dtype=np.int64)
        prototypes, proto_label, proto_modality = [], [], []
        order = np.argsort(labels, kind="stable")
        starts = np.searchsorted(labels[order], np.arange(num_clusters + 1))
        for k in range(num_clusters):
            members = order[starts[k] : starts[k + 1]]
            for m in group_modalities:
                rows = members if m is None else members[modality[members] == m]
                if rows.size == 0:
                    continue
                proxy_index[rows] = len(prototypes)
                prototypes.append(features[torch.from_numpy(rows)].mean(dim=0))
                proto_label.append(k)
                proto_modality.append(-1 if m is None else m)
        memory = cls(
            torch.stack(prototypes),
            torch.tensor(proto_label),
            torch.tensor(proto_modality),
            loss_type=loss_type,
            **kwargs,
        )
        return memory, proxy_index

    def loss(self, features: torch.Tensor, proxy_targets: torch.Tensor) -> torch.Tensor:
        """Global loss for raw features [n, D] with prototype targets [n]; scalar tensor.

        multi_positive: ½·[L_mp(hard scores) + L_mp(mean scores)] (docs/method.md §6, selection per chunk);
        hybrid: ½·[CE(hard) + max(0, CE(mean) − margin)] over all prototypes.
        """
        proxy_targets = proxy_targets.to(features.device)
        self._check_batch(features, proxy_targets)
        mean_scores, hard_scores = self.scores(features)
        if self.loss_type == "hybrid":
            return hybrid_loss(mean_scores, hard_scores, proxy_targets, self.margin)
        labels = self.proto_label.to(features.device)
        return 0.5 * (
            multi_positive_loss(hard_scores, proxy_targets, labels, self.num_selected)
            + multi_positive_loss(mean_scores, proxy_targets, labels, self.num_selected)
        )
