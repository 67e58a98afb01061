"""Import of adapter_config.json: round trip with export, hand-written configs against PEFT, bad files."""

from __future__ import annotations

import json
import warnings

import pytest
from peft import LoraConfig, get_peft_model

from lora_core.planning.audit import audit_adapter_config, plan_from_adapter_config
from lora_core.errors import InputError
from lora_core.planning.export import adapter_config_bytes
from lora_core.planning import Plan, PlanIndex, Target, count, resolve_plan
from lora_core.planning.verify import wrapped_by_peft
from tests.helpers import cached_inventory, cached_skeleton, fresh_skeleton

LLAMA, GPT2, PHI3, T5 = ("meta-llama/Meta-Llama-3.1-8B", "openai-community/gpt2",
                         "microsoft/Phi-3-mini-4k-instruct", "google/flan-t5-base")
QWEN_MOE, DEEPSEEK, LLAVA = "Qwen/Qwen3-30B-A3B", "deepseek-ai/DeepSeek-V3", "llava-hf/llava-1.5-7b-hf"

ROUND_TRIPS = [
    ("llama-qv", LLAMA, Plan((Target("q", 8), Target("v", 8)))),
    ("llama-mixed-ranks-layers-embedding", LLAMA,
     Plan((Target("q", 16, 8), Target("ffn", 4), Target("embedding", 2)), layers=(0, 5, 31))),
    ("gpt2-o-dora-bias", GPT2, Plan((Target("o", 8),), dora=True, bias="lora_only")),
    ("t5-attention-save-head", T5, Plan((Target("attention", 4),), modules_to_save=("lm_head",))),
    ("deepseek-ffn-experts", DEEPSEEK, Plan((Target("q", 8), Target("ffn", 4)), layers=(2, 3))),
    ("qwen3moe-experts", QWEN_MOE, Plan((Target("experts", 4), Target("attention", 8)))),
    ("llava-vision-too", LLAVA, Plan((Target("q", 8),), scope="all", rslora=True)),
]


def _rows(plan: Plan, model_id: str) -> list[tuple[str, int, float]]:
    rows = resolve_plan(plan, PlanIndex(cached_inventory(model_id)))
    return sorted(zip(rows["name"], rows["rank"].astype(int), rows["alpha"]))


@pytest.mark.parametrize("model_id,plan", [c[1:] for c in ROUND_TRIPS], ids=[c[0] for c in ROUND_TRIPS])
def test_export_import_round_trip(model_id: str, plan: Plan) -> None:
    inv, skel = cached_inventory(model_id), cached_skeleton(model_id)
    back = plan_from_adapter_config(adapter_config_bytes(plan, inv, skel), inv, skel)
    assert _rows(back, model_id) == _rows(plan, model_id)
    index = PlanIndex(inv)
    assert count(back, index) == count(plan, index)
    assert (back.dora, back.rslora, back.bias, back.modules_to_save) == \
        (plan.dora, plan.rslora, plan.bias, plan.modules_to_save)


def _peft(model_id: str, cfg: dict) -> tuple[int, dict]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = get_peft_model(fresh_skeleton(model_id).model, LoraConfig(**cfg), low_cpu_mem_usage=True)
    return model.get_nb_trainable_parameters()[0], wrapped_by_peft(model)


# Configs as people write them; the audit must agree with what PEFT does with them.
HAND_WRITTEN = [
    ("gpt2-c_proj-collision", GPT2, dict(r=8, target_modules=["c_attn", "c_proj"])),
    ("phi3-half-unmatched", PHI3, dict(r=8, target_modules=["qkv_proj", "q_proj"])),
    ("qwen3moe-v4-names-rewritten", QWEN_MOE, dict(r=8, lora_alpha=16, target_modules=["q_proj", "gate_proj",
                                                                                        "up_proj", "down_proj"])),
    ("llama-regex-and-rank-pattern", LLAMA, dict(r=8, target_modules=r".*\.(q_proj|v_proj)",
                                                 rank_pattern={"v_proj": 4}, alpha_pattern={"v_proj": 4})),
]


@pytest.mark.parametrize("model_id,cfg", [c[1:] for c in HAND_WRITTEN], ids=[c[0] for c in HAND_WRITTEN])
def test_audit_agrees_with_peft(model_id: str, cfg: dict) -> None:
    trainable, wrapped = _peft(model_id, cfg)
    audit = audit_adapter_config({"peft_type": "LORA", **cfg}, cached_inventory(model_id), cached_skeleton(model_id))
    assert audit.count.trainable == trainable
    assert sorted(zip(audit.rows["name"], audit.rows["rank"].astype(int), audit.rows["alpha"])) == \
        sorted((n, r, a) for n, (r, a) in wrapped.items())


def test_audit_names_what_matches_nothing_and_what_peft_rewrites() -> None:
    phi = audit_adapter_config({"peft_type": "LORA", "r": 8, "target_modules": ["qkv_proj", "q_proj"]},
                               cached_inventory(PHI3), cached_skeleton(PHI3))
    assert phi.unmatched == ["q_proj"]
    qwen = audit_adapter_config({"peft_type": "LORA", "r": 8, "target_modules": ["gate_proj", "up_proj", "down_proj"]},
                                cached_inventory(QWEN_MOE), cached_skeleton(QWEN_MOE))
    assert any("gate_proj" in note and "gate_up_proj" in note for note in qwen.rewritten)
    assert any("rank doubled" in note for note in qwen.rewritten)


def test_audit_reads_bytes_and_reports_unknown_fields() -> None:
    data = json.dumps({"peft_type": "LORA", "r": 4, "target_modules": ["q_proj"], "future_field": 1}).encode()
    audit = audit_adapter_config(data, cached_inventory(LLAMA), cached_skeleton(LLAMA))
    assert audit.ignored == ["future_field"] and len(audit.rows) == 32


@pytest.mark.parametrize("data,message", [
    (b"{not json", r"adapter_config: is not valid JSON"),
    (b"[1, 2]", r"not an object"),
    ({"peft_type": "IA3", "target_modules": ["q_proj"]}, r"peft_type: is 'IA3'; only LoRA"),
    ({"r": 8, "target_modules": ["q_proj"]}, r"peft_type: is missing"),
    ({"peft_type": "LORA", "r": 8, "target_modules": "q_proj", "layers_to_transform": [0]},
     r"PEFT rejects it: .*layers_to_transform"),
    ({"peft_type": "LORA", "r": 8, "target_modules": ["gate_proj"]}, r"PEFT rejects it on this model: .*up_proj"),
    ({"peft_type": "LORA", "r": 8, "target_modules": "(.*.*)*x"}, r"target_modules: pattern .* nests unbounded"),
    ({"peft_type": "LORA", "r": 0, "target_modules": ["q_proj"]}, r"adapter_config: r: must be a positive integer"),
])
def test_bad_adapter_configs_are_refused(data, message: str) -> None:
    with pytest.raises(InputError, match=message):
        audit_adapter_config(data, cached_inventory(QWEN_MOE), cached_skeleton(QWEN_MOE))
