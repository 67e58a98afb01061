"""Serving verdicts: cost per rerun and per edit, and the closed-form tensor list vs PEFT's state dict.

Run: ``PYTHONPATH=. .venv/bin/python bench/bench_serving.py [--runs 30]``. For each model (all-linear
r16; experts too on MoE) prints, in ms (median): a memoised badge lookup (what a rerun with an
unchanged plan costs on the Targets page), one judgement of all four engines from the plan (what a
toggle costs), the tensor names and shapes in closed form, and PEFT's ``get_peft_model`` +
``get_peft_model_state_dict`` on a fresh meta skeleton (skeleton build excluded), with the ratio.
Goal: the rerun lookup well under 1 ms.
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import time
import warnings

from peft import get_peft_model, get_peft_model_state_dict

from lora_core.model import open_model, skeleton, sources
from lora_core.planning.export import config_dict, to_lora_config
from lora_core.planning import Plan, PlanIndex, Target
from lora_core.serving import describe, judge_all, peft_tensors
from lora_core.serving.units import model_units

MODELS = {"meta-llama/Meta-Llama-3.1-8B": Plan((Target("all-linear", 16),)),
          "meta-llama/Meta-Llama-3.1-405B": Plan((Target("all-linear", 16),)),
          "Qwen/Qwen3-30B-A3B": Plan((Target("all-linear", 16), Target("experts", 16))),
          "llava-hf/llava-1.5-7b-hf": Plan((Target("all-linear", 16),), scope="all")}


def _ms(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def row(model_id: str, plan: Plan, runs: int) -> tuple:
    opened = open_model(sources.from_preset(model_id))
    src, skel, inv = opened.source, opened.skeleton, opened.inventory
    index = PlanIndex(inv)
    templates = model_units(index)
    memo = {}

    def badge() -> None:
        key = (model_id, plan)
        if key not in memo:
            memo[key] = judge_all(describe(plan, index, src.config, None, templates))
        return memo[key]

    badge()
    lookup = _ms(badge, runs * 100)
    judge = _ms(lambda: judge_all(describe(plan, index, src.config, None, templates)), runs)
    cfg = to_lora_config(plan, inv, skel)
    adapter = describe(plan, index, src.config, config_dict(cfg), templates)
    closed = _ms(lambda: peft_tensors(adapter), runs)
    peft = []
    for _ in range(3):
        fresh = skeleton.build_skeleton(src.config).model
        c = copy.deepcopy(cfg)
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            names = get_peft_model_state_dict(get_peft_model(fresh, c, low_cpu_mem_usage=True))
        peft.append((time.perf_counter() - t) * 1000)
    same = {k: tuple(v.shape) for k, v in names.items()} == peft_tensors(adapter)
    p = statistics.median(peft)
    return model_id, len(adapter.units), lookup, judge, closed, p, p / closed, same


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} "
          f"on {os.cpu_count()} cores")
    print(f"{'model':<32} {'units':>6} {'rerun lookup':>13} {'judge 4 engines':>16} {'tensors (ours)':>15} "
          f"{'PEFT state dict':>16} {'ratio':>7} same")
    for model_id, plan in MODELS.items():
        m, n, lookup, judge, closed, p, ratio, same = row(model_id, plan, args.runs)
        print(f"{m:<32} {n:>6} {lookup:>10.4f} ms {judge:>13.2f} ms {closed:>12.2f} ms {p:>13.0f} ms "
              f"{ratio:>6.0f}x {same}")


if __name__ == "__main__":
    main()
