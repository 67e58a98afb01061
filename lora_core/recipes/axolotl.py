"""axolotl YAML (0.19.0 keys: ``lora_*``, ``peft_*``), checked with axolotl's ``load_cfg`` and ``load_lora``."""

from __future__ import annotations

from typing import Any

from . import shape as shapes
from .yaml_text import PARALLEL_COMMENT, REST_COMMENT, SHAPE_COMMENT, with_header

LANGUAGE, FILENAME = "yaml", "axolotl.yaml"
_KEYS = (("target_modules", "lora_target_modules"), ("target_parameters", "lora_target_parameters"),
         ("layers_to_transform", "peft_layers_to_transform"), ("rank_pattern", "lora_rank_pattern"),
         ("alpha_pattern", "lora_alpha_pattern"), ("modules_to_save", "lora_modules_to_save"),
         ("use_dora", "peft_use_dora"), ("use_rslora", "peft_use_rslora"))
# bf16: auto -> bfloat16 weights and autocast where the GPU has it (axolotl's normalize_config); without
# it axolotl loads the base in float32, twice the estimate's bytes.
REST = {"datasets": [{"path": "tatsu-lab/alpaca", "type": "alpaca"}], "output_dir": "./outputs/lora",
        "gradient_accumulation_steps": 1, "learning_rate": 0.0002, "optimizer": "adamw_torch", "bf16": "auto"}


def render(built: dict, model_id: str, header: list[str], shape: shapes.Shape, parallel: dict) -> str:
    """The axolotl config: the LoRA keys, the training shape, a rest that axolotl validates, the strategy."""
    keys = shapes.write("axolotl", shape)
    body: dict[str, Any] = {"base_model": model_id, "adapter": keys.pop("adapter"), "lora_r": built["r"],
                            "lora_alpha": built["lora_alpha"], "lora_dropout": built.get("lora_dropout", 0.0)}
    for ours, theirs in _KEYS:
        value = built.get(ours)
        if value:
            body[theirs] = value if isinstance(value, (str, bool, dict)) else list(value)
    return with_header(header, body, [(SHAPE_COMMENT, keys), (REST_COMMENT, REST), (PARALLEL_COMMENT, parallel)])
