"""Every number the lesson shows from a source equals the source's own, pinned in
tests/lesson/data/lesson_evidence_sources.json (which names the table, or the PEFT result file, its
commit and the JSON field of each number)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lora_core.lesson import charts
from lora_core.lesson.budget import equal_budget
from lora_core.lesson.evidence import beside_table5, load_evidence
from lora_core.planning import PlanIndex
from tests.helpers import cached_inventory

SOURCES = json.loads((Path(__file__).parent / "data" / "lesson_evidence_sources.json").read_text())
EV = load_evidence()


def test_table5_is_the_papers():
    t5 = SOURCES["table5"]
    assert "arXiv:2106.09685" in t5["source"] and "Table 5" in t5["source"]
    assert "arXiv:2106.09685" in EV.table5_source and "Table 5" in EV.table5_source
    assert [r.weights for r in EV.table5] == t5["columns"]
    assert [r.rank for r in EV.table5] == t5["rank"]
    assert [r.wikisql for r in EV.table5] == t5["WikiSQL (±0.5%)"]
    assert [r.multinli for r in EV.table5] == t5["MultiNLI (±0.1%)"]
    assert "18M" in EV.table5_setting and t5["trainable_params"] == "18M"


def test_table5_keys_name_the_weight_types():
    letters = {"q": "W_q", "k": "W_k", "v": "W_v", "o": "W_o"}
    for r in EV.table5:
        assert ", ".join(letters[k] for k in r.keys) == r.weights


PINNED = {r["file"].rsplit("/", 1)[1]: r for r in SOURCES["metamathqa"]["results"]}


@pytest.mark.parametrize("row", EV.metamath, ids=[r.file for r in EV.metamath])
def test_metamathqa_numbers_are_the_result_files(row):
    src = PINNED[row.file]
    assert src["file"] == f"method_comparison/MetaMathQA/results/{row.file}"
    assert row.trainable == src["train_info.num_trainable_params"]
    assert row.memory_max_bytes == src["train_info.accelerator_memory_max"]
    assert row.test_accuracy == src["train_info.metrics[step=5000].test accuracy"]
    kind = src["run_info.peft_config.peft_type"]
    if kind == "ADALORA":  # its r is unused: ranks start at init_r and are pruned to target_r
        assert row.rank is None
        assert f"{src['run_info.peft_config.init_r']} pruned to {src['run_info.peft_config.target_r']}" in row.method
    else:
        assert row.rank == src["run_info.peft_config.r"]
    targets = set(src["run_info.peft_config.target_modules"] or [])
    named = {"Q,V": {"q_proj", "v_proj"}, "MLP (gate, up, down)": {"gate_proj", "up_proj", "down_proj"},
             "all linear": {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"},
             "all weights": set()}
    assert targets == named[row.targets]
    assert src["run_info.train_config.model_id"] == "meta-llama/Llama-3.2-3B"


def test_metamathqa_source_names_the_commit():
    assert SOURCES["metamathqa"]["commit"] == load_evidence().metamath_url.rsplit("/tree/", 1)[1].split("/")[0]
    assert len(PINNED) == len(EV.metamath)


def test_the_mlp_r10_vs_qv_r32_claim_holds_in_the_numbers():
    """The issue's claim: MLP-only at rank 10 beat Q,V at rank 32 at about the same 9M parameters."""
    by = {(r.targets, r.method, r.rank): r for r in EV.metamath}
    mlp, qv = by[("MLP (gate, up, down)", "LoRA", 10)], by[("Q,V", "LoRA", 32)]
    assert mlp.test_accuracy > qv.test_accuracy
    assert abs(mlp.trainable - qv.trainable) / qv.trainable < 0.05


def test_charts_plot_the_sources_numbers():
    fig = charts.table5_dots(EV.table5_frame()).validated()
    assert sorted(fig.data[0].x) == sorted(SOURCES["table5"]["WikiSQL (±0.5%)"])
    assert sorted(fig.data[1].x) == sorted(SOURCES["table5"]["MultiNLI (±0.1%)"])
    bars = charts.metamath_bars(EV.metamath_frame()).validated()
    assert sorted(bars.data[0].x) == sorted(round(r["train_info.metrics[step=5000].test accuracy"] * 100, 2)
                                            for r in PINNED.values())
    assert sorted(c[0] for c in bars.data[0].customdata) == sorted(r["train_info.num_trainable_params"]
                                                                   for r in PINNED.values())
    assert sorted(c[1] for c in bars.data[0].customdata) == sorted(round(r["train_info.accelerator_memory_max"] / 1e9, 2)
                                                                   for r in PINNED.values())
    assert all(f.url.startswith("https://") and f.source for f in EV.findings)


def test_budget_table_puts_the_papers_numbers_beside_the_same_set():
    table = beside_table5(equal_budget(PlanIndex(cached_inventory("meta-llama/Meta-Llama-3.1-8B"))), EV)
    row = table.set_index("label").loc["W_q, W_v"]
    t5 = SOURCES["table5"]
    i = t5["columns"].index("W_q, W_v")
    assert (row["paper_rank"], row["paper_wikisql"], row["paper_multinli"]) == (
        t5["rank"][i], t5["WikiSQL (±0.5%)"][i], t5["MultiNLI (±0.1%)"][i])
    assert table.set_index("label")["paper_wikisql"].isna().sum() == 2  # FFN only, all linear
