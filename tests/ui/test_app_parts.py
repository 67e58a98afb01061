"""The app's pure parts: number formatting, the Targets toggles, chart data (tool recipes: tests/recipes/test_recipes.py)."""

from __future__ import annotations

import pytest

from lora_core import charts
from lora_core.numbers import human, human_pct
from lora_core.planning import PRESET_PLANS, Plan, PlanIndex, Target, count, resolve, resolve_plan
from tests.helpers import PRESETS, cached_inventory
from ui.targets.toggles import toggle_states, toggles_for


@pytest.mark.parametrize("n, text", [(41_943_040, "41.9 M"), (8_030_261_248, "8.03 B"), (512, "512"),
                                     (405_853_388_800, "406 B"), (1_500, "1.5 k")])
def test_human(n, text):
    assert human(n) == text


@pytest.mark.parametrize("n, text", [(124_439_808, "124.4 M"), (294_912, "294.9 K"), (8_030_261_248, "8.03 B"),
                                     (512, "512")])
def test_human_with_one_decimal_as_the_cli_prints(n, text):
    assert human(n, one_decimal=True) == text


@pytest.mark.parametrize("share, text", [(0.0052, "0.52 %"), (0.5, "50.00 %"), (0.000012, "0.0012 %"), (0, "0 %")])
def test_human_pct(share, text):
    assert human_pct(share) == text


@pytest.mark.parametrize("model", PRESETS)
def test_every_toggle_targets_something_and_reads_back(model):
    inv = cached_inventory(model)
    index = PlanIndex(inv)
    toggles = toggles_for(inv)
    assert toggles, model
    for t in toggles:
        assert index.mask(t.key).any(), (model, t.key)
    plan = Plan(tuple(Target(t.key, 4 + i) for i, t in enumerate(toggles)))
    states = toggle_states(toggles, resolve(plan, index))
    assert all(states[t.key].on for t in toggles if (index.mask(t.key) & index.scope_mask("language")).any())


def test_fused_attention_has_one_toggle_with_its_reason():
    keys = {t.key: t for t in toggles_for(cached_inventory("microsoft/Phi-3-mini-4k-instruct"))}
    assert "qkv" in keys and "q" not in keys and "gate_up" in keys
    assert "Q alone cannot be targeted" in keys["qkv"].note


def test_mla_attention_toggles_name_their_modules():
    keys = {t.key for t in toggles_for(cached_inventory("deepseek-ai/DeepSeek-V3"))}
    assert {"q_a_proj", "q_b_proj", "kv_a", "kv_b", "o", "experts", "router"} <= keys


def test_toggle_states_read_presets_with_group_keys():
    inv = cached_inventory("meta-llama/Meta-Llama-3.1-8B")
    index = PlanIndex(inv)
    toggles = toggles_for(inv)
    plan = PRESET_PLANS["Q,V r8 + FFN r4 (extended)"]
    states = toggle_states(toggles, resolve(plan, index))
    assert {k for k, s in states.items() if s.on} == {"q", "v", "gate", "up", "down"}
    assert states["down"].rank == 4 and states["q"].rank == 8 and states["q"].alpha is None


@pytest.mark.parametrize("model", ["meta-llama/Meta-Llama-3.1-8B", "Qwen/Qwen3-30B-A3B", "openai-community/gpt2"])
def test_chart_data_sums_to_the_plan_count(model):
    index = PlanIndex(cached_inventory(model))
    plan = Plan((Target("all-linear", 8), Target("experts", 4))) if "Qwen3" in model else PRESET_PLANS["Q,V r8 + FFN r4 (extended)"]
    rows = resolve_plan(plan, index)
    per_layer = charts.per_layer_by_role(rows)
    assert per_layer["lora_params"].sum() == rows.loc[rows["layer"].notna(), "lora_params"].sum()
    assert charts.by_role(rows)["lora_params"].sum() == count(plan, index).lora
    for fig in (charts.layer_bars(per_layer, index.num_layers), charts.role_share(charts.by_role(rows)),
                charts.trainable_vs_frozen(1, 2)):
        fig.validated()  # Plotly accepts every property


def test_spec_figures_skip_plotlys_object_model_and_stream_their_spec():
    """A SpecFigure builds no Plotly object model (an empty Figure with its template copied, 1.5 ms
    each, four per Targets click); Streamlit's conversion sends exactly its spec."""
    from unittest.mock import patch

    import plotly.tools
    from plotly.basedatatypes import BaseFigure

    rows = resolve_plan(PRESET_PLANS["Q,V r8 + FFN r4 (extended)"], PlanIndex(cached_inventory("openai-community/gpt2")))
    calls = []
    real = BaseFigure.__init__
    with patch.object(BaseFigure, "__init__", lambda self, *a, **k: calls.append(1) or real(self, *a, **k)):
        fig = charts.role_share(charts.by_role(rows))
    assert calls == []
    assert plotly.tools.return_figure_from_figure_or_data(fig, validate_figure=True) == fig.spec


def _notes(model: str, plan: Plan) -> list[str]:
    from ui.targets.surprises import NameFacts, surprises

    inv = cached_inventory(model)
    rows = resolve_plan(plan, PlanIndex(inv))
    return surprises(NameFacts.of(inv), inv.index.isin(rows.index))


@pytest.mark.parametrize("model, plan, expect", [
    ("microsoft/Phi-3-mini-4k-instruct", Plan((Target("q", 8),)), "`qkv_proj` holds Q, K, V in one module"),
    ("openai-community/gpt2", Plan((Target("o", 8),)), "`c_proj` also names untargeted ffn modules"),
    ("deepseek-ai/DeepSeek-V3", Plan((Target("down", 4),)), "switch on 'experts'"),
], ids=["fused-qkv", "gpt2-c_proj", "moe-ffn-without-experts"])
def test_surprise_notes(model, plan, expect):
    assert any(expect in n for n in _notes(model, plan)), _notes(model, plan)


@pytest.mark.parametrize("model, plan", [
    ("meta-llama/Meta-Llama-3.1-8B", Plan((Target("q", 8), Target("v", 8)), layers=(0, 1))),
    ("openai-community/gpt2", Plan((Target("o", 8), Target("down", 8)))),
    ("Qwen/Qwen3-30B-A3B", Plan((Target("ffn", 4),))),
], ids=["layer-subset", "gpt2-both-c_proj", "moe-ffn-with-experts"])
def test_no_surprise_notes(model, plan):
    assert _notes(model, plan) == []
