"""Plotting helpers: every function returns a titled figure in the project style and saves as PNG; the
live-training callback redraws from engine hooks and saves at the end of the run."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from vireid_core import analysis, viz
from vireid_core.data.records import Sample
from vireid_core.viz.base import plt


def _title(fig) -> str:
    return fig._suptitle.get_text() if fig._suptitle is not None else fig.axes[0].get_title()


@pytest.fixture()
def images(tmp_path):
    samples = []
    for pid in range(3):
        for m in (0, 1):
            for k in range(3):
                path = tmp_path / f"{pid}_{m}_{k}.png"
                Image.new("RGB", (16, 32), (40 * pid, 100 * m, 20 * k)).save(path)
                samples.append(Sample(str(path), pid, 1 + 2 * m, m))
    return samples


def _history():
    base = {"clusters_ir": 5, "clusters_vis": 4, "ari_ir": 0.3, "ari_vis": 0.4, "loss_intra": 2.0}
    return [{"stage": 1, "epoch": 0, **base}, {"stage": 2, "epoch": 0, **base, "clusters_global": 6,
                                                "global_ari": 0.5, "global_mixed_fraction": 0.4,
                                                "loss_global": 1.0}]


def test_data_figures_are_titled_by_their_question(tmp_path):
    rng = np.random.default_rng(0)
    feats = analysis.unit_rows(rng.normal(size=(40, 8)))
    mods, pids = np.repeat([0, 1], 20), np.tile(np.repeat(np.arange(5), 4), 2)
    i, j, kind = analysis.sample_pairs(mods, pids, per_kind=20)
    table = analysis.distance_table({"euclid": feats}, i, j, kind)
    labels = np.tile(np.arange(10), 4)
    report = {"n_clusters": 3, "ari": 0.2, "mixed_cluster_fraction": 0.5, "cross_modality_pair_precision": None,
              "outlier_rate": 0.1}
    composition = {"visible": {1: 0.1, 5: 0.2}, "infrared": {1: 0.0, 5: 0.1},
                   "chance": {"visible": 0.5, "infrared": 0.5}}
    figures = {
        "dist": viz.plot_distance_distributions(table, "Q distances?"),
        "knn": viz.plot_knn_composition({"m": composition}),
        "embed": viz.plot_embedding(rng.normal(size=(40, 2)), mods, pids, "Q embedding?"),
        "embed2": viz.plot_embeddings({"before": rng.normal(size=(40, 2)), "after": rng.normal(size=(40, 2))},
                                      mods, pids, "Q before/after?"),
        "clusters": viz.plot_cluster_compositions({"a": labels, "b": -np.ones(40, int)}, mods, "Q clusters?"),
        "scores": viz.plot_clustering_scores({"a": report, "b": report}, "Q scores?"),
        "encoding": viz.plot_encoding_vectors({"v": rng.random(40)}, mods, pids == 0),
        "sweep": viz.plot_parameter_sweep([{"kind": "plain", "k1": 6, "eps": e, "ari": 0.1,
                                            "mixed_cluster_fraction": 0.0} for e in (0.4, 0.6)]),
        "cmc": viz.plot_cmc({"all": np.linspace(0.3, 1, 20)}),
        "ablation": viz.plot_ablation({"M1": {"all_rank1": {"mean": 10.0, "std": 1.0}},
                                       "M6": {"all_rank1": {"mean": 20.0, "std": 2.0}}}, metrics=["all_rank1"]),
        "live": viz.plot_live_training(_history(), [{"stage": 1, "epoch": 0, "loss_intra": 2.0},
                                                    {"stage": 2, "epoch": 0, "loss_intra": 1.5, "loss_global": 1.0}]),
        "prototypes": viz.plot_prototypes(rng.normal(size=(6, 2)), np.array([0, 0, 0, 1, 1, 1]),
                                          np.array([0, 1, 1, 0, 0, 1]), rng.normal(size=(4, 2)),
                                          np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1])),
    }
    for name, fig in figures.items():
        assert _title(fig).endswith("?"), name
        path = viz.save_figure(fig, f"t_{name}", tmp_path)
        assert path.is_file() and path.stat().st_size > 1000
    assert viz.ablation_rows({"M1": {"all_rank1": {"mean": 10.0, "std": 1.0}}}, {"M1": "base"}) == [
        {"config": "M1", "description": "base", "all_rank1": 10.0}]
    plt.close("all")


def test_image_figures(images, tmp_path):
    fig = viz.plot_modality_samples(images, [0, 2], per_modality=2)
    assert len(fig.axes) == 2 * 4
    fig = viz.plot_neighbour_strips(images, 0, {"plain": [1, 2, 6], "balanced": [3, 4]})
    assert "✓" in fig.axes[1].get_title() and "✗" in fig.axes[3].get_title()
    ranked, correct = np.array([[0, 5], [1, 2]]), np.array([[True, False], [False, False]])
    fig = viz.plot_retrieval_gallery(images[:2], images, ranked, correct)
    assert len(fig.axes) == 2 * 3
    with pytest.raises(ValueError, match="ranked"):
        viz.plot_retrieval_gallery(images[:3], images, ranked, correct)
    with pytest.raises(ValueError, match="pids"):
        viz.plot_modality_samples(images, [])
    viz.save_figure(fig, "gallery", tmp_path)
    plt.close("all")


def test_live_training_plot_follows_engine_hooks(tmp_path):
    live = viz.LiveTrainingPlot(figures_dir=tmp_path, name="live", display=False)
    for record in _history():
        live.on_association(record["stage"], record["epoch"], {"clusters_ir": 5})
        live.on_iteration(record["stage"], record["epoch"], 0, {"loss_intra": 1.0})
        live.on_epoch_end(record)
    assert live.saved is None
    live.on_run_end({})
    assert live.saved == tmp_path / "live.png" and live.saved.is_file()
    assert len(live.history) == 2 and len(live.associations) == 2 and len(live.iteration_losses) == 2


def test_cluster_explorer_panel_builds_and_redraws():
    rng = np.random.default_rng(1)
    feats = rng.normal(size=(30, 6)).astype(np.float32)
    mods = np.repeat([0, 1], 15)
    explorer = analysis.ClusterExplorer(feats, mods, np.tile(np.arange(10), 3), max_k1=10)
    panel = viz.cluster_explorer_panel(explorer, k1_values=[6, 10], k2_values=[2, 3], eps_values=[0.5, 0.6],
                                       min_samples=2)
    sliders = panel.children[0].children
    sliders[2].value = 0.6  # a change redraws without error
    assert ("modality-aware", 6, 2) in explorer._jaccard
    plt.close("all")


def test_viz_package_keeps_the_lead_names():
    for name in ("apply_style", "save_figure", "plot_training_curves", "plot_stage_results", "demo_figures"):
        assert callable(getattr(viz, name))
