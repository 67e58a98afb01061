"""torch.compile, torchtune's chunked loss, a block's backward and torchtune's versions, on CPU.

The compiled cases run torch's own ``aot_eager_decomp_partition`` backend: inductor's
decompositions and its partitioner (``torch/_functorch/partitioners.py``
``min_cut_rematerialization_partition``) without building C++ kernels, so what the forward
saves for backward is what inductor's would save. The saved tensors are read with
``saved_tensors_hooks`` (distinct storages, parameters excluded), as in ``test_memory.py``.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from peft import LoraConfig, inject_adapter_in_model
from torch.multiprocessing.reductions import StorageWeakRef
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten
from transformers import LlamaConfig
from transformers.models.llama.modeling_llama import LlamaDecoderLayer, LlamaRotaryEmbedding

from lora_core.errors import InputError
from lora_core.memory import MemorySettings
from lora_core.memory.activations import activation_shape
from lora_core.memory.compiled import compiled_adapter_bytes, compiled_layer_bytes, working_bytes
from lora_core.memory.logits import COMPILED_LOGITS_BYTES, LOGITS_BYTES
from lora_core.model import open_model
from lora_core.planning import Plan, PlanIndex, Target, resolve_plan
from tests.memory.validation_cases import CASES, estimate_case

BACKEND = "aot_eager_decomp_partition"
H, F_, HEADS, KV, S, B = 256, 704, 8, 2, 128, 2


def _saved_bytes(fn, *args, exclude=()) -> int:
    seen: dict[int, int] = {}
    skip = {t.untyped_storage().data_ptr() for t in exclude}

    def pack(t: torch.Tensor) -> torch.Tensor:
        ptr = t.untyped_storage().data_ptr()
        if ptr not in skip:
            seen[ptr] = max(seen.get(ptr, 0), t.untyped_storage().nbytes())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn(*args)
    out = out[0] if isinstance(out, tuple) else out
    out.float().sum().backward()
    return sum(seen.values())


def _compute_cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """torchtune CEWithChunkedOutputLoss.compute_cross_entropy (30b8519e8 and 1814feb17)."""
    return F.cross_entropy(logits.float(), labels, ignore_index=-100, reduction="sum")


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
def test_chunked_loss_keeps_what_the_table_says(compiled: bool) -> None:
    """Eager keeps the fp32 log-softmax (4 bytes per logit); compiled, the bf16 chunk and two fp32
    values per row (2): the upcast and softmax are recomputed in backward."""
    torch.manual_seed(0)
    n, vocab = 256, 4096
    logits = torch.randn(n, vocab, dtype=torch.bfloat16, requires_grad=True)
    labels = torch.randint(0, vocab, (n,))
    fn = torch.compile(_compute_cross_entropy, backend=BACKEND) if compiled else _compute_cross_entropy
    per_logit = _saved_bytes(fn, logits, labels) / (n * vocab)
    expected = (COMPILED_LOGITS_BYTES if compiled else LOGITS_BYTES)["chunked_fp32"][0]
    assert per_logit == pytest.approx(expected, abs=0.02)


def _tiny_layer(targets: list[str]):
    config = LlamaConfig(hidden_size=H, intermediate_size=F_, num_attention_heads=HEADS, num_key_value_heads=KV,
                         num_hidden_layers=1, vocab_size=1000, attn_implementation="sdpa")
    torch.manual_seed(0)
    layer = LlamaDecoderLayer(config, 0).to(torch.bfloat16)
    layer.requires_grad_(False)
    if targets:
        layer = inject_adapter_in_model(LoraConfig(r=8, target_modules=targets, lora_dropout=0.0), layer)
        layer = layer.to(torch.bfloat16)
    x = torch.randn(B, S, H, dtype=torch.bfloat16, requires_grad=True)
    pos = torch.arange(S)[None].expand(B, S)
    cos, sin = LlamaRotaryEmbedding(config)(x, pos)

    def run(inp):
        out = layer(inp, position_embeddings=(cos, sin), attention_mask=None, position_ids=pos)
        return out[0] if isinstance(out, tuple) else out

    return config, layer, x, run, (cos, sin)


PLANS = {"none": ([], ()), "qv": (["q_proj", "v_proj"], ("q", "v")), "o": (["o_proj"], ("o",)),
         "down": (["down_proj"], ("down",)),
         "all": (["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
                 ("q", "k", "v", "o", "gate", "up", "down"))}


@pytest.mark.parametrize("name", list(PLANS))
def test_compiled_block_keeps_what_compiled_py_counts(name: str) -> None:
    """A Llama decoder layer under the partitioner keeps 2h + q + kv + out + 2f per token, and for
    the adapters the attention input, the FFN input, down's input (never o's) and each ``x @ A``."""
    targets, roles = PLANS[name]
    config, layer, x, run, rope = _tiny_layer(targets)
    measured = _saved_bytes(torch.compile(run, backend=BACKEND), x, exclude=(*layer.parameters(), *rope))
    opened = open_model(config)
    shape = activation_shape(config, opened.inventory)
    estimate = compiled_layer_bytes(shape, shape.dense_ffn, S, B, True)
    if roles:
        wrapped = resolve_plan(Plan(tuple(Target(r, 8) for r in roles)), PlanIndex(opened.inventory))
        estimate += int(compiled_adapter_bytes(wrapped, S, B).get(0, 0))
    # the estimate leaves out SDPA's fp32 log-sum-exp (heads x tokens x 4 bytes)
    assert 0.99 < estimate / measured <= 1.0, (estimate, measured)


class _NewStorages(TorchDispatchMode):
    """Bytes of the storages ops created under the mode and still alive, and their peak (after each op)."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: dict[int, tuple[StorageWeakRef, int]] = {}
        self.peak = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor):
                ref = StorageWeakRef(t.untyped_storage())
                self.refs.setdefault(ref.cdata, (ref, t.untyped_storage().nbytes()))
        self.refs = {k: v for k, v in self.refs.items() if not v[0].expired()}
        self.peak = max(self.peak, sum(n for _, n in self.refs.values()))
        return out


