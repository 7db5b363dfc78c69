"""Analysis helpers the teaching notebooks call (no logic lives in the notebooks): cached trained
runs, feature subsets and embeddings, and views into the distance rectification."""

from vireid_core.analysis.features import (
    clustering_features,
    identity_subset,
    labels_of,
    pca_2d,
    split_prototypes,
    top_matches,
    umap_embedding,
)
from vireid_core.analysis.rectification import (
    PAIR_KINDS,
    ClusterExplorer,
    distance_table,
    encoding_vectors,
    eps_from_neighbour_distance,
    pair_distances,
    query_neighbours,
    sample_pairs,
    separation_summary,
    unit_rows,
)
from vireid_core.analysis.runs import (
    CachedRun,
    cached_ablation,
    cached_run,
    config_digest,
    load_model,
    run_dir_for,
    write_numbers,
)

__all__ = [
    "PAIR_KINDS",
    "CachedRun",
    "ClusterExplorer",
    "cached_ablation",
    "cached_run",
    "clustering_features",
    "config_digest",
    "distance_table",
    "encoding_vectors",
    "eps_from_neighbour_distance",
    "identity_subset",
    "labels_of",
    "load_model",
    "pair_distances",
    "pca_2d",
    "query_neighbours",
    "run_dir_for",
    "sample_pairs",
    "separation_summary",
    "split_prototypes",
    "top_matches",
    "umap_embedding",
    "unit_rows",
    "write_numbers",
]
