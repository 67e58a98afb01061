"""Targets page, "GPUs, time and cost": the section's figures are lora_core's for the same plan, a
strategy the trainer cannot run is a clear message that keeps the inputs, and Llama-3.1-405B gets a
strategy and count that fits. The section is an expander whose content runs only while it is open."""

from __future__ import annotations

from unittest.mock import patch

import pytest

from lora_core.compute.report import ClusterSettings, cluster_report
from lora_core.memory import GIB, MemorySettings, estimate_for_plan
from lora_core.memory.parallel import model_sizes
from lora_core.planning import count
from tests.app_support import errors, open_app, open_section, plan_of
from ui.common.loaded_model import load
from ui.targets import cluster

OPEN = cluster.OPEN


@pytest.fixture
def at():
    return open_section(open_app("pages/targets.py"), OPEN)


def _report(at, cluster: ClusterSettings):
    m = load(at.session_state["model_ref"])
    plan = plan_of(at)
    est = estimate_for_plan(m.skeleton, m.index, plan, MemorySettings())
    return cluster_report(est, model_sizes(m.inventory, m.skeleton.config), m.skeleton.config,
                          count(plan, m.index).trainable, "peft", "bf16", 1, 2048, True, cluster)


def _text(at) -> str:
    return "\n".join(m.value for m in at.markdown)


def test_section_shows_lora_cores_figures_and_follows_a_toggle(at):
    assert not at.exception and cluster.TITLE in [e.label for e in at.expander] and "Per GPU: allocated" in _text(at)
    at.selectbox(key="tg_cl_strategy").select("zero3").run()
    at.number_input(key="tg_cl_gpus").set_value(8).run()
    assert not at.exception
    r = _report(at, ClusterSettings(gpus=8, strategy="zero3"))
    assert f"nvidia-smi {r.per_gpu.nvidia_smi / GIB:.1f} GiB" in _text(at)
    assert f"{r.run.tokens_per_s[0]:,.0f}–{r.run.tokens_per_s[1]:,.0f} tokens/s" in _text(at)
    assert any(c.proto.id.endswith("tg_chart_cluster") for c in at.get("plotly_chart"))


def test_a_strategy_the_trainer_cannot_run_is_a_message_that_keeps_the_inputs(at):
    at.selectbox(key="tg_mem_trainer").select("unsloth").run()
    at.number_input(key="tg_cl_gpus").set_value(4).run()
    at.selectbox(key="tg_cl_strategy").select("zero3").run()
    assert not at.exception
    assert any("unsloth does not run DeepSpeed ZeRO-3" in e for e in errors(at))
    assert at.number_input(key="tg_cl_gpus").value == 4 and at.selectbox(key="tg_cl_strategy").value == "zero3"


@pytest.mark.parametrize("model", ["meta-llama/Meta-Llama-3.1-405B", "deepseek-ai/DeepSeek-V3"])
def test_largest_presets_show_a_strategy_and_count_that_fits(model):
    at = open_section(open_app("pages/targets.py", model=model), OPEN)
    assert not at.exception
    line = next(m.value for m in at.markdown if m.value.startswith("Smallest count that fits"))
    assert "DeepSpeed ZeRO-3" in line or "FSDP" in line, line
    assert "none up to" not in line


def test_compare_shows_time_and_cost_per_saved_plan_on_the_targets_cluster():
    at = open_section(open_app("pages/targets.py"), OPEN)
    at.selectbox(key="tg_cl_strategy").select("ddp").run()
    at.number_input(key="tg_cl_gpus").set_value(2).run()
    at.number_input(key="tg_cl_price").set_value(2.5).run()
    at.switch_page("pages/compare.py").run()
    at.text_input(key="cmp_name").input("qv").run()
    at.button(key="cmp_save").click().run()
    assert not at.exception and not errors(at)
    row = at.dataframe[0].value.iloc[0]
    r = _report(at, ClusterSettings(gpus=2, strategy="ddp", price=2.5))
    assert row["tokens/s"] == f"{r.run.tokens_per_s[0]:,.0f}–{r.run.tokens_per_s[1]:,.0f}"
    assert row["cost"] == f"${r.run.cost[1]:,.0f}–{r.run.cost[0]:,.0f}"


