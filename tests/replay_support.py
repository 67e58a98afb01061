"""Run another tool's own code (a trainer's config parser, a serving engine's validation) on our exports.

Those tools are installed with ``--no-deps`` into ``.venv-replay`` (``make replay-venv``, run by
``make test``), a venv that also sees ``.venv``'s packages. A replay is a script under
``tests/replays/`` run in a subprocess of that venv: it reads one JSON payload on stdin and
prints one JSON result as the last line of stdout. Keeping the tools out of the test process
means their import-time patches of transformers or PEFT cannot touch the other tests.

A missing replay venv is an error (in CI and outside), never a skip.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REPLAY_PY = Path(os.environ.get("LORA_EXPLORER_REPLAY_PY", ROOT / ".venv-replay" / "bin" / "python"))
REPLAYS = ROOT / "tests" / "replays"


class ReplayEnvMissing(RuntimeError):
    """``.venv-replay`` is not set up."""


class ReplayFailed(RuntimeError):
    """The replay script exited non-zero or printed no JSON."""


def require_replay_python() -> Path:
    """The replay venv's Python, or ``ReplayEnvMissing`` saying how to make it."""
    if REPLAY_PY.is_file():
        return REPLAY_PY
    raise ReplayEnvMissing(f"{REPLAY_PY} is missing; run `make replay-venv` (`make test` does).")


def run_replay(script: str, payload: Any, timeout: float = 900.0, env: dict[str, str] | None = None) -> Any:
    """Run ``tests/replays/<script>`` in the replay venv with ``payload`` on stdin; its JSON answer.

    Example: ``run_replay("axolotl_replay.py", {"cases": [...]})`` -> ``{"results": [...]}``; ``env``: added
    to the environment (a launcher's, e.g. torchrun's ``LOCAL_RANK``).
    """
    python = require_replay_python()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TOKENIZERS_PARALLELISM": "false", **(env or {})}
    proc = subprocess.run([str(python), str(REPLAYS / script)], input=json.dumps(payload),
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env)
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    if proc.returncode != 0 or not lines:
        raise ReplayFailed(f"{script} exited {proc.returncode}\n--- stderr ---\n{proc.stderr[-6000:]}"
                           f"\n--- stdout ---\n{proc.stdout[-2000:]}")
    return json.loads(lines[-1])
