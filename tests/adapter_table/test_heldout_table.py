"""The held-out real adapters (tests/data/adapters/heldout.json): collected with the development
set, never run while the code was written, run once at the end. Same check as the dev table."""

from __future__ import annotations

import pytest

from .product import product_figure
from .reference import load_table, peft_figure

HELDOUT = load_table("heldout")


@pytest.mark.parametrize("entry", HELDOUT, ids=[e["id"] for e in HELDOUT])
def test_heldout_audit_agrees_with_peft(entry: dict) -> None:
    ref = peft_figure(entry["adapter"], entry["base"])
    ours = product_figure(entry["adapter"], entry["base"])
    if ref.error is not None:
        assert ours.error is not None and ref.error.split(": ", 1)[-1][:60] in ours.error
    else:
        assert ours.error is None, ours.error
        assert ours.trainable == ref.trainable
