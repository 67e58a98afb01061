"""Each trainer's own code reads our recipe as the statement says: exact, or exactly the stated difference.

A table of presets x plans is written for every tool (``lora_core.recipes``). axolotl 0.19.0 and
LLaMA-Factory 0.9.5 run their own config path on the YAML (``tests/replays/axolotl_replay.py``,
``llamafactory_replay.py``: nothing stubbed; see their docstrings), Unsloth's snippet is checked
against its parsed source and applied through PEFT (``unsloth_replay.py``), each tool's whole table
in one subprocess of ``.venv-replay``; the PEFT recipes go through ``get_peft_model`` in-process.
PEFT's own wrapped set and trainable count on a fresh meta skeleton must equal what the statement
says, to the unit, rank, alpha and parameter.
"""

from __future__ import annotations

import json
import warnings

import pytest
import yaml
from peft import LoraConfig, get_peft_model

from lora_core.planning.export import config_dict
from lora_core.planning import Plan, PlanIndex, Target, resolve_plan
from lora_core.recipes import CAPS, Recipe, write_all
from lora_core.recipes.statement import plan_units
from lora_core.planning.verify import wrapped_by_peft
from tests.helpers import cached_inventory, cached_skeleton, fresh_skeleton
from tests.replay_support import run_replay

LLAMA, GPT2, QWEN_MOE, MIXTRAL = ("meta-llama/Meta-Llama-3.1-8B", "openai-community/gpt2", "Qwen/Qwen3-30B-A3B",
                                  "mistralai/Mixtral-8x7B-v0.1")
QWEN, PHI3, GEMMA2, MISTRAL = ("Qwen/Qwen2.5-7B-Instruct", "microsoft/Phi-3-mini-4k-instruct", "google/gemma-2-9b-it",
                               "mistralai/Mistral-7B-Instruct-v0.3")
DEEPSEEK, T5, LLAVA = "deepseek-ai/DeepSeek-V3", "google/flan-t5-base", "llava-hf/llava-1.5-7b-hf"
QV = (Target("q", 8), Target("v", 8))

CASES: dict[str, tuple[str, Plan]] = {
    "llama-qv-r8": (LLAMA, Plan(QV)),
    "llama-attention-r8-ffn-r4": (LLAMA, Plan((Target("attention", 8), Target("ffn", 4)))),
    "llama-all-linear-r16-layers-0-3": (LLAMA, Plan((Target("all-linear", 16),), layers=(0, 1, 2, 3))),
    "llama-dora-rslora": (LLAMA, Plan(QV, dora=True, rslora=True)),
    "llama-fractional-alpha": (LLAMA, Plan((Target("q", 8, 12.5), Target("v", 8, 12.5)))),
    "llama-embeddings-and-head": (LLAMA, Plan((Target("embedding", 8), Target("head", 8), Target("q", 8)))),
    "llama-lora-bias": (LLAMA, Plan(QV, lora_bias=True)),
    "llama-save-lm-head": (LLAMA, Plan(QV, modules_to_save=("lm_head",))),
    "gpt2-fused-attention-r8": (GPT2, Plan((Target("attention", 8),))),
    "gpt2-all-linear-r8": (GPT2, Plan((Target("all-linear", 8),))),
    "gpt2-qv-ffn-layers": (GPT2, Plan((Target("q", 8), Target("ffn", 4)), layers=(0, 5, 11))),
    "qwen3moe-experts-only": (QWEN_MOE, Plan((Target("experts", 8),))),
    "qwen3moe-attention-and-experts": (QWEN_MOE, Plan((Target("attention", 16), Target("experts", 4)))),
    "qwen3moe-qv-only": (QWEN_MOE, Plan(QV)),
    "mixtral-experts-only": (MIXTRAL, Plan((Target("experts", 8),))),
    "mixtral-all-linear-fractional-alpha": (MIXTRAL, Plan((Target("all-linear", 8, 4.5),))),
    "qwen2.5-qv-ffn-layers-0-3": (QWEN, Plan((Target("q", 8), Target("v", 8), Target("ffn", 4)), layers=(0, 1, 2, 3))),
    "phi3-fused-qkv-gate-up": (PHI3, Plan((Target("qkv", 8), Target("gate_up", 4)))),
    "gemma2-all-linear-r16": (GEMMA2, Plan((Target("all-linear", 16),))),
    "mistral-attention-r8-layers": (MISTRAL, Plan((Target("attention", 8),), layers=tuple(range(16, 32)))),
    "deepseek-v3-attention-ffn": (DEEPSEEK, Plan((Target("attention", 8), Target("ffn", 4)))),
    "flan-t5-qv-r8": (T5, Plan(QV)),
    "llava-language-attention-ffn": (LLAVA, Plan((Target("attention", 8), Target("ffn", 4)))),
}
REPLAYS = {"axolotl": "axolotl_replay.py", "llamafactory": "llamafactory_replay.py", "unsloth": "unsloth_replay.py"}


