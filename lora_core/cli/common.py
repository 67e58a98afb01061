"""What every CLI subcommand shares: the MODEL arguments and opening a model from them."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported when a model is opened: torch, transformers and PEFT are heavy
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
    add_task_arguments(parser)


def add_task_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--task-type`` and ``--num-labels``: the task the LoRA is trained for."""
    # No argparse choices: PEFT's task types are read from PEFT when a model is opened (an
    # unknown one is refused there, naming task_type and the choices), so registering the
    # command imports no heavy library.
    parser.add_argument("--task-type", default=None, metavar="TASK_TYPE",
                        help="the task the LoRA trains for (PEFT's task_type, e.g. CAUSAL_LM, SEQ_CLS): builds "
                             "that model class with its head, which PEFT trains in full (default: the class "
                             "the config names)")
    parser.add_argument("--num-labels", type=int, default=None,
                        help="classes of a classification head (SEQ_CLS, TOKEN_CLS; default: the config's)")


def open_from_args(args: argparse.Namespace) -> OpenedModel:
    """Resolve ``args.model`` and open it for ``--task-type``/``--num-labels`` (raises InputError)."""
    from ..model import open_model, sources
    from ..model.skeleton import build_skeleton

    src = sources.resolve(args.model, revision=args.revision, trust_remote_code=args.trust_remote_code)
    task, labels = getattr(args, "task_type", None), getattr(args, "num_labels", None)
    if task is None and labels is not None:  # labels for the class the config names (a classifier)
        task = build_skeleton(src.config, trust_remote_code=src.trust_remote_code).task_type
    return open_model(src, task, labels)
