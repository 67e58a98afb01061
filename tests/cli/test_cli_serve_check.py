"""CLI: ``plan --json`` carries ``serving``, the summary one line per engine, and ``serve-check``
judges an existing adapter_config.json through the import path; bad files get ``error: ...``, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lora_core import cli

LLAMA = "meta-llama/Meta-Llama-3.1-8B"
KEYS = {"version", "verdict", "flags", "reasons", "ignored_modules", "ignored_params"}


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_plan_json_has_every_engine_and_serve_check_agrees(tmp_path: Path, capsys) -> None:
    out = tmp_path / "adapter_config.json"
    code, text, _ = _run(capsys, "plan", LLAMA, "--target", "q=32", "--target", "v=32", "--json", "--out", str(out))
    serving = json.loads(text)["serving"]
    assert code == 0 and set(serving) == {"vllm", "sglang", "tgi", "lorax"}
    assert all(KEYS <= set(v) for v in serving.values())
    assert serving["vllm"]["verdict"] == "serves-with-flags" and serving["vllm"]["flags"] == ["--max-lora-rank 32"]
    code, text, _ = _run(capsys, "serve-check", str(out), "--model", LLAMA, "--json")
    assert code == 0 and json.loads(text)["serving"] == serving


def test_plan_summary_prints_one_line_per_engine(capsys) -> None:
    code, text, _ = _run(capsys, "plan", LLAMA, "--target", "q=8", "--target", "v=8", "--dora")
    block = text.split("Serving:\n", 1)[1].splitlines()
    heads = [ln for ln in block if not ln.startswith("      ")]
    assert code == 0 and [h.split()[0] for h in heads] == ["vLLM", "SGLang", "TGI", "LoRAX"]
    assert "refuses" in heads[0] and "differs" in heads[2]


def test_serve_check_sees_the_doubled_expert_rank_of_a_moe_adapter(tmp_path: Path, capsys) -> None:
    """A rank-16 transformers-5 expert adapter is saved with rank 32 on gate_up_proj: vLLM needs 32."""
    cfg = tmp_path / "adapter_config.json"
    cfg.write_text(json.dumps({"peft_type": "LORA", "r": 16, "lora_alpha": 32,
                               "target_modules": ["gate_proj", "up_proj", "down_proj"]}))
    code, text, _ = _run(capsys, "serve-check", str(tmp_path), "--model", "Qwen/Qwen3-30B-A3B", "--json")
    vllm = json.loads(text)["serving"]["vllm"]
    assert code == 0 and "--max-lora-rank 32" in vllm["flags"] and "--enable-mixed-moe-lora-format" in vllm["flags"]


@pytest.mark.parametrize("content, says", [
    ('{"r": 8,', "is not valid JSON"),
    ('[1, 2]', "not an object"),
    ('{"peft_type": "IA3", "target_modules": ["q_proj"]}', "only LoRA adapters"),
    ('{"model_type": "llama", "architectures": ["LlamaForCausalLM"]}', "model's config.json"),
    ('{"peft_type": "LORA", "r": -4, "lora_alpha": 8, "target_modules": ["q_proj"]}', "adapter_config"),
    (None, "cannot read"),
], ids=["malformed", "array", "foreign-ia3", "model-config", "negative-rank", "missing"])
def test_serve_check_bad_files_get_a_clear_error(tmp_path: Path, capsys, content: str | None, says: str) -> None:
    path = tmp_path / "adapter_config.json"
    if content is not None:
        path.write_text(content)
    code, text, err = _run(capsys, "serve-check", str(path), "--model", LLAMA)
    assert code == 2 and err.startswith("error: adapter_config") and says in err and "Traceback" not in err
