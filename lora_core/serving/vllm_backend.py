"""vLLM 0.34.0's Transformers modeling backend on an architecture vLLM does not register.

The backend (``vllm/model_executor/models/transformers/base.py`` ``Base.__init__``) builds
``AutoModel.from_config(hf_config)`` on the meta device (``Base._create_model``), then
``Base.recursive_replace`` swaps every ``nn.Linear`` for one of vLLM's ``LinearBase`` classes, the
layers vLLM's LoRA wraps (``vllm/lora/utils.py`` ``get_supported_lora_modules``), and
``Base.embedding_modules`` is ``{"embed_tokens": ...}`` (the ``lm_head`` is not among them). Both steps run here with the installed
transformers, the one vLLM calls, on the model's own config.
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass

import torch
from torch import nn
from transformers import AutoModel


@dataclass(frozen=True)
class Backend:
    """What the backend builds: ``error`` when ``AutoModel.from_config`` raises, else the LoRA leaf names."""

    error: str | None
    leaves: frozenset[str]


_CACHE: dict[str, Backend] = {}


def probe(config) -> Backend:
    """`vllm/model_executor/models/transformers/base.py` `Base._create_model` (AutoModel.from_config, then nn.Linear leaves)."""
    key = config.to_json_string(use_diff=False)
    if key not in _CACHE:
        _CACHE[key] = _build(copy.deepcopy(config))
    return _CACHE[key]


def _build(config) -> Backend:
    try:
        with warnings.catch_warnings(), torch.device("meta"):
            warnings.simplefilter("ignore")
            model = AutoModel.from_config(config)
    except Exception as e:  # noqa: BLE001 - whatever transformers raises is what vLLM's server start raises
        return Backend(f"{type(e).__name__}: {e}", frozenset())
    names = [(name.rsplit(".", 1)[-1], m) for name, m in model.named_modules()]
    leaves = {leaf for leaf, m in names if isinstance(m, nn.Linear)}
    # `vllm/model_executor/models/transformers/moe.py` `MoEMixin.recursive_replace`: modules named
    # "experts" become vLLM's FusedMoE (wrapped by LoRA too)
    experts = {"experts"} if any(leaf == "experts" for leaf, _ in names) else set()
    return Backend(None, frozenset(leaves | experts | {"embed_tokens"}))
