"""The answers a user chooses by: the smallest GPU count that fits, per strategy, and memory against N."""

from __future__ import annotations

from bisect import bisect_left

import pandas as pd

from ..estimate import GIB, MemoryEstimate
from .per_gpu import EngineKnobs, parallel_estimate
from .sizes import ModelSizes
from .strategies import STRATEGIES

# GPU counts tried: every count on one node, then whole nodes of 8 up to 1024 GPUs.
CANDIDATE_GPUS: tuple[int, ...] = tuple(range(1, 9)) + tuple(range(16, 1025, 8))
CHART_GPUS: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64, 128)


def counts_for(strategy: str) -> tuple[int, ...]:
    """The counts a strategy can run on: 1 for ``single``, 2 and more for the others."""
    return (1,) if strategy == "single" else tuple(n for n in CANDIDATE_GPUS if n >= 2)


def min_gpus(est: MemoryEstimate, sizes: ModelSizes, trainable: int, strategy: str, offload: str,
             gpu_gib: float, knobs: EngineKnobs = EngineKnobs()) -> int | None:
    """The smallest count in :data:`CANDIDATE_GPUS` whose nvidia-smi figure fits ``gpu_gib``, or ``None``.

    Per-GPU memory never grows with N (sharded terms shrink, the rest stays), so a bisection finds it.
    """
    counts = counts_for(strategy)
    s = STRATEGIES[strategy]
    fits = [False] * len(counts)

    def fit(i: int) -> bool:
        fits[i] = parallel_estimate(est, sizes, trainable, s, counts[i], offload, knobs).fits(gpu_gib)
        return fits[i]

    if not fit(len(counts) - 1):
        return None
    i = bisect_left(range(len(counts)), True, key=fit)
    return counts[i]


def min_gpus_table(est: MemoryEstimate, sizes: ModelSizes, trainable: int, strategies: tuple[str, ...],
                   gpu_gib: float, knobs: EngineKnobs = EngineKnobs()) -> pd.DataFrame:
    """One row per (strategy, offload): ``strategy, label, offload, min_gpus`` (nullable) and
    ``per_gpu_bytes`` (nvidia-smi at that count) and ``cpu_ram`` (host bytes at that count)."""
    rows = []
    for name in strategies:
        s = STRATEGIES[name]
        for offload in s.offloads:
            n = min_gpus(est, sizes, trainable, name, offload, gpu_gib, knobs)
            p = parallel_estimate(est, sizes, trainable, s, n, offload, knobs) if n else None
            rows.append(dict(strategy=name, label=s.label, offload=offload, min_gpus=n,
                             per_gpu_bytes=p.nvidia_smi if p else None, cpu_ram=p.cpu_ram if p else None))
    return pd.DataFrame(rows, columns=["strategy", "label", "offload", "min_gpus", "per_gpu_bytes", "cpu_ram"])


def best_fit(table: pd.DataFrame | list[dict]) -> dict | None:
    """The row with the fewest GPUs without offload (offload moves the weights or states to host RAM,
    which a node may not have, and slows every step); an offloading row only when nothing else fits;
    ``None`` when nothing fits at all. Plain Python over the rows: it runs on every toggle."""
    rows = table.to_dict("records") if isinstance(table, pd.DataFrame) else table
    fit = [r for r in rows if r["min_gpus"] is not None and r["min_gpus"] == r["min_gpus"]]
    if not fit:
        return None
    row = min(fit, key=lambda r: (r["offload"] != "none", r["min_gpus"]))
    return {k: (int(v) if k in ("min_gpus", "per_gpu_bytes", "cpu_ram") else v) for k, v in row.items()}


def sweep_frame(est: MemoryEstimate, sizes: ModelSizes, trainable: int, strategies: tuple[str, ...],
                offload: str = "none", counts: tuple[int, ...] = CHART_GPUS,
                knobs: EngineKnobs = EngineKnobs()) -> pd.DataFrame:
    """Memory per GPU against N for a chart: ``strategy, label, gpus, gib`` (nvidia-smi figure).

    Each strategy at ``offload`` when it accepts it, else without offload; ``single`` at N = 1 only.
    """
    rows = []
    for name in strategies:
        s = STRATEGIES[name]
        off = offload if offload in s.offloads else "none"
        for n in counts_for(name) if name == "single" else counts:
            if name != "single" and n < 2:
                continue
            p = parallel_estimate(est, sizes, trainable, s, n, off, knobs)
            rows.append(dict(strategy=name, label=s.label, gpus=n, gib=p.nvidia_smi / GIB))
    return pd.DataFrame(rows, columns=["strategy", "label", "gpus", "gib"])
