"""Where one Targets click goes on the real server: cProfile of the script runs and the event loop.

Run: ``PYTHONPATH=. .venv/bin/python bench/bench_profile.py [--clicks 20] [--top 25] [--key tg_on_k]``.
Starts ``streamlit run app.py`` under ``bench/support/profiled_streamlit.py`` on 127.0.0.1, opens
Llama-3.1-405B on the Targets page with a websocket client (``tests/st_client.py``), switches one
toggle on and off ``--clicks`` times as the browser does (the widget's new value, and its
fragment id when it sits in an ``st.fragment``), then prints: the click times, elements and KiB
per click as the client saw them, and the top functions by own time and by cumulative time of
the script runs and of the server's event-loop thread during those clicks. cProfile slows
Python code by about 1.5-2x, so the times are for finding the costs, not for the goals
(``bench_browser.py`` and ``bench_load.py`` measure those).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import pstats
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.browser_support import running_server  # noqa: E402
from tests.st_client import Run, WsSession  # noqa: E402

MODEL = "meta-llama/Meta-Llama-3.1-405B"
WRAPPER = (str(Path(__file__).resolve().parent / "support" / "profiled_streamlit.py"),)
WARMUP = 4


async def clicks(port: int, key: str, n: int, dump) -> list[Run]:
    """Open the model on the Targets page, warm up, then ``n`` timed clicks bracketed by ``dump``."""
    async with WsSession(port) as s:
        await s.rerun(f"model={MODEL}")
        await s.rerun(s.query_string, page="targets")
        for i in range(WARMUP):
            await s.click(key, i % 2 == 0)
        dump()
        runs = [await s.click(key, i % 2 == 0) for i in range(n)]
        dump()
        return runs


def top(stats: pstats.Stats, sort: str, limit: int) -> str:
    buf = io.StringIO()
    stats.stream = buf
    stats.sort_stats(sort).print_stats(limit)
    lines = buf.getvalue().splitlines()
    start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls"))
    return "\n".join(lines[start:])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clicks", type=int, default=20)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--key", default="tg_on_k", help="the toggle to click")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as out:
        env = {"LORA_EXPLORER_PROFILE_DIR": out}
        with running_server(launcher=WRAPPER, env=env) as server:
            def dump() -> None:
                before = len(list(Path(out).glob("main-*.prof")))
                os.kill(server.proc.pid, signal.SIGUSR1)
                while len(list(Path(out).glob("main-*.prof"))) == before:
                    time.sleep(0.05)

            runs = asyncio.run(clicks(server.port, args.key, args.clicks, dump))
            time.sleep(0.5)
        scripts = sorted(Path(out).glob("script-*.prof"))[-args.clicks:]  # the timed clicks' runs
        script = pstats.Stats(*map(str, scripts))
        main_thread = pstats.Stats(str(sorted(Path(out).glob("main-*.prof"))[-1]))
        ms = [r.seconds * 1000 for r in runs]
        load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"Profile: {args.clicks} clicks on {args.key}, {MODEL} on the Targets page, under cProfile "
              f"(load average {load}, {os.cpu_count()} CPUs)")
        print(f"click -> script_finished: median {statistics.median(ms):.0f} ms, max {max(ms):.0f} ms; "
              f"{statistics.median(r.elements for r in runs):.0f} elements, "
              f"{statistics.median(r.nbytes for r in runs) / 1024:.1f} KiB per click")
        per = args.clicks
        print(f"script thread: {script.total_tt * 1000 / per:.1f} ms per click (profiled); "
              f"event loop: {main_thread.total_tt * 1000 / per:.1f} ms per click (profiled)")
        for title, stats in (("script runs", script), ("event loop", main_thread)):
            for sort in ("tottime", "cumulative"):
                print(f"\n== {title}, top {args.top} by {sort} (all {per} clicks) ==")
                print(top(stats, sort, args.top))


if __name__ == "__main__":
    main()
