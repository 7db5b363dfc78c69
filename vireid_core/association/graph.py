"""A neighbour graph searched once and re-used for several (k1, k2) settings.

``NeighbourGraph.build(features)`` keeps, for every row, its ``max_k1 + 1`` nearest rows (plain
Jaccard, squared-L2 order as faiss ``IndexFlatL2``); ``NeighbourGraph.build(features, modality)``
keeps ``max_k1 // 2 + 1`` nearest rows *of each modality* (modality-aware Jaccard, inner-product
order). Any smaller k1 is a prefix of these lists, so a notebook slider over k1/k2/eps only pays
for the search once. All ids and rows are in the caller's original row order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vireid_core.association.feasibility import check_k1
from vireid_core.association.inputs import as_feature_matrix, as_modality_array
from vireid_core.association.search import KnnConfig, nearest_neighbours


@dataclass
class NeighbourGraph:
    """Cached neighbour lists of a feature set.

    Attributes:
        features: float32 [N, D] in the caller's row order (used as given, not re-normalised, as in the
            official code).
        modality: int64 [N] (0 visible, 1 infrared) for the modality-aware graph, None for plain.
        lists: plain graph: one (scores, ids) pair; modality-aware: [visible pair, infrared pair].
            scores float32 [N, k] (smaller is nearer), ids int64 [N, k] in original row ids.
        max_k1: the largest k1 these lists serve.
        knn: the search configuration used.
    """

    features: np.ndarray
    modality: np.ndarray | None
    lists: list[tuple[np.ndarray, np.ndarray]]
    max_k1: int
    knn: KnnConfig = field(default_factory=KnnConfig)

    @classmethod
    def build(
        cls, features: Any, modality: Any = None, *, max_k1: int = 30, knn: KnnConfig | None = None
    ) -> NeighbourGraph:
        """Search neighbours once.

        Args:
            features: [N, D] array or tensor.
            modality: None for the plain graph, else [N] of 0/1 in any order.
            max_k1: the largest k1 that will be asked for.
            knn: search configuration (exact by default).

        Returns:
            The graph; plain lists hold min(max_k1 + 1, N) entries per row, modality-aware lists
            min(max_k1 // 2 + 1, modality size) per modality.
        """
        knn = knn or KnnConfig()
        feats = as_feature_matrix(features)
        n = feats.shape[0]
        check_k1(max_k1, "max_k1")
        if modality is None:
            # plain Jaccard: one list over all rows, k1 + 1 wide (self + k1 neighbours), L2 order
            order = np.arange(n)
            internal = feats
            bounds, ks, metric = [0, n], [min(max_k1 + 1, n)], "l2"
            mods = None
        else:
            # MAJ: one list per modality, k1 // 2 + 1 wide, inner-product order. The search wants each
            # modality as a contiguous block of rows, so the rows are reordered visible-first here
            # and mapped back below.
            mods = as_modality_array(modality, n)
            order = np.argsort(mods, kind="stable")  # visible first, stable inside a modality
            internal = np.ascontiguousarray(feats[order])
            n_vis = int(np.count_nonzero(mods == 0))
            if n_vis == 0 or n_vis == n:
                raise ValueError(
                    "the modality-aware graph needs samples of both modalities, got only "
                    f"{'infrared' if n_vis == 0 else 'visible'} ones"
                )
            bounds, metric = [0, n_vis, n], "ip"
            ks = [min(max_k1 // 2 + 1, n_vis), min(max_k1 // 2 + 1, n - n_vis)]
        found = nearest_neighbours(internal, bounds, ks, metric=metric, knn=knn)
        lists = []
        for scores, ids in found:
            mapped = np.where(ids < n, order[np.minimum(ids, n - 1)], n)  # internal ids -> original ids
            out_scores, out_ids = np.empty_like(scores), np.empty_like(mapped)
            out_scores[order], out_ids[order] = scores, mapped  # internal rows -> original rows
            lists.append((out_scores, out_ids))
        return cls(features=feats, modality=mods, lists=lists, max_k1=int(max_k1), knn=knn)

    @property
    def modality_aware(self) -> bool:
        """True when the lists are per modality (built with a modality array)."""
        return self.modality is not None

    def plain_ranking(self, k1: int, *, off_by_one: bool = True) -> np.ndarray:
        """Initial ranking R0 of the plain Jaccard: int64 [N, k1] (faithful) or [N, k1 + 1].

        ``off_by_one=True`` reproduces the official code, whose ranking has k1 columns (self + k1 - 1
        neighbours) although its reciprocal test slices k1 + 1.
        """
        if self.modality_aware:
            raise ValueError("plain_ranking needs a graph built without a modality array")
        width = k1 if off_by_one else k1 + 1
        self._check_k1(k1, width, self.lists[0][1].shape[1])
        return self.lists[0][1][:, :width]

    def modality_lists(self, k1: int, *, off_by_one: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per-modality lists and the merged ranking of the modality-aware Jaccard.

        Returns:
            (visible ids [N, k1//2 (+1)], infrared ids [N, k1//2 (+1)], merged R0 [N, L]) with
            L = 2·(k1//2) faithful, or 2·(k1//2) + 1 when ``off_by_one=False`` (the query's own
            modality then contributes k1//2 + 1 entries, self included, the other k1//2). R0 is
            sorted by (-similarity, id).
        """
        if not self.modality_aware:
            raise ValueError("modality_lists needs a graph built with a modality array")
        half = k1 // 2
        extra = 0 if off_by_one else 1
        (vis_s, vis_i), (ir_s, ir_i) = self.lists
        self._check_k1(k1, half + extra, min(vis_i.shape[1], ir_i.shape[1]))
        own_vis = (self.modality == 0)[:, None]
        width = half + extra
        vis_keep = np.arange(width)[None, :] < np.where(own_vis, width, half)
        ir_keep = np.arange(width)[None, :] < np.where(own_vis, half, width)
        scores = np.concatenate([vis_s[:, :width], ir_s[:, :width]], axis=1)
        ids = np.concatenate([vis_i[:, :width], ir_i[:, :width]], axis=1)
        keep = np.concatenate([vis_keep, ir_keep], axis=1)
        scores = scores[keep].reshape(len(ids), 2 * half + extra)
        ids = ids[keep].reshape(len(ids), 2 * half + extra)
        order = np.lexsort((ids, scores), axis=-1)
        merged = np.take_along_axis(ids, order, 1)
        return vis_i[:, :width], ir_i[:, :width], merged

    def _check_k1(self, k1: int, needed: int, available: int) -> None:
        check_k1(k1)
        if k1 > self.max_k1 or needed > available:
            raise ValueError(
                f"k1={k1} needs {needed} neighbours per list but the graph holds {available} "
                f"(built with max_k1={self.max_k1} on N={len(self.features)}); rebuild it"
            )
