"""``open-recipe FILE_OR_HUB_ID [--model M] [--json]``: what someone else's recipe really trains.

Reads an axolotl or LLaMA-Factory YAML, an Unsloth ``get_peft_model`` snippet (parsed, never run),
an adapter folder or a Hub adapter id (config and safetensors header only), replays the tool's
rules on the model (the recipe's own ``base_model`` unless ``--model`` is given) and prints the
units, the trainable count, what the author probably meant but misses, and the fields not read;
then the training memory for the recipe's shape and the GPUs, time and cost for the strategy its
DeepSpeed / FSDP keys name (``--gpus`` and ``--gpu`` choose the cluster; a several-GPU strategy
takes 2 unless given). Example: ``python -m lora_core open-recipe examples/llama-3/lora-8b.yml``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import Any

from . import COMMANDS, command_name
from ..errors import InputError
from ..imports import ImportReport, open_source, state
from ..imports.statement import cluster_of
from ..planning import PlanIndex, resolve
from .cluster import cluster_settings, render_cluster, report_for
from .common import open_from_args
from .memory import render_memory


def register(subparsers: Any) -> None:
    """Add the ``open-recipe`` subcommand."""
    p = subparsers.add_parser(command_name("open_recipe"), help=COMMANDS["open_recipe"],
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("recipe", metavar="FILE_OR_HUB_ID", help="a YAML or .py file, an adapter folder, or a Hub adapter id")
    p.add_argument("--model", default=None, metavar="MODEL",
                   help="the base model (preset id, Hub id, folder, config.json); default: the one the recipe names")
    p.add_argument("--revision", default=None, help="Hub branch, tag or commit of the adapter and the model")
    p.add_argument("--trust-remote-code", action="store_true", help="allow code from the model repository")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a summary")
    p.add_argument("--gpus", default=None, metavar="N", help="GPU count (default 1; 2 for a DeepSpeed / FSDP recipe)")
    p.add_argument("--gpu", default="h100-80gb", metavar="KIND", help="GPU kind, as plan --gpu")
    p.add_argument("--dataset-tokens", default="50M", metavar="T", help="tokens per epoch (default 50M)")
    p.add_argument("--price", default=None, metavar="USD", help="per GPU-hour (default: the GPU's sourced price)")
    p.set_defaults(func=run)


def payload(report: ImportReport, cluster: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``--json`` object (``cluster``: the GPUs, time and cost payload, when the strategy is read)."""
    r = report.recipe
    return (cluster or {}) | {"tool": r.tool, "label": r.label, "source": r.source, "model": r.model_id,
            "trainable_params": report.trainable, "units": {n: list(v) for n, v in report.units.items()},
            "lora_config": report.built, "exact_plan": report.exact, "missed": list(report.missed),
            "notes": list(report.notes), "unread": list(r.unread), "parallel": r.parallel,
            "strategy": dataclasses.asdict(r.strategy), "epochs": r.epochs, "memory": report.memory.as_dict(),
            "tensors": None if report.tensors is None else {**dataclasses.asdict(report.tensors),
                                                            "agrees": report.tensors.agrees}}


def run(args: argparse.Namespace) -> int:
    """Open the recipe, the model it names (or ``--model``), and print what it trains."""
    recipe = open_source(args.recipe, revision=args.revision)
    model = args.model or recipe.model_id
    if not model:
        raise InputError("model", "the recipe names no base model; give one with --model")
    opened = open_from_args(argparse.Namespace(model=model, revision=None if recipe.tool == "peft" else args.revision,
                                               trust_remote_code=args.trust_remote_code))
    report = state(recipe, opened.inventory, opened.skeleton, opened.source.label)
    cluster = _cluster(args, report, opened)
    if args.json:
        print(json.dumps(payload(report, cluster and cluster.payload()), indent=2, default=str))
        return 0
    print(f"{recipe.label} recipe {recipe.source} on {opened.source.label}: {len(report.units):,} units, "
          f"{report.trainable:,} trainable parameters"
          + ("" if report.exact else " (more than counted: see the notes)"))
    leaves = sorted({n.rsplit(".", 1)[-1] for n in report.units})
    print(f"  trains: {', '.join(leaves)}")
    for line in report.missed:
        print(f"warning: {line}")
    for line in report.notes:
        print(f"note: {line}")
    if report.tensors is not None:
        if report.tensors.agrees:
            print(f"tensors: {len(report.tensors.saved):,} modules saved, as the config says")
        for line in report.tensors.lines():
            print(f"warning: tensors: {line}")
    if recipe.unread:
        print(f"unread fields (not used here): {', '.join(recipe.unread)}")
    if recipe.tool != "peft":
        resolved = resolve(report.plan, PlanIndex(opened.inventory))
        print("\nTraining memory (the recipe's shape, one GPU):\n"
              + render_memory(opened.skeleton, PlanIndex(opened.inventory), resolved, report.memory))
        print("\nGPUs, time and cost (the recipe's strategy" + (f" and {recipe.epochs:g} epochs" if recipe.epochs else "")
              + "):\n" + (render_cluster(cluster) if cluster else "  not estimated: the strategy is not read (see the notes)"))
    return 0


def _cluster(args: argparse.Namespace, report: ImportReport, opened):
    """The cluster report for the recipe's strategy, shape and epochs (``None`` when its strategy is not read)."""
    base = cluster_settings(argparse.Namespace(strategy=None, gpus=args.gpus, gpu=args.gpu, offload="none",
                                               dataset_tokens=args.dataset_tokens, epochs="3", price=args.price))
    settings = cluster_of(report.recipe, base)
    if settings is None or report.recipe.tool == "peft":
        return None
    index = PlanIndex(opened.inventory)
    return report_for(opened.skeleton, index, resolve(report.plan, index), report.memory, settings)
