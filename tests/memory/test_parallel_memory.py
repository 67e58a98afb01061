"""Memory per GPU across strategies: behaviour against the single-GPU estimate, and the validation
table of published multi-GPU runs (tests/memory/parallel_cases.py)."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from lora_core.memory import MemorySettings, estimate_for_plan
from lora_core.memory.parallel import (STRATEGIES, TRAINER_STRATEGIES, EngineKnobs, min_gpus, parallel_estimate,
                                       strategies_for)
from lora_core.memory.profiles import TRAINERS
from lora_core.planning import Plan, Target, count
from tests.memory.parallel_cases import CASES, markdown_table, opened, validation_table

MODEL = "meta-llama/Llama-2-7b-hf"
PLAN = Plan((Target("all-linear", 8),))
# Published runs our estimate misses by more than 15 %, each with the reason (docs/parallel.md).
OUTSIDE_15 = {
    "peft-fsdp-qlora-llama2-70b-2gpu-offload": "nvidia-smi 6 GiB above what FSDP1's offload code keeps on the GPU",
    "aai-qlora-7b-bs1-512": "a 5 GiB reserved peak set by the loading path's cached blocks, not the training step",
    "torchtune-qlora-llama31-405b-8xa100": "1.23 at the README's batch 2; the config's batch 1 would give 1.02",
}


@pytest.fixture(scope="module")
def table():
    return validation_table()


@pytest.fixture(scope="module")
def base():
    skel, index, sizes = opened(MODEL)
    est = estimate_for_plan(skel, index, PLAN, MemorySettings())
    return est, sizes, count(PLAN, index).trainable


def test_single_strategy_is_the_single_gpu_estimate(base) -> None:
    est, sizes, t = base
    p = parallel_estimate(est, sizes, t, STRATEGIES["single"], 1)
    assert (p.peak_allocated, p.peak_reserved, p.nvidia_smi) == (est.peak_allocated, est.peak_reserved, est.nvidia_smi)


def test_ddp_adds_its_bucket_copy_of_the_gradients(base) -> None:
    est, sizes, t = base
    p = parallel_estimate(est, sizes, t, STRATEGIES["ddp"], 4)
    assert p.peak_allocated - est.peak_allocated == est.lora_grads


def test_zero3_and_fsdp_shard_the_frozen_weights_zero2_does_not(base) -> None:
    est, sizes, t = base
    for name in ("zero3", "fsdp"):
        assert parallel_estimate(est, sizes, t, STRATEGIES[name], 8).components["base_weights"] * 8 \
            == pytest.approx(est.base_weights, rel=1e-6)
    assert parallel_estimate(est, sizes, t, STRATEGIES["zero2"], 8).components["base_weights"] == est.base_weights


def test_per_gpu_memory_never_grows_with_the_count(base) -> None:
    est, sizes, t = base
    for name in ("ddp", "zero1", "zero2", "zero3", "fsdp", "fsdp-sgo"):
        peaks = [parallel_estimate(est, sizes, t, STRATEGIES[name], n).nvidia_smi for n in (2, 4, 8, 16, 64)]
        assert peaks == sorted(peaks, reverse=True), name


def test_parameter_offload_moves_the_weights_to_host_ram(base) -> None:
    est, sizes, t = base
    p = parallel_estimate(est, sizes, t, STRATEGIES["zero3"], 4, "optimizer+params")
    assert p.components["base_weights"] == 0 and p.cpu_ram >= est.base_weights


def test_fsdp1_offload_keeps_the_grad_shard_and_one_h2d_shard_copy_on_the_gpu(base) -> None:
    # torch FSDP1: _reduce_grad keeps flat_param._saved_grad_shard on the GPU until
    # prepare_gradient_for_optim; pre_unshard copies the CPU shard to the GPU before its all-gather
    est, sizes, t = base
    fsdp = STRATEGIES["fsdp"]
    on = parallel_estimate(est, sizes, t, fsdp, 4, "optimizer+params")
    kept = parallel_estimate(est, sizes, t, fsdp, 4)
    assert on.components["lora_grads"] == kept.components["lora_grads"] == math.ceil(est.lora_grads / 4) > 0
    unit = est.base_weights / sizes.total * sizes.largest_layer  # a bf16 base: same bytes per parameter
    h2d = on.components["gathered_params"] - kept.components["gathered_params"]
    assert h2d == pytest.approx(unit / 4, rel=0.01)
    fsdp2 = parallel_estimate(est, sizes, t, fsdp, 4, "optimizer+params", EngineKnobs(fsdp_version=2))
    assert fsdp2.components["lora_grads"] == 0  # FSDP2 copies each reduced shard to the host at once


def test_sharding_engines_never_load_the_whole_model_on_one_gpu(base) -> None:
    # a single-GPU estimate whose peak is its loading phase (torchtune's replayed torchao load)
    est, sizes, t = base
    loads = replace(est, loading=10 * est.total)
    for name in ("fsdp", "fsdp-sgo", "zero3"):
        s = STRATEGIES[name]
        assert parallel_estimate(loads, sizes, t, s, 8).peak_allocated == parallel_estimate(est, sizes, t, s, 8).peak_allocated
    # DDP and ZeRO-1/2 ranks each load the whole model
    assert parallel_estimate(loads, sizes, t, STRATEGIES["ddp"], 8).peak_allocated > 5 * est.total


def test_min_gpus_is_the_first_count_that_fits(base) -> None:
    est, sizes, t = base
    n = min_gpus(est, sizes, t, "zero3", "none", 8)
    assert parallel_estimate(est, sizes, t, STRATEGIES["zero3"], n).fits(8)
    assert not parallel_estimate(est, sizes, t, STRATEGIES["zero3"], n - 1).fits(8)


def test_every_trainer_says_which_strategies_it_runs_and_how() -> None:
    assert set(TRAINER_STRATEGIES) == set(TRAINERS)
    for trainer, offered in TRAINER_STRATEGIES.items():
        assert "single" in offered and all(s in STRATEGIES and how for s, how in offered.items()), trainer
    assert strategies_for("peft", "nf4") == ("single", "ddp", "zero1", "zero2", "zero3", "fsdp-qlora")


def test_every_case_states_source_kind_and_quote() -> None:
    for case in CASES:
        assert case.source and case.quote and case.kind in ("allocated", "reserved", "nvidia_smi"), case.id


def test_cases_outside_15_percent_are_the_listed_ones(table) -> None:
    outside = set(table.loc[~table["within"], "id"])
    assert outside == set(OUTSIDE_15), table[["id", "ratio"]].to_string()


def test_band_share(table) -> None:
    # Reported, not tuned: 21/24 inside +-15 %; the acceptance's 90 % (22/24) is not reached (docs/parallel.md).
    assert table["within"].sum() == len(table) - len(OUTSIDE_15) == 21
    assert not table["holdout"].any()  # every ratio here was seen; bench/parallel_holdout.py is the held-out check


def test_markdown_table_has_one_row_per_case(table) -> None:
    assert markdown_table(table).count("\n") == len(table) + 1
