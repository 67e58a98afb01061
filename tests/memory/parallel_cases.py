"""Published, measured multi-GPU peaks per GPU with the settings their sources state, and our estimate.

Each :class:`ParallelCase` is one run: the model's shapes, the LoRA plan, the single-GPU settings
(batch per GPU, sequence, checkpointing, trainer knobs), the strategy, GPU count and offload, and
the measured figure of a stated kind (``allocated``, ``reserved``: PyTorch's peaks; ``nvidia_smi``:
a GPU monitor's reading). None of these is held out: nine were, when the table was built, but their
ratios were seen before the FSDP CPU-offload terms and the torchtune settings were revised
(2026-12-06), so the held-out check is ``bench/parallel_holdout.py``, whose runs (``holdout=True``)
were written down before any estimate of them.

Sources (read in the repositories named; quotes in each case):

- PEFT ``docs/source/accelerate/fsdp.md`` and ``deepspeed.md`` (huggingface/peft 5d602fdb): SFT
  of Llama-2-70B with ``examples/sft/train.py``: r 8, alpha 16, ``all-linear``, seq 2048, packing,
  gradient checkpointing, flash attention; accelerate YAML configs (DeepSpeed's own bucket
  defaults); ``utils.py`` loads the model in fp32 unless 4-bit (then in the bf16 quant storage).
- Answer.AI ``benchmarks_03_2024.md`` (AnswerDotAI/fsdp_qlora): their ``train.py`` (05ed9f2a)
  defaults: FSDP full shard, rank 64 on q, k, v, gate, up, down, precision ``bf16`` (model and
  LoRA in bf16, AdamW on bf16 parameters, no autocast), checkpointing, SDPA; "Peak Memory (GiB)"
  is ``torch.cuda.max_memory_reserved``; "DDP" is FSDP's ``NO_SHARD``; CPU offload is FSDP's.
- torchtune ``README.md`` (pytorch/torchtune; the rows were added in 30b8519e8, 2024-09-24, and are
  unchanged at bd2a0fc7): "batch size 2 (without gradient accumulation), a dataset packed to sequence
  length 2048, and torch compile enabled"; the configs at 30b8519e8, the measurements' time:
  ``llama3_1/70B_lora.yaml`` rank 16 on q, k, v (no MLP), batch 2, CEWithChunkedOutputLoss;
  ``405B_qlora.yaml`` rank 16 on q, v, k, output_proj and the MLP, batch_size 1 (the README's note
  says 2), ``torch.nn.CrossEntropyLoss`` (the model then returns ``self.output(h).float()``: fp32
  logits); both activation checkpointing, FSDP2 ``lora_finetune_distributed``; torchtune's
  ``get_memory_stats`` prints GiB (the 405B row's "GB" is read as GiB); ``compile=True`` as stated.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import pandas as pd
from transformers import AutoConfig

from lora_core.memory import MemorySettings, estimate_for_plan
from lora_core.memory.parallel import STRATEGIES, EngineKnobs, ParallelEstimate, model_sizes, parallel_estimate
from lora_core.model.inventory import build_inventory
from lora_core.model.skeleton import build_skeleton
from lora_core.planning import Plan, PlanIndex, Target, count
from tests.memory import tables

GIB = 2**30
PEFT_FSDP = "huggingface/peft docs/source/accelerate/fsdp.md"
PEFT_DS = "huggingface/peft docs/source/accelerate/deepspeed.md"
ANSWERAI = "AnswerDotAI/fsdp_qlora benchmarks_03_2024.md"
TORCHTUNE = "pytorch/torchtune README.md"

_LLAMA = dict(model_type="llama", rms_norm_eps=1e-5)
CONFIGS: dict[str, dict] = {
    "meta-llama/Llama-2-7b-hf": dict(_LLAMA, vocab_size=32000, hidden_size=4096, intermediate_size=11008,
                                     num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=32,
                                     max_position_embeddings=4096),
    "meta-llama/Llama-2-70b-hf": dict(_LLAMA, vocab_size=32000, hidden_size=8192, intermediate_size=28672,
                                      num_hidden_layers=80, num_attention_heads=64, num_key_value_heads=8,
                                      max_position_embeddings=4096),
    "01-ai/Yi-34B": dict(_LLAMA, vocab_size=64000, hidden_size=7168, intermediate_size=20480,
                         num_hidden_layers=60, num_attention_heads=56, num_key_value_heads=8,
                         max_position_embeddings=4096),
    "mistralai/Mistral-7B-v0.2": dict(model_type="mistral", vocab_size=32000, hidden_size=4096,
                                      intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32,
                                      num_key_value_heads=8, max_position_embeddings=32768, sliding_window=None),
    "meta-llama/Llama-3.1-70B": dict(_LLAMA, vocab_size=128256, hidden_size=8192, intermediate_size=28672,
                                     num_hidden_layers=80, num_attention_heads=64, num_key_value_heads=8,
                                     max_position_embeddings=131072),
    "meta-llama/Llama-3.1-405B": dict(_LLAMA, vocab_size=128256, hidden_size=16384, intermediate_size=53248,
                                      num_hidden_layers=126, num_attention_heads=128, num_key_value_heads=8,
                                      max_position_embeddings=131072),
}


@dataclass(frozen=True)
class ParallelCase:
    """One published multi-GPU measurement and the settings it was taken with."""

    id: str
    model: str
    targets: tuple[tuple[str, int], ...]
    settings: MemorySettings
    strategy: str
    gpus: int
    offload: str
    knobs: EngineKnobs
    measured: int
    kind: str  # "allocated" | "reserved" | "nvidia_smi"
    source: str
    quote: str
    holdout: bool = False
    note: str = ""

    @property
    def plan(self) -> Plan:
        return Plan(tuple(Target(k, r) for k, r in self.targets))


ALL_LINEAR8 = (("all-linear", 8),)
AAI_TARGETS = tuple((k, 64) for k in ("q", "k", "v", "gate", "up", "down"))
TT70_TARGETS = tuple((k, 16) for k in ("q", "k", "v"))
TT405_TARGETS = tuple((k, 16) for k in ("q", "k", "v", "o", "gate", "up", "down"))
_YAML = EngineKnobs(ds_buckets="deepspeed_default")
_TORCHTUNE = EngineKnobs(root_resharded=True, fsdp_version=2)
_TORCHTUNE_QLORA = EngineKnobs(root_resharded=True, shard_quant_constants=True, fsdp_version=2)
_FP32_LOAD = EngineKnobs(ds_buckets="deepspeed_default", fsdp_storage="fp32")


def _peft(batch: int, dtype: str = "bf16") -> MemorySettings:
    # examples/sft: Trainer(bf16=True), fp32 adapters, AdamW; TRL skips prepare_model_for_kbit_training
    # for sharded QLoRA (bnb_4bit_quant_storage set), so nothing is upcast; use_nested_quant True.
    return MemorySettings(dtype, batch, 2048, trainer="peft", upcast_unquantized=False if dtype != "bf16" else None,
                          double_quant=True if dtype != "bf16" else None)


def _aai(batch: int, seq: int = 2048, dtype: str = "bf16") -> MemorySettings:
    # train.py precision "bf16": model and LoRA in bf16, torch AdamW on them (bf16 moments), no autocast;
    # the HF model's loss upcasts logits to fp32; bnb Linear4bit compress_statistics default True.
    return MemorySettings(dtype, batch, seq, trainer="peft", adapter_dtype="bf16", optimizer="bf16", autocast=False,
                          upcast_unquantized=False, double_quant=True)


def _aai_case(cid: str, model: str, strategy: str, batch: int, gib: float, offload: str = "none", seq: int = 2048,
              dtype: str = "bf16", holdout: bool = False, quote: str = "") -> ParallelCase:
    return ParallelCase(cid, model, AAI_TARGETS, _aai(batch, seq, dtype), strategy, 2, offload, EngineKnobs(),
                        int(gib * GIB), "reserved", ANSWERAI, quote, holdout)


CASES: tuple[ParallelCase, ...] = (
    ParallelCase("peft-fsdp-lora-llama2-70b-8xh100", "meta-llama/Llama-2-70b-hf", ALL_LINEAR8, _peft(8), "fsdp", 8,
                 "none", _FP32_LOAD, int(76 * GIB), "nvidia_smi", PEFT_FSDP,
                 "the memory consumed per GPU is 72-80 GB (90-98%)", note="midpoint of the stated 72-80 GB"),
    ParallelCase("peft-fsdp-qlora-llama2-70b-2gpu-offload", "meta-llama/Llama-2-70b-hf", ALL_LINEAR8, _peft(2, "nf4"),
                 "fsdp-qlora", 2, "optimizer+params", _YAML, int(19.6 * GIB), "nvidia_smi", PEFT_FSDP,
                 "the memory consumed per GPU is **19.6 GB** while CPU RAM usage is around **107 GB**"),
    ParallelCase("peft-fsdp-qlora-llama2-70b-2gpu", "meta-llama/Llama-2-70b-hf", ALL_LINEAR8, _peft(2, "nf4"),
                 "fsdp-qlora", 2, "none", _YAML, int(35.6 * GIB), "nvidia_smi", PEFT_FSDP,
                 "When disabling CPU offloading, the GPU memory usage is  **35.6 GB/ GPU**"),
    ParallelCase("peft-zero3-lora-llama2-70b-8xh100", "meta-llama/Llama-2-70b-hf", ALL_LINEAR8, _peft(8), "zero3", 8,
                 "none", _YAML, int(64 * GIB), "nvidia_smi", PEFT_DS, "the memory consumed per GPU is 64 GB (80%)"),
    ParallelCase("peft-zero3-qlora-llama2-70b-2x40", "meta-llama/Llama-2-70b-hf", ALL_LINEAR8, _peft(2, "nf4"),
                 "zero3", 2, "none", _YAML, int(36.6 * GIB), "nvidia_smi", PEFT_DS,
                 "the memory consumed per GPU is **36.6 GB**"),
    _aai_case("aai-qlora-7b-bs1-512", "meta-llama/Llama-2-7b-hf", "fsdp-qlora", 1, 4.98, seq=512, dtype="nf4",
              quote="| QLoRA | 512 | 4.98 | 1,082 |"),
    _aai_case("aai-qlora-7b-bs1-2048", "meta-llama/Llama-2-7b-hf", "fsdp-qlora", 1, 5.21, dtype="nf4",
              quote="| QLoRA | 2048 | 5.21 | 1,564 |"),
    _aai_case("aai-lora-7b-bs1-512", "meta-llama/Llama-2-7b-hf", "fsdp", 1, 10.24, seq=512,
              quote="| LoRA | 512 | 10.24 | 2,597 |"),
    _aai_case("aai-lora-7b-bs1-2048", "meta-llama/Llama-2-7b-hf", "fsdp", 1, 10.22,
              quote="| LoRA | 2048 | 10.22 | 3,090 |"),
    _aai_case("aai-qlora-7b-bs4", "meta-llama/Llama-2-7b-hf", "fsdp-qlora", 4, 11.22, dtype="nf4",
              quote="| QLoRA | 4 | 11.22 | 998 |"),
    _aai_case("aai-qlora-7b-bs10", "meta-llama/Llama-2-7b-hf", "fsdp-qlora", 10, 20.97, dtype="nf4",
              quote="| QLoRA | 10 | 20.97 | 936 |"),
    _aai_case("aai-lora-7b-bs4", "meta-llama/Llama-2-7b-hf", "fsdp", 4, 16.14, quote="| LoRA | 4 | 16.14 | 1,366 |"),
    _aai_case("aai-lora-7b-bs6", "meta-llama/Llama-2-7b-hf", "fsdp", 6, 21.35, quote="| LoRA | 6 | 21.35 | 1,199 |"),
    _aai_case("aai-qlora-7b-ddp-bs8", "meta-llama/Llama-2-7b-hf", "ddp", 8, 20.94, dtype="nf4",
              quote="| QLoRA | True | 8 | 20.94 | 875 |"),
    _aai_case("aai-lora-7b-ddp-bs4", "meta-llama/Llama-2-7b-hf", "ddp", 4, 22.04,
              quote="| LoRA | True | 4 | 22.04 | 881 |"),
    _aai_case("aai-qlora-yi34b-bs2", "01-ai/Yi-34B", "fsdp-qlora", 2, 23.05, dtype="nf4",
              quote="| QLoRA | False | 2 | 23.05 | 5,041 |"),
    _aai_case("aai-qlora-yi34b-offload-bs4", "01-ai/Yi-34B", "fsdp-qlora", 4, 22.98, "optimizer+params", dtype="nf4",
              quote="| QLoRA | True | 4 | 22.98 | 4,830 |"),
    _aai_case("aai-qlora-70b-offload-bs2", "meta-llama/Llama-2-70b-hf", "fsdp-qlora", 2, 14.92, "optimizer+params",
              dtype="nf4", quote="| QLoRA | True | 2 | 14.92 | 11,795 |"),
    _aai_case("aai-lora-7b-offload-bs10", "meta-llama/Llama-2-7b-hf", "fsdp", 10, 22.69, "optimizer+params",
              quote="| LoRA | True | False | 10 | 22.69 | 482 | (2x 4090)"),
    _aai_case("aai-qlora-7b-offload-bs12", "meta-llama/Llama-2-7b-hf", "fsdp-qlora", 12, 22.38, "optimizer+params",
              dtype="nf4", quote="| QLoRA | True | False | 12 | 22.38 | 464 | (2x 4090)"),
    _aai_case("aai-qlora-mistral7b-offload-bs12", "mistralai/Mistral-7B-v0.2", "fsdp-qlora", 12, 22.54,
              "optimizer+params", dtype="nf4", quote="| QLoRA | True | 12 | 2,048 | 22.54 | 483 |"),
    _aai_case("aai-qlora-mistral7b-offload-24k", "mistralai/Mistral-7B-v0.2", "fsdp-qlora", 1, 22.54,
              "optimizer+params", seq=24576, dtype="nf4", quote="| QLoRA | True | 1 | 24,576 | 22.54 | 7,809 |"),
    ParallelCase("torchtune-lora-llama31-70b-8xa100", "meta-llama/Llama-3.1-70B", TT70_TARGETS,
                 MemorySettings("bf16", 2, 2048, trainer="torchtune", compile=True), "fsdp", 8, "none", _TORCHTUNE,
                 int(27.6 * GIB), "allocated", TORCHTUNE, "| Llama 3.1 70B | LoRA | 8x A100 | 27.6 GiB | 3497 |"),
    ParallelCase("torchtune-qlora-llama31-405b-8xa100", "meta-llama/Llama-3.1-405B", TT405_TARGETS,
                 MemorySettings("nf4", 2, 2048, trainer="torchtune", logits="fp32_full", compile=True),
                 "fsdp-qlora", 8, "none",
                 _TORCHTUNE_QLORA,
                 int(44.8 * GIB), "allocated", TORCHTUNE, "| Llama 3.1 405B | QLoRA | 8x A100 | 44.8 GB | 653 |"),
)


@lru_cache(maxsize=None)
def opened(model: str):
    """``(skeleton, PlanIndex, ModelSizes)`` of a case's model, built once."""
    cfg = dict(CONFIGS[model])
    config = AutoConfig.for_model(cfg.pop("model_type"), **cfg)
    skel = build_skeleton(config)
    inventory = build_inventory(skel)
    return skel, PlanIndex(inventory), model_sizes(inventory, config)


