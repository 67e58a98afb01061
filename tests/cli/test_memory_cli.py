"""``plan ... --batch-size --seq-len --base-dtype --no-gradient-checkpointing --trainer --json``."""

from __future__ import annotations

import json

import pytest

from lora_core import cli
from lora_core.memory import COMPONENTS, MemorySettings, estimate_for_plan
from lora_core.planning import Plan, PlanIndex, Target
from tests.helpers import cached_inventory, cached_skeleton

LLAMA = "meta-llama/Meta-Llama-3.1-8B"
BASE = ["plan", LLAMA, "--target", "q=8", "--target", "v=8"]
QV = Plan((Target("q", 8), Target("v", 8)))


def test_json_prints_components_and_peaks_of_the_given_settings(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--batch-size", "4", "--seq-len", "1024", "--base-dtype", "nf4", "--no-gradient-checkpointing",
            "--trainer", "axolotl", "--json"]
    assert cli.main(BASE + args) == 0
    memory = json.loads(capsys.readouterr().out)["memory"]
    settings = MemorySettings("nf4", 4, 1024, False, trainer="axolotl")
    est = estimate_for_plan(cached_skeleton(LLAMA), PlanIndex(cached_inventory(LLAMA)), QV, settings)
    assert memory["components"] == {c: getattr(est, c) for c in COMPONENTS}
    assert memory["peak_allocated"] == est.peak_allocated == sum(memory["components"].values())
    assert memory["peak_allocated"] < memory["peak_reserved"] < memory["nvidia_smi"]
    assert memory["settings"]["trainer"] == "axolotl" and memory["settings"]["double_quant"] is True
    assert memory["warnings"] == []


@pytest.mark.parametrize("trainer", ["peft", "axolotl", "llamafactory", "unsloth", "torchtune", "litgpt"])
def test_every_trainer_is_accepted_and_changes_the_estimate(trainer: str, capsys) -> None:
    assert cli.main(BASE + ["--trainer", trainer, "--json"]) == 0
    memory = json.loads(capsys.readouterr().out)["memory"]
    est = estimate_for_plan(cached_skeleton(LLAMA), PlanIndex(cached_inventory(LLAMA)), QV,
                            MemorySettings(trainer=trainer))
    assert memory["nvidia_smi"] == est.nvidia_smi


@pytest.mark.parametrize("args,message", [
    (["--batch-size", "0"], "error: --batch-size: must be a positive integer, got '0'"),
    (["--seq-len", "-5"], "error: --seq-len: must be a positive integer, got '-5'"),
    (["--seq-len", "many"], "error: --seq-len: must be a positive integer, got 'many'"),
    (["--trainer", "deepspeed"], "error: --trainer: unknown trainer 'deepspeed'"),
    (["--base-dtype", "fp8"], "error: --base-dtype: must be one of bf16, int8, nf4"),
    (["--bitsandbytes", "latest"], "error: --bitsandbytes: must be a version such as 0.41.1"),
])
def test_bad_settings_exit_2_with_the_field(args: list[str], message: str, capsys) -> None:
    assert cli.main(BASE + args + ["--json"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith(message) and "Traceback" not in err


def test_sequence_longer_than_the_model_warns(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["plan", "openai-community/gpt2", "--target", "q=8", "--seq-len", "4096", "--json"]) == 0
    out, err = capsys.readouterr()
    assert "warning: seq_len: 4,096 tokens is longer than the model's 1,024 positions" in err
    assert json.loads(out)["memory"]["warnings"][0].startswith("seq_len: 4,096 tokens")


def test_summary_shows_peaks_and_headroom(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(BASE + ["--base-dtype", "nf4"]) == 0
    out = capsys.readouterr().out
    assert "nvidia-smi" in out and "24 GB fits (+" in out


def test_stated_bitsandbytes_version_picks_matmul4bit_behaviour(capsys: pytest.CaptureFixture[str]) -> None:
    """``--bitsandbytes 0.42.0`` (LitGPT's 2024 pin): its 4-bit matmul keeps its input; the default
    (0.50.2) does not; LitGPT's PagedAdamW for a quantized base is in both."""
    runs = {}
    for version in ("0.42.0", None):
        extra = ["--bitsandbytes", version] if version else []
        assert cli.main(BASE + ["--trainer", "litgpt", "--base-dtype", "nf4", "--no-gradient-checkpointing",
                                "--seq-len", "512", *extra, "--json"]) == 0
        runs[version] = json.loads(capsys.readouterr().out)["memory"]
    assert runs["0.42.0"]["settings"]["bitsandbytes"] == "0.42.0" and runs[None]["settings"]["bitsandbytes"] == "0.50.2"
    assert runs["0.42.0"]["settings"]["optimizer"] == runs[None]["settings"]["optimizer"] == "paged_fp32"
    assert runs["0.42.0"]["peak_allocated"] > runs[None]["peak_allocated"]
