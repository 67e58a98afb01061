"""The shape table (``lora_core/recipes/shape.py``) holds the tools' own defaults and names, read from
their code in the replay venv: a key a recipe leaves out is read as the tool trains it."""

from __future__ import annotations

import pytest

from lora_core.recipes import shape as shapes
from tests.replay_support import run_replay


@pytest.fixture(scope="module")
def tools() -> dict:
    return run_replay("shape_defaults_replay.py", {})


def _defaults(tool: str) -> dict:
    table = shapes.TABLES[tool]
    out = {n.key: n.default for n in table.numbers if n.default is not None}
    out |= {s.key: s.default for s in table.switches}
    return out | {k: v for k, v in table.base_defaults.items()}


def test_axolotl_defaults_and_legacy_flags(tools) -> None:
    assert _defaults("axolotl") == tools["axolotl"]
    assert shapes.AXOLOTL_LEGACY_ATTENTION == tools["axolotl_legacy_attention"]


def test_llamafactory_defaults(tools) -> None:
    assert _defaults("llamafactory") == tools["llamafactory"]


def test_unsloth_defaults(tools) -> None:
    assert _defaults("unsloth") == tools["unsloth"]


def test_absent_keys_read_as_the_tool_trains(tools) -> None:
    """An axolotl file with none of the keys trains 512 tokens x 1, one epoch, no checkpointing, SDPA."""
    got = shapes.read("axolotl", {"adapter": "lora"})
    assert got == {"base_dtype": "bf16", "seq_len": tools["axolotl"]["sequence_len"], "batch_size": 1, "epochs": 1.0,
                   "gradient_checkpointing": False, "flash_attention": True}
    assert shapes.read("llamafactory", {})["batch_size"] == tools["llamafactory"]["per_device_train_batch_size"]
