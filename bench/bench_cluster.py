"""Time to recompute the "GPUs, time and cost" answers after a toggle (goal: under 5 ms per click).

What a toggle of GPU kind, count, strategy, offload, dataset or price recomputes: the per-GPU peaks,
the smallest count per strategy (13 strategy x offload rows, each a bisection), the throughput,
hours and cost, from the plan's cached single-GPU estimate and the model's cached sizes (both
computed once per (model, plan), as the page caches them). Prints median and p90 per model with
the load average beside them.

Run: ``PYTHONPATH=. .venv/bin/python bench/bench_cluster.py [--runs 50]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from lora_core.model import open_model
from lora_core.model.sources import resolve as resolve_source
from lora_core.compute.report import ClusterSettings, cluster_report
from lora_core.memory import MemorySettings, estimate_for_plan
from lora_core.memory.parallel import model_sizes
from lora_core.planning import Plan, PlanIndex, Target, count

GOAL_MS = 5.0
MODELS = ("meta-llama/Meta-Llama-3.1-8B", "meta-llama/Meta-Llama-3.1-405B", "deepseek-ai/DeepSeek-V3")
TOGGLES = (ClusterSettings(gpus=8, strategy="zero3"), ClusterSettings(gpus=8, strategy="fsdp", gpu="a100-80gb"),
           ClusterSettings(gpus=16, strategy="zero3", offload="optimizer", price=2.5),
           ClusterSettings(gpus=4, strategy="ddp", gpu="h200"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=50)
    runs = ap.parse_args().runs
    print(f"load average {os.getloadavg()[0]:.2f}  goal: median under {GOAL_MS} ms per toggle")
    print(f"{'model':<34} {'median ms':>10} {'p90 ms':>8}  {'once per (model, plan) ms':>26}")
    for model in MODELS:
        o = open_model(resolve_source(model))
        index, plan, settings = PlanIndex(o.inventory), Plan((Target("all-linear", 16),)), MemorySettings()
        t0 = time.perf_counter()
        est = estimate_for_plan(o.skeleton, index, plan, settings)
        sizes = model_sizes(o.inventory, o.skeleton.config)
        trainable = count(plan, index).trainable
        once = (time.perf_counter() - t0) * 1000
        times = []
        for i in range(runs):
            c = TOGGLES[i % len(TOGGLES)]
            t = time.perf_counter()
            cluster_report(est, sizes, o.skeleton.config, trainable, "peft", "bf16", 1, 2048, True, c)
            times.append((time.perf_counter() - t) * 1000)
        times.sort()
        print(f"{model:<34} {statistics.median(times):>10.2f} {times[int(0.9 * len(times))]:>8.2f}  {once:>26.1f}")


if __name__ == "__main__":
    main()
