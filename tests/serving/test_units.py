"""The name facts the serving rules read (``lora_core.serving.units``): built once per model, and
for each adapter exactly its units' own (names, leaves, templates, ranks, parameters, vision),
as pandas derived them per judgement before."""

from __future__ import annotations

from unittest.mock import patch

import pytest

from lora_core.planning import Plan, PlanIndex, Target, resolve
from lora_core.serving import adapter_of, judge_all
from lora_core.serving import units as units_module
from tests.helpers import cached_inventory, cached_skeleton

LLAMA = "meta-llama/Meta-Llama-3.1-8B"


@pytest.mark.parametrize("model", [LLAMA, "llava-hf/llava-1.5-7b-hf", "Qwen/Qwen3-30B-A3B", "openai-community/gpt2"])
def test_unit_arrays_are_the_wrapped_rows_facts(model):
    inv, skel = cached_inventory(model), cached_skeleton(model)
    index = PlanIndex(inv)
    resolved = resolve(Plan((Target("all-linear", 8), Target("embedding", 4), Target("experts", 16)), scope="all"),
                       index)
    a = adapter_of(resolved, skel.config)
    rows = resolved.rows
    assert len(rows) > 0
    assert list(a.u.name) == list(rows["name"]) and list(a.u.kind) == list(rows["kind"])
    assert list(a.u.leaf_names()) == list(rows["module"].str.rsplit(".", n=1).str[-1])
    assert list(a.u.model.templates[a.u.template]) == list(rows["name"].str.replace(r"\.(\d+)\.", ".{i}.", n=1,
                                                                                    regex=True))
    assert list(a.u.rank) == list(rows["rank"]) and list(a.u.alpha) == list(rows["alpha"])
    assert list(a.u.params) == list(rows["lora_params"])
    assert list(a.u.vision) == list(rows["stack"].isin(["vision", "projector"]))
    assert list(a.u.path_match(r"^model\.layers\.\d+\.")) == list(rows["name"].str.match(r"^model\.layers\.\d+\."))


def test_name_facts_are_built_once_per_model_not_per_judgement():
    inv, skel = cached_inventory(LLAMA), cached_skeleton(LLAMA)
    index = PlanIndex(inv)
    calls, real = [], units_module._build

    def counted(inventory):
        calls.append(len(inventory))
        return real(inventory)

    with patch.object(units_module, "_build", counted):
        for plan in (Plan((Target("q", 8), Target("v", 8))), Plan((Target("all-linear", 16),)),
                     Plan((Target("q", 8),), layers=(0, 1), dora=True)):
            judge_all(adapter_of(resolve(plan, index), skel.config))
    assert calls == [len(inv)]
