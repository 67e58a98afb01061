"""YAML text with a ``#`` header, shared by the axolotl and LLaMA-Factory writers."""

from __future__ import annotations

from typing import Any

import yaml


def with_header(header: list[str], body: dict[str, Any], rest: dict[str, Any]) -> str:
    """``# header`` lines, the LoRA keys, then the rest of a training config under a comment."""
    return ("\n".join(f"# {h}" for h in header) + "\n" + yaml.safe_dump(body, sort_keys=False)
            + "# The rest of a training config: replace with your own.\n" + yaml.safe_dump(rest, sort_keys=False))