@pytest.fixture(scope="module")
def recipes() -> dict[str, dict[str, Recipe]]:
    return {cid: write_all(plan, cached_inventory(m), cached_skeleton(m), m) for cid, (m, plan) in CASES.items()}


def _edit_yaml(text: str, **changes) -> str:
    data = yaml.safe_load(text)
    for k, v in changes.items():
        data.pop(k, None) if v is None else data.__setitem__(k, v)
    return yaml.safe_dump(data, sort_keys=False)


def controls(recipes) -> dict[str, list[dict]]:
    """Recipes as the issue found them (before these writers), per tool: the replays must catch them."""
    ax = recipes["llama-fractional-alpha"]["axolotl"].text
    gpt2 = recipes["gpt2-all-linear-r8"]["axolotl"].text
    lf = recipes["qwen3moe-experts-only"]["llamafactory"].text
    un = recipes["qwen3moe-qv-only"]["unsloth"].text
    return {"axolotl": [{"id": "control-fractional-alpha", "model": LLAMA, "text": _edit_yaml(ax, lora_alpha=12.5)},
                        {"id": "control-target-linear-gpt2", "model": GPT2,
                         "text": _edit_yaml(gpt2, lora_target_modules=None, lora_target_linear=True)}],
            "llamafactory": [{"id": "control-no-lora-target", "model": QWEN_MOE, "text": _edit_yaml(lf, lora_target=None)}],
            "unsloth": [{"id": "control-no-target-parameters", "model": QWEN_MOE,
                         "text": un.replace("    target_parameters=[],\n", "")},
                        {"id": "control-float-rank", "model": QWEN_MOE, "text": un.replace("r=8,", "r=8.0,")}]}


@pytest.fixture(scope="module")
def replayed(recipes) -> dict[str, dict[str, dict]]:
    """Per tool, per case: what the tool's own code made PEFT wrap (one subprocess per tool)."""
    extra = controls(recipes)
    return {tool: run_replay(script, {"cases": [{"id": cid, "model": CASES[cid][0], "text": r[tool].text}
                                                for cid, r in recipes.items()] + extra[tool]})["results"]
            for tool, script in REPLAYS.items()}


def test_the_replays_catch_the_recipes_the_issue_found(replayed):
    """The old forms: axolotl refuses alpha 12.5; lora_target_linear finds no GPT-2 module; LLaMA-Factory
    without lora_target trains every linear too; Unsloth wants an int rank and explicit target_parameters."""
    ax, lf, un = replayed["axolotl"], replayed["llamafactory"], replayed["unsloth"]
    assert "lora_alpha" in ax["control-fractional-alpha"]["refused"]
    assert ax["control-target-linear-gpt2"]["refused"]  # PEFT: no target module found
    wrapped = lf["control-no-lora-target"]["wrapped"]
    assert "model.layers.0.self_attn.q_proj" in wrapped and "model.layers.0.mlp.experts.gate_up_proj" not in wrapped
    assert "target_parameters missing" in un["control-no-target-parameters"]["refused"]
    assert "r must be an int" in un["control-float-rank"]["refused"]


