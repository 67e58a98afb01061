"""Held-out check of the training-memory estimate: published peaks that are NOT in the validation table.

These cases were chosen (source, settings, figure) before any estimate of them was computed, and
were run once on the finished code; they stay out of ``tests.memory.validation_cases.CASES`` so that
they keep testing the estimate instead of shaping it. Re-run it after changing the estimate:
``PYTHONPATH=. .venv/bin/python bench/memory_holdout.py [--second | --third | --fourth]``. Prints one row per case, the shares
within ±15 % and (QLoRA) ±20 %, and the load average.

Sources (settings as in tests/memory/validation_trainer_cases.py unless said):
- torchtune README at 20747cd87 (QLoRA row, 8.57 GB: the tutorial's config, torchao==0.1) and at
  fef3ed10d (LoRA single device, batch 2, 17.18 GB; 7B_lora_single_device.yaml: q,v r8, CrossEntropyLoss);
  both 1x RTX 4090, the recipe's logged reserved peak.
- LLaMA-Factory wiki Performance-comparison (2024-04-15): the rows of its two tables not in the
  validation table (HF 16-bit with eager attention at batch 4; FlashAttention2 and Unsloth+FA2 4-bit at
  batch 1 and 2,048 to 100,000 tokens).
- Unsloth docs "Unsloth Benchmarks", context length benchmarks: Llama 3.1 8B Instruct, 4-bit QLoRA on
  q,k,v,o,gate,up,down, rank 32, batch 1, sequences padded to the length shown: the longest that
  fits the GPU (measured = the GPU's memory); Unsloth then uses its offloaded checkpointing and Apple's
  Cut Cross-Entropy ("fused"); "Hugging Face + FA2" is transformers + PEFT.
"""

from __future__ import annotations

import os

from lora_core.memory import MemorySettings
from tests.memory.validation_cases import CONFIGS, Case, G, validation_table

GIB = 2**30
LLAMA31_8B = "meta-llama/Llama-3.1-8B-Instruct"
CONFIGS.setdefault(LLAMA31_8B, dict(model_type="llama", vocab_size=128256, hidden_size=4096,
                                    intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32,
                                    num_key_value_heads=8, max_position_embeddings=131072))
L2 = "meta-llama/Llama-2-7b-hf"
ALL8, QV8 = (("all-linear", 8),), (("q", 8), ("v", 8))
ALL32 = (("all-linear", 32),)
LF = "LLaMA-Factory wiki Performance-comparison (2024-04-15)"
UNSLOTH_DOCS = "Unsloth docs, Unsloth Benchmarks: context length benchmarks (Llama 3.1 8B)"


def _tt(dtype: str) -> MemorySettings:
    return MemorySettings(dtype, 2, 512, trainer="torchtune", torchao="0.1", logits="bf16_full",
                          keeps_previous_step=True)


def _lf(dtype: str, batch: int, seq: int, trainer: str = "llamafactory", flash: bool = True) -> MemorySettings:
    extra = {"optimizer": "fp32"} if trainer == "unsloth" else {}
    return MemorySettings(dtype, batch, seq, flash_attention=flash, trainer=trainer, bitsandbytes="0.43.1", **extra)


def _fits(case_id: str, trainer: str, seq: int, gpu_gib: int, **knobs) -> Case:
    return Case(case_id, LLAMA31_8B, ALL32, MemorySettings("nf4", 1, seq, trainer=trainer, **knobs),
                gpu_gib * GIB, "nvidia_smi", UNSLOTH_DOCS, f"{gpu_gib} GB | {seq:,} tokens", holdout=True)


