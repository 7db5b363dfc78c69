"""Analysis helpers the teaching notebooks call (no logic lives in the notebooks): feature subsets and
embeddings, views into the distance rectification, the numbers they write and the claims their prose
makes about those numbers (:mod:`vireid_core.analysis.claims`), where they write
(:func:`vireid_core.output_paths.notebook_output`: figures/ for a default run, else a scratch folder) and
what they may train (:mod:`vireid_core.analysis.class_budget`).

The trained runs the notebooks share come from :mod:`vireid_core.runs` (``cached_run``,
``run_ablation``) and :mod:`vireid_core.workflow` (``load_model``, ``synthvi_regdb``); they are
offered here too so a notebook imports one module.
"""

from vireid_core.analysis.claims import Claim, ClaimError, ClaimLog, claims_markdown, evaluate_claims, render
from vireid_core.analysis.class_budget import (
    TrainingNotAllowed,
    TrainingPlan,
    ablation_plan,
    ensure_may_train,
    full_run_plan,
    may_train,
    run_plan,
    start_plan,
)
from vireid_core.analysis.exercises import ExerciseChecks, toy_pair_summary
from vireid_core.analysis.features import (
    clustering_features,
    identity_subset,
    images_per_person,
    labels_of,
    largest_mixed_clusters,
    pca_2d,
    prototype_pair_similarity,
    prototype_similarity_summary,
    split_prototypes,
    top_matches,
    umap_embedding,
    with_training_subset,
)
from vireid_core.analysis.figure_choices import (
    ablation_steps,
    ap_quantiles,
    distinct_identities,
    gap_ratio,
    highlight_identities,
    k1_slider_values,
    pair_auc,
    quantile_label,
    quantile_queries,
    query_average_precision,
)
from vireid_core.analysis.history import history_summary
from vireid_core.analysis.notebook_parameters import infrared_query, neighbour_settings, whole_number
from vireid_core.analysis.numbers import ladder_numbers, write_numbers
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
    sweep_summary,
    unit_rows,
)
from vireid_core.output_paths import NotebookOutput, notebook_defaults, notebook_output
from vireid_core.runs import CachedRun, cached_run, run_ablation, run_dir_for
from vireid_core.workflow import load_model, synthvi_regdb

__all__ = [
    "PAIR_KINDS",
    "CachedRun",
    "NotebookOutput",
    "TrainingNotAllowed",
    "TrainingPlan",
    "ablation_plan",
    "Claim",
    "ClaimError",
    "ClaimLog",
    "ClusterExplorer",
    "ExerciseChecks",
    "ablation_steps",
    "ap_quantiles",
    "cached_run",
    "claims_markdown",
    "clustering_features",
    "distance_table",
    "distinct_identities",
    "encoding_vectors",
    "ensure_may_train",
    "eps_from_neighbour_distance",
    "full_run_plan",
    "evaluate_claims",
    "gap_ratio",
    "highlight_identities",
    "history_summary",
    "identity_subset",
    "images_per_person",
    "infrared_query",
    "k1_slider_values",
    "labels_of",
    "largest_mixed_clusters",
    "load_model",
    "may_train",
    "notebook_defaults",
    "notebook_output",
    "neighbour_settings",
    "pair_auc",
    "pair_distances",
    "pca_2d",
    "prototype_pair_similarity",
    "prototype_similarity_summary",
    "quantile_label",
    "quantile_queries",
    "query_average_precision",
    "query_neighbours",
    "render",
    "run_ablation",
    "run_dir_for",
    "run_plan",
    "sample_pairs",
    "separation_summary",
    "split_prototypes",
    "start_plan",
    "sweep_summary",
    "synthvi_regdb",
    "top_matches",
    "toy_pair_summary",
    "umap_embedding",
    "unit_rows",
    "whole_number",
    "with_training_subset",
    "write_numbers",
    "ladder_numbers",
]
