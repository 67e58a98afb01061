"""The held-out real adapters (tests/data/adapters/heldout.json): collected with the development
set, never run while the code was written, run once at the end. Same check as the dev table."""

from __future__ import annotations

import pytest

from .agreement import assert_agrees_with_peft
from .reference import load_table

HELDOUT = load_table("heldout")


@pytest.mark.parametrize("entry", HELDOUT, ids=[e["id"] for e in HELDOUT])
def test_heldout_audit_agrees_with_peft(entry: dict) -> None:
    assert_agrees_with_peft(entry)
