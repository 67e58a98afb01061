"""ui.common.plan_views: what the Targets page shows for a plan, built once per (model, plan) and equal
to what PEFT builds for the plan's exported config."""

from __future__ import annotations

import warnings

import pytest
from peft import get_peft_model

from lora_core.peft_rules import layer_index
from lora_core.planning import PRESET_PLANS, Plan, PlanIndex, Target, resolve
from lora_core.planning.export import to_lora_config
from lora_core.planning.verify import wrapped_by_peft
from tests.helpers import cached_inventory, cached_skeleton, fresh_skeleton
from ui.common.plan_views import LRU, PlanViews, build_view
from ui.targets.surprises import NameFacts
from ui.targets.toggles import toggles_for

CASES = [
    ("meta-llama/Meta-Llama-3.1-8B", PRESET_PLANS["Q,V r8 + FFN r4 (extended)"]),
    ("meta-llama/Meta-Llama-3.1-8B", Plan((Target("q", 16, 8.0), Target("v", 16)), layers=(0, 1, 2), dora=True)),
    ("Qwen/Qwen3-30B-A3B", Plan((Target("all-linear", 8), Target("experts", 4)))),
    ("openai-community/gpt2", PRESET_PLANS["All linear r16 (QLoRA-style)"]),
]


def _model(model_id: str):
    inv = cached_inventory(model_id)
    return PlanIndex(inv), toggles_for(inv), NameFacts.of(inv)


def _peft(model_id: str, plan: Plan):
    """PEFT's own model for the plan's exported config, on a fresh meta skeleton."""
    config = to_lora_config(plan, cached_inventory(model_id), cached_skeleton(model_id))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return get_peft_model(fresh_skeleton(model_id).model, config, low_cpu_mem_usage=True)


@pytest.mark.parametrize("model_id, plan", CASES, ids=["llama-extended", "llama-layers-dora", "qwen3-moe", "gpt2-all"])
def test_view_shows_what_peft_builds(model_id, plan):
    """Counts, wrapped units and ranks, DoRA's share and every chart's total, against PEFT's model."""
    index, toggles, facts = _model(model_id)
    view = build_view(resolve(plan, index), toggles, facts)
    peft_model = _peft(model_id, plan)
    trainable, total = peft_model.get_nb_trainable_parameters()
    assert (view.count.trainable, view.count.all_params) == (trainable, total)
    wrapped = {n.removesuffix(".weight") if n not in set(index.names) else n: ra
               for n, ra in wrapped_by_peft(peft_model).items()}
    shown = {n: (int(r), float(a)) for n, r, a in zip(view.rows["name"], view.rows["rank"], view.rows["alpha"])}
    assert shown == wrapped
    params = dict(peft_model.named_parameters())
    assert view.dora_params == sum(p.numel() for n, p in params.items() if "lora_magnitude_vector" in n)
    layered = sum(p.numel() for n, p in params.items() if p.requires_grad and layer_index(n) is not None)
    assert sum(sum(t["y"]) for t in view.layer_chart.spec["data"]) == layered
    assert sum(view.share_chart.spec["data"][0]["values"]) == trainable
    assert view.frozen_chart.spec["data"][0]["x"] == [total - trainable, trainable]
    for key, state in view.states.items():  # a toggle shown on carries the rank PEFT gives its units
        if state.on:
            units = [n for n in wrapped if index.mask(key)[list(index.names).index(n)]]
            assert units and {wrapped[n][0] for n in units} >= {state.rank}, key
    for fig in (view.layer_chart, view.share_chart, view.frozen_chart):
        fig.validated()  # Plotly accepts every property


def test_views_are_built_once_per_plan_and_shared():
    index, toggles, facts = _model("meta-llama/Meta-Llama-3.1-8B")
    views = PlanViews()
    qv, qkv = PRESET_PLANS["Attention Q,V r8 (classic)"], Plan((Target("q", 8), Target("k", 8), Target("v", 8)))
    first = views.get(qv, index, toggles, facts)
    assert views.get(qkv, index, toggles, facts) is not first
    assert views.get(Plan((Target("q", 8), Target("v", 8))), index, toggles, facts) is first  # equal plan, same view
    assert len(views) == 2


def test_lru_keeps_the_most_recently_used():
    built: list[str] = []
    lru = LRU(2)

    def get(key: str) -> str:
        return lru.get(key, lambda: built.append(key) or key.upper())  # type: ignore[func-returns-value]

    assert [get("a"), get("b"), get("a"), get("c")] == ["A", "B", "A", "C"]  # "b" is now the oldest
    get("a")
    get("b")
    assert built == ["a", "b", "c", "b"] and len(lru) == 2


def test_memory_and_per_model_values_are_built_once():
    views, built = PlanViews(), []
    plan, other = PRESET_PLANS["Attention Q,V r8 (classic)"], PRESET_PLANS["All attention r8"]

    def make(tag: str):
        return lambda: built.append(tag) or tag  # type: ignore[func-returns-value]

    assert views.memory(plan, ("bf16", 2048), make("a")) == "a"
    assert views.memory(plan, ("bf16", 2048), make("again")) == "a"
    assert views.memory(plan, ("nf4", 2048), make("b")) == "b"  # other settings
    assert views.memory(other, ("bf16", 2048), make("c")) == "c"  # other plan
    assert views.per_model("notes", make("n")) == views.per_model("notes", make("n2")) == "n"
    assert built == ["a", "b", "c", "n"]



def test_serving_verdicts_are_judged_once_per_plan_and_export(monkeypatch):
    """The Targets badges and the Export panel read the engines' verdicts from the model's views."""
    from ui.common import serving as serving_view
    from ui.common.loaded_model import LoadedModel, ModelRef, load

    loaded = load(ModelRef("preset", "openai-community/gpt2"))
    model = LoadedModel(**{**loaded.__dict__, "views": PlanViews()})  # fresh views, same cached model
    calls = []
    real = serving_view.judge_all
    monkeypatch.setattr(serving_view, "judge_all", lambda a: calls.append(a) or real(a))
    plan = Plan((Target("qkv", 8),))
    first = serving_view.verdicts(model, plan)
    assert serving_view.verdicts(model, plan) is first and len(calls) == 1
    serving_view.verdicts(model, plan, {"r": 8})
    assert len(calls) == 2 and set(first) == {"vllm", "sglang", "tgi", "lorax"}
