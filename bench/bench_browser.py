"""Click-to-chart time in a real browser, Llama-3.1-405B loaded on the Targets page.

Run: ``PYTHONPATH=. .venv/bin/python bench/bench_browser.py [--clicks 10] [--flag=--runner.X=Y]``. Starts
``streamlit run app.py`` on a free port, opens the app with the model in the URL, goes to the Targets page, and
switches the K toggle on and off. Each click is timed in the page itself: from the click event
(a capturing listener) to the first animation frame where the app is idle and the per-layer
chart's SVG shows the changed trace set. Also printed: the wall-clock time seen from Python
(Playwright round trips included) and the phases seen by the page's WebSocket: click -> first
server message (widget message, server queueing, script start), first -> last message (the rerun
and its deltas), last message -> chart drawn (React + Plotly), and the KiB the server sent.
Goal: median ≤ 200 ms per click.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.browser_support import (IDLE, chromium_browser, nav_link, signature, streamlit_server,  # noqa: E402
                                   wait_idle)

MODEL = "meta-llama/Meta-Llama-3.1-405B"
TOGGLE = "k"
CHART = ".st-key-tg_chart_layers"
GOAL_MS = 200.0
WARMUP = 2

# Record every WebSocket message's arrival time and size in the page (installed before load).
_WS_SPY_JS = """(() => {
  const Orig = window.WebSocket;
  window.__ws = [];
  window.WebSocket = function (...args) {
    const ws = new Orig(...args);
    ws.addEventListener('message', e => window.__ws.push([performance.now(), e.data.byteLength ?? e.data.size ?? e.data.length]));
    return ws;
  };
  window.WebSocket.prototype = Orig.prototype;
  Object.assign(window.WebSocket, {CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3});
})();"""
_ARM_JS = """() => {
  window.__clickAt = null;
  document.addEventListener('click', () => { window.__clickAt = performance.now(); }, {capture: true, once: true});
}"""
_DONE_JS = """([idle, sel, before]) => {
  const w = window, c = w.__clickAt;
  if (c === null || !document.querySelector(idle)) return false;
  const el = document.querySelector(sel);
  if (!el) return false;
  const now = `${el.querySelectorAll('.trace').length}|${el.querySelectorAll('.point').length}|${el.innerText}`;
  if (now === before) return false;
  const end = performance.now(), msgs = w.__ws.filter(m => m[0] >= c);
  const first = msgs.length ? msgs[0][0] : end, last = msgs.length ? msgs[msgs.length - 1][0] : end;
  const kb = msgs.reduce((a, m) => a + m[1], 0) / 1024;
  return [end - c, first - c, last - first, end - last, kb];
}"""

def click_once(page) -> tuple[float, ...]:
    """Click the toggle once; return ms click -> updated chart (in page), wall-clock ms, the phases
    click -> first server message, first -> last message, last message -> chart drawn, and the KiB
    the server sent."""
    before = signature(page, CHART)
    page.evaluate(_ARM_JS)
    t = time.perf_counter()
    page.locator(f".st-key-tg_on_{TOGGLE} label").click()
    handle = page.wait_for_function(_DONE_JS, arg=[IDLE, CHART, before], polling="raf", timeout=60_000)
    wall = (time.perf_counter() - t) * 1000
    total, first, server, draw, kib = handle.json_value()
    return total, wall, first, server, draw, kib


def measure(clicks: int, flags: tuple[str, ...] = ()) -> dict[str, object]:
    """Start the app (with extra ``streamlit run`` ``flags``), load the model on the Targets page,
    time ``clicks`` toggle clicks."""
    t0 = time.perf_counter()
    with streamlit_server(extra=flags) as url, chromium_browser() as browser:
        started = (time.perf_counter() - t0) * 1000
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.add_init_script(_WS_SPY_JS)
        t1 = time.perf_counter()
        page.goto(f"{url}/?model={MODEL}")
        page.get_by_test_id("stMetric").first.wait_for(timeout=120_000)
        wait_idle(page, timeout=120_000)
        nav_link(page, "Targets").click(timeout=120_000)
        page.locator(f"{CHART} .main-svg").first.wait_for(timeout=120_000)
        wait_idle(page, timeout=120_000)
        first_load = (time.perf_counter() - t1) * 1000
        assert MODEL in page.inner_text("body"), "the model from the URL was not loaded"
        for _ in range(WARMUP):
            click_once(page)
        runs = [click_once(page) for _ in range(clicks)]
        errors = page.locator('[data-testid="stException"]').count()
    return {"server start ms": started, "first load ms": first_load, "runs": runs, "errors": errors}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clicks", type=int, default=10)
    parser.add_argument("--flag", action="append", default=[], metavar="--OPTION=VALUE",
                        help="an extra `streamlit run` flag, e.g. --flag=--runner.postScriptGC=false")
    args = parser.parse_args()
    r = measure(args.clicks, tuple(args.flag))
    if args.flag:
        print("streamlit run flags: " + " ".join(args.flag))
    print(f"Browser: click on toggle '{TOGGLE}' -> updated per-layer chart, {MODEL} loaded "
          f"(server start {r['server start ms']:.0f} ms, first load to drawn chart {r['first load ms']:.0f} ms)")
    head = ("click", "toggle to", "chart ms", "wall ms", "1st msg ms", "msgs ms", "draw ms", "KiB")
    print("{:>5} {:>9} {:>9} {:>8} {:>10} {:>8} {:>8} {:>6}".format(*head))
    row = "{:>5} {:>9} {:>9.0f} {:>8.0f} {:>10.0f} {:>8.0f} {:>8.0f} {:>6.0f}"
    for i, times in enumerate(r["runs"], 1):
        print(row.format(i, "on" if (i + WARMUP) % 2 == 1 else "off", *times))
    columns = list(zip(*r["runs"]))
    print(row.format("", "median", *(statistics.median(c) for c in columns)))
    print(row.format("", "max", *(max(c) for c in columns)))
    med = statistics.median(columns[0])
    print(f"goal: median <= {GOAL_MS:.0f} ms -> {'met' if med <= GOAL_MS else 'NOT met'}; "
          f"error elements on the page: {r['errors']}; machine load average "
          f"{' / '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
