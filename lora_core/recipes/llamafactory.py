"""LLaMA-Factory YAML (0.9.5 keys), checked with its ``get_train_args`` and ``init_adapter``."""

from __future__ import annotations

from typing import Any

from .yaml_text import with_header

LANGUAGE, FILENAME = "yaml", "llamafactory.yaml"
REST = {"dataset": "alpaca_en_demo", "template": "default", "cutoff_len": 2048, "output_dir": "saves/lora",
        "per_device_train_batch_size": 1, "learning_rate": 0.0002, "num_train_epochs": 1.0}


def render(built: dict, model_id: str, header: list[str]) -> str:
    """The LLaMA-Factory SFT config: ``lora_target`` as a comma list of names, one rank and alpha."""
    body: dict[str, Any] = {"model_name_or_path": model_id, "stage": "sft", "do_train": True,
                            "finetuning_type": "lora", "lora_rank": built["r"], "lora_alpha": built["lora_alpha"],
                            "lora_dropout": built.get("lora_dropout", 0.0),
                            "lora_target": ",".join(built["target_modules"])}
    if built.get("modules_to_save"):
        body["additional_target"] = ",".join(built["modules_to_save"])
    if built.get("use_dora"):
        body["use_dora"] = True
    if built.get("use_rslora"):
        body["use_rslora"] = True
    return with_header(header, body, REST)
