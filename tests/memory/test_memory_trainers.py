"""Trainer profiles against their own code and published runs: torchtune's torchao NF4, the stated
bitsandbytes version, parallel blocks' shared norms, and every profile backed by published cases."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from transformers import FalconConfig, GPTNeoXConfig, LlamaConfig, PhiConfig

from lora_core.errors import InputError
from lora_core.memory import MemorySettings, TRAINERS
from tests.memory.validation_cases import CASES, estimate_case, validation_table
from lora_core.memory.weights import quantized_footprint

from transformers.models.falcon.modeling_falcon import FalconDecoderLayer
from transformers.models.gpt_neox.modeling_gpt_neox import GPTNeoXLayer
from transformers.models.llama.modeling_llama import LlamaDecoderLayer
from transformers.models.phi.modeling_phi import PhiDecoderLayer

BY_ID = {c.id: c for c in CASES}


def test_every_trainer_profile_is_backed_by_two_published_cases() -> None:
    per_trainer = {t: [c for c in CASES if c.settings.trainer == t] for t in TRAINERS}
    assert all(len(cases) >= 2 for cases in per_trainer.values()), {t: len(c) for t, c in per_trainer.items()}
    assert any(c.qlora for c in per_trainer["torchtune"])


def _with(case, **settings):
    return replace(case, settings=replace(case.settings, **settings))


def test_torchtune_qlora_load_leaves_what_the_tutorial_logs_after_model_init() -> None:
    """torchtune's QLoRA tutorial (0914d5cfb, torchao 0.1) logs "Peak memory reserved, model init:
    9.13 GB". The load replayed on the caching allocator (template layer, deep copies that dequantize
    and requantize, the checkpoint quantized again on the GPU, torchao 0.1's numel x 16 search)
    leaves that reserved; the allocated peak alone (7.3 GB) is 0.8 of it. Before: 0.55."""
    case = BY_ID["torchtune-tutorial-llama2-7b-qlora"]
    est = estimate_case(case)
    assert abs(est.loading_reserved / 9.13e9 - 1) < 0.02, est.loading_reserved
    assert est.peak_phase == "loading" and est.peak_reserved == est.loading_reserved
    assert est.loading < 0.82 * est.loading_reserved


def test_torchao_versions_change_the_load_and_the_constants() -> None:
    """From 0.2.0 torchao searches the nearest NF4 value in chunks (no numel x 16 tensors); from
    0.3.0 it stops keeping the n/64 expansion of the quantization factors (n/32 bytes per weight)."""
    case = BY_ID["torchtune-tutorial-llama2-7b-qlora"]
    v01, v02, v03 = (estimate_case(_with(case, torchao=v)) for v in ("0.1", "0.2.0", "0.3.0"))
    assert v02.loading_reserved < v01.loading_reserved - 3e9
    assert v02.quantization_constants - v03.quantization_constants == sum(
        n // 32 - 2 * (n // 64 // 256) for n in [4096 * 4096] * 4 * 32 + [11008 * 4096] * 3 * 32)


def test_the_allocator_model_reuses_best_fit_splits_and_merges() -> None:
    """c10/cuda/CUDACachingAllocator.cpp: a large request rounds its segment to 2 MiB, one under
    10 MiB gets 20 MiB, a cached block that fits is reused (best fit) and split, freed neighbours merge."""
    from lora_core.memory.allocator import CachingAllocator
    a = CachingAllocator()
    big = a.malloc(100 << 20)
    assert a.reserved == 100 << 20
    a.free(big)
    x, y = a.malloc(30 << 20), a.malloc(30 << 20)  # both carved from the cached 100 MiB segment
    assert a.reserved == 100 << 20 and a.segments == 1
    a.free(x); a.free(y)
    z = a.malloc(90 << 20)  # the pieces merged back: fits without a new segment
    assert a.segments == 1
    a.malloc(3 << 20)  # the 10 MiB left of that segment (split off: more than 1 MiB)
    assert a.segments == 1
    a.malloc(8 << 20)  # under 10 MiB and nothing cached fits: a 20 MiB segment
    assert a.reserved == (100 << 20) + (20 << 20) and a.segments == 2
    a.free(z)
    assert a.peak_allocated == 101 << 20 and a.peak_reserved == 120 << 20


def test_torchao_linear_keeps_no_input_and_dequantizes_at_14_bytes() -> None:
    s = MemorySettings("nf4", 2, 512, trainer="torchtune")
    assert s.profile.nf4_library == "torchao" and not s.profile.bnb_saves_input
    est = estimate_case(replace(BY_ID["torchtune-tutorial-llama2-7b-qlora"], settings=s))
    assert est.peak_transients >= 14 * 11008 * 4096


@pytest.mark.parametrize("version, saves", [("0.41.1", True), ("0.42.0", True), ("0.43.1", True),
                                            ("0.44.1", False), ("0.50.2", False)])
def test_bitsandbytes_version_decides_whether_matmul4bit_keeps_its_input(version: str, saves: bool) -> None:
    assert MemorySettings("nf4", trainer="litgpt", bitsandbytes=version).profile.bnb_saves_input is saves


def test_default_bitsandbytes_is_the_one_the_replay_venv_installs() -> None:
    from pathlib import Path
    pinned = next(line.split("==")[1].split()[0] for line in Path("requirements-replay.txt").read_text().splitlines()
                  if line.startswith("bitsandbytes=="))
    assert MemorySettings("nf4").profile.bitsandbytes == pinned
    assert not MemorySettings("nf4").profile.bnb_saves_input


def test_litgpt_2023_qlora_needs_only_the_stated_version() -> None:
    """``--trainer litgpt`` with the table's bitsandbytes 0.41.1 and nothing else: PagedAdamW comes from
    the profile (LitGPT switches to it for a quantized base), the kept inputs from the version. With
    the loop's previous step counted (the profile's default) they are 1.10-1.13; the cases leave it out
    because lit-gpt 2023 put the longest sample in step 0, which has no previous step (0.97-1.00).
    Without the version (bitsandbytes 0.50.2) they were 0.83-0.84."""
    for cid in ("litgpt-llama2-7b-qlora-mb1", "litgpt-llama2-13b-qlora-mb1", "litgpt-stablelm3b-qlora-mb1"):
        case = BY_ID[cid]
        s = case.settings
        plain = MemorySettings(s.base_dtype, s.batch_size, s.seq_len, gradient_checkpointing=False, trainer="litgpt",
                               bitsandbytes="0.41.1")
        assert plain.profile.optimizer == "paged_fp32" and plain.profile.bnb_saves_input
        for settings, low, high in ((plain, 0.95, 1.15), (replace(plain, keeps_previous_step=False), 0.9, 1.05)):
            ratio = validation_table((replace(case, settings=settings),))["ratio"].iloc[0]
            assert low < ratio < high, (cid, ratio)


@pytest.mark.parametrize("value", ["not-a-version", 0.41])
def test_a_bad_version_is_refused_with_the_field_named(value) -> None:
    with pytest.raises(InputError, match="bitsandbytes"):
        MemorySettings("nf4", bitsandbytes=value)


def _norms(layer: torch.nn.Module) -> int:
    return sum(1 for m in layer.children() if "norm" in type(m).__name__.lower())


@pytest.mark.parametrize("config, layer_cls", [
    (PhiConfig(hidden_size=64, intermediate_size=128, num_attention_heads=4, num_hidden_layers=1), PhiDecoderLayer),
    (LlamaConfig(hidden_size=64, intermediate_size=128, num_attention_heads=4, num_hidden_layers=1),
     LlamaDecoderLayer),
    (FalconConfig(hidden_size=64, num_attention_heads=4, num_hidden_layers=1, parallel_attn=True,
                  new_decoder_architecture=False, multi_query=True), FalconDecoderLayer),
    (GPTNeoXConfig(hidden_size=64, intermediate_size=128, num_attention_heads=4, num_hidden_layers=1,
                   use_parallel_residual=True), GPTNeoXLayer),
], ids=["phi", "llama", "falcon-7b", "neox-parallel"])
def test_block_layout_matches_the_decoder_layer_transformers_builds(config, layer_cls) -> None:
    from lora_core.memory.layout import block_layout
    config._attn_implementation = "eager"
    with torch.device("meta"):
        layer = layer_cls(config, 0)
    layout = block_layout(config)
    parallel = getattr(config, "use_parallel_residual", False) or getattr(config, "parallel_attn", False) \
        or config.model_type == "phi"
    # one norm module in the block: attention and FFN read the same normalized input
    assert layout.ffn_reads_attention_input is (_norms(layer) == 1)
    assert layout.norm_inputs == (1 if parallel else 2)


def test_phi_15_micro_batch_4_counts_the_shared_norm_once() -> None:
    """phi-1.5 (one norm per block, attention and MLP on the same input): 1.12 before, when its FFN
    input and a second norm input were counted beside the attention's."""
    ratios = validation_table((BY_ID["litgpt-phi15-lora-mb1"], BY_ID["litgpt-phi15-lora-mb4"]))["ratio"]
    assert (ratios - 1).abs().max() < 0.06, ratios.tolist()


