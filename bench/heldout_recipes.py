"""Held-out check of the recipe importer: public recipes the tests do not contain, replayed by the tools.

Run: ``PYTHONPATH=. .venv/bin/python bench/heldout_recipes.py --axolotl DIR --llamafactory DIR``
with ``DIR`` the ``examples/`` folders of the tools' own repositories (e.g. ``git archive HEAD
examples | tar -x``), and ``--adapters DIR`` for a folder of adapter_config.json files.
Nothing here is committed as test data.

Each YAML is opened with :func:`lora_core.imports.read_text` (a non-LoRA recipe is refused there,
by design) and stated with :func:`lora_core.imports.state` on a stand-in preset of the model it
names (the Hub is not reachable here, so a Qwen3-4B recipe is read on Qwen3-8B's config: same
module names, other sizes); the same text then goes through the tool's own code on the same
stand-in (``tests/replays/``: axolotl's ``load_cfg`` + ``load_lora``, LLaMA-Factory's
``get_train_args`` + ``init_adapter``) and PEFT's wrapped units and trainable count are compared.
Adapter configs are stated by the audit and applied with ``get_peft_model`` on the stand-in.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time
import warnings
from collections import Counter
from pathlib import Path

import yaml

from lora_core.model import open_model, presets, sources
from lora_core.errors import InputError
from lora_core.imports import read_text, state
from tests.replay_support import run_replay

STAND_INS = (  # (pattern on the model id, lower case) -> preset with the same module names
    (r"-vl|vision|pixtral|voxtral|qwen3\.5|qwen3-next|llama-4", None),  # other architectures than the presets'
    (r"qwen3.*-a\d+b|qwen3-?moe|qwen3.*30b", "Qwen/Qwen3-30B-A3B"), (r"mixtral", "mistralai/Mixtral-8x7B-v0.1"),
    (r"qwen3", "Qwen/Qwen3-8B"), (r"qwen2|qwen-2|qwq", "Qwen/Qwen2.5-7B-Instruct"),
    (r"llava", "llava-hf/llava-1.5-7b-hf"), (r"mistral|zephyr", "mistralai/Mistral-7B-Instruct-v0.3"),
    (r"gemma-2|gemma2", "google/gemma-2-9b-it"), (r"phi-3|phi3", "microsoft/Phi-3-mini-4k-instruct"),
    (r"deepseek-v3|deepseek-r1", "deepseek-ai/DeepSeek-V3"), (r"gpt2", "openai-community/gpt2"),
    (r"t5", "google/flan-t5-base"), (r"bert-base", "google-bert/bert-base-uncased"), (r"llama|tinyllama|vicuna|codellama", "meta-llama/Meta-Llama-3.1-8B"),
)
REPLAYS = {"axolotl": "axolotl_replay.py", "llamafactory": "llamafactory_replay.py"}
# Settings the tools check before building the adapter that cannot pass on this machine (CPU only,
# no DeepSpeed config file, transformers 5 without ``warmup_ratio``, which LLaMA-Factory's examples
# still set); none changes which modules train. The importer reads the file as published.
CPU_ONLY = {"bf16": False, "fp16": False, "tf32": False, "deepspeed": None, "warmup_ratio": None,
            "plot_loss": None}  # plot_loss needs matplotlib, not installed here


def replay_text(text: str) -> str:
    """The recipe as the tool replays it here: CPU-only precision, no DeepSpeed config file."""
    data = yaml.safe_load(text)
    for key, value in CPU_ONLY.items():
        if key in data:
            data.pop(key) if value is None else data.__setitem__(key, value)
    return yaml.safe_dump(data, sort_keys=False)


def stand_in(model_id: str | None) -> str | None:
    """The preset whose module names the model shares (``None``: no stand-in here)."""
    if not model_id:
        return None
    if presets.is_preset(model_id):
        return model_id
    low = model_id.lower()
    return next((preset for pattern, preset in STAND_INS if re.search(pattern, low)), None)  # first match wins


_MODELS: dict[str, tuple] = {}


def opened(model_id: str):
    if model_id not in _MODELS:
        m = open_model(sources.from_preset(model_id))
        _MODELS[model_id] = (m.inventory, m.skeleton)
    return _MODELS[model_id]


def collect(tool: str, root: Path, rows: list[dict], cases: list[dict]) -> None:
    """Open every YAML under ``root``; the LoRA ones with a stand-in become replay cases."""
    for path in sorted(p for p in root.rglob("*") if p.suffix in (".yml", ".yaml")):
        rel = str(path.relative_to(root))
        row = {"tool": tool, "file": rel}
        rows.append(row)
        try:
            recipe = read_text(path.read_bytes(), rel)
        except InputError as e:
            row["result"] = f"not opened: {e.field}"
            row["why"] = e.message[:120]
            continue
        if recipe.tool != tool:
            row["result"] = f"read as {recipe.tool}"
            continue
        model = stand_in(recipe.model_id)
        if model is None:
            row["result"] = "no stand-in preset"
            row["why"] = str(recipe.model_id)
            continue
        row["model"] = model
        try:
            inv, skel = opened(model)
            report = state(recipe, inv, skel, model)
            row["stated"] = {"units": {n: list(v) for n, v in report.units.items()}, "trainable": report.trainable,
                             "missed": list(report.missed)}
        except InputError as e:
            row["stated"] = {"refused": str(e)}
        cases.append({"id": rel.replace("/", "__"), "model": model, "text": replay_text(path.read_text())})


def compare(rows: list[dict], results: dict[str, dict], tool: str) -> None:
    for row in rows:
        if row["tool"] != tool or "stated" not in row:
            continue
        got, stated = results[row["file"].replace("/", "__")], row["stated"]
        if got.get("refused") and stated.get("refused"):
            row["result"] = "both refuse"
        elif got.get("refused"):
            row["result"] = "tool refuses"
            row["why"] = got["refused"][:160]
        elif stated.get("refused"):
            row["result"] = "differ: importer refuses"
            row["why"] = stated["refused"][:160]
        elif got["wrapped"] == stated["units"] and got["trainable"] == stated["trainable"]:
            row["result"] = "equal"
        else:
            diff = set(got["wrapped"]) ^ set(stated["units"])
            row["result"] = "differ"
            row["why"] = f"{got['trainable']} vs {stated['trainable']}; {len(diff)} units, e.g. {sorted(diff)[:2]}"


def adapters(root: Path, rows: list[dict]) -> None:
    """Saved adapter configs: the import's statement against ``get_peft_model`` on the stand-in."""
    from peft import get_peft_model

    from lora_core.model.task.adapter import model_for_adapter
    from lora_core.planning.audit import parse_adapter_config
    from lora_core.planning.verify import wrapped_by_peft

    for path in sorted(root.glob("*.json")):
        row = {"tool": "peft", "file": path.name}
        rows.append(row)
        try:
            recipe = read_text(path.read_bytes(), path.name)
        except InputError as e:
            row["result"], row["why"] = f"not opened: {e.field}", e.message[:120]
            continue
        model = stand_in(recipe.model_id)
        if model is None:
            row["result"], row["why"] = "no stand-in preset", str(recipe.model_id)
            continue
        inv, skel = opened(model)
        try:
            report = state(recipe, inv, skel, model)
        except InputError as e:
            report, row["why"] = None, str(e)[:160]
        try:
            fresh = open_model(sources.from_preset(model))  # PEFT mutates what it wraps; the adapter's task model
            task_skel, _ = model_for_adapter(recipe.lora, fresh.source.config, fresh.skeleton, fresh.inventory)
            peft_model = get_peft_model(task_skel.model,
                                        parse_adapter_config(recipe.lora | {"inference_mode": False})[0],
                                        low_cpu_mem_usage=True)  # saved as inference_mode: true; trained as False
            modules = {n for n, _ in peft_model.named_modules()}
            wrapped = {n.removesuffix(".weight") if f"base_model.model.{n.removesuffix('.weight')}" in modules else n:
                       tuple(v) for n, v in wrapped_by_peft(peft_model).items()}
            got = (wrapped, int(peft_model.get_nb_trainable_parameters()[0]))
        except Exception as e:  # PEFT refusing the config on the stand-in is a result
            got, row["why"] = None, f"{type(e).__name__}: {e}"[:160]
        if report is None or got is None:
            row["result"] = "both refuse" if report is got is None else "differ: one refuses"
        else:
            same = got == (report.units, report.trainable)
            row["result"] = "equal" if same else "differ"
            row["stated"] = {"trainable": report.trainable, "missed": list(report.missed)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--axolotl", type=Path)
    parser.add_argument("--llamafactory", type=Path)
    parser.add_argument("--adapters", type=Path, help="a folder of adapter_config.json files (*.json)")
    parser.add_argument("--json", type=Path, help="write every row here")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    start = time.perf_counter()
    rows: list[dict] = []
    for tool in REPLAYS:
        root = getattr(args, tool)
        if root is None:
            continue
        cases: list[dict] = []
        collect(tool, root, rows, cases)
        results = run_replay(REPLAYS[tool], {"cases": cases}, timeout=3600)["results"] if cases else {}
        compare(rows, results, tool)
    if args.adapters:
        adapters(args.adapters, rows)
    print(f"Held-out recipes ({time.perf_counter() - start:.0f} s, load average {os.getloadavg()[0]:.1f})")
    for tool in (*REPLAYS, "peft"):
        tally = Counter(r["result"] for r in rows if r["tool"] == tool)
        print(f"  {tool}: {sum(tally.values())} files: " + ", ".join(f"{k} {v}" for k, v in tally.most_common()))
    for r in rows:
        if r["result"].startswith("differ") or r["result"] == "tool refuses":
            print(f"  {r['tool']} {r['file']} [{r.get('model')}]: {r['result']}: {r.get('why', '')}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1, default=str))


if __name__ == "__main__":
    main()
