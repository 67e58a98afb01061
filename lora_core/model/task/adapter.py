"""The model an adapter is trained on: its ``task_type`` decides the class (and the head PEFT
trains in full), as a user loading it for training would build it."""

from __future__ import annotations

import dataclasses
from typing import Any

import pandas as pd
from transformers import PretrainedConfig

from ..inventory import build_inventory
from ..skeleton import Skeleton
from .build import build_for_task


def adapter_task(data: dict[str, Any]) -> str | None:
    """The file's ``task_type`` (``None`` when absent or null: a plain ``PeftModel``)."""
    task = data.get("task_type")
    return task if isinstance(task, str) and task else None


def model_for_adapter(data: dict[str, Any], config: PretrainedConfig, skel: Skeleton, inventory: pd.DataFrame,
                      num_labels: int | None = None,
                      trust_remote_code: bool = False) -> tuple[Skeleton, pd.DataFrame]:
    """``skel``/``inventory`` when they already are the adapter's task's model, else that model built.

    A file with no task type is read on the model as opened, without a task (PEFT wraps it in a
    plain ``PeftModel``, which saves no head).
    """
    task = adapter_task(data)
    if task is None and inventory["task_saved"].any():  # a plain PeftModel saves no head: same model, no task
        plain = dataclasses.replace(skel, task_type=None)
        return plain, build_inventory(plain)
    if task is None or (task == skel.task_type and num_labels is None):
        return skel, inventory
    built = build_for_task(config, task, num_labels, trust_remote_code=trust_remote_code)
    return built, build_inventory(built)
