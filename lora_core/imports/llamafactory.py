"""A LLaMA-Factory YAML read as LLaMA-Factory 0.9.5 builds its ``LoraConfig``.

Followed from ``hparams/finetuning_args.py`` (``finetuning_type`` defaults to ``lora``,
``lora_rank`` 8, ``lora_alpha`` ``lora_rank * 2`` when unset, ``lora_target`` ``"all"``, comma
lists split by ``split_arg``; ``freeze_vision_tower`` and ``freeze_multi_modal_projector`` on)
and ``model/adapter.py`` ``_setup_lora_tuning`` (``all`` -> ``find_all_linear_modules``;
``patch_target_modules`` for composite models; ``additional_target`` -> ``modules_to_save``;
``resize_vocab`` saves the embeddings when no ``additional_target`` is given).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import InputError
from ..recipes import shape as shapes
from ..recipes.capabilities import LLAMAFACTORY_VERSION
from ..recipes.engines import read_parallel
from .recipe import ImportedRecipe, comma_list, int_field, number_field, unread_fields

WHERE = "llamafactory"
_FLAGS = {"freeze_vision_tower": True, "freeze_multi_modal_projector": True, "freeze_language_model": False,
          "resize_vocab": False}
_MEMORY = ("quantization_bit", *(n.key for n in shapes.TABLES["llamafactory"].numbers),
           *(s.key for s in shapes.TABLES["llamafactory"].switches))
_PARALLEL = ("deepspeed", "fsdp", "fsdp_config")
_UNMODELLED = ("use_llama_pro", "adapter_name_or_path", "use_unsloth", "use_kt", "pissa_init")
_KNOWN = {"finetuning_type", "model_name_or_path", "lora_rank", "lora_alpha", "lora_dropout", "lora_target",
          "additional_target", "use_dora", "use_rslora", *_FLAGS, *_MEMORY, *_PARALLEL, *_UNMODELLED}


def read(data: dict[str, Any], source: str, folder: Path | None = None) -> ImportedRecipe:
    """The recipe LLaMA-Factory would build from ``data`` (a parsed YAML mapping).

    Raises:
        InputError: another fine-tuning method, or values LLaMA-Factory refuses.
    """
    method = data.get("finetuning_type", "lora")
    if method != "lora":
        raise InputError(f"{WHERE}: finetuning_type", f"is {method!r}; only LoRA recipes (finetuning_type: lora) "
                         "can be opened")
    rank = int_field(data, "lora_rank", WHERE, default=8)
    alpha = number_field(data, "lora_alpha", WHERE) or rank * 2
    targets = comma_list(data.get("lora_target", "all"), WHERE, "lora_target") or ["all"]
    lora: dict[str, Any] = {"r": rank, "lora_alpha": alpha, "lora_dropout": data.get("lora_dropout", 0.0),
                            "use_rslora": bool(data.get("use_rslora")), "use_dora": bool(data.get("use_dora")),
                            "modules_to_save": comma_list(data.get("additional_target"), WHERE, "additional_target"),
                            "target_modules": targets}
    options = {k: data.get(k, default) for k, default in _FLAGS.items()}
    notes = [f"{k} is set: {_WHY[k]}" for k in _UNMODELLED if data.get(k)]
    rules = ("llamafactory-all",) if targets == ["all"] else ()
    shape = shapes.read("llamafactory", data, WHERE)
    parallel = read_parallel("llamafactory", data, shape["base_dtype"], folder)
    return ImportedRecipe(
        tool="llamafactory", label=f"LLaMA-Factory {LLAMAFACTORY_VERSION}", source=source,
        model_id=data.get("model_name_or_path") if isinstance(data.get("model_name_or_path"), str) else None,
        lora=lora, model_rules=rules + ("llamafactory-composite", "llamafactory-resize-vocab"), options=options,
        memory={"trainer": "llamafactory", **{k: v for k, v in shape.items() if k != "epochs"}},
        epochs=shape["epochs"], parallel={k: data[k] for k in _PARALLEL if data.get(k)}, strategy=parallel,
        unread=unread_fields(data, _KNOWN), notes=tuple(notes) + parallel.notes)


_WHY = {"use_llama_pro": "LLaMA Pro adapts only the expanded blocks (find_expanded_modules); not replayed here",
        "adapter_name_or_path": "LLaMA-Factory resumes or merges that saved adapter; its own config decides "
                                "what trains, open the adapter folder to see it",
        "use_unsloth": "training goes through Unsloth's get_peft_model (open an Unsloth snippet to see its rules)",
        "use_kt": "training goes through KTransformers",
        "pissa_init": "PiSSA changes the initialisation, not which modules train"}
