"""Memory per GPU across strategies (single, DDP, ZeRO-1/2/3 with offload, FSDP full shard and
shard-grad-op, FSDP + QLoRA), what each engine shards read from its code (:mod:`.strategies`),
the per-GPU peaks (:mod:`.per_gpu`), the smallest GPU count and the chart data (:mod:`.sweep`),
and DeepSpeed's own estimators beside ours (:mod:`.deepspeed_ref`); held against published runs in
``tests/memory/parallel_cases.py``."""

from .per_gpu import EngineKnobs, ParallelEstimate, parallel_estimate
from .sizes import ModelSizes, model_sizes
from .strategies import (OFFLOADS, STRATEGIES, STRATEGY_NAMES, TRAINER_STRATEGIES, Strategy, applicable,
                         check_combination, get_strategy, strategies_for)
from .sweep import CANDIDATE_GPUS, best_fit, min_gpus, min_gpus_table, sweep_frame

__all__ = ["CANDIDATE_GPUS", "EngineKnobs", "ModelSizes", "OFFLOADS", "ParallelEstimate", "STRATEGIES",
           "STRATEGY_NAMES", "Strategy", "TRAINER_STRATEGIES", "applicable", "best_fit", "check_combination",
           "get_strategy", "min_gpus", "min_gpus_table", "model_sizes", "parallel_estimate", "strategies_for",
           "sweep_frame"]
