"""Targets page behaviour: the numbers shown are lora_core's, for every kind of edit."""

from __future__ import annotations

import json

import pytest

from lora_core.numbers import human, human_pct
from lora_core.memory import MemorySettings, estimate_for_plan
from lora_core.planning import PRESET_PLANS, Plan, Target, count, resolve_plan
from tests.app_support import errors, expected_trainable, index_of, metric, open_app, plan_of, shown_trainable
from ui.common.loaded_model import load

QV8 = (Target("q", 8), Target("v", 8))


@pytest.fixture
def at():
    return open_app("pages/targets.py")


def chart(at, key: str) -> dict:
    """The Plotly spec of the chart with this key."""
    return json.loads(next(c for c in at.get("plotly_chart") if c.proto.id.endswith(key)).proto.spec)


def assert_numbers_match(at) -> None:
    c = count(plan_of(at), index_of(at))
    assert shown_trainable(at) == c.trainable
    assert metric(at, "Trainable parameters").value == human(c.trainable)
    assert metric(at, "% of the model").value == human_pct(c.share)
    per_layer = resolve_plan(plan_of(at), index_of(at))
    bars = chart(at, "tg_chart_layers")["data"]
    assert sum(sum(t["y"]) for t in bars) == int(per_layer.loc[per_layer["layer"].notna(), "lora_params"].sum())


def test_default_plan_is_classic_qv(at):
    assert plan_of(at) == Plan(QV8)
    assert at.toggle(key="tg_on_q").value and at.toggle(key="tg_on_v").value
    assert not at.toggle(key="tg_on_k").value
    assert_numbers_match(at)


def test_toggle_a_target(at):
    at.toggle(key="tg_on_gate").set_value(True).run()
    assert plan_of(at).targets == QV8 + (Target("gate", 8),)
    assert_numbers_match(at)
    assert at.query_params["t"] == "q=8,v=8,gate=8"


def test_change_rank_and_alpha(at):
    at.number_input(key="tg_rank_q").set_value(32).run()
    at.number_input(key="tg_alpha_v").set_value(4.0).run()
    assert plan_of(at).targets == (Target("q", 32), Target("v", 8, 4.0))
    assert_numbers_match(at)
    assert at.query_params["t"] == "q=32,v=8:4"


def test_layer_range_and_custom_layers(at):
    at.slider(key="tg_layers").set_value((4, 11)).run()
    assert plan_of(at).layers == tuple(range(4, 12))
    assert_numbers_match(at)
    at.text_input(key="tg_layers_text").input("0-1,30").run()
    assert plan_of(at).layers == (0, 1, 30)
    assert_numbers_match(at)
    assert at.query_params["layers"] == "0-1,30"


def test_dora_changes_the_count_and_rslora_does_not(at):
    base = shown_trainable(at)
    at.toggle(key="tg_rslora").set_value(True).run()
    assert plan_of(at).rslora and shown_trainable(at) == base
    at.toggle(key="tg_dora").set_value(True).run()
    assert plan_of(at).dora and shown_trainable(at) > base
    assert_numbers_match(at)


@pytest.mark.parametrize("preset", list(PRESET_PLANS))
def test_apply_preset(at, preset):
    at.selectbox(key="tg_preset").select(preset).run()
    at.button(key="tg_apply_preset").click().run()
    assert plan_of(at).targets == PRESET_PLANS[preset].targets
    assert_numbers_match(at)


def test_task_guidance_applies_its_preset(at):
    at.selectbox(key="tg_task").select("Knowledge injection").run()
    at.button(key="tg_apply_task").click().run()
    assert plan_of(at).targets == PRESET_PLANS["Q,V r8 + FFN r4 (extended)"].targets
    assert at.toggle(key="tg_on_down").value and at.number_input(key="tg_rank_down").value == 4


@pytest.mark.parametrize("key, value, message", [
    ("tg_rank_q", 0, "rank for 'q': must be a positive integer"),
    ("tg_alpha_q", -1.0, "alpha for 'q': must be positive"),
])
def test_bad_values_show_error_and_keep_plan(at, key, value, message):
    before = plan_of(at)
    at.number_input(key=key).set_value(value).run()
    assert not at.exception
    assert any(message in e.replace("**", "") for e in errors(at)), errors(at)
    assert plan_of(at) == before
    assert at.number_input(key="tg_rank_q").value == 8


def test_layers_outside_model_show_error(at):
    before = plan_of(at)
    at.text_input(key="tg_layers_text").input("0-99").run()
    assert any("outside this model's layers 0-31" in e for e in errors(at)), errors(at)
    assert plan_of(at) == before


def test_switching_everything_off_is_refused(at):
    at.toggle(key="tg_on_q").set_value(False).run()
    at.toggle(key="tg_on_v").set_value(False).run()
    assert any("targets nothing" in e for e in errors(at)), errors(at)
    assert plan_of(at).targets == (Target("v", 8),)


def test_memory_equals_lora_core(at):
    at.selectbox(key="tg_mem_dtype").select("nf4").run()
    settings = MemorySettings("nf4", 1, 2048, True)
    m = load(at.session_state["model_ref"])
    est = estimate_for_plan(m.skeleton, m.index, plan_of(at), settings)
    bars = chart(at, "tg_chart_memory")["data"]
    assert sum(b["customdata"][0] for b in bars) == est.total


def test_fused_model_shows_one_qkv_toggle_with_note():
    at = open_app("pages/targets.py", model="microsoft/Phi-3-mini-4k-instruct")
    keys = {t.key for t in at.toggle}
    assert "tg_on_qkv" in keys and "tg_on_q" not in keys
    assert at.toggle(key="tg_on_qkv").value  # Q,V targets the fused module
    assert any("Q alone cannot be targeted" in c.value for c in at.caption)
    assert shown_trainable(at) == expected_trainable(at)


def test_moe_model_has_expert_and_router_toggles():
    at = open_app("pages/targets.py", model="Qwen/Qwen3-30B-A3B")
    at.toggle(key="tg_on_experts").set_value(True).run()
    assert not errors(at), errors(at)
    assert Target("experts", 8) in plan_of(at).targets
    assert shown_trainable(at) == expected_trainable(at)
    assert "tg_on_router" in {t.key for t in at.toggle}


DOWN3 = "model.layers.3.mlp.down_proj"


def test_a_module_picked_elsewhere_survives_a_toggle(at):
    """A plan key for one module (from the tree or a link) stays one module when another toggle changes."""
    at = open_app("pages/targets.py", t=f"q=8,{DOWN3}=4")
    assert at.toggle(key="tg_on_down").value  # shown on: one of its modules is wrapped
    at.toggle(key="tg_on_k").set_value(True).run()
    assert plan_of(at).targets == (Target("q", 8), Target(DOWN3, 4), Target("k", 8))
    assert_numbers_match(at)


def test_switching_a_role_off_re_expresses_a_group_key(at):
    at = open_app("pages/targets.py", t=f"attention=8,{DOWN3}=4")
    at.toggle(key="tg_on_q").set_value(False).run()
    assert plan_of(at).targets == (Target(DOWN3, 4), Target("k", 8), Target("v", 8), Target("o", 8))
    at.toggle(key="tg_on_down").set_value(False).run()
    assert plan_of(at).targets == (Target("k", 8), Target("v", 8), Target("o", 8))
    assert_numbers_match(at)
