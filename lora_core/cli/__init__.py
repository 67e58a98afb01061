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

COMMANDS: tuple[str, ...] = ("inspect", "plan", "serve_check", "open_recipe")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The top-level parser with every module of ``COMMANDS`` registered, or only ``only``'s
    (a command's module imports what that command needs, e.g. ``plan`` PEFT and the serving rules)."""
    parser = argparse.ArgumentParser(
        prog="python -m lora_core",
        description="LoRA Target Explorer: a model's targetable modules, from its config alone.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS if only is None else (only,):
        importlib.import_module(f".{name}", __package__).register(subparsers)
    return parser


def _command_module(argv: Sequence[str]) -> str | None:
    """The module of the command ``argv`` names first (``serve-check`` -> ``serve_check``), if any."""
    name = next((a for a in argv if not a.startswith("-")), None)
    module = name.replace("-", "_") if name else None
    return module if module in COMMANDS and "_" not in name else None


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; bad input prints ``error: field: message`` and returns 2."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(_command_module(argv)).parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
