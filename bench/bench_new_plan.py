"""A Targets click on a plan nobody has seen, on Llama-3.1-405B and DeepSeek-V3: where the time goes.

Run: ``PYTHONPATH=. .venv/bin/python bench/bench_new_plan.py [--runs 15] [--server 40]``.

Part 1, the click as AppTest runs it (script time plus AppTest's own overhead, one user): the
Targets page is open; each click flips a toggle. "cached" flips the first toggle back and forth (two plans, both
in the model's views after the first clicks: today's classroom); "new plan" empties the model's
per-plan caches (views, resolved plans, memory estimates, verdicts; what depends on the model
alone stays, as it does for a plan nobody has seen) before each click, so the click computes
everything such a plan needs. Goal: new plan on 405B <= 60 ms.

``--app DIR/app.py`` with ``PYTHONPATH=DIR`` runs the same measurements on the code in DIR (e.g. a
worktree of an earlier commit), for a before/after under the same load.

Part 2, the same new-plan work piece by piece, outside Streamlit (median ms over the plans of
one to three of the model's toggles): resolving and counting, the page's view (toggle states,
notes, three figures), the memory estimate and its chart, the four serving verdicts.
Part 3, the same on the real server, under both launchers (``python -m ui.serve run app.py``, what
``make run`` starts, and a plain ``streamlit run app.py``): one websocket user on 405B flips a
random toggle (a random walk over the toggles' 512 states, so nearly every click is a plan the
server has not seen); prints the click's latency as the client sees it and the server process's
CPU time per click (script thread and event loop; ``psutil``, 10 ms ticks, so the mean says more
than the median), and the elements and bytes a click sends.
The machine's load average is printed beside each table: it is shared, so figures move with it.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")
MODELS = ("meta-llama/Meta-Llama-3.1-405B", "deepseek-ai/DeepSeek-V3")
GOAL_MS = 60.0


def _clear() -> None:
    """Empty the per-plan caches of every loaded model (the next click meets a plan nobody saw);
    what is kept per model alone (``_model``) stays."""
    import gc

    from ui.common.plan_views import PlanViews

    for views in [o for o in gc.get_objects() if type(o) is PlanViews]:
        for name, lru in vars(views).items():
            if hasattr(lru, "_items") and name != "_model":
                lru._items.clear()


def clicks(model_id: str, runs: int, app: str = APP) -> dict[str, list[float]]:
    at = AppTest.from_file(app, default_timeout=180)
    at.query_params["model"] = model_id
    at.run()
    at.switch_page("pages/targets.py").run()
    keys = [w.key for w in at.toggle if w.key and w.key.startswith("tg_on_")]
    first = keys[0]
    for _ in range(3):
        at.toggle(key=first).set_value(not at.toggle(key=first).value).run()

    def click(key: str, fresh: bool) -> float:
        if fresh:
            _clear()
        value = not at.toggle(key=key).value
        t = time.perf_counter()
        at.toggle(key=key).set_value(value).run()
        assert not at.exception, at.exception
        return (time.perf_counter() - t) * 1000

    out = {"cached (one toggle on/off)": [], "new plan (any toggle)": []}
    for i in range(runs):  # alternate, so both see the same load
        out["cached (one toggle on/off)"].append(click(first, False))
        out["new plan (any toggle)"].append(click(keys[i % len(keys)], True))
    return out


def pieces(model_id: str, plans: int) -> dict[str, list[float]]:
    from lora_core import charts
    from lora_core.memory import GPU_SIZES_GB, MemorySettings, estimate_for_plan
    from lora_core.planning import Plan, Target, resolve
    from lora_core.serving import adapter_of, judge_all
    from ui.common.loaded_model import ModelRef, load
    from ui.common.plan_views import build_view

    m = load(ModelRef("preset", model_id))
    keys = [t.key for t in m.toggles]
    try:  # the name facts the rules read, once per model (as the app keeps them)
        from lora_core.serving.units import model_units
        units = model_units(m.index)
    except ImportError:  # code before lora_core/serving/units.py: the layer table the app cached
        from lora_core.serving.adapter import layer_units
        units = layer_units(m.inventory)
    todo = [Plan(tuple(Target(k, 8) for k in c)) for r in (1, 2, 3) for c in itertools.combinations(keys, r)]
    out: dict[str, list[float]] = {}

    def timed(name: str, fn):
        t = time.perf_counter()
        value = fn()
        out.setdefault(name, []).append((time.perf_counter() - t) * 1000)
        return value

    for plan in todo[:plans]:
        t0 = time.perf_counter()
        rp = timed("resolve + count", lambda: (lambda r: (r.count, r.rows, r))(resolve(plan, m.index))[2])
        timed("view: states, notes, 3 figures", lambda: build_view(rp, list(m.toggles), m.facts))
        timed("memory estimate + chart", lambda: charts.memory_bar(
            estimate_for_plan(m.skeleton, m.index, rp, MemorySettings()).as_frame(), GPU_SIZES_GB))
        timed("4 serving verdicts", lambda: judge_all(adapter_of(rp, m.skeleton.config, None, units)))
        out.setdefault("total", []).append((time.perf_counter() - t0) * 1000)
    return out


async def _server_clicks(port: int, pid: int, n: int) -> dict[str, list[float]]:
    import asyncio
    import random

    import psutil

    from tests.st_client import WsSession

    proc = psutil.Process(pid)
    out: dict[str, list[float]] = {"latency ms": [], "server CPU ms": [], "event-loop CPU ms": [], "elements": [],
                                   "KiB sent": []}

    def cpu() -> tuple[float, float]:
        t = proc.cpu_times()
        main = next(th for th in proc.threads() if th.id == pid)
        return t.user + t.system, main.user_time + main.system_time

    async with WsSession(port) as s:
        await s.rerun(f"model={MODELS[0]}")
        await s.rerun(s.query_string, page="targets")
        keys = sorted(k for k in s.widgets if k.startswith("tg_on_"))
        rng, on = random.Random(5), {"tg_on_q", "tg_on_v"}
        for i in range(n + 6):
            key = rng.choice(keys)
            (c0, m0) = cpu()
            run = await s.click(key, key not in on)
            on ^= {key}
            await asyncio.sleep(0.05)  # the event loop's last sends
            (c1, m1) = cpu()
            if i >= 6:  # after a few clicks of warm-up
                for name, v in (("latency ms", run.seconds * 1000), ("server CPU ms", (c1 - c0) * 1000),
                                ("event-loop CPU ms", (m1 - m0) * 1000), ("elements", run.elements),
                                ("KiB sent", run.nbytes / 1024)):
                    out[name].append(v)
    return out


def server(n: int) -> None:
    import asyncio

    from tests.browser_support import SERVE, running_server

    for launcher, cmd in (("ui.serve", SERVE), ("streamlit run", ("-m", "streamlit"))):
        with running_server(launcher=cmd) as srv:
            rows = asyncio.run(_server_clicks(srv.port, srv.proc.pid, n))
        print(f"\n{MODELS[0]}: new-plan clicks on the real server, {launcher}, one user (load average "
              f"{os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs)\n")
        print(f"| {'what':<20} | {'n':>3} | {'median':>7} | {'mean':>7} | {'p90':>7} |")
        print(f"|{'-' * 22}|{'-' * 5}|{'-' * 9}|{'-' * 9}|{'-' * 9}|")
        for name, v in rows.items():
            s = sorted(v)
            print(f"| {name:<20} | {len(v):>3} | {statistics.median(v):>7.1f} | {statistics.mean(v):>7.1f} "
                  f"| {s[max(0, int(0.9 * len(s)) - 1)]:>7.1f} |")
        cpu = statistics.mean(rows["server CPU ms"])
        print(f"goal: server time of a new-plan click <= {GOAL_MS:.0f} ms -> mean CPU {cpu:.0f} ms "
              f"{'met' if cpu <= GOAL_MS else 'NOT met'}")


def table(title: str, rows: dict[str, list[float]]) -> None:
    print(f"\n{title} (load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs)\n")
    print(f"| {'what':<34} | {'n':>3} | {'median ms':>9} | {'p90 ms':>7} |")
    print(f"|{'-' * 36}|{'-' * 5}|{'-' * 11}|{'-' * 9}|")
    for name, ms in rows.items():
        s = sorted(ms)
        print(f"| {name:<34} | {len(ms):>3} | {statistics.median(ms):>9.1f} | {s[max(0, int(0.9 * len(s)) - 1)]:>7.1f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--app", default=APP, help="the app.py to run (with PYTHONPATH at its directory)")
    ap.add_argument("--server", type=int, default=40, help="part 3: clicks per launcher (0: skip)")
    args = ap.parse_args()
    print(f"code: {Path(args.app).resolve().parent}")
    for model_id in MODELS:
        rows = clicks(model_id, args.runs, args.app)
        table(f"{model_id}: Targets click, AppTest, one user", rows)
        new = statistics.median(rows["new plan (any toggle)"])
        print(f"goal: new-plan click <= {GOAL_MS:.0f} ms -> {new:.0f} ms {'met' if new <= GOAL_MS else 'NOT met'}"
              + (" (405B is the goal's model)" if "405B" in model_id else ""))
        table(f"{model_id}: a new plan's work, piece by piece", pieces(model_id, 30))
    if args.server:
        server(args.server)


if __name__ == "__main__":
    main()
