"""What every CLI subcommand shares: the MODEL arguments and opening a model from them."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import pandas as pd

from . import inventory, skeleton, sources
from .summary import ModelSummary, summarize
from .task.build import build_for_task
from .task.types import TASK_TYPES


@dataclass(frozen=True)
class OpenedModel:
    """A model opened for the CLI: where it came from, its skeleton, inventory and summary."""

    source: sources.ModelSource
    skeleton: skeleton.Skeleton
    inventory: pd.DataFrame
    summary: ModelSummary


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``MODEL``, ``--revision`` and ``--trust-remote-code`` to a subcommand's parser."""
    parser.add_argument("model", metavar="MODEL",
                        help="a preset id (meta-llama/Meta-Llama-3.1-8B), a Hub id, a model "
                             "folder, or a config.json path")
    parser.add_argument("--revision", default=None,
                        help="Hub branch, tag or commit (Hub ids only; default: main)")
    parser.add_argument("--trust-remote-code", action="store_true",
                        help="allow code from the model repository (off by default)")
    add_task_arguments(parser)


def add_task_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--task-type`` and ``--num-labels``: the task the LoRA is trained for."""
    parser.add_argument("--task-type", default=None, choices=list(TASK_TYPES),
                        help="the task the LoRA trains for (PEFT's task_type): builds that model class "
                             "with its head, which PEFT trains in full (default: the class the config names)")
    parser.add_argument("--num-labels", type=int, default=None,
                        help="classes of a classification head (SEQ_CLS, TOKEN_CLS; default: the config's)")


def open_model(args: argparse.Namespace) -> OpenedModel:
    """Resolve ``args.model``, build its meta skeleton and inventory (raises InputError)."""
    src = sources.resolve(args.model, revision=args.revision,
                          trust_remote_code=args.trust_remote_code)
    task, labels = getattr(args, "task_type", None), getattr(args, "num_labels", None)
    if task is None and labels is not None:
        task = skeleton.build_skeleton(src.config, trust_remote_code=src.trust_remote_code).task_type
    skel = build_for_task(src.config, task, labels, trust_remote_code=src.trust_remote_code)
    inv = inventory.build_inventory(skel)
    return OpenedModel(src, skel, inv, summarize(skel, inv))


def human_count(n: int) -> str:
    """``8_030_261_248 -> '8.03 B'``, ``124_439_808 -> '124.4 M'``."""
    for size, unit in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if n >= size:
            return f"{n / size:.3g} {unit}" if size >= 1e9 else f"{n / size:.1f} {unit}"
    return str(n)
