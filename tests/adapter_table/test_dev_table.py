"""Real published adapter_config.json files (tests/data/adapters/dev.json), each audited by the
product and compared with get_peft_model on the same meta model, loaded as a user loading it
for training: every one agrees, or both refuse it and the product's message carries PEFT's."""

from __future__ import annotations

import pytest

from .agreement import assert_agrees_with_peft
from .reference import load_table

DEV = load_table("dev")


def test_the_table_is_real_and_large_enough() -> None:
    assert len(DEV) >= 30
    assert len({e["id"] for e in DEV}) == len(DEV)
    for e in DEV:
        assert e["repo"] and e["path"].endswith("adapter_config.json") and len(e["commit"]) == 40
    tasks = {e["adapter"].get("task_type") for e in DEV}
    assert {"SEQ_CLS", "CAUSAL_LM", "SEQ_2_SEQ_LM", None} <= tasks


@pytest.mark.parametrize("entry", DEV, ids=[e["id"] for e in DEV])
def test_audit_agrees_with_peft(entry: dict) -> None:
    assert_agrees_with_peft(entry)
