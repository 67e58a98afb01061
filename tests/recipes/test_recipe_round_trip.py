"""A recipe we write, opened again, is the shape and the strategy the page showed.

Every tool x every strategy it offers x every offload x every base dtype the strategy takes: the
recipe written with a shape S and a strategy X, read back by the import (the tool's own reading:
:mod:`lora_core.imports`), gives S and X. PEFT's Python export is read back through transformers'
own ``TrainingArguments`` and ``BitsAndBytesConfig`` built from it. What a file cannot say is stated:
DDP is a launch (``torchrun``), not a key, so single GPU and DDP both read as ``single``; Unsloth
picks its own attention kernel, so it always reads as a fused one.
"""

from __future__ import annotations

import pytest

from lora_core.imports import read_text
from lora_core.imports.statement import cluster_of
from lora_core.memory.parallel.strategies import STRATEGIES, TRAINER_STRATEGIES, applicable
from lora_core.memory.profiles import profile_for_recipe
from lora_core.planning import Plan, Target, PlanIndex, resolve
from lora_core.recipes import Shape, write
from lora_core.recipes import shape as shapes
from lora_core.recipes.engines import read_parallel
from lora_core.recipes.forms import Chooser
from lora_core.compute.report import ClusterSettings
from tests.helpers import cached_inventory, cached_skeleton

LLAMA = "meta-llama/Meta-Llama-3.1-8B"
PLAN = Plan((Target("q", 8), Target("v", 8)))
TOOLS = ("axolotl", "llamafactory", "unsloth", "python")


def _cases() -> list[tuple]:
    out = []
    for tool in TOOLS:
        for name in TRAINER_STRATEGIES[profile_for_recipe(tool)]:
            s = STRATEGIES[name]
            for dtype in ("bf16", "int8", "nf4"):
                if applicable(s, dtype):
                    out += [(tool, name, offload, dtype) for offload in s.offloads]
    return out


CASES = _cases()


@pytest.fixture(scope="module")
def chooser() -> Chooser:
    index = PlanIndex(cached_inventory(LLAMA))
    resolved = resolve(PLAN, index)
    return Chooser(PLAN, index, cached_skeleton(LLAMA), resolved=resolved)


def _write(chooser, tool, strategy, offload, shape):
    return write(tool, PLAN, chooser.index, chooser.skel, LLAMA, chooser, strategy, offload, shape).text


def _read_python(text: str, dtype: str, tmp_path) -> tuple[dict, object]:
    """The Python export, executed, as transformers holds it."""
    from transformers import TrainingArguments

    ns: dict = {}
    exec(text, ns)
    trainer, model = dict(ns["trainer_kwargs"]), ns["model_kwargs"]
    parallel = read_parallel("python", trainer, dtype)
    trainer.pop("deepspeed", None)  # built by DeepSpeed's launcher, not on this CPU (checked in the replays)
    args = TrainingArguments(output_dir=str(tmp_path), use_cpu=True, **trainer)
    quant = model.get("quantization_config")
    data = {"per_device_train_batch_size": args.per_device_train_batch_size, "num_train_epochs": args.num_train_epochs,
            "gradient_checkpointing": args.gradient_checkpointing, "attn_implementation": model["attn_implementation"],
            "max_length": ns["max_length"], "load_in_4bit": bool(quant and quant.load_in_4bit),
            "load_in_8bit": bool(quant and quant.load_in_8bit)}
    return shapes.read("python", data), parallel


@pytest.mark.parametrize("tool, strategy, offload, dtype", CASES, ids=["-".join(c) for c in CASES])
def test_round_trip(tool, strategy, offload, dtype, chooser, tmp_path) -> None:
    for ckpt, flash in ((True, True), (False, False)):
        shape = Shape(4096, 2, 3.0, dtype, ckpt, flash)
        text = _write(chooser, tool, strategy, offload, shape)
        if tool == "python":
            got, parallel = _read_python(text, dtype, tmp_path)
            epochs = got.pop("epochs")
        else:
            recipe = read_text(text)
            got, epochs, parallel = dict(recipe.memory), recipe.epochs, recipe.strategy
            assert got.pop("trainer") == profile_for_recipe(tool)
        want = shape if tool != "unsloth" else Shape(4096, 2, 3.0, dtype, ckpt, True)
        assert Shape(**got, epochs=epochs) == want, text
        assert (parallel.strategy, parallel.offload) == ("single" if strategy == "ddp" else strategy, offload)
        assert not parallel.notes


def test_every_strategy_and_base_is_covered() -> None:
    assert {c[1] for c in CASES} == set(STRATEGIES)
    assert {(c[0], c[3]) for c in CASES} >= {(t, d) for t in TOOLS for d in ("bf16", "int8", "nf4")}


def test_the_import_feeds_the_cluster_section(chooser) -> None:
    text = _write(chooser, "axolotl", "zero3", "optimizer+params", Shape(4096, 2, 5.0, "nf4"))
    got = cluster_of(read_text(text), ClusterSettings(gpus=1, gpu="a100-40gb", dataset_tokens=1e6))
    assert (got.gpus, got.gpu, got.strategy, got.offload, got.epochs, got.dataset_tokens) == \
        (2, "a100-40gb", "zero3", "optimizer+params", 5.0, 1e6)
    single = cluster_of(read_text(_write(chooser, "llamafactory", "single", "none", Shape())), ClusterSettings(gpus=4))
    assert (single.strategy, single.gpus) == ("ddp", 4)  # no sharding key: DDP on the page's several GPUs
