"""Plan resolution and closed-form counts, checked against PEFT on the same meta model.

Each case pairs a plan with the LoraConfig a PEFT user would write by hand for it; the expected
numbers come from ``get_peft_model(...).get_nb_trainable_parameters()``, never typed in.
"""

from __future__ import annotations

import pytest
from peft import LoraConfig, get_peft_model
from peft.tuners.lora import LoraLayer

from lora_core.errors import InputError
from lora_core.planning import (PRESET_PLANS, Plan, PlanIndex, Target, count, parse_layers, resolve_plan,
                                     validate_plan)
from tests.helpers import cached_inventory, fresh_skeleton

LLAMA, GPT2, T5 = "meta-llama/Meta-Llama-3.1-8B", "openai-community/gpt2", "google/flan-t5-base"
MIXTRAL, PHI3, LLAVA = "mistralai/Mixtral-8x7B-v0.1", "microsoft/Phi-3-mini-4k-instruct", "llava-hf/llava-1.5-7b-hf"

# (id, model, plan, the LoraConfig a user would write for the same thing)
OPTION_CASES = [
    ("qv", LLAMA, Plan((Target("q", 8), Target("v", 8))), dict(r=8, target_modules=["q_proj", "v_proj"])),
    ("all-linear-dora", LLAMA, Plan((Target("all-linear", 16),), dora=True),
     dict(r=16, target_modules="all-linear", use_dora=True)),
    ("gpt2-q-fused-lora-bias", GPT2, Plan((Target("q", 8),), lora_bias=True, bias="lora_only"),
     dict(r=8, target_modules=["c_attn"], lora_bias=True, bias="lora_only")),
    ("gpt2-bias-all-save-tied-head", GPT2, Plan((Target("all-linear", 8),), bias="all", modules_to_save=("lm_head",)),
     dict(r=8, target_modules="all-linear", bias="all", modules_to_save=["lm_head"])),
    ("mixtral-experts", MIXTRAL, Plan((Target("experts", 8),)),
     dict(r=8, target_modules=[], target_parameters=["experts.gate_up_proj", "experts.down_proj"])),
    ("t5-attention-embeddings", T5, Plan((Target("attention", 4), Target("embedding", 4))),
     dict(r=4, target_modules=["q", "k", "v", "o", "shared", "embed_tokens", "relative_attention_bias"])),
    ("phi3-fused-qkv", PHI3, Plan((Target("v", 8),), rslora=True),
     dict(r=8, target_modules=["qkv_proj"], use_rslora=True)),
    ("llava-language-only", LLAVA, Plan((Target("q", 8), Target("v", 8))),
     dict(r=8, target_modules=r"model\.language_model\.layers\.\d+\.self_attn\.(q_proj|v_proj)")),
    ("layers-subset", LLAMA, Plan((Target("attention", 8),), layers=(0, 1, 30)),
     dict(r=8, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"], layers_to_transform=[0, 1, 30])),
]


def _peft(model_id: str, cfg: dict):
    model = get_peft_model(fresh_skeleton(model_id).model, LoraConfig(**cfg), low_cpu_mem_usage=True)
    wrapped = {n for n, m in model.base_model.model.named_modules() if isinstance(m, LoraLayer)}
    return model.get_nb_trainable_parameters(), wrapped


@pytest.mark.parametrize("model_id,plan,cfg", [c[1:] for c in OPTION_CASES], ids=[c[0] for c in OPTION_CASES])
def test_count_equals_peft(model_id: str, plan: Plan, cfg: dict) -> None:
    index = PlanIndex(cached_inventory(model_id))
    (trainable, all_params), wrapped = _peft(model_id, cfg)
    got = count(plan, index)
    assert (got.trainable, got.all_params) == (trainable, all_params)
    rows = resolve_plan(plan, index)
    assert int(rows["lora_params"].sum()) == got.lora
    if not cfg.get("target_parameters"):
        assert set(rows["module"]) == wrapped


def test_most_specific_key_wins() -> None:
    index = PlanIndex(cached_inventory(LLAMA))
    rows = resolve_plan(Plan((Target("q_proj", 32), Target("attention", 8), Target("q", 16))), index)
    by_leaf = rows.groupby(rows["name"].str.rpartition(".")[2])["rank"].unique()
    assert list(by_leaf["q_proj"]) == [32] and list(by_leaf["k_proj"]) == [8]


def test_gpt2_role_keys_split_the_c_proj_collision() -> None:
    rows = resolve_plan(Plan((Target("o", 8),)), PlanIndex(cached_inventory(GPT2)))
    assert rows["name"].str.endswith("attn.c_proj").all() and len(rows) == 12


def test_scope_all_adds_the_vision_tower() -> None:
    index = PlanIndex(cached_inventory(LLAVA))
    language = resolve_plan(Plan((Target("q", 8),)), index)
    everything = resolve_plan(Plan((Target("q", 8),), scope="all"), index)
    assert set(language["stack"]) == {"language"}
    assert set(everything["stack"]) == {"language", "vision"}


@pytest.mark.parametrize("name", list(PRESET_PLANS))
def test_presets_validate_on_every_kind_of_model(name: str) -> None:
    for model_id in (LLAMA, GPT2, T5, MIXTRAL, PHI3):
        index = PlanIndex(cached_inventory(model_id))
        validate_plan(PRESET_PLANS[name], index)
        assert count(PRESET_PLANS[name], index).trainable > 0


BAD_PLANS = [
    (Plan((Target("q", 0),)), r"rank for 'q'.*positive integer, got 0"),
    (Plan((Target("q", -4),)), r"positive integer, got -4"),
    (Plan((Target("q", 2.5),)), r"positive integer, got 2.5"),
    (Plan((Target("q", 8, 0),)), r"alpha for 'q'.*positive"),
    (Plan(()), r"targets.*targets nothing"),
    (Plan((Target("q_proj_typo", 8),)), r"target 'q_proj_typo'.*matches no module"),
    (Plan((Target("q", 8),), layers=(40,)), r"layers.*outside this model's layers 0-31"),
    (Plan((Target("experts", 8),), dora=True), r"dora.*fused expert"),
    (Plan((Target("q", 8),), modules_to_save=("head",)), r"modules_to_save.*also save 'lm_head'"),
    (Plan((Target("q", 8),), modules_to_save=("classifier",)), r"modules_to_save.*names no module"),
]


@pytest.mark.parametrize("plan,message", BAD_PLANS, ids=[m for _, m in BAD_PLANS])
def test_bad_plans_are_refused_with_the_field_named(plan: Plan, message: str) -> None:
    model = MIXTRAL if plan.dora else LLAMA
    with pytest.raises(InputError, match=message):
        validate_plan(plan, PlanIndex(cached_inventory(model)))


def test_rank_above_module_width_warns() -> None:
    warnings = validate_plan(Plan((Target("kv_a", 1024),)),
                             PlanIndex(cached_inventory("deepseek-ai/DeepSeek-V3")))
    assert any("min(in, out)" in w for w in warnings)


@pytest.mark.parametrize("text,expected", [("", None), ("0-3,7", (0, 1, 2, 3, 7)), (" 5 ", (5,))])
def test_parse_layers(text: str, expected) -> None:
    assert parse_layers(text, 32) == expected


@pytest.mark.parametrize("text", ["3-1", "a", "0-40"])
def test_parse_layers_refuses(text: str) -> None:
    with pytest.raises(InputError, match="layers"):
        parse_layers(text, 32)
