"""Published, measured fine-tuning peaks with the settings their sources state, and our estimate of each.

Each :class:`Case` is one run: the model's config (the shapes, written out since the Hub is not
reachable here), the LoRA plan, the trainer profile and knobs the source states or its code fixes,
the measured figure and its kind (``allocated``: ``torch.cuda.max_memory_allocated``,
``reserved``: ``max_memory_reserved``, ``nvidia_smi``: a "VRAM" figure read from outside the
process). :func:`validation_table` compares each with the estimate of the same kind. ``holdout``
cases were not looked at while the constants were chosen. Starter set: ``shared/reference/memory-measurements.json``; the rest read from the sources named.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache

import pandas as pd
from transformers import AutoConfig

from lora_core.memory import MemorySettings, estimate_for_plan
from lora_core.model import open_model
from lora_core.planning import Plan, PlanIndex, Target, count
from tests.memory import tables

# Sources (full citations in docs/memory.md):
# - LitGPT 2023: tutorials/resource-tables.md (commit 0cc02afa), runs with finetune/lora.py at 8641822,
#   bitsandbytes 0.41.1, A100 40GB; torch.cuda.max_memory_allocated() / 1e9.
# - LitGPT 2024: config_hub/finetune/README.md at 43c44323 (2024-04-24 automated benchmarks), settings
#   from the yaml files of that commit, bitsandbytes 0.42.0 (pyproject.toml), 1x A10G; same measure.
# - PEFT MetaMathQA: method_comparison/MetaMathQA/results/*.json, L40S, accelerator_memory_max
#   (torch.cuda.max_memory_reserved()).
LITGPT_2023 = "LitGPT 2023 resource table"
HUB_2024 = "LitGPT 2024 config_hub table"
LITGPT_HUB = HUB_2024
PEFT_MMQ = "PEFT MetaMathQA results/{}"

# LitGPT keeps lm_head apart from the embedding (litgpt/model.py ``self.lm_head = nn.Linear``; a tied
# checkpoint's embedding is copied into it by scripts/convert_hf_checkpoint.py), so the Gemma configs,
# used only by LitGPT cases, are untied.
CONFIGS: dict[str, dict] = {
    "microsoft/phi-1_5": dict(model_type="phi", vocab_size=51200, hidden_size=2048, intermediate_size=8192,
                              num_hidden_layers=24, num_attention_heads=32, partial_rotary_factor=0.5,
                              max_position_embeddings=2048, tie_word_embeddings=False),
    "stabilityai/stablelm-base-alpha-3b": dict(model_type="gpt_neox", vocab_size=50688, hidden_size=4096,
                                               num_hidden_layers=16, num_attention_heads=32,
                                               intermediate_size=16384, rotary_pct=0.25,
                                               max_position_embeddings=4096, use_parallel_residual=True,
                                               tie_word_embeddings=False),
    "meta-llama/Llama-2-7b-hf": dict(model_type="llama", vocab_size=32000, hidden_size=4096,
                                     intermediate_size=11008, num_hidden_layers=32, num_attention_heads=32,
                                     num_key_value_heads=32, max_position_embeddings=4096),
    "meta-llama/Llama-2-13b-hf": dict(model_type="llama", vocab_size=32000, hidden_size=5120,
                                      intermediate_size=13824, num_hidden_layers=40, num_attention_heads=40,
                                      num_key_value_heads=40, max_position_embeddings=4096),
    "meta-llama/Llama-3.2-3B": dict(model_type="llama", vocab_size=128256, hidden_size=3072,
                                    intermediate_size=8192, num_hidden_layers=28, num_attention_heads=24,
                                    num_key_value_heads=8, head_dim=128, max_position_embeddings=131072,
                                    tie_word_embeddings=True),
    "meta-llama/Meta-Llama-3-8B": dict(model_type="llama", vocab_size=128256, hidden_size=4096,
                                       intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32,
                                       num_key_value_heads=8, max_position_embeddings=8192),
    "meta-llama/Llama-3.1-8B-Instruct": dict(model_type="llama", vocab_size=128256, hidden_size=4096,
                                             intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32,
                                             num_key_value_heads=8, max_position_embeddings=131072),
    "tiiuae/falcon-7b": dict(model_type="falcon", vocab_size=65024, hidden_size=4544, num_hidden_layers=32,
                             num_attention_heads=71, multi_query=True, parallel_attn=True, bias=False,
                             new_decoder_architecture=False, max_position_embeddings=2048),
    "google/gemma-2b": dict(model_type="gemma", vocab_size=256000, hidden_size=2048, intermediate_size=16384,
                            num_hidden_layers=18, num_attention_heads=8, num_key_value_heads=1, head_dim=256,
                            max_position_embeddings=8192, tie_word_embeddings=False),
    "google/gemma-7b": dict(model_type="gemma", vocab_size=256000, hidden_size=3072, intermediate_size=24576,
                            num_hidden_layers=28, num_attention_heads=16, num_key_value_heads=16, head_dim=256,
                            max_position_embeddings=8192, tie_word_embeddings=False),
    "microsoft/phi-2": dict(model_type="phi", vocab_size=51200, hidden_size=2560, intermediate_size=10240,
                            num_hidden_layers=32, num_attention_heads=32, partial_rotary_factor=0.4,
                            max_position_embeddings=2048, tie_word_embeddings=False),
    "TinyLlama/TinyLlama-1.1B-intermediate-step-1431k-3T": dict(
        model_type="llama", vocab_size=32000, hidden_size=2048, intermediate_size=5632, num_hidden_layers=22,
        num_attention_heads=32, num_key_value_heads=4, max_position_embeddings=2048),
    # LitGPT's own configs (litgpt/config.py at 00af8b0d and f247be87): lm_head untied, as above.
    "meta-llama/Llama-3.2-1B@litgpt": dict(model_type="llama", vocab_size=128256, hidden_size=2048,
                                           intermediate_size=8192, num_hidden_layers=16, num_attention_heads=32,
                                           num_key_value_heads=8, head_dim=64, max_position_embeddings=131072,
                                           tie_word_embeddings=False),
    "meta-llama/Llama-3.2-3B@litgpt": dict(model_type="llama", vocab_size=128256, hidden_size=3072,
                                           intermediate_size=8192, num_hidden_layers=28, num_attention_heads=24,
                                           num_key_value_heads=8, head_dim=128, max_position_embeddings=131072,
                                           tie_word_embeddings=False),
    "microsoft/Phi-3-mini-4k-instruct": dict(model_type="phi3", vocab_size=32064, hidden_size=3072,
                                             intermediate_size=8192, num_hidden_layers=32, num_attention_heads=32,
                                             num_key_value_heads=32, max_position_embeddings=4096,
                                             tie_word_embeddings=False),
    "google/gemma-2-2b@litgpt": dict(model_type="gemma2", vocab_size=256000, hidden_size=2304,
                                     intermediate_size=9216, num_hidden_layers=26, num_attention_heads=8,
                                     num_key_value_heads=4, head_dim=256, max_position_embeddings=8192,
                                     tie_word_embeddings=False),
    "google/gemma-2-9b@litgpt": dict(model_type="gemma2", vocab_size=256000, hidden_size=3584,
                                     intermediate_size=14336, num_hidden_layers=42, num_attention_heads=16,
                                     num_key_value_heads=8, head_dim=256, max_position_embeddings=8192,
                                     tie_word_embeddings=False),
    "openlm-research/open_llama_3b_v2": dict(model_type="llama", vocab_size=32000, hidden_size=3200,
                                             intermediate_size=8640, num_hidden_layers=26, num_attention_heads=32,
                                             num_key_value_heads=32, max_position_embeddings=2048),
    "mistralai/Mistral-7B-v0.1": dict(model_type="mistral", vocab_size=32000, hidden_size=4096,
                                      intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32,
                                      num_key_value_heads=8, max_position_embeddings=32768),
}


@dataclass(frozen=True)
class Case:
    """One published measurement and the settings it was taken with."""

    id: str
    model: str
    targets: tuple[tuple[str, int], ...]
    settings: MemorySettings
    measured: int
    kind: str  # "allocated" | "reserved" | "nvidia_smi" | "training" (allocated, the load excluded) | "init" (the load)
    source: str
    quote: str
    trainable: int | None = None  # the source's own trainable-parameter count, when stated
    dora: bool = False
    holdout: bool = False
    note: str = ""
    knobs_note: str = field(default="", compare=False)

    @property
    def qlora(self) -> bool:
        return self.settings.base_dtype != "bf16"

    @property
    def plan(self) -> Plan:
        return Plan(tuple(Target(k, r) for k, r in self.targets), dora=self.dora)


def _litgpt(seq: int, batch: int, dtype: str = "bf16", previous_step: bool = True,
            bitsandbytes: str = "0.42.0") -> MemorySettings:
    # The stated library version picks MatMul4Bit's behaviour: bitsandbytes 0.41.1 for the 2023 tables
    # (the table's software line), 0.42.0 pinned in pyproject.toml at 43c44323 and later (2024 table).
    # LitGPT's profile switches to PagedAdamW itself when the base is quantized.
    return MemorySettings(dtype, batch, seq, gradient_checkpointing=False, trainer="litgpt",
                          bitsandbytes=bitsandbytes, keeps_previous_step=previous_step)


def _litgpt_2023(seq: int, batch: int, dtype: str = "bf16") -> MemorySettings:
    # lit-gpt 2023 finetune/lora.py train(): get_batch(fabric, train_data, longest_seq_ix if iter_num == 0
    # else None) puts the longest sample in the first batch ("so potential OOMs happen right away"): the
    # peak at `seq` (the longest sample) is step 0, which has no previous step alive.
    return _litgpt(seq, batch, dtype, previous_step=False, bitsandbytes="0.41.1")


def _peft_mmq() -> MemorySettings:
    # train_config: dtype bfloat16, batch 4, max_seq_length 768, no gradient checkpointing,
    # use_amp false (no autocast), autocast_adapter_dtype true (fp32 adapters), AdamW.
    return MemorySettings("bf16", 4, 768, gradient_checkpointing=False, trainer="peft", autocast=False)


QV8, QV32 = (("q", 8), ("v", 8)), (("q", 32), ("v", 32))
# Held out by the first pass, then seen (1.12, 0.99, 1.12) before the parallel blocks' shared norm input
# (lora_core/memory/layout.py) was read from the decoder layers' code: no longer held out.
SEEN_PARALLEL = "held out until the parallel-block layout was modelled, seeing this ratio"
G = 10**9
CASES: tuple[Case, ...] = (
    Case("litgpt-phi15-lora-mb1", "microsoft/phi-1_5", QV8, _litgpt_2023(1044, 1), int(4.82 * G), "allocated",
         LITGPT_2023, "| 1.3 B | phi-1.5 | None | 1 | 1,572,864 | 4.82 GB |", 1_572_864),
    Case("litgpt-phi15-lora-mb4", "microsoft/phi-1_5", QV8, _litgpt_2023(1044, 4), int(10.68 * G), "allocated",
         LITGPT_2023, "| 1.3 B | phi-1.5 | None | 4 | 1,572,864 | 10.68 GB |", 1_572_864,
         note=SEEN_PARALLEL),
    Case("litgpt-stablelm3b-lora-mb1", "stabilityai/stablelm-base-alpha-3b", QV8, _litgpt_2023(1034, 1),
         int(9.69 * G), "allocated", LITGPT_2023, "| 3 B | StableLM Alpha | None | 1 | 2,097,152 | 9.69 GB |",
         2_097_152),
    Case("litgpt-stablelm3b-qlora-mb1", "stabilityai/stablelm-base-alpha-3b", QV8, _litgpt_2023(1034, 1, "nf4"),
         int(6.35 * G), "allocated", LITGPT_2023, "| 3 B | StableLM Alpha | bnb.nf4 | 1 | 2,097,152 | 6.35 GB |",
         2_097_152),
    Case("litgpt-llama2-7b-lora-mb1", "meta-llama/Llama-2-7b-hf", QV8, _litgpt_2023(1304, 1), int(21.30 * G),
         "allocated", LITGPT_2023, "| 7 B | Llama 2 | None | 1 | 4,194,304 | 21.30 GB |", 4_194_304),
    Case("litgpt-llama2-7b-lora-mb2", "meta-llama/Llama-2-7b-hf", QV8, _litgpt_2023(1304, 2), int(29.07 * G),
         "allocated", LITGPT_2023, "| 7 B | Llama 2 | None | 2 | 4,194,304 | 29.07 GB |", 4_194_304, holdout=True),
    Case("litgpt-llama2-7b-qlora-mb1", "meta-llama/Llama-2-7b-hf", QV8, _litgpt_2023(1304, 1, "nf4"), int(14.14 * G),
         "allocated", LITGPT_2023, "| 7 B | Llama 2 | bnb.nf4 | 1 | 4,194,304 | 14.14 GB |", 4_194_304),
    Case("litgpt-llama2-13b-lora-mb1", "meta-llama/Llama-2-13b-hf", QV8, _litgpt_2023(1304, 1), int(38.12 * G),
         "allocated", LITGPT_2023, "| 13 B | Llama 2 | None | 1 | 6,553,600 | 38.12 GB |", 6_553_600),
    Case("litgpt-llama2-13b-qlora-mb1", "meta-llama/Llama-2-13b-hf", QV8, _litgpt_2023(1304, 1, "nf4"),
         int(23.14 * G), "allocated", LITGPT_2023, "| 13 B | Llama 2 | bnb.nf4 | 1 | 6,553,600 | 23.14 GB |",
         6_553_600, holdout=True),
    Case("peft-mmq-llama32-3b-lora-r32-qv", "meta-llama/Llama-3.2-3B", QV32, _peft_mmq(), 22_292_725_760,
         "reserved", PEFT_MMQ.format("lora--llama-3.2-3B-rank32.json"), '"accelerator_memory_max": 22292725760',
         9_175_040),
    Case("peft-mmq-llama32-3b-lora-r10-mlp", "meta-llama/Llama-3.2-3B", (("gate", 10), ("up", 10), ("down", 10)),
         _peft_mmq(), 24_698_159_104, "reserved", PEFT_MMQ.format("lora--llama-3.2-3B-rank10-target-mlp.json"),
         '"accelerator_memory_max": 24698159104', 9_461_760),
    Case("peft-mmq-llama32-3b-lora-r64-qv", "meta-llama/Llama-3.2-3B", (("q", 64), ("v", 64)), _peft_mmq(),
         22_540_189_696, "reserved", PEFT_MMQ.format("lora--llama-3.2-3B-rank64.json @18e07f18"),
         '"accelerator_memory_max": 22540189696, "num_trainable_params": 18350080', 18_350_080, holdout=True),
    Case("peft-mmq-llama32-3b-dora-r32-qv", "meta-llama/Llama-3.2-3B", QV32, _peft_mmq(), 24_540_872_704,
         "reserved", PEFT_MMQ.format("lora--llama-3.2-3B-rank32-dora.json @52903c83"),
         '"accelerator_memory_max": 24540872704, "num_trainable_params": 9289728', 9_289_728, dora=True,
         holdout=True),
    Case("litgpt-hub-llama2-7b-lora-mb2", "meta-llama/Llama-2-7b-hf", QV32, _litgpt(512, 2), int(19.77 * G),
         "allocated", LITGPT_HUB, "| llama-2-7b/lora.yaml | llama-2-7b | 4 | 512 | 2 | 1xA10G | ... | 19.77 GB |"),
    Case("litgpt-hub-llama2-7b-qlora-mb2", "meta-llama/Llama-2-7b-hf", QV32, _litgpt(512, 2, "nf4"),
         int(13.68 * G), "allocated", LITGPT_HUB,
         "| llama-2-7b/qlora.yaml | llama-2-7b | 4 | 512 | 2 | 1xA10G | ... | 13.68 GB |", holdout=True),
    Case("litgpt-hub-mistral-7b-lora-mb2", "mistralai/Mistral-7B-v0.1", QV32, _litgpt(512, 2), int(20.66 * G),
         "allocated", LITGPT_HUB, "| mistral-7b/lora.yaml | mistral-7b | 4 | 512 | 2 | 1xA10G | ... | 20.66 GB |"),
    Case("litgpt-hub-llama3-8b-qlora-mb2", "meta-llama/Meta-Llama-3-8B", QV32, _litgpt(512, 2, "nf4"),
         int(17.41 * G), "allocated", LITGPT_HUB,
         "| llama-3-8b/qlora.yaml | llama-3-8b | 2 | 512 | 2 | 1xA10G | ... | 17.41 GB |"),
)


_ALL = lambda r: (("all-linear", r), ("head", r))  # noqa: E731 -- lora_query..lora_head all true


def _hub(case_id: str, model: str, targets, batch: int, gb: float, dtype: str = "bf16", holdout: bool = False,
         quote: str = "", quote_note: str = "") -> Case:
    return Case(case_id, model, targets, _litgpt(512, batch, dtype), int(gb * G), "allocated", HUB_2024,
                quote, holdout=holdout, note=quote_note)


CASES = CASES + (
    _hub("litgpt-hub-falcon-7b-lora-mb1", "tiiuae/falcon-7b", QV32, 1, 16.69,
         quote="| falcon-7b/lora.yaml | falcon-7b | Alpaca2k | 4 | 512 | 1 | bf16-true | 1xA10G | ... | 16.69 GB |"),
    _hub("litgpt-hub-falcon-7b-qlora-mb1", "tiiuae/falcon-7b", QV32, 1, 9.44, "nf4", quote_note=SEEN_PARALLEL,
         quote="| falcon-7b/qlora.yaml | falcon-7b | ... | 512 | 1 | bf16-true | 1xA10G | ... | 9.44 GB |"),
    _hub("litgpt-hub-gemma-2b-lora-mb2", "google/gemma-2b", _ALL(8), 2, 12.62,
         quote="| gemma-2b/lora.yaml | gemma-2b | Alpaca2k | 2 | 512 | 2 | bf16-true | 1xA10G | ... | 12.62 GB |"),
    _hub("litgpt-hub-gemma-2b-qlora-mb2", "google/gemma-2b", _ALL(16), 2, 11.58, "nf4",
         quote="| gemma-2b/qlora.yaml | gemma-2b | Alpaca2k | 2 | 512 | 2 | bf16-true | 1xA10G | ... | 11.58 GB |"),
    _hub("litgpt-hub-gemma-7b-qlora-mb1", "google/gemma-7b", _ALL(16), 1, 17.18, "nf4",
         quote="| gemma-7b/qlora.yaml | gemma-7b | Alpaca2k | 2 | 512 | 1 | bf16-true | 1xA10G | ... | 17.18 GB |"),
    _hub("litgpt-hub-llama3-8b-lora-mb1", "meta-llama/Meta-Llama-3-8B", QV32, 1, 19.73, holdout=True,
         quote="| llama-3-8b/lora.yaml | llama-3-8b | Alpaca2k | 2 | 512 | 1 | bf16-true | 1xA10G | ... | 19.73 GB |"),
    _hub("litgpt-hub-mistral-7b-qlora-mb2", "mistralai/Mistral-7B-v0.1", QV32, 2, 14.29, "nf4",
         quote="| mistral-7b/qlora.yaml | mistral-7b | Alpaca2k | 4 | 512 | 2 | bf16-true | 1xA10G | ... | 14.29 GB |"),
    _hub("litgpt-hub-phi-2-lora-mb4", "microsoft/phi-2", _ALL(8), 4, 13.98,
         quote="| phi-2/lora.yaml | phi-2 | Alpaca2k | 1 | 512 | 4 | bf16-true | 1xA10G | ... | 13.98 GB |"),
    _hub("litgpt-hub-phi-2-qlora-mb4", "microsoft/phi-2", _ALL(8), 4, 14.27, "nf4", quote_note=SEEN_PARALLEL,
         quote="| phi-2/qlora.yaml | phi-2 | Alpaca2k | 1 | 512 | 4 | bf16-true | 1xA10G | ... | 14.27 GB |"),
    _hub("litgpt-hub-stablelm3b-lora-mb1", "stabilityai/stablelm-base-alpha-3b", QV32, 1, 8.58,
         quote="| stablelm-base-alpha-3b/lora.yaml | ... | 512 | 1 | bf16-true | 1xA10G | ... | 8.58 GB |"),
    _hub("litgpt-hub-stablelm3b-qlora-mb1", "stabilityai/stablelm-base-alpha-3b", QV32, 1, 5.24, "nf4",
         quote="| stablelm-base-alpha-3b/qlora.yaml | ... | 512 | 1 | bf16-true | 1xA10G | ... | 5.24 GB |"),
    _hub("litgpt-hub-tinyllama-lora-mb8", "TinyLlama/TinyLlama-1.1B-intermediate-step-1431k-3T", _ALL(32), 8, 13.50,
         quote="| tiny-llama/lora.yaml | tiny-llama | Alpaca2k | 3 | 512 | 8 | bf16-true | 1xA10G | ... | 13.50 GB |"),
    _hub("litgpt-hub-tinyllama-qlora-mb8", "TinyLlama/TinyLlama-1.1B-intermediate-step-1431k-3T", _ALL(32), 8,
         16.24, "nf4", holdout=True,
         quote="| tiny-llama/qlora.yaml | tiny-llama | Alpaca2k | 3 | 512 | 8 | bf16-true | 1xA10G | ... | 16.24 GB |"),
)


# Later rows of the same table (same harness, bitsandbytes 0.42.0 still pinned in pyproject.toml, the
# same fit() loop), added without looking at their ratios. Not added: llama-3.1-8b and mistral-7b-v0.2,
# whose shapes and measured figures equal llama-3-8b's and mistral-7b's (one measurement counted twice);
# The Gemma 2 rows were added after their first ratios were seen (0.79-0.93 with a fused attention)
# and the softcapped manual attention was then read from LitGPT's code: not held out.
HUB_LATER = "LitGPT config_hub table @{}"


def _hub_later(case_id: str, model: str, targets, batch: int, gb: float, commit: str, dtype: str = "bf16",
               quote: str = "") -> Case:
    return Case(case_id, model, targets, _litgpt(512, batch, dtype), int(gb * G), "allocated",
                HUB_LATER.format(commit), quote, holdout=True)


CASES = CASES + (
    _hub_later("litgpt-hub-llama32-1b-lora-mb1", "meta-llama/Llama-3.2-1B@litgpt", QV32, 1, 4.49, "00af8b0d",
               quote="| llama-3.2-1b/lora.yaml | llama-3.2-1b | 2 | 512 | 1 | 1xA10G | ... | 4.49 GB |"),
    _hub_later("litgpt-hub-llama32-1b-qlora-mb2", "meta-llama/Llama-3.2-1B@litgpt", QV32, 2, 5.53, "00af8b0d",
               "nf4", quote="| llama-3.2-1b/qlora.yaml | llama-3.2-1b | 2 | 512 | 2 | 1xA10G | ... | 5.53 GB |"),
    _hub_later("litgpt-hub-llama32-3b-lora-mb1", "meta-llama/Llama-3.2-3B@litgpt", QV32, 1, 9.67, "00af8b0d",
               quote="| llama-3.2-3b/lora.yaml | llama-3.2-3b | 2 | 512 | 1 | 1xA10G | ... | 9.67 GB |"),
    _hub_later("litgpt-hub-llama32-3b-qlora-mb2", "meta-llama/Llama-3.2-3B@litgpt", QV32, 2, 10.30, "00af8b0d",
               "nf4", quote="| llama-3.2-3b/qlora.yaml | llama-3.2-3b | 2 | 512 | 2 | 1xA10G | ... | 10.30 GB |"),
    _hub_later("litgpt-hub-phi-3-lora-mb4", "microsoft/Phi-3-mini-4k-instruct", _ALL(8), 4, 19.75, "f247be87",
               quote="| phi-3/lora.yaml | Phi-3-mini-4k-instruct | 1 | 512 | 4 | 1xA10G | ... | 19.75 GB |"),
    _hub_later("litgpt-hub-phi-3-qlora-mb4", "microsoft/Phi-3-mini-4k-instruct", _ALL(8), 4, 19.13, "f247be87",
               "nf4", quote="| phi-3/qlora.yaml | Phi-3-mini-4k-instruct | 1 | 512 | 4 | 1xA10G | ... | 19.13 GB |"),
    replace(_hub_later("litgpt-hub-gemma2-2b-lora-mb2", "google/gemma-2-2b@litgpt", _ALL(8), 2, 14.31, "2b195c7f",
                       quote="| gemma2-2b/lora.yaml | gemma-2b | 2 | 512 | 2 | 1xA10G | ... | 14.31 GB |"),
            holdout=False),
    replace(_hub_later("litgpt-hub-gemma2-2b-qlora-mb2", "google/gemma-2-2b@litgpt", _ALL(16), 2, 13.52, "2b195c7f",
                       "nf4", quote="| gemma2b/qlora.yaml | gemma-2b | 2 | 512 | 2 | 1xA10G | ... | 13.52 GB |"),
            holdout=False),
    replace(_hub_later("litgpt-hub-gemma2-9b-qlora-mb1", "google/gemma-2-9b@litgpt", _ALL(16), 1, 20.92, "916a84ca",
                       "nf4", quote="| gemma2-9b/qlora.yaml | gemma-2-9b | 2 | 512 | 1 | 1xA10G | ... | 20.92 GB |"),
            holdout=False),
)


from tests.memory.validation_trainer_cases import CASES as _TRAINER_CASES  # noqa: E402 -- they build on Case above

from tests.memory.validation_third_cases import CASES as _THIRD_CASES  # noqa: E402 -- idem

CASES = CASES + _TRAINER_CASES + _THIRD_CASES
KINDS = {"allocated": "peak_allocated", "reserved": "peak_reserved", "nvidia_smi": "nvidia_smi",
         "training": "peak_training", "init": "loading"}


@lru_cache(maxsize=None)
def _opened(model: str):
    cfg = dict(CONFIGS[model])
    config = AutoConfig.for_model(cfg.pop("model_type"), **cfg)
    opened = open_model(config)
    return opened.skeleton, PlanIndex(opened.inventory)


def estimate_case(case: Case):
    """The :class:`~lora_core.memory.MemoryEstimate` for a case, on its model's meta skeleton."""
    skel, index = _opened(case.model)
    return estimate_for_plan(skel, index, case.plan, case.settings)


