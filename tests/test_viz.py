"""Plotting helpers: every function returns a titled figure in the project style and saves as PNG; the
live-training callback redraws from engine hooks and saves at the end of the run."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PIL import Image

from tests.png_checks import assert_drawn, pixel_change
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
    return [
        {"stage": 1, "epoch": 0, **base},
        {
            "stage": 2,
            "epoch": 0,
            **base,
            "clusters_global": 6,
            "global_ari": 0.5,
            "global_mixed_fraction": 0.4,
            "loss_global": 1.0,
        },
    ]


def test_data_figures_are_titled_by_their_question(tmp_path):
    rng = np.random.default_rng(0)
    feats = analysis.unit_rows(rng.normal(size=(40, 8)))
    mods, pids = np.repeat([0, 1], 20), np.tile(np.repeat(np.arange(5), 4), 2)
    i, j, kind = analysis.sample_pairs(mods, pids, per_kind=20)
    table = analysis.distance_table({"euclid": feats}, i, j, kind)
    labels = np.tile(np.arange(10), 4)
    report = {
        "n_clusters": 3,
        "ari": 0.2,
        "mixed_cluster_fraction": 0.5,
        "cross_modality_pair_precision": None,
        "outlier_rate": 0.1,
    }
    composition = {
        "visible": {1: 0.1, 5: 0.2},
        "infrared": {1: 0.0, 5: 0.1},
        "chance": {"visible": 0.5, "infrared": 0.5},
    }
    figures = {
        "dist": viz.plot_distance_distributions(table, "Q distances?"),
        "knn": viz.plot_knn_composition({"m": composition}),
        "embed": viz.plot_embedding(rng.normal(size=(40, 2)), mods, pids, "Q embedding?"),
        "embed2": viz.plot_embeddings(
            {"before": rng.normal(size=(40, 2)), "after": rng.normal(size=(40, 2))}, mods, pids, "Q before/after?"
        ),
        "clusters": viz.plot_cluster_compositions({"a": labels, "b": -np.ones(40, int)}, mods, "Q clusters?"),
        "scores": viz.plot_clustering_scores({"a": report, "b": report}, "Q scores?"),
        "encoding": viz.plot_encoding_vectors({"v": rng.random(40)}, mods, pids == 0),
        "sweep": viz.plot_parameter_sweep(
            [{"kind": "plain", "k1": 6, "eps": e, "ari": 0.1, "mixed_cluster_fraction": 0.0} for e in (0.4, 0.6)]
        ),
        "cmc": viz.plot_cmc({"all": np.linspace(0.3, 1, 20)}),
        "ablation": viz.plot_ablation(
            {"M1": {"all_rank1": {"mean": 10.0, "std": 1.0}}, "M6": {"all_rank1": {"mean": 20.0, "std": 2.0}}},
            metrics=["all_rank1"],
        ),
        "live": viz.plot_live_training(
            _history(),
            [
                {"stage": 1, "epoch": 0, "loss_intra": 2.0},
                {"stage": 2, "epoch": 0, "loss_intra": 1.5, "loss_global": 1.0},
            ],
        ),
        "prototypes": viz.plot_prototypes(
            rng.normal(size=(6, 2)),
            np.array([0, 0, 0, 1, 1, 1]),
            np.array([0, 1, 1, 0, 0, 1]),
            rng.normal(size=(4, 2)),
            np.array([0, 0, 1, 1]),
            np.array([0, 1, 0, 1]),
        ),
    }
    for name, fig in figures.items():
        assert _title(fig).endswith("?"), name
        path = viz.save_figure(fig, f"t_{name}", tmp_path)
        assert path.is_file() and path.stat().st_size > 1000
    assert viz.ablation_rows({"M1": {"all_rank1": {"mean": 10.0, "std": 1.0}}}, {"M1": "base"}) == [
        {"config": "M1", "description": "base", "all_rank1": 10.0}
    ]
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


def test_titles_do_not_collide_and_knn_lines_are_distinguishable():
    rng = np.random.default_rng(0)
    mods, pids = np.repeat([0, 1], 20), np.tile(np.repeat(np.arange(5), 4), 2)
    feats = analysis.unit_rows(rng.normal(size=(40, 8)))
    i, j, kind = analysis.sample_pairs(mods, pids, per_kind=20)
    measures = {"Euclidean (2 - 2 cos)": feats, "plain Jaccard": feats, "modality-aware Jaccard": feats}  # notebook 02
    fig = viz.plot_distance_distributions(analysis.distance_table(measures, i, j, kind), "Q?", log_density=True)
    fig.canvas.draw()
    boxes = [ax.title.get_window_extent() for ax in fig.axes]
    gaps = [b.x0 - a.x1 for a, b in zip(boxes, boxes[1:], strict=False)]
    assert min(gaps) > 0.3 * fig.dpi, f"neighbouring subplot titles nearly touch: gaps {gaps} px"  # was 8 px
    assert len(fig.legends) == 1 and len(fig.legends[0].get_texts()) == 4
    composition = {
        "visible": {1: 0.0, 5: 0.01},
        "infrared": {1: 0.0, 5: 0.02},
        "chance": {"visible": 0.5, "infrared": 0.5},
    }
    fig = viz.plot_knn_composition({name: composition for name in ("untrained", "pretrained", "after stage 1")})
    for ax in fig.axes:
        styles = {(line.get_color(), line.get_linestyle(), line.get_marker()) for line in ax.get_lines()[:3]}
        assert len(styles) == 3 and len({s[0] for s in styles}) == 3 and len({s[1] for s in styles}) == 3
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == ["untrained", "pretrained", "after stage 1", "chance (random neighbours)"]
    plt.close("all")


def test_text_views_are_short_and_rounded(images):
    assert viz.rounded({"a": 0.123456789, "b": [np.float32(1.23456e-5), 12.34567, float("nan")], "n": 3}) == {
        "a": 0.123,
        "b": [1.23e-05, 12.346, None],
        "n": 3,
    }
    assert viz.format_numbers({"a": np.float64(0.1234567), "ids": [1, 0, 3]}) == '{\n "a": 0.123,\n "ids": [1, 0, 3]\n}'
    from vireid_core.data.dataset import ReIDDataset

    dataset = ReIDDataset(
        "synth", "/data", images, images[:3], images[3:], "sysu", info={"train_ids": list(range(500)), "trial": 1}
    )
    text = viz.dataset_summary(dataset)
    assert len(text) < 600 and "train_ids: 500" in text and "trial: 1" in text
    assert "9 visible images of 3 ids (cameras 1)" in text and "499" not in text


def _explorer():
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(10, 6))
    pids = np.tile(np.arange(10), 6)
    feats = (centres[pids] + 0.35 * rng.normal(size=(60, 6))).astype(np.float32)
    return analysis.ClusterExplorer(feats, np.repeat([0, 1], 30), pids, max_k1=12)


def _panel(debounce):
    return viz.cluster_explorer_panel(
        _explorer(),
        k1_values=[6, 8, 10],
        k2_values=[1, 2, 3, 5],
        eps_values=[0.4, 0.5, 0.6, 0.7],
        min_samples=2,
        debounce=debounce,
        initial={"k1": 8, "k2": 2, "eps": 0.5},
    )


def test_cluster_explorer_panel_draws_a_complete_changed_figure_on_every_move():
    """Driven like a user: every slider moved several times; after each move the Image widget holds a
    PNG that is drawn (not blank or title-only), differs from the one before, and shows the new values."""
    figures_before = plt.get_fignums()
    panel = _panel(debounce=0.0)
    assert panel.renders == 1 and panel.shown == {"k1": 8, "k2": 2, "eps": 0.5}
    assert "application/vnd.jupyter.widget-view+json" in panel._repr_mimebundle_()
    previous = panel.image.value
    assert_drawn(previous, "first figure")
    moves = [
        ("eps", 0.6),
        ("eps", 0.7),
        ("eps", 0.4),
        ("k1", 10),
        ("k1", 6),
        ("k1", 8),
        ("k2", 3),
        ("k2", 5),
        ("k2", 1),
    ]
    for name, value in moves:
        getattr(panel, name).value = value
        assert panel.shown[name] == value and panel.last_error is None
        assert_drawn(panel.image.value, f"figure after {name}={value}")
        assert pixel_change(previous, panel.image.value) > 0, f"{name}={value} left the figure unchanged"
        assert panel.status.value.count("clusters, ARI") == 2
        assert "k1={k1}, k2={k2}, eps={eps:g}".format(**panel.values()) in panel.status.value
        previous = panel.image.value
    assert panel.renders == 1 + len(moves)
    assert plt.get_fignums() == figures_before, "the panel must not register figures with pyplot"
    assert ("modality-aware", 8, 4) in panel.explorer._jaccard  # k1=8 caps k2=5 at 4 (the title says so)


def test_cluster_explorer_panel_debounces_and_never_overlaps_drawings():
    """Fast moves are drawn once, after the last; drawings requested from two threads at once are
    serialised and coalesced, and the figure on display is that of the sliders' final values."""
    panel = _panel(debounce=0.5)
    first = panel.image.value
    for value in (0.6, 0.7, 0.4, 0.6, 0.7):  # far faster than the debounce interval
        panel.eps.value = value
    assert panel.wait(30)
    assert panel.renders < 1 + 5, "five quick moves were drawn one by one"  # (normally 2: first + last)
    assert panel.shown["eps"] == 0.7
    assert pixel_change(first, panel.image.value) > 0
    assert_drawn(panel.image.value, "debounced figure")

    active, overlaps = [0], []
    render = panel.render

    def counting_render(**values):
        active[0] += 1
        overlaps.append(active[0])
        try:
            return render(**values)
        finally:
            active[0] -= 1

    panel.render = counting_render
    panel.k1.value = 10  # schedules a debounced drawing while the threads below draw directly
    threads = [threading.Thread(target=panel.refresh) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert panel.wait(30)
    assert max(overlaps) == 1, "two drawings ran at the same time"
    assert panel.shown == panel.values() == {"k1": 10, "k2": 2, "eps": 0.7}
    assert_drawn(panel.image.value, "figure after concurrent refreshes")
    panel.close()


def test_cluster_explorer_panel_is_immune_to_pyplot_on_another_thread():
    """While the panel draws, another thread does what the inline backend and other cells do to pyplot
    (create, draw and close all figures, re-apply the style); every figure the panel shows stays whole."""
    panel = _panel(debounce=0.0)
    stop, hammered = threading.Event(), [0]

    def pyplot_traffic():
        while not stop.is_set():
            viz.apply_style()
            fig, ax = plt.subplots()
            ax.bar([0, 1], [1, 2])
            fig.canvas.draw()
            plt.close("all")
            hammered[0] += 1

    other = threading.Thread(target=pyplot_traffic)
    other.start()
    shown = []
    try:
        for value in (0.6, 0.7, 0.4, 0.6):
            panel.eps.value = value
            shown.append((value, panel.image.value))
    finally:
        stop.set()
        other.join(30)
    assert hammered[0] > 0
    for value, png in shown:
        assert_drawn(png, f"figure at eps={value} drawn while pyplot was busy elsewhere")
    assert all(pixel_change(a, b) > 0 for (_, a), (_, b) in zip(shown, shown[1:], strict=False))
    plt.close("all")


def test_viz_package_keeps_the_lead_names():
    for name in ("apply_style", "save_figure", "plot_training_curves", "plot_stage_results", "demo_figures"):
        assert callable(getattr(viz, name))


def test_pair_auc_is_scale_free_and_separates_separated_from_mixed_pairs():
    rng = np.random.default_rng(0)
    pairs = np.array(["same id, cross modality"] * 50 + ["different id, cross modality"] * 50, dtype=object)
    separated = np.concatenate([rng.uniform(0.0, 0.4, 50), rng.uniform(0.6, 1.0, 50)])
    mixed = rng.uniform(0.0, 1.0, 100)
    table = {
        "distance": np.concatenate([separated, 80 * separated, mixed]),
        "pair": np.concatenate([pairs, pairs, pairs]),
        "measure": np.array(["separated"] * 100 + ["separated, 80x"] * 100 + ["mixed"] * 100, dtype=object),
    }
    auc = analysis.pair_auc(table)
    assert auc["separated"]["cross_modality"] == 1.0 == auc["separated, 80x"]["cross_modality"]
    assert abs(auc["mixed"]["cross_modality"] - 0.5) < 0.15
    assert np.isnan(auc["mixed"]["same_modality"])  # no same-person same-modality pairs in the table
    assert np.isnan(auc["mixed"]["cross_vs_same_modality"])  # no different-person same-modality pairs either
    ratio = analysis.gap_ratio({"intra": 0.01, "cross": 0.018, "intra_same_id": 0.5, "cross_same_id": 1.0})
    assert ratio["all"] == pytest.approx(1.8) and ratio["same_id"] == 2.0
    assert np.isnan(analysis.gap_ratio({"intra": 0.0, "cross": 1.0})["all"])


def test_distance_panels_note_saturation_only_for_jaccard():
    rng = np.random.default_rng(0)
    mods, pids = np.repeat([0, 1], 20), np.tile(np.repeat(np.arange(5), 4), 2)
    feats = analysis.unit_rows(rng.normal(size=(40, 8)))
    i, j, kind = analysis.sample_pairs(mods, pids, per_kind=20)
    table = analysis.distance_table({"Euclidean (2 - 2 cos)": feats, "plain Jaccard": feats}, i, j, kind)
    fig = viz.plot_distance_distributions(table, "Q?", auc=analysis.pair_auc(table))
    euclidean, jaccard = (ax.get_title() for ax in fig.axes)
    assert "0.999" not in euclidean and "0.999" in jaccard
    assert "AUC" in euclidean and "AUC" in jaccard
    plt.close("all")


def test_highlighted_embedding_joins_each_identity_s_centroids():
    rng = np.random.default_rng(0)
    mods, pids = np.repeat([0, 1], 30), np.tile(np.repeat(np.arange(10), 3), 2)
    coords = rng.normal(size=(60, 2))
    chosen = analysis.highlight_identities(pids, 4, seed=3)
    assert chosen == analysis.highlight_identities(pids, 4, seed=3) and len(set(chosen)) == 4
    assert chosen != analysis.highlight_identities(pids, 4, seed=4)
    fig = viz.plot_embedding(coords, mods, pids, "Q?", highlight=chosen)
    lines = [line for line in fig.axes[1].get_lines() if len(line.get_xdata()) == 2]
    assert len(lines) == 4  # one visible-infrared centroid line per highlighted identity
    vis, ir = viz.modality_centroids(coords, mods, pids, chosen[0])
    np.testing.assert_allclose(vis, coords[(pids == chosen[0]) & (mods == 0)].mean(axis=0))
    assert any(np.allclose(line.get_xdata(), [vis[0], ir[0]]) for line in lines)
    plt.close("all")


def test_queries_chosen_by_ap_quantile_and_gallery_frames():
    ap = np.array([0.3, 0.9, np.nan, 0.1, 0.5, 0.7])
    assert analysis.quantile_queries(ap, (1.0, 0.5, 0.0)) == [1, 4, 3]  # best, median, worst
    assert [analysis.quantile_label(q) for q in analysis.ap_quantiles(3)] == ["best", "median", "worst"]
    four = analysis.ap_quantiles(4)
    assert 0.5 in four and four[0] == 1.0 and four[-1] == 0.0 and four == sorted(four, reverse=True)
    assert analysis.ap_quantiles(2) == [1.0, 0.0]
    assert len(set(analysis.quantile_queries([0.2, 0.2], (1.0, 0.5)))) == 2  # never the same query twice
    q = np.eye(3, dtype=np.float32)
    g = np.array([[1, 0, 0], [0, 0, 1], [0, 1, 0], [0.9, 0.1, 0]], dtype=np.float32)
    ap = analysis.query_average_precision(q, g, [1, 2, 3], [1, 9, 2, 1])
    np.testing.assert_allclose(ap, [1.0, 1.0, np.nan])  # query 3 has no match
    ap = analysis.query_average_precision(q[:1], g, [9], [1, 9, 2, 1])
    np.testing.assert_allclose(ap, [1 / 3])  # the only match ranked 3rd (1, 0.9, then the tie in index order)


def test_retrieval_gallery_query_frame_is_neutral_and_labelled(images):
    ranked, correct = np.array([[0, 5], [1, 2]]), np.array([[True, False], [False, False]])
    fig = viz.plot_retrieval_gallery(
        images[:2], images, ranked, correct, row_labels=["best · AP 0.90", "worst · AP 0.10"]
    )
    frame = fig.axes[0].patches[0].get_edgecolor()
    from matplotlib.colors import to_rgba

    assert frame == to_rgba(viz.images.QUERY_FRAME)
    for colour in (*viz.MODALITY_COLOURS.values(), *viz.images.MATCH_COLOURS.values()):
        assert frame != to_rgba(colour)
    assert "best · AP 0.90" in fig.axes[0].get_title()
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["query", "same person", "different person"]
    plt.close("all")


def test_ablation_steps_are_paired_per_seed_and_drawn_around_zero():
    runs = {
        "M1": [{"all_rank1": 5.0}, {"all_rank1": 6.0}],
        "M2": [{"all_rank1": 6.0}, {"all_rank1": 5.5}],
        "M6": [{"all_rank1": 8.0}, {"all_rank1": 9.0}],
        "start": [{"all_rank1": 1.0}, {"all_rank1": 1.0}],
    }
    steps = analysis.ablation_steps(runs, metrics=["all_rank1"])
    assert steps == {"M2 - M1": {"all_rank1": [1.0, -0.5]}, "M6 - M1": {"all_rank1": [3.0, 3.0]}}
    assert analysis.ablation_steps({k: runs[k] for k in ("M2", "M6")}, ["all_rank1"]) == {
        "M6 - M2": {"all_rank1": [2.0, 3.5]}  # no one-component pair ran: consecutive rows
    }
    fig = viz.plot_ablation_differences(steps, seeds=[1, 2])
    ax = fig.axes[0]
    assert any(np.allclose(line.get_xdata(), 0) for line in ax.get_lines())  # the zero line
    assert sum(len(c.get_offsets()) for c in ax.collections) == 4  # every seed's point
    assert [t.get_text() for t in ax.get_yticklabels()] == ["M2 - M1", "M6 - M1"]
    plt.close("all")


def test_ceilings_and_pair_precision_are_drawn_on_clustering_and_training_figures():
    report = {"n_clusters": 3, "ari": 0.2, "cross_modality_pair_precision": 0.4, "single_modality_ceiling_ari": 0.67}
    fig = viz.plot_clustering_scores({"a": report}, "Q?", keys=("ari", "cross_modality_pair_precision"))
    assert any(np.allclose(line.get_ydata(), 0.67) for line in fig.axes[0].get_lines())
    rows = [
        {
            "kind": "plain",
            "k1": 6,
            "eps": e,
            "ari": 0.1,
            "mixed_cluster_fraction": 0.0,
            "cross_modality_pair_precision": 0.3,
            "single_modality_ceiling_ari": 0.67,
        }
        for e in (0.4, 0.6)
    ]
    fig = viz.plot_parameter_sweep(rows)
    assert len(fig.axes) == 3 and "precision" in fig.axes[2].get_title()
    assert any(np.allclose(line.get_ydata(), 0.67) for line in fig.axes[0].get_lines())
    history = _history()
    history[1].update(global_single_modality_ceiling_ari=0.67, global_cross_modality_pair_precision=0.3)
    fig = viz.plot_training_curves(history, title="Q?")
    labels = [t.get_text() for t in fig.axes[1].get_legend().get_texts()]
    assert "cross-modality pair precision" in labels and any("ceiling 0.67" in t for t in labels)
    fig = viz.plot_live_training(history, [{"stage": 1, "epoch": 0, "loss_intra": 2.0}])
    assert any("ceiling 0.67" in t.get_text() for t in fig.axes[2].get_legend().get_texts())
    plt.close("all")


def test_k1_slider_reaches_past_twice_a_person_s_images():
    mods, pids = np.repeat([0, 1], 400), np.tile(np.repeat(np.arange(20), 20), 2)
    values = analysis.k1_slider_values(16, mods, pids)
    assert values == [10, 16, 26, 40, 60] and max(values) > 2 * 20
    assert max(analysis.k1_slider_values(16, mods[:20].tolist() + [1] * 10, list(range(30)))) <= 20


def test_distinct_identities_differ_in_upper_garment(tmp_path):
    colours = {1: (200, 30, 30), 2: (205, 30, 30), 3: (30, 30, 200), 4: (30, 200, 30)}
    samples = []
    for pid, colour in colours.items():
        path = tmp_path / f"{pid}.png"
        Image.new("RGB", (16, 32), colour).save(path)
        samples.append(Sample(str(path), pid, 1, 0))
    chosen = analysis.distinct_identities(samples, 3, seed=0)
    assert chosen == analysis.distinct_identities(samples, 3, seed=0) and len(chosen) == 3
    assert not {1, 2} <= set(chosen)  # the two near-identical reds are never both shown
