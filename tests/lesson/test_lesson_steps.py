"""The lesson's steps: the YAML loads, each step's plan on every preset is what PEFT wraps and
counts on the same meta model, and a model lacking a role is told so plainly."""

from __future__ import annotations

import pytest

from lora_core.errors import InputError
from lora_core.lesson.budget import equal_budget
from lora_core.lesson.steps import load_steps, on_model, parse_steps, step_by_id
from lora_core.planning import PlanIndex, validate_plan
from lora_core.planning.verify import verify
from tests.helpers import PRESETS, cached_inventory, fresh_skeleton

STEPS = load_steps()
REQUIRED_SHOWS = {"names", "count", "share", "budget", "evidence", "moe", "memory", "tasks"}


def test_steps_cover_the_lesson():
    assert REQUIRED_SHOWS <= {s.show for s in STEPS}
    assert {s.predict.kind for s in STEPS if s.predict} == {"trainable", "larger", "fits24"}
    assert len({s.id for s in STEPS}) == len(STEPS)


@pytest.mark.parametrize("text,message", [
    ("[]", "non-empty list"),
    ("- {id: a, title: t, text: x, look: y, show: chart, plan: {q: 8}}", "show"),
    ("- {id: a, title: t, text: x, look: y, show: count, plan: {q: 0}}", "rank of 'q'"),
    ("- {id: A b, title: t, text: x, look: y, show: count, plan: {q: 8}}", "lower-case"),
    ("- {id: a, title: t, text: x, look: y, show: count}", "plan"),
    ("- {id: a, title: t, text: x, look: y, show: count, plan: {q: 8}, predict: {kind: larger}}", "other plan"),
    ("- {id: a, title: t, text: x, look: y, show: count, plan: {q: 8}}\n"
     "- {id: a, title: t, text: x, look: y, show: count, plan: {q: 8}}", "unique"),
])
def test_a_bad_step_file_names_the_field(text, message):
    with pytest.raises(InputError, match=message):
        parse_steps(text)


def test_unknown_step_id_is_refused_with_the_list():
    with pytest.raises(InputError, match="steps are names, qv-r8"):
        step_by_id(STEPS, "nope")


def _distinct_plans(model_id: str):
    index = PlanIndex(cached_inventory(model_id))
    plans = {}
    for s in STEPS:
        som = on_model(s, index)
        plans.setdefault(som.plan, []).append(s.id)
    return index, plans


@pytest.mark.parametrize("model_id", PRESETS)
def test_each_step_plan_is_what_peft_wraps_and_counts(model_id):
    """Every step's plan on the model equals PEFT's own wrap and count (get_peft_model on a fresh
    meta skeleton through the exported LoraConfig)."""
    index, plans = _distinct_plans(model_id)
    for plan, step_ids in plans.items():
        validate_plan(plan, index)
        v = verify(plan, cached_inventory(model_id), lambda: fresh_skeleton(model_id))
        assert v.ok, (step_ids, v.diff)
        assert v.peft_trainable > 0


@pytest.mark.parametrize("model_id", PRESETS)
def test_a_missing_role_is_said_plainly(model_id):
    index = PlanIndex(cached_inventory(model_id))
    for s in STEPS:
        som = on_model(s, index)
        lacking = [k for k in s.needs if not index.mask(k).any()]
        assert list(som.missing) == lacking
        assert len(som.notes) >= len(lacking)
        for key in lacking:
            assert any(key in n or s.lacks.get(key, "\0") == n for n in som.notes), (s.id, key, som.notes)


def test_moe_step_on_dense_and_moe_models():
    step = step_by_id(STEPS, "moe")
    dense = on_model(step, PlanIndex(cached_inventory("meta-llama/Meta-Llama-3.1-8B")))
    assert dense.missing == ("experts", "router") and "dense" in dense.notes[0]
    moe = on_model(step, PlanIndex(cached_inventory("Qwen/Qwen3-30B-A3B")))
    assert moe.missing == () and moe.notes == ()


def test_budget_rank_in_a_step_plan_is_the_equal_budget_rank():
    """`rank: budget` in the YAML is filled with the solver's rank (Phi-3: fused qkv_proj, rank 5)."""
    index = PlanIndex(cached_inventory("microsoft/Phi-3-mini-4k-instruct"))
    som = on_model(step_by_id(STEPS, "equal-budget"), index)
    table = equal_budget(index).set_index("label")
    assert {t.rank for t in som.plan.targets} == {int(table.loc["W_q, W_k, W_v, W_o", "rank"])}
