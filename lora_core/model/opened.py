"""Opening a model: source -> meta skeleton -> inventory (-> summary), the one path every caller takes.

The app (``ui.common.loaded_model``), the CLI, the memory validation, the tests' helpers and the
bench scripts all call :func:`open_model`; none builds the pipeline itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import pandas as pd
from transformers import PretrainedConfig

from .inventory import build_inventory
from .skeleton import Skeleton, build_skeleton
from .sources import ModelSource, from_config
from .summary import ModelSummary, summarize


@dataclass(frozen=True)
class OpenedModel:
    """A model opened from its config: where it came from, its meta skeleton and inventory.

    The skeleton is shared by whoever holds this object: never hand it to ``get_peft_model``
    (build a fresh one with :func:`lora_core.model.skeleton.build_skeleton`).
    """

    source: ModelSource
    skeleton: Skeleton = field(repr=False)
    inventory: pd.DataFrame = field(repr=False)

    @cached_property
    def summary(self) -> ModelSummary:
        """Headline figures (built on first use)."""
        return summarize(self.skeleton, self.inventory)


def open_model(source: ModelSource | PretrainedConfig) -> OpenedModel:
    """Build ``source``'s meta skeleton and its inventory (raises ``InputError`` for a bad config).

    A bare ``PretrainedConfig`` is opened as :func:`lora_core.model.sources.from_config` reads it.
    """
    src = source if isinstance(source, ModelSource) else from_config(source)
    skel = build_skeleton(src.config, trust_remote_code=src.trust_remote_code)
    return OpenedModel(src, skel, build_inventory(skel))
