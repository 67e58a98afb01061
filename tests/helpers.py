"""Shared test helpers: presets built once per test session (inventories are read-only).

A skeleton handed to ``peft.get_peft_model`` is mutated, so PEFT comparisons must call
``fresh_skeleton`` rather than reuse the cached one.
"""

from __future__ import annotations

from functools import lru_cache

import pandas as pd

from lora_core.model import OpenedModel, open_model, presets, skeleton, sources

PRESETS: list[str] = presets.preset_ids()


@lru_cache(maxsize=None)
def cached_model(model_id: str) -> OpenedModel:
    """A preset opened once per session (skeleton, inventory, summary), shared and read-only."""
    return open_model(sources.from_preset(model_id))


def cached_skeleton(model_id: str) -> skeleton.Skeleton:
    """The meta skeleton of a preset, shared: never pass it to ``get_peft_model``."""
    return cached_model(model_id).skeleton


def fresh_skeleton(model_id: str) -> skeleton.Skeleton:
    """A new meta skeleton of a preset, safe to mutate."""
    return skeleton.build_skeleton(sources.from_preset(model_id).config)


def cached_inventory(model_id: str) -> pd.DataFrame:
    """The inventory of a preset (do not mutate it)."""
    return cached_model(model_id).inventory
