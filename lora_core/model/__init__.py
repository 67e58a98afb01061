"""A model's anatomy, read from its config alone: where it comes from, its meta skeleton, inventory, summary.

:func:`open_model` is the one way in: ``open_model(sources.from_preset("gpt2"))``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .opened import OpenedModel, open_model

__all__ = ["OpenedModel", "open_model"]


def __getattr__(name: str) -> Any:
    """``OpenedModel`` and ``open_model`` imported on first use: importing a light submodule
    (``lora_core.model.presets``) does not load torch and transformers."""
    if name in __all__:
        from . import opened
        return getattr(opened, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
