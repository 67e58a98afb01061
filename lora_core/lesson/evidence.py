"""The published evidence the lesson draws: the LoRA paper's Table 5, PEFT's MetaMathQA results,
and the later studies' findings, read from ``evidence.yaml`` (each number the source's own).

>>> [r.weights for r in load_evidence().table5][-1]
'W_q, W_k, W_v, W_o'
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd
import yaml

EVIDENCE_FILE = Path(__file__).with_name("evidence.yaml")


@dataclass(frozen=True)
class Table5Row:
    """One column of the LoRA paper's Table 5: weight types, rank, validation accuracy (%)."""

    weights: str
    keys: tuple[str, ...]
    rank: int
    wikisql: float
    multinli: float


@dataclass(frozen=True)
class MetaMathRow:
    """One run of PEFT's MetaMathQA comparison (its result file's own numbers)."""

    file: str
    method: str
    targets: str
    rank: int | None
    trainable: int
    memory_max_bytes: int
    test_accuracy: float


@dataclass(frozen=True)
class Finding:
    """A later study's qualitative finding, with its source."""

    source: str
    url: str
    finding: str


@dataclass(frozen=True)
class Evidence:
    """Everything ``evidence.yaml`` holds, with each block's source and setting."""

    table5: tuple[Table5Row, ...]
    table5_source: str
    table5_setting: str
    table5_url: str
    metamath: tuple[MetaMathRow, ...]
    metamath_source: str
    metamath_setting: str
    metamath_url: str
    findings: tuple[Finding, ...]

    def table5_frame(self) -> pd.DataFrame:
        """Table 5 as a frame: ``weights``, ``keys`` (comma-joined), ``rank``, ``wikisql``, ``multinli``."""
        return pd.DataFrame([dict(weights=r.weights, keys=",".join(r.keys), rank=r.rank, wikisql=r.wikisql,
                                  multinli=r.multinli) for r in self.table5])

    def metamath_frame(self) -> pd.DataFrame:
        """The MetaMathQA runs: ``method``, ``targets``, ``rank``, ``trainable``, ``memory_gb``
        (``accelerator_memory_max`` / 1e9), ``accuracy`` (%), ``file``."""
        return pd.DataFrame([dict(method=r.method, targets=r.targets, rank=r.rank, trainable=r.trainable,
                                  memory_gb=r.memory_max_bytes / 1e9, accuracy=r.test_accuracy * 100, file=r.file)
                             for r in self.metamath])


def beside_table5(budget: pd.DataFrame, evidence: Evidence) -> pd.DataFrame:
    """``budget.equal_budget``'s frame with the paper's rank (on GPT-3) and accuracies beside each
    set the paper measured (``paper_rank``, ``paper_wikisql``, ``paper_multinli``; blank otherwise)."""
    paper = evidence.table5_frame().rename(columns={"weights": "label", "rank": "paper_rank",
                                                    "wikisql": "paper_wikisql", "multinli": "paper_multinli"})
    return budget.merge(paper.drop(columns=["keys"]), on="label", how="left")


def parse_evidence(data: dict) -> Evidence:
    """An :class:`Evidence` from the YAML mapping."""
    t5, mm = data["lora_table5"], data["metamathqa"]
    return Evidence(
        tuple(Table5Row(r["weights"], tuple(r["keys"]), int(r["rank"]), float(r["wikisql"]), float(r["multinli"]))
              for r in t5["rows"]), t5["source"], t5["setting"], t5["url"],
        tuple(MetaMathRow(r["file"], r["method"], str(r["targets"]), r["rank"], int(r["trainable"]),
                          int(r["memory_max_bytes"]), float(r["test_accuracy"])) for r in mm["rows"]),
        mm["source"], mm["setting"], mm["url"],
        tuple(Finding(f["source"], f["url"], f["finding"]) for f in data["findings"]))


@lru_cache(maxsize=2)
def load_evidence(path: Path = EVIDENCE_FILE) -> Evidence:
    """The evidence, read once."""
    return parse_evidence(yaml.safe_load(path.read_text(encoding="utf-8")))
