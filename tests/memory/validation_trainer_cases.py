"""Published peaks of the other trainers: torchtune, LLaMA-Factory, Unsloth, axolotl.

Each case names the source, the settings it states (or its config/code fixes at that commit) and
what was measured. ``nvidia_smi`` kind: a figure reported as "VRAM" without saying how (compared
with :attr:`~lora_core.memory.MemoryEstimate.nvidia_smi`), rounded by the source to whole GB.
Appended to :data:`tests.memory.validation_cases.CASES`. ``holdout``: added without looking at the
ratio before the code that models it was written (none of these: their ratios were seen while
the torchtune, torchao and parallel-block terms were read; see docs/memory.md).
"""

from __future__ import annotations

from lora_core.memory import MemorySettings
from tests.memory.validation_cases import Case, G

GIB = 2**30
_ALL_LINEAR = (("all-linear", 8),)
_QV8 = (("q", 8), ("v", 8))

# torchtune docs/source/tutorials/qlora_finetune.rst at 0914d5cfb (2024-04-15), runs with
# recipes/lora_finetune_single_device.py and recipes/configs/llama2/7B_{lora,qlora}_single_device.yaml of
# that commit (torchao==0.1 pinned in pyproject.toml): bf16, batch 2, alpaca_cleaned (max_seq_len 512,
# padded to the longest in the batch), activation checkpointing, torch.optim.AdamW,
# loss torch.nn.CrossEntropyLoss on `logits[..., :-1, :].contiguous()` (bf16, no upcast); the loop
# rebinds `logits = self._model(input_ids)`, so the previous step's logits live through the next
# forward. "Peak memory reserved, training" = torch.cuda.max_memory_reserved() / 1e9 (utils/memory.py).
TT_TUTORIAL = "torchtune docs/source/tutorials/qlora_finetune.rst @0914d5cfb"


def _torchtune_2024(dtype: str) -> MemorySettings:
    # torchtune 0.1.0 (its recipes then: CrossEntropyLoss on bf16 logits, logits kept into the next step)
    return MemorySettings(dtype, 2, 512, trainer="torchtune", torchtune="0.1.0", torchao="0.1")


# torchtune README @30b8519e8 (2024-09-24, between v0.3.0 and v0.3.1), "Memory and training speed": "batch
# size 2 (without gradient accumulation), a dataset packed to sequence length 2048, and torch compile
# enabled", configs llama3_1/8B_{lora,qlora}_single_device.yaml of that commit (q,v r8 / q,k,v,o + MLP r8,
# CEWithChunkedOutputLoss, activation checkpointing, AdamW fused), 1x RTX 4090, "Peak Memory per GPU" in GiB.
# torchtune README @1814feb17 (2024-11-18, after v0.4.0) "Optimization flags": Llama 3.2 3B, batch 2, max seq
# len 4096, packed, compile, CEWithChunkedOutputLoss, activation checkpointing and offloading, AdamW;
# configs llama3_2/3B_{lora,qlora}_single_device.yaml (q,v,o + MLP, rank 64); "Peak Memory Active (GiB)".
# Both logged by training.get_memory_stats, which resets the peak statistics after the model is built
# (the load is not in them): kind "training". Packed: every sequence is batch x seq tokens, no padding.
# Held out in bench/memory_holdout.py's second set (1.22, 1.51, 1.63, 2.24 then), seen, then modelled.
TT_31 = "torchtune README @30b8519e8"
TT_FLAGS = "torchtune README @1814feb17 (optimization flags)"
L31_8B, L32_3B = "meta-llama/Llama-3.1-8B-Instruct", "meta-llama/Llama-3.2-3B"
_QVO_MLP64 = tuple((k, 64) for k in ("q", "v", "o", "gate", "up", "down"))
_QKVO_MLP8 = tuple((k, 8) for k in ("q", "k", "v", "o", "gate", "up", "down"))


def _torchtune_compiled(dtype: str, seq: int, version: str, offload: bool = False) -> MemorySettings:
    return MemorySettings(dtype, 2, seq, trainer="torchtune", torchtune=version, compile=True,
                          checkpointing="offloaded" if offload else None)


