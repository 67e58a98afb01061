"""One answer for a plan on a cluster: memory per GPU, host RAM, smallest GPU count per strategy,
tokens per second, hours and cost; computed from the single-GPU estimate and the model's sizes.

Everything here is arithmetic on two cached inputs (the plan's :class:`MemoryEstimate` and the
model's :class:`ModelSizes`), so a toggle of GPU, count, strategy or price costs well under a
millisecond of the page's rerun (``bench/bench_cluster.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from ..errors import InputError
from ..memory.estimate import MemoryEstimate
from ..memory.parallel import (EngineKnobs, ModelSizes, ParallelEstimate, best_fit, check_combination,
                               min_gpus_table, parallel_estimate, strategies_for)
from ..memory.parallel.deepspeed_ref import EstimatorGap, model_states_gap
from .flops import attention_dims, token_flops
from .gpus import get_gpu
from .throughput import RunTime, comm_bytes, run_time


@dataclass(frozen=True)
class ClusterSettings:
    """The cluster and the run. Defaults: 1 x H100 80GB, single GPU, 50M tokens, 3 epochs.

    ``price`` per GPU-hour in USD; ``None`` takes the GPU's sourced default (or no cost)."""

    gpus: int = 1
    gpu: str = "h100-80gb"
    strategy: str = "single"
    offload: str = "none"
    dataset_tokens: float = 50e6
    epochs: float = 3.0
    price: float | None = None
    knobs: EngineKnobs = field(default_factory=EngineKnobs)

    def __post_init__(self) -> None:
        get_gpu(self.gpu)
        for name in ("dataset_tokens", "epochs"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
                raise InputError(name, f"must be a positive number, got {v!r}")
        if self.price is not None and (isinstance(self.price, bool) or not isinstance(self.price, (int, float))
                                       or not math.isfinite(self.price) or self.price < 0):
            raise InputError("price", f"must be a non-negative number of USD per GPU-hour, got {self.price!r}")


@dataclass(frozen=True)
class ClusterReport:
    """The answers: ``per_gpu`` peaks, ``min_gpus`` per strategy, ``run`` time and cost, DeepSpeed's gap."""

    settings: ClusterSettings
    per_gpu: ParallelEstimate
    min_gpus: pd.DataFrame
    best: dict | None
    run: RunTime
    price: float | None
    ds_gap: EstimatorGap | None

    @property
    def fits(self) -> bool:
        return self.per_gpu.fits(get_gpu(self.settings.gpu).memory_gib)

    def payload(self) -> dict:
        """The JSON ``plan --json`` adds: ``per_gpu``, ``cpu_ram``, ``min_gpus``, ``tokens_per_s``,
        ``hours``, ``cost`` (ranges ``[slow, fast]``) and the cluster settings."""
        s = self.settings
        rows = self.min_gpus.astype(object).where(self.min_gpus.notna(), None).to_dict("records")
        return {"cluster": {"gpus": s.gpus, "gpu": s.gpu, "strategy": s.strategy, "offload": s.offload,
                            "dataset_tokens": s.dataset_tokens, "epochs": s.epochs, "price": self.price},
                "per_gpu": {**self.per_gpu.peaks(), "components": self.per_gpu.components, "fits": self.fits},
                "cpu_ram": self.per_gpu.cpu_ram,
                "min_gpus": {f"{r['strategy']}" + ("" if r["offload"] == "none" else f"+offload:{r['offload']}"):
                             (None if r["min_gpus"] is None else int(r["min_gpus"])) for r in rows},
                "best_fit": self.best, "tokens_per_s": list(self.run.tokens_per_s), "hours": list(self.run.hours),
                "cost": list(self.run.cost) if self.run.cost else None,
                "deepspeed_estimator": ({"stage": self.ds_gap.stage, "deepspeed": self.ds_gap.deepspeed,
                                         "ours": self.ds_gap.ours, "difference": self.ds_gap.difference}
                                        if self.ds_gap else None)}


def fit_table(est: MemoryEstimate, sizes: ModelSizes, trainable: int, trainer: str, base_dtype: str,
              cluster: ClusterSettings) -> pd.DataFrame:
    """The smallest count per strategy the trainer offers on the cluster's GPU kind: it depends on the
    plan, the memory settings, the GPU kind and the engine knobs only, not on the count, strategy,
    offload, dataset or price (a page may keep it across those)."""
    return min_gpus_table(est, sizes, trainable, strategies_for(trainer, base_dtype), get_gpu(cluster.gpu).memory_gib,
                          cluster.knobs)


def cluster_report(est: MemoryEstimate, sizes: ModelSizes, config, trainable: int, trainer: str, base_dtype: str,
                   batch: int, seq: int, checkpointing: bool, cluster: ClusterSettings,
                   table: pd.DataFrame | None = None) -> ClusterReport:
    """The :class:`ClusterReport` (raises ``InputError`` for a combination the trainer cannot run);
    ``table``: :func:`fit_table` of the same inputs, when the caller has it already."""
    strategy = check_combination(cluster.strategy, cluster.offload, cluster.gpus, trainer, base_dtype)
    gpu = get_gpu(cluster.gpu)
    per_gpu = parallel_estimate(est, sizes, trainable, strategy, cluster.gpus, cluster.offload, cluster.knobs)
    if table is None:
        table = fit_table(est, sizes, trainable, trainer, base_dtype, cluster)
    rows = table.to_dict("records")
    flops = token_flops(sizes, trainable, seq, checkpointing, attention_dims(config))
    quantized = (sizes.total - sizes.root) if base_dtype == "nf4" else 0
    link, host = comm_bytes(strategy, sizes, est.base_weights, 4 * trainable, cluster.gpus, cluster.offload)
    price = cluster.price if cluster.price is not None else gpu.default_price
    run = run_time(flops, gpu, cluster.gpus, trainer, batch * seq, quantized, checkpointing, link, host,
                   cluster.dataset_tokens, cluster.epochs, price)
    gap = model_states_gap(sizes, trainable, strategy.zero_stage, cluster.gpus) \
        if strategy.engine == "deepspeed" and strategy.zero_stage in (2, 3) else None
    return ClusterReport(cluster, per_gpu, table, best_fit(rows), run, price, gap)
