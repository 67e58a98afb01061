"""Imported variant and classification adapters, exported again and described for the engines:
the round trip keeps PEFT's count, and the tensors the engines are judged on are the ones PEFT saves."""

from __future__ import annotations

import copy
import warnings

import pytest
from peft import get_peft_model, get_peft_model_state_dict

from lora_core.planning.export import config_dict, to_lora_config
from lora_core.model.inventory import build_inventory
from lora_core.planning import PlanIndex
from lora_core.serving import describe, judge_all, peft_tensors
from lora_core.model.task.build import build_for_task

from .product import product_figure
from .reference import base_config, load_table, peft_figure

DEV = {e["id"]: e for e in load_table("dev")}
IDS = ["peft-metamathqa-rank14-target-mlp-bdlora", "peft-metamathqa-rank32-kasa", "peft-metamathqa-rank32-mica",
       "roberta-seqcls-twitter-r32", "distilbert-seqcls-emotion"]


@pytest.mark.parametrize("entry_id", IDS)
def test_round_trip_and_tensors_are_peft_s(entry_id: str) -> None:
    entry = DEV[entry_id]
    ours = product_figure(entry["adapter"], entry["base"])
    audit = ours.audit
    task = entry["adapter"].get("task_type")
    config = base_config(entry["base"])
    skel = build_for_task(config, task)
    inv = build_inventory(skel)
    exported = to_lora_config(audit.plan, inv, skel)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = get_peft_model(build_for_task(config, task).model, copy.deepcopy(exported), low_cpu_mem_usage=True)
        saved = {k: tuple(v.shape) for k, v in get_peft_model_state_dict(model).items()}
    assert int(model.get_nb_trainable_parameters()[0]) == peft_figure(entry["adapter"], entry["base"]).trainable
    adapter = describe(audit.plan, PlanIndex(inv), config)
    assert peft_tensors(adapter) == saved
    assert set(judge_all(adapter)) == {"vllm", "sglang", "tgi", "lorax"}


def test_the_badges_judge_the_task_the_plan_is_for() -> None:
    from lora_core.model import sources
    from lora_core.planning import PRESET_PLANS

    config = sources.from_preset("meta-llama/Meta-Llama-3.1-8B").config
    skel = build_for_task(config, "SEQ_CLS", 4)
    index = PlanIndex(build_inventory(skel))
    adapter = describe(PRESET_PLANS["Attention Q,V r8 (classic)"], index, skel.config)
    assert adapter.cfg("task_type") == "SEQ_CLS" and adapter.model.arch == "LlamaForSequenceClassification"
    verdicts = judge_all(adapter)
    exported = to_lora_config(PRESET_PLANS["Attention Q,V r8 (classic)"], index.inventory, skel)
    assert judge_all(describe(PRESET_PLANS["Attention Q,V r8 (classic)"], index, skel.config,
                              config_dict(exported))) == verdicts  # the badge (no export) = the exported file
    for engine in ("tgi", "lorax"):  # engines that never load the head say so
        assert any("score" in r for r in verdicts[engine].reasons)
