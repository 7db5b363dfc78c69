"""Association: neighbour search, k-reciprocal Jaccard distances (plain and modality-aware, sparse and
exact), DBSCAN, subset splits and diagnostics (method-spec §5). Numpy in, numpy/scipy out."""

from vireid_core.association.clustering import cluster_dbscan, cluster_subset, split_subsets
from vireid_core.association.diagnostics import (
    clustering_report,
    knn_modality_composition,
    modality_gap,
    single_modality_ceiling_ari,
)
from vireid_core.association.graph import NeighbourGraph
from vireid_core.association.jaccard import jaccard_distance, jaccard_from_graph, modality_aware_jaccard
from vireid_core.association.search import KnnConfig, knn_recall, nearest_neighbours

__all__ = [
    "KnnConfig",
    "NeighbourGraph",
    "cluster_dbscan",
    "cluster_subset",
    "clustering_report",
    "jaccard_distance",
    "jaccard_from_graph",
    "knn_modality_composition",
    "knn_recall",
    "modality_aware_jaccard",
    "modality_gap",
    "nearest_neighbours",
    "single_modality_ceiling_ari",
    "split_subsets",
]
