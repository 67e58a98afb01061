"""PEFT's adapter_config.json: the exported config itself (its ``peft_version`` field names the version)."""

from __future__ import annotations

from peft import LoraConfig

from ..planning.export import config_bytes
from .shape import Shape

LANGUAGE, FILENAME = "json", "adapter_config.json"


def render(built: dict, model_id: str, header: list[str], shape: Shape, parallel: dict) -> str:
    """The adapter_config.json text (JSON has no comments: the header is not written; an adapter config
    holds no training settings)."""
    return config_bytes(LoraConfig(**built)).decode("utf-8")
