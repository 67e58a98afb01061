"""``python bench/support/profiled_streamlit.py run app.py ...``: the app's server (``ui.serve``) profiled.

Used by ``bench/bench_profile.py``. Every script run (the script thread, from the widget
callbacks to the last element) is profiled with cProfile and written to
``$LORA_EXPLORER_PROFILE_DIR/script-NNNN.prof``. The server's event-loop thread (websocket,
message serialisation) is profiled from start; ``SIGUSR1`` writes what it has so far to
``main-NNNN.prof`` and starts afresh, so a bench can bracket the runs it measures.
"""

from __future__ import annotations

import cProfile
import itertools
import os
import signal
import sys
from pathlib import Path

from streamlit.runtime.scriptrunner.script_runner import ScriptRunner
from streamlit.web import cli

from ui import serve

OUT = Path(os.environ["LORA_EXPLORER_PROFILE_DIR"])
_runs, _dumps = itertools.count(), itertools.count()
_run_script = ScriptRunner._run_script


def _profiled_run(self: ScriptRunner, rerun_data) -> None:
    prof = cProfile.Profile()
    prof.enable()
    try:
        _run_script(self, rerun_data)
    finally:
        prof.disable()
        prof.dump_stats(OUT / f"script-{next(_runs):04d}.prof")


class _MainThread:
    """The event-loop thread's profiler, restarted on every ``SIGUSR1``."""

    def __init__(self) -> None:
        self.prof = cProfile.Profile()
        self.prof.enable()

    def dump(self, *_signal) -> None:
        self.prof.disable()
        self.prof.dump_stats(OUT / f"main-{next(_dumps):04d}.prof")
        self.prof = cProfile.Profile()
        self.prof.enable()


if __name__ == "__main__":
    serve.install()
    ScriptRunner._run_script = _profiled_run  # type: ignore[method-assign]
    signal.signal(signal.SIGUSR1, _MainThread().dump)
    sys.argv = ["streamlit", *sys.argv[1:]]
    cli.main()
