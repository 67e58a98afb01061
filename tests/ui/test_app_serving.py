"""The app's serving views: a badge per engine on Targets that follows a toggle, and the Export
page's Serving panel with "make it servable" (count difference shown, then applied)."""

from __future__ import annotations

from lora_core.planning import count
from lora_core.serving import judge_all, describe
from tests.app_support import errors, index_of, open_app, plan_of
from ui.common.loaded_model import load


def _serving_line(at) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("Serving: "))


def test_targets_badges_follow_a_dora_toggle():
    at = open_app("pages/targets.py")
    assert _serving_line(at).count(": serves]") == 4
    at.toggle(key="tg_dora").set_value(True).run()
    line = _serving_line(at)
    assert "vLLM: refuses" in line and "SGLang: refuses" in line and "TGI: differs" in line


def test_export_panel_makes_the_plan_servable_on_vllm():
    at = open_app("pages/targets.py")
    at.toggle(key="tg_dora").set_value(True).run()
    at.switch_page("pages/export.py").run()
    assert any("vLLM does not yet support DoRA." in c.value for c in at.code)
    before = count(plan_of(at), index_of(at)).trainable
    at.button(key="sv_fix_vllm").click().run()
    proposal = next(i.value for i in at.info if "Nearest plan vLLM serves exactly" in i.value)
    proposed = at.session_state["sv_proposal"][3]
    assert f"{before:,} → {proposed.after:,}" in proposal and "dora off" in proposal
    at.button(key="sv_apply").click().run()
    plan = plan_of(at)
    assert not errors(at) and not plan.dora and count(plan, index_of(at)).trainable == proposed.after
    model = load(at.session_state["model_ref"])
    assert judge_all(describe(plan, model.index, model.skeleton.config))["vllm"].verdict == "serves"
