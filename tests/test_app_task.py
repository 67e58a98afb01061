"""Targets page: the task the plan is for. Choosing sequence classification builds the model with
its head, the count is PEFT's (head included), the labels count changes it, the export carries
task_type, and the link keeps the task."""

from __future__ import annotations

import copy
import warnings

from peft import get_peft_model

from lora_core.export import to_lora_config
from lora_core.task.build import build_for_task
from tests.app_support import model_of, open_app, plan_of, shown_trainable
from ui.models import load

ROBERTA = "FacebookAI/roberta-base"


def _peft_count(at) -> int:
    model = load(model_of(at))
    config = to_lora_config(plan_of(at), model.inventory, model.skeleton)
    ref = model_of(at)
    skel = build_for_task(model.source.config, ref.task, ref.num_labels)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        peft_model = get_peft_model(skel.model, copy.deepcopy(config), low_cpu_mem_usage=True)
    assert config.task_type == (ref.task or model.skeleton.task_type)
    return int(peft_model.get_nb_trainable_parameters()[0])


def test_sequence_classification_counts_the_head_and_follows_labels() -> None:
    at = open_app("pages/targets.py", model=ROBERTA)
    before = shown_trainable(at)
    at.selectbox(key="tg_train_task").set_value("SEQ_CLS").run()
    assert model_of(at).task == "SEQ_CLS"
    two = shown_trainable(at)
    assert two == _peft_count(at) and two > before
    at.number_input(key="tg_num_labels").set_value(7).run()
    assert model_of(at).num_labels == 7
    seven = shown_trainable(at)
    hidden = load(model_of(at)).source.config.hidden_size
    assert seven == _peft_count(at) and seven - two == 5 * (hidden + 1)  # out_proj: 5 more rows and biases
    assert at.query_params["task"] == "SEQ_CLS" and at.query_params["labels"] == "7"
    assert not at.exception


def test_a_classification_preset_opens_as_classification() -> None:
    at = open_app("pages/targets.py", model="distilbert/distilbert-base-uncased-finetuned-sst-2-english")
    assert at.selectbox(key="tg_train_task").value == "SEQ_CLS"
    assert shown_trainable(at) == _peft_count(at)
