"""Training-memory estimate: accelerate equality for base weights, sums, monotonicity, formulas.

Base weights are compared with accelerate's own ``estimate-memory`` numbers (its ``gather_data``
run on our meta model) and with ``compute_module_sizes``; the quantized set is read back from
the inventory, independently of the code under test.
"""

from __future__ import annotations

import json
import math
import warnings
from argparse import Namespace
from dataclasses import replace

import pytest
import torch
from accelerate.commands import estimate as accelerate_estimate
from accelerate.utils import compute_module_sizes
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, LlamaConfig

from lora_core import cli
from lora_core.errors import InputError
from lora_core.model.inventory import build_inventory
from lora_core.memory import (COMPONENTS, CUDA_CONTEXT_BYTES, GIB, GPU_SIZES_GB,
                              RESERVED_OVERHEAD, MemoryEstimate, MemorySettings, activation_bytes,
                              activation_shape, base_weight_bytes, estimate_for_plan, estimate_memory,
                              layer_activation_bytes, lora_activation_bytes, nf4_constant_bytes,
                              quantization_constant_bytes)
from lora_core.planning import Plan, PlanIndex, Target, count, resolve_plan
from lora_core.model.skeleton import build_skeleton
from tests.helpers import cached_inventory, cached_skeleton, fresh_skeleton

LLAMA, MIXTRAL, GPT2 = "meta-llama/Meta-Llama-3.1-8B", "mistralai/Mixtral-8x7B-v0.1", "openai-community/gpt2"
MODELS = [LLAMA, MIXTRAL, GPT2]
QV = Plan((Target("q", 8), Target("v", 8)))


def _accelerate_estimate(model_id: str) -> dict[str, float]:
    """accelerate ``estimate-memory``'s totals per dtype, its model swapped for our fp32 meta model."""
    model = fresh_skeleton(model_id).model.to(torch.float32)
    original = accelerate_estimate.create_empty_model
    accelerate_estimate.create_empty_model = lambda *a, **k: model
    try:
        rows = accelerate_estimate.gather_data(Namespace(model_name=model_id, library_name="transformers",
                                                         dtypes=["float16", "int8", "int4"], trust_remote_code=False))
    finally:
        accelerate_estimate.create_empty_model = original
    return {row[0]: row[2] for row in rows}


def _quantized_numel(model_id: str) -> int:
    """Weights bitsandbytes quantizes, read from the inventory: nn.Linear / Conv1D but lm_head."""
    inv = cached_inventory(model_id)
    rows = inv[inv["module_class"].isin(["Linear", "Conv1D"]) & ~inv["is_output"] & inv["tied_to"].isna()]
    return int((rows["in_features"] * rows["out_features"]).sum())


def _all_numel(model_id: str) -> int:
    model = cached_skeleton(model_id).model
    return int(cached_inventory(model_id)["base_params"].sum()) + sum(b.numel() for b in model.buffers())


@pytest.mark.parametrize("model_id", MODELS)
def test_base_weights_equal_accelerate(model_id: str) -> None:
    """bf16 equals accelerate's float16 total; int8/int4 differ from accelerate's all-quantized
    figure by exactly the parts bitsandbytes leaves in bf16 (1 and 1.5 extra bytes each)."""
    accel = _accelerate_estimate(model_id)
    skel = cached_skeleton(model_id)
    rest = _all_numel(model_id) - _quantized_numel(model_id)
    assert base_weight_bytes(skel, "bf16") == accel["float16"]
    assert base_weight_bytes(skel, "bf16") == compute_module_sizes(skel.model, dtype=torch.bfloat16)[""]
    assert base_weight_bytes(skel, "int8") == accel["int8"] + rest
    assert base_weight_bytes(skel, "nf4") == accel["int4"] + 1.5 * rest


