"""The recipe writers in-process: the forms they choose, the PEFT recipes, and ``plan --format``.

What the trainers themselves make of the recipes is proven in tests/recipes/test_recipes_replay.py.
"""

from __future__ import annotations

import json

import pytest
import yaml
from peft import LoraConfig

from lora_core import cli
from lora_core.planning.export import adapter_config_bytes, config_dict, to_lora_config
from lora_core.planning import PRESET_PLANS, Plan, Target
from lora_core.recipes import CAPS, TOOLS, write
from lora_core.recipes.peft_python import non_default
from tests.helpers import cached_inventory, cached_skeleton

LLAMA, GPT2 = "meta-llama/Meta-Llama-3.1-8B", "openai-community/gpt2"
MIXED_LAYERS = Plan((Target("q", 16), Target("v", 8)), layers=(0, 1))


def recipe(tool: str, model: str, plan: Plan):
    return write(tool, plan, cached_inventory(model), cached_skeleton(model), model)


@pytest.mark.parametrize("model, plan", [
    (GPT2, PRESET_PLANS["Q,V r8 + FFN r4 (extended)"]),
    (LLAMA, Plan((Target("q", 16, 8.0), Target("v", 16)), layers=(0, 1, 2), dora=True)),
    (LLAMA, PRESET_PLANS["All linear r16 (QLoRA-style)"]),
], ids=["gpt2-extended", "llama-layers-dora", "llama-all-linear"])
def test_peft_recipes_are_the_exported_config(model, plan):
    inv, skel = cached_inventory(model), cached_skeleton(model)
    assert recipe("peft", model, plan).text.encode() == adapter_config_bytes(plan, inv, skel)
    namespace: dict = {}
    exec(recipe("python", model, plan).text, namespace)
    exported = config_dict(to_lora_config(plan, inv, skel))
    assert non_default(config_dict(namespace["config"])) == non_default(exported)


def test_mixed_ranks_on_a_layer_subset_per_tool():
    """axolotl has rank patterns and layers; LLaMA-Factory names the layers' modules in full, one rank."""
    axolotl = yaml.safe_load(recipe("axolotl", LLAMA, MIXED_LAYERS).text)
    assert axolotl["peft_layers_to_transform"] == [0, 1] and axolotl["lora_rank_pattern"]
    factory = recipe("llamafactory", LLAMA, MIXED_LAYERS)
    targets = yaml.safe_load(factory.text)["lora_target"].split(",")
    assert sorted(targets) == [f"layers.{i}.self_attn.{p}_proj" for i in (0, 1) for p in "qv"]
    st = factory.statement
    assert not st.exact and not st.added and not st.missing
    other = "q" if factory.built["r"] == 8 else "v"  # the one rank written is 8 (v) or 16 (q)
    assert {name for name, _r, _a in st.changed} == {f"model.layers.{i}.self_attn.{other}_proj" for i in (0, 1)}
    assert {r for _n, r, _a in st.changed} == {factory.built["r"]}
    assert any("one rank and alpha" in d for d in st.differences())


def test_all_linear_is_peft_all_linear_in_axolotl_and_names_in_llamafactory():
    plan = PRESET_PLANS["All linear r16 (QLoRA-style)"]
    assert yaml.safe_load(recipe("axolotl", LLAMA, plan).text)["lora_target_modules"] == "all-linear"
    names = yaml.safe_load(recipe("llamafactory", LLAMA, plan).text)["lora_target"].split(",")
    assert sorted(names) == ["down_proj", "gate_proj", "k_proj", "o_proj", "q_proj", "up_proj", "v_proj"]
    assert LoraConfig(target_modules="all-linear").target_modules == "all-linear"


@pytest.mark.parametrize("tool", [t for t in TOOLS if t != "peft"])
def test_header_names_the_checked_version_and_the_statement(tool):
    r = recipe(tool, LLAMA, MIXED_LAYERS)
    header = [line for line in r.text.splitlines() if line.startswith("#")]
    assert f"{CAPS[tool].label} {CAPS[tool].version}" in header[0]
    assert f"will train {r.statement.trainable:,} parameters on {r.statement.modules:,} units" in header[1]
    assert ("exactly the plan" in header[1]) == r.statement.exact


def test_cli_format_prints_the_recipe_and_states_the_difference(capsys):
    args = ["plan", LLAMA, "--target", "q=16", "--target", "v=8", "--layers", "0-1"]
    assert cli.main(args + ["--format", "llamafactory"]) == 0
    out, err = capsys.readouterr()
    assert out == recipe("llamafactory", LLAMA, MIXED_LAYERS).text
    assert "warning: LLaMA-Factory 0.9.5: LLaMA-Factory has one rank and alpha" in err
    assert cli.main(args + ["--format", "axolotl"]) == 0
    out, err = capsys.readouterr()
    assert yaml.safe_load(out)["lora_r"] in (8, 16) and err == ""


def test_cli_format_with_out_and_json(tmp_path, capsys):
    args = ["plan", GPT2, "--target", "attention=8", "--format", "unsloth"]
    assert cli.main(args + ["--out", str(tmp_path)]) == 0
    written = (tmp_path / "unsloth_peft.py").read_text()
    assert written == recipe("unsloth", GPT2, Plan((Target("attention", 8),))).text
    assert f"wrote {tmp_path / 'unsloth_peft.py'}" in capsys.readouterr().out
    assert cli.main(args + ["--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["recipe"]["tool"] == "unsloth" and payload["recipe"]["statement"]["exact"] is True
    assert payload["recipe"]["statement"]["trainable"] == payload["trainable_params"]
    assert cli.main(["plan", GPT2, "--target", "q", "--out", str(tmp_path)]) == 0  # no --format: as before
    assert json.loads((tmp_path / "adapter_config.json").read_text())["peft_type"] == "LORA"