def test_export_recipes_carry_the_targets_strategy():
    at = open_section(open_app("pages/targets.py"), OPEN)
    at.number_input(key="tg_cl_gpus").set_value(8).run()
    at.selectbox(key="tg_cl_strategy").select("zero3").run()
    at.switch_page("pages/export.py").run()
    assert not at.exception
    texts = "\n".join(c.value for c in at.code)
    assert "stage: 3" in texts and "Several GPUs: DeepSpeed ZeRO-3" in texts


def _counting():
    calls, real = [], cluster.cluster_report

    def counted(*args, **kwargs):
        calls.append(args[9])  # the ClusterSettings
        return real(*args, **kwargs)
    return calls, counted


def test_closed_section_computes_and_draws_nothing_on_a_click():
    """Closed (the default), a toggle click builds none of the section: no report, no input, no
    chart; the expander alone is drawn."""
    at = open_app("pages/targets.py")
    calls, counted = _counting()
    with patch.object(cluster, "cluster_report", counted):
        at.toggle(key="tg_on_k").set_value(True).run()
        at.toggle(key="tg_on_gate").set_value(True).run()
    assert not at.exception and calls == []
    assert [e.label for e in at.expander if e.label == cluster.TITLE] == [cluster.TITLE]
    assert "tg_cl_gpus" not in [w.key for w in at.number_input]
    assert not any(c.proto.id.endswith("tg_chart_cluster") for c in at.get("plotly_chart"))
    assert not any(m.value.startswith("Smallest count that fits") for m in at.markdown)


def test_open_section_reports_once_per_plan_and_cluster_and_keeps_its_inputs_when_closed():
    """Open, a click on a plan seen before with the same cluster reuses the report, and a new count
    keeps the smallest counts (computed per GPU kind); closing and reopening (or visiting another
    page) keeps the inputs and whether the section was open."""
    at = open_section(open_app("pages/targets.py"), OPEN)
    at.number_input(key="tg_cl_gpus").set_value(8).run()
    at.selectbox(key="tg_cl_strategy").select("zero3").run()
    calls, counted = _counting()
    with patch.object(cluster, "cluster_report", counted):
        at.toggle(key="tg_on_k").set_value(True).run()
        at.toggle(key="tg_on_k").set_value(False).run()  # back to the plan whose report is kept
    assert [c.strategy for c in calls] == ["zero3"], calls
    tables, real_table = [], cluster.fit_table
    with patch.object(cluster, "fit_table", lambda *a: tables.append(a[-1]) or real_table(*a)):
        at.number_input(key="tg_cl_gpus").set_value(16).run()  # the smallest counts do not depend on it
        at.selectbox(key="tg_cl_gpu").select("a100-80gb").run()  # they do on the GPU kind
    assert [c.gpu for c in tables] == ["a100-80gb"], tables
    at.selectbox(key="tg_cl_gpu").select("h100-80gb").run()
    at.number_input(key="tg_cl_gpus").set_value(8).run()
    at.session_state[OPEN] = False
    at.run()
    assert "tg_cl_gpus" not in [w.key for w in at.number_input]
    at.toggle(key="tg_on_k").set_value(True).run()
    open_section(at, OPEN)  # reopened on the same page: the inputs as set
    assert at.number_input(key="tg_cl_gpus").value == 8 and at.selectbox(key="tg_cl_strategy").value == "zero3"
    at.session_state[OPEN] = False
    at.run()
    at.switch_page("pages/compare.py").run()
    at.switch_page("pages/targets.py").run()
    assert "tg_cl_gpus" not in [w.key for w in at.number_input]  # closed as left
    open_section(at, OPEN)
    assert at.number_input(key="tg_cl_gpus").value == 8 and at.selectbox(key="tg_cl_strategy").value == "zero3"
    at.switch_page("pages/compare.py").run()
    at.switch_page("pages/targets.py").run()
    assert not at.exception and at.number_input(key="tg_cl_gpus").value == 8  # open as left
