"""PEFT's own figure for a published adapter: what a user gets loading it for training.

The reference side never calls the product. It builds the model class the adapter's
``task_type`` asks a user to load (transformers' auto class for that task; with no task type,
the class the model config names), reads the file as ``PeftConfig.from_pretrained`` does,
sets ``inference_mode=False`` as ``PeftModel.from_pretrained(..., is_trainable=True)`` does,
and counts with ``get_peft_model(..., low_cpu_mem_usage=True)`` on the meta device.
"""

from __future__ import annotations

import copy
import json
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import transformers
from peft import PeftConfig, get_peft_model
from transformers import (AutoModel, AutoModelForCausalLM, AutoModelForSeq2SeqLM,
                          AutoModelForSequenceClassification, AutoModelForTokenClassification,
                          CONFIG_MAPPING, PretrainedConfig)

from lora_core.model import presets

DATA = Path(__file__).resolve().parent.parent / "data" / "adapters"
USER_CLASS = {
    "SEQ_CLS": AutoModelForSequenceClassification,
    "TOKEN_CLS": AutoModelForTokenClassification,
    "SEQ_2_SEQ_LM": AutoModelForSeq2SeqLM,
    "CAUSAL_LM": AutoModelForCausalLM,
    "FEATURE_EXTRACTION": AutoModel,
}


def load_table(name: str) -> list[dict[str, Any]]:
    """The entries of ``dev.json`` or ``heldout.json``."""
    return json.loads((DATA / f"{name}.json").read_text())["adapters"]


def base_dict(base: str) -> dict[str, Any]:
    """The raw config.json of a base named in ``bases.json``."""
    entry = json.loads((DATA / "bases.json").read_text())[base]
    return presets.preset_dict(entry["preset"]) if "preset" in entry else dict(entry["config"])


def base_config(base: str) -> PretrainedConfig:
    raw = copy.deepcopy(base_dict(base))
    return CONFIG_MAPPING[raw["model_type"]].from_dict(raw)


@dataclass(frozen=True)
class PeftFigure:
    """``trainable`` when PEFT builds it, else ``error`` (PEFT's own message)."""

    trainable: int | None
    error: str | None = None


def user_model(config: PretrainedConfig, task_type: str | None) -> torch.nn.Module:
    """The model a user loads for ``task_type`` (meta device, no weights)."""
    with torch.device("meta"):
        if task_type in USER_CLASS:
            return USER_CLASS[task_type].from_config(config)
        named = [getattr(transformers, a, None) for a in (config.architectures or ())]
        cls = next((c for c in named if c is not None), None)
        return cls._from_config(config) if cls else AutoModelForCausalLM.from_config(config)


def peft_figure(adapter: dict[str, Any], base: str) -> PeftFigure:
    """PEFT's trainable count for ``adapter`` on ``base``, or PEFT's reason for refusing it."""
    config = base_config(base)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "adapter_config.json").write_text(json.dumps(adapter))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                peft_config = PeftConfig.from_pretrained(tmp)
        except (TypeError, ValueError) as e:
            return PeftFigure(None, str(e))
    peft_config.inference_mode = False
    model = user_model(config, adapter.get("task_type"))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wrapped = get_peft_model(model, peft_config, low_cpu_mem_usage=True)
    except (ValueError, TypeError, RuntimeError, NotImplementedError) as e:
        return PeftFigure(None, f"{type(e).__name__}: {e}")
    return PeftFigure(int(wrapped.get_nb_trainable_parameters()[0]))
