"""The estimate against published, measured peaks (tests.memory.validation_cases.CASES).

Each case is compared with the estimate of the same kind (allocated with allocated, reserved with
reserved). The acceptance band is ±15 % (±20 % for QLoRA); cases outside it stay in the table
with their reason (``KNOWN_GAPS``), and the test pins that list so a change that fixes or breaks
a case is noticed. Held-out cases (``holdout=True``) were not looked at while choosing constants.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.memory.validation_cases import CASES, markdown_table, trainable_of, validation_table
from tests.memory.validation_third_cases import CASES as THIRD_CASES
from tests.memory.validation_third_cases import STEPS1000

# Cases outside ±15 % (each must be inside its band) -> why. Kept in the table; the test pins the list.
# Empty since the previous step's retention (keeps_previous_step) and Fabric's fp32 logits were read
# from LitGPT's and Lightning's code; before, the five 2024 LitGPT QLoRA runs sat at 0.82-0.85.
OUTSIDE_15: dict[str, str] = {
    "torchtune-may24-llama2-7b-qlora-compiled": "0.83 (inside QLoRA's ±20 %): torch 2.3's compile of the 0.1 "
    "recipe's model (utils.wrap_compile, torchao 0.1) not read yet; seen in the third held-out run",
    "peft-mmq-llama32-3b-lora-r64-steps1000": "1.20: " + STEPS1000,
}
# Cases outside their own band (±15 %, QLoRA ±20 %), each also in OUTSIDE_15.
OUTSIDE_BAND = ("peft-mmq-llama32-3b-lora-r64-steps1000",)
QLORA_2024 = ("litgpt-hub-llama2-7b-qlora-mb2", "litgpt-hub-llama3-8b-qlora-mb2", "litgpt-hub-falcon-7b-qlora-mb1",
              "litgpt-hub-gemma-2b-qlora-mb2", "litgpt-hub-tinyllama-qlora-mb8")


@pytest.fixture(scope="module")
def table():
    return validation_table()


def test_every_case_states_its_source_and_kind(table) -> None:
    assert len(table) == len(CASES) >= 69
    assert set(table["kind"]) == {"allocated", "reserved", "nvidia_smi", "training", "init"}
    assert table["source"].str.len().min() > 20
    assert table["holdout"].sum() >= 5


@pytest.mark.parametrize("case", [c for c in CASES if c.trainable], ids=lambda c: c.id)
def test_plan_trains_the_parameters_the_source_states(case) -> None:
    assert trainable_of(case) == case.trainable


def test_every_case_is_within_its_band(table) -> None:
    """±15 %, QLoRA ±20 %, estimate and measurement of the same kind, but the listed gaps."""
    outside = table.loc[~table["within"], ["id", "ratio"]]
    assert set(outside["id"]) == set(OUTSIDE_BAND) <= set(OUTSIDE_15), outside.to_string()
    qlora = table[table["method"] == "QLoRA"]
    assert qlora["within"].all()  # the acceptance: QLoRA within ±20 %


def test_third_held_out_set_is_in_the_table_as_seen(table) -> None:
    """The 12 cases of bench/memory_holdout.py --third were run once, so they are seen: in the table,
    not held out."""
    part = table[table["id"].isin([c.id for c in THIRD_CASES])]
    assert len(part) == len(THIRD_CASES) == 12 and not part["holdout"].any()


def test_steps1000_gap_is_the_data_not_the_settings(table) -> None:
    """The 1000-step MetaMathQA run states the settings of the 5000-step one (same transformers 4.52.4
    and torch 2.7.1 in both JSONs): the same estimate, 12 % apart in measurement. No settings-based
    term can fit both; the difference is the longest padded batch among the steps drawn."""
    rows = table.set_index("id").loc[["peft-mmq-llama32-3b-lora-r64-steps1000", "peft-mmq-llama32-3b-lora-r64-qv"]]
    assert rows["estimate"].iloc[0] == rows["estimate"].iloc[1]
    assert rows["measured"].iloc[1] / rows["measured"].iloc[0] > 1.12


def test_cases_outside_15_percent_are_the_listed_ones(table) -> None:
    outside = table[(table["ratio"] - 1).abs() > 0.15]
    assert set(outside["id"]) == set(OUTSIDE_15), outside[["id", "ratio"]].to_string()
    assert 1 - len(outside) / len(table) >= 0.9  # the acceptance: 90 % within ±15 %


def test_previous_step_is_what_the_2024_qlora_runs_kept() -> None:
    """The previous step's kept inputs (keeps_previous_step) are the largest term the 2024 LitGPT
    QLoRA runs missed: without it they sit at 0.86-0.93 (0.82-0.85 before Fabric's fp32 logits,
    LitGPT's K/V expansion and the forward's dequantized lm_head were counted too), with it at
    0.94-1.03. (Without it the backward phase is their peak, which since a block's FFN gradients are
    counted (lora_core/memory/compiled.py working_bytes) sits 1-2 points higher than before.)"""
    cases = tuple(c for c in CASES if c.id in QLORA_2024)
    assert len(cases) == len(QLORA_2024)
    without = validation_table(tuple(replace(c, settings=replace(c.settings, keeps_previous_step=False))
                                     for c in cases))
    with_it = validation_table(cases)
    assert ((with_it["ratio"] - 1).abs() < 0.07).all(), with_it[["id", "ratio"]].to_string()
    assert (with_it["ratio"] - without["ratio"] > 0.01).all()
    assert (with_it["ratio"] - 1).abs().mean() < (without["ratio"] - 1).abs().mean() / 2


@pytest.mark.parametrize("held_out", [False, True], ids=["calibration", "held-out"])
def test_band_holds_on_calibration_and_held_out_cases(table, held_out: bool) -> None:
    part = table[(table["holdout"] == held_out) & ~table["id"].isin(OUTSIDE_BAND)]
    assert len(part) >= 5
    lora, qlora = part[part["method"] != "QLoRA"], part[part["method"] == "QLoRA"]
    assert ((lora["ratio"] - 1).abs() <= 0.15).all(), lora[["id", "ratio"]].to_string()
    assert ((qlora["ratio"] - 1).abs() <= 0.20).all(), qlora[["id", "ratio"]].to_string()


def test_markdown_table_has_one_row_per_case(table) -> None:
    text = markdown_table(table)
    assert text.count("\n") == len(table) + 1 and "| litgpt-phi15-lora-mb1 |" in text
