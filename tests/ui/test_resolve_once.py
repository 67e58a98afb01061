"""A click resolves the plan once: toggle -> count -> charts, memory, serving badges, sidebar.

Every resolving goes through ``lora_core.planning.resolved._assign`` (the assignment of ranks to
rows); the test counts its calls while the Targets page handles one toggle on a plan it has not
seen, with DoRA on (which used to resolve the plan twice more for the magnitude count).
"""

from __future__ import annotations

from unittest.mock import patch

from lora_core.planning import Target, resolve
from lora_core.planning import resolved as resolve_module
from tests.app_support import index_of, model_of, open_app, plan_of, shown_trainable
from ui.common.loaded_model import load
from ui.common.plan_views import PlanViews


def _counting():
    calls = []
    real = resolve_module._assign

    def counted(plan, index):
        calls.append(plan)
        return real(plan, index)
    return calls, counted


def test_one_toggle_resolves_the_new_plan_once():
    at = open_app("pages/targets.py")
    at.toggle(key="tg_dora").set_value(True).run()
    assert plan_of(at).dora
    model = load(model_of(at))
    object.__setattr__(model, "views", PlanViews())  # forget every plan this server has seen
    calls, counted = _counting()
    with patch.object(resolve_module, "_assign", counted):
        at.toggle(key="tg_on_gate").set_value(True).run()
    plan = plan_of(at)
    assert Target("gate", 8) in plan.targets and plan.dora
    assert not at.exception
    assert [p for p in calls if p == plan] == [plan], calls  # the new plan: once
    assert len(calls) == 1, calls  # and nothing else either
    assert shown_trainable(at) == resolve(plan, index_of(at)).count.trainable
    assert any("Peak allocated" in c.value for c in at.caption) or at.get("plotly_chart")


def test_a_rerun_on_the_same_plan_resolves_nothing():
    at = open_app("pages/targets.py")
    calls, counted = _counting()
    with patch.object(resolve_module, "_assign", counted):
        at.run()
    assert calls == []