def test_unsloth_fused_kernels_keep_what_its_code_saves() -> None:
    """Unsloth's own ``LoRA_MLP``/``LoRA_QKV``/``LoRA_W`` (run on CPU in the replay venv) save the
    group's input and, for the MLP, two FFN-wide tensors; nothing per adapter."""
    from lora_core.memory.unsloth_kernels import FUSED_MLP_KEPT
    from tests.replay_support import run_replay
    t, h, f = 16, 64, 160
    saved = run_replay("unsloth_kernels.py", {"tokens": t, "hidden": h, "ffn": f, "r": 4})
    assert sorted(map(tuple, saved["mlp"])) == sorted([(t, h)] + [(t, f)] * FUSED_MLP_KEPT)
    assert saved["qkv"] == [[t, h]] and saved["o"] == [[t, h]]


def test_unsloth_fuses_only_complete_groups() -> None:
    """``patch_peft_model``: gate+up+down all with LoRA for LoRA_MLP, q+k+v for LoRA_QKV."""
    import pandas as pd
    from lora_core.memory.unsloth_kernels import fused_rows
    rows = pd.DataFrame({"layer": [0, 0, 0, 0, 0, 1, 1], "role": ["q", "k", "v", "gate", "up", "gate", "up"],
                         "bias_params": 0})
    covered, mlp = fused_rows(rows)
    assert covered.tolist() == [True, True, True, False, False, False, False] and mlp is False
    full = pd.DataFrame({"layer": [0, 0, 0], "role": ["gate", "up", "down"], "bias_params": [0, 0, 0]})
    assert fused_rows(full)[1] is True
    assert fused_rows(full.assign(bias_params=[0, 1, 0]))[1] is False


def test_torchtune_load_replay_of_a_model_without_numbered_layers() -> None:
    from lora_core.memory.torchao_loading import torchtune_qlora_load
    allocated, reserved = torchtune_qlora_load((), (64 << 20,), True, True)
    assert allocated == 64 << 20 and reserved == 64 << 20
