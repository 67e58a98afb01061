"""Shipped snapshots of each preset's inventory and summary, so that ``inspect PRESET`` answers
without building the model (no torch, transformers or PEFT) on an install whose libraries and
code are the ones that made the snapshot.

A snapshot (``snapshots/<org>__<name>.json``) holds what :func:`lora_core.model.open_model` gave
for the preset (the class its config names, no ``--task-type``): the summary and every inventory
row, with each column's dtype. It is written by ``python -m lora_core.model.snapshot_write`` and
used only when its key equals this install's (:func:`key_of`):

- the versions of Python, torch, transformers, PEFT and pandas;
- the sha256 of the preset's ``config.json``;
- the sha256 of every ``lora_core`` source file that the live build loaded (listed in the file).

Anything else, or ``LORA_EXPLORER_SNAPSHOTS=off``, builds the model live. The test
``tests/cli/test_inspect_snapshot.py`` rebuilds every preset and asserts the snapshot equals the
live build, row by row and dtype by dtype, so a snapshot can never drift from what PEFT and
transformers give. Loading one needs pandas and nothing heavier.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import presets

if TYPE_CHECKING:
    import pandas as pd

    from .summary import ModelSummary

SNAPSHOT_ENV = "LORA_EXPLORER_SNAPSHOTS"
SNAPSHOT_DIR = Path(__file__).parent / "snapshots"
PACKAGE_DIR = Path(__file__).resolve().parent.parent  # lora_core/
LIBRARIES = ("torch", "transformers", "peft", "pandas")
FORMAT = 1


@dataclass(frozen=True)
class PresetSource:
    """Where a snapshot's model came from, as ``inspect`` prints it (a preset has no revision)."""

    label: str
    kind: str = "preset"
    revision: str | None = None


@dataclass(frozen=True)
class SnapshotModel:
    """What ``inspect`` reads of an opened model (``source``, ``summary``, ``inventory``), from a snapshot."""

    source: PresetSource
    summary: ModelSummary
    inventory: pd.DataFrame


def enabled() -> bool:
    """False when ``LORA_EXPLORER_SNAPSHOTS=off``: every model is then built live."""
    return os.environ.get(SNAPSHOT_ENV, "").lower() != "off"


def environment() -> dict[str, str]:
    """The Python and library versions a snapshot depends on."""
    env = {"python": "{}.{}".format(*sys.version_info[:2])}
    for lib in LIBRARIES:
        try:
            env[lib] = version(lib)
        except PackageNotFoundError:
            env[lib] = "missing"
    return env


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes (``missing`` when it does not exist)."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "missing"


def key_of(model_id: str, sources: list[str]) -> dict[str, Any]:
    """The key a snapshot of preset ``model_id`` must carry to be used on this install;
    ``sources`` are the ``lora_core`` files (relative paths) the live build loaded."""
    return {
        "format": FORMAT,
        "environment": environment(),
        "config_sha256": file_digest(presets.preset_path(model_id)),
        "sources": {rel: file_digest(PACKAGE_DIR / rel) for rel in sorted(sources)},
    }


def snapshot_path(model_id: str) -> Path:
    return SNAPSHOT_DIR / presets.preset_path(model_id).name


def read(model_id: str) -> dict[str, Any] | None:
    """The stored snapshot of ``model_id`` as written, or ``None``."""
    try:
        return json.loads(snapshot_path(model_id).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def load(model_id: str) -> SnapshotModel | None:
    """Preset ``model_id``'s snapshot when snapshots are on and its key is this install's, else ``None``."""
    if not enabled() or not presets.is_preset(model_id):
        return None
    stored = read(model_id)
    try:
        if stored is None or stored["key"] != key_of(model_id, list(stored["key"]["sources"])):
            return None
        return from_payload(model_id, stored)
    except (KeyError, TypeError, ValueError, AttributeError):  # a damaged file: build live
        return None


def _plain(value: Any) -> Any:
    """A cell as JSON: ``None`` for a missing value, Python ints and bools for numpy's."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or type(value).__name__ == "NAType":
        return None
    return value.item() if hasattr(value, "item") else value


def to_payload(summary: ModelSummary, inventory: pd.DataFrame, key: dict[str, Any]) -> dict[str, Any]:
    """A snapshot as JSON-ready data: the key, the summary, and each column with its dtype."""
    return {
        "key": key,
        "summary": summary.to_dict(),
        "attrs": dict(inventory.attrs),
        "columns": {c: {"dtype": str(inventory[c].dtype), "values": [_plain(v) for v in inventory[c].tolist()]}
                    for c in inventory.columns},
    }


def from_payload(model_id: str, payload: dict[str, Any]) -> SnapshotModel:
    """The model ``inspect`` reads, rebuilt from a snapshot with each column's own dtype."""
    import pandas as pd

    from .summary import ModelSummary

    inventory = pd.DataFrame({c: pd.Series(col["values"], dtype=col["dtype"])
                              for c, col in payload["columns"].items()})
    inventory.attrs.update(payload["attrs"])
    summary = ModelSummary(**{**payload["summary"], "fused_roles": tuple(payload["summary"]["fused_roles"])})
    return SnapshotModel(PresetSource(model_id), summary, inventory)