# LLaMA-Factory wiki "Performance comparison" (revision of 2024-04-15): LLaMA2-7B, LoRA rank 8 on all
# linear layers, batch 4 (gradient accumulation 2), max length 1024; the sequence table: 1x A100 40GB,
# batch 1, 4-bit, rank 8 all. LLaMA-Factory's defaults then: gradient checkpointing on, adamw_torch,
# bf16, fp32 adapters (cast_trainable_params_to_fp32); "Unsloth+FA2" is use_unsloth: true
# (use_gradient_checkpointing="unsloth", Unsloth's fast cross-entropy). "HF" without FA2 is the
# transformers eager attention. VRAM in whole GB, how it was read is not stated.
LF_WIKI = "LLaMA-Factory wiki Performance-comparison (2024-04-15)"


def _lf(dtype: str, batch: int, seq: int, trainer: str = "llamafactory", flash: bool = True) -> MemorySettings:
    extra = {"optimizer": "fp32"} if trainer == "unsloth" else {}
    return MemorySettings(dtype, batch, seq, flash_attention=flash, trainer=trainer, bitsandbytes="0.43.1",
                          **extra)


# axolotl PR #602 (674c5769, 2023-09-19), winglian: "verified on single gpu. vram usage recorded:
# lora - 7gb vram, qlora - 4.5gb vram", with examples/openllama-3b/{lora,qlora}.yml of that commit:
# open_llama_3b_v2, sequence_len 1024 with sample_packing (micro-batches filled to 1024 tokens),
# micro_batch_size 2, gradient_checkpointing, flash_attention, fp16 autocast; lora.yml: load_in_8bit,
# r 8 on q,k,v,o,gate,up,down, adamw_bnb_8bit; qlora.yml: load_in_4bit, r 8 lora_target_linear,
# paged_adamw_32bit (managed memory, seen by nvidia-smi). requirements.txt: bitsandbytes>=0.41.1.
AXOLOTL_602 = "axolotl PR #602 comment + examples/openllama-3b @674c5769"

