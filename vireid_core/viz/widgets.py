"""The interactive clustering panel of notebook 02 (ipywidgets; the notebook shows a static sweep
figure as well, for headless runs).

Why it is built this way: in JupyterLab, widget messages may be handled on a kernel thread other than
the one running the cells, and matplotlib's inline backend redraws every *pyplot* figure it knows at
the end of a cell. A callback that draws a pyplot figure and ``display``-s it into an ``Output`` widget
can therefore race with another redraw and send an empty, white or title-only image. The panel avoids
every shared piece of that:

* each change renders one **detached** figure (:func:`~vireid_core.viz.base.detached_figure`: not
  registered with pyplot, its own Agg canvas) once into PNG bytes, and shows the bytes in an
  ``ipywidgets.Image``; no ``Output`` widget, no ``display`` call, no global figure state;
* slider moves are **debounced** (sliders send a value when released; moves closer together than
  ``debounce`` seconds are drawn once, after the last one);
* redraws never overlap: a change that arrives while a drawing is running is **coalesced** into one
  more drawing of the sliders' latest values, so the last move always leaves its figure.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from vireid_core.viz.base import apply_style, figure_png
from vireid_core.viz.clusters import plot_cluster_compositions

KINDS = ("plain", "modality-aware")


class ClusterExplorerPanel:
    """Sliders for k1, k2 and eps over a :class:`vireid_core.analysis.ClusterExplorer`; each change
    redraws the cluster compositions of the plain and the modality-aware Jaccard (neighbour graphs are
    cached, so a change costs one Jaccard at most and a DBSCAN run).

    Display the panel itself (``display(panel)``, or end a cell with it); ``panel.widget`` is the
    ``ipywidgets.VBox`` it shows. The first figure is drawn before the constructor returns.

    Attributes:
        k1, k2, eps: the three ``SelectionSlider`` widgets.
        status: an ``HTML`` widget with one line per distance (clusters, ARI, mixed share).
        image: the ``Image`` widget holding the last figure as PNG bytes.
        shown: the slider values (k1, k2, eps) of the figure on display.
        renders: how many figures have been drawn.
        last_error: the exception of the last failed drawing, or None.
    """

    def __init__(
        self,
        explorer: Any,
        *,
        k1_values: Sequence[int],
        k2_values: Sequence[int],
        eps_values: Sequence[float],
        min_samples: int = 4,
        initial: dict[str, Any] | None = None,
        debounce: float = 0.3,
        dpi: int = 100,
    ) -> None:
        """
        Args:
            explorer: a ``ClusterExplorer`` (neighbour graphs of the features, cached Jaccard matrices).
            k1_values, k2_values, eps_values: the positions of each slider.
            min_samples: DBSCAN's ``min_samples``.
            initial: starting values {"k1", "k2", "eps"} (default: the first position of each slider).
            debounce: seconds to wait after a slider move before drawing (0: draw at once, in the
                thread that changed the slider).
            dpi: resolution of the PNG.
        """
        import ipywidgets as widgets

        initial = initial or {}
        self.explorer, self.min_samples, self.debounce, self.dpi = explorer, int(min_samples), float(debounce), dpi
        eps_options = [round(float(e), 3) for e in eps_values]

        def slider(name: str, options: list[Any], value: Any) -> Any:
            return widgets.SelectionSlider(
                options=options,
                value=value,
                description=name,
                continuous_update=False,
                layout=widgets.Layout(width="300px"),
            )

        self.k1 = slider("k1", list(k1_values), initial.get("k1", k1_values[0]))
        self.k2 = slider("k2", list(k2_values), initial.get("k2", k2_values[0]))
        self.eps = slider("eps", eps_options, round(float(initial.get("eps", eps_options[0])), 3))
        self.status = widgets.HTML()
        self.image = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self.widget = widgets.VBox([widgets.HBox([self.k1, self.k2, self.eps]), self.status, self.image])
        self.shown: dict[str, Any] | None = None
        self.renders = 0
        self.last_error: BaseException | None = None
        self._lock = threading.Lock()
        self._idle = threading.Event()
        self._idle.set()
        self._timer: threading.Timer | None = None
        self._pending = False
        self._drawing = False
        apply_style()  # once, here: drawing (possibly on another thread) never touches global style
        for s in (self.k1, self.k2, self.eps):
            s.observe(self._on_change, names="value")
        self.refresh()

    def values(self) -> dict[str, Any]:
        """The sliders' current values {"k1", "k2", "eps"}."""
        return {"k1": int(self.k1.value), "k2": int(self.k2.value), "eps": float(self.eps.value)}

    def render(self, k1: int, k2: int, eps: float) -> tuple[bytes, str]:
        """Cluster with both distances at (k1, k2, eps) and draw the compositions once.

        k2 is capped at k1 // 2 (query expansion over more neighbours than half the list makes no
        sense); the title says when that happens. Returns (PNG bytes, HTML status line: the slider values,
        then clusters / ARI / mixed share per distance). Touches no pyplot state, so it may run on any thread.
        """
        k2_used = min(int(k2), int(k1) // 2)
        labels, lines = {}, []
        for kind in KINDS:
            labels[kind], report = self.explorer.cluster(kind, k1, k2_used, eps, self.min_samples)
            ari = report.get("ari")
            lines.append(
                f"<b>{kind}</b>: {report['n_clusters']} clusters, "
                f"ARI {'–' if ari is None else f'{ari:.3f}'}, mixed {report['mixed_cluster_fraction']:.2f}"
            )
        k2_text = f"{k2_used}" if k2_used == k2 else f"{k2_used} (slider {k2}, capped at k1/2)"
        fig = plot_cluster_compositions(
            labels,
            self.explorer.modality,
            detached=True,
            title=f"Which clusters form at k1={k1}, k2={k2_text}, eps={eps:g}?",
        )
        shown = f"k1={k1}, k2={k2}, eps={eps:g}"
        return figure_png(fig, dpi=self.dpi), f"<code>{shown}</code> &nbsp;→&nbsp; " + " &nbsp;|&nbsp; ".join(lines)

    def refresh(self) -> None:
        """Draw the sliders' current values now (in this thread) and show them.

        Re-entrant and thread-safe: if a drawing is already running, this only marks the values as
        changed and that drawing runs once more with the latest values when it ends.
        """
        with self._lock:
            self._pending = True
            if self._drawing:
                return
            self._drawing = True
            self._idle.clear()
        try:
            while True:
                with self._lock:
                    if not self._pending:
                        break
                    self._pending = False
                self._draw_once()
        finally:
            with self._lock:
                self._drawing = False
                if self._timer is None:
                    self._idle.set()

    def wait(self, timeout: float = 60.0) -> bool:
        """Block until no drawing is scheduled or running; True if that happened within ``timeout``."""
        return self._idle.wait(timeout)

    def close(self) -> None:
        """Cancel a scheduled drawing and close the widgets."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if not self._drawing:
                self._idle.set()
        for widget in (*self.widget.children[0].children, *self.widget.children, self.widget):
            widget.close()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """Display as the panel's widget."""
        return self.widget._repr_mimebundle_(**kwargs)

    def _draw_once(self) -> None:
        values = self.values()
        try:
            png, text = self.render(**values)
        except Exception as err:  # keep the last figure, say what went wrong
            self.last_error = err
            self.status.value = f"<b>could not redraw</b> at {values}: {type(err).__name__}: {err}"
            return
        self.image.value = png
        self.status.value = text
        self.shown = values
        self.renders += 1
        self.last_error = None

    def _on_change(self, _: Any = None) -> None:
        if self.debounce <= 0:
            self.refresh()
            return
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            timer = threading.Timer(self.debounce, self._fire)
            timer.daemon = True
            self._timer = timer
            self._idle.clear()
        timer.start()

    def _fire(self) -> None:
        with self._lock:
            if self._timer is threading.current_thread():  # not a timer cancelled after it fired
                self._timer = None
        self.refresh()


def cluster_explorer_panel(explorer: Any, **options: Any) -> ClusterExplorerPanel:
    """The :class:`ClusterExplorerPanel` over ``explorer`` (display the returned object); ``options`` are the
    panel's keyword arguments (``k1_values``, ``k2_values``, ``eps_values``, ``min_samples``, ``initial``, ...)."""
    return ClusterExplorerPanel(explorer, **options)
