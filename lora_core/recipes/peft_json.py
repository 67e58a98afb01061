"""PEFT's adapter_config.json: the exported config itself (its ``peft_version`` field names the version)."""

from __future__ import annotations

from peft import LoraConfig

from ..planning.export import config_bytes

LANGUAGE, FILENAME = "json", "adapter_config.json"


def render(built: dict, model_id: str, header: list[str]) -> str:
    """The adapter_config.json text (JSON has no comments: the header is not written)."""
    return config_bytes(LoraConfig(**built)).decode("utf-8")
