"""``plan MODEL --target KEY[=RANK[:ALPHA]] ...``: a LoRA plan's count and its exact PEFT config.

Example: ``python -m lora_core plan meta-llama/Meta-Llama-3.1-8B --target q=8 --target v=8
--target ffn=4 --layers 0-3,7 --out adapter_config.json``. ``--json`` prints one object with
``auto_class``, ``total_params``, ``trainable_params``, ``targeted`` and ``peft_config``, plus
``memory``: the training-memory breakdown and peaks at the ``--batch-size --seq-len --base-dtype
--no-gradient-checkpointing --trainer`` settings (``lora_core.cli.memory``).
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

import pandas as pd

from . import COMMANDS, command_name
from ..model import OpenedModel
from ..model.task.types import untrained_head_warning
from ..numbers import human
from .common import add_model_arguments, open_from_args
from ..errors import InputError
from ..planning.export import config_bytes, config_dict, lora_config
from .serve_check import summary_lines, verdicts_for_plan
from .memory import add_memory_arguments, memory_settings, render_memory, warn
from .cluster import add_cluster_arguments, cluster_settings, render_cluster, report_for
from ..memory import memory_payload
from ..serving import payload as serving_payload
from ..planning import Plan, PlanCount, PlanIndex, ResolvedPlan, Target, check_fields, parse_layers, resolve, validate
from .recipe_format import add_format_argument, print_recipe, recipe_for, statement_payload

DEFAULT_RANK = 8
_TARGET = re.compile(r"(?P<key>[^=]+?)(?:=(?P<rank>[^:]*)(?::(?P<alpha>.*))?)?")


def register(subparsers: Any) -> None:
    """Add the ``plan`` subcommand."""
    p = subparsers.add_parser(command_name("plan"), help=COMMANDS["plan"],
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_arguments(p)
    p.add_argument("--target", action="append", default=[], metavar="KEY[=RANK[:ALPHA]]",
                   help=f"a group (attention, ffn, experts, router, embedding, head, all-linear), a role "
                        f"(q k v o gate up down, qkv, gate_up, ...) or a module name; rank {DEFAULT_RANK} "
                        "and alpha 2 x rank by default; repeat for several")
    p.add_argument("--layers", default="", help="layer subset, e.g. 0-3,7 (default: all layers)")
    p.add_argument("--dora", action="store_true", help="DoRA: adds a magnitude vector per module")
    p.add_argument("--rslora", action="store_true", help="rank-stabilised scaling alpha/sqrt(r)")
    p.add_argument("--out", default=None, metavar="FILE", help="write adapter_config.json (or the --format recipe) here")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a summary")
    add_format_argument(p)  # --format peft|python|axolotl|llamafactory|unsloth
    add_memory_arguments(p)  # --batch-size --seq-len --base-dtype ... --trainer
    add_cluster_arguments(p)  # --gpus --gpu --strategy --offload --dataset-tokens --epochs --price
    p.set_defaults(func=run)


def parse_target(text: str) -> Target:
    """``'q=8:16' -> Target('q', 8, 16.0)``; ``'ffn' -> Target('ffn', 8)``."""
    m = _TARGET.fullmatch(text.strip())
    if not m or not m["key"].strip():
        raise InputError("--target", f"{text!r} is not KEY[=RANK[:ALPHA]]; write e.g. q=8 or ffn=4:8")
    try:
        rank = int(m["rank"]) if m["rank"] not in (None, "") else DEFAULT_RANK
        alpha = float(m["alpha"]) if m["alpha"] not in (None, "") else None
    except ValueError:
        raise InputError("--target", f"{text!r}: RANK must be an integer and ALPHA a number, "
                         "e.g. q=8:16") from None
    return Target(m["key"].strip(), rank, alpha)


def build_plan(args: argparse.Namespace, index: PlanIndex) -> tuple[ResolvedPlan, list[str]]:
    """The plan the arguments describe, resolved, and its warnings (validated; raises InputError)."""
    if not args.target:
        raise InputError("--target", "give at least one, e.g. --target q=8 --target v=8")
    plan = Plan(tuple(parse_target(t) for t in args.target),
                layers=parse_layers(args.layers, index.num_layers), dora=args.dora, rslora=args.rslora)
    check_fields(plan, index)
    resolved = resolve(plan, index)
    return resolved, validate(resolved)


def run(args: argparse.Namespace) -> int:
    """Open the model, count the plan, export its config; print a summary or JSON."""
    opened = open_from_args(args)
    index = PlanIndex(opened.inventory)
    resolved, warnings = build_plan(args, index)
    plan = resolved.plan
    head = untrained_head_warning(opened.skeleton.model, opened.skeleton.task_type)
    warnings = warnings + [head] if head else warnings
    settings = memory_settings(args)  # checked before any output
    cluster = report_for(opened.skeleton, index, resolved, settings, cluster_settings(args))
    config = lora_config(resolved, opened.skeleton)
    rows, totals = resolved.rows, resolved.count
    recipe = recipe_for(args, resolved, opened.skeleton, opened.source.label)
    data = recipe.text.encode("utf-8") if recipe else config_bytes(config)
    written = _write(args.out, data, recipe.filename if recipe else "adapter_config.json") if args.out else None
    if args.json:
        payload = to_payload(opened, totals, rows, config_dict(config))
        if recipe:
            payload["recipe"] = statement_payload(recipe)
        payload["serving"] = serving_payload(verdicts_for_plan(opened, resolved, config_dict(config)))
        payload["memory"] = memory_payload(opened.skeleton, index, resolved, settings)
        payload.update(cluster.payload())
        warn(opened.skeleton.config, settings)
        print(json.dumps(payload, indent=2))
    elif recipe and not written:
        print_recipe(recipe)
    else:
        print(render(opened, plan, totals, rows, config_dict(config), warnings, written))
        if recipe:
            print_recipe(recipe, text=False)
        print("\nTraining memory:\n" + render_memory(opened.skeleton, index, resolved, settings))
        print("\nGPUs, time and cost:\n" + render_cluster(cluster))
        print("\nServing:\n" + "\n".join(summary_lines(verdicts_for_plan(opened, resolved, config_dict(config)))))
        warn(opened.skeleton.config, settings)
    return 0


def _write(out: str, data: bytes, filename: str = "adapter_config.json") -> Path:
    path = Path(out)
    if path.is_dir():
        path = path / filename
    try:
        path.write_bytes(data)
    except OSError as e:
        raise InputError("--out", f"cannot write {str(path)!r} ({e.strerror}); choose a writable file") from None
    return path


def to_payload(opened: OpenedModel, totals: PlanCount, rows: pd.DataFrame, peft_config: dict) -> dict:
    """The ``--json`` object: exactly these five keys."""
    return {
        "auto_class": opened.skeleton.auto_class,
        "total_params": int(totals.base_total),
        "trainable_params": int(totals.trainable),
        "targeted": sorted(rows["name"]),
        "peft_config": peft_config,
    }


def render(opened: OpenedModel, plan: Plan, totals: PlanCount, rows: pd.DataFrame, cfg: dict,
           warnings: list[str], written: Path | None) -> str:
    """The human summary: totals, one line per target key, the PEFT targeting, warnings."""
    src = opened.source
    lines = [f"{src.label} ({opened.skeleton.auto_class})",
             f"  total parameters     {totals.base_total:,} ({human(totals.base_total, one_decimal=True)})",
             f"  trainable parameters {totals.trainable:,} ({human(totals.trainable, one_decimal=True)}, "
             f"{100 * totals.share:.4f} % of {totals.all_params:,})",
             f"  wrapped units        {totals.modules:,}"
             + (f" in layers {args_layers(plan)}" if plan.layers is not None else ""),
             "", "  key            rank  alpha  units  LoRA params"]
    for key, g in rows.groupby("key", sort=False):
        lines.append(f"  {key:<14} {int(g['rank'].iloc[0]):>4}  {g['alpha'].iloc[0]:>5g}  {len(g):>5}  "
                     f"{int(g['lora_params'].sum()):,}")
    lines += ["", "PEFT config:"] + [f"  {k} = {json.dumps(cfg[k])}" for k in
                                     ("r", "lora_alpha", "target_modules", "target_parameters",
                                      "layers_to_transform", "rank_pattern", "alpha_pattern",
                                      "use_dora", "use_rslora", "task_type") if cfg.get(k) not in (None, {}, [], False)]
    lines += [f"warning: {w}" for w in warnings]
    if written:
        lines.append(f"wrote {written}")
    return "\n".join(lines)


def args_layers(plan: Plan) -> str:
    """``(0, 1, 2, 3, 7) -> '0-3,7'``."""
    out, layers = [], list(plan.layers or ())
    i = 0
    while i < len(layers):
        j = i
        while j + 1 < len(layers) and layers[j + 1] == layers[j] + 1:
            j += 1
        out.append(str(layers[i]) if i == j else f"{layers[i]}-{layers[j]}")
        i = j + 1
    return ",".join(out)
