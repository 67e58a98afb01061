"""PEFT's matching traps, as a table: our replay (:func:`peft_matches`) against real ``get_peft_model``.

Each case is a config a user might write. The expectation is PEFT's own result on a fresh meta
skeleton (wrapped names with rank and alpha, or the error it raises); each case also states the
trap in one assertion about that result.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import pytest
from peft import LoraConfig, get_peft_model

from lora_core.peft_rules import peft_matches
from lora_core.planning.export import to_lora_config
from lora_core.planning import Plan, PlanIndex, Target, resolve_plan
from lora_core.planning.verify import wrapped_by_peft
from tests.helpers import cached_inventory, cached_skeleton, fresh_skeleton

LLAMA, GPT2, PHI3 = "meta-llama/Meta-Llama-3.1-8B", "openai-community/gpt2", "microsoft/Phi-3-mini-4k-instruct"
QWEN_MOE, DEEPSEEK, MIXTRAL = "Qwen/Qwen3-30B-A3B", "deepseek-ai/DeepSeek-V3", "mistralai/Mixtral-8x7B-v0.1"
Wrapped = dict[str, tuple[int, float]]
LLAMA_Q = [f"model.layers.{i}.self_attn.q_proj" for i in range(32)]


def _leaves(w: Wrapped) -> set[str]:
    return {n.rpartition(".")[2] for n in w}


# (id, model, LoraConfig kwargs, what the result shows; None when PEFT raises)
CASES: list[tuple[str, str, dict, Callable[[Wrapped], bool] | None]] = [
    ("gpt2-c_proj-suffix-hits-attn-and-mlp", GPT2, dict(r=8, target_modules=["c_attn", "c_proj"]),
     lambda w: any(n.endswith("mlp.c_proj") for n in w) and any(n.endswith("attn.c_proj") for n in w)),
    ("gpt2-dotted-suffix-splits-them", GPT2, dict(r=8, target_modules=["attn.c_proj"]),
     lambda w: len(w) == 12 and all(n.endswith("attn.c_proj") for n in w)),
    ("string-is-fullmatch-not-suffix", GPT2, dict(r=8, target_modules="c_attn"), None),
    ("phi3-has-no-q_proj", PHI3, dict(r=8, target_modules=["q_proj", "v_proj"]), None),
    ("phi3-unmatched-name-skipped-silently", PHI3, dict(r=8, target_modules=["qkv_proj", "q_proj"]),
     lambda w: _leaves(w) == {"qkv_proj"}),
    ("qwen3moe-fused-half-raises", QWEN_MOE, dict(r=8, target_modules=["gate_proj"]), None),
    ("qwen3moe-gate-up-rewritten-rank-doubled", QWEN_MOE,
     dict(r=8, lora_alpha=16, target_modules=["gate_proj", "up_proj", "down_proj"]),
     lambda w: {ra for n, ra in w.items() if n.endswith("gate_up_proj")} == {(16, 32.0)}
     and {ra for n, ra in w.items() if n.endswith("down_proj")} == {(8, 16.0)}),
    ("qwen3moe-all-linear-adds-experts-and-router", QWEN_MOE, dict(r=8, target_modules="all-linear"),
     lambda w: {"gate_up_proj", "down_proj", "weight", "q_proj"} <= _leaves(w)),
    ("deepseek-dense-full-name-rewritten", DEEPSEEK, dict(r=8, target_modules=["model.layers.0.mlp.gate_proj"]), None),
    ("deepseek-mlp-down_proj-goes-to-experts", DEEPSEEK, dict(r=8, target_modules=["mlp.down_proj"]),
     lambda w: w and all(n.endswith("experts.down_proj") for n in w)),
    ("deepseek-dense-linear-through-weight", DEEPSEEK,
     dict(r=8, target_modules=[], target_parameters=["model.layers.0.mlp.gate_proj.weight"]),
     lambda w: list(w) == ["model.layers.0.mlp.gate_proj.weight"]),
    ("mixtral-w1-w3-rewritten-to-fused-experts", MIXTRAL, dict(r=8, target_modules=["w1", "w2", "w3"]),
     lambda w: {ra for n, ra in w.items() if n.endswith("gate_up_proj")} == {(16, 16.0)}
     and _leaves(w) == {"gate_up_proj", "down_proj"}),
    ("mixtral-w1-without-w3-raises", MIXTRAL, dict(r=8, target_modules=["w1", "w2"]), None),
    ("target-parameters-ignore-layers", MIXTRAL,
     dict(r=8, target_modules=["q_proj"], target_parameters=["experts.gate_up_proj"], layers_to_transform=[0]),
     lambda w: sum(n.endswith("gate_up_proj") for n in w) == 32 and sum(n.endswith("q_proj") for n in w) == 1),
    ("full-name-skips-layer-filter", LLAMA,
     dict(r=8, target_modules=["model.embed_tokens", "q_proj"], layers_to_transform=[0]),
     lambda w: set(w) == {"model.embed_tokens", "model.layers.0.self_attn.q_proj"}),
    ("twenty-entries-get-condensed-then-layer-filtered", LLAMA,
     dict(r=8, target_modules=["model.embed_tokens"] + LLAMA_Q, layers_to_transform=[0]),
     lambda w: set(w) == {"model.layers.0.self_attn.q_proj"}),
    ("rank-pattern-first-key-wins", LLAMA,
     dict(r=8, target_modules=["q_proj"], rank_pattern={"q_proj": 4, r"layers\.0\.self_attn\.q_proj": 16}),
     lambda w: {ra[0] for ra in w.values()} == {4}),
    ("rank-pattern-specific-key-first", LLAMA,
     dict(r=8, target_modules=["q_proj"], rank_pattern={r"layers\.0\.self_attn\.q_proj": 16, "q_proj": 4}),
     lambda w: w["model.layers.0.self_attn.q_proj"][0] == 16 and w["model.layers.1.self_attn.q_proj"][0] == 4),
    ("modules-to-save-are-not-wrapped", GPT2,
     dict(r=8, target_modules=["c_attn", "lm_head"], modules_to_save=["lm_head"]),
     lambda w: _leaves(w) == {"c_attn"}),
    ("exclude-modules-with-all-linear", LLAMA, dict(r=8, target_modules="all-linear", exclude_modules=["o_proj"]),
     lambda w: "o_proj" not in _leaves(w) and "q_proj" in _leaves(w)),
    ("regex-with-layer-alternation", LLAMA,
     dict(r=8, target_modules=r"model\.layers\.(?:0|1)\.self_attn\.q_proj"),
     lambda w: set(w) == set(LLAMA_Q[:2])),
]


def _real_peft(model_id: str, config: dict | LoraConfig) -> Wrapped | None:
    """PEFT's wrapped set, or ``None`` when ``get_peft_model`` raises ``ValueError``."""
    config = LoraConfig(**config) if isinstance(config, dict) else config
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = get_peft_model(fresh_skeleton(model_id).model, config, low_cpu_mem_usage=True)
    except ValueError:
        return None
    return wrapped_by_peft(model)