def trainable_of(case: Case) -> int:
    """Our (PEFT's) trainable count for the case's plan."""
    skel, index = _opened(case.model)
    return count(case.plan, index).trainable


def validation_table(cases: tuple[Case, ...] = CASES) -> pd.DataFrame:
    """One row per case: ``id, method, kind, estimate, measured, ratio, within, holdout, source``.

    ``estimate`` is of the case's kind (``peak_allocated`` or ``peak_reserved``); ``within`` is
    whether ``ratio`` is inside the band the acceptance sets (±15 %, ±20 % for QLoRA).
    """
    rows = []
    for case in cases:
        est = estimate_case(case)
        value = getattr(est, KINDS[case.kind])
        band = 0.20 if case.qlora else 0.15
        ratio = value / case.measured
        rows.append(dict(id=case.id, method="QLoRA" if case.qlora else ("DoRA" if case.dora else "LoRA"),
                         trainer=case.settings.trainer, kind=case.kind, estimate=value, measured=case.measured,
                         ratio=ratio, within=abs(ratio - 1) <= band, holdout=case.holdout, phase=est.peak_phase,
                         source=case.source, note=case.note))
    return pd.DataFrame(rows)


def markdown_table(table: pd.DataFrame) -> str:
    """The table as docs/memory.md shows it (GB = 1e9 bytes, as the sources print)."""
    return tables.markdown_table(table, (
        ("case", "l", lambda r: r.id), ("method", "l", lambda r: r.method), ("trainer", "l", lambda r: r.trainer),
        ("kind", "l", lambda r: r.kind), ("estimate GB", "r", lambda r: f"{r.estimate / 1e9:.2f}"),
        ("measured GB", "r", lambda r: f"{r.measured / 1e9:.2f}"), ("ratio", "r", tables.ratio_cell),
        ("held out", "l", tables.held_out_cell), ("source", "l", lambda r: r.source)))
