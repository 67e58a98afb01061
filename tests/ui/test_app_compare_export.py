"""Compare and Export pages: saved plans side by side, the exported config loads as a LoraConfig,
PEFT verification, and import with audit."""

from __future__ import annotations

import json

import pytest
from peft import LoraConfig

from lora_core.planning.export import adapter_config_bytes, to_lora_config
from lora_core.planning import count
from tests.app_support import errors, index_of, model_of, open_app, plan_of
from ui.common.loaded_model import ModelRef, load


def test_save_and_compare_two_plans():
    at = open_app("pages/compare.py")
    at.text_input(key="cmp_name").input("qv").run()
    at.button(key="cmp_save").click().run()
    at.switch_page("pages/targets.py").run()
    at.toggle(key="tg_on_down").set_value(True).run()
    at.number_input(key="tg_rank_down").set_value(4).run()
    at.switch_page("pages/compare.py").run()
    at.text_input(key="cmp_name").input("qv+down").run()
    at.button(key="cmp_save").click().run()
    assert not at.exception and not errors(at)
    table = at.dataframe[0].value
    saved = at.session_state["saved_plans"]
    assert list(table["plan"]) == ["qv", "qv+down"]
    for name, shown in zip(table["plan"], table["trainable"]):
        assert shown == count(saved[name].plan, index_of(at)).trainable
    diff = at.dataframe[1].value
    assert list(diff["setting"]) == ["target down"] and list(diff["qv+down"]) == ["r=4, α=8"]
    bars = json.loads(at.get("plotly_chart")[0].proto.spec)["data"]
    assert [b["name"] for b in bars] == ["qv", "qv+down"]


def test_load_a_saved_plan_back():
    at = open_app("pages/compare.py")
    at.text_input(key="cmp_name").input("classic").run()
    at.button(key="cmp_save").click().run()
    classic = plan_of(at)
    at.switch_page("pages/targets.py").run()
    at.toggle(key="tg_on_k").set_value(True).run()
    at.switch_page("pages/compare.py").run()
    at.button(key="cmp_load_classic").click().run()
    assert plan_of(at) == classic


def test_same_plan_on_two_models():
    at = open_app("pages/compare.py")
    at.selectbox(key="cmp_other_model").select("openai-community/gpt2").run()
    assert not errors(at), errors(at)
    table = at.dataframe[0].value
    other = load(ModelRef("preset", "openai-community/gpt2"))
    assert list(table["trainable"]) == [count(plan_of(at), index_of(at)).trainable,
                                        count(plan_of(at), other.index).trainable]


@pytest.fixture
def export_at():
    at = open_app("pages/targets.py", model="openai-community/gpt2")
    at.toggle(key="tg_on_down").set_value(True).run()
    at.number_input(key="tg_rank_down").set_value(4).run()
    return at.switch_page("pages/export.py").run()


def test_exported_json_loads_as_lora_config_and_equals_core(export_at, tmp_path):
    at = export_at
    text = at.code[0].value
    m = load(model_of(at))
    assert text.strip() == adapter_config_bytes(plan_of(at), m.inventory, m.skeleton).decode().strip()
    (tmp_path / "adapter_config.json").write_text(text)
    config = LoraConfig.from_pretrained(str(tmp_path))
    core = to_lora_config(plan_of(at), m.inventory, m.skeleton)
    assert (config.r, config.lora_alpha, config.rank_pattern) == (core.r, core.lora_alpha, core.rank_pattern)
    assert set(config.target_modules) == set(core.target_modules)


def test_python_snippet_builds_the_same_config(export_at):
    at = export_at
    namespace: dict = {}
    exec(at.code[1].value, namespace)
    exported = json.loads(at.code[0].value)
    built = namespace["config"]
    assert built.r == exported["r"] and built.rank_pattern == exported["rank_pattern"]
    assert sorted(built.target_modules) == sorted(exported["target_modules"])


def test_each_tool_states_what_it_trains(export_at):
    """GPT-2 q,v r8 + down r4: exact in PEFT, axolotl and Unsloth; LLaMA-Factory has one rank."""
    at = export_at
    trainable = count(plan_of(at), index_of(at)).trainable
    exact = [s.value for s in at.success if s.value.startswith("Exact:")]
    assert len(exact) == 4 and all(f"the plan's {trainable:,} on" in s for s in exact)
    (factory,) = [w.value for w in at.warning if w.value.startswith("LLaMA-Factory 0.9.5 will train")]
    assert "one rank and alpha for all targets" in factory and f"the plan trains {trainable:,}" in factory


def test_verify_with_peft(export_at):
    at = export_at
    at.button(key="ex_verify").click().run()
    assert not errors(at), errors(at)
    trainable = count(plan_of(at), index_of(at)).trainable
    assert any(f"PEFT trains exactly {trainable:,}" in s.value for s in at.success)


def test_import_audit_and_use_as_plan():
    at = open_app("pages/export.py")
    data = json.dumps({"peft_type": "LORA", "r": 16, "lora_alpha": 32,
                       "target_modules": ["q_proj", "o_proj", "not_there"]}).encode()
    at.file_uploader(key="ex_import").upload("adapter_config.json", data, "application/json").run()
    at.button(key="ex_import_run").click().run()
    assert not errors(at), errors(at)
    assert any("not_there" in w.value for w in at.warning)
    at.button(key="ex_import_apply").click().run()
    assert {t.key for t in plan_of(at).targets} == {"q_proj", "o_proj"}
    assert all(t.rank == 16 for t in plan_of(at).targets)


def test_import_of_a_non_lora_config_shows_error():
    at = open_app("pages/export.py")
    before = plan_of(at)
    data = json.dumps({"peft_type": "PREFIX_TUNING", "num_virtual_tokens": 20}).encode()
    at.file_uploader(key="ex_import").upload("adapter_config.json", data, "application/json").run()
    at.button(key="ex_import_run").click().run()
    assert errors(at) and plan_of(at) == before
