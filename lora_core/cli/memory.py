"""The ``plan`` subcommand's training-memory options and output (``--batch-size`` ... ``--trainer``).

Example: ``python -m lora_core plan meta-llama/Meta-Llama-3.1-8B --target q=8 --target v=8
--batch-size 4 --seq-len 4096 --base-dtype nf4 --trainer axolotl --json``. Bad values raise
``InputError`` (``error: --batch-size: must be a positive integer, got '0'``, exit 2); a
sequence longer than the model's positions is a warning on stderr.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..errors import InputError
from ..memory import BASE_DTYPES, GIB, TRAINERS, MemorySettings, estimate_for_plan, sequence_warnings
from ..memory.fits import GPU_SIZES_GB


def add_memory_arguments(p: argparse.ArgumentParser) -> None:
    """``--batch-size --seq-len --base-dtype --no-gradient-checkpointing --trainer``."""
    g = p.add_argument_group("training memory")
    g.add_argument("--batch-size", default="1", metavar="B", help="sequences per step (default 1)")
    g.add_argument("--seq-len", default="2048", metavar="S", help="tokens per sequence (default 2048)")
    g.add_argument("--base-dtype", default="bf16", metavar="|".join(BASE_DTYPES),
                   help="frozen weights: bf16, int8 or nf4 (QLoRA)")
    g.add_argument("--no-gradient-checkpointing", action="store_true", help="keep every activation")
    g.add_argument("--trainer", default="peft", metavar="|".join(TRAINERS),
                   help="training profile (default peft: PEFT with the transformers Trainer)")
    g.add_argument("--bitsandbytes", default=None, metavar="VERSION",
                   help="bitsandbytes version the run uses (as of; default: the profile's, 0.50.2): "
                        "before 0.44 its 4-bit matmul keeps its input")
    g.add_argument("--torchao", default=None, metavar="VERSION",
                   help="torchao version of a torchtune QLoRA run (default 0.5.0; 0.1 quantized whole tensors)")


def _positive_int(text: Any, field: str) -> int:
    try:
        value = int(str(text).strip())
    except ValueError:
        raise InputError(field, f"must be a positive integer, got {text!r}") from None
    if value <= 0:
        raise InputError(field, f"must be a positive integer, got {text!r}")
    return value


def memory_settings(args: argparse.Namespace) -> MemorySettings:
    """The settings the options describe (raises ``InputError`` naming the option)."""
    batch = _positive_int(args.batch_size, "--batch-size")
    seq = _positive_int(args.seq_len, "--seq-len")
    if args.base_dtype not in BASE_DTYPES:
        raise InputError("--base-dtype", f"must be one of {', '.join(BASE_DTYPES)}, got {args.base_dtype!r}")
    if args.trainer not in TRAINERS:
        raise InputError("--trainer", f"unknown trainer {args.trainer!r}; choose from {', '.join(TRAINERS)}")
    versions = {"bitsandbytes": getattr(args, "bitsandbytes", None), "torchao": getattr(args, "torchao", None)}
    try:
        return MemorySettings(args.base_dtype, batch, seq, not args.no_gradient_checkpointing, trainer=args.trainer,
                              **versions)
    except InputError as err:
        if err.field in versions:
            raise InputError(f"--{err.field}", err.message) from None
        raise


def warn(config, settings: MemorySettings) -> list[str]:
    """Print the settings' warnings (``warning: seq_len: ...``) on stderr; return them."""
    warnings = sequence_warnings(config, settings)
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    return warnings


def render_memory(skeleton, index, plan, settings: MemorySettings) -> str:
    """Summary lines: the peaks, the phase and the GPU sizes it fits with their headroom (``plan``: a
    :class:`~lora_core.planning.Plan` or, resolved once, a :class:`~lora_core.planning.ResolvedPlan`)."""
    est = estimate_for_plan(skeleton, index, plan, settings)
    fits = ", ".join(f"{gb} GB {'fits' if est.fits(gb) else 'too small'} ({est.headroom(gb) / GIB:+.1f} GiB)"
                     for gb in GPU_SIZES_GB)
    return (f"  {settings.trainer} profile, {settings.base_dtype} base, batch {settings.batch_size} x "
            f"{settings.seq_len} tokens: peak allocated {est.peak_allocated / GIB:.2f} GiB, reserved "
            f"{est.peak_reserved / GIB:.2f} GiB, nvidia-smi {est.nvidia_smi / GIB:.2f} GiB ({est.peak_phase})\n"
            f"  fits on: {fits}")
