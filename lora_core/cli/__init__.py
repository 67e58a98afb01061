"""``python -m lora_core``: the command line.

Each subcommand lives in its own module exposing ``register(subparsers)``, which adds a parser
and sets ``func(args) -> int`` on it. To add one, append its module name to ``COMMANDS``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from ..errors import InputError

COMMANDS: tuple[str, ...] = ("inspect", "plan", "serve_check")


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every module of ``COMMANDS`` registered."""
    parser = argparse.ArgumentParser(
        prog="python -m lora_core",
        description="LoRA Target Explorer: a model's targetable modules, from its config alone.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f".{name}", __package__).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; bad input prints ``error: field: message`` and returns 2."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
