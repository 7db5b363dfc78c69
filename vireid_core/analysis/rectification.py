"""Looking inside the distance rectification (docs/method.md §2–§3): pair distances by kind, one query's
neighbour lists, the k-reciprocal encoding vectors, and a cached explorer over (k1, k2, eps).

Ground-truth identities are read here for diagnostics only, as in
:mod:`vireid_core.association.diagnostics`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from vireid_core.association import NeighbourGraph, cluster_dbscan, clustering_report, jaccard_from_graph
from vireid_core.association.jaccard import encode, expansion_average, expansion_pattern

PAIR_KINDS = (
    "same id, same modality",
    "same id, cross modality",
    "different id, same modality",
    "different id, cross modality",
)


def unit_rows(features: Any) -> np.ndarray:
    """float32 [N, D] copy of ``features`` with every row scaled to unit L2 norm."""
    feats = np.asarray(features, dtype=np.float32)
    if feats.ndim != 2:
        raise ValueError(f"features must be a 2-D array [N, D], got shape {feats.shape}")
    norms = np.linalg.norm(feats, axis=1, keepdims=True)
    return feats / np.maximum(norms, 1e-12)


def sample_pairs(
    modality: Any, true_ids: Any, per_kind: int = 2000, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A seeded sample of at most ``per_kind`` pairs (i < j) of each of the four :data:`PAIR_KINDS`.

    Returns ``(i, j, kind)``: int64 [P] row ids and int64 [P] indices into :data:`PAIR_KINDS`.
    """
    mods, ids = np.asarray(modality), np.asarray(true_ids)
    if mods.shape != ids.shape or mods.ndim != 1:
        raise ValueError(f"modality and true_ids must be 1-D of equal length, got {mods.shape} and {ids.shape}")
    n = len(mods)
    if n < 2:
        raise ValueError(f"need at least 2 samples to form pairs, got {n}")
    rng = np.random.default_rng(seed)
    out_i, out_j, out_k = [], [], []
    for kind, (same_id, same_mod) in enumerate(((True, True), (True, False), (False, True), (False, False))):
        found_i, found_j = [], []
        budget = per_kind
        for _ in range(30):  # rejection sampling; rare kinds (same id) come from an exact listing below
            i = rng.integers(0, n, size=8 * budget)
            j = rng.integers(0, n, size=8 * budget)
            keep = (i != j) & ((ids[i] == ids[j]) == same_id) & ((mods[i] == mods[j]) == same_mod)
            found_i.append(i[keep])
            found_j.append(j[keep])
            if sum(len(x) for x in found_i) >= per_kind:
                break
        i, j = np.concatenate(found_i), np.concatenate(found_j)
        if len(i) < per_kind and same_id:  # enumerate same-identity pairs exactly
            i, j = _same_id_pairs(ids, mods, same_mod)
            pick = rng.permutation(len(i))[:per_kind]
            i, j = i[pick], j[pick]
        lo, hi = np.minimum(i, j)[:per_kind], np.maximum(i, j)[:per_kind]
        out_i.append(lo)
        out_j.append(hi)
        out_k.append(np.full(len(lo), kind))
    return (
        np.concatenate(out_i).astype(np.int64),
        np.concatenate(out_j).astype(np.int64),
        np.concatenate(out_k).astype(np.int64),
    )


def _same_id_pairs(ids: np.ndarray, mods: np.ndarray, same_mod: bool) -> tuple[np.ndarray, np.ndarray]:
    rows_i, rows_j = [], []
    for pid in np.unique(ids):
        members = np.flatnonzero(ids == pid)
        a, b = np.triu_indices(len(members), k=1)
        keep = (mods[members[a]] == mods[members[b]]) == same_mod
        rows_i.append(members[a][keep])
        rows_j.append(members[b][keep])
    return np.concatenate(rows_i), np.concatenate(rows_j)


