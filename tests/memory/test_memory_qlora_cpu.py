"""QLoRA on CPU with bitsandbytes' own code (tests/replays/qlora_cpu.py, in the replay venv).

bitsandbytes 0.50's CPU library quantizes to NF4 and runs ``MatMul4Bit`` forward and backward,
so what it stores and what its autograd keeps are measured here, not assumed: the packed
weights and constants against ``base_weight_bytes`` / ``quantization_constant_bytes``, the saved
tensors of a bf16-autocast forward against the activation estimate. GPU-only behaviour (the
allocator, the CUDA gemm kernels' workspaces, paged optimizers) cannot be checked here.
"""

from __future__ import annotations

import pytest
import torch
from transformers import LlamaConfig

from lora_core.model.inventory import build_inventory
from lora_core.memory import MemorySettings, activation_bytes, base_weight_bytes, quantization_constant_bytes
from lora_core.planning import Plan, PlanIndex, Target, resolve_plan
from lora_core.model.skeleton import build_skeleton
from tests.replay_support import run_replay

TINY = dict(hidden_size=256, intermediate_size=704, num_hidden_layers=4, num_attention_heads=4,
            num_key_value_heads=2, vocab_size=1000, tie_word_embeddings=False)
BATCH, SEQ = 2, 128
QV = Plan((Target("q", 8), Target("v", 8)))


@pytest.fixture(scope="module")
def runs() -> dict[bool, dict]:
    payload = {"config": TINY, "batch": BATCH, "seq": SEQ, "double_quant": [True, False],
               "targets": ["q_proj", "v_proj"], "r": 8}
    return {r["double_quant"]: r for r in run_replay("qlora_cpu.py", payload)["runs"]}


@pytest.fixture(params=[True, False], ids=["double-quant", "plain-nf4"])
def measured(request, runs) -> tuple[bool, dict]:
    return request.param, runs[request.param]


@pytest.fixture(scope="module")
def tiny():
    config = LlamaConfig(**TINY)
    skel = build_skeleton(config)
    return config, skel, build_inventory(skel)


def test_packed_weights_and_constants_match_what_bitsandbytes_stores(measured, tiny) -> None:
    double_quant, m = measured
    config, skel, _ = tiny
    fp32_buffers = sum(b.numel() for b in skel.model.buffers() if b.dtype == torch.float32)
    # accelerate sizes floating buffers at 2 bytes; bitsandbytes' model keeps rotary inv_freq in fp32.
    assert m["weight_bytes"] == base_weight_bytes(skel, "nf4") + 2 * fp32_buffers
    assert m["constant_bytes"] == quantization_constant_bytes(skel, "nf4", double_quant=double_quant)


def test_matmul4bit_saves_only_the_packed_weight(measured) -> None:
    _, m = measured
    # q k v o gate up down per layer (lm_head stays bf16), less layer 0's q, k, v: their input (the
    # normed embeddings) needs no gradient, so autograd records no node for them.
    quantized = TINY["num_hidden_layers"] * 7 - 3
    assert m["matmul4bit_nodes"] == quantized and not m["matmul4bit_saves_input"] and m["lora_grads"]


def test_qlora_activations_track_what_autograd_saves(measured, tiny) -> None:
    _, m = measured
    config, _, inv = tiny
    settings = MemorySettings("nf4", BATCH, SEQ, gradient_checkpointing=False)
    estimated = activation_bytes(config, inv, settings, resolve_plan(QV, PlanIndex(inv)), False)
    assert 0.8 < estimated / m["saved_bytes"] < 1.25, (estimated, m["saved_bytes"])
