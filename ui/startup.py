"""What the server does once, before it accepts a connection: ``app``'s ``st.App`` lifespan.

``streamlit run app.py`` (or ``python -m ui.serve run app.py``, ``uvicorn app:app``) imports
``app.py`` as a module, finds its ``st.App`` and runs this lifespan first, whatever launched it:

- Nagle's algorithm off on every connection the server will accept (:func:`ui.serve.install`);
- the imports every page needs (torch, transformers, PEFT, plotly, the library and the pages'
  modules) and the default preset's model, built into the server's model cache, so the first
  visitor's first run does not pay them (10-12 s on a loaded 2-CPU machine);
- then what the warm-up left alive (about 480,000 objects, nearly all of the server's) moved out
  of the cyclic garbage collector's reach (``gc.freeze``): they live as long as the server, and
  each full collection used to walk them all with every session waiting (0.3-1 s, several times a
  minute with a class clicking; ``bench/bench_load.py``). Reference counting still frees them.

The warm-up runs in a worker thread; the server starts accepting when it is done (its health
check answers then), so a visitor never meets a half-warm server. ``LORA_EXPLORER_WARM=0``
skips it (then the first visitor pays, as before).
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import os
import pkgutil
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from . import serve

# Packages whose every module a page run may import, and the libraries they load lazily.
WARM_PACKAGES: tuple[str, ...] = ("lora_core", "ui")
WARM_LIBRARIES: tuple[str, ...] = ("torch", "transformers", "peft", "plotly.graph_objects")
WARM_ENV = "LORA_EXPLORER_WARM"


def warm_modules() -> list[str]:
    """Every module of :data:`WARM_PACKAGES` (``__main__`` entry points aside), then the libraries."""
    names = []
    for package in WARM_PACKAGES:
        path = importlib.import_module(package).__path__
        names += [m.name for m in pkgutil.walk_packages(path, package + ".") if not m.name.endswith("__main__")]
    return [*WARM_LIBRARIES, *names]


def warm_up() -> tuple[float, int]:
    """Import :func:`warm_modules`, load the default preset into the model cache, then
    :func:`freeze` what is alive; seconds spent and modules imported."""
    t0 = time.perf_counter()
    names = warm_modules()
    for name in names:
        importlib.import_module(name)
    from lora_core.model.presets import DEFAULT_PRESET

    from .common.loaded_model import ModelRef, load

    load(ModelRef("preset", DEFAULT_PRESET))
    freeze()
    return time.perf_counter() - t0, len(names)


def freeze() -> int:
    """Collect the garbage, then keep every object alive now out of later full collections
    (``gc.freeze``: the modules, classes and functions of the imports live as long as the server).
    Returns how many objects are frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


@asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    """Nagle off, then the warm-up (unless ``LORA_EXPLORER_WARM=0``), then serve."""
    serve.install()
    if os.environ.get(WARM_ENV, "1") != "0":
        seconds, modules = await asyncio.to_thread(warm_up)
        print(f"  Warmed up in {seconds:.1f} s ({modules} modules imported, the default preset built).", flush=True)
    yield
