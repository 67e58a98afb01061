"""axolotl YAML (0.19.0 keys: ``lora_*``, ``peft_*``), checked with axolotl's ``load_cfg`` and ``load_lora``."""

from __future__ import annotations

from typing import Any

from .yaml_text import with_header

LANGUAGE, FILENAME = "yaml", "axolotl.yaml"
_KEYS = (("target_modules", "lora_target_modules"), ("target_parameters", "lora_target_parameters"),
         ("layers_to_transform", "peft_layers_to_transform"), ("rank_pattern", "lora_rank_pattern"),
         ("alpha_pattern", "lora_alpha_pattern"), ("modules_to_save", "lora_modules_to_save"),
         ("use_dora", "peft_use_dora"), ("use_rslora", "peft_use_rslora"))
REST = {"datasets": [{"path": "tatsu-lab/alpaca", "type": "alpaca"}], "output_dir": "./outputs/lora",
        "sequence_len": 2048, "micro_batch_size": 1, "gradient_accumulation_steps": 1, "num_epochs": 1,
        "learning_rate": 0.0002, "optimizer": "adamw_torch"}


def render(built: dict, model_id: str, header: list[str]) -> str:
    """The axolotl config: the LoRA keys, then a minimal rest of a config that axolotl validates."""
    body: dict[str, Any] = {"base_model": model_id, "adapter": "lora", "lora_r": built["r"],
                            "lora_alpha": built["lora_alpha"], "lora_dropout": built.get("lora_dropout", 0.0)}
    for ours, theirs in _KEYS:
        value = built.get(ours)
        if value:
            body[theirs] = value if isinstance(value, (str, bool, dict)) else list(value)
    return with_header(header, body, REST)
