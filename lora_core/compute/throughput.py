"""Tokens per second, hours per epoch and cost of a run, as a range.

Per GPU, one step of ``batch * seq`` tokens takes::

    compute  = tokens * FLOPs per token / (peak dense bf16 * efficiency)
    dequant  = QLoRA's 4-bit dequantization (memory-bound, :mod:`.flops`)
    comm     = what the strategy moves per step over the GPU link (ZeRO-3 / FSDP: the weights
               gathered for the forward and again for the backward; everything: the adapters'
               gradients reduced) and over the host link when offloading (optimizer: the adapters'
               gradients and weights; parameters: each rank's shard per gather)

The fast end of the range overlaps communication with compute (``max``), the slow end does not
(``sum``) and uses the low efficiency. ``efficiency`` is per trainer (and GPU where a measurement
exists), taken from the published runs of ``tests/compute/speed_cases.py`` (see docs/parallel.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..memory.parallel.sizes import ModelSizes
from ..memory.parallel.strategies import Strategy
from .flops import TokenFlops, dequant_seconds_per_step
from .gpus import Gpu

# Efficiency = executed FLOPs (recompute included) / datasheet dense peak. Per trainer, the (low, high)
# ceiling reached by large steps; small steps reach less: eff = ceiling * x / (x + STEP_TOKENS_HALF),
# x the tokens per GPU per step (kernel launch and optimizer overheads per step, fitted on the
# calibration runs of tests/compute/speed_cases.py: PEFT's 840-token MetaMathQA steps reach about half
# of what Answer.AI's 8-20k-token steps reach with the same eager transformers stack).
EFFICIENCY: dict[str, tuple[float, float]] = {
    "torchtune": (0.60, 0.80),   # torch.compile, packed sequences
    "peft": (0.45, 0.65),        # transformers / PEFT eager, SDPA
    "axolotl": (0.45, 0.65),
    "llamafactory": (0.45, 0.65),
    "unsloth": (0.55, 0.80),     # Triton kernels
    "litgpt": (0.45, 0.65),
}
STEP_TOKENS_HALF = 1024
# Consumer boards run above their datasheet boost clock under load: a factor on the efficiency,
# from the RTX 4090 and 3090 runs of the throughput table against the A100 runs of the same script.
GPU_FACTOR: dict[str, float] = {"rtx-4090": 1.15, "rtx-3090": 1.15}


def efficiency(trainer: str, gpu: str, tokens_per_step: int) -> tuple[float, float]:
    """``(low, high)`` efficiency for a step of ``tokens_per_step`` tokens on one GPU."""
    low, high = EFFICIENCY.get(trainer, EFFICIENCY["peft"])
    scale = GPU_FACTOR.get(gpu, 1.0) * tokens_per_step / (tokens_per_step + STEP_TOKENS_HALF)
    return min(low * scale, 0.95), min(high * scale, 0.95)


@dataclass(frozen=True)
class RunTime:
    """Throughput and time of a run; each ``(slow, fast)``."""

    tokens_per_s: tuple[float, float]
    hours: tuple[float, float]
    cost: tuple[float, float] | None
    step_seconds: tuple[float, float]
    compute_s: float
    dequant_s: float
    comm_s: float
    flops: TokenFlops

    def as_dict(self) -> dict:
        return {"tokens_per_s": list(self.tokens_per_s), "hours": list(self.hours),
                "cost": list(self.cost) if self.cost else None, "step_seconds": list(self.step_seconds),
                "compute_s": self.compute_s, "dequant_s": self.dequant_s, "comm_s": self.comm_s,
                "flops_per_token": self.flops.as_dict()}


def comm_bytes(strategy: Strategy, sizes: ModelSizes, stored_bytes: int, trainable_bytes: int, gpus: int,
               offload: str) -> tuple[float, float]:
    """``(bytes over the GPU link, bytes over the host link)`` per GPU per step."""
    if gpus < 2 and offload == "none":
        return 0.0, 0.0
    share = (gpus - 1) / gpus
    link = 2 * trainable_bytes * share  # the adapters' gradients: all-reduce / reduce-scatter
    host = 0.0
    if strategy.shards_params:
        gathers = 2 if strategy.reshard_after_forward or strategy.engine == "deepspeed" else 1
        link += gathers * stored_bytes * share
        if offload == "optimizer+params":
            host += gathers * stored_bytes / gpus
    if offload != "none":
        host += 2 * trainable_bytes  # gradients down, updated weights up
    return link, host


def run_time(flops: TokenFlops, gpu: Gpu, gpus: int, trainer: str, tokens_per_step: int, dequant_params: int,
             checkpointing: bool, link_bytes: float, host_bytes: float, dataset_tokens: float, epochs: float,
             price: float | None) -> RunTime:
    """The :class:`RunTime` of ``epochs`` passes over ``dataset_tokens`` on ``gpus`` x ``gpu``."""
    low, high = efficiency(trainer, gpu.name, tokens_per_step)
    peak = gpu.tflops * 1e12
    compute_fast = tokens_per_step * flops.total / (peak * high)
    compute_slow = tokens_per_step * flops.total / (peak * low)
    dequant = dequant_seconds_per_step(dequant_params, checkpointing, gpu.bandwidth_gbs) if dequant_params else 0.0
    comm = link_bytes / (gpu.link_gbs * 1e9) + host_bytes / (gpu.host_gbs * 1e9)
    fast = max(compute_fast + dequant, comm)
    slow = compute_slow + dequant + comm
    tps = (gpus * tokens_per_step / slow, gpus * tokens_per_step / fast)
    total = dataset_tokens * epochs
    hours = (total / tps[0] / 3600, total / tps[1] / 3600)
    cost = (hours[0] * gpus * price, hours[1] * gpus * price) if price is not None else None
    return RunTime(tps, hours, cost, (slow, fast), compute_fast, dequant, comm, flops)
