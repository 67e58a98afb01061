"""The training-memory estimate against published measured peaks: the table docs/memory.md shows.

Prints one markdown row per case of ``tests.memory.validation_cases.CASES`` (estimate of the same
kind as the measurement, measured, ratio, held out, source), then the shares within ±15 % and
±20 %, the time it took and the load average. Usage: ``PYTHONPATH=. .venv/bin/python
bench/memory_validation.py``.
"""

from __future__ import annotations

import os
import time

from tests.memory.validation_cases import markdown_table, validation_table


def main() -> None:
    t0 = time.perf_counter()
    table = validation_table()
    elapsed = time.perf_counter() - t0
    print(markdown_table(table))
    off = (table["ratio"] - 1).abs()
    qlora = table["method"] == "QLoRA"
    print(f"\n{len(table)} cases: {(off <= 0.15).mean():.0%} within ±15 %, QLoRA {(off[qlora] <= 0.20).mean():.0%}"
          f" within ±20 %, every case in its band: {bool(table['within'].all())}; held out "
          f"{int(table['holdout'].sum())}: {(off[table['holdout']] <= 0.15).mean():.0%} within ±15 %")
    print(f"estimated in {elapsed:.2f} s; load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")


if __name__ == "__main__":
    main()
