"""Time and cost of a LoRA run: GPUs (:mod:`.gpus`), FLOPs per token (:mod:`.flops`), throughput,
hours and cost as a range (:mod:`.throughput`), held against published runs (``tests/compute/speed_cases.py``),
and the report that ties them to the per-GPU memory of a strategy (:mod:`.report`)."""

from .gpus import GPU_NAMES, GPUS, Gpu, get_gpu
from .throughput import EFFICIENCY, RunTime, run_time

__all__ = ["EFFICIENCY", "GPUS", "GPU_NAMES", "Gpu", "RunTime", "get_gpu", "run_time"]
