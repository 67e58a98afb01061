"""Time to recompute the "GPUs, time and cost" answers after a toggle (goal: under 5 ms per click).

Part 1, the arithmetic: what a toggle of GPU kind, count, strategy, offload, dataset or price
recomputes: the per-GPU peaks, the smallest count per strategy (13 strategy x offload rows, each a
bisection), the throughput, hours and cost, from the plan's cached single-GPU estimate and the
model's cached sizes (both computed once per (model, plan), as the page caches them). Prints
median and p90 per model with the load average beside them.

Part 2, what the section adds to a Targets click (AppTest, Llama-3.1-405B, one user): a toggle
on a plan seen before and on a plan nobody has seen (the model's per-plan caches emptied), with
the section closed (the default: an expander whose content does not run) and open, and a change
of one of its inputs (open). ``--before DIR`` runs part 2 on the code in DIR too (e.g. a worktree
of main before the change, where the section is always drawn), alternately in fresh processes,
and prints both under the same load.

Run: ``PYTHONPATH=. .venv/bin/python bench/bench_cluster.py [--runs 50] [--clicks 30] [--before DIR]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

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


def arithmetic(runs: int) -> None:
    print(f"Part 1: the cluster report alone (load average {os.getloadavg()[0]:.2f}; goal: median under "
          f"{GOAL_MS} ms per toggle)")
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


APP = str(Path(__file__).resolve().parent.parent / "app.py")
CLICK_MODEL = "meta-llama/Meta-Llama-3.1-405B"
OPEN_KEY = "tg_cl_open"  # the section's expander (ui/targets/cluster.py); unknown to code before it


def _forget_plans() -> None:
    """Empty the per-plan caches of every loaded model (what depends on the model alone stays)."""
    import gc

    from ui.common.plan_views import PlanViews

    for views in [o for o in gc.get_objects() if type(o) is PlanViews]:
        for name, lru in vars(views).items():
            if hasattr(lru, "_items") and name != "_model":
                lru._items.clear()


def clicks(app: str, runs: int) -> dict[str, list[float]]:
    """Targets click times (ms) on 405B, with the section closed and open."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(app, default_timeout=180)
    at.query_params["model"] = CLICK_MODEL
    at.run()
    at.switch_page("pages/targets.py").run()
    out: dict[str, list[float]] = {}

    def timed(name: str, act) -> None:
        t = time.perf_counter()
        act().run()
        out.setdefault(name, []).append((time.perf_counter() - t) * 1000)
        assert not at.exception, at.exception

    for state in ("closed", "open"):
        at.session_state[OPEN_KEY] = state == "open"
        at.run()
        for i in range(4):  # warm: both plans of the K toggle, the section's figures
            at.toggle(key="tg_on_k").set_value(i % 2 == 0).run()
        for i in range(runs):
            timed(f"toggle, section {state}", lambda i=i: at.toggle(key="tg_on_k").set_value(i % 2 == 0))
            _forget_plans()
            timed(f"new plan, section {state}", lambda i=i: at.toggle(key="tg_on_k").set_value(i % 2 == 1))
    for i in range(runs):
        timed("a GPUs input, open", lambda i=i: at.number_input(key="tg_cl_gpus").set_value(8 if i % 2 else 16))
    return out


def _in_process(root: Path, runs: int) -> dict[str, list[float]]:
    env = dict(os.environ, PYTHONPATH=str(root))
    out = subprocess.run([sys.executable, __file__, "--clicks", str(runs), "--json", "--app", str(root / "app.py")],
                         cwd=root, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def compare(before: Path | None, runs: int) -> None:
    """Part 2 on this code (and on ``before``), alternately in fresh processes."""
    here = Path(__file__).resolve().parent.parent
    roots = {"after": here} if before is None else {"before": before.resolve(), "after": here}
    merged: dict[str, dict[str, list[float]]] = {k: {} for k in roots}
    for _ in range(3):
        for label, root in roots.items():
            for case, times in _in_process(root, runs // 3 or 1).items():
                merged[label].setdefault(case, []).extend(times)
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\nPart 2: Targets click on {CLICK_MODEL}, AppTest, one user, {3 * (runs // 3 or 1)} clicks per row"
          + ("" if before is None else f", before ({before}) and after ({here}) alternated")
          + f" ({os.cpu_count()} CPUs, load average {load})")
    print("median ms (and the fastest run, least disturbed by other work on the machine)")
    print(f"{'case':<26} " + " ".join(f"{label + ' ms':>16}" for label in roots))
    for case in merged["after"]:
        cells = []
        for label in roots:
            t = merged[label].get(case)
            cells.append(f"{statistics.median(t):>8.1f} ({min(t):>5.1f})" if t else f"{'—':>16}")
        print(f"{case:<26} " + " ".join(f"{c:>16}" for c in cells))
    after = merged["after"]
    for kind in ("toggle", "new plan"):
        closed, opened = (statistics.median(after[f"{kind}, section {s}"]) for s in ("closed", "open"))
        print(f"{kind}: the open section adds {opened - closed:.1f} ms to the click; closed (the default) it "
              "adds one expander" + ("" if before is None else
                                     f"; before, always drawn: {statistics.median(merged['before'][f'{kind}, section open']) - closed:+.1f} ms against closed now"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=50, help="part 1: reports per model")
    ap.add_argument("--clicks", type=int, default=30, help="part 2: clicks per row")
    ap.add_argument("--before", type=Path, default=None, help="part 2 also on this checkout of earlier code")
    ap.add_argument("--app", default=APP, help=argparse.SUPPRESS)
    ap.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.json:
        print(json.dumps(clicks(args.app, args.clicks)))
        return
    arithmetic(args.runs)
    compare(args.before, args.clicks)


if __name__ == "__main__":
    main()