HELD_OUT: tuple[Case, ...] = (
    Case("torchtune-readme-llama2-7b-qlora", L2, ALL8, _tt("nf4"), int(8.57 * G), "reserved",
         "torchtune README @20747cd87", "| 1 x RTX 4090 | QLoRA | ... | Llama2-7B | 8.57 GB |", holdout=True),
    Case("torchtune-readme-llama2-7b-lora", L2, QV8, _tt("bf16"), int(17.18 * G), "reserved",
         "torchtune README @fef3ed10d", "| 1 x RTX 4090 | LoRA | ... | Llama-7B | 17.18 GB |", holdout=True),
    Case("lf-wiki-llama2-7b-lora-hf-b4", L2, ALL8, _lf("bf16", 4, 1024, flash=False), 18 * G, "nvidia_smi", LF,
         "| HF | 16 | 2,392 | 18GB | 100% |", holdout=True),
    *(Case(f"lf-wiki-llama2-7b-qlora-fa2-{seq // 1024}k", L2, ALL8, _lf("nf4", 1, seq), gb * G, "nvidia_smi", LF,
           f"| FlashAttention2 | {gb}GB | ({seq:,})", holdout=True)
      for seq, gb in ((2048, 7), (8192, 12), (32768, 32))),
    *(Case(f"unsloth-lf-llama2-7b-qlora-{seq // 1000}k", L2, ALL8, _lf("nf4", 1, seq, "unsloth"), gb * G,
           "nvidia_smi", LF, f"| Unsloth+FA2 | {gb}GB | ({seq:,})", holdout=True)
      for seq, gb in ((2048, 6), (8192, 8), (32768, 16), (65536, 25), (100000, 37))),
    _fits("unsloth-docs-llama31-8b-16gb", "unsloth", 40724, 16, logits="fused"),
    _fits("unsloth-docs-llama31-8b-24gb", "unsloth", 78475, 24, logits="fused"),
    _fits("unsloth-docs-llama31-8b-40gb", "unsloth", 153977, 40, logits="fused"),
    _fits("hf-fa2-docs-llama31-8b-24gb", "peft", 5789, 24),
    _fits("hf-fa2-docs-llama31-8b-40gb", "peft", 12264, 40),
)


# A second set, chosen (settings read, figures noted) after the first set had been run, before any
# estimate of these was computed; run once at the end. torchtune README @30b8519e8: "batch size 2
# (without gradient accumulation), a dataset packed to sequence length 2048, and torch compile
# enabled", configs llama3_1/8B_{lora,qlora}_single_device.yaml of that commit (q,v r8 / q,k,v,o + MLP
# r8, CEWithChunkedOutputLoss, activation checkpointing), 1x RTX 4090, "Peak Memory per GPU" in GiB
# (read as torchtune's logged active/allocated peak). torchtune README @1814feb17 "Optimization
# flags": Llama 3.2 3B, batch 2, max seq len 4096, packed, compile, chunked cross-entropy, activation
# checkpointing and offloading, AdamW; configs llama3_2/3B_{lora,qlora}_single_device.yaml (q,v,o + MLP,
# rank 64); "Peak Memory Active (GiB)". Unsloth docs, Llama 3.3 70B max context on an 80 GB A100
# (and 48 GB): 4-bit QLoRA, all linear layers, rank 32, batch 1, padded.
LLAMA33_70B = "meta-llama/Llama-3.3-70B-Instruct"
CONFIGS.setdefault(LLAMA33_70B, dict(model_type="llama", vocab_size=128256, hidden_size=8192,
                                     intermediate_size=28672, num_hidden_layers=80, num_attention_heads=64,
                                     num_key_value_heads=8, max_position_embeddings=131072))


# Its four torchtune rows were then modelled (compiled loss and blocks, offloading, the post-init peak) and
# moved into the validation table (tests/memory/validation_trainer_cases.py), seen: not held out any more.
HELD_OUT_2: tuple[Case, ...] = (
    Case("unsloth-docs-llama33-70b-48gb", LLAMA33_70B, ALL32,
         MemorySettings("nf4", 1, 12106, trainer="unsloth", logits="fused"), 48 * GIB, "nvidia_smi", UNSLOTH_DOCS,
         "48 GB | 12,106 | OOM", holdout=True),
    Case("unsloth-docs-llama33-70b-80gb", LLAMA33_70B, ALL32,
         MemorySettings("nf4", 1, 89389, trainer="unsloth", logits="fused"), 80 * GIB, "nvidia_smi", UNSLOTH_DOCS,
         "80 GB | 89,389 | 6,916", holdout=True),
    Case("hf-fa2-docs-llama33-70b-80gb", LLAMA33_70B, ALL32, MemorySettings("nf4", 1, 6916, trainer="peft"),
         80 * GIB, "nvidia_smi", UNSLOTH_DOCS, "80 GB | 89,389 | 6,916", holdout=True),
)


# A third set (2026-12-06 19:15 UTC, run once: 10/12 within ±15 %, QLoRA 6/6 within ±20 %): its sources and
# settings are written in tests/memory/validation_third_cases.py, where its cases now are part of the
# validation table (seen, not held out). ``--third`` re-runs them as they were, marked held out.
from dataclasses import replace as _replace  # noqa: E402

from tests.memory.validation_third_cases import CASES as _THIRD  # noqa: E402

HELD_OUT_3: tuple[Case, ...] = tuple(_replace(c, holdout=True) for c in _THIRD)

