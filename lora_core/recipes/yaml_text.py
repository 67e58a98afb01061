"""YAML text with a ``#`` header and commented sections, shared by the axolotl and LLaMA-Factory writers."""

from __future__ import annotations

from typing import Any

import yaml

SHAPE_COMMENT = "The training shape the memory and time estimates are for:"
REST_COMMENT = "The rest of a training config: replace with your own."
PARALLEL_COMMENT = "Several GPUs, as the estimate's strategy:"


def with_header(header: list[str], body: dict[str, Any], sections: list[tuple[str, dict[str, Any]]]) -> str:
    """``# header`` lines, the LoRA keys, then each non-empty section under its ``# comment`` line.

    >>> print(with_header(["h"], {"a": 1}, [("shape", {"b": 2}), ("empty", {})]), end="")
    # h
    a: 1
    # shape
    b: 2
    """
    text = "\n".join(f"# {h}" for h in header) + "\n" + yaml.safe_dump(body, sort_keys=False)
    for comment, keys in sections:
        if keys:
            text += f"# {comment}\n" + yaml.safe_dump(keys, sort_keys=False)
    return text
