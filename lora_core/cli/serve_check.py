"""``serve-check ADAPTER_CONFIG --model MODEL``: what vLLM, SGLang, TGI and LoRAX do with an adapter.

The adapter_config.json is read with the Export page's import path (:func:`lora_core.planning.audit.audit_adapter_config`:
PEFT's own matching on the model), then judged by :mod:`lora_core.serving`. Example:
``python -m lora_core serve-check out/adapter_config.json --model meta-llama/Meta-Llama-3.1-8B``.
``plan ... --json`` carries the same verdicts under ``"serving"``; :func:`summary_lines` is the
text summary's one line per engine.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

from . import COMMANDS, command_name
from ..planning.audit import MAX_ADAPTER_CONFIG_BYTES, audit_adapter_config
from .common import add_task_arguments, open_from_args
from ..errors import InputError
from ..model.guards import load_json_object
from ..model.task.adapter import model_for_adapter
from ..peft_rules import convert_like_peft
from ..planning import PlanIndex, ResolvedPlan, resolve
from ..serving import LABELS, Verdict, adapter_of, judge_all, payload


def register(subparsers: Any) -> None:
    """Add the ``serve-check`` subcommand."""
    p = subparsers.add_parser(command_name("serve_check"), help=COMMANDS["serve_check"],
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("adapter_config", metavar="ADAPTER_CONFIG", help="adapter_config.json, or the adapter folder")
    p.add_argument("--model", required=True, metavar="MODEL",
                   help="the base model: preset id, Hub id, model folder or config.json path")
    p.add_argument("--revision", default=None, help="Hub branch, tag or commit (Hub ids only)")
    p.add_argument("--trust-remote-code", action="store_true", help="allow code from the model repository")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a summary")
    add_task_arguments(p)
    p.set_defaults(func=run)


def read_adapter_config(path: str) -> dict:
    """The adapter config as a dict; a clear :class:`InputError` for every way it can be wrong."""
    p = Path(path)
    if p.is_dir():
        p = p / "adapter_config.json"
    try:
        data = p.read_bytes()
    except OSError as e:
        raise InputError("adapter_config", f"cannot read {str(p)!r} ({e.strerror}); give an "
                         "adapter_config.json or the adapter folder") from None
    config = load_json_object(data, "adapter_config", limit=MAX_ADAPTER_CONFIG_BYTES)
    if "peft_type" not in config and ("model_type" in config or "architectures" in config):
        raise InputError("adapter_config", "this is a model's config.json (it has model_type/architectures), "
                         "not an adapter's; give the adapter_config.json PEFT saved")
    return config


def verdicts_for_plan(opened, resolved: ResolvedPlan, exported: dict) -> dict[str, Verdict]:
    """Every engine's verdict on a resolved plan's exported config."""
    return judge_all(adapter_of(resolved, opened.skeleton.config, exported))


def summary_lines(verdicts: dict[str, Verdict]) -> list[str]:
    """One line per engine (``vLLM 0.34.0  serves-with-flags  --max-lora-rank 32``), reasons indented."""
    lines = []
    for name, v in verdicts.items():
        flags = "  " + " ".join(v.flags) if v.flags and v.verdict != "refuses" else ""
        lines.append(f"  {LABELS[name] + ' ' + v.version:<34} {v.verdict}{flags}")
        lines += [f"      - {r}" for r in v.reasons]
    return lines


def run(args: argparse.Namespace) -> int:
    """Read the adapter config against the model and print every engine's verdict."""
    config = read_adapter_config(args.adapter_config)
    opened = open_from_args(args)
    skel, inv = model_for_adapter(config, opened.source.config, opened.skeleton, opened.inventory,
                                  getattr(args, "num_labels", None), opened.source.trust_remote_code)
    opened = dataclasses.replace(opened, skeleton=skel, inventory=inv)
    index = PlanIndex(opened.inventory)
    audit = audit_adapter_config(config, index, opened.skeleton)
    judged = dict(config)
    if audit.rewritten:  # what PEFT writes back after its MoE rewrite (rank doubled on fused pairs)
        after = convert_like_peft(audit.config, opened.skeleton.model)
        judged.update(rank_pattern=dict(after.rank_pattern or {}), alpha_pattern=dict(after.alpha_pattern or {}),
                      target_parameters=sorted(after.target_parameters or []) or None)
    verdicts = verdicts_for_plan(opened, resolve(audit.plan, index), judged)
    if args.json:
        print(json.dumps({"trainable_params": int(audit.count.trainable), "targeted": sorted(audit.rows["name"]),
                          "rewritten": audit.rewritten, "serving": payload(verdicts)}, indent=2))
        return 0
    task = f" ({skel.auto_class}, task_type {skel.task_type})" if skel.task_type else ""
    print(f"{args.adapter_config} on {opened.source.label}{task}: {len(audit.rows):,} units, "
          f"{audit.count.trainable:,} trainable parameters")
    for note in audit.unmatched:
        print(f"warning: matches nothing here: {note}")
    for note in audit.rewritten:
        print(f"note: PEFT rewrites it on this model: {note}")
    print("\n".join(summary_lines(verdicts)))
    return 0
