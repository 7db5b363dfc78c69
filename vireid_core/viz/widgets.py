"""The interactive clustering panel of notebook 02 (ipywidgets; the notebook shows a static sweep
figure as well, for headless runs)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from vireid_core.viz.base import plt
from vireid_core.viz.clusters import plot_cluster_compositions


def cluster_explorer_panel(explorer: Any, *, k1_values: Sequence[int], k2_values: Sequence[int],
                           eps_values: Sequence[float], min_samples: int = 4, initial: dict[str, Any] | None = None
                           ) -> Any:
    """Sliders for k1, k2 and eps over a :class:`vireid_core.analysis.ClusterExplorer`: each change
    redraws the cluster compositions of the plain and the modality-aware Jaccard (neighbour graphs are
    cached, so a change costs one Jaccard at most and a DBSCAN run).

    Returns an ``ipywidgets.VBox`` (display it in the notebook).
    """
    import ipywidgets as widgets
    from IPython.display import display

    initial = initial or {}
    k1 = widgets.SelectionSlider(options=list(k1_values), value=initial.get("k1", k1_values[0]), description="k1")
    k2 = widgets.SelectionSlider(options=list(k2_values), value=initial.get("k2", k2_values[0]), description="k2")
    eps = widgets.SelectionSlider(options=[round(float(e), 3) for e in eps_values],
                                  value=round(float(initial.get("eps", eps_values[0])), 3), description="eps")
    out = widgets.Output()

    def redraw(_: Any = None) -> None:
        k2_value = min(k2.value, k1.value // 2)
        labels, text = {}, []
        for kind in ("plain", "modality-aware"):
            labels[kind], report = explorer.cluster(kind, k1.value, k2_value, eps.value, min_samples)
            text.append(f"{kind}: {report['n_clusters']} clusters, ARI {report.get('ari', float('nan')):.3f}, "
                        f"mixed {report['mixed_cluster_fraction']:.2f}")
        fig = plot_cluster_compositions(labels, explorer.modality,
                                        title=f"Which clusters form at k1={k1.value}, k2={k2_value}, eps={eps.value}?")
        with out:
            out.clear_output(wait=True)
            print(" | ".join(text))
            display(fig)
        plt.close(fig)

    for slider in (k1, k2, eps):
        slider.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox([k1, k2, eps]), out])
