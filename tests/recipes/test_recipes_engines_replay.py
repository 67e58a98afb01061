"""Recipes carry the training shape and the strategy, and the tools' own config code reads them so.

axolotl 0.19.0's ``load_cfg`` (its validation and ``normalize_config``) and LLaMA-Factory 0.9.5's
``get_train_args`` run on our recipes for every strategy the tool offers, with a bf16, an LLM.int8
and a QLoRA base: each still wraps exactly the plan, and the config the tool parsed holds the
page's shape (``cfg.sequence_len == 4096``, ``load_in_4bit``, ``model_args.quantization_bit == 4``,
``data_args.cutoff_len == 4096`` ...) and the strategy's DeepSpeed JSON or FSDP settings. LLaMA-Factory
refuses ``deepspeed:`` outside a torchrun launch: those cases run with a torchrun rank's environment.
The Python export's ``trainer_kwargs`` and ``model_kwargs`` are built by transformers itself.
"""

from __future__ import annotations

import pytest

from lora_core.planning import Plan, Target
from lora_core.recipes import Shape, write
from lora_core.recipes.engines import axolotl_keys, deepspeed_config, fsdp_settings
from tests.helpers import cached_inventory, cached_skeleton
from tests.replay_support import run_replay

LLAMA = "meta-llama/Meta-Llama-3.1-8B"
PLAN = Plan((Target("q", 8), Target("v", 8)))
# (strategy, offload, base dtype, checkpointing, fused attention): every strategy, each base, both switches.
CASES = [("single", "none", "bf16", True, True), ("single", "none", "int8", False, False),
         ("single", "none", "nf4", True, True), ("ddp", "none", "nf4", False, True),
         ("zero1", "none", "bf16", True, False), ("zero2", "optimizer", "int8", True, True),
         ("zero3", "none", "bf16", True, True), ("zero3", "optimizer+params", "nf4", True, True),
         ("fsdp", "none", "bf16", True, True), ("fsdp", "optimizer+params", "bf16", False, True),
         ("fsdp-sgo", "none", "bf16", True, True), ("fsdp-qlora", "none", "nf4", True, True),
         ("fsdp-qlora", "optimizer+params", "nf4", True, False)]
