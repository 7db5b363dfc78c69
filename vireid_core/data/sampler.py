"""Identity × instance sampler (docs/method.md §7) and a loader that never runs out (`IterLoader`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from torch.utils.data import DataLoader, Sampler


class IdentityInstanceSampler(Sampler[int]):
    """Yields groups of `num_instances` indices that share a label, labels in random order.

    One pass (docs/method.md §7; the thresholds are §11, Q10): for every label (labels < 0, i.e. DBSCAN
    outliers, are skipped) in a random order: pick an anchor uniformly among the label's positions and
    emit it; a label with a single image emits only the anchor. Otherwise emit `num_instances − 1` more
    positions drawn from the label's positions whose camera differs from the anchor's, or — if there are
    none — from the label's other positions. The draw is without replacement only if the candidates
    number at least `num_instances` (the reference's threshold, one more than strictly needed), else
    with replacement.

    All randomness comes from a private `numpy.random.Generator` seeded with (seed, epoch); call
    `set_epoch(e)` before each pass for a new order. Same (labels, cams, seed, epoch) → same indices;
    global `random`/numpy/torch state is neither read nor changed. Indices are positions in `labels`.
    """

    def __init__(self, labels: np.ndarray, cams: np.ndarray, num_instances: int = 16, seed: int = 0) -> None:
        labels = np.asarray(labels)
        cams = np.asarray(cams)
        if labels.ndim != 1 or cams.shape != labels.shape:
            raise ValueError(
                f"IdentityInstanceSampler: labels and cams must be 1-D of equal length, got "
                f"shapes {labels.shape} and {cams.shape}"
            )
        if not (np.issubdtype(labels.dtype, np.integer) or labels.size == 0):
            raise ValueError(f"IdentityInstanceSampler: labels must be integers, got dtype {labels.dtype}")
        if isinstance(num_instances, bool) or not isinstance(num_instances, int) or num_instances < 1:
            raise ValueError(f"IdentityInstanceSampler: num_instances must be an int >= 1, got {num_instances!r}")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"IdentityInstanceSampler: seed must be an int >= 0, got {seed!r}")
        self.labels = labels.astype(np.int64)
        self.cams = cams
        self.num_instances = num_instances
        self.seed = seed
        self.epoch = 0
        kept = np.flatnonzero(self.labels >= 0)
        order = kept[np.argsort(self.labels[kept], kind="stable")]
        self.unique_labels, starts = np.unique(self.labels[order], return_index=True)
        self._positions = np.split(order, starts[1:]) if order.size else []

    def set_epoch(self, epoch: int) -> None:
        """Sets the epoch that (with the seed) decides the next pass's random draws."""
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            raise ValueError(f"IdentityInstanceSampler.set_epoch: epoch must be an int >= 0, got {epoch!r}")
        self.epoch = epoch

    def __len__(self) -> int:
        """Returns the number of indices one pass yields (1 per single-image label, else num_instances)."""
        return int(sum(1 if len(p) == 1 else self.num_instances for p in self._positions))

    def indices(self) -> np.ndarray:
        """Returns one pass as an int64 array of positions (what `__iter__` yields)."""
        rng = np.random.default_rng([self.seed, self.epoch])
        extra = self.num_instances - 1
        out: list[np.ndarray] = []
        for label_slot in rng.permutation(len(self._positions)):
            positions = self._positions[label_slot]
            anchor = positions[rng.integers(len(positions))]
            out.append(np.array([anchor]))
            if len(positions) == 1 or extra == 0:
                continue
            candidates = positions[self.cams[positions] != self.cams[anchor]]
            if candidates.size == 0:
                candidates = positions[positions != anchor]
            replace = candidates.size < self.num_instances
            out.append(rng.choice(candidates, size=extra, replace=replace))
        return np.concatenate(out).astype(np.int64) if out else np.zeros(0, dtype=np.int64)

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices().tolist())


class IterLoader:
    """Wraps a DataLoader so that an epoch is exactly `iters` batches, restarting it when exhausted.

    Each (re)start of the underlying loader calls `set_epoch(first_pass + passes_so_far)` on its
    sampler (or its batch sampler's sampler) when that has a `set_epoch` method, so every pass draws
    a new, reproducible order. `next()` returns one batch; iterating yields `len(self)` batches.
    """

    def __init__(self, loader: DataLoader, iters: int | None = None, *, first_pass: int = 0) -> None:
        if iters is not None and (isinstance(iters, bool) or not isinstance(iters, int) or iters < 1):
            raise ValueError(f"IterLoader: iters must be an int >= 1 or None, got {iters!r}")
        self.loader = loader
        self.iters = iters
        self.next_pass = first_pass
        self._iterator: Iterator[Any] | None = None

    def __len__(self) -> int:
        """Returns `iters`, or the loader's length when `iters` is None."""
        return self.iters if self.iters is not None else len(self.loader)

    def _restart(self) -> None:
        sampler = getattr(self.loader, "sampler", None)
        batch_sampler = getattr(self.loader, "batch_sampler", None)
        for candidate in (sampler, getattr(batch_sampler, "sampler", None)):
            if hasattr(candidate, "set_epoch"):
                candidate.set_epoch(self.next_pass)
                break
        self.next_pass += 1
        self._iterator = iter(self.loader)

    def next(self) -> Any:
        """Returns the next batch, restarting the loader (new sampler epoch) when it runs out.

        Raises RuntimeError if a fresh pass yields no batch at all (e.g. fewer samples than one batch
        with drop_last=True).
        """
        if self._iterator is None:
            self._restart()
        try:
            return next(self._iterator)
        except StopIteration:
            self._restart()
            try:
                return next(self._iterator)
            except StopIteration:
                raise RuntimeError(
                    "IterLoader: the DataLoader yields no batch in a full pass (too few "
                    "samples for one batch with drop_last=True?)"
                ) from None

    def __iter__(self) -> Iterator[Any]:
        for _ in range(len(self)):
            yield self.next()


InfiniteBatches = IterLoader
