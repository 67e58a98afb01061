"""LitGPT's memory mechanisms in torch autograd's own behaviour on CPU: what a step leaves alive
while the next forward runs, and the width at which LitGPT's attention keeps K and V.

LitGPT's loop rebinds ``logits = model(...)`` only when the next forward returns, so the previous
step's output, and through its ``grad_fn`` the previous autograd graph, are still referenced.
Backward (``retain_graph=False``) frees what ops saved with ``save_for_backward``, but not tensors
a custom ``autograd.Function`` keeps as ctx attributes, which is how bitsandbytes before 0.44
stores its 4-bit matmul's input (0.42.0 ``autograd/_functions.py`` ``MatMul4Bit.forward``:
``if any(ctx.needs_input_grad[:2]): ctx.tensors = (A, B)``). bitsandbytes 0.42 has no CPU
kernels, so ``_MatMulKeepsInput`` below stores exactly what that line stores (its input and the
weight) around a plain bf16 matmul. The test checks, on a tiny Llama with PEFT adapters, that
after backward the previous step's inputs of every frozen linear are still alive and what
``previous_step_bytes`` counts, that built-in nodes' saved tensors are freed, and that dropping
the output frees them all.
"""

from __future__ import annotations

import gc
import weakref

import pytest
import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, LlamaConfig

from lora_core.model.inventory import build_inventory
from lora_core.memory import MemorySettings
from lora_core.memory.activations import previous_step_bytes
from lora_core.model.skeleton import build_skeleton

TINY = dict(hidden_size=256, intermediate_size=704, num_hidden_layers=4, num_attention_heads=4,
            num_key_value_heads=2, vocab_size=1000, tie_word_embeddings=False)
SEQ, BATCH = 128, 2


class _MatMulKeepsInput(torch.autograd.Function):
    """A frozen linear that keeps what bitsandbytes 0.42's ``MatMul4Bit`` keeps: ``ctx.tensors``."""

    @staticmethod
    def forward(ctx, A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
        output = torch.nn.functional.linear(A, B)
        ctx.tensors = (A, B) if any(ctx.needs_input_grad[:2]) else (None, None)
        return output

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        _, B = ctx.tensors
        return grad_output @ B, None


def _keep_inputs_like_bnb_042(model: torch.nn.Module) -> int:
    """Route every frozen ``nn.Linear`` (lm_head included, as LitGPT quantizes it) through it."""
    patched = 0
    for name, module in model.named_modules():
        if type(module) is torch.nn.Linear and "lora_" not in name:
            module.forward = lambda x, w=module.weight: _MatMulKeepsInput.apply(x, w)
            patched += 1
    return patched


def _graph_nodes(root) -> list:
    seen, stack, nodes = set(), [root], []
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        nodes.append(node)
        stack.extend(next_fn for next_fn, _ in node.next_functions)
    return nodes


@pytest.fixture(scope="module")
def stepped():
    """One training step of the tiny model; its output is still bound, as in LitGPT's loop."""
    config = LlamaConfig(**TINY)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16, attn_implementation="sdpa")
    model = get_peft_model(model, LoraConfig(r=8, lora_dropout=0.0, target_modules=["q_proj", "v_proj"]))
    patched = _keep_inputs_like_bnb_042(model)
    model.train()
    ids = torch.randint(0, TINY["vocab_size"], (BATCH, SEQ))
    out = model(input_ids=ids, labels=ids)
    out.loss.backward()
    return config, model, out, patched


