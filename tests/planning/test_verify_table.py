"""Every preset x every plan: the exported adapter_config.json, loaded and applied by PEFT, wraps
exactly the plan's rows at their rank and alpha, and PEFT's trainable count equals the plan's.

The expectation is PEFT itself: the config is written to disk, read back with
``LoraConfig.from_pretrained`` and applied with ``get_peft_model`` on a fresh meta skeleton.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
from peft import LoraConfig, get_peft_model

from lora_core.planning.export import write_adapter_config
from lora_core.planning import Plan, PlanIndex, Target, count, resolve_plan
from lora_core.planning.verify import verify, wrapped_by_peft
from tests.helpers import PRESETS, cached_inventory, cached_skeleton, fresh_skeleton


def _edge_layers(index: PlanIndex) -> tuple[int, ...]:
    return (0, 1, index.num_layers - 1)


# name -> (plan factory over the model's index, only on MoE models)
PLANS: dict[str, tuple[Callable[[PlanIndex], Plan], bool]] = {
    "qv-r8": (lambda ix: Plan((Target("q", 8), Target("v", 8))), False),
    "qv-r8+ffn-r4": (lambda ix: Plan((Target("q", 8), Target("v", 8), Target("ffn", 4))), False),
    "attention": (lambda ix: Plan((Target("attention", 8),)), False),
    "all-linear-r16-layers": (lambda ix: Plan((Target("all-linear", 16),), layers=_edge_layers(ix)), False),
    "qv-dora-rslora": (lambda ix: Plan((Target("q", 8), Target("v", 8)), dora=True, rslora=True), False),
    "experts-r8+attention-r4-layers": (lambda ix: Plan((Target("experts", 8), Target("attention", 4, 4)),
                                                       layers=(1, 3)), True),
}


def _is_moe(model_id: str) -> bool:
    return bool((cached_inventory(model_id)["kind"] == "expert-parameter").any())


CASES = [pytest.param(m, p, id=f"{m.split('/')[1]}-{p}") for m in PRESETS for p, (_, moe) in PLANS.items()
         if not moe or _is_moe(m)]


def _peft_side(model_id: str, config_dir: Path) -> tuple[int, dict[str, tuple[int, float]]]:
    """PEFT's count and wrapped set after loading the exported file and applying it."""
    config = LoraConfig.from_pretrained(str(config_dir))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = get_peft_model(fresh_skeleton(model_id).model, config, low_cpu_mem_usage=True)
    return model.get_nb_trainable_parameters()[0], wrapped_by_peft(model)


def _as_rows(wrapped: dict[str, tuple[int, float]], inv_names: set[str]) -> dict[str, tuple[int, float]]:
    """PEFT names as inventory row names (a linear wrapped through ``.weight`` is its module)."""
    return {(n if n in inv_names else n.removesuffix(".weight")): ra for n, ra in wrapped.items()}


@pytest.mark.parametrize("model_id,plan_name", CASES)
def test_exported_config_is_exact_under_peft(model_id: str, plan_name: str, tmp_path: Path) -> None:
    inv = cached_inventory(model_id)
    index = PlanIndex(inv)
    plan = PLANS[plan_name][0](index)
    write_adapter_config(tmp_path, plan, inv, cached_skeleton(model_id))
    peft_trainable, wrapped = _peft_side(model_id, tmp_path)
    rows = resolve_plan(plan, index)
    want = {n: (int(r), float(a)) for n, r, a in zip(rows["name"], rows["rank"], rows["alpha"])}
    assert _as_rows(wrapped, set(inv["name"])) == want
    assert count(plan, index).trainable == peft_trainable


@pytest.mark.parametrize("model_id", ["openai-community/gpt2", "deepseek-ai/DeepSeek-V3"])
def test_verify_reports_agreement(model_id: str) -> None:
    plan = Plan((Target("q", 8), Target("ffn", 4)))
    v = verify(plan, cached_inventory(model_id), lambda: fresh_skeleton(model_id))
    assert v.ok and not v.diff
    assert v.plan_trainable == v.peft_trainable and v.plan_targeted == v.peft_targeted


# Options that change the count, on the models where they matter (PEFT is the expectation).
OPTION_PLANS = [
    ("gpt2-save-tied-head", "openai-community/gpt2", Plan((Target("q", 8),), modules_to_save=("lm_head",))),
    ("gpt2-bias-all-save-ln_f", "openai-community/gpt2",
     Plan((Target("q", 8),), bias="all", modules_to_save=("ln_f",))),
    ("gpt2-lora-bias-lora-only", "openai-community/gpt2",
     Plan((Target("attention", 8),), bias="lora_only", lora_bias=True)),
    ("gpt2-embedding-dora", "openai-community/gpt2", Plan((Target("embedding", 8),), dora=True)),
    ("t5-tied-embeddings-dora", "google/flan-t5-base", Plan((Target("embedding", 4), Target("q", 8)), dora=True)),
    ("bert-all-linear-lora-bias", "google-bert/bert-base-uncased", Plan((Target("all-linear", 8),), lora_bias=True)),
    ("llama-head-outside-layers", "meta-llama/Meta-Llama-3.1-8B",
     Plan((Target("q", 8), Target("head", 4)), layers=(2,))),
    ("deepseek-router-and-mla", "deepseek-ai/DeepSeek-V3", Plan((Target("router", 4), Target("kv_b", 8)))),
    ("mixtral-ffn-and-router", "mistralai/Mixtral-8x7B-v0.1", Plan((Target("ffn", 4), Target("router", 2)))),
    ("llava-vision-scope", "llava-hf/llava-1.5-7b-hf", Plan((Target("all-linear", 8),), scope="all")),
    ("phi3-save-embeddings", "microsoft/Phi-3-mini-4k-instruct",
     Plan((Target("gate", 8), Target("o", 4)), modules_to_save=("embed_tokens",))),
]


@pytest.mark.parametrize("model_id,plan", [c[1:] for c in OPTION_PLANS], ids=[c[0] for c in OPTION_PLANS])
def test_options_verified_with_peft(model_id: str, plan: Plan) -> None:
    v = verify(plan, cached_inventory(model_id), lambda: fresh_skeleton(model_id))
    assert v.diff == [] and v.ok
