"""Export page, "Open a recipe": the statement shown is the import's, "Use as the current plan" opens
the recipe's model, makes it the plan (PEFT's count of it unchanged) and fills the memory section;
a bad file shows the field and leaves the model and plan as they were."""

from __future__ import annotations

from lora_core.imports import read_text, state
from lora_core.planning import count
from tests.app_support import errors, index_of, model_of, open_app, plan_of
from tests.helpers import cached_inventory, cached_skeleton
from tests.import_cases import CASES, LLAMA, QWEN_MOE


def report_of(case: str):
    _tool, model, text = CASES[case]
    return state(read_text(text), cached_inventory(model), cached_skeleton(model), model)


def test_open_a_yaml_then_use_it_as_the_plan_with_its_memory_settings():
    at = open_app("pages/targets.py")  # the user set other values on Targets first
    at.selectbox(key="tg_mem_seq").set_value(4096).run()
    at.selectbox(key="tg_mem_dtype").set_value("bf16").run()
    at.switch_page("pages/export.py").run()
    at.text_area(key="ex_recipe_text").input(CASES["lf-llama-qv-qlora"][2]).run()
    at.button(key="ex_recipe_open").click().run()
    assert not at.exception and not errors(at), errors(at)
    want = report_of("lf-llama-qv-qlora")
    assert any(m.label == "Units it trains" and m.value == f"{len(want.units):,}" for m in at.metric)
    at.button(key="ex_recipe_apply").click().run()
    assert not errors(at) and plan_of(at) == want.plan
    assert count(plan_of(at), index_of(at)).trainable == want.trainable
    at.switch_page("pages/targets.py").run()
    assert not at.exception and not errors(at)
    shown = tuple(at.selectbox(key=k).value for k in ("tg_mem_trainer", "tg_mem_dtype", "tg_mem_seq"))
    assert shown + (at.number_input(key="tg_mem_batch").value,) == ("llamafactory", "nf4", 1024, 4)
    at.run()  # and on the next rerun too (a widget key written off its page can come back stale)
    assert tuple(at.selectbox(key=k).value for k in ("tg_mem_trainer", "tg_mem_dtype", "tg_mem_seq")) == shown


def test_a_recipe_for_another_preset_opens_that_model():
    at = open_app("pages/export.py")
    at.text_area(key="ex_recipe_text").input(CASES["ax-qwen3moe-target-linear"][2]).run()
    at.button(key="ex_recipe_open").click().run()
    assert model_of(at).label == LLAMA  # nothing changes before "Use as the current plan"
    assert any("MoE experts left frozen" in w.value for w in at.warning)
    at.button(key="ex_recipe_apply").click().run()
    assert model_of(at).label == QWEN_MOE and plan_of(at) == report_of("ax-qwen3moe-target-linear").plan


def test_a_bad_recipe_shows_the_field_and_keeps_the_plan():
    at = open_app("pages/export.py")
    before, model = plan_of(at), model_of(at)
    at.text_area(key="ex_recipe_text").input("base_model: x/y\nadapter: ia3\n").run()
    at.button(key="ex_recipe_open").click().run()
    assert any("axolotl: adapter" in e for e in errors(at)) and not at.exception
    at.text_area(key="ex_recipe_text").input("a: &a [x, x, x, x, x, x, x, x]\nb: [" + ", ".join(["*a"] * 80) + "]\n").run()
    at.button(key="ex_recipe_open").click().run()
    assert any("YAML aliases" in e for e in errors(at))
    assert plan_of(at) == before and model_of(at) == model


def test_a_hub_adapter_that_cannot_be_reached_shows_the_reason(monkeypatch):
    monkeypatch.setenv("LORA_EXPLORER_OFFLINE", "1")
    at = open_app("pages/export.py")
    before = plan_of(at)
    at.text_input(key="ex_recipe_hub").input("someone/llama-lora").run()
    at.button(key="ex_recipe_open").click().run()
    assert any("someone/llama-lora has no readable adapter_config.json" in e for e in errors(at)), errors(at)
    assert plan_of(at) == before and not at.exception
