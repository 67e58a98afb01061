"""Targets page rerun time with Llama-3.1-405B loaded, measured with AppTest after a toggle;
the Module tree page's with DeepSeek-V3 loaded (goal: median under 100 ms); and the Lesson page's
on Llama-3.1-405B after a step change, beside the Targets click (goal: within 10 % of it).

Run: ``PYTHONPATH=. .venv/bin/python bench/bench_rerun.py [--runs 30]``. Prints a table of the
median and p90 of a full AppTest rerun (script + AppTest's own overhead) after switching the K
toggle, of an unchanged rerun, and of a one-toggle script (AppTest's own floor, for scale),
beside the goal (median ≤ 50 ms).
"""

from __future__ import annotations

import argparse
import os
import statistics
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


def measure(runs: int) -> dict[str, list[float]]:
    """Rerun times (ms) of the Targets page: after a toggle, and with nothing changed."""
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["model"] = MODEL
    at.run()
    at.switch_page("pages/targets.py").run()
    for i in range(3):  # warm up: caches, imports, first figure builds
        at.toggle(key="tg_on_k").set_value(i % 2 == 0).run()
    assert not at.exception, at.exception
    toggle = [_time(lambda i=i: at.toggle(key="tg_on_k").set_value(i % 2 == 0).run()) for i in range(runs)]
    assert not at.exception and not at.error, (at.exception, at.error)
    plain = [_time(at.run) for _ in range(runs)]
    floor = AppTest.from_string("import streamlit as st\nst.toggle('x', key='x')")
    floor.run()
    empty = [_time(lambda i=i: floor.toggle(key="x").set_value(i % 2 == 0).run()) for i in range(runs)]
    return {"after a toggle": toggle, "unchanged rerun": plain, "AppTest floor": empty}


def measure_tree(runs: int) -> dict[str, list[float]]:
    """Rerun times (ms) of the Module tree page: after a layer change, and with nothing changed."""
    at = AppTest.from_file(APP, default_timeout=120)
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


def measure_lesson(runs: int) -> dict[str, list[float]]:
    """Rerun times (ms) of the Lesson page on the same model: moving to another step (each step
    seen once before, as a class going back and forth), and with nothing changed."""
    from lora_core.lesson.steps import load_steps

    ids = [s.id for s in load_steps()]
    at = AppTest.from_file(APP, default_timeout=120)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    results = measure(args.runs)
    tree = measure_tree(args.runs)
    lesson = measure_lesson(args.runs)
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"Targets page rerun, {MODEL} loaded, {args.runs} AppTest runs each "
          f"({os.cpu_count()} CPUs, load average {load}: other work on the machine inflates every row)")
    print(f"{'case':<18} {'median ms':>10} {'p90 ms':>8} {'goal ms':>8}  ok")
    for case, times in results.items():
        med = statistics.median(times)
        p90 = statistics.quantiles(times, n=10)[-1]
        print(f"{case:<18} {med:>10.1f} {p90:>8.1f} {GOAL_MS:>8.0f}  {'yes' if med <= GOAL_MS else 'no'}")
    print(f"Module tree page rerun, {TREE_MODEL} loaded, {args.runs} AppTest runs each")
    for case, times in tree.items():
        med = statistics.median(times)
        p90 = statistics.quantiles(times, n=10)[-1]
        print(f"{case:<18} {med:>10.1f} {p90:>8.1f} {TREE_GOAL_MS:>8.0f}  {'yes' if med <= TREE_GOAL_MS else 'no'}")
    click = statistics.median(results["after a toggle"])
    print(f"Lesson page rerun, {MODEL} loaded, {args.runs} AppTest runs each (goal: a Targets click, {click:.1f} ms)")
    for case, times in lesson.items():
        med = statistics.median(times)
        p90 = statistics.quantiles(times, n=10)[-1]
        print(f"{case:<18} {med:>10.1f} {p90:>8.1f} {click:>8.1f}  {'yes' if med <= click * 1.1 else 'no'}")


if __name__ == "__main__":
    main()
