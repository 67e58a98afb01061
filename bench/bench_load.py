"""Rerun time and server memory with many users: one ``streamlit run``, N websocket sessions.

Run: ``PYTHONPATH=. .venv/bin/python bench/bench_load.py [--sessions 20] [--reruns 10]``.
Each session is a real websocket client (``tests/st_client.py``) with its own model and plan.
Phases: one session alone (baseline), then all sessions opening at once (cold: model builds),
then every session rerunning the Model and Targets pages ``--reruns`` times, all at once.
Prints p50/p95/max of the rerun time (send -> ``script_finished``, as the client sees it) and
the server's resident memory (RSS) sampled every 50 ms. Every session reruns back to back (no
think time), so the concurrent rows are a saturation test: their latency is the queue of twenty
runs sharing the CPUs, and ``runs/s`` is the server's throughput. Only 127.0.0.1; bounded loops.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

import psutil

from tests.st_client import WsSession, streamlit_server
from tests.test_concurrency import query

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
        memory[f"after {sessions} x {2 * reruns} reruns"] = rss.last
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--reruns", type=int, default=10, help="reruns per session and page")
    args = ap.parse_args()
    with streamlit_server() as (port, proc), RssSampler(proc.pid) as rss:
        time.sleep(0.2)
        times, memory = asyncio.run(measure(port, args.sessions, args.reruns, rss))
    times = {"floor: a 3-line app, 1 session": streamlit_floor(args.reruns), **times}
    print(f"\nLoad: one streamlit server on 127.0.0.1, {args.sessions} websocket sessions, "
          f"{psutil.cpu_count()} CPUs, machine load average {os.getloadavg()[0]:.1f} at the end\n")
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


if __name__ == "__main__":
    main()
