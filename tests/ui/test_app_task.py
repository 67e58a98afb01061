"""Targets page: the task the plan is for. Choosing sequence classification builds the model with
its head, the count is PEFT's (head included), the labels count changes it, the export carries
task_type, and the link keeps the task."""

from __future__ import annotations

import copy
import json
import warnings

from peft import get_peft_model

from lora_core.model import sources
from lora_core.planning.export import to_lora_config
from lora_core.model.inventory import build_inventory
from lora_core.planning import PRESET_PLANS, count
from lora_core.recipes import write_all
from lora_core.model.task.build import build_for_task
from tests.adapter_table.reference import load_table, peft_figure
from tests.app_support import model_of, open_app, plan_of, shown_trainable
from ui.common.loaded_model import load

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


def test_export_import_of_a_classification_adapter_switches_to_its_task() -> None:
    entry = next(e for e in load_table("dev") if e["id"] == "roberta-seqcls-twitter-r32")
    at = open_app("pages/export.py", model=ROBERTA)
    data = json.dumps(entry["adapter"]).encode()
    at.file_uploader(key="ex_import").upload("adapter_config.json", data, "application/json").run()
    at.button(key="ex_import_run").click().run()
    assert not at.error, [e.value for e in at.error]
    at.button(key="ex_import_apply").click().run()
    assert model_of(at).task == "SEQ_CLS"
    model = load(model_of(at))
    assert count(plan_of(at), model.index).trainable == peft_figure(entry["adapter"], entry["base"]).trainable


def test_recipes_say_where_a_trainer_does_not_train_the_task() -> None:
    skel = build_for_task(sources.from_preset("meta-llama/Meta-Llama-3.1-8B").config, "SEQ_CLS", 3)
    recipes = write_all(PRESET_PLANS["Attention Q,V r8 (classic)"], build_inventory(skel), skel, "meta-llama/x")
    assert recipes["peft"].statement.exact and recipes["python"].statement.exact
    assert "task_type CAUSAL_LM" in recipes["llamafactory"].statement.refused
    assert "type_of_model: AutoModelForSequenceClassification" in recipes["axolotl"].statement.refused
    assert not recipes["unsloth"].statement.exact