LF_CASES = [c for c in CASES if c[0] != "fsdp-sgo"]  # LLaMA-Factory offers no shard-grad-op
TORCHRUN_RANK = {"LOCAL_RANK": "0", "RANK": "0", "WORLD_SIZE": "1", "LOCAL_WORLD_SIZE": "1",
                 "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "29531"}


def _id(case) -> str:
    return "-".join(str(x) for x in case)


def _shape(case) -> Shape:
    _s, _o, dtype, ckpt, flash = case
    return Shape(4096, 2, 3.0, dtype, ckpt, flash)


def _recipe(tool: str, case):
    strategy, offload, *_ = case
    return write(tool, PLAN, cached_inventory(LLAMA), cached_skeleton(LLAMA), LLAMA, strategy=strategy,
                 offload=offload, shape=_shape(case))


@pytest.fixture(scope="module")
def axolotl_replayed() -> dict[str, dict]:
    cases = [{"id": _id(c), "model": LLAMA, "text": _recipe("axolotl", c).text} for c in CASES]
    return run_replay("axolotl_replay.py", {"cases": cases})["results"]


@pytest.fixture(scope="module")
def llamafactory_replayed() -> dict[str, dict]:
    def cases(launched: bool) -> list[dict]:
        return [{"id": _id(c), "model": LLAMA, "text": _recipe("llamafactory", c).text} for c in LF_CASES
                if (c[0].startswith("zero")) == launched]
    single = run_replay("llamafactory_replay.py", {"cases": cases(False)})["results"]
    return single | run_replay("llamafactory_replay.py", {"cases": cases(True)}, env=TORCHRUN_RANK)["results"]


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_axolotl_reads_the_shape_and_strategy_we_wrote(case, axolotl_replayed) -> None:
    got = axolotl_replayed[_id(case)]
    assert not got["refused"], got.get("trace")
    assert got["trainable"] == _recipe("axolotl", case).statement.plan_trainable
    strategy, offload, dtype, ckpt, flash = case
    assert got["shape"] == {"adapter": "qlora" if dtype == "nf4" else "lora", "load_in_4bit": dtype == "nf4" or None,
                            "load_in_8bit": dtype == "int8" or None, "sequence_len": 4096, "micro_batch_size": 2,
                            "num_epochs": 3.0, "gradient_checkpointing": ckpt,
                            "attn_implementation": "sdpa" if flash else "eager"} | _unset(got["shape"])
    keys = axolotl_keys(strategy, offload, dtype)
    if "deepspeed" in keys:
        assert got["deepspeed"]["zero_optimization"] == keys["deepspeed"]["zero_optimization"]
    elif keys:
        assert got["fsdp_version"] == 2
        assert {k: got["fsdp_config"][k] for k in keys["fsdp_config"]} == keys["fsdp_config"]
    else:
        assert got["deepspeed"] is None and got["fsdp_config"] is None


def _unset(shape: dict) -> dict:
    """axolotl leaves load_in_4bit / load_in_8bit at None or False when not asked: both mean off."""
    return {k: v for k, v in shape.items() if k in ("load_in_4bit", "load_in_8bit") and not v}


@pytest.mark.parametrize("case", LF_CASES, ids=_id)
def test_llamafactory_reads_the_shape_and_strategy_we_wrote(case, llamafactory_replayed) -> None:
    got = llamafactory_replayed[_id(case)]
    assert not got["refused"], got.get("trace")
    assert got["trainable"] == _recipe("llamafactory", case).statement.plan_trainable
    strategy, offload, dtype, ckpt, flash = case
    assert got["shape"] == {"quantization_bit": {"nf4": 4, "int8": 8}.get(dtype), "cutoff_len": 4096,
                            "per_device_train_batch_size": 2, "num_train_epochs": 3.0,
                            "disable_gradient_checkpointing": not ckpt, "flash_attn": "sdpa" if flash else "disabled"}
    par = got["parallel"]
    if strategy.startswith("zero"):
        assert par["deepspeed"]["zero_optimization"] == deepspeed_config(strategy, offload)["zero_optimization"]
        assert par["zero3"] is (strategy == "zero3") and par["distributed"] == "ParallelMode.DISTRIBUTED"
    elif strategy.startswith("fsdp"):
        plugin = par["fsdp_plugin_args"]
        assert par["fsdp"] and plugin["reshard_after_forward"] is True
        assert plugin.get("cpu_offload", False) is (offload == "optimizer+params")
    else:
        assert par["deepspeed"] is None and not par["fsdp"]


@pytest.mark.parametrize("strategy, offload", [("zero3", "optimizer+params"), ("fsdp", "optimizer+params"),
                                               ("fsdp-qlora", "none")])
def test_python_export_carries_trainer_and_model_kwargs(strategy, offload, tmp_path) -> None:
    import torch
    from transformers import BitsAndBytesConfig, TrainingArguments

    dtype = "nf4" if strategy == "fsdp-qlora" else "bf16"
    namespace: dict = {}
    exec(_recipe("python", (strategy, offload, dtype, True, True)).text, namespace)
    kwargs, model = namespace["trainer_kwargs"], namespace["model_kwargs"]
    assert namespace["max_length"] == 4096 and model["attn_implementation"] == "sdpa"
    if strategy == "zero3":
        # the same JSON axolotl's replay hands to transformers' HfTrainerDeepSpeedConfig above
        assert kwargs.pop("deepspeed") == deepspeed_config(strategy, offload)
    else:
        assert {k: kwargs[k] for k in ("fsdp", "fsdp_config")} == fsdp_settings(strategy, offload)
    args = TrainingArguments(output_dir=str(tmp_path), **kwargs, use_cpu=True)
    assert (args.per_device_train_batch_size, args.num_train_epochs, args.gradient_checkpointing) == (2, 3.0, True)
    if strategy != "zero3":
        assert args.fsdp and args.fsdp_config["reshard_after_forward"] is True
    quant = model.get("quantization_config")
    assert (quant is not None) is (dtype == "nf4")
    if quant is not None:
        assert isinstance(quant, BitsAndBytesConfig) and quant.load_in_4bit and quant.bnb_4bit_quant_type == "nf4"
        assert quant.bnb_4bit_quant_storage == torch.bfloat16  # what FSDP flattens with the rest
