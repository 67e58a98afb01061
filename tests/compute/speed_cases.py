"""Published, measured training throughput with stated settings, and our estimate of each.

``measured`` is tokens per second over all GPUs. Sources: torchtune ``README.md`` (bd2a0fc7; batch 2,
packed 2048, compile; the 3B rows: batch 2, packed 4096, compile, chunked loss, checkpointing,
activation offloading; "Tokens/sec" of the distributed rows read as all GPUs together, since per
GPU they would exceed the A100's peak), PEFT ``method_comparison/MetaMathQA/results`` (the mean
of the logged "tokens / sec"; L40S, batch 4, no checkpointing, about 210 tokens per sample from
those logs), Answer.AI ``benchmarks_03_2024.md`` (1,024 samples of the stated length divided by
the stated time; their train.py defaults as in :mod:`lora_core.memory.parallel.validation`).
``holdout`` cases were not used to set :data:`lora_core.compute.throughput.EFFICIENCY`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from lora_core.compute.flops import attention_dims, token_flops
from lora_core.compute.gpus import GPUS
from lora_core.compute.throughput import comm_bytes, run_time
from lora_core.memory.parallel import STRATEGIES
from lora_core.planning import Plan, Target, count
from tests.memory.parallel_cases import CONFIGS, opened

TT = "pytorch/torchtune README.md"
MMQ = "huggingface/peft MetaMathQA results/{}.json"
AAI = "AnswerDotAI/fsdp_qlora benchmarks_03_2024.md"
CONFIGS_EXTRA = {
    "meta-llama/Llama-3.1-8B": dict(CONFIGS["meta-llama/Llama-3.1-70B"], hidden_size=4096, intermediate_size=14336,
                                    num_hidden_layers=32, num_attention_heads=32),
    "meta-llama/Llama-3.2-3B": dict(CONFIGS["meta-llama/Llama-3.1-70B"], hidden_size=3072, intermediate_size=8192,
                                    num_hidden_layers=28, num_attention_heads=24, head_dim=128,
                                    tie_word_embeddings=True),
}
CONFIGS.update(CONFIGS_EXTRA)


@dataclass(frozen=True)
class SpeedCase:
    """One published throughput measurement."""

    id: str
    model: str
    targets: tuple[tuple[str, int], ...]
    trainer: str
    gpu: str
    gpus: int
    strategy: str
    batch: int
    seq: int
    checkpointing: bool
    nf4: bool
    measured: float
    source: str
    offload: str = "none"
    holdout: bool = False
    note: str = ""


TT8 = tuple((k, 8) for k in ("q", "v", "o", "gate", "up", "down"))
TT16 = tuple((k, 16) for k in ("q", "v", "o", "gate", "up", "down"))
TT64 = tuple((k, 64) for k in ("q", "v", "o", "gate", "up", "down"))
AAI64 = tuple((k, 64) for k in ("q", "k", "v", "gate", "up", "down"))
_S = 1024  # Answer.AI: 1,024 samples per run


def _aai(cid, model, gpu, gpus, strategy, batch, seconds, nf4, offload="none", holdout=False, seq=2048):
    return SpeedCase(cid, model, AAI64, "peft", gpu, gpus, strategy, batch, seq, True, nf4, _S * seq / seconds, AAI,
                     offload, holdout, f"{_S} x {seq} tokens in {seconds} s")


CASES: tuple[SpeedCase, ...] = (
    SpeedCase("tt-8b-lora-4090", "meta-llama/Llama-3.1-8B", TT8, "torchtune", "rtx-4090", 1, "single", 2, 2048, True,
              False, 3083, TT),
    SpeedCase("tt-8b-lora-a6000", "meta-llama/Llama-3.1-8B", TT8, "torchtune", "a6000", 1, "single", 2, 2048, True,
              False, 4699, TT, holdout=True),
    SpeedCase("tt-8b-qlora-4090", "meta-llama/Llama-3.1-8B", TT8, "torchtune", "rtx-4090", 1, "single", 2, 2048, True,
              True, 2413, TT),
    SpeedCase("tt-70b-lora-8xa100", "meta-llama/Llama-3.1-70B", TT16, "torchtune", "a100-80gb", 8, "fsdp", 2, 2048,
              True, False, 3497, TT),
    SpeedCase("tt-405b-qlora-8xa100", "meta-llama/Llama-3.1-405B", TT16, "torchtune", "a100-80gb", 8, "fsdp-qlora", 2,
              2048, True, True, 653, TT, holdout=True),
    SpeedCase("tt-3b-lora-a100", "meta-llama/Llama-3.2-3B", TT64, "torchtune", "a100-80gb", 1, "single", 2, 4096, True,
              False, 8210, TT),
    SpeedCase("tt-3b-qlora-a100", "meta-llama/Llama-3.2-3B", TT64, "torchtune", "a100-80gb", 1, "single", 2, 4096,
              True, True, 8035, TT, holdout=True),
    SpeedCase("mmq-3b-r32-qv", "meta-llama/Llama-3.2-3B", (("q", 32), ("v", 32)), "peft", "l40s", 1, "single", 4, 210,
              False, False, 7174, MMQ.format("lora--llama-3.2-3B-rank32")),
    SpeedCase("mmq-3b-r64-qv", "meta-llama/Llama-3.2-3B", (("q", 64), ("v", 64)), "peft", "l40s", 1, "single", 4, 210,
              False, False, 7062, MMQ.format("lora--llama-3.2-3B-rank64"), holdout=True),
    SpeedCase("mmq-3b-r10-mlp", "meta-llama/Llama-3.2-3B", (("gate", 10), ("up", 10), ("down", 10)), "peft", "l40s", 1,
              "single", 4, 210, False, False, 6309, MMQ.format("lora--llama-3.2-3B-rank10-target-mlp")),
    SpeedCase("mmq-3b-dora-r32-qv", "meta-llama/Llama-3.2-3B", (("q", 32), ("v", 32)), "peft", "l40s", 1, "single", 4,
              210, False, False, 5941, MMQ.format("lora--llama-3.2-3B-rank32-dora"), holdout=True,
              note="DoRA's weight-norm pass per step is not counted"),
    _aai("aai-4090-lora-ddp-bs4", "meta-llama/Llama-2-7b-hf", "rtx-4090", 2, "ddp", 4, 437, False),
    _aai("aai-4090-lora-fsdp-bs6", "meta-llama/Llama-2-7b-hf", "rtx-4090", 2, "fsdp", 6, 481, False),
    _aai("aai-4090-lora-offload-bs10", "meta-llama/Llama-2-7b-hf", "rtx-4090", 2, "fsdp", 10, 482, False,
         "optimizer+params", holdout=True),
    _aai("aai-4090-qlora-ddp-bs8", "meta-llama/Llama-2-7b-hf", "rtx-4090", 2, "ddp", 8, 450, True),
    _aai("aai-4090-qlora-fsdp-bs10", "meta-llama/Llama-2-7b-hf", "rtx-4090", 2, "fsdp-qlora", 10, 466, True,
         holdout=True),
    _aai("aai-4090-yi34b-qlora-bs2", "01-ai/Yi-34B", "rtx-4090", 2, "fsdp-qlora", 2, 2072, True),
    _aai("aai-4090-70b-qlora-offload-bs2", "meta-llama/Llama-2-70b-hf", "rtx-4090", 2, "fsdp-qlora", 2, 4399, True,
         "optimizer+params", holdout=True),
    _aai("aai-3090-qlora-bs4", "meta-llama/Llama-2-7b-hf", "rtx-3090", 2, "fsdp-qlora", 4, 998, True),
    _aai("aai-3090-lora-bs4", "meta-llama/Llama-2-7b-hf", "rtx-3090", 2, "fsdp", 4, 1366, False, holdout=True),
    _aai("aai-a100-8x-70b-qlora-bs4", "meta-llama/Llama-2-70b-hf", "a100-40gb", 8, "fsdp-qlora", 4, 672, True),
    _aai("aai-h100-4x-70b-qlora-bs8", "meta-llama/Llama-2-70b-hf", "h100-80gb", 4, "fsdp-qlora", 8, 667, True,
         holdout=True),
    _aai("aai-a100-2x-70b-qlora-bs1", "meta-llama/Llama-2-70b-hf", "a100-40gb", 2, "fsdp-qlora", 1, 3277, True,
         holdout=True),
)


def estimate_speed(case: SpeedCase):
    """The :class:`~lora_core.compute.throughput.RunTime` for a case (fast and slow ends)."""
    skel, index, sizes = opened(case.model)
    plan = Plan(tuple(Target(k, r) for k, r in case.targets))
    trainable = count(plan, index).trainable
    flops = token_flops(sizes, trainable, case.seq, case.checkpointing, attention_dims(skel.config))
    stored = 2 * sizes.total if not case.nf4 else (sizes.total - sizes.root) // 2 + 2 * sizes.root
    quantized = (sizes.total - sizes.root) if case.nf4 else 0
    link, host = comm_bytes(STRATEGIES[case.strategy], sizes, stored, 4 * trainable, case.gpus, case.offload)
    return run_time(flops, GPUS[case.gpu], case.gpus, case.trainer, case.batch * case.seq, quantized,
                    case.checkpointing, link, host, 1.0, 1.0, None)


def speed_table(cases: tuple[SpeedCase, ...] = CASES, band: float = 0.25) -> pd.DataFrame:
    """One row per case: ``id, gpu, gpus, strategy, slow, fast, mid, measured, ratio, within, holdout``.

    ``mid`` is the geometric middle of the range; ``ratio`` is ``mid / measured``.
    """
    rows = []
    for c in cases:
        t = estimate_speed(c)
        slow, fast = t.tokens_per_s
        mid = (slow * fast) ** 0.5
        implied = c.measured / c.gpus * t.flops.total / (GPUS[c.gpu].tflops * 1e12)
        rows.append(dict(id=c.id, trainer=c.trainer, gpu=c.gpu, gpus=c.gpus, strategy=c.strategy, slow=slow,
                         fast=fast, mid=mid, measured=c.measured, ratio=mid / c.measured,
                         within=abs(mid / c.measured - 1) <= band, holdout=c.holdout, implied_efficiency=implied,
                         source=c.source, note=c.note))
    return pd.DataFrame(rows)
