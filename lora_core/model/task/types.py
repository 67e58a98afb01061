"""PEFT's task types, the transformers auto class a user loads for each, and the modules PEFT
adds to ``modules_to_save`` for it (asked of PEFT's own ``PeftModelFor...`` classes).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import lru_cache

from peft import LoraConfig
from peft.auto import MODEL_TYPE_TO_PEFT_MODEL_MAPPING
from torch import nn
from transformers.models.auto import modeling_auto as ma

from ...errors import InputError


@dataclass(frozen=True)
class TaskType:
    """One PEFT task type.

    Attributes:
        name: PEFT's ``task_type`` value (``SEQ_CLS``).
        label: what the app shows (``sequence classification``).
        auto_class: name of the transformers auto class a user loads for it.
        mapping: transformers' model_type -> class name mapping for that auto class.
        head: whether the task puts a new, randomly initialised head on the model (its size
            follows ``num_labels``).
    """

    name: str
    label: str
    auto_class: str
    mapping: dict[str, str]
    head: bool = False


TASK_TYPES: dict[str, TaskType] = {t.name: t for t in (
    TaskType("CAUSAL_LM", "causal language modelling", "AutoModelForCausalLM",
             ma.MODEL_FOR_CAUSAL_LM_MAPPING_NAMES),
    TaskType("SEQ_CLS", "sequence classification", "AutoModelForSequenceClassification",
             ma.MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING_NAMES, head=True),
    TaskType("TOKEN_CLS", "token classification", "AutoModelForTokenClassification",
             ma.MODEL_FOR_TOKEN_CLASSIFICATION_MAPPING_NAMES, head=True),
    TaskType("SEQ_2_SEQ_LM", "sequence-to-sequence", "AutoModelForSeq2SeqLM",
             ma.MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES),
    TaskType("FEATURE_EXTRACTION", "feature extraction", "AutoModel", ma.MODEL_MAPPING_NAMES),
)}


def task_type(name: str) -> TaskType:
    """The :class:`TaskType` PEFT calls ``name``.

    Raises:
        InputError: a task type PEFT has that this tool does not build, or an unknown one.
    """
    if name in TASK_TYPES:
        return TASK_TYPES[name]
    if name in MODEL_TYPE_TO_PEFT_MODEL_MAPPING:
        raise InputError("task_type", f"{name!r} is a PEFT task type this tool does not build yet; it "
                         f"builds {', '.join(TASK_TYPES)}")
    raise InputError("task_type", f"{name!r} is not a PEFT task type; use one of {', '.join(TASK_TYPES)}")


def supports(task: TaskType, model_type: str) -> bool:
    """Whether transformers has ``task``'s class for ``model_type``."""
    return model_type in task.mapping


class _Probe(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.probe = nn.Linear(2, 2)

    def prepare_inputs_for_generation(self, *args: object, **kwargs: object) -> None:
        """PEFT's generation wrappers read this attribute; the probe never generates."""


@lru_cache(maxsize=None)
def peft_added_modules(name: str) -> tuple[str, ...]:
    """The names PEFT's model class for task ``name`` appends to ``modules_to_save``.

    Asked of PEFT itself: its ``PeftModelForSequenceClassification`` (and the others) append
    them to the config when they wrap a model, so a one-Linear probe shows them
    (``SEQ_CLS`` -> ``('classifier', 'score')``; ``CAUSAL_LM`` -> ``()``).
    """
    config = LoraConfig(task_type=name, target_modules=["probe"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        MODEL_TYPE_TO_PEFT_MODEL_MAPPING[name](_Probe(), config)
    return tuple(config.modules_to_save or ())


def saved_by_task(names: list[str], task: str | None) -> list[bool]:
    """Per name (a module, or ``module.param``): does PEFT train it in full for ``task``?

    PEFT wraps every module whose full name ends with one of :func:`peft_added_modules` as
    plain text (``str.endswith``, so ``classifier`` also saves DistilBERT's ``pre_classifier``),
    and the whole module trains; a name is saved when it or one of its parents is.
    """
    added = peft_added_modules(task) if task in TASK_TYPES else ()
    if not added:
        return [False] * len(names)
    out = []
    for name in names:
        parts = name.split(".")
        prefixes = (".".join(parts[:i]) for i in range(1, len(parts) + 1))
        out.append(any(p.endswith(a) for p in prefixes for a in added))
    return out


def head_modules(model: nn.Module) -> list[str]:
    """The modules a task class adds around the backbone: top-level children other than the
    model's ``base_model_prefix`` (``classifier``, ``score``, T5's ``classification_head``)."""
    backbone = getattr(model, "base_model_prefix", "")
    return [n for n, m in model.named_children() if n != backbone and any(True for _ in m.parameters())]


def untrained_head_warning(model: nn.Module, task: str | None) -> str | None:
    """A warning when the task adds a new head that PEFT will not train (not named as PEFT saves)."""
    if task not in TASK_TYPES or not TASK_TYPES[task].head:
        return None
    added = peft_added_modules(task)
    missed = [n for n in head_modules(model) if not any(n.endswith(a) for a in added)]
    if not missed:
        return None
    return (f"PEFT's {task} model trains in full only modules named {' or '.join(added)}; this model's new "
            f"head is {', '.join(missed)}, which then stays at its random initialisation: add it to "
            "modules_to_save")
