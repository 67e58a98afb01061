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
from .skeleton import Skeleton
from .sources import ModelSource, from_config
from .summary import ModelSummary, summarize
from .task.build import build_for_task


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


def open_model(source: ModelSource | PretrainedConfig, task: str | None = None,
               num_labels: int | None = None) -> OpenedModel:
    """Build ``source``'s meta skeleton and its inventory (raises ``InputError`` for a bad config).

    A bare ``PretrainedConfig`` is opened as :func:`lora_core.model.sources.from_config` reads it.
    ``task`` (PEFT's ``task_type``) builds the class a user loads to train for it, with its head
    (``num_labels`` classes); ``None`` builds the class the config names
    (:mod:`lora_core.model.task`).
    """
    src = source if isinstance(source, ModelSource) else from_config(source)
    skel = build_for_task(src.config, task, num_labels, trust_remote_code=src.trust_remote_code)
    return OpenedModel(src, skel, build_inventory(skel))
