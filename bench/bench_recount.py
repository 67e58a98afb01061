"""Recount after an edit vs PEFT's own wrap + count, on Llama-3.1-405B all-linear r16.

Run: ``PYTHONPATH=. .venv/bin/python bench/bench_recount.py [--runs 300] [--peft-runs 3]``.
Prints the median recount time with a warm :class:`PlanIndex` (what the app does on every rank
change or toggle), PEFT's ``get_peft_model`` + ``get_nb_trainable_parameters`` on a fresh meta
skeleton with and without ``low_cpu_mem_usage`` (skeleton build excluded), and the ratios.
Goals: recount median <= 1 ms, >= 1000x faster than the faster PEFT path.
"""

from __future__ import annotations

import argparse
import copy
import gc
import statistics
import time
import warnings

from peft import get_peft_model

from lora_core.model import open_model, skeleton, sources
from lora_core.planning.export import to_lora_config
from lora_core.planning import Plan, PlanIndex, Target, count

MODEL = "meta-llama/Meta-Llama-3.1-405B"
PLAN = Plan((Target("all-linear", 16),))
GOAL_MS, GOAL_RATIO = 1.0, 1000.0


def _ms(fn) -> float:
    t = time.perf_counter()
    fn()
    return (time.perf_counter() - t) * 1000


def recount_times(index: PlanIndex, runs: int) -> dict[str, list[float]]:
    """Recount times (ms) after a rank change and after toggling a target on and off."""
    count(PLAN, index)
    ranks = [PLAN.with_target("all-linear", 16 + (i % 2) * 16) for i in range(runs)]
    toggles = [PLAN.with_target("embedding", 8) if i % 2 else PLAN for i in range(runs)]
    for p in toggles[:2]:
        count(p, index)  # first use of a key computes its row mask once; later edits reuse it
    return {"rank change": [_ms(lambda p=p: count(p, index)) for p in ranks],
            "toggle a target": [_ms(lambda p=p: count(p, index)) for p in toggles]}


def peft_times(config, runs: int, low_cpu_mem_usage: bool) -> tuple[list[float], int]:
    """PEFT wrap + count times (ms) on fresh skeletons, and PEFT's trainable count."""
    out, trainable = [], 0
    for _ in range(runs):
        model = skeleton.build_skeleton(sources.from_preset(MODEL).config).model
        cfg = copy.deepcopy(config)

        def wrap_and_count() -> None:
            nonlocal trainable
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                peft_model = get_peft_model(model, cfg, low_cpu_mem_usage=low_cpu_mem_usage)
            trainable = peft_model.get_nb_trainable_parameters()[0]

        out.append(_ms(wrap_and_count))
        del model
        gc.collect()
    return out, trainable


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("--peft-runs", type=int, default=3)
    args = ap.parse_args()
    t0 = time.perf_counter()
    opened = open_model(sources.from_preset(MODEL))
    skel, inv = opened.skeleton, opened.inventory
    t1 = time.perf_counter()
    index = PlanIndex(inv)
    t2 = time.perf_counter()
    config = to_lora_config(PLAN, inv, skel)
    ours = recount_times(index, args.runs)
    fast, n_fast = peft_times(config, args.peft_runs, True)
    slow, n_slow = peft_times(config, max(1, args.peft_runs - 2), False)
    ours_n = count(PLAN, index).trainable
    rows = [(k, statistics.median(v)) for k, v in ours.items()]
    rows += [("PEFT wrap+count, low_cpu_mem_usage=True", statistics.median(fast)),
             ("PEFT wrap+count, low_cpu_mem_usage=False", statistics.median(slow))]
    print(f"{MODEL}, all-linear r16: {len(inv):,} inventory rows, skeleton+inventory "
          f"{(t1 - t0) * 1000:.0f} ms, PlanIndex {(t2 - t1) * 1000:.1f} ms")
    print(f"trainable: plan {ours_n:,} | PEFT {n_fast:,} (low_cpu_mem_usage) / {n_slow:,} "
          f"-> {'equal' if ours_n == n_fast == n_slow else 'DIFFERENT'}")
    print(f"\n{'measure':<44}{'median ms':>12}{'vs PEFT fast':>14}{'vs PEFT slow':>14}")
    for name, ms in rows:
        print(f"{name:<44}{ms:>12.4f}{rows[-2][1] / ms:>13.0f}x{rows[-1][1] / ms:>13.0f}x")
    worst = max(statistics.median(v) for v in ours.values())
    print(f"\ngoal recount <= {GOAL_MS} ms: {'met' if worst <= GOAL_MS else 'NOT met'} ({worst:.4f} ms); "
          f"goal >= {GOAL_RATIO:.0f}x vs the faster PEFT path: "
          f"{'met' if rows[-2][1] / worst >= GOAL_RATIO else 'NOT met'} ({rows[-2][1] / worst:,.0f}x)")


if __name__ == "__main__":
    main()
