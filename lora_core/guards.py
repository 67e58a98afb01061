"""Limits checked on a raw config dict before any model is built.

A config from a stranger can ask for a billion layers; the meta device would still try to
create a billion modules. We refuse such configs up front, naming the field and the limit.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from .errors import InputError

# Generous upper bounds: 4x the largest published models, far below what hangs the server.
SIZE_LIMITS: dict[str, int] = {
    "num_hidden_layers": 1024,
    "num_layers": 1024,
    "n_layer": 1024,
    "num_decoder_layers": 1024,
    "hidden_size": 131_072,
    "d_model": 131_072,
    "n_embd": 131_072,
    "intermediate_size": 1_048_576,
    "moe_intermediate_size": 1_048_576,
    "d_ff": 1_048_576,
    "n_inner": 1_048_576,
    "vocab_size": 4_194_304,
    "num_attention_heads": 8_192,
    "num_key_value_heads": 8_192,
    "n_head": 8_192,
    "num_heads": 8_192,
    "num_local_experts": 4_096,
    "num_experts": 4_096,
    "n_routed_experts": 4_096,
    "max_position_embeddings": 16_777_216,
}
MAX_CONFIG_BYTES = int(os.environ.get("LORA_EXPLORER_MAX_UPLOAD_BYTES", 1_000_000))


MAX_DEPTH = 16  # real configs nest sub-configs 2 or 3 deep


def _walk(d: dict[str, Any], prefix: str = "", depth: int = 0) -> Iterator[tuple[str, str, Any]]:
    """Yield ``(dotted_path, key, value)`` for every key, nested sub-configs included."""
    if depth > MAX_DEPTH:
        raise InputError(prefix.rstrip(".")[:80] + "...", f"nests deeper than {MAX_DEPTH} levels; "
                         "a config.json nests sub-configs 2 or 3 deep, fix the file")
    for key, value in d.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from _walk(value, path + ".", depth + 1)
        else:
            yield path, key, value


def check_sizes(config: dict[str, Any]) -> None:
    """Raise :class:`InputError` if a size field is negative, not an integer, or absurd.

    >>> check_sizes({"num_hidden_layers": 1_000_000})
    Traceback (most recent call last):
    lora_core.errors.InputError: num_hidden_layers: 1000000 is above the limit of 1024 ...
    """
    for path, key, value in _walk(config):
        limit = SIZE_LIMITS.get(key)
        if limit is None or value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise InputError(path, f"must be an integer, got {value!r}; fix the config.json")
        if value < 0:
            raise InputError(path, f"must not be negative, got {value}; fix the config.json")
        if value > limit:
            raise InputError(
                path,
                f"{value} is above the limit of {limit} this tool builds; "
                "check the config.json (is it a real model?)",
            )
