"""Plotting helpers shared by the CLI and the notebooks: one style (:func:`apply_style`), one way to
save (:func:`save_figure`). Every function returns a matplotlib ``Figure`` and never calls ``plt.show``;
each figure is titled by the question it answers."""

from vireid_core.viz.base import (
    MODALITY_COLOURS,
    MODALITY_LABELS,
    STAGE_COLOURS,
    apply_style,
    demo_figures,
    detached_figure,
    figure_png,
    plot_stage_results,
    plot_training_curves,
    save_figure,
)
from vireid_core.viz.clusters import (
    plot_cluster_compositions,
    plot_clustering_scores,
    plot_distance_distributions,
    plot_encoding_vectors,
    plot_knn_composition,
    plot_parameter_sweep,
)
from vireid_core.viz.embeddings import modality_centroids, plot_embedding, plot_embeddings
from vireid_core.viz.evaluation import ablation_rows, plot_ablation, plot_ablation_differences, plot_cmc
from vireid_core.viz.images import plot_modality_samples, plot_neighbour_strips, plot_retrieval_gallery
from vireid_core.viz.ladder import ladder_values, load_ladder, plot_baseline_ladder
from vireid_core.viz.text import dataset_summary, format_numbers, rounded
from vireid_core.viz.toy import plot_toy_association
from vireid_core.viz.training import LiveTrainingPlot, plot_live_training, plot_prototypes
from vireid_core.viz.widgets import ClusterExplorerPanel, cluster_explorer_panel

__all__ = [
    "MODALITY_COLOURS",
    "MODALITY_LABELS",
    "STAGE_COLOURS",
    "ClusterExplorerPanel",
    "LiveTrainingPlot",
    "ablation_rows",
    "apply_style",
    "cluster_explorer_panel",
    "dataset_summary",
    "demo_figures",
    "detached_figure",
    "figure_png",
    "format_numbers",
    "modality_centroids",
    "load_ladder",
    "ladder_values",
    "plot_baseline_ladder",
    "plot_ablation",
    "plot_ablation_differences",
    "plot_cluster_compositions",
    "plot_clustering_scores",
    "plot_cmc",
    "plot_distance_distributions",
    "plot_embedding",
    "plot_embeddings",
    "plot_encoding_vectors",
    "plot_knn_composition",
    "plot_live_training",
    "plot_modality_samples",
    "plot_neighbour_strips",
    "plot_parameter_sweep",
    "plot_prototypes",
    "plot_retrieval_gallery",
    "plot_toy_association",
    "plot_stage_results",
    "plot_training_curves",
    "rounded",
    "save_figure",
]
