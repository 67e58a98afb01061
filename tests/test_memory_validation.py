"""The estimate against published, measured peaks (lora_core.memory.validation.CASES).

Each case is compared with the estimate of the same kind (allocated with allocated, reserved with
reserved). The acceptance band is ±15 % (±20 % for QLoRA); cases outside it stay in the table
with their reason (``KNOWN_GAPS``), and the test pins that list so a change that fixes or breaks
a case is noticed. Held-out cases (``holdout=True``) were not looked at while choosing constants.
"""

from __future__ import annotations

import pytest

from lora_core.memory.validation import CASES, markdown_table, trainable_of, validation_table

# Cases outside ±15 % (all QLoRA, all inside ±20 %) -> why. Kept in the table; the test pins the list.
QLORA_2024 = ("LitGPT's 2024 QLoRA runs (Lightning 2.3 dev, bitsandbytes 0.42.0) keep about 3 bf16 tensors of "
              "the FFN width per layer and token more than every term sourced from their code; the 2023 "
              "runs (bitsandbytes 0.41.1) are within 5 %")
OUTSIDE_15 = {"litgpt-hub-llama2-7b-qlora-mb2": QLORA_2024, "litgpt-hub-llama3-8b-qlora-mb2": QLORA_2024,
              "litgpt-hub-falcon-7b-qlora-mb1": QLORA_2024, "litgpt-hub-gemma-2b-qlora-mb2": QLORA_2024,
              "litgpt-hub-tinyllama-qlora-mb8": QLORA_2024}


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


def test_every_case_is_within_its_band(table) -> None:
    """±15 %, QLoRA ±20 %, estimate and measurement of the same kind."""
    assert table["within"].all(), table.loc[~table["within"], ["id", "ratio"]].to_string()


def test_cases_outside_15_percent_are_the_listed_qlora_ones(table) -> None:
    outside = table[(table["ratio"] - 1).abs() > 0.15]
    assert set(outside["id"]) == set(OUTSIDE_15), outside[["id", "ratio"]].to_string()
    assert (outside["method"] == "QLoRA").all() and (outside["ratio"] < 1).all()
    share = 1 - len(outside) / len(table)
    assert share >= 0.8  # acceptance asks for 0.9: not met (README, docs/memory.md)


@pytest.mark.parametrize("held_out", [False, True], ids=["calibration", "held-out"])
def test_band_holds_on_calibration_and_held_out_cases(table, held_out: bool) -> None:
    part = table[table["holdout"] == held_out]
    assert len(part) >= 5
    lora, qlora = part[part["method"] != "QLoRA"], part[part["method"] == "QLoRA"]
    assert ((lora["ratio"] - 1).abs() <= 0.15).all(), lora[["id", "ratio"]].to_string()
    assert ((qlora["ratio"] - 1).abs() <= 0.20).all(), qlora[["id", "ratio"]].to_string()


def test_markdown_table_has_one_row_per_case(table) -> None:
    text = markdown_table(table)
    assert text.count("\n") == len(table) + 1 and "| litgpt-phi15-lora-mb1 |" in text
