"""The Targets page's task choice: the task the plan is for (PEFT's ``task_type``).

Choosing classification rebuilds the model with its head (``AutoModelForSequenceClassification``,
the labels count settable); the count, the export (``task_type``), the recipes and the serving
badges then follow the model, cached per (model, task, labels) like any other model.
"""

from __future__ import annotations

import dataclasses

import streamlit as st

from lora_core.errors import InputError
from lora_core.model.task.types import TASK_TYPES, supports, untrained_head_warning

from ..common import state
from ..common.loaded_model import LoadedModel

TASK, LABELS = "tg_train_task", "tg_num_labels"


def _on_task() -> None:
    ss = st.session_state
    ref = ss[state.MODEL]
    task = ss.get(TASK)
    head = task in TASK_TYPES and TASK_TYPES[task].head
    labels = int(ss[LABELS]) if head and ss.get(LABELS) is not None else None
    new = dataclasses.replace(ref, task=task, num_labels=labels)
    try:
        state.set_model(new, ss[state.UPLOADS].get(ref.digest))
    except InputError as e:  # keep the model and the plan the user had
        ss[TASK] = ref.task or state.current_model().skeleton.task_type
        state.flash(f"The task could not be set: {e}")


def task_controls(model: LoadedModel) -> None:
    """The task select (only the tasks transformers builds for this model) and the labels count."""
    skel = model.skeleton
    offered = [t for t, spec in TASK_TYPES.items() if supports(spec, model.source.config.model_type)]
    current = skel.task_type if skel.task_type in offered else None
    options = offered if current else [None, *offered]
    ss = st.session_state
    if ss.get(TASK) not in options or ss.get(TASK) != current:
        ss[TASK] = current
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    left.selectbox("Train for", options, key=TASK, on_change=_on_task,
                   format_func=lambda t: f"{TASK_TYPES[t].label} ({t})" if t else f"as the config names ({skel.auto_class})",
                   help="The task the LoRA is trained for (PEFT's task_type): it builds that model class, "
                        "and a classification head is trained in full beside the adapters.")
    if current and TASK_TYPES[current].head:
        ss.setdefault(LABELS, int(getattr(skel.config, "num_labels", 2)))
        right.number_input("Labels", min_value=1, max_value=100_000, step=1, key=LABELS, on_change=_on_task,
                           help="Classes the head predicts; its size (hidden x labels) is trained in full.")
    note = untrained_head_warning(skel.model, skel.task_type)
    if note:
        st.warning(note, icon="⚠️")
