"""CPU time of the largest configs the guards accept, through ``inspect`` and ``plan``.

Run: ``PYTHONPATH=. .venv/bin/python bench/bench_guard.py``. Each config is a real or default
config scaled up to just inside the module budget (``lora_core.model.build_budget.MAX_MODULES``) or
the layer limit, written to a file, and run as ``python -m lora_core inspect FILE`` and
``plan FILE --target all-linear=8`` in fresh processes; the CPU time (user + system) of each
process, imports included, is printed against the goal of 15 s, with the load average.
A row "refused" shows the guard stopping a config just past the budget.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = Path("/work/shared/model-configs")
GOAL_S = 15.0


def _real(name: str, **changes) -> dict:
    return {**json.loads((CONFIGS / name).read_text()), **changes}


def _default(model_type: str, **changes) -> dict:
    from transformers import CONFIG_MAPPING
    return {**CONFIG_MAPPING[model_type]().to_dict(), **changes}


def cases() -> dict[str, dict]:
    """Name -> config: the largest of each shape that stays inside the guards, and one past."""
    return {
        "flan-t5 500+500 layers": _real("google__flan-t5-base.json", num_layers=500, num_decoder_layers=500),
        "flan-t5 1024+1024 layers": _real("google__flan-t5-base.json", num_layers=1024, num_decoder_layers=1024),
        "Llama-3.1-405B at 1024 layers": _real("meta-llama__Meta-Llama-3.1-405B.json", num_hidden_layers=1024),
        "DeepSeek-V3 at 1024 layers": _real("deepseek-ai__DeepSeek-V3.json", num_hidden_layers=1024),
        "GPT-2 at 1024 layers": _real("openai-community__gpt2.json", n_layer=1024),
        "Switch 1152 experts x 12+12": _default("switch_transformers", num_experts=1152,
                                                num_layers=12, num_decoder_layers=12),
    }


def cpu_of(argv: list[str]) -> tuple[float, int, str]:
    """CPU seconds (user + system) of one child process, its exit code and last stderr line."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run([sys.executable, "-m", "lora_core", *argv], cwd=ROOT, capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, p.returncode, (p.stderr.strip().splitlines() or [""])[-1][:90]


def main() -> None:
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'config':<32}{'inspect s':>10}{'plan s':>9}  outcome (goal: each <= {GOAL_S:.0f} s CPU or refused)")
    with tempfile.TemporaryDirectory() as tmp:
        for name, config in cases().items():
            path = Path(tmp) / "config.json"
            path.write_text(json.dumps(config))
            ti, ci, ei = cpu_of(["inspect", str(path)])
            tp, cp, ep = cpu_of(["plan", str(path), "--target", "all-linear=8"])
            outcome = "refused: " + ei[:60] if ci == 2 else ("ok" if max(ti, tp) <= GOAL_S else "OVER GOAL")
            if ci not in (0, 2) or cp not in (0, 2):
                outcome = f"exit {ci}/{cp}: {ei or ep}"
            print(f"{name:<32}{ti:>10.2f}{tp:>9.2f}  {outcome}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
