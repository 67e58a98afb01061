"""What every CLI subcommand shares: the MODEL arguments and opening a model from them."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported when a model is opened: torch and transformers are heavy
    from ..model import OpenedModel


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``MODEL``, ``--revision`` and ``--trust-remote-code`` to a subcommand's parser."""
    parser.add_argument("model", metavar="MODEL",
                        help="a preset id (meta-llama/Meta-Llama-3.1-8B), a Hub id, a model "
                             "folder, or a config.json path")
    parser.add_argument("--revision", default=None,
                        help="Hub branch, tag or commit (Hub ids only; default: main)")
    parser.add_argument("--trust-remote-code", action="store_true",
                        help="allow code from the model repository (off by default)")


def open_from_args(args: argparse.Namespace) -> OpenedModel:
    """Resolve ``args.model`` and open it (raises InputError)."""
    from ..model import open_model, sources

    return open_model(sources.resolve(args.model, revision=args.revision, trust_remote_code=args.trust_remote_code))


def human_count(n: int) -> str:
    """``8_030_261_248 -> '8.03 B'``, ``124_439_808 -> '124.4 M'``."""
    for size, unit in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if n >= size:
            return f"{n / size:.3g} {unit}" if size >= 1e9 else f"{n / size:.1f} {unit}"
    return str(n)
