"""The estimate against published, measured peaks (lora_core.memory.validation.CASES).

Each case is compared with the estimate of the same kind (allocated with allocated, reserved with
reserved). The acceptance band is ±15 % (±20 % for QLoRA); cases outside it stay in the table
with their reason (``KNOWN_GAPS``), and the test pins that list so a change that fixes or breaks
a case is noticed. Held-out cases (``holdout=True``) were not looked at while choosing constants.
"""

from __future__ import annotations

import pytest

from lora_core.memory.validation import CASES, markdown_table, trainable_of, validation_table

# id -> why the estimate misses it (kept in the table, out of the band check).
KNOWN_GAPS = {
    "litgpt-hub-llama2-7b-qlora-mb2": "LitGPT QLoRA runs measure ~0.4-0.55 byte/parameter more than every "
                                      "term we can source (bitsandbytes 0.50's MatMul4Bit saves nothing new); "
                                      "Lightning's BitsandbytesPrecision of that release was not inspected",
    "litgpt-hub-llama3-8b-qlora-mb2": "same unexplained LitGPT QLoRA term",
}


@pytest.fixture(scope="module")
def table():
    return validation_table()


def test_every_case_states_its_source_and_kind(table) -> None:
    assert len(table) == len(CASES) >= 17
    assert set(table["kind"]) == {"allocated", "reserved"}
    assert table["source"].str.len().min() > 20
    assert table["holdout"].sum() >= 5


@pytest.mark.parametrize("case", [c for c in CASES if c.trainable], ids=lambda c: c.id)
def test_plan_trains_the_parameters_the_source_states(case) -> None:
    assert trainable_of(case) == case.trainable


def test_cases_outside_the_band_are_exactly_the_known_gaps(table) -> None:
    outside = set(table.loc[~table["within"], "id"])
    assert outside == set(KNOWN_GAPS), table[["id", "ratio"]].to_string()
    assert (table.loc[table["id"].isin(KNOWN_GAPS), "ratio"] < 1).all()  # gaps are underestimates


@pytest.mark.parametrize("held_out", [False, True], ids=["calibration", "held-out"])
def test_band_holds_on_calibration_and_held_out_cases(table, held_out: bool) -> None:
    part = table[(table["holdout"] == held_out) & ~table["id"].isin(KNOWN_GAPS)]
    assert len(part) >= 5
    lora, qlora = part[part["method"] != "QLoRA"], part[part["method"] == "QLoRA"]
    assert ((lora["ratio"] - 1).abs() <= 0.15).all(), lora[["id", "ratio"]].to_string()
    assert ((qlora["ratio"] - 1).abs() <= 0.20).all(), qlora[["id", "ratio"]].to_string()


def test_markdown_table_has_one_row_per_case(table) -> None:
    text = markdown_table(table)
    assert text.count("\n") == len(table) + 1 and "| litgpt-phi15-lora-mb1 |" in text
