"""Shared by the trainer replays: a preset as a local model folder, a fresh meta skeleton, PEFT's result.

Runs inside ``.venv-replay`` (tests/replay_support.py); ``PYTHONPATH`` is the project root.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import sys
import tempfile
import traceback
from pathlib import Path

from torch import nn

from lora_core.model import presets, skeleton, sources
from lora_core.planning.verify import wrapped_by_peft

WORK = Path(tempfile.mkdtemp(prefix="lora_replay_"))
atexit.register(shutil.rmtree, WORK, True)
os.chdir(WORK)  # the tools write output_dir / debug logs relative to the working directory


def model_dir(model_id: str) -> str:
    """A local folder holding the preset's config.json (the tools read the model config from it)."""
    folder = WORK / "models" / model_id.replace("/", "__")
    if not folder.is_dir():
        folder.mkdir(parents=True)
        (folder / "config.json").write_text(json.dumps(presets.preset_dict(model_id)))
    return str(folder)


def fresh_model(model_id: str) -> nn.Module:
    """A new meta-device model of the preset (PEFT mutates what it wraps)."""
    return skeleton.build_skeleton(sources.from_preset(model_id).config).model


def adapters_on_meta(module) -> None:
    """Make ``module.get_peft_model`` (a tool's own import of PEFT's) pass ``low_cpu_mem_usage=True``.

    The one change the trainer replays make: the adapters stay on the meta device like the base model.
    """
    real = module.get_peft_model

    def on_meta(model, config, *args, **kwargs):
        return real(model, config, *args, low_cpu_mem_usage=True, **kwargs)

    module.get_peft_model = on_meta


def peft_result(model: nn.Module) -> dict:
    """What PEFT wrapped (unit -> [rank, alpha], a linear wrapped through ``.weight`` named by its module)
    and ``get_nb_trainable_parameters()[0]``."""
    linear = {n for n, m in model.named_modules()}
    wrapped = {}
    for name, (r, a) in wrapped_by_peft(model).items():
        if name.endswith(".weight") and ("base_model.model." + name.removesuffix(".weight")) in linear:
            name = name.removesuffix(".weight")
        wrapped[name] = [r, a]
    return {"refused": "", "wrapped": wrapped, "trainable": int(model.get_nb_trainable_parameters()[0])}


def write(text: str, name: str) -> str:
    path = WORK / name
    path.write_text(text)
    return str(path)


def run_cases(replay_one) -> None:
    """Read ``{"cases": [{"id", "model", "text"}, ...]}`` on stdin, print ``{"results": {id: ...}}``."""
    payload = json.load(sys.stdin)
    results = {}
    for case in payload["cases"]:
        try:
            results[case["id"]] = replay_one(case)
        except Exception as e:  # the tool refusing the recipe is a result, not a crash
            results[case["id"]] = {"refused": f"{type(e).__name__}: {e}"[:800],
                                   "trace": traceback.format_exc()[-1500:]}
    sys.stdout.flush()
    print("\n" + json.dumps({"results": results}))
