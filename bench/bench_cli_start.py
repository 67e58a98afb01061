"""CPU time of ``python -m lora_core inspect PRESET``: before and after, in fresh processes.

Run: ``PYTHONPATH=. .venv/bin/python bench/bench_cli_start.py [--runs 5] [--before DIR]``.
Rows: this code with the result cache off (every run builds the model: what a first run costs),
the first run into an empty cache, and a repeated run answered from the cache; with ``--before
DIR`` (a checkout of earlier code, e.g. ``git archive <commit> | tar -x -C DIR``) the same command
on that code first, alternating runs so both see the same load. CPU time is user + system of
the child process (``getrusage``); the load average is printed beside the table. Then the ten
modules ``python -X importtime`` charges most for an uncached run.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRESET = "meta-llama/Meta-Llama-3.1-8B"


def cpu_of(code_dir: Path, cache: str, extra: tuple[str, ...] = ()) -> tuple[float, str]:
    """CPU seconds of one ``inspect`` in a fresh process on the code in ``code_dir``, and its stderr."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run([sys.executable, *extra, "-m", "lora_core", "inspect", PRESET], cwd=code_dir,
                       capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": str(code_dir), "LORA_EXPLORER_CACHE_DIR": cache})
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        raise RuntimeError(p.stderr[-2000:])
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), p.stderr


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--before", type=Path, default=None, help="a checkout of the earlier code")
    args = ap.parse_args()
    rows: dict[str, list[float]] = {}
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):
            if args.before:
                rows.setdefault("before (earlier code)", []).append(cpu_of(args.before, "off")[0])
            rows.setdefault("after, cache off (a first run)", []).append(cpu_of(ROOT, "off")[0])
            cache = str(Path(tmp) / f"cache{i}")
            rows.setdefault("after, first run, empty cache", []).append(cpu_of(ROOT, cache)[0])
            rows.setdefault("after, repeated run (cached)", []).append(cpu_of(ROOT, cache)[0])
        _, importtime = cpu_of(ROOT, "off", ("-X", "importtime"))
    load_after = os.getloadavg()
    print(f"python -m lora_core inspect {PRESET}: CPU seconds (user + system) of {args.runs} fresh processes; "
          f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after ({os.cpu_count()} CPUs)\n")
    print(f"| {'run':<34} | {'median s':>8} | {'min s':>6} | {'max s':>6} |")
    print(f"|{'-' * 36}|{'-' * 10}|{'-' * 8}|{'-' * 8}|")
    for name, values in rows.items():
        print(f"| {name:<34} | {statistics.median(values):>8.2f} | {min(values):>6.2f} | {max(values):>6.2f} |")
    if args.before:
        base = statistics.median(rows["before (earlier code)"])
        for name in ("after, cache off (a first run)", "after, repeated run (cached)"):
            print(f"{name}: {statistics.median(rows[name]) / base:.0%} of before")
    cumulative = []
    for line in importtime.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            cumulative.append((int(parts[1]), parts[2].rstrip()))
    print("\nUncached run, the modules -X importtime charges most (cumulative, microseconds):")
    for us, name in sorted(cumulative, reverse=True)[:10]:
        print(f"  {us:>9,}  {name}")


if __name__ == "__main__":
    main()
