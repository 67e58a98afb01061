"""The CLI imports what each command needs and no more, and a repeated ``inspect`` of a preset
is answered from the result cache without torch, transformers or PEFT (behaviour, not timing:
the CPU time is in bench/bench_cli_start.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
HEAVY = ("torch", "transformers", "peft", "pandas")
PRESET = "openai-community/gpt2"


def _run(code: str, cache: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), LORA_EXPLORER_CACHE_DIR=cache)
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)


def _inspect_and_loaded(args: list[str], cache: str) -> tuple[str, list[str]]:
    """stdout of ``inspect ARGS`` in a fresh process, and which heavy libraries it imported."""
    code = (f"import sys, io, contextlib\nfrom lora_core.cli import main\nout = io.StringIO()\n"
            f"with contextlib.redirect_stdout(out): rc = main({['inspect', *args]!r})\n"
            f"print(repr((rc, out.getvalue(), [m for m in {HEAVY!r} if m in sys.modules])))")
    rc, out, loaded = eval(_run(code, cache).stdout)  # noqa: S307 - our own repr
    assert rc == 0
    return out, loaded


def test_importing_the_cli_loads_no_heavy_library():
    loaded = _run(f"import sys, lora_core.cli\nprint([m for m in {HEAVY!r} if m in sys.modules])", "off").stdout
    assert json.loads(loaded.replace("'", '"')) == []


def test_inspect_of_a_preset_is_cached_without_loading_torch(tmp_path):
    fresh, loaded = _inspect_and_loaded([PRESET], "off")
    assert {"torch", "transformers", "peft"} <= set(loaded)  # without the cache: the model is built
    first, _ = _inspect_and_loaded([PRESET], str(tmp_path))
    again, loaded = _inspect_and_loaded([PRESET], str(tmp_path))
    assert first == fresh and again == fresh and loaded == []
    as_json, loaded = _inspect_and_loaded(["--json", PRESET], str(tmp_path))  # another key: built
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
