"""The Lesson page in AppTest: every step on every preset, the link, presenter view, the plan the
rest of the app follows, predict-then-reveal and bad input."""

from __future__ import annotations

import pytest

from lora_core.lesson.steps import load_steps, on_model, step_by_id
from lora_core.planning import Plan, Target, count
from tests.app_support import errors, index_of, model_of, open_app, plan_of
from tests.helpers import PRESETS

STEPS = load_steps()
LESSON = "pages/lesson.py"


def _warnings(at) -> list[str]:
    return [w.value for w in at.warning]


@pytest.mark.parametrize("model_id", PRESETS)
def test_every_step_opens_on_every_preset(model_id):
    at = open_app(LESSON, model=model_id, step=STEPS[0].id)
    assert model_of(at).label == model_id
    for step in STEPS:
        at.selectbox(key="ls_step").select(step.id).run()
        assert not at.exception, (step.id, at.exception)
        assert not errors(at), (step.id, errors(at))
        assert plan_of(at) == on_model(step, index_of(at)).plan, step.id
        assert at.query_params["step"] == [step.id] or at.query_params["step"] == step.id
        assert at.header[0].value.endswith(step.title)
        if step.predict:  # reveal, so the step's picture is drawn on this model too
            if step.predict.kind == "trainable":
                at.text_input(key=f"ls_guess_{step.id}").input("1M").run()
            at.button(key="ls_reveal").click().run()
            assert not at.exception and not errors(at), (step.id, at.exception, errors(at))
            assert at.success[0].value.startswith("Answer:")


def test_link_opens_the_step_on_the_model_in_presenter_view():
    step = step_by_id(STEPS, "moe")
    at = open_app(LESSON, model="Qwen/Qwen3-30B-A3B", step="moe", view="present")
    assert not at.exception and not errors(at)
    assert model_of(at).label == "Qwen/Qwen3-30B-A3B" and at.session_state["ls_step"] == "moe"
    assert at.session_state["ls_present"] is True
    assert plan_of(at) == on_model(step, index_of(at)).plan
    assert "units" in at.dataframe[0].value.columns  # the MoE table
    code = at.code[0].value
    assert "model=Qwen%2FQwen3-30B-A3B" in code and "step=moe" in code and "view=present" in code


def test_a_bad_step_in_a_link_opens_the_first_step_with_a_notice():
    at = open_app(step="no-such-step")  # the entry page goes to the Lesson page and says why on this run
    assert not at.exception
    assert at.session_state["ls_step"] == STEPS[0].id
    assert any("no-such-step" in w for w in _warnings(at))


def test_the_rest_of_the_app_follows_the_step():
    at = open_app(LESSON, step="ffn-r4")
    plan = plan_of(at)
    at.switch_page("pages/targets.py").run()
    assert plan_of(at) == plan and not at.exception
    assert at.toggle(key="tg_on_gate").value and at.toggle(key="tg_on_q").value
    at.switch_page("pages/tree.py").run()
    assert plan_of(at) == plan and not at.exception


def test_next_and_previous_walk_the_steps():
    at = open_app(LESSON)
    at.button(key="ls_next").click().run()
    assert at.session_state["ls_step"] == STEPS[1].id
    at.button(key="ls_prev").click().run()
    assert at.session_state["ls_step"] == STEPS[0].id


def test_predict_trainable_then_reveal():
    at = open_app(LESSON, step="qv-r8")
    truth = count(plan_of(at), index_of(at)).trainable
    assert not at.get("plotly_chart")  # the chart waits for the guess
    at.text_input(key="ls_guess_qv-r8").input("1M").run()
    at.button(key="ls_reveal").click().run()
    said = at.success[0].value
    assert f"{truth:,}" in said and f"{truth / 1e6:.1f}× too low" in said
    assert at.get("plotly_chart")


def test_a_bad_guess_is_refused_and_kept():
    at = open_app(LESSON, step="qv-r8")
    at.text_input(key="ls_guess_qv-r8").input("lots").run()
    at.button(key="ls_reveal").click().run()
    assert any("guess" in e for e in errors(at)) and not at.success
    assert at.text_input(key="ls_guess_qv-r8").value == "lots"


def test_predict_larger_and_fits():
    at = open_app(LESSON, step="ffn-r4")
    at.radio(key="ls_guess_ffn-r4").set_value("Q,V at rank 32").run()
    at.button(key="ls_reveal").click().run()
    said = at.success[0].value
    a = count(plan_of(at), index_of(at)).trainable
    b = count(Plan((Target("q", 32), Target("v", 32))), index_of(at)).trainable
    expected = "q=8,v=8,ffn=4" if a > b else "Q,V at rank 32"
    assert said.startswith(f"Answer: `{expected}`")
    assert said.endswith("right." if expected == "Q,V at rank 32" else "wrong.")
    at.selectbox(key="ls_step").select("memory").run()
    at.radio(key="ls_guess_memory").set_value("Yes, it fits").run()
    at.button(key="ls_reveal").click().run()
    assert "GiB" in at.success[0].value and not at.exception


def test_model_picker_and_try_buttons_switch_model():
    at = open_app(LESSON, step="moe")
    assert any("dense" in i.value for i in at.info)
    at.button(key="ls_try_Qwen/Qwen3-30B-A3B").click().run()
    assert model_of(at).label == "Qwen/Qwen3-30B-A3B" and not at.exception
    at.selectbox(key="ls_model").select("openai-community/gpt2").run()
    assert model_of(at).label == "openai-community/gpt2" and not errors(at)