def _replayed(model_id: str, kwargs: dict) -> Wrapped | None:
    try:
        hits = peft_matches(LoraConfig(**kwargs), cached_skeleton(model_id).model)
    except ValueError:
        return None
    return {**hits.modules, **hits.parameters} or None


@pytest.mark.parametrize("model_id,kwargs,shows", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_replay_equals_peft(model_id: str, kwargs: dict, shows) -> None:
    real = _real_peft(model_id, kwargs)
    assert _replayed(model_id, kwargs) == real
    assert (real is None) if shows is None else shows(real)


# Plans whose naive config would fall into a trap above; the export must avoid it.
PLAN_CASES = [
    ("gpt2-o-only", GPT2, Plan((Target("o", 8),))),
    ("phi3-q-means-fused-qkv", PHI3, Plan((Target("q", 8),))),
    ("deepseek-ffn-dense-and-shared", DEEPSEEK, Plan((Target("ffn", 4),), layers=(0, 3))),
    ("qwen3moe-experts-rank-differs-from-attention", QWEN_MOE, Plan((Target("experts", 4), Target("q", 16)))),
    ("llama-embedding-plus-layer-subset", LLAMA, Plan((Target("embedding", 4), Target("q", 8)), layers=(0,))),
    ("llama-name-beats-role-beats-group", LLAMA,
     Plan((Target("attention", 4), Target("q", 8), Target("model.layers.3.self_attn.q_proj", 32)))),
]


@pytest.mark.parametrize("model_id,plan", [c[1:] for c in PLAN_CASES], ids=[c[0] for c in PLAN_CASES])
def test_export_avoids_the_traps(model_id: str, plan: Plan) -> None:
    inv = cached_inventory(model_id)
    config = to_lora_config(plan, inv, cached_skeleton(model_id))
    rows = resolve_plan(plan, PlanIndex(inv))
    want = {n: (int(r), float(a)) for n, r, a in zip(rows["name"], rows["rank"], rows["alpha"])}
    real = _real_peft(model_id, config)
    assert {(n if n in want else n.removesuffix(".weight")): ra for n, ra in real.items()} == want
