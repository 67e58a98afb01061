"""A model's anatomy, read from its config alone: where it comes from, its meta skeleton, inventory, summary.

:func:`open_model` is the one way in: ``open_model(sources.from_preset("gpt2"))``.
"""

from .opened import OpenedModel, open_model

__all__ = ["OpenedModel", "open_model"]
