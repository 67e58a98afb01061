"""The serving test table: presets x plans, each exported and described once per test session."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from lora_core.planning.export import config_dict, to_lora_config
from lora_core.planning import Plan, PlanIndex, Target
from lora_core.serving import Adapter, describe

from tests.helpers import cached_inventory, cached_skeleton

LLAMA = "meta-llama/Meta-Llama-3.1-8B"
QV = (Target("q", 8), Target("v", 8))

CASES: dict[str, tuple[str, Plan]] = {
    "qv-r8": (LLAMA, Plan(QV)),
    "attention+ffn": (LLAMA, Plan((Target("attention", 8), Target("ffn", 8)))),
    "all-linear-r16": (LLAMA, Plan((Target("all-linear", 16),))),
    "r32": (LLAMA, Plan((Target("q", 32), Target("v", 32)))),
    "r600": (LLAMA, Plan((Target("q", 600),))),
    "dora": (LLAMA, Plan(QV, dora=True)),
    "rslora": (LLAMA, Plan((Target("q", 16), Target("v", 16)), rslora=True)),
    "lora_bias": (LLAMA, Plan(QV, lora_bias=True)),
    "modules_to_save-lm_head": (LLAMA, Plan(QV, modules_to_save=("lm_head",))),
    "embedding+lm_head": (LLAMA, Plan(QV + (Target("embedding", 8), Target("head", 8)))),
    "layers-0-3": (LLAMA, Plan(QV, layers=(0, 1, 2, 3))),
    "mixed-ranks": (LLAMA, Plan((Target("q", 8), Target("v", 16)))),
    "ranks-differ-by-layer": (LLAMA, Plan((Target("q", 8), Target("model.layers.0.self_attn.q_proj", 16)))),
    "regex-llava-language": ("llava-hf/llava-1.5-7b-hf", Plan((Target("attention", 8),))),
    "gpt2-conv1d": ("openai-community/gpt2", Plan((Target("all-linear", 16),))),
    "phi3-fused-qkv": ("microsoft/Phi-3-mini-4k-instruct", Plan((Target("all-linear", 16),))),
    "qwen3-moe-experts": ("Qwen/Qwen3-30B-A3B", Plan((Target("experts", 16), Target("attention", 16)))),
    "mixtral-all-linear+experts": ("mistralai/Mixtral-8x7B-v0.1", Plan((Target("all-linear", 16), Target("experts", 16)))),
    "llava-all-linear-vision": ("llava-hf/llava-1.5-7b-hf", Plan((Target("all-linear", 16),), scope="all")),
}


@dataclass(frozen=True)
class Exported:
    """One table row exported: the config dict and the adapter description over it."""

    model: str
    plan: Plan
    config: dict
    adapter: Adapter


def export(model: str, plan: Plan, allow_regex: bool = True) -> Exported:
    inv, skel = cached_inventory(model), cached_skeleton(model)
    cfg = config_dict(to_lora_config(plan, inv, skel, allow_regex=allow_regex))
    return Exported(model, plan, cfg, describe(plan, PlanIndex(inv), skel.config, cfg))


@lru_cache(maxsize=None)
def exported(case: str) -> Exported:
    return export(*CASES[case])
