"""The exported adapter config as other tools write it: a Python snippet, axolotl and LLaMA-Factory YAML.

Pure functions over the ``adapter_config.json`` dict (:func:`lora_core.export.config_dict`), no
Streamlit. Each returns the text and the warnings for what the tool cannot express, e.g.
LLaMA-Factory has one rank for all targets, so a ``rank_pattern`` is lost there.

For ``{"r": 8, "lora_alpha": 16, "target_modules": ["q_proj", "v_proj"], ...}`` the snippet is
``LoraConfig(r=8, lora_alpha=16, target_modules=['q_proj', 'v_proj'], ...)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from peft import LoraConfig

from lora_core.export import config_dict

_SKIP = {"peft_type", "auto_mapping", "base_model_name_or_path", "revision", "inference_mode", "peft_version"}


@dataclass(frozen=True)
class Recipe:
    """A config written for one tool, and what that tool cannot express."""

    text: str
    warnings: list[str] = field(default_factory=list)


def _defaults() -> dict[str, Any]:
    return config_dict(LoraConfig())


def non_default(cfg: dict[str, Any]) -> dict[str, Any]:
    """The fields of ``cfg`` that differ from ``LoraConfig()``'s defaults (bookkeeping fields left out)."""
    defaults = _defaults()
    always = ("r", "lora_alpha", "target_modules")
    return {k: v for k, v in cfg.items()
            if k not in _SKIP and k in defaults and (v != defaults[k] or k in always)}


def python_snippet(cfg: dict[str, Any]) -> Recipe:
    """Python that builds the same ``LoraConfig`` (only non-default fields)."""
    lines = [f"    {k}={v!r}," for k, v in non_default(cfg).items()]
    return Recipe("from peft import LoraConfig, get_peft_model\n\nconfig = LoraConfig(\n" + "\n".join(lines)
                  + "\n)\n# model = get_peft_model(model, config)\n")


def _shared_warnings(cfg: dict[str, Any], tool: str) -> list[str]:
    out = []
    if cfg.get("rank_pattern") or cfg.get("alpha_pattern"):
        out.append(f"{tool} sets one rank and alpha for every target: the per-module ranks/alphas "
                   f"(rank_pattern/alpha_pattern) are lost, all targets train at r={cfg['r']}.")
    if cfg.get("target_parameters"):
        out.append(f"{tool} may not pass target_parameters (the fused MoE expert tensors) to PEFT; "
                   "check your version, or the experts part of the plan is not trained.")
    if cfg.get("lora_bias"):
        out.append(f"{tool} has no lora_bias option: LoRA B biases are not trained.")
    if cfg.get("bias", "none") != "none":
        out.append(f"{tool} has no bias option: bias={cfg['bias']!r} is not applied.")
    return out


def axolotl_yaml(cfg: dict[str, Any], model_id: str) -> Recipe:
    """The LoRA part of an axolotl config."""
    y: dict[str, Any] = {"base_model": model_id, "adapter": "lora", "lora_r": cfg["r"],
                         "lora_alpha": cfg["lora_alpha"], "lora_dropout": cfg.get("lora_dropout", 0.0)}
    warnings = _shared_warnings(cfg, "axolotl")
    targets = cfg.get("target_modules")
    if targets == "all-linear":
        y["lora_target_linear"] = True
    elif isinstance(targets, str):
        y["lora_target_modules"] = targets
        warnings.append("target_modules is a regex here; axolotl hands it to PEFT as is, so check "
                        "that your axolotl version accepts a string for lora_target_modules.")
    elif targets:
        y["lora_target_modules"] = list(targets)
    if cfg.get("target_parameters"):
        y["lora_target_parameters"] = list(cfg["target_parameters"])
    if cfg.get("layers_to_transform") is not None:
        y["peft_layers_to_transform"] = cfg["layers_to_transform"]
    if cfg.get("modules_to_save"):
        y["lora_modules_to_save"] = list(cfg["modules_to_save"])
    if cfg.get("use_dora"):
        y["peft_use_dora"] = True
    if cfg.get("use_rslora"):
        y["peft_use_rslora"] = True
    return Recipe(yaml.safe_dump(y, sort_keys=False), warnings)


def llama_factory_yaml(cfg: dict[str, Any], model_id: str) -> Recipe:
    """The LoRA part of a LLaMA-Factory training config."""
    y: dict[str, Any] = {"model_name_or_path": model_id, "stage": "sft", "finetuning_type": "lora",
                         "lora_rank": cfg["r"], "lora_alpha": cfg["lora_alpha"],
                         "lora_dropout": cfg.get("lora_dropout", 0.0)}
    warnings = _shared_warnings(cfg, "LLaMA-Factory")
    targets = cfg.get("target_modules")
    if targets == "all-linear":
        y["lora_target"] = "all"
    elif isinstance(targets, str):
        y["lora_target"] = "all"
        warnings.append("LLaMA-Factory's lora_target takes module names, not a regex: the exact "
                        "module set cannot be expressed; 'all' is written, which targets more.")
    elif targets:
        y["lora_target"] = ",".join(targets)
    if cfg.get("layers_to_transform") is not None:
        warnings.append("LLaMA-Factory has no layer subset for LoRA: every layer would be adapted.")
    if cfg.get("modules_to_save"):
        y["additional_target"] = ",".join(cfg["modules_to_save"])
    if cfg.get("use_dora"):
        y["use_dora"] = True
    if cfg.get("use_rslora"):
        y["use_rslora"] = True
    return Recipe(yaml.safe_dump(y, sort_keys=False), warnings)