def test_previous_step_inputs_stay_alive_and_match_the_estimate(stepped) -> None:
    config, model, out, patched = stepped
    assert patched == 7 * TINY["num_hidden_layers"] + 1  # q k v o gate up down per layer, lm_head
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    alive: dict[int, int] = {out.logits.untyped_storage().data_ptr(): out.logits.untyped_storage().nbytes()}
    kept = 0
    for node in _graph_nodes(out.logits.grad_fn):
        for t in getattr(node, "tensors", ()) or ():
            if t is not None and t.untyped_storage().data_ptr() not in params:
                kept += 1
                alive[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
    assert kept >= 6 * TINY["num_hidden_layers"]  # layer 0's q, k, v input needs no gradient
    settings = MemorySettings("nf4", BATCH, SEQ, gradient_checkpointing=False, trainer="peft",
                              quantize_lm_head=True, bitsandbytes="0.42.0", keeps_previous_step=True)
    estimated = previous_step_bytes(config, build_inventory(build_skeleton(config)), settings, settings.profile)
    measured = sum(alive.values())
    # the estimate also counts layer 0's attention input (2sbh of ~L*(2h+o+f)+V): an upper bound by < 6 %
    assert 1.0 <= estimated / measured < 1.06, (estimated, measured)


def test_builtin_saved_tensors_are_freed_by_backward(stepped) -> None:
    _, _, out, _ = stepped
    nodes = [n for n in _graph_nodes(out.logits.grad_fn) if type(n).__name__ == "MulBackward0"]
    assert nodes  # RMSNorm and SwiGLU multiply
    with pytest.raises(RuntimeError, match="freed"):
        nodes[0]._saved_self  # noqa: B018 -- accessing a released saved variable raises


def test_dropping_the_previous_output_frees_the_kept_inputs() -> None:
    config = LlamaConfig(**TINY)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16, attn_implementation="sdpa")
    model = get_peft_model(model, LoraConfig(r=8, lora_dropout=0.0, target_modules=["q_proj", "v_proj"]))
    _keep_inputs_like_bnb_042(model)
    ids = torch.randint(0, TINY["vocab_size"], (1, 32))
    out = model(input_ids=ids, labels=ids)
    out.loss.backward()
    refs = [weakref.ref(t) for n in _graph_nodes(out.logits.grad_fn) for t in (getattr(n, "tensors", ()) or ())
            if t is not None and not isinstance(t, torch.nn.Parameter)]
    assert refs and all(r() is not None for r in refs)
    del out
    gc.collect()
    assert all(r() is None for r in refs)


def _litgpt_attention(qkv: torch.Tensor, n_head: int, n_query_groups: int, head_size: int) -> torch.Tensor:
    """The training path of litgpt/model.py ``CausalSelfAttention.forward`` (43c44323), after ``self.attn``."""
    B, T, _ = qkv.shape
    q_per_kv = n_head // n_query_groups
    qkv = qkv.view(B, T, n_query_groups, q_per_kv + 2, head_size).permute(0, 2, 3, 1, 4)
    q, k, v = qkv.split((q_per_kv, 1, 1), dim=2)
    if n_query_groups != n_head:  # "training: flash attention requires it"
        k = k.expand(B, n_query_groups, q_per_kv, T, head_size)
        v = v.expand(B, n_query_groups, q_per_kv, T, head_size)
    q, k, v = (t.reshape(B, -1, T, head_size) for t in (q, k, v))
    return torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)


@pytest.mark.parametrize("groups", [1, 2], ids=["multi-query", "grouped-query"])
def test_litgpt_attention_keeps_kv_at_the_query_width(groups: int) -> None:
    """Why the LitGPT profile sets ``expands_kv``: what autograd keeps of K and V is the expanded copy."""
    n_head, hs, B, T = 8, 16, 2, 32
    qkv = torch.randn(B, T, (n_head + 2 * groups) * hs, dtype=torch.bfloat16, requires_grad=True)
    shapes: list[tuple[int, ...]] = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: shapes.append(tuple(t.shape)) or t, lambda t: t):
        _litgpt_attention(qkv, n_head, groups, hs).sum().backward()
    assert shapes.count((B, n_head, T, hs)) >= 3  # q, and k and v at every query head
    assert (B, groups, T, hs) not in shapes