def test_a_blocks_backward_holds_three_ffn_gradients() -> None:
    """While a gated FFN is differentiated, the gradients of down's input, of the activation and of
    the up output exist at once: the new tensors of a frozen layer's backward peak at 3 x 2sbf."""
    config, layer, x, run, _ = _tiny_layer([])
    mode = _NewStorages()
    with mode:
        out = run(x)
        grad = torch.ones_like(out)
        mode.peak = alive = sum(n for _, n in mode.refs.values())  # what the forward left, saved tensors included
        out.backward(grad)
    shape = activation_shape(config, open_model(config).inventory)
    assert mode.peak - alive == pytest.approx(working_bytes(shape, shape.dense_ffn, S, B), rel=0.05)


def test_torchtune_version_sets_what_its_recipes_fixed() -> None:
    early = MemorySettings("bf16", 2, 512, trainer="torchtune", torchtune="0.2.1", compile=True).profile
    assert (early.logits, early.keeps_previous_step, early.frees_logits, early.compiles_loss) == (
        "bf16_full", True, False, False)
    later = MemorySettings("bf16", 2, 512, trainer="torchtune", torchtune="0.3.0", compile=True).profile
    assert (later.logits, later.keeps_previous_step, later.frees_logits, later.compiles_loss) == (
        "chunked_fp32", False, True, True)
    assert MemorySettings(trainer="torchtune", torchtune="0.1.0", logits="fused").profile.logits == "fused"
    assert MemorySettings(trainer="peft", torchtune="0.1.0").profile.logits == "fp32_full"
    with pytest.raises(InputError, match="torchtune"):
        MemorySettings(trainer="torchtune", torchtune="recent")


def test_torchtune_readme_rows_peak_after_the_load_and_frees_the_logits() -> None:
    """The README rows are logged after get_memory_stats reset the peak at model init; with `del
    logits` the backward peak is the larger of the loss's start and a block's backward, not their sum."""
    case = next(c for c in CASES if c.id == "torchtune-flags-llama32-3b-qlora")
    est = estimate_case(case)
    assert est.peak_training == max(est.forward, est.total, est.optimizer_step) <= est.peak_allocated
    kept = estimate_case(type(case)(**{**case.__dict__, "settings": MemorySettings(
        "nf4", 2, 4096, trainer="torchtune", torchtune="0.4.0", compile=True, checkpointing="offloaded",
        frees_logits=False)}))
    assert kept.total > est.total
