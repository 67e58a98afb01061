"""CPU time of ``python -m lora_core inspect PRESET``: before and after, side by side, in fresh processes.

Run: ``PYTHONPATH=. .venv/bin/python bench/bench_cli_start.py [--runs 5] [--before DIR ...]``,
where each ``DIR`` is a checkout of earlier code (``git worktree add --detach DIR <commit>``).

Cases, each in a fresh process with its own empty result cache (``LORA_EXPLORER_CACHE_DIR``):
- first run on a fresh install: this code answers from the preset's shipped snapshot when its
  key (library versions, config hash, source hashes) is this install's;
- first run, live build: the same with the snapshot bypassed (``LORA_EXPLORER_SNAPSHOTS=off``),
  what any other install or a non-preset costs (earlier code always builds live);
- repeated run: the same command again, answered from the result cache where the code has one.
Runs of all code versions alternate so that they see the same load; beside them, the floor of a
live build (torch and transformers building the model with no ``lora_core``). CPU time is user + system of
the child (``getrusage``); the load average is printed. Then, for the fresh-install run and the
live build, the modules ``python -X importtime`` charges most.
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
CASES = ("first run on a fresh install", "first run, live build", "repeated run")
# The floor of a live build: torch and transformers building the preset alone, no lora_core.
FLOOR = ("import json, torch\nfrom transformers import AutoConfig, AutoModelForCausalLM\n"
         "d = json.load(open('lora_core/model/presets/{file}'))\ncfg = AutoConfig.for_model(**d)\n"
         "with torch.device('meta'):\n    AutoModelForCausalLM.from_config(cfg)")


def cpu_of(code_dir: Path, cache: str, snapshots: str = "on", extra: tuple[str, ...] = (),
           command: tuple[str, ...] = ("-m", "lora_core", "inspect", PRESET)) -> tuple[float, str]:
    """CPU seconds of one ``inspect`` in a fresh process on the code in ``code_dir``, and its stderr."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    env = {**os.environ, "PYTHONPATH": str(code_dir), "LORA_EXPLORER_CACHE_DIR": cache,
           "LORA_EXPLORER_SNAPSHOTS": snapshots}
    p = subprocess.run([sys.executable, *extra, *command], cwd=code_dir, capture_output=True, text=True, env=env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        raise RuntimeError(p.stderr[-2000:])
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), p.stderr


def label(code_dir: Path) -> str:
    """``abc1234`` for a git checkout, else the folder's name."""
    p = subprocess.run(["git", "-C", str(code_dir), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", str(code_dir), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    return (p.stdout.strip() + ("+edits" if dirty else "")) if p.returncode == 0 else code_dir.name


def measure(befores: list[Path], runs: int, tmp: Path) -> dict[tuple[str, str], list[float]]:
    """(column, case) -> CPU seconds of each run."""
    times: dict[tuple[str, str], list[float]] = {}

    def add(column: str, case: str, seconds: float) -> None:
        times.setdefault((column, case), []).append(seconds)

    for i in range(runs):
        for j, before in enumerate(befores):
            cache = str(tmp / f"before{j}-{i}")
            add(f"before {label(before)}", CASES[0], cpu_of(before, cache)[0])
            add(f"before {label(before)}", CASES[2], cpu_of(before, cache)[0])
        cache = str(tmp / f"after-{i}")
        add("after", CASES[0], cpu_of(ROOT, cache)[0])
        add("after", CASES[2], cpu_of(ROOT, cache)[0])
        add("after", CASES[1], cpu_of(ROOT, str(tmp / f"live-{i}"), "off")[0])
        floor = FLOOR.format(file=PRESET.replace("/", "__", 1) + ".json")
        add("floor", CASES[1], cpu_of(ROOT, "off", command=("-c", floor))[0])
    for j, before in enumerate(befores):  # earlier code builds live on a first run
        times[(f"before {label(before)}", CASES[1])] = times[(f"before {label(before)}", CASES[0])]
    return times


def table(times: dict[tuple[str, str], list[float]], columns: list[str]) -> list[str]:
    """Medians (min-max) per case and column, and after as a share of each before."""
    befores = [c for c in columns if c != "after"]
    head = "| case | " + " | ".join(f"{c} (s)" for c in columns) + " | " + " | ".join(
        f"after / {c}" for c in befores) + " |"
    lines = [head, "|" + "---|" * (1 + len(columns) + len(befores))]
    for case in CASES:
        cells = []
        for c in columns:
            v = times[(c, case)]
            cells.append(f"{statistics.median(v):.2f} ({min(v):.2f}-{max(v):.2f})")
        after = statistics.median(times[("after", case)])
        shares = [f"{after / statistics.median(times[(c, case)]):.0%}" for c in befores]
        lines.append(f"| {case} | " + " | ".join(cells) + " | " + " | ".join(shares) + " |")
    return lines


def top_imports(stderr: str, n: int = 8) -> list[str]:
    cumulative = []
    for line in stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            cumulative.append((int(parts[1]), parts[2].rstrip()))
    return [f"  {us:>9,}  {name}" for us, name in sorted(cumulative, reverse=True)[:n]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--before", type=Path, action="append", default=[], help="a checkout of earlier code")
    args = ap.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        times = measure(args.before, args.runs, Path(tmp))
        _, snap_imports = cpu_of(ROOT, "off", "on", ("-X", "importtime"))
        _, live_imports = cpu_of(ROOT, "off", "off", ("-X", "importtime"))
    load_after = os.getloadavg()
    print(f"python -m lora_core inspect {PRESET}: CPU seconds (user + system), median (min-max) of "
          f"{args.runs} fresh processes; load average {load_before[0]:.2f} before, {load_after[0]:.2f} "
          f"after ({os.cpu_count()} CPUs); after = {label(ROOT)}\n")
    columns = [f"before {label(b)}" for b in args.before] + ["after"]
    print("\n".join(table(times, columns)))
    floor = times[("floor", CASES[1])]
    print(f"\nFloor of a live build, torch + transformers building the model alone (AutoConfig, "
          f"AutoModelForCausalLM.from_config on meta, no lora_core): {statistics.median(floor):.2f} s "
          f"({min(floor):.2f}-{max(floor):.2f})")
    print("\nFirst run on a fresh install (snapshot), the modules -X importtime charges most (cumulative, us):")
    print("\n".join(top_imports(snap_imports)))
    print("\nFirst run, live build, the modules -X importtime charges most (cumulative, us):")
    print("\n".join(top_imports(live_imports)))


if __name__ == "__main__":
    main()
