"""DeepSpeed's own model-states estimators, restated, and how far they are from a LoRA run.

``estimate_zero2_model_states_mem_needs`` (``deepspeed/runtime/zero/stage_1_and_2.py``) and
``estimate_zero3_model_states_mem_needs`` (``stage3.py``) size every parameter as trainable: 18
bytes each for the 16-bit gradient, fp32 master, fp32 gradient and Adam's moments
(microsoft/DeepSpeed#5304). A LoRA run trains a fraction of a percent of them, so for LoRA those
estimates overstate the per-GPU model states by about ``18 * frozen / N`` bytes (ZeRO-3) or
``18 * frozen / N`` on top of the whole 16-bit copy (ZeRO-2). The functions here give DeepSpeed's
figure, ours for the same model states, and the difference; ``tests/replays/deepspeed_estimators.py``
checks the restatement against DeepSpeed's code on the same meta model.
"""

from __future__ import annotations

from dataclasses import dataclass

from .sizes import ModelSizes


def ds_zero2_gpu_bytes(total: int, gpus: int, cpu_offload: bool) -> int:
    """DeepSpeed's per-GPU figure for ZeRO-2 (one node): ``2P + 18P/N``, or ``2P`` with offload."""
    return 2 * total if cpu_offload else 2 * total + int(18 * total / gpus)


def ds_zero3_gpu_bytes(total: int, largest_layer: int, gpus: int, cpu_offload: bool, offload_params: bool) -> int:
    """DeepSpeed's per-GPU figure for ZeRO-3 (one node): ``4L + 18P/N`` (``4L + 2P/N`` offloading the
    optimizer, ``4L`` offloading parameters too), L the largest module's parameters."""
    largest = 4 * largest_layer
    if cpu_offload:
        return largest if offload_params else largest + int(2 * total / gpus)
    return largest + int(18 * total / gpus)


@dataclass(frozen=True)
class EstimatorGap:
    """DeepSpeed's model-states figure beside ours for a LoRA plan, per GPU (bytes)."""

    stage: int
    gpus: int
    deepspeed: int
    ours: int

    @property
    def difference(self) -> int:
        return self.deepspeed - self.ours

    @property
    def ratio(self) -> float:
        return self.deepspeed / self.ours if self.ours else float("inf")

    def sentence(self) -> str:
        """``"DeepSpeed's estimator: 140.3 GiB per GPU for ZeRO-3 ... (+121.0 GiB) ..."``."""
        gib = 2**30
        return (f"DeepSpeed's own estimator says {self.deepspeed / gib:.1f} GiB per GPU of model states for "
                f"ZeRO-{self.stage} on {self.gpus} GPUs; this plan's are {self.ours / gib:.1f} GiB "
                f"({self.difference / gib:+.1f} GiB): it counts every parameter as trainable (18 bytes each "
                "for gradients, fp32 master and Adam's moments, microsoft/DeepSpeed#5304), while LoRA "
                "trains only the adapters.")


def model_states_gap(sizes: ModelSizes, trainable: int, stage: int, gpus: int) -> EstimatorGap:
    """DeepSpeed's figure and ours for the same model states (no offload): 16-bit weights plus
    the trainable parameters' 16-bit gradient, fp32 master and gradient and Adam's moments.

    Ours: ZeRO-2 ``2P + 2T + 16T/N``; ZeRO-3 ``4L + 2P/N + 18T/N`` (T trainable, P all parameters).
    """
    p, t, n = sizes.total + trainable, trainable, gpus
    if stage == 3:
        ds = ds_zero3_gpu_bytes(p, sizes.largest_module, n, False, False)
        ours = 4 * sizes.largest_module + int(2 * p / n) + int(16 * t / n)
    else:
        ds = ds_zero2_gpu_bytes(p, n, False)
        ours = 2 * p + 2 * t + int(16 * t / n)
    return EstimatorGap(stage, n, ds, ours)
