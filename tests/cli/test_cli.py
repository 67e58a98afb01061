"""``python -m lora_core inspect``: text and JSON output, errors, and the subcommand registry."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lora_core import cli
from lora_core.model import presets
from lora_core.model.summary import fold_layers, relative_name

from tests.helpers import cached_inventory, cached_skeleton

ROOT = Path(__file__).resolve().parents[2]
LLAMA = "meta-llama/Meta-Llama-3.1-8B"


def _run(*argv: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_inspect_prints_the_headline_figures(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run("inspect", LLAMA, capsys=capsys)
    text = cached_skeleton(LLAMA).config
    assert code == 0 and err == ""
    for label, value in (("hidden size", text.hidden_size), ("intermediate size", text.intermediate_size),
                         ("layers", text.num_hidden_layers), ("attention heads", text.num_attention_heads),
                         ("KV heads", text.num_key_value_heads), ("vocab", text.vocab_size),
                         ("total parameters", 8_030_261_248)):
        assert any(line.split()[:len(label.split())] == label.split() and f"{value:,}" in line
                   for line in out.splitlines()), label


def test_inspect_folds_layers_per_section(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _run("inspect", LLAMA, capsys=capsys)
    assert "Attention modules: 128 targetable" in out
    assert "FFN modules: 96 targetable" in out
    assert out.count("decoder layers 0–31") == 2
    for leaf in ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                 "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"):
        assert out.count(f"    {leaf} ") == 1, leaf  # listed once, not 32 times


def test_inspect_deepseek_shows_dense_and_moe_ranges(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _run("inspect", "deepseek-ai/DeepSeek-V3", capsys=capsys)
    ffn = fold_layers(cached_inventory("deepseek-ai/DeepSeek-V3").query("group in ['ffn', 'experts', 'router']"))
    for label in ffn["label"]:
        assert f"decoder {label}" in out
    assert "kv_a (k+v)" in out and "256 experts x 7,168 -> 4,096" in out
    assert "671,026,404,352" in out


def test_inspect_gpt2_fused_and_tied(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _run("inspect", "openai-community/gpt2", capsys=capsys)
    assert "qkv (q+k+v)" in out and "conv1d" in out
    assert "(tied to transformer.wte)" in out


def test_inspect_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run("inspect", "microsoft/Phi-3-mini-4k-instruct", "--json", capsys=capsys)
    data = json.loads(out)
    inv = cached_inventory("microsoft/Phi-3-mini-4k-instruct")
    assert code == 0 and set(data) == {"source", "summary", "inventory"}
    assert data["summary"]["total_params"] == int(inv["base_params"].sum())
    assert data["summary"]["fused_roles"] == ["gate_up", "qkv"]
    assert [r["name"] for r in data["inventory"]] == inv["name"].tolist()
    assert data["inventory"][0]["layer"] is None
    assert {r["layer"] for r in data["inventory"] if r["layer"] is not None} == set(range(32))


def test_inspect_config_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "config.json").write_bytes(presets.preset_path("openai-community/gpt2").read_bytes())
    for spec in (str(tmp_path), str(tmp_path / "config.json")):
        code, out, _ = _run("inspect", spec, capsys=capsys)
        assert code == 0 and f"{spec} (local): gpt2" in out


@pytest.mark.parametrize(("argv", "match"), [
    (["inspect", "/no/such/config.json"], "error: path: no config.json at '/no/such/config.json'"),
    (["inspect", "not a valid id!"], "error: model id: "),
])
def test_bad_input_exits_2_without_traceback(argv: list[str], match: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(*argv, capsys=capsys)
    assert (code, out) == (2, "") and err.startswith(match) and "Traceback" not in err


def test_unreachable_hub_is_an_input_error(monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code, _, err = _run("inspect", "acme/not-cached", "--revision", "v2", capsys=capsys)
    assert code == 2 and "acme/not-cached" in err


def test_subcommands_come_from_the_registry() -> None:
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert set(sub.choices) == {name.removeprefix("cli_").replace("_", "-") for name in cli.COMMANDS}


def test_relative_name() -> None:
    assert relative_name("model.layers.7.mlp.up_proj") == "mlp.up_proj"
    assert relative_name("encoder.block.3.layer.0.SelfAttention.q") == "layer.0.SelfAttention.q"
    assert relative_name("lm_head") == "lm_head"


def test_python_dash_m_entry_point() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    ok = subprocess.run([sys.executable, "-m", "lora_core", "inspect", "google-bert/bert-base-uncased"],
                        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and "bert, AutoModelForMaskedLM" in ok.stdout and ok.stderr == ""