CASES: tuple[Case, ...] = (
    Case("torchtune-tutorial-llama2-7b-qlora", "meta-llama/Llama-2-7b-hf", _ALL_LINEAR, _torchtune_2024("nf4"),
         int(9.29 * G), "reserved", TT_TUTORIAL, "| QLoRA | 9.13 GB | 9.29 GB | (reserved: model init, training)",
         note="peak at loading: torchao 0.1 quantizes each bf16 weight built on the GPU with numel x 16 "
              "intermediates; reserved memory is kept through training"),
    Case("torchtune-tutorial-llama2-7b-lora", "meta-llama/Llama-2-7b-hf", _QV8, _torchtune_2024("bf16"),
         int(15.57 * G), "reserved", TT_TUTORIAL, "| LoRA | 13.98 GB | 15.57 GB | (reserved: model init, training)",
         4_194_304),
    Case("torchtune-readme-llama31-8b-lora", L31_8B, _QV8, _torchtune_compiled("bf16", 2048, "0.3.0"),
         int(16.2 * GIB), "training", TT_31, "| Llama 3.1 8B | LoRA | 1x 4090 | 16.2 GiB | 3083 |",
         note="held out in the second set at 1.22; compiled loss and blocks modelled after"),
    Case("torchtune-readme-llama31-8b-qlora", L31_8B, _QKVO_MLP8, _torchtune_compiled("nf4", 2048, "0.3.0"),
         int(7.4 * GIB), "training", TT_31, "| Llama 3.1 8B | QLoRA | 1x 4090 | 7.4 GiB | 2413 |",
         note="held out in the second set at 1.51"),
    Case("torchtune-flags-llama32-3b-lora", L32_3B, _QVO_MLP64, _torchtune_compiled("bf16", 4096, "0.4.0", True),
         int(8.5 * GIB), "training", TT_FLAGS, "| LoRA | 8.5 | -51.61% | 8210 | +17.96% |",
         note="held out in the second set at 1.63"),
    Case("torchtune-flags-llama32-3b-qlora", L32_3B, _QVO_MLP64, _torchtune_compiled("nf4", 4096, "0.4.0", True),
         int(4.6 * GIB), "training", TT_FLAGS, "| QLoRA | 4.6 | -45.71% | 8035 | -2.13% |",
         note="held out in the second set at 2.24"),
    Case("lf-wiki-llama2-7b-lora-fa2-b4", "meta-llama/Llama-2-7b-hf", _ALL_LINEAR, _lf("bf16", 4, 1024),
         17 * G, "nvidia_smi", LF_WIKI, "| HF+FA2 | 16 | 2,954 | 17GB | 123% |"),
    Case("lf-wiki-llama2-7b-qlora-hf-b4", "meta-llama/Llama-2-7b-hf", _ALL_LINEAR, _lf("nf4", 4, 1024, flash=False),
         9 * G, "nvidia_smi", LF_WIKI, "| HF | 4 | 2,415 | 9GB | 101% |"),
    Case("lf-wiki-llama2-7b-qlora-fa2-1k", "meta-llama/Llama-2-7b-hf", _ALL_LINEAR, _lf("nf4", 1, 1024),
         6 * G, "nvidia_smi", LF_WIKI, "| FlashAttention2 | 6GB | (1,024)"),
    Case("lf-wiki-llama2-7b-qlora-fa2-4k", "meta-llama/Llama-2-7b-hf", _ALL_LINEAR, _lf("nf4", 1, 4096),
         9 * G, "nvidia_smi", LF_WIKI, "| FlashAttention2 | ... | 9GB | (4,096)"),
    Case("lf-wiki-llama2-7b-qlora-fa2-16k", "meta-llama/Llama-2-7b-hf", _ALL_LINEAR, _lf("nf4", 1, 16384),
         19 * G, "nvidia_smi", LF_WIKI, "| FlashAttention2 | ... | 19GB | (16,384)"),
    Case("unsloth-lf-llama2-7b-lora-b4", "meta-llama/Llama-2-7b-hf", _ALL_LINEAR, _lf("bf16", 4, 1024, "unsloth"),
         16 * G, "nvidia_smi", LF_WIKI, "| Unsloth+FA2 | 16 | 4,007 | 16GB | 168% |"),
    Case("unsloth-lf-llama2-7b-qlora-b4", "meta-llama/Llama-2-7b-hf", _ALL_LINEAR, _lf("nf4", 4, 1024, "unsloth"),
         7 * G, "nvidia_smi", LF_WIKI, "| Unsloth+FA2 | 4 | 3,726 | 7GB | 160% |"),
    Case("unsloth-lf-llama2-7b-qlora-1k", "meta-llama/Llama-2-7b-hf", _ALL_LINEAR, _lf("nf4", 1, 1024, "unsloth"),
         5 * G, "nvidia_smi", LF_WIKI, "| Unsloth+FA2 | 5GB | (1,024)"),
    Case("unsloth-lf-llama2-7b-qlora-4k", "meta-llama/Llama-2-7b-hf", _ALL_LINEAR, _lf("nf4", 1, 4096, "unsloth"),
         7 * G, "nvidia_smi", LF_WIKI, "| Unsloth+FA2 | ... | 7GB | (4,096)"),
    Case("unsloth-lf-llama2-7b-qlora-16k", "meta-llama/Llama-2-7b-hf", _ALL_LINEAR,
         _lf("nf4", 1, 16384, "unsloth"), 10 * G, "nvidia_smi", LF_WIKI, "| Unsloth+FA2 | ... | 10GB | (16,384)"),
    Case("axolotl-openllama3b-lora-int8", "openlm-research/open_llama_3b_v2",
         tuple((k, 8) for k in ("q", "k", "v", "o", "gate", "up", "down")),
         MemorySettings("int8", 2, 1024, trainer="axolotl", optimizer="8bit", bitsandbytes="0.41.1"),
         7 * G, "nvidia_smi", AXOLOTL_602, "lora - 7gb vram"),
    Case("axolotl-openllama3b-qlora", "openlm-research/open_llama_3b_v2", _ALL_LINEAR,
         MemorySettings("nf4", 2, 1024, trainer="axolotl", optimizer="paged_fp32", bitsandbytes="0.41.1"),
         int(4.5 * G), "nvidia_smi", AXOLOTL_602, "qlora - 4.5gb vram"),
)
