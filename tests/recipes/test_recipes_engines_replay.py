"""Recipes carry the strategy: axolotl's own config path reads the DeepSpeed JSON / FSDP keys we
write (and still wraps exactly the plan), LLaMA-Factory's replay still passes on the recipe with the
strategy's comment lines, and the Python export's ``trainer_kwargs`` are what transformers'
``TrainingArguments`` takes (FSDP built here; the DeepSpeed JSON is the one axolotl's replay validates)."""

from __future__ import annotations

import json

import pytest

from lora_core.planning import Plan, Target
from lora_core.recipes import write
from lora_core.recipes.engines import axolotl_keys, deepspeed_config, fsdp_settings
from tests.helpers import cached_inventory, cached_skeleton
from tests.replay_support import run_replay

LLAMA = "meta-llama/Meta-Llama-3.1-8B"
PLAN = Plan((Target("q", 8), Target("v", 8)))
STRATEGIES = [("zero2", "optimizer"), ("zero3", "none"), ("zero3", "optimizer+params"), ("fsdp", "none"),
              ("fsdp", "optimizer+params"), ("fsdp-sgo", "none")]


def _recipe(tool: str, strategy: str, offload: str):
    return write(tool, PLAN, cached_inventory(LLAMA), cached_skeleton(LLAMA), LLAMA, strategy=strategy, offload=offload)


@pytest.fixture(scope="module")
def axolotl_replayed() -> dict[str, dict]:
    cases = [{"id": f"{s}-{o}", "model": LLAMA, "text": _recipe("axolotl", s, o).text} for s, o in STRATEGIES]
    return run_replay("axolotl_replay.py", {"cases": cases})["results"]


@pytest.mark.parametrize("strategy, offload", STRATEGIES)
def test_axolotl_reads_the_strategy_we_wrote(strategy, offload, axolotl_replayed) -> None:
    got = axolotl_replayed[f"{strategy}-{offload}"]
    assert not got["refused"], got.get("trace")
    assert got["trainable"] == _recipe("axolotl", strategy, offload).statement.plan_trainable
    keys = axolotl_keys(strategy, offload)
    if "deepspeed" in keys:
        assert got["deepspeed"]["zero_optimization"] == keys["deepspeed"]["zero_optimization"]
    else:
        assert got["fsdp_version"] == 2
        assert {k: got["fsdp_config"][k] for k in keys["fsdp_config"]} == keys["fsdp_config"]


def test_llamafactory_replay_passes_on_the_recipe_with_the_strategy() -> None:
    text = _recipe("llamafactory", "zero3", "optimizer").text
    assert "deepspeed: ds_z3_offload_config.json" in text
    got = run_replay("llamafactory_replay.py", {"cases": [{"id": "z3", "model": LLAMA, "text": text}]})["results"]["z3"]
    assert not got["refused"] and got["trainable"] == _recipe("llamafactory", "zero3", "optimizer").statement.trainable
    line = next(ln for ln in text.splitlines() if ln.startswith("# {"))
    assert json.loads(line[2:]) == deepspeed_config("zero3", "optimizer")


@pytest.mark.parametrize("strategy, offload", [("zero3", "optimizer+params"), ("fsdp", "optimizer+params")])
def test_python_export_carries_trainer_kwargs(strategy, offload) -> None:
    namespace: dict = {}
    exec(_recipe("python", strategy, offload).text, namespace)
    kwargs = namespace["trainer_kwargs"]
    if strategy == "zero3":
        # the same JSON axolotl's replay hands to transformers' HfTrainerDeepSpeedConfig above
        assert kwargs == {"deepspeed": deepspeed_config(strategy, offload)}
        zero = kwargs["deepspeed"]["zero_optimization"]
        assert zero["stage"] == 3 and zero["offload_param"]["device"] == zero["offload_optimizer"]["device"] == "cpu"
    else:
        assert kwargs == fsdp_settings(strategy, offload)
        from transformers import TrainingArguments
        args = TrainingArguments(output_dir="/tmp/fsdp-args", **kwargs, use_cpu=True)
        assert args.fsdp and args.fsdp_config["cpu_offload"] is True and args.fsdp_config["reshard_after_forward"] is True