def stated_units(case: str, recipe: Recipe) -> dict[str, list]:
    """The units (with rank and alpha) the statement says the tool wraps: the plan's, amended."""
    model, plan = CASES[case]
    units = plan_units(resolve_plan(plan, PlanIndex(cached_inventory(model))))
    st = recipe.statement
    for name in st.missing:
        units.pop(name)
    for name in st.added:
        units[name] = None
    for name, r, a in st.changed:
        units[name] = (r, a)
    return {n: list(v) if v else None for n, v in units.items()}


@pytest.mark.parametrize("tool", list(REPLAYS))
@pytest.mark.parametrize("case", list(CASES))
def test_the_tool_trains_what_the_statement_says(case, tool, recipes, replayed):
    recipe, got = recipes[case][tool], replayed[tool][case]
    assert not got["refused"], f"{tool} refused the {case} recipe: {got['refused']}\n{got.get('trace', '')}\n{recipe.text}"
    assert got["version"] == CAPS[tool].version and CAPS[tool].version in recipe.text
    want = stated_units(case, recipe)
    added = set(recipe.statement.added)
    assert set(got["wrapped"]) == set(want), (set(got["wrapped"]) ^ set(want), recipe.text)
    assert {n: v for n, v in got["wrapped"].items() if n not in added} == {n: v for n, v in want.items() if n not in added}
    assert got["trainable"] == recipe.statement.trainable, recipe.text
    assert recipe.statement.modules == len(got["wrapped"])
    if recipe.statement.exact:
        assert got["trainable"] == recipe.statement.plan_trainable and not recipe.statement.differences()


# The acceptance: these are the recipes that must be exact, and the ones whose difference is stated.
NOT_EXACT = {
    ("llama-attention-r8-ffn-r4", "llamafactory"),  # one rank for all targets
    ("qwen2.5-qv-ffn-layers-0-3", "llamafactory"),
    ("phi3-fused-qkv-gate-up", "llamafactory"),
    ("llava-language-attention-ffn", "llamafactory"),
    ("gpt2-qv-ffn-layers", "llamafactory"),
    ("qwen3moe-attention-and-experts", "llamafactory"),  # no target_parameters
    ("deepseek-v3-attention-ffn", "llamafactory"),
    ("qwen3moe-experts-only", "llamafactory"),  # PEFT doubles the rank of fused gate_up from gate_proj+up_proj
    ("mixtral-experts-only", "llamafactory"),
    ("llama-fractional-alpha", "axolotl"),  # integer alpha
    ("mixtral-all-linear-fractional-alpha", "axolotl"),
    ("llama-lora-bias", "axolotl"),  # no lora_bias
    ("llama-lora-bias", "llamafactory"),
    ("llama-embeddings-and-head", "unsloth"),  # embed_tokens/lm_head moved to modules_to_save
}


@pytest.mark.parametrize("case", list(CASES))
def test_exact_wherever_the_tool_can_express_the_plan(case, recipes):
    for tool, recipe in recipes[case].items():
        assert recipe.statement.exact == ((case, tool) not in NOT_EXACT), (tool, recipe.statement.differences())
        assert bool(recipe.statement.differences()) == ((case, tool) in NOT_EXACT)


@pytest.mark.parametrize("case", list(CASES))
def test_peft_itself_trains_what_the_peft_recipes_say(case, recipes):
    """The adapter_config.json text and the Python snippet, applied with PEFT on a fresh meta skeleton."""
    model_id = CASES[case][0]
    peft_recipe, python_recipe = recipes[case]["peft"], recipes[case]["python"]
    namespace: dict = {}
    exec(python_recipe.text, namespace)
    from_json = LoraConfig(**{k: v for k, v in json.loads(peft_recipe.text).items() if k != "peft_type"})
    assert config_dict(namespace["config"]) == config_dict(from_json)
    skel = fresh_skeleton(model_id)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = get_peft_model(skel.model, from_json, low_cpu_mem_usage=True)
    linears = {n for n, _ in skel.model.named_modules()}
    got = {(n.removesuffix(".weight") if n.endswith(".weight") and n.removesuffix(".weight") in linears else n): list(v)
           for n, v in wrapped_by_peft(model).items()}
    assert got == stated_units(case, peft_recipe) and peft_recipe.statement.exact
    assert model.get_nb_trainable_parameters()[0] == peft_recipe.statement.trainable
