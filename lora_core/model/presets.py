"""Built-in model presets: real ``config.json`` files shipped with the package.

A preset is named by its Hugging Face id (``meta-llama/Meta-Llama-3.1-8B``); its file is
``presets/<org>__<name>.json``. Presets need no network.
"""

from __future__ import annotations

import json
from pathlib import Path

PRESET_DIR = Path(__file__).parent / "presets"
DEFAULT_PRESET = "meta-llama/Meta-Llama-3.1-8B"


def preset_ids() -> list[str]:
    """Every preset id, sorted: ``['Qwen/Qwen2.5-7B-Instruct', ...]``."""
    return sorted(p.stem.replace("__", "/", 1) for p in PRESET_DIR.glob("*.json"))


def is_preset(model_id: str) -> bool:
    """True when ``model_id`` names a shipped preset."""
    return preset_path(model_id).is_file()


def preset_path(model_id: str) -> Path:
    """The file of preset ``model_id`` (it may not exist)."""
    return PRESET_DIR / (model_id.replace("/", "__", 1) + ".json")


def preset_dict(model_id: str) -> dict:
    """The raw config dict of preset ``model_id``."""
    return json.loads(preset_path(model_id).read_text())
