"""Time and memory to open the largest presets from their configs (source + skeleton + inventory).

Run: ``PYTHONPATH=. .venv/bin/python bench/bench_open.py [--runs 5]``. Each model is measured in
its own fresh process, after the imports (a warm-up open of GPT-2 first loads transformers'
lazy modules): the first open, the median wall time of ``--runs`` opens against the
goal (Llama-3.1-405B ≤ 1 s, DeepSeek-V3 ≤ 2 s), the growth of the process's resident memory
over the first open (the model is kept alive, as the server caches it), and the peak of Python
allocations that tracemalloc sees during one open.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

GOALS_S = {"meta-llama/Meta-Llama-3.1-405B": 1.0, "deepseek-ai/DeepSeek-V3": 2.0}
ROOT = Path(__file__).resolve().parent.parent
WARM_UP = "openai-community/gpt2"


def _rss_bytes() -> int:
    """Resident set size of this process now."""
    try:
        import psutil
        return psutil.Process().memory_info().rss
    except ImportError:  # Linux fallback: /proc/self/statm counts pages
        import os
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _open(model_id: str):
    from lora_core.model import open_model, sources
    opened = open_model(sources.from_preset(model_id))
    return opened.skeleton, opened.inventory


def measure_one(model_id: str, runs: int) -> dict:
    """Figures for one model, in this (fresh) process."""
    _open(WARM_UP)  # loads transformers' lazy modules: imports stay outside the timed part
    before = _rss_bytes()
    t = time.perf_counter()
    kept = _open(model_id)
    first = time.perf_counter() - t
    rss = _rss_bytes() - before
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        _open(model_id)
        times.append(time.perf_counter() - t)
    tracemalloc.start()
    _open(model_id)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {"model": model_id, "first_s": first, "median_s": statistics.median(times),
            "rows": len(kept[1]), "rss_mb": rss / 2**20, "tracemalloc_mb": peak / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed opens per model (default 5)")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure_one(args.one, args.runs)))
        return
    results = []
    for model_id in GOALS_S:
        out = subprocess.run([sys.executable, __file__, "--one", model_id, "--runs", str(args.runs)],
                             cwd=ROOT, capture_output=True, text=True, check=True)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"{'model':34} {'rows':>5} {'first':>7} {'median':>7} {'goal':>6} {'ok':>3} "
          f"{'RSS delta':>10} {'tracemalloc peak':>17}")
    for r in results:
        goal = GOALS_S[r["model"]]
        print(f"{r['model']:34} {r['rows']:>5} {r['first_s']:>6.2f}s {r['median_s']:>6.2f}s "
              f"{goal:>5.1f}s {'yes' if r['median_s'] <= goal else 'NO':>3} "
              f"{r['rss_mb']:>8.1f}MB {r['tracemalloc_mb']:>15.1f}MB")
    print(f"(median of {args.runs} opens after imports; RSS delta over the first open, model kept)")


if __name__ == "__main__":
    main()
