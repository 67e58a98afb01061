"""A bound on how many modules building one model may create: the guard on a config's time.

The size limits (:mod:`lora_core.model.guards`) bound each field, not their product: an
encoder-decoder at 1,024 + 1,024 layers, or 2,048 experts per layer built as separate modules,
stays inside every limit and still creates tens of thousands of modules. Everything the tool
then does (inventory, PEFT's matching, plans, verdicts) costs time in proportion to the number
of modules, so counting them while the model is built bounds the time of any accepted config.
The count is kept per thread (the app builds models for several sessions at once) through
PyTorch's global module-registration hook, which sees every submodule as it is attached.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from torch import nn
from torch.nn.modules.module import register_module_module_registration_hook

# The largest published models build far fewer (Llama-3.1-405B 1,645 modules, DeepSeek-V3
# 1,215, Switch-Base-256 15,891); flan-t5 at 1,024 + 1,024 layers builds 47,119, which
# inspect and plan answer in 7 to 9 s of CPU each here. Past this bound a build is stopped;
# bench/bench_guard.py times the largest configs that stay inside it.
MAX_MODULES = 25_000


class ModuleBudgetExceeded(Exception):
    """Raised from inside a model's constructor when it attaches more than its budget."""


_state = threading.local()


def _on_register(module: nn.Module, name: str, submodule: nn.Module | None) -> None:
    budget = getattr(_state, "left", None)
    if budget is None or submodule is None:
        return
    _state.left = budget - 1
    if budget <= 0:
        raise ModuleBudgetExceeded(name)


_handle: Any = None
_lock = threading.Lock()


@contextmanager
def module_budget(limit: int = MAX_MODULES) -> Iterator[None]:
    """Within the block, this thread may attach at most ``limit`` submodules; one more raises
    :class:`ModuleBudgetExceeded` inside the constructor that attaches it."""
    global _handle
    with _lock:
        if _handle is None:  # one hook for the process; threads outside a budget pass through
            _handle = register_module_module_registration_hook(_on_register)
    outer = getattr(_state, "left", None)
    _state.left = limit
    try:
        yield
    finally:
        _state.left = outer
