"""The ``plan`` subcommand's cluster options: GPUs, strategy, offload, dataset, epochs, price.

Example: ``python -m lora_core plan meta-llama/Meta-Llama-3.1-70B --target all-linear=16 --gpus 8
--gpu h100-80gb --strategy zero3 --dataset-tokens 50M --epochs 3 --price 2.50 --json`` adds
``per_gpu`` (the three peaks), ``cpu_ram``, ``min_gpus`` (per strategy and offload), ``best_fit``,
``tokens_per_s``, ``hours`` and ``cost`` (``[slow, fast]`` ranges). Bad values exit 2 with
``error: --gpus: must be a positive integer, got '0'``.
"""

from __future__ import annotations

import argparse
import re
from typing import Any

from ..compute.gpus import GPU_NAMES, get_gpu
from ..compute.report import ClusterReport, ClusterSettings, cluster_report
from ..errors import InputError
from ..memory import GIB, MemorySettings, estimate_for_plan
from ..memory.parallel import OFFLOADS, STRATEGY_NAMES, model_sizes
from ..planning import PlanIndex, ResolvedPlan

_SUFFIX = {"": 1, "K": 1e3, "M": 1e6, "B": 1e9, "G": 1e9, "T": 1e12}


def add_cluster_arguments(p: argparse.ArgumentParser) -> None:
    """``--gpus --gpu --strategy --offload --dataset-tokens --epochs --price``."""
    g = p.add_argument_group("GPUs, time and cost")
    g.add_argument("--gpus", default=None, metavar="N", help="GPU count (default 1; with --strategy, 2 unless given)")
    g.add_argument("--gpu", default="h100-80gb", metavar="KIND", help=f"one of {', '.join(GPU_NAMES)}")
    g.add_argument("--strategy", default=None, metavar="|".join(STRATEGY_NAMES),
                   help="single, ddp, zero1, zero2, zero3, fsdp, fsdp-sgo (shard-grad-op) or fsdp-qlora")
    g.add_argument("--offload", default="none", metavar="|".join(OFFLOADS), help="CPU offload (ZeRO / FSDP)")
    g.add_argument("--dataset-tokens", default="50M", metavar="T", help="tokens per epoch, e.g. 50M (default)")
    g.add_argument("--epochs", default="3", metavar="E", help="passes over the dataset (default 3)")
    g.add_argument("--price", default=None, metavar="USD", help="per GPU-hour (default: the GPU's sourced price)")


def _number(text: Any, field: str, allow_zero: bool = False) -> float:
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:e[+-]?\d+)?)\s*([KMBGT]?)\s*", str(text), re.IGNORECASE)
    if not m:
        raise InputError(field, f"must be a number (e.g. 50M, 2.5), got {text!r}")
    value = float(m[1]) * _SUFFIX[m[2].upper()]
    if value < 0 or (value == 0 and not allow_zero):
        raise InputError(field, f"must be a positive number, got {text!r}")
    return value


def cluster_settings(args: argparse.Namespace) -> ClusterSettings:
    """The settings the options describe (raises ``InputError`` naming the option)."""
    strategy = args.strategy or "single"
    gpus_text = args.gpus if args.gpus is not None else ("1" if strategy == "single" else "2")
    try:
        gpus = int(str(gpus_text).strip())
    except ValueError:
        raise InputError("--gpus", f"must be a positive integer, got {gpus_text!r}") from None
    if gpus < 1:
        raise InputError("--gpus", f"must be a positive integer, got {gpus_text!r}")
    if args.strategy is None and gpus > 1:
        strategy = "ddp"
    try:
        get_gpu(args.gpu)
    except InputError as e:
        raise InputError("--gpu", e.message) from None
    price = None if args.price is None else _number(args.price, "--price", allow_zero=True)
    return ClusterSettings(gpus, args.gpu, strategy, args.offload, _number(args.dataset_tokens, "--dataset-tokens"),
                           _number(args.epochs, "--epochs"), price)


def report_for(skeleton, index: PlanIndex, resolved: ResolvedPlan, settings: MemorySettings,
               cluster: ClusterSettings) -> ClusterReport:
    """The cluster report for the plan (``InputError`` fields renamed to the CLI's options)."""
    est = estimate_for_plan(skeleton, index, resolved, settings)
    sizes = model_sizes(index.inventory, skeleton.config)
    trainable = resolved.count.trainable - resolved.dora_params
    try:
        return cluster_report(est, sizes, skeleton.config, trainable, settings.trainer, settings.base_dtype,
                              settings.batch_size, settings.seq_len, settings.gradient_checkpointing, cluster)
    except InputError as e:
        raise InputError(f"--{e.field}", e.message) from None


def render_cluster(report: ClusterReport) -> str:
    """Summary lines: per-GPU peaks, host RAM, the smallest count per strategy, time and cost."""
    s, p, r = report.settings, report.per_gpu, report.run
    gpu = get_gpu(s.gpu)
    lines = [f"  {s.gpus} x {gpu.label}, {s.strategy}, offload {s.offload}: per GPU allocated "
             f"{p.peak_allocated / GIB:.1f} GiB, reserved {p.peak_reserved / GIB:.1f} GiB, nvidia-smi "
             f"{p.nvidia_smi / GIB:.1f} GiB of {gpu.memory_gib:g} ({'fits' if report.fits else 'does not fit'}); "
             f"host RAM for offload {p.cpu_ram / GIB:.1f} GiB",
             f"  time: {r.tokens_per_s[0]:,.0f}-{r.tokens_per_s[1]:,.0f} tokens/s, {r.hours[1]:.1f}-{r.hours[0]:.1f} h "
             f"for {s.epochs:g} x {s.dataset_tokens:,.0f} tokens"
             + (f"; cost ${r.cost[1]:,.0f}-{r.cost[0]:,.0f} at ${report.price:.2f}/GPU-h" if r.cost else
                "; cost: give --price (no sourced default for this GPU)")]
    best = report.best
    lines.append("  smallest count that fits: " + (
        f"{best['min_gpus']} x {gpu.label} with {best['label']}" + ("" if best["offload"] == "none"
                                                                   else f" (offload {best['offload']})")
        if best else "none up to 1024 GPUs"))
    for row in report.min_gpus.itertuples():
        n = "-" if row.min_gpus != row.min_gpus else int(row.min_gpus)
        lines.append(f"    {row.label:<20} offload {row.offload:<17} {n}")
    if report.ds_gap:
        lines.append("  " + report.ds_gap.sentence())
    return "\n".join(lines)
