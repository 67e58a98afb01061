"""Equal budget: each target set's rank is the largest at which PEFT itself trains no more than
the budget (get_peft_model on the meta model at rank r and r + 1), the budget is PEFT's count
of Q,V at rank 8, and the counts shown are PEFT's."""

from __future__ import annotations

import pytest

from lora_core.lesson.budget import (DEFAULT_BUDGET_PLAN, TARGET_SETS, TargetSet, default_budget, equal_budget,
                                     set_plan)
from lora_core.planning import PlanIndex
from lora_core.planning.verify import verify
from tests.helpers import cached_inventory, fresh_skeleton

# A GQA model, a fused-QKV model, Conv1D GPT-2, MLA + MoE DeepSeek-V3 and an MoE without dense FFN.
MODELS = ["meta-llama/Meta-Llama-3.1-8B", "microsoft/Phi-3-mini-4k-instruct", "openai-community/gpt2",
          "Qwen/Qwen3-30B-A3B", "deepseek-ai/DeepSeek-V3"]


def _peft(model_id: str, plan) -> int:
    v = verify(plan, cached_inventory(model_id), lambda: fresh_skeleton(model_id))
    assert v.ok, v.diff
    return v.peft_trainable


@pytest.mark.parametrize("model_id", MODELS)
def test_equal_budget_ranks_match_peft(model_id):
    index = PlanIndex(cached_inventory(model_id))
    budget = default_budget(index)
    assert budget == _peft(model_id, DEFAULT_BUDGET_PLAN)
    table = equal_budget(index)
    assert list(table["label"]) == [s.label for s in TARGET_SETS]
    for row in table.itertuples(index=False):
        keys = tuple(row.keys.split(","))
        if row.rank == 0:
            assert row.note
            assert _peft(model_id, set_plan(keys, 1)) > budget  # these presets have every key
            continue
        at_rank = _peft(model_id, set_plan(keys, row.rank))
        assert at_rank == row.trainable <= budget
        assert _peft(model_id, set_plan(keys, row.rank + 1)) > budget, row.label


def test_llama_reproduces_table5_pattern():
    """Llama-3.1-8B's K and V have the same shape, so as in the paper two matrices share rank 8 and
    all four attention projections get rank 4 at the budget of Q,V at rank 8."""
    table = equal_budget(PlanIndex(cached_inventory("meta-llama/Meta-Llama-3.1-8B"))).set_index("label")
    assert table.loc["W_q, W_v", "rank"] == 8 and table.loc["W_q, W_k", "rank"] == 8
    assert table.loc["W_q, W_k, W_v, W_o", "rank"] == 4


def test_a_set_the_model_lacks_gets_no_rank_and_a_note():
    index = PlanIndex(cached_inventory("meta-llama/Meta-Llama-3.1-8B"))
    table = equal_budget(index, sets=(TargetSet("experts", ("experts",), paper=False),))
    assert table.loc[0, "rank"] == 0 and table.loc[0, "note"] == "this model has no experts"
