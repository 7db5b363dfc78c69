"""How the neighbour search runs: :class:`KnnConfig`, the one settings object of every back end."""

from __future__ import annotations

from dataclasses import dataclass

METHODS = ("exact", "faiss_flat", "hnsw", "ivf", "ivf_blas")
SCREENS = ("auto", "bf16", "off")


@dataclass(frozen=True)
class KnnConfig:
    """How neighbours are searched (read by :func:`vireid_core.association.search.nearest_neighbours`).

    Attributes:
        method: "exact" (blocked float32 GEMM, the default), "faiss_flat" (faiss IndexFlat, exact),
            "hnsw" (faiss IndexHNSWFlat), "ivf" (faiss IndexIVFFlat) or "ivf_blas" (faiss k-means
            cells scanned with batched GEMMs; the fastest approximate option at D = 2048 on a few
            cores, see :mod:`~vireid_core.association.search.partitioned`).
        block_size: rows per GEMM block of the exact search.
        hnsw_m: HNSW graph degree.
        hnsw_ef_construction: HNSW build beam width.
        hnsw_ef_search: HNSW search beam width (raise it for more recall).
        ivf_nlist: IVF cell count; None means 4·sqrt(group size).
        ivf_nprobe: IVF cells visited per query.
        seed: seed of the IVF k-means training.
        screen: exact search only. "bf16" screens candidates with a bfloat16 GEMM and certifies them
            in float32 (:mod:`~vireid_core.association.search.screened`; same neighbours, up to
            float32 rounding of near-ties); "off" is the plain float32 GEMM; "auto" (default) uses
            "bf16" when the CPU has bfloat16 matrix instructions (AVX512-BF16 / AMX) and
            N >= screen_min_rows — a hardware check, not a timing, so the choice is the same on every
            run of a machine.
        screen_margin: extra candidates per row and modality kept by the screen.
        screen_min_rows: smallest N for which "auto" screens (below it the GEMM is short anyway).
    """

    method: str = "exact"
    block_size: int = 1024
    hnsw_m: int = 32
    hnsw_ef_construction: int = 64
    hnsw_ef_search: int = 96
    ivf_nlist: int | None = None
    ivf_nprobe: int = 24
    seed: int = 0
    screen: str = "auto"
    screen_margin: int = 16
    screen_min_rows: int = 8192

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"KnnConfig.method must be one of {', '.join(map(repr, METHODS))}, got {self.method!r}")
        if self.screen not in SCREENS:
            raise ValueError(f"KnnConfig.screen must be 'auto', 'bf16' or 'off', got {self.screen!r}")
        if self.screen_margin < 1:
            raise ValueError(f"KnnConfig.screen_margin must be >= 1, got {self.screen_margin}")
        if self.block_size < 1:
            raise ValueError(f"KnnConfig.block_size must be >= 1, got {self.block_size}")
