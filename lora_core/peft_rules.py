"""PEFT's own per-family refusals, asked of PEFT itself rather than retyped.

PEFT refuses some module names on some families when it injects adapters; an export that names
them makes ``get_peft_model`` raise, so the inventory marks such units as not offered and says why.
Today that is ``tuners_utils._check_lora_target_modules_mamba``: ``out_proj`` and ``conv1d`` on
Mamba-based models (``mamba``, ``mamba2``, ``falcon_mamba``, ``falcon_h1``, ``nemotron_h``).
"""

from __future__ import annotations

from functools import lru_cache

from peft import LoraConfig
from peft.tuners.tuners_utils import _check_lora_target_modules_mamba
from torch import nn


@lru_cache(maxsize=1)
def _probe_config() -> LoraConfig:
    return LoraConfig(r=8)


def peft_refusal(model: nn.Module, leaf: str) -> str | None:
    """Why PEFT's LoRA refuses a module with leaf name ``leaf`` on ``model``, or ``None``.

    >>> peft_refusal(falcon_h1_model, "out_proj")  # doctest: +SKIP
    "PEFT refuses 'out_proj' on falcon_h1 models (get_peft_model raises: Module 'out_proj' is ..."
    """
    try:
        _check_lora_target_modules_mamba(_probe_config(), model, leaf)
    except ValueError as e:
        model_type = getattr(getattr(model, "config", None), "model_type", "?")
        said = str(e).split("] ", 1)[-1].split(". ")[0]
        return f"PEFT refuses '{leaf}' on {model_type} models (get_peft_model raises: {said})"
    return None
