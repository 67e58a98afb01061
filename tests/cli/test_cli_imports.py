"""The CLI imports what each command needs and no more: ``inspect`` of a preset is answered from
its shipped snapshot (lora_core.model.snapshot) without torch, transformers or PEFT, and a
repeated one from the result cache without pandas either (behaviour, not timing: the CPU time is
in bench/bench_cli_start.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
HEAVY = ("torch", "transformers", "peft", "pandas")
PRESET = "openai-community/gpt2"


def _run(code: str, cache: str, snapshots: str = "on") -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), LORA_EXPLORER_CACHE_DIR=cache, LORA_EXPLORER_SNAPSHOTS=snapshots)
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)


def _loaded_after(code: str) -> list[str]:
    """Which heavy libraries a fresh process has imported after running ``code``."""
    out = _run(f"import sys\n{code}\nprint([m for m in {HEAVY!r} if m in sys.modules])", "off").stdout
    return json.loads(out.replace("'", '"'))


def _inspect_and_loaded(args: list[str], cache: str, snapshots: str = "on") -> tuple[str, list[str]]:
    """stdout of ``inspect ARGS`` in a fresh process, and which heavy libraries it imported."""
    code = (f"import sys, io, contextlib\nfrom lora_core.cli import main\nout = io.StringIO()\n"
            f"with contextlib.redirect_stdout(out): rc = main({['inspect', *args]!r})\n"
            f"print(repr((rc, out.getvalue(), [m for m in {HEAVY!r} if m in sys.modules])))")
    rc, out, loaded = eval(_run(code, cache, snapshots).stdout)  # noqa: S307 - our own repr
    assert rc == 0
    return out, loaded


def test_importing_the_cli_loads_no_heavy_library():
    assert _loaded_after("import lora_core.cli") == []


def test_the_top_level_help_and_a_missing_command_import_no_command_module():
    """``python -m lora_core --help`` lists every command from ``COMMANDS`` (``plan``'s module
    alone would load torch, transformers and PEFT)."""
    for argv in (["--help"], [], ["no-such-command"]):
        run = (f"import contextlib, io\nfrom lora_core.cli import main\n"
               f"with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
               f"    try:\n        main({argv!r})\n    except SystemExit:\n        pass")
        assert _loaded_after(run) == [], argv


def test_the_name_rules_and_the_layer_folding_load_neither_peft_nor_torch():
    """PEFT's name rules (matching, layer index) are pure; only the functions that ask PEFT import it."""
    assert _loaded_after("import lora_core.peft_rules, lora_core.model.summary, lora_core.model.snapshot") == ["pandas"]


def test_a_first_inspect_of_a_preset_imports_no_torch_transformers_or_peft():
    """A fresh install (no result cache) answers from the preset's snapshot; with snapshots off,
    the same output comes from a live build, which imports torch, transformers and PEFT."""
    for preset in (PRESET, "meta-llama/Meta-Llama-3.1-8B"):
        for flags in ([], ["--json"]):
            out, loaded = _inspect_and_loaded([*flags, preset], "off")
            assert loaded == ["pandas"], (preset, flags)
            live, loaded = _inspect_and_loaded([*flags, preset], "off", snapshots="off")
            assert {"torch", "transformers", "peft"} <= set(loaded) and live == out, (preset, flags)


def test_a_task_flag_builds_the_model_live():
    out, loaded = _inspect_and_loaded(["--task-type", "SEQ_CLS", PRESET], "off")
    assert "torch" in loaded and "score" in out


def test_inspect_of_a_preset_is_cached_without_loading_pandas(tmp_path):
    fresh, _ = _inspect_and_loaded([PRESET], "off", snapshots="off")
    first, _ = _inspect_and_loaded([PRESET], str(tmp_path), snapshots="off")
    again, loaded = _inspect_and_loaded([PRESET], str(tmp_path))
    assert first == fresh and again == fresh and loaded == []
    as_json, loaded = _inspect_and_loaded(["--json", PRESET], str(tmp_path), snapshots="off")  # another key
    assert json.loads(as_json)["source"]["label"] == PRESET and "torch" in loaded


def test_only_presets_have_a_cache_key(tmp_path):
    """A file or a Hub config may change under the same name: always read."""
    from argparse import Namespace

    from lora_core.cli.inspect import _cache_key

    args = dict(json=False, revision=None, trust_remote_code=False)
    assert _cache_key(Namespace(model=PRESET, **args)) is not None
    assert _cache_key(Namespace(model=str(tmp_path / "config.json"), **args)) is None
    assert _cache_key(Namespace(model="someone/some-model", **args)) is None
    assert _cache_key(Namespace(model=PRESET, **{**args, "json": True})) != _cache_key(Namespace(model=PRESET, **args))
