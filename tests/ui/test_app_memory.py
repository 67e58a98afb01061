"""Targets page, training memory: the trainer profile and its knobs, peaks, fits, bad settings; the
knobs' expander draws its widgets only while open and keeps their values while closed."""

from __future__ import annotations

from unittest.mock import patch

import json

import pytest

from lora_core.memory import GIB, PROFILES, MemorySettings, estimate_for_plan
from tests.app_support import errors, open_app, open_section, plan_of
from ui.common.loaded_model import load
from ui.targets import memory as memory_section

KNOBS = memory_section.KNOBS_OPEN


@pytest.fixture
def at():
    return open_section(open_app("pages/targets.py"), KNOBS)


def _bars_total(at) -> int:
    spec = json.loads(next(c for c in at.get("plotly_chart") if c.proto.id.endswith("tg_chart_memory")).proto.spec)
    return sum(b["customdata"][0] for b in spec["data"])


def _estimate(at, settings: MemorySettings):
    m = load(at.session_state["model_ref"])
    return estimate_for_plan(m.skeleton, m.index, plan_of(at), settings)


def test_trainer_switch_applies_its_profile_and_resets_knobs(at):
    assert at.selectbox(key="tg_mem_trainer").value == "peft"
    at.selectbox(key="tg_mem_trainer").select("litgpt").run()
    assert not at.exception
    assert at.selectbox(key="tg_mem_optim").value == PROFILES["litgpt"].optimizer == "bf16"
    assert at.selectbox(key="tg_mem_logits").value == "chunked"
    # LitGPT's finetune/lora.py checkpoints only under FSDP: on one GPU its forward (with the previous
    # step) is the peak; with checkpointing a block's backward can be larger
    at.toggle(key="tg_mem_ckpt").set_value(False).run()
    est = _estimate(at, MemorySettings(trainer="litgpt", gradient_checkpointing=False))
    assert _bars_total(at) == est.peak_allocated
    assert any(f"{est.nvidia_smi / GIB:.1f} GiB" in c.value for c in at.caption)
    assert at.toggle(key="tg_mem_prev").value is True and est.peak_phase == "forward"
    assert at.toggle(key="tg_mem_kv").value is PROFILES["litgpt"].expands_kv is True
    at.toggle(key="tg_mem_prev").set_value(False).run()
    assert _bars_total(at) == _estimate(at, MemorySettings(trainer="litgpt", gradient_checkpointing=False,
                                                           keeps_previous_step=False)).peak_allocated
    assert _bars_total(at) < est.peak_allocated


def test_knob_change_moves_the_estimate_and_fits_shows_headroom(at):
    at.selectbox(key="tg_mem_dtype").select("nf4").run()
    at.selectbox(key="tg_mem_optim").select("paged_8bit").run()
    est = _estimate(at, MemorySettings("nf4", optimizer="paged_8bit"))
    assert _bars_total(at) == est.peak_allocated
    fits = next(m.value for m in at.markdown if m.value.startswith("Fits on:"))
    assert f"24 GB fits · {est.headroom(24) / GIB:.1f} GiB free" in fits


def test_batch_zero_shows_an_error_and_keeps_the_plan(at):
    before = plan_of(at)
    at.number_input(key="tg_mem_batch").set_value(0).run()
    assert not at.exception
    assert any("batch_size" in e and "must be a positive integer, got 0" in e for e in errors(at)), errors(at)
    assert plan_of(at) == before


def test_sequence_longer_than_positions_warns():
    at = open_app("pages/targets.py", model="openai-community/gpt2")
    at.selectbox(key="tg_mem_seq").select(4096).run()
    assert any("longer than the model's 1,024 positions" in w.value for w in at.warning)


def test_profile_follows_the_recipe_tool_the_export_page_sets():
    """``mem_recipe_tool`` (set by whoever exports a recipe) picks the matching profile at first render."""
    at = open_app()
    at.session_state["mem_recipe_tool"] = "LLaMA-Factory"
    at.switch_page("pages/targets.py").run()
    open_section(at, KNOBS)
    assert not at.exception
    assert at.selectbox(key="tg_mem_trainer").value == "llamafactory"
    assert at.toggle(key="tg_mem_dq").value is PROFILES["llamafactory"].double_quant is True



