"""The lesson's small pure parts: reading a guess, the names table against the real module tree,
the MoE breakdown against the plan's own count."""

from __future__ import annotations

import pytest

from lora_core.errors import InputError
from lora_core.lesson.breakdown import by_unit_kind
from lora_core.lesson.names import names_table, substring_counts, substring_finds
from lora_core.lesson.predict import how_far, parse_count
from lora_core.planning import Plan, PlanIndex, Target, count, resolve_plan
from tests.helpers import PRESETS, cached_inventory, cached_skeleton


@pytest.mark.parametrize("text,value", [("3407872", 3407872), ("3,407,872", 3407872), ("3.4M", 3400000),
                                        ("2e6", 2000000), ("1.2 B", 1200000000), ("20k", 20000)])
def test_parse_count(text, value):
    assert parse_count(text) == value


@pytest.mark.parametrize("text", ["", "lots", "-5", "0", "3.4X", "1e99"])
def test_parse_count_refuses_with_the_field(text):
    with pytest.raises(InputError, match="guess"):
        parse_count(text)


def test_how_far():
    assert how_far(10, 10) == "exactly right"
    assert how_far(6_000_000, 3_000_000) == "2.0× too high"
    assert how_far(1_000_000, 3_000_000) == "3.0× too low"
    assert how_far(1_020_000, 1_000_000) == "within 2.0 %"


def _seed_inspect(model) -> dict[str, int]:
    """The seed script's loop, as written, over the real module tree."""
    attention, ffn = [], []
    for name, _ in model.named_modules():
        if "q_proj" in name or "v_proj" in name:
            attention.append(name)
        elif "gate_proj" in name or "up_proj" in name or "down_proj" in name:
            ffn.append(name)
    return {"attention": len(attention), "ffn": len(ffn)}


@pytest.mark.parametrize("model_id", PRESETS)
def test_substring_counts_are_the_seed_scripts(model_id):
    assert substring_counts(cached_inventory(model_id)) == _seed_inspect(cached_skeleton(model_id).model)


@pytest.mark.parametrize("model_id", PRESETS)
def test_names_table_covers_every_unit_once(model_id):
    inv = cached_inventory(model_id)
    table = names_table(inv)
    assert len(table) > 0
    units = inv[inv["targetable"] & inv["layer"].notna() & inv["group"].isin(
        ["attention", "ffn", "experts", "router", "linear-attention", "ssm"])
        & inv["kind"].isin(["linear", "conv1d", "expert-parameter", "parameter", "embedding"])]
    assert table["units"].sum() == len(units)


def test_names_verdicts_on_fused_and_mla():
    phi = names_table(cached_inventory("microsoft/Phi-3-mini-4k-instruct")).set_index("module")
    assert substring_finds("model.layers.0.self_attn.qkv_proj") == "attention"
    assert phi.loc["qkv_proj", "verdict"].startswith("found, but fused: q, k, v")
    ds = names_table(cached_inventory("deepseek-ai/DeepSeek-V3"))
    assert (ds.loc[ds["module"] == "q_a_proj", "verdict"] == "missed").all()
    assert (ds.loc[ds["kind"] == "expert tensor", "verdict"] == "missed: a parameter, not a module").all()


@pytest.mark.parametrize("model_id", ["deepseek-ai/DeepSeek-V3", "Qwen/Qwen3-30B-A3B", "mistralai/Mixtral-8x7B-v0.1"])
def test_moe_breakdown_adds_up_to_the_plan(model_id):
    inv = cached_inventory(model_id)
    index = PlanIndex(inv)
    plan = Plan((Target("q", 8), Target("v", 8), Target("ffn", 4)))
    table = by_unit_kind(resolve_plan(plan, index), inv)
    assert table["params"].sum() == count(plan, index).lora
    assert "routed experts" in set(table["unit"]) and "router" in set(table["unit"])
    assert table.set_index("unit").loc["router", "wrapped"] == 0
