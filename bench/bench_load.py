"""Rerun time and server memory with many users: one ``streamlit run``, N websocket sessions.

Run: ``PYTHONPATH=. .venv/bin/python bench/bench_load.py [--sessions 20] [--reruns 10]
[--class-sessions 40] [--duration 60] [--only saturation|classroom]``.
Each session is a real websocket client (``tests/st_client.py``) with its own model and plan.

Saturation (``--sessions``): one session alone (baseline), then all sessions opening at once
(cold: model builds), then every session rerunning the Model and Targets pages ``--reruns``
times, and clicking a Targets toggle ``--reruns`` times (as the browser does: only the page's
fragment reruns), all at once and back to back (no think time). Their latency is the queue of
all runs sharing the CPUs, and ``runs/s`` is the server's throughput.

Classroom (``--class-sessions``): a fresh server where the teacher has opened the lesson's eight
presets (Llama-3.1-405B among them); every session opens its own model (the eight in turn) and
plan at once, goes to the Targets page, then, for
``--duration`` seconds, waits a random think time of 2-6 s and switches one of its toggles. Two
profiles: ``follow`` switches one of O/K/down/up/gate (a class following a lesson: 32 plans per
model, so after a few clicks every plan is in the per-model cache), ``explore`` switches ANY
Targets toggle the page shows (so most clicks ask for a plan nobody asked for before). Prints
p50/p95/max of click -> rerun finished, the clicks per second served, and the server's RSS (peak,
and per session).

Launchers (``--launchers``): each profile runs on a fresh server started by ``python -m ui.serve
run app.py`` (what ``make run`` does) and by a plain ``streamlit run app.py`` (what a Hugging
Face Space or a Dockerfile does), and a side-by-side table ends the output.

Times are send -> ``script_finished`` as the client sees it; RSS is sampled every 50 ms. Only
127.0.0.1; every loop is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import threading
import time
from pathlib import Path

import psutil

from tests.browser_support import SERVE, running_server
from tests.st_client import WsSession, streamlit_server
from tests.ui.test_concurrency import query

CLASS_MODELS = ("meta-llama/Meta-Llama-3.1-405B", "meta-llama/Meta-Llama-3.1-8B", "Qwen/Qwen2.5-7B-Instruct",
                "mistralai/Mistral-7B-Instruct-v0.3", "google/flan-t5-base", "google-bert/bert-base-uncased",
                "openai-community/gpt2", "microsoft/Phi-3-mini-4k-instruct")
CLICKABLE = ("tg_on_o", "tg_on_k", "tg_on_down", "tg_on_up", "tg_on_gate")  # never q/v: the plan stays non-empty
LAUNCHERS: dict[str, tuple[str, ...]] = {"ui.serve": SERVE, "streamlit run": ("-m", "streamlit")}
PROFILES = ("follow", "explore")
THINK_S = (2.0, 6.0)
CLASS_GOAL_P95_MS, CLASS_GOAL_RSS_MB = 500.0, 700.0
SATURATION_GOAL_RUNS_S = 40.0

MB = 1024 * 1024
WALL: dict[str, float] = {}  # phase -> wall seconds, for the server's throughput (reruns/s)
FLOOR_APP = 'import streamlit as st\nst.sidebar.caption("Current model")\nst.sidebar.markdown("x")\n'


class RssSampler:
    """Samples a process's RSS in a thread; ``peak`` and ``last`` in bytes."""

    def __init__(self, pid: int, every: float = 0.05) -> None:
        self.proc, self.every = psutil.Process(pid), every
        self.peak = self.last = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.last = self.proc.memory_info().rss
            self.peak = max(self.peak, self.last)
            time.sleep(self.every)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def pct(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values``, nearest rank."""
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q * len(s)) - 1))]


async def _session_reruns(s: WsSession, reruns: int, page: str) -> list[float]:
    return [(await s.rerun("", page=page)).seconds for _ in range(reruns)]


async def _session_clicks(s: WsSession, reruns: int) -> list[float]:
    """Switch the O toggle on and off ``reruns`` times, back to back."""
    return [(await s.click("tg_on_o", i % 2 == 0)).seconds for i in range(reruns)]


async def measure(port: int, sessions: int, reruns: int, rss: RssSampler) -> tuple[dict[str, list[float]], dict[str, int]]:
    """Rerun times (s) per phase, and RSS (bytes) at phase ends."""
    times: dict[str, list[float]] = {}
    memory = {"server started": rss.last}
    async with WsSession(port) as alone:
        await alone.rerun(query(0))
        times["1 session, Model page"] = await _session_reruns(alone, reruns, "")
        await alone.rerun("", page="targets")
        times["1 session, Targets page"] = await _session_reruns(alone, reruns, "targets")
    memory["after 1 session"] = rss.last
    users = [WsSession(port) for _ in range(sessions)]
    for u in users:
        await u.__aenter__()
    try:
        start = time.perf_counter()
        opened = await asyncio.gather(*(u.rerun(query(i)) for i, u in enumerate(users)))
        times[f"{sessions} sessions opening at once (cold)"] = [r.seconds for r in opened]
        WALL[f"{sessions} sessions opening at once (cold)"] = time.perf_counter() - start
        memory[f"{sessions} sessions open"] = rss.last
        for page, name in (("", "Model"), ("targets", "Targets")):
            if page:
                await asyncio.gather(*(u.rerun("", page=page) for u in users))
            start = time.perf_counter()
            runs = await asyncio.gather(*(_session_reruns(u, reruns, page) for u in users))
            phase = f"{sessions} sessions rerunning, {name} page"
            times[phase] = [t for r in runs for t in r]
            WALL[phase] = time.perf_counter() - start
        start = time.perf_counter()
        runs = await asyncio.gather(*(_session_clicks(u, reruns) for u in users))
        phase = f"{sessions} sessions clicking a Targets toggle"
        times[phase] = [t for r in runs for t in r]
        WALL[phase] = time.perf_counter() - start
        memory[f"after {sessions} x {3 * reruns} reruns"] = rss.last
    finally:
        for u in users:
            await u.__aexit__(None, None, None)
    return times, memory


async def _floor(port: int, reruns: int) -> list[float]:
    async with WsSession(port) as s:
        await s.rerun("")
        return await _session_reruns(s, reruns, "")


def streamlit_floor(reruns: int) -> list[float]:
    """Rerun times of a three-line app on the same machine: Streamlit's own per-rerun cost."""
    with tempfile.TemporaryDirectory() as tmp:
        app = Path(tmp) / "floor.py"
        app.write_text(FLOOR_APP)
        with streamlit_server(str(app)) as (port, _proc):
            return asyncio.run(_floor(port, reruns))


async def _open(s: WsSession, i: int) -> float:
    """Student ``i`` opens its model and plan, then the Targets page; returns the seconds it took."""
    start = time.perf_counter()
    await s.rerun(f"model={CLASS_MODELS[i % len(CLASS_MODELS)]}&t=q%3D{i + 1}%2Cv%3D{i + 1}")
    await s.rerun(s.query_string, page="targets")
    return time.perf_counter() - start


def clickable(s: WsSession, profile: str) -> list[str]:
    """The toggles a student of ``profile`` switches: the lesson's five, or every toggle shown."""
    if profile == "explore":
        return sorted(k for k in s.widgets if k.startswith("tg_on_"))
    return [k for k in CLICKABLE if k in s.widgets]


async def _student(s: WsSession, deadline: float, rng: random.Random, profile: str = "follow") -> list[float]:
    """One student on the Targets page: think, click one of its toggles, until ``deadline``."""
    keys = clickable(s, profile)
    on: set[str] = set()
    clicks = []
    while True:
        await asyncio.sleep(rng.uniform(*THINK_S))
        if time.perf_counter() >= deadline:
            return clicks
        key = rng.choice(keys)
        run = await s.click(key, key not in on)
        on ^= {key}
        clicks.append(run.seconds)


async def classroom(port: int, sessions: int, duration: float, rss: RssSampler, seed: int = 12,
                    profile: str = "follow") -> dict:
    """Open times and click times (s), wall seconds and RSS (bytes) of ``sessions`` students: all
    open at once (the start of the lesson), then all click for ``duration`` s."""
    memory = {"server started": rss.last}
    async with WsSession(port) as teacher:  # the teacher opens the lesson's models before class
        for i in range(len(CLASS_MODELS)):
            await _open(teacher, i)
    await asyncio.sleep(0.2)
    memory["models loaded (teacher, then gone)"] = rss.last
    users = [WsSession(port) for _ in range(sessions)]
    for u in users:
        await u.__aenter__()
    try:
        opened = await asyncio.gather(*(_open(u, i) for i, u in enumerate(users)))
        memory[f"{sessions} sessions open"] = rss.last
        start = time.perf_counter()
        rngs = [random.Random(seed * 1000 + i) for i in range(sessions)]
        clicks = await asyncio.gather(*(_student(u, start + duration, rngs[i], profile) for i, u in enumerate(users)))
        wall = time.perf_counter() - start
        memory[f"after {duration:.0f} s of clicks"] = rss.last
    finally:
        for u in users:
            await u.__aexit__(None, None, None)
    return {"open": list(opened), "times": [t for c in clicks for t in c], "wall": wall, "memory": memory}


def print_classroom(r: dict, sessions: int, duration: float, peak: int, title: str = "") -> None:
    ms, opens = [t * 1000 for t in r["times"]], [t * 1000 for t in r["open"]]
    p95, peak_mb = pct(ms, 0.95), peak / MB
    models = r["memory"]["models loaded (teacher, then gone)"]
    print(f"\nClassroom{title}: {sessions} sessions on 127.0.0.1, each on its own model ({len(CLASS_MODELS)} presets "
          f"in turn, Llama-3.1-405B among them) and plan; all open the Targets page at once, then each "
          f"clicks a toggle after a random {THINK_S[0]:.0f}-{THINK_S[1]:.0f} s think time for {duration:.0f} s; "
          f"{psutil.cpu_count()} CPUs, machine load average {' / '.join(f'{x:.2f}' for x in os.getloadavg())} "
          "at the end\n")
    print(f"| {'phase':<38} | {'runs':>5} | {'p50 ms':>7} | {'p95 ms':>7} | {'max ms':>7} | {'runs/s':>6} |")
    print(f"|{'-' * 40}|{'-' * 7}|{'-' * 9}|{'-' * 9}|{'-' * 9}|{'-' * 8}|")
    print(f"| {'all open at once (2 runs each)':<38} | {len(opens):>5} | {statistics.median(opens):>7.0f} "
          f"| {pct(opens, 0.95):>7.0f} | {max(opens):>7.0f} | {'':>6} |")
    print(f"| {'click -> rerun finished':<38} | {len(ms):>5} | {statistics.median(ms):>7.0f} | {p95:>7.0f} "
          f"| {max(ms):>7.0f} | {len(ms) / r['wall']:>6.1f} |")
    print(f"\n| {'server memory (RSS)':<38} | {'MB':>7} |")
    print(f"|{'-' * 40}|{'-' * 9}|")
    for phase, b in r["memory"].items():
        print(f"| {phase:<38} | {b / MB:>7.0f} |")
    print(f"| {'peak':<38} | {peak_mb:>7.0f} |")
    print(f"| {'per session (peak less models loaded)':<38} | {(peak - models) / MB / sessions:>7.1f} |")
    print(f"\ngoals: click p95 <= {CLASS_GOAL_P95_MS:.0f} ms -> {'met' if p95 <= CLASS_GOAL_P95_MS else 'NOT met'}; "
          f"server RSS <= {CLASS_GOAL_RSS_MB:.0f} MB -> {'met' if peak_mb <= CLASS_GOAL_RSS_MB else 'NOT met'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=20, help="sessions of the saturation phases")
    ap.add_argument("--reruns", type=int, default=10, help="reruns per session and page")
    ap.add_argument("--class-sessions", type=int, default=40, help="sessions of the classroom profile")
    ap.add_argument("--duration", type=float, default=60.0, help="seconds the classroom clicks")
    ap.add_argument("--only", choices=("saturation", "classroom"), help="run one part only")
    ap.add_argument("--launchers", default=",".join(LAUNCHERS), help=f"comma-separated: {', '.join(LAUNCHERS)}")
    ap.add_argument("--profiles", default=",".join(PROFILES), help=f"comma-separated: {', '.join(PROFILES)}")
    args = ap.parse_args()
    if args.only != "saturation":
        side_by_side = []
        for launcher in args.launchers.split(","):
            for profile in args.profiles.split(","):
                load_before = os.getloadavg()[0]
                with running_server(launcher=LAUNCHERS[launcher]) as server, RssSampler(server.proc.pid) as rss:
                    time.sleep(0.2)
                    room = asyncio.run(classroom(server.port, args.class_sessions, args.duration, rss, profile=profile))
                title = f" ({profile}, {launcher})"
                print_classroom(room, args.class_sessions, args.duration, rss.peak, title)
                ms = [t * 1000 for t in room["times"]]
                side_by_side.append((launcher, profile, len(ms), statistics.median(ms), pct(ms, 0.95),
                                     len(ms) / room["wall"], load_before, os.getloadavg()[0]))
        print(f"\nClassroom of {args.class_sessions}, side by side (goal: click p95 <= {CLASS_GOAL_P95_MS:.0f} ms)\n")
        print(f"| {'launcher':<14} | {'profile':<8} | {'clicks':>6} | {'p50 ms':>7} | {'p95 ms':>7} | {'clicks/s':>8} "
              f"| {'load 1-min before/after':>24} |")
        print(f"|{'-' * 16}|{'-' * 10}|{'-' * 8}|{'-' * 9}|{'-' * 9}|{'-' * 10}|{'-' * 26}|")
        for launcher, profile, n, p50, p95, rate, lb, la in side_by_side:
            print(f"| {launcher:<14} | {profile:<8} | {n:>6} | {p50:>7.0f} | {p95:>7.0f} | {rate:>8.1f} "
                  f"| {f'{lb:.2f} / {la:.2f}':>24} |")
    if args.only == "classroom":
        return
    with streamlit_server() as (port, proc), RssSampler(proc.pid) as rss:
        time.sleep(0.2)
        times, memory = asyncio.run(measure(port, args.sessions, args.reruns, rss))
    times = {"floor: a 3-line app, 1 session": streamlit_floor(args.reruns), **times}
    print(f"\nSaturation: one streamlit server on 127.0.0.1, {args.sessions} websocket sessions back to back, "
          f"{psutil.cpu_count()} CPUs, machine load average {' / '.join(f'{x:.2f}' for x in os.getloadavg())} "
          "at the end\n")
    print(f"| {'phase':<42} | {'runs':>4} | {'p50 ms':>7} | {'p95 ms':>7} | {'max ms':>7} | {'runs/s':>6} |")
    print(f"|{'-' * 44}|{'-' * 6}|{'-' * 9}|{'-' * 9}|{'-' * 9}|{'-' * 8}|")
    for phase, ts in times.items():
        ms = [t * 1000 for t in ts]
        rate = len(ts) / WALL[phase] if phase in WALL else len(ts) / sum(ts)
        print(f"| {phase:<42} | {len(ms):>4} | {statistics.median(ms):>7.0f} | {pct(ms, 0.95):>7.0f} "
              f"| {max(ms):>7.0f} | {rate:>6.1f} |")
    print(f"\n| {'server memory (RSS)':<42} | {'MB':>7} |")
    print(f"|{'-' * 44}|{'-' * 9}|")
    for phase, b in memory.items():
        print(f"| {phase:<42} | {b / MB:>7.0f} |")
    print(f"| {'peak':<42} | {rss.peak / MB:>7.0f} |")
    rates = {name: len(times[phase]) / WALL[phase] for name, phase in (
        ("full reruns", f"{args.sessions} sessions rerunning, Targets page"),
        ("toggle clicks", f"{args.sessions} sessions clicking a Targets toggle"))}
    print(f"\ngoal: Targets page >= {SATURATION_GOAL_RUNS_S:.0f} runs/s with {args.sessions} sessions back to back -> "
          + "; ".join(f"{name} {rate:.1f}/s {'met' if rate >= SATURATION_GOAL_RUNS_S else 'NOT met'}"
                      for name, rate in rates.items()))


if __name__ == "__main__":
    main()
