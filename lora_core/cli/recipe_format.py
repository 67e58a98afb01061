"""``plan ... --format peft|python|axolotl|llamafactory|unsloth``: print (or ``--out``) one tool's recipe.

The text goes to stdout; when the tool cannot express the plan exactly, the difference goes to
stderr as ``warning:`` lines (the YAML and Python recipes also carry it in their header).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import Any

from ..planning import ResolvedPlan
from ..model.skeleton import Skeleton
from ..recipes import TOOLS, Recipe, Shape, write
from ..recipes.forms import Chooser
from .cluster import cluster_settings
from .memory import memory_settings


def add_format_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--format`` to the ``plan`` subcommand."""
    parser.add_argument("--format", choices=TOOLS, default=None,
                        help="print the plan as this tool's recipe (peft: adapter_config.json); with --out, "
                             "write it there; what the tool will train is stated in its header")


def recipe_for(args: argparse.Namespace, resolved: ResolvedPlan, skel: Skeleton, model_id: str) -> Recipe | None:
    """The recipe ``--format`` asks for, or ``None`` without it (``resolved``: validated), with the
    training shape of ``--seq-len --batch-size --base-dtype --epochs`` and checkpointing, and the strategy."""
    if not args.format:
        return None
    shape = Shape.of(memory_settings(args), cluster_settings(args).epochs)
    return write(args.format, resolved.plan, resolved.index, skel, model_id,
                 Chooser(resolved.plan, resolved.index, skel, resolved=resolved),
                 strategy=getattr(args, "strategy", None) or "single", offload=getattr(args, "offload", "none"),
                 shape=shape)


def statement_payload(recipe: Recipe) -> dict[str, Any]:
    """The ``--json`` ``recipe`` object: tool, version, text and the statement's fields."""
    st = dataclasses.asdict(recipe.statement)
    return {"tool": recipe.tool, "version": recipe.version, "text": recipe.text,
            "statement": st | {"differences": recipe.statement.differences()}}


def print_recipe(recipe: Recipe, text: bool = True) -> None:
    """The text on stdout (unless ``text`` is false), the differences as ``warning:`` lines on stderr."""
    if text:
        print(recipe.text, end="" if recipe.text.endswith("\n") else "\n")
    for d in recipe.statement.differences():
        print(f"warning: {recipe.label} {recipe.version}: {d}", file=sys.stderr)
