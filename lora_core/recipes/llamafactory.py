"""LLaMA-Factory YAML (0.9.5 keys), checked with its ``get_train_args`` and ``init_adapter``."""

from __future__ import annotations

from typing import Any

from . import shape as shapes
from .yaml_text import PARALLEL_COMMENT, REST_COMMENT, SHAPE_COMMENT, with_header

LANGUAGE, FILENAME = "yaml", "llamafactory.yaml"
REST = {"dataset": "alpaca_en_demo", "template": "default", "output_dir": "saves/lora", "learning_rate": 0.0002}


def render(built: dict, model_id: str, header: list[str], shape: shapes.Shape, parallel: dict) -> str:
    """The LLaMA-Factory SFT config: ``lora_target`` as a comma list of names, one rank and alpha, the
    training shape, and the strategy as ``TrainingArguments`` keys (``deepspeed`` inline, ``fsdp``)."""
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
    return with_header(header, body, [(SHAPE_COMMENT, shapes.write("llamafactory", shape)), (REST_COMMENT, REST),
                                      (PARALLEL_COMMENT, parallel)])