def estimate_case(case: ParallelCase) -> ParallelEstimate:
    """Our per-GPU estimate for a case, on its model's meta skeleton."""
    skel, index, sizes = opened(case.model)
    est = estimate_for_plan(skel, index, case.plan, case.settings)
    trainable = count(case.plan, index).trainable
    return parallel_estimate(est, sizes, trainable, STRATEGIES[case.strategy], case.gpus, case.offload, case.knobs)


def _of_kind(p: ParallelEstimate, kind: str) -> int:
    return {"allocated": p.peak_allocated, "reserved": p.peak_reserved, "nvidia_smi": p.nvidia_smi}[kind]


def validation_table(cases: tuple[ParallelCase, ...] = CASES, band: float = 0.15) -> pd.DataFrame:
    """One row per case: ``id, strategy, gpus, offload, kind, estimate, measured, ratio, within, holdout,
    cpu_ram, source``."""
    rows = []
    for case in cases:
        p = estimate_case(case)
        value = _of_kind(p, case.kind)
        ratio = value / case.measured
        rows.append(dict(id=case.id, strategy=case.strategy, gpus=case.gpus, offload=case.offload, kind=case.kind,
                         estimate=value, measured=case.measured, ratio=ratio, within=abs(ratio - 1) <= band,
                         holdout=case.holdout, cpu_ram=p.cpu_ram, source=case.source, note=case.note))
    return pd.DataFrame(rows)


def markdown_table(table: pd.DataFrame) -> str:
    """The table as docs/parallel.md shows it (GiB)."""
    return tables.markdown_table(table, (
        ("case", "l", lambda r: r.id), ("strategy", "l", lambda r: r.strategy), ("GPUs", "r", lambda r: str(r.gpus)),
        ("offload", "l", lambda r: r.offload), ("kind", "l", lambda r: r.kind),
        ("estimate GiB", "r", lambda r: f"{r.estimate / GIB:.1f}"), ("measured GiB", "r", lambda r: f"{r.measured / GIB:.1f}"),
        ("ratio", "r", tables.ratio_cell), ("held out", "l", tables.held_out_cell), ("source", "l", lambda r: r.source)))
