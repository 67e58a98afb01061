"""``python -m lora_core``: the command line.

Each subcommand lives in its own module exposing ``register(subparsers)``, which adds a parser
(with its line of ``COMMANDS``) and sets ``func(args) -> int`` on it. To add one, add its module
name and one-line help to ``COMMANDS``. Only the module of the command being run is imported: the
top-level help lists the others from ``COMMANDS`` (``plan``'s module alone loads torch and PEFT).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from ..errors import InputError

# module name -> the command's one-line help (the command is the name with ``-`` for ``_``)
COMMANDS: dict[str, str] = {
    "inspect": "show a model's sizes and targetable modules",
    "plan": "count a LoRA plan and write its adapter_config.json",
    "serve_check": "judge an adapter_config.json for vLLM, SGLang, TGI, LoRAX",
    "open_recipe": "what an axolotl/LLaMA-Factory YAML, Unsloth snippet or adapter trains",
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The top-level parser with ``only``'s module registered (it imports what that command
    needs, e.g. ``plan`` PEFT and the serving rules); with ``only=None``, every command listed by
    name and help without importing any module (``--help``, a missing or unknown command)."""
    parser = argparse.ArgumentParser(
        prog="python -m lora_core",
        description="LoRA Target Explorer: a model's targetable modules, from its config alone.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    if only is not None:
        importlib.import_module(f".{only}", __package__).register(subparsers)
        return parser
    for name, line in COMMANDS.items():
        subparsers.add_parser(command_name(name), help=line)
    return parser


def command_name(module: str) -> str:
    """``serve_check`` -> ``serve-check``."""
    return module.replace("_", "-")


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
