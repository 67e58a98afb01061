"""Build a model for the task a LoRA is trained for, on the meta device.

``build_for_task(config, "SEQ_CLS", num_labels=3)`` builds what a user loads for that task
(``AutoModelForSequenceClassification.from_config``): the backbone under its prefix
(``roberta.``, ``distilbert.``, ``model.``) and the new head (``classifier`` or ``score``)
that PEFT trains in full. ``None`` keeps the class the config names (:mod:`lora_core.model.skeleton`).
"""

from __future__ import annotations

import copy

import torch
import transformers
from transformers import PretrainedConfig

from ...errors import InputError
from ..skeleton import Skeleton, build_skeleton
from .types import supports, task_type

MAX_LABELS = 100_000


def check_num_labels(num_labels: int | None) -> None:
    """Refuse a label count a classification head cannot have."""
    if num_labels is None:
        return
    if isinstance(num_labels, bool) or not isinstance(num_labels, int) or not 1 <= num_labels <= MAX_LABELS:
        raise InputError("num_labels", f"must be a whole number from 1 to {MAX_LABELS:,}, got {num_labels!r}; "
                         "it is the number of classes the head predicts (2 for positive/negative)")


def build_for_task(config: PretrainedConfig, task: str | None, num_labels: int | None = None,
                   trust_remote_code: bool = False) -> Skeleton:
    """The meta model a user loads to train a LoRA for ``task`` (PEFT's ``task_type``).

    Raises:
        InputError: an unknown task, a task transformers has no class for on this model type,
            or a label count out of range.
    """
    if task is None:
        return build_skeleton(config, trust_remote_code=trust_remote_code)
    spec = task_type(task)
    check_num_labels(num_labels)
    if not supports(spec, config.model_type):
        raise InputError("task_type", f"transformers has no {spec.label} model for {config.model_type!r} "
                         f"({spec.auto_class} does not list it); choose another task type")
    cfg = copy.deepcopy(config)
    if spec.head and num_labels is not None:
        cfg.num_labels = num_labels
    auto_cls = getattr(transformers, spec.auto_class)
    try:
        with torch.device("meta"):
            model = auto_cls.from_config(cfg, trust_remote_code=trust_remote_code)
    except (ValueError, TypeError, AttributeError, KeyError, IndexError, RuntimeError, ArithmeticError,
            AssertionError, ImportError) as e:
        raise InputError("config", f"transformers could not build a {config.model_type} {spec.label} "
                         f"model from this config: {' '.join(str(e).split())[:300]}") from None
    model.config.architectures = [type(model).__name__]  # what is trained and served: the task's class
    return Skeleton(model, spec.auto_class, spec.name)
