"""Targets page rerun time with Llama-3.1-405B loaded, measured with AppTest after a toggle;
the Module tree page's with DeepSeek-V3 loaded (goal: median under 100 ms); and the Lesson page's
on Llama-3.1-405B after a step change, beside the Targets click (goal: within 10 % of it).

Run: ``PYTHONPATH=. .venv/bin/python bench/bench_rerun.py [--runs 30] [--before DIR]``. Prints a
table of the median and p90 of a full AppTest rerun (script + AppTest's own overhead) after
switching the K toggle, of an unchanged rerun, and of a one-toggle script (AppTest's own floor,
for scale), beside the goal (median ≤ 50 ms).

``--before DIR`` (a checkout of earlier code, e.g. ``git worktree add /tmp/before b1d032c``) runs
the same measurements on that code and on this one, alternately in fresh processes, and prints
them side by side: "before" and "after" under the same load.
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

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")
MODEL = "meta-llama/Meta-Llama-3.1-405B"
GOAL_MS = 50.0
TREE_MODEL, TREE_GOAL_MS = "deepseek-ai/DeepSeek-V3", 100.0


def _time(run) -> float:
    t = time.perf_counter()
    run()
    return (time.perf_counter() - t) * 1000


def _forget_plans(at: AppTest) -> None:
    """Give the loaded model empty plan views (as on a plan nobody has clicked yet); works on the
    code before and after ``ui/`` was grouped by page."""
    try:
        from ui.common.loaded_model import load
        from ui.common.plan_views import PlanViews
    except ImportError:
        from ui.models import load
        from ui.plan_views import PlanViews
    object.__setattr__(load(at.session_state["model_ref"]), "views", PlanViews())


def measure(runs: int, app: str = APP) -> dict[str, list[float]]:
    """Rerun times (ms) of the Targets page: after a toggle, and with nothing changed."""
    at = AppTest.from_file(app, default_timeout=120)
    at.query_params["model"] = MODEL
    at.run()
    at.switch_page("pages/targets.py").run()
    for i in range(3):  # warm up: caches, imports, first figure builds
        at.toggle(key="tg_on_k").set_value(i % 2 == 0).run()
    assert not at.exception, at.exception
    toggle = [_time(lambda i=i: at.toggle(key="tg_on_k").set_value(i % 2 == 0).run()) for i in range(runs)]
    assert not at.exception and not at.error, (at.exception, at.error)
    fresh = []
    for i in range(runs):  # the same toggle on a plan the server has not seen: every view computed again
        _forget_plans(at)
        fresh.append(_time(lambda i=i: at.toggle(key="tg_on_k").set_value(i % 2 == 0).run()))
    assert not at.exception and not at.error, (at.exception, at.error)
    plain = [_time(at.run) for _ in range(runs)]
    floor = AppTest.from_string("import streamlit as st\nst.toggle('x', key='x')")
    floor.run()
    empty = [_time(lambda i=i: floor.toggle(key="x").set_value(i % 2 == 0).run()) for i in range(runs)]
    return {"after a toggle": toggle, "toggle, new plan": fresh, "unchanged rerun": plain, "AppTest floor": empty}


def measure_tree(runs: int, app: str = APP) -> dict[str, list[float]]:
    """Rerun times (ms) of the Module tree page: after a layer change, and with nothing changed."""
    at = AppTest.from_file(app, default_timeout=120)
    at.query_params["model"] = TREE_MODEL
    at.run()
    at.switch_page("pages/tree.py").run()
    key = "tree_layer_decoder"
    for i in range(3):
        at.number_input(key=key).set_value(3 + i % 2).run()
    assert not at.exception and not at.error, (at.exception, at.error)
    layer = [_time(lambda i=i: at.number_input(key=key).set_value(3 + i % 2).run()) for i in range(runs)]
    plain = [_time(at.run) for _ in range(runs)]
    assert not at.exception and not at.error, (at.exception, at.error)
    return {"tree: new layer": layer, "tree: unchanged": plain}


def measure_lesson(runs: int, app: str = APP) -> dict[str, list[float]]:
    """Rerun times (ms) of the Lesson page on the Targets page's model: moving to another step
    (every step seen once before, as a class going back and forth), and with nothing changed."""
    from lora_core.lesson.steps import load_steps

    ids = [s.id for s in load_steps()]
    at = AppTest.from_file(app, default_timeout=120)
    at.query_params["model"] = MODEL
    at.run()
    at.switch_page("pages/lesson.py").run()
    for sid in ids:  # warm up: every step's plan, view and figures once
        at.selectbox(key="ls_step").select(sid).run()
    assert not at.exception and not at.error, (at.exception, at.error)
    step = [_time(lambda i=i: at.selectbox(key="ls_step").select(ids[i % len(ids)]).run()) for i in range(runs)]
    assert not at.exception and not at.error, (at.exception, at.error)
    plain = [_time(at.run) for _ in range(runs)]
    return {"lesson: new step": step, "lesson: unchanged": plain}


def _row(case: str, times: list[float], goal: float) -> str:
    med, p90 = statistics.median(times), statistics.quantiles(times, n=10)[-1]
    return f"{case:<18} {med:>10.1f} {p90:>8.1f} {goal:>8.0f}  {'yes' if med <= goal else 'no'}"


def _in_process(root: Path, runs: int) -> dict[str, list[float]]:
    """Every measurement on the code at ``root``, in a fresh process (its imports, its caches)."""
    env = dict(os.environ, PYTHONPATH=str(root))
    out = subprocess.run([sys.executable, __file__, "--runs", str(runs), "--json", "--app", str(root / "app.py")],
                         cwd=root, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def compare(before: Path, runs: int) -> None:
    """Before and after, alternately (before, after, before, after), each in a fresh process."""
    here = Path(__file__).resolve().parent.parent
    merged: dict[str, dict[str, list[float]]] = {"before": {}, "after": {}}
    for _ in range(3):
        for label, root in (("before", before), ("after", here)):
            for case, times in _in_process(root.resolve(), runs // 3 or 1).items():
                merged[label].setdefault(case, []).extend(times)
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"Rerun times, before ({before}) and after ({here}), {MODEL} on Targets and {TREE_MODEL} on the tree, "
          f"{3 * (runs // 3 or 1)} AppTest runs each, alternated ({os.cpu_count()} CPUs, load average {load})")
    print("median and fastest run (the fastest is the least disturbed by other work on the machine)")
    print(f"{'case':<18} {'before ms':>10} {'after ms':>9} {'ratio':>6}   {'before min':>10} {'after min':>9} {'ratio':>6}")
    for case, times in merged["after"].items():
        b, a = statistics.median(merged["before"][case]), statistics.median(times)
        bm, am = min(merged["before"][case]), min(times)
        print(f"{case:<18} {b:>10.1f} {a:>9.1f} {a / b:>6.2f}   {bm:>10.1f} {am:>9.1f} {am / bm:>6.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--before", type=Path, default=None, help="a checkout of earlier code to compare with")
    parser.add_argument("--app", default=APP, help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.before:
        compare(args.before, args.runs)
        return
    results = measure(args.runs, args.app)
    tree = measure_tree(args.runs, args.app)
    if args.json:
        print(json.dumps(results | tree))
        return
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"Targets page rerun, {MODEL} loaded, {args.runs} AppTest runs each "
          f"({os.cpu_count()} CPUs, load average {load}: other work on the machine inflates every row)")
    print(f"{'case':<18} {'median ms':>10} {'p90 ms':>8} {'goal ms':>8}  ok")
    for case, times in results.items():
        print(_row(case, times, GOAL_MS))
    print(f"Module tree page rerun, {TREE_MODEL} loaded, {args.runs} AppTest runs each")
    for case, times in tree.items():
        print(_row(case, times, TREE_GOAL_MS))
    lesson, click = measure_lesson(args.runs, args.app), statistics.median(results["after a toggle"])
    print(f"Lesson page rerun, {MODEL} loaded, {args.runs} AppTest runs each (goal: the Targets click's "
          f"median {click:.1f} ms, within 10 %)")
    for case, times in lesson.items():
        print(_row(case, times, click * 1.1))


if __name__ == "__main__":
    main()
