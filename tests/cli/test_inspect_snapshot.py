"""The shipped preset snapshots (lora_core.model.snapshot) equal the live build, and are used only
when the libraries, the preset's config and the code that made them are this install's."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from lora_core.cli import inspect as cli_inspect
from lora_core.model import open_model, presets, snapshot, sources

ROOT = Path(__file__).resolve().parents[2]
REGENERATE = "run `python -m lora_core.model.snapshot_write` and commit lora_core/model/snapshots/"


@pytest.fixture(autouse=True)
def _snapshots_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(snapshot.SNAPSHOT_ENV, raising=False)


@pytest.mark.parametrize("model_id", presets.preset_ids())
def test_the_snapshot_equals_the_live_build(model_id: str) -> None:
    live = open_model(sources.from_preset(model_id))
    stored = snapshot.load(model_id)
    assert stored is not None, f"{model_id}: no snapshot valid for this install; {REGENERATE}"
    pd.testing.assert_frame_equal(stored.inventory, live.inventory, check_exact=True)
    assert list(stored.inventory.dtypes) == list(live.inventory.dtypes)
    assert stored.inventory.attrs == live.inventory.attrs
    assert stored.summary == live.summary
    assert (stored.source.label, stored.source.kind, stored.source.revision) == (model_id, "preset", None)
    assert cli_inspect.render(stored) == cli_inspect.render(live)
    assert cli_inspect.to_json(stored) == cli_inspect.to_json(live)


def test_the_stored_files_are_what_the_writer_writes_now() -> None:
    """Key included: this install's versions, each config's hash, and every lora_core file a
    fresh live build loads, with its hash (so the list of files cannot miss one)."""
    p = subprocess.run([sys.executable, "-m", "lora_core.model.snapshot_write", "--check"], cwd=ROOT,
                       env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True, text=True)
    assert p.returncode == 0, f"{p.stdout}{p.stderr[-2000:]}\n{REGENERATE}"
    assert {f.name for f in snapshot.SNAPSHOT_DIR.glob("*.json")} == {
        snapshot.snapshot_path(m).name for m in presets.preset_ids()}


@pytest.mark.parametrize("change", ["library", "source", "config", "off"])
def test_a_snapshot_is_used_only_when_its_key_is_this_install(change: str, monkeypatch: pytest.MonkeyPatch) -> None:
    model_id = "openai-community/gpt2"
    assert snapshot.load(model_id) is not None
    if change == "library":
        real = snapshot.environment()
        monkeypatch.setattr(snapshot, "environment", lambda: {**real, "transformers": "0.0.1"})
    elif change in ("source", "config"):
        changed = "peft_rules.py" if change == "source" else presets.preset_path(model_id).name
        real_digest = snapshot.file_digest
        monkeypatch.setattr(snapshot, "file_digest",
                            lambda path: "edited" if path.name == changed else real_digest(path))
    else:
        monkeypatch.setenv(snapshot.SNAPSHOT_ENV, "off")
    assert snapshot.load(model_id) is None


@pytest.mark.parametrize("damage", ["not json", "[]", '{"key": []}', '{"key": {"sources": {}}}'])
def test_a_damaged_snapshot_file_is_not_used(damage: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    model_id = "openai-community/gpt2"
    (tmp_path / snapshot.snapshot_path(model_id).name).write_text(damage)
    monkeypatch.setattr(snapshot, "SNAPSHOT_DIR", tmp_path)
    assert snapshot.load(model_id) is None


def test_task_flags_and_remote_code_build_live() -> None:
    """A snapshot holds the class the config names; ``--task-type``/``--num-labels`` build theirs."""
    base = dict(model="openai-community/gpt2", revision=None, trust_remote_code=False, task_type=None,
                num_labels=None, json=False)
    assert cli_inspect._from_snapshot(argparse.Namespace(**base)) is not None
    for change in ({"task_type": "SEQ_CLS"}, {"num_labels": 3}, {"trust_remote_code": True}):
        assert cli_inspect._from_snapshot(argparse.Namespace(**{**base, **change})) is None, change
    assert snapshot.load("someone/not-a-preset") is None
