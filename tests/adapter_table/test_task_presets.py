"""Every task type on every preset that transformers builds it for: the plan's count (LoRA plus
the head PEFT trains in full) equals get_peft_model on the meta model, with the exported config."""

from __future__ import annotations

import pytest

from lora_core.model import inventory, sources
from lora_core.planning import PRESET_PLANS, Plan, PlanIndex, Target
from lora_core.model.task.build import build_for_task
from lora_core.model.task.types import TASK_TYPES, supports, untrained_head_warning
from lora_core.planning.verify import verify

from tests.helpers import PRESETS

CASES = [(m, t) for m in PRESETS for t in TASK_TYPES
         if supports(TASK_TYPES[t], sources.from_preset(m).config.model_type)]


def _plan(index: PlanIndex) -> Plan:
    classic = PRESET_PLANS["Attention Q,V r8 (classic)"]
    if all(index.mask(t.key).any() for t in classic.targets):
        return classic
    return Plan((Target("attention", 8),))


def test_every_preset_has_a_task_and_classification_is_offered() -> None:
    tasks = {t for _, t in CASES}
    assert set(TASK_TYPES) == tasks
    assert ("distilbert/distilbert-base-uncased-finetuned-sst-2-english", "SEQ_CLS") in CASES


@pytest.mark.parametrize("model_id, task", CASES, ids=[f"{m}-{t}" for m, t in CASES])
def test_task_count_equals_peft(model_id: str, task: str) -> None:
    config = sources.from_preset(model_id).config
    skel = build_for_task(config, task, 3 if TASK_TYPES[task].head else None)
    inv = inventory.build_inventory(skel)
    result = verify(_plan(PlanIndex(inv)), inv, lambda: build_for_task(config, task, 3 if TASK_TYPES[task].head else None))
    assert result.ok, result.diff
    if TASK_TYPES[task].head:  # the head is counted, or the plan says PEFT leaves it untrained
        assert inv["task_saved"].any() != bool(untrained_head_warning(skel.model, task))