# A fourth set, chosen and written down (sources, settings, figures) on 2026-12-06 at 19:57 UTC, before any
# estimate of these was computed; run once at the end (``--fourth``). PEFT method_comparison/MetaMathQA
# results JSONs (github:huggingface/peft) at the commits named, each a separate run with its recorded
# package versions, all Llama-3.2-3B on one L40S, train_config batch 4, max_seq_length 768, max_steps
# 5000, no gradient checkpointing, use_amp false, autocast_adapter_dtype true, AdamW, read as
# max_memory_reserved like the table's MetaMathQA cases. None is in the table or the earlier sets (the
# table holds r32 @tf 5.13.1, r10-mlp @5.13.1, r64 @4.52.4, DoRA @4.57.1). Caveat, written down with
# them: the estimate does not depend on the run's transformers/torch version, and rsLoRA changes only the
# scaling, so each of these has the settings of a seen table case: this set tests how far the published
# peak moves between reruns and versions, not the estimate on new settings.
MMQ4 = "PEFT MetaMathQA results/{} @{} (transformers {})"
R64_QV, R32_QV = (("q", 64), ("v", 64)), (("q", 32), ("v", 32))
MLP10 = (("gate", 10), ("up", 10), ("down", 10))


def _mmq4(case_id: str, targets, file: str, commit: str, tf: str, peak: int, dora: bool = False) -> Case:
    settings = MemorySettings("bf16", 4, 768, gradient_checkpointing=False, trainer="peft", autocast=False)
    return Case(case_id, "meta-llama/Llama-3.2-3B", targets, settings, peak, "reserved",
                MMQ4.format(file, commit, tf), f'"accelerator_memory_max": {peak}', dora=dora, holdout=True)


HELD_OUT_4: tuple[Case, ...] = (
    _mmq4("peft-mmq-rslora-r64-tf4524", R64_QV, "lora--llama-3.2-3B-rank64-rslora.json", "ffe495379", "4.52.4",
          22_538_092_544),
    _mmq4("peft-mmq-rslora-r64-tf4571", R64_QV, "lora--llama-3.2-3B-rank64-rslora.json", "52903c83d", "4.57.1",
          22_554_869_760),
    _mmq4("peft-mmq-rslora-r64-tf5131", R64_QV, "lora--llama-3.2-3B-rank64-rslora.json", "51c2ff666", "5.13.1",
          22_561_161_216),
    _mmq4("peft-mmq-lora-r32-tf4524", R32_QV, "lora--llama-3.2-3B-rank32.json", "ffe495379", "4.52.4",
          22_273_851_392),
    _mmq4("peft-mmq-lora-r32-tf4571", R32_QV, "lora--llama-3.2-3B-rank32.json", "52903c83d", "4.57.1",
          22_286_434_304),
    _mmq4("peft-mmq-lora-r64-tf4571", R64_QV, "lora--llama-3.2-3B-rank64.json", "52903c83d", "4.57.1",
          22_554_869_760),
    _mmq4("peft-mmq-lora-r64-tf5131", R64_QV, "lora--llama-3.2-3B-rank64.json", "51c2ff666", "5.13.1",
          22_552_772_608),
    _mmq4("peft-mmq-dora-r32-tf4524", R32_QV, "lora--llama-3.2-3B-rank32-dora.json", "ffe495379", "4.52.4",
          24_553_455_616, dora=True),
    _mmq4("peft-mmq-dora-r32-tf5131", R32_QV, "lora--llama-3.2-3B-rank32-dora.json", "51c2ff666", "5.13.1",
          24_532_484_096, dora=True),
    _mmq4("peft-mmq-lora-r10-mlp-2025-10", MLP10, "lora--llama-3.2-3B-rank10-target-mlp.json", "ffe495379",
          "4.57.1", 24_712_839_168),
    _mmq4("peft-mmq-lora-r10-mlp-2026-01", MLP10, "lora--llama-3.2-3B-rank10-target-mlp.json", "52903c83d",
          "4.57.1", 24_693_964_800),
)


def main() -> None:
    import sys
    cases = HELD_OUT_4 if "--fourth" in sys.argv else HELD_OUT_3 if "--third" in sys.argv else HELD_OUT_2 if "--second" in sys.argv else HELD_OUT
    table = validation_table(cases)
    cols = ["id", "trainer", "kind", "estimate", "measured", "ratio", "phase", "source"]
    print(table[cols].to_string(index=False, formatters={"estimate": lambda v: f"{v / 1e9:.2f}",
                                                         "measured": lambda v: f"{v / 1e9:.2f}",
                                                         "ratio": lambda v: f"{v:.3f}"}))
    off = (table["ratio"] - 1).abs()
    qlora = table["method"] == "QLoRA"
    print(f"\n{len(table)} held-out cases: {int((off <= 0.15).sum())} within ±15 % ({(off <= 0.15).mean():.0%}); "
          f"QLoRA {int((off[qlora] <= 0.20).sum())}/{int(qlora.sum())} within ±20 %; "
          f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
