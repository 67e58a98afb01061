"""ui.common.plan_views: what the Targets page shows for a plan, built once per (model, plan) and equal
to what lora_core computes from scratch."""

from __future__ import annotations

from dataclasses import replace

import pytest

from lora_core.planning import PRESET_PLANS, Plan, PlanIndex, Target, count, resolve, resolve_plan
from tests.helpers import cached_inventory
from ui.common.plan_views import LRU, PlanViews, build_view
from ui.targets.surprises import NameFacts
from ui.targets.toggles import toggle_states, toggles_for

CASES = [
    ("meta-llama/Meta-Llama-3.1-8B", PRESET_PLANS["Q,V r8 + FFN r4 (extended)"]),
    ("meta-llama/Meta-Llama-3.1-8B", Plan((Target("q", 16, 8.0), Target("v", 16)), layers=(0, 1, 2), dora=True)),
    ("Qwen/Qwen3-30B-A3B", Plan((Target("all-linear", 8), Target("experts", 4)))),
    ("openai-community/gpt2", PRESET_PLANS["All linear r16 (QLoRA-style)"]),
]


def _model(model_id: str):
    inv = cached_inventory(model_id)
    return PlanIndex(inv), toggles_for(inv), NameFacts.of(inv)


@pytest.mark.parametrize("model_id, plan", CASES, ids=["llama-extended", "llama-layers-dora", "qwen3-moe", "gpt2-all"])
def test_view_equals_lora_core(model_id, plan):
    index, toggles, facts = _model(model_id)
    view = build_view(resolve(plan, index), toggles, facts)
    rows = resolve_plan(plan, index)
    assert view.count == count(plan, index)
    assert view.rows.equals(rows)
    assert view.states == toggle_states(toggles, resolve(plan, index))
    assert view.dora_params == (count(plan, index).trainable - count(replace(plan, dora=False), index).trainable)
    layer_sum = sum(sum(t["y"]) for t in view.layer_chart.spec["data"])
    assert layer_sum == int(rows.loc[rows["layer"].notna(), "lora_params"].sum())
    assert sum(view.share_chart.spec["data"][0]["values"]) == view.count.lora
    assert view.frozen_chart.spec["data"][0]["x"] == [view.count.all_params - view.count.trainable, view.count.trainable]
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