def test_opening_a_tool_tab_on_export_picks_its_memory_profile():
    """The Export page's recipe tabs are one keyed widget whose callback hands the open tool to the
    Targets page: after it, the Targets page draws that tool's profile and knobs."""
    from ui.export import recipes as recipes_view

    at = open_section(open_app("pages/targets.py"), KNOBS)
    assert at.selectbox(key="tg_mem_trainer").value == "peft"
    at.switch_page("pages/export.py").run()
    labels = [t.label for t in at.tabs]
    assert labels[:5] == ["adapter_config.json", "PEFT Python", "axolotl", "LLaMA-Factory", "Unsloth"]
    assert at.session_state["ex_tool_tab"] == "adapter_config.json"
    at.session_state["ex_tool_tab"] = "LLaMA-Factory"
    at.session_state["tg_mem_trainer"] = "peft"  # as if the Targets widgets had outlived the page switch
    with patch.object(recipes_view.st, "session_state", at.session_state):
        recipes_view._remember_tool({label: tool for label, tool in zip(labels, recipes_view.TOOLS)})
    at.switch_page("pages/targets.py").run()
    assert not at.exception
    assert at.selectbox(key="tg_mem_trainer").value == "llamafactory"
    assert at.toggle(key="tg_mem_dq").value is PROFILES["llamafactory"].double_quant


def test_stated_bitsandbytes_version_and_litgpt_paged_optimizer(at):
    """The page's bitsandbytes version (not a hand-set knob) decides whether the 4-bit matmul keeps
    its input; LitGPT's QLoRA switches to PagedAdamW when its optimizer is left at the default."""
    at.selectbox(key="tg_mem_trainer").select("litgpt").run()
    at.selectbox(key="tg_mem_dtype").select("nf4").run()
    assert at.selectbox(key="tg_mem_bnb").value == "0.50.2"
    new = _estimate(at, MemorySettings("nf4", trainer="litgpt"))
    assert _bars_total(at) == new.peak_allocated
    at.selectbox(key="tg_mem_bnb").select("0.42.0").run()
    old = _estimate(at, MemorySettings("nf4", trainer="litgpt", bitsandbytes="0.42.0"))
    assert not at.exception and _bars_total(at) == old.peak_allocated > new.peak_allocated
    assert MemorySettings("nf4", trainer="litgpt").profile.optimizer == "paged_fp32"


def _knob_keys(at) -> set[str]:
    return {w.key for kind in ("selectbox", "toggle") for w in at.get(kind)} & set(memory_section.KNOB_KEYS.values())


def test_closed_knobs_draw_no_widget_and_keep_their_values():
    """Closed (the default), a click draws none of the fourteen knobs; a knob set while open still
    moves the estimate after the expander is closed and the plan changes, and shows again when it is
    reopened or the page revisited; a new trainer resets it."""
    at = open_app("pages/targets.py")
    at.toggle(key="tg_on_k").set_value(True).run()
    assert not at.exception and _knob_keys(at) == set()
    assert "Trainer knobs" in [e.label for e in at.expander]
    open_section(at, KNOBS)
    assert _knob_keys(at) == set(memory_section.KNOB_KEYS.values())
    at.selectbox(key="tg_mem_optim").select("paged_8bit").run()
    at.session_state[KNOBS] = False
    at.run()
    at.toggle(key="tg_on_gate").set_value(True).run()
    assert not at.exception and _knob_keys(at) == set()
    assert _bars_total(at) == _estimate(at, MemorySettings(optimizer="paged_8bit")).peak_allocated
    open_section(at, KNOBS)  # reopened: the value set before, not a value Streamlit kept from an older run
    assert at.selectbox(key="tg_mem_optim").value == "paged_8bit"
    at.switch_page("pages/compare.py").run()
    at.switch_page("pages/targets.py").run()  # open as left, the knob as set
    assert at.selectbox(key="tg_mem_optim").value == "paged_8bit"
    at.session_state[KNOBS] = False
    at.run()
    at.selectbox(key="tg_mem_trainer").select("litgpt").run()  # closed: the new trainer's own knobs
    assert _bars_total(at) == _estimate(at, MemorySettings(trainer="litgpt")).peak_allocated
    open_section(at, KNOBS)
    assert at.selectbox(key="tg_mem_optim").value == PROFILES["litgpt"].optimizer