def test_llama_bf16_is_two_bytes_per_pinned_parameter() -> None:
    skel = cached_skeleton(LLAMA)
    buffers = sum(b.numel() for b in skel.model.buffers())
    assert base_weight_bytes(skel, "bf16") == 2 * (8_030_261_248 + buffers)


@pytest.mark.parametrize("model_id", MODELS)
def test_quantization_shrinks_base_weights(model_id: str) -> None:
    skel = cached_skeleton(model_id)
    sizes = [base_weight_bytes(skel, d) for d in ("nf4", "int8", "bf16")]
    assert sizes == sorted(sizes) and len(set(sizes)) == 3


def _adam_bytes_per_element() -> int:
    """What torch's AdamW keeps per fp32 parameter element after a step (exp_avg and exp_avg_sq)."""
    p = torch.nn.Parameter(torch.zeros(4))
    opt = torch.optim.AdamW([p])
    p.grad = torch.ones(4)
    opt.step()
    return sum(t.numel() * t.element_size() for t in opt.state[p].values() if t.dim() > 0) // p.numel()


@pytest.mark.parametrize("model_id", MODELS)
def test_adapter_and_base_components_are_peft_torch_and_accelerate_figures(model_id: str) -> None:
    """The PEFT + Trainer profile's components, from PEFT's wrapped model, torch's AdamW and accelerate:
    LoRA weights and grads are the LoRA parameters at the dtype PEFT gives them, the optimizer's
    states what AdamW keeps per element, DoRA's magnitudes (PEFT's ``lora_magnitude_vector``) all
    three, the frozen bf16 model what accelerate sizes."""
    from lora_core.planning.export import to_lora_config

    plan = replace(QV, dora=True)
    skel, inv = cached_skeleton(model_id), cached_inventory(model_id)
    est = estimate_for_plan(skel, PlanIndex(inv), plan, MemorySettings(base_dtype="bf16"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        peft_model = get_peft_model(fresh_skeleton(model_id).model, to_lora_config(plan, inv, skel),
                                    low_cpu_mem_usage=True)
    trainable = {n: p for n, p in peft_model.named_parameters() if p.requires_grad}
    magnitudes = sum(p.numel() for n, p in trainable.items() if "lora_magnitude_vector" in n)
    lora = sum(p.numel() for p in trainable.values()) - magnitudes
    element = {p.element_size() for p in trainable.values()}
    assert magnitudes > 0 and element == {4}  # PEFT's autocast_adapter_dtype: fp32 adapters
    adam = _adam_bytes_per_element()
    assert est.lora_weights == est.lora_grads == 4 * lora
    assert est.optimizer_states == adam * lora
    assert est.dora_extra == (4 + 4 + adam) * magnitudes
    assert est.base_weights == int(round(compute_module_sizes(skel.model, dtype=torch.bfloat16)[""]))
    assert est.quantization_constants == 0


def test_int8_constants_are_one_fp32_scale_per_output_row() -> None:
    inv = cached_inventory(LLAMA)
    rows = inv[(inv["module_class"] == "Linear") & ~inv["is_output"]]
    assert quantization_constant_bytes(cached_skeleton(LLAMA), "int8") == 4 * int(rows["out_features"].sum())
    assert quantization_constant_bytes(cached_skeleton(LLAMA), "bf16") == 0


def test_nf4_constants_match_qlora_bits_per_parameter() -> None:
    numel = 4096 * 14336
    bits = 8 * nf4_constant_bytes(numel) / numel
    assert bits == pytest.approx(8 / 64 + 32 / (64 * 256), abs=1e-6)  # QLoRA sec. 3: 0.127 bit


def test_adapter_components_follow_the_plan_count() -> None:
    index = PlanIndex(cached_inventory(LLAMA))
    plan = replace(QV, dora=True)
    est = estimate_for_plan(cached_skeleton(LLAMA), index, plan)
    magnitudes = int(resolve_plan(plan, index)["out_features"].sum())  # PEFT: one per output row
    trainable = count(plan, index).trainable - magnitudes
    assert (est.lora_weights, est.lora_grads, est.optimizer_states) == (4 * trainable, 4 * trainable, 8 * trainable)
    assert est.dora_extra == 16 * magnitudes


def test_monotonic_in_rank() -> None:
    index, skel = PlanIndex(cached_inventory(LLAMA)), cached_skeleton(LLAMA)
    totals = [estimate_for_plan(skel, index, Plan((Target("q", r), Target("v", r)))).total for r in (4, 8, 16, 64)]
    assert totals == sorted(totals) and len(set(totals)) == 4


@pytest.mark.parametrize("model_id", MODELS)
@pytest.mark.parametrize("field,values", [("batch_size", (1, 2, 8)), ("seq_len", (256, 1024, 4096))])
@pytest.mark.parametrize("checkpointing", [True, False])
def test_monotonic_in_batch_and_sequence(model_id: str, field: str, values: tuple[int, ...],
                                         checkpointing: bool) -> None:
    skel, inv = cached_skeleton(model_id), cached_inventory(model_id)
    settings = [MemorySettings(**{field: v}, gradient_checkpointing=checkpointing) for v in values]
    totals = [estimate_memory(skel, inv, 1000, 0, st).total for st in settings]
    assert totals == sorted(totals) and len(set(totals)) == len(values)


@pytest.mark.parametrize("model_id", MODELS)
def test_checkpointing_and_flash_attention_lower_activations(model_id: str) -> None:
    config, inv = cached_skeleton(model_id).config, cached_inventory(model_id)

    def act(**kw) -> int:
        return activation_bytes(config, inv, MemorySettings(**kw))

    assert act(gradient_checkpointing=True) < act(gradient_checkpointing=False)
    assert act(gradient_checkpointing=False) < act(gradient_checkpointing=False, flash_attention=False)


def test_layer_formula_reduces_to_korthikanti_for_gpt() -> None:
    """GPT-2 (MHA, 4h MLP): s*b*h*(34 + 5*a*s/h) less the two 1-byte dropout masks (2sbh)."""
    config = cached_skeleton(GPT2).config
    shape = activation_shape(config, cached_inventory(GPT2))
    s, b, h, a = 1024, 2, config.n_embd, config.n_head
    korthikanti = s * b * h * (34 + 5 * a * s / h)
    assert layer_activation_bytes(shape, shape.dense_ffn, 1, s, b, flash_attention=False) == korthikanti - 2 * s * b * h


def test_moe_activations_use_active_experts_and_gqa() -> None:
    config, inv = cached_skeleton(MIXTRAL).config, cached_inventory(MIXTRAL)
    shape = activation_shape(config, inv)
    assert shape.moe_ffn == config.num_experts_per_tok * config.intermediate_size
    assert shape.moe_layers == config.num_hidden_layers
    layer0 = inv[inv["layer"] == 0].set_index("role")["out_features"]
    assert shape.kv_dim == layer0["k"] + layer0["v"] < 2 * shape.q_dim  # GQA: K, V at kv-head width
    assert shape.gated


def test_fits_uses_the_nvidia_smi_figure_in_gib() -> None:
    est = MemoryEstimate(20 * GIB, 0, 40, 40, 20, 0, 0)
    smi = math.ceil((20 * GIB + 100) * (1 + RESERVED_OVERHEAD)) + CUDA_CONTEXT_BYTES
    assert (est.peak_allocated, est.nvidia_smi) == (20 * GIB + 100, smi)
    assert est.headroom(24) == 24 * GIB - smi and est.fits(24) and not est.fits(16)
    assert est.fits_on() == {gb: gb >= 24 for gb in GPU_SIZES_GB}
    tight = MemoryEstimate(24 * GIB - CUDA_CONTEXT_BYTES, 0, 0, 0, 0, 0, 0)
    assert tight.peak_allocated < 24 * GIB and not tight.fits(24)  # allocated fits, nvidia-smi does not


def test_paged_states_leave_the_allocator_but_not_nvidia_smi() -> None:
    skel, inv = cached_skeleton(LLAMA), cached_inventory(LLAMA)
    plain = estimate_memory(skel, inv, 10**7, 0, MemorySettings("nf4", trainer="litgpt", optimizer="fp32"))
    paged = estimate_memory(skel, inv, 10**7, 0, MemorySettings("nf4", trainer="litgpt", optimizer="paged_fp32"))
    assert plain.optimizer_states == 8 * 10**7 and paged.optimizer_states == 0
    assert paged.paged_states == 8 * 10**7
    assert plain.peak_allocated - paged.peak_allocated == 8 * 10**7
    assert paged.nvidia_smi - paged.peak_reserved == CUDA_CONTEXT_BYTES + 8 * 10**7


@pytest.mark.parametrize("kwargs,match", [
    (dict(base_dtype="fp8"), "base_dtype"),
    (dict(batch_size=0), "batch_size"),
    (dict(seq_len=True), "seq_len"),
    (dict(optimizer="sgd"), "optimizer"),
    (dict(seq_len=-5), "seq_len: must be a positive integer"),
    (dict(trainer="deepspeed"), "trainer: unknown trainer 'deepspeed'"),
    (dict(logits="half"), "logits: must be one of"),
])
def test_settings_validation(kwargs: dict, match: str) -> None:
    with pytest.raises(InputError, match=match):
        MemorySettings(**kwargs)


def test_negative_trainable_params_rejected() -> None:
    with pytest.raises(InputError, match="trainable_params: must be a non-negative integer"):
        estimate_memory(cached_skeleton(GPT2), cached_inventory(GPT2), -1, 0)


def test_adapters_add_activations_per_wrapped_module() -> None:
    index, skel = PlanIndex(cached_inventory(LLAMA)), cached_skeleton(LLAMA)
    no_gc = MemorySettings(gradient_checkpointing=False)
    acts = [estimate_for_plan(skel, index, p, no_gc).activations
            for p in (QV, Plan((Target("all-linear", 8),)), Plan((Target("all-linear", 8),), dora=True))]
    assert acts == sorted(acts) and len(set(acts)) == 3
    wrapped = resolve_plan(QV, index)
    per_layer = lora_activation_bytes(wrapped, False, 2048, 1)
    assert len(per_layer) == 32 and int(per_layer.sum()) == 2 * 2048 * int((wrapped["in_features"] + 8).sum())


# A tiny Llama, real tensors on CPU: the estimate against the bytes autograd actually saves.
TINY = dict(hidden_size=256, intermediate_size=704, num_hidden_layers=4, num_attention_heads=4,
            num_key_value_heads=2, vocab_size=1000, tie_word_embeddings=False)
SEQ, BATCH = 128, 2
TINY_CASES = [
    ("qv", Plan((Target("q", 8), Target("v", 8))), dict(target_modules=["q_proj", "v_proj"])),
    ("all-linear", Plan((Target("all-linear", 8),)), dict(target_modules="all-linear")),
    ("all-linear-dora", Plan((Target("all-linear", 8),), dora=True), dict(target_modules="all-linear", use_dora=True)),
]


def _saved_tensor_bytes(model: torch.nn.Module, ids: torch.Tensor) -> int:
    """Bytes of distinct storages autograd saves in one bf16-autocast forward (parameters excluded)."""
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        seen[storage.data_ptr()] = max(seen.get(storage.data_ptr(), 0), storage.nbytes())
        return t

    with torch.autocast("cpu", dtype=torch.bfloat16), torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(input_ids=ids, labels=ids)
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    return sum(n for ptr, n in seen.items() if ptr not in params)


@pytest.mark.parametrize("plan,cfg", [c[1:] for c in TINY_CASES], ids=[c[0] for c in TINY_CASES])
def test_activations_track_what_autograd_saves(plan: Plan, cfg: dict) -> None:
    config = LlamaConfig(**TINY)
    inv = build_inventory(build_skeleton(config))
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16, attn_implementation="sdpa")
    model = get_peft_model(model, LoraConfig(r=8, lora_dropout=0.0, **cfg))
    model.train()
    measured = _saved_tensor_bytes(model, torch.randint(0, TINY["vocab_size"], (BATCH, SEQ)))
    settings = MemorySettings(batch_size=BATCH, seq_len=SEQ, gradient_checkpointing=False)
    estimated = activation_bytes(config, inv, settings, resolve_plan(plan, PlanIndex(inv)), plan.dora)
    assert 0.8 < estimated / measured < 1.25


def test_plan_json_carries_the_default_memory_breakdown(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["plan", LLAMA, "--target", "q=8", "--target", "v=8", "--json"]) == 0
    memory = json.loads(capsys.readouterr().out)["memory"]
    expected = estimate_for_plan(cached_skeleton(LLAMA), PlanIndex(cached_inventory(LLAMA)), QV)
    assert memory["bytes"] == expected.as_dict()
    assert memory["components"] == {c: getattr(expected, c) for c in COMPONENTS}
    assert (memory["peak_allocated"], memory["peak_reserved"], memory["nvidia_smi"]) == (
        expected.peak_allocated, expected.peak_reserved, expected.nvidia_smi)
    assert memory["settings"] == dict(MemorySettings().as_dict(), base_dtype="bf16", batch_size=1, seq_len=2048,
                                      gradient_checkpointing=True, trainer="peft", optimizer="fp32")
    assert memory["fits_on_gib"] == {str(gb): {"fits": expected.fits(gb), "headroom": expected.headroom(gb)}
                                     for gb in GPU_SIZES_GB}


def test_docs_profile_table_matches_the_profiles() -> None:
    """docs/memory.md's defaults table is the PROFILES data, row by row."""
    from pathlib import Path

    from lora_core.memory import PROFILES

    rows = [line.split("|")[1:-1] for line in Path("docs/memory.md").read_text().splitlines()
            if line.startswith("| `") and line.count("|") == 10]  # the 9-column profiles table
    yes = {"yes": True, "no": False}
    seen = {}
    for cells in rows:
        cells = [c.strip() for c in cells]
        name = cells[0].split("`")[1]
        seen[name] = (cells[1], cells[2], cells[3], cells[4], yes[cells[5]], yes[cells[6]], yes[cells[7]], yes[cells[8]])
    assert seen == {n: (p.adapter_dtype, p.optimizer, p.logits, p.checkpointing, p.autocast, p.quantize_lm_head,
                        p.double_quant, p.upcast_unquantized) for n, p in PROFILES.items()}


@pytest.mark.parametrize("tool,profile", [("axolotl", "axolotl"), ("LLaMA-Factory", "llamafactory"),
                                          ("llamafactory", "llamafactory"), ("Unsloth", "unsloth"),
                                          ("python", "peft"), ("something else", "peft")])
def test_recipe_tool_maps_to_its_profile(tool: str, profile: str) -> None:
    from lora_core.memory import profile_for_recipe

    assert profile_for_recipe(tool) == profile


def test_per_stack_layer_mapping_counts_every_stack(tmp_path, capsys) -> None:
    """LXMERT sets ``num_hidden_layers`` to a mapping of its stacks: ``plan`` estimates its memory
    over all of them instead of failing with a TypeError."""
    from transformers import LxmertConfig

    from lora_core.memory.activations import activation_shape

    config = LxmertConfig()
    stacks = config.num_hidden_layers
    assert isinstance(stacks, dict)
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**config.to_dict(), "architectures": ["LxmertForPreTraining"]}))
    assert cli.main(["plan", str(path), "--target", "attention", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["memory"]["peak_allocated"] > 0
    skel = build_skeleton(config)
    assert activation_shape(config, build_inventory(skel)).layers == sum(stacks.values())
