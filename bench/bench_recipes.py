"""Writing every tool's recipe (with its statement) for one plan, vs PEFT's own wrap + count of it.

Run: ``PYTHONPATH=. .venv/bin/python bench/bench_recipes.py [--runs 3]``. For the largest presets
and a few plans, prints the median time of ``lora_core.recipes.write_all`` (five tools: candidate
forms, projection, PEFT-rule counting of each) beside ``get_peft_model(low_cpu_mem_usage=True)`` +
``get_nb_trainable_parameters`` on a fresh meta skeleton (skeleton build excluded), and the ratio
(median / PEFT). The first run includes building the plan's row masks once.
The Export page does ``write_all`` once per (model, plan) and caches it. Goal: under 1 s per plan.
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import time
import warnings

from peft import get_peft_model

from lora_core.model import open_model, skeleton, sources
from lora_core.planning.export import to_lora_config
from lora_core.planning import Plan, Target
from lora_core.recipes import write_all

MODELS = ("meta-llama/Meta-Llama-3.1-405B", "deepseek-ai/DeepSeek-V3", "Qwen/Qwen3-30B-A3B")
PLANS = {"q,v r8": Plan((Target("q", 8), Target("v", 8))),
         "attn r16 + ffn r4, layers 0-3": Plan((Target("attention", 16), Target("ffn", 4)), layers=(0, 1, 2, 3)),
         "all-linear r16": Plan((Target("all-linear", 16),))}
GOAL_S = 1.0


def _seconds(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def peft_seconds(model_id: str, plan: Plan, inv) -> float:
    config = to_lora_config(plan, inv, skeleton.build_skeleton(sources.from_preset(model_id).config))
    model = skeleton.build_skeleton(sources.from_preset(model_id).config).model

    def wrap() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            get_peft_model(model, copy.deepcopy(config), low_cpu_mem_usage=True).get_nb_trainable_parameters()
    return _seconds(wrap)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'model':<32} {'plan':<30} {'first s':>7} {'median s':>8} {'PEFT s':>7} {'ratio':>6} {'exact':>6}  goal <{GOAL_S:g} s")
    for model_id in MODELS:
        opened = open_model(sources.from_preset(model_id))
        skel, inv = opened.skeleton, opened.inventory
        for name, plan in PLANS.items():
            found = {}
            times = [_seconds(lambda: found.update(write_all(plan, inv, skel, model_id))) for _ in range(args.runs)]
            ours, peft_s = statistics.median(times), peft_seconds(model_id, plan, inv)
            exact = sum(r.statement.exact for r in found.values())
            print(f"{model_id:<32} {name:<30} {times[0]:>7.2f} {ours:>8.2f} {peft_s:>7.2f} {ours / peft_s:>6.2f} {exact:>4}/5"
                  f"  {'ok' if ours < GOAL_S else 'MISSED'}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