def pair_distances(distance: Any, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Distances of the pairs (i[p], j[p]), float64 [P].

    ``distance`` is either a feature matrix [N, D] (then d = 2 − 2·cos, the squared distance of unit
    rows) or a sparse Jaccard matrix from :mod:`vireid_core.association` (absent entries mean 1).
    """
    if sp.issparse(distance):
        csr = sp.csr_matrix(distance)
        csr.sort_indices()
        values = np.asarray(csr[i, j]).ravel().astype(np.float64)
        return np.where(_stored(csr, i, j), values, 1.0)
    feats = unit_rows(distance)
    return (2.0 - 2.0 * np.einsum("pd,pd->p", feats[i], feats[j])).astype(np.float64)


def _stored(csr: sp.csr_matrix, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """True where (i, j) is an explicitly stored entry of ``csr`` (stored zeros included)."""
    # keys row * N + column are sorted for a csr matrix with sorted indices
    n = csr.shape[1]
    keys = np.repeat(np.arange(csr.shape[0], dtype=np.int64), np.diff(csr.indptr)) * n + csr.indices
    wanted = i.astype(np.int64) * n + j
    pos = np.searchsorted(keys, wanted)
    if not len(keys):
        return np.zeros(len(i), dtype=bool)
    return keys[np.minimum(pos, len(keys) - 1)] == wanted


def distance_table(distances: dict[str, Any], i: np.ndarray, j: np.ndarray, kind: np.ndarray) -> dict[str, np.ndarray]:
    """Long-form columns for seaborn: ``{"distance": [M], "pair": [M] kind names, "measure": [M]}``
    with one block of P rows per entry of ``distances`` (name → features or sparse matrix)."""
    columns: dict[str, list[np.ndarray]] = {"distance": [], "pair": [], "measure": []}
    names = np.array(PAIR_KINDS, dtype=object)[kind]
    for measure, dist in distances.items():
        columns["distance"].append(pair_distances(dist, i, j))
        columns["pair"].append(names)
        columns["measure"].append(np.full(len(i), measure, dtype=object))
    return {key: np.concatenate(parts) for key, parts in columns.items()}


def separation_summary(table: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """Per measure: mean distance of each pair kind and the intra/cross gap of same-id pairs.

    Returns ``{measure: {kind: mean, "same_id_gap": cross − intra, "relative_gap": that gap divided by
    the mean different-identity distance}}`` — the gap a rectified distance should shrink.
    """
    out: dict[str, dict[str, float]] = {}
    for measure in dict.fromkeys(table["measure"].tolist()):
        rows = table["measure"] == measure
        means = {
            kind: float(np.mean(table["distance"][rows & (table["pair"] == kind)]))
            for kind in PAIR_KINDS
            if np.any(rows & (table["pair"] == kind))
        }
        gap = means.get(PAIR_KINDS[1], np.nan) - means.get(PAIR_KINDS[0], np.nan)
        diff = np.nanmean([means.get(PAIR_KINDS[2], np.nan), means.get(PAIR_KINDS[3], np.nan)])
        out[measure] = {**means, "same_id_gap": float(gap), "relative_gap": float(gap / diff) if diff else np.nan}
    return out


def query_neighbours(features: Any, modality: Any, query: int, k: int = 10) -> dict[str, np.ndarray]:
    """One query's neighbour lists before and after modality balancing (inner product of unit rows).

    Returns ``{"plain": ids [k], "visible": ids [k//2], "infrared": ids [k//2], "balanced": ids
    [2·(k//2)]}``: the k nearest rows of any modality (self first), the k//2 nearest of each
    modality, and the two merged by similarity — the initial ranking R0 of the plain and the
    modality-aware Jaccard.
    """
    feats = unit_rows(features)
    mods = np.asarray(modality)
    n = len(feats)
    if not 0 <= query < n:
        raise ValueError(f"query must be a row index in [0, {n}), got {query}")
    if k < 2 or k > n:
        raise ValueError(f"k must be in [2, N={n}], got {k}")
    sims = feats @ feats[query]
    order = np.lexsort((np.arange(n), -sims))
    half = k // 2
    vis = order[mods[order] == 0][:half]
    ir = order[mods[order] == 1][:half]
    both = np.concatenate([vis, ir])
    balanced = both[np.lexsort((both, -sims[both]))]
    return {"plain": order[:k], "visible": vis, "infrared": ir, "balanced": balanced}


def encoding_vectors(graph: NeighbourGraph, k1: int, k2: int) -> sp.csr_matrix:
    """The k-reciprocal encodings V' (docs/method.md §2 steps 1–5, §3) whose min/max overlap is the
    Jaccard distance: csr [N, N] float32, each row sums to 1.

    Plain or modality-aware depending on how ``graph`` was built (reference settings: off-by-one
    ranking, merged half-sets).
    """
    n = graph.features.shape[0]
    half_width = int(np.around(k1 / 2)) + 1
    if graph.modality_aware:
        visible, infrared, ranking = graph.modality_lists(k1)
        expansion = [visible[:, :k2], infrared[:, :k2]]
    else:
        ranking = graph.plain_ranking(k1)
        expansion = None if k2 == 1 else [ranking[:, :k2]]
    encoding = encode(graph.features, expansion_pattern(ranking, ranking[:, :half_width], n))
    if expansion is not None:
        encoding = (expansion_average(expansion, n) @ encoding).tocsr()
        encoding.eliminate_zeros()
    return encoding


def eps_from_neighbour_distance(dist: np.ndarray, k: int = 4, quantile: float = 0.5) -> float:
    """A DBSCAN eps for a dense distance matrix: the ``quantile`` of every row's distance to its k-th
    nearest other row (the "k-distance" rule of thumb). Returns a float."""
    dist = np.asarray(dist, dtype=np.float64)
    if dist.ndim != 2 or dist.shape[0] != dist.shape[1] or dist.shape[0] <= k:
        raise ValueError(f"dist must be a square matrix with more than k={k} rows, got {dist.shape}")
    kth = np.sort(dist, axis=1)[:, k]  # column 0 is the row itself
    return float(np.quantile(kth, quantile))


@dataclass
class ClusterExplorer:
    """Plain and modality-aware neighbour graphs searched once; DBSCAN at any (k1, k2, eps) after.

    Jaccard matrices are cached per (kind, k1, k2), so moving only eps costs a DBSCAN run.
    """

    features: np.ndarray
    modality: np.ndarray
    true_ids: np.ndarray | None = None
    max_k1: int = 30
    _graphs: dict[str, NeighbourGraph] = field(default_factory=dict, repr=False)
    _jaccard: dict[tuple[str, int, int], sp.csr_matrix] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.features = np.ascontiguousarray(self.features, dtype=np.float32)
        self.modality = np.asarray(self.modality, dtype=np.int64)
        self._graphs["plain"] = NeighbourGraph.build(self.features, max_k1=self.max_k1)
        self._graphs["modality-aware"] = NeighbourGraph.build(self.features, self.modality, max_k1=self.max_k1)

    def jaccard(self, kind: str, k1: int, k2: int) -> sp.csr_matrix:
        """The ("plain" | "modality-aware") Jaccard matrix at (k1, k2), computed once."""
        if kind not in self._graphs:
            raise ValueError(f"kind must be 'plain' or 'modality-aware', got {kind!r}")
        key = (kind, int(k1), int(k2))
        if key not in self._jaccard:
            self._jaccard[key] = jaccard_from_graph(self._graphs[kind], int(k1), int(k2))
        return self._jaccard[key]

    def cluster(
        self, kind: str, k1: int, k2: int, eps: float, min_samples: int = 4
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """DBSCAN labels int64 [N] (−1 outliers) and their :func:`clustering_report`."""
        labels = cluster_dbscan(self.jaccard(kind, k1, k2), eps=eps, min_samples=min_samples)
        return labels, clustering_report(labels, self.modality, self.true_ids)

    def sweep(
        self, k1_values: Sequence[int], eps_values: Sequence[float], k2: int, min_samples: int = 4
    ) -> list[dict[str, Any]]:
        """Cluster both kinds at every (k1, eps); returns rows with kind, k1, k2, eps, n_clusters, ari
        (NaN without true ids), mixed_cluster_fraction, outlier_rate, and with true ids also
        cross_modality_pair_precision (None when no cluster joins the modalities) and
        single_modality_ceiling_ari."""
        rows = []
        for kind in ("plain", "modality-aware"):
            for k1 in k1_values:
                for eps in eps_values:
                    _, report = self.cluster(kind, k1, min(k2, k1 // 2), eps, min_samples)
                    rows.append(
                        {
                            "kind": kind,
                            "k1": int(k1),
                            "k2": int(min(k2, k1 // 2)),
                            "eps": float(eps),
                            "n_clusters": report["n_clusters"],
                            "ari": report.get("ari", np.nan),
                            "mixed_cluster_fraction": report["mixed_cluster_fraction"],
                            "outlier_rate": report["outlier_rate"],
                            "cross_modality_pair_precision": report.get("cross_modality_pair_precision"),
                            "single_modality_ceiling_ari": report.get("single_modality_ceiling_ari"),
                        }
                    )
        return rows


def sweep_summary(sweep: Sequence[dict[str, Any]], eps: float) -> dict[str, Any]:
    """A :meth:`ClusterExplorer.sweep` read at one eps (the nearest swept value), and the two distances
    compared over every swept setting.

    Returns:
        ``{"eps": the eps read, "k1": swept k1 values (ascending), "ari": {kind: [ARI per k1 at that eps]},
        "mixed_cluster_fraction": {kind: [...]}, "settings": number of (k1, eps) settings,
        "plain_ari_higher": settings where the plain Jaccard's ARI is the higher}``.
    """
    swept = sorted({float(r["eps"]) for r in sweep})
    if not swept:
        raise ValueError("the sweep is empty")
    nearest = min(swept, key=lambda e: abs(e - float(eps)))
    k1_values = sorted({int(r["k1"]) for r in sweep})
    at = {(r["kind"], int(r["k1"])): r for r in sweep if float(r["eps"]) == nearest}
    kinds = ("plain", "modality-aware")
    by_setting = {(r["kind"], int(r["k1"]), float(r["eps"])): r["ari"] for r in sweep}
    settings = [(k1, e) for k1 in k1_values for e in swept]
    return {
        "eps": nearest,
        "k1": k1_values,
        "ari": {kind: [at[(kind, k1)]["ari"] for k1 in k1_values] for kind in kinds},
        "mixed_cluster_fraction": {
            kind: [at[(kind, k1)]["mixed_cluster_fraction"] for k1 in k1_values] for kind in kinds
        },
        "settings": len(settings),
        "plain_ari_higher": sum(
            by_setting[("plain", k1, e)] > by_setting[("modality-aware", k1, e)] for k1, e in settings
        ),
    }
