"""Association: neighbour search, k-reciprocal Jaccard distances (plain and modality-aware, sparse and
exact), DBSCAN, subset splits, global association methods and diagnostics. Numpy in, numpy/scipy out.

Reading order: :mod:`.reference` (the distances written densely, as their definitions read), then
:mod:`.jaccard` (the same distances, sparse), :mod:`.clustering`, :mod:`.global_methods` (the
registry ``global_clustering.method`` reads) and :mod:`.feasibility` (the k1/k2 rule). The
neighbour search behind all of it is :func:`.search.nearest_neighbours`.
"""

from vireid_core.association.clustering import cluster_dbscan, cluster_subset, split_subsets
from vireid_core.association.diagnostics import (
    clustering_report,
    knn_modality_composition,
    modality_gap,
    single_modality_ceiling_ari,
)
from vireid_core.association.feasibility import check_k_pair, feasible_k
from vireid_core.association.global_methods import (
    GLOBAL_ASSOCIATIONS,
    global_association,
    register_global_association,
)
from vireid_core.association.graph import NeighbourGraph
from vireid_core.association.jaccard import jaccard_distance, jaccard_from_graph, modality_aware_jaccard
from vireid_core.association.search import KnnConfig, knn_recall, nearest_neighbours

__all__ = [
    "GLOBAL_ASSOCIATIONS",
    "KnnConfig",
    "NeighbourGraph",
    "check_k_pair",
    "cluster_dbscan",
    "cluster_subset",
    "clustering_report",
    "feasible_k",
    "global_association",
    "jaccard_distance",
    "jaccard_from_graph",
    "knn_modality_composition",
    "knn_recall",
    "modality_aware_jaccard",
    "modality_gap",
    "nearest_neighbours",
    "register_global_association",
    "single_modality_ceiling_ari",
    "split_subsets",
]
