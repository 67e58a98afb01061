"""Write the preset snapshots of :mod:`lora_core.model.snapshot`: ``python -m lora_core.model.snapshot_write``.

Builds every preset live (``open_model``, the class its config names), as ``inspect`` does
without a snapshot, and writes its summary and inventory under the key of this install. Run it
after changing a file the snapshots list, a preset, or the pinned torch, transformers, PEFT or
pandas; ``tests/cli/test_inspect_snapshot.py`` fails until it is run. ``--check`` writes nothing
and exits 1 when a stored snapshot differs from the live build.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from . import presets, snapshot


def loaded_sources() -> list[str]:
    """The ``lora_core`` source files loaded in this process, relative to ``lora_core/`` (this writer
    excluded): run after the builds, the files the live build depends on."""
    out = set()
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if (name == "lora_core" or name.startswith("lora_core.")) and file and name != __name__:
            out.add(Path(file).resolve().relative_to(snapshot.PACKAGE_DIR).as_posix())
    return sorted(out)


def live_payloads() -> dict[str, dict[str, Any]]:
    """Every preset's snapshot as the live build gives it now, keyed by preset id.

    Meant for a fresh process (``python -m``): the key lists the ``lora_core`` files loaded by
    then, i.e. by the builds (and the snapshot format itself).
    """
    from . import open_model, sources

    opened = {pid: open_model(sources.from_preset(pid)) for pid in presets.preset_ids()}
    files = loaded_sources()
    return {pid: snapshot.to_payload(o.summary, o.inventory, snapshot.key_of(pid, files))
            for pid, o in opened.items()}


def dumps(payload: dict[str, Any]) -> str:
    """A snapshot file's text: one column per line, so a change reads as a small diff."""
    cols = ",\n".join(f"    {json.dumps(name)}: {json.dumps(col)}" for name, col in payload["columns"].items())
    head = {k: v for k, v in payload.items() if k != "columns"}
    return json.dumps(head, indent=1)[:-2] + ',\n "columns": {\n' + cols + "\n }\n}\n"


def main(argv: list[str]) -> int:
    payloads = live_payloads()
    stale = [pid for pid, p in payloads.items() if snapshot.read(pid) != p]
    if "--check" in argv:
        for pid in stale:
            print(f"stale: {pid}")
        return 1 if stale else 0
    snapshot.SNAPSHOT_DIR.mkdir(exist_ok=True)
    for old in snapshot.SNAPSHOT_DIR.glob("*.json"):
        if old.name not in {snapshot.snapshot_path(pid).name for pid in payloads}:
            old.unlink()
    for pid, payload in payloads.items():
        snapshot.snapshot_path(pid).write_text(dumps(payload), encoding="utf-8")
    print(f"{len(payloads)} snapshots in {snapshot.SNAPSHOT_DIR} ({len(stale)} changed)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
