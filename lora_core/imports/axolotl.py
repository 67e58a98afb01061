"""An axolotl YAML read as axolotl 0.19.0 builds its ``LoraConfig``.

Followed from axolotl's ``loaders/adapter.py``: ``_build_peft_lora_config`` (``lora_r``,
``lora_alpha``, ``lora_target_modules`` handed to PEFT as is, ``lora_target_linear`` adding
``find_all_linear_names``, ``bias="none"`` always) and ``_build_lora_config_kwargs`` (DoRA,
rsLoRA, rank/alpha patterns, layer replication, trainable tokens); ``utils/schemas/peft.py``
types ``lora_r`` and ``lora_alpha`` as pydantic ``int`` (a fractional alpha is refused).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import InputError
from ..recipes import shape as shapes
from ..recipes.capabilities import AXOLOTL_VERSION
from ..recipes.engines import read_parallel
from .recipe import ImportedRecipe, int_field, names_field, unread_fields

WHERE = "axolotl"
LORA_ADAPTERS = ("lora", "qlora")
# axolotl key -> LoraConfig keyword, passed through as given (None / empty: not passed).
_PASSED = {"lora_dropout": "lora_dropout", "lora_target_parameters": "target_parameters",
           "peft_layers_to_transform": "layers_to_transform", "peft_layers_pattern": "layers_pattern",
           "lora_fan_in_fan_out": "fan_in_fan_out", "lora_modules_to_save": "modules_to_save",
           "lora_exclude_modules": "exclude_modules", "peft_use_dora": "use_dora", "peft_use_rslora": "use_rslora",
           "lora_rank_pattern": "rank_pattern", "lora_alpha_pattern": "alpha_pattern",
           "peft_layer_replication": "layer_replication", "peft_trainable_token_indices": "trainable_token_indices",
           "peft_init_lora_weights": "init_lora_weights", "peft_ensure_weight_tying": "ensure_weight_tying"}
_MEMORY = ("load_in_4bit", "load_in_8bit", *(n.key for n in shapes.TABLES["axolotl"].numbers),
           *(s.key for s in shapes.TABLES["axolotl"].switches), *shapes.AXOLOTL_LEGACY_ATTENTION)
_PARALLEL = ("deepspeed", "fsdp", "fsdp_config", "fsdp_version")
_KNOWN = {"adapter", "base_model", "lora_r", "lora_alpha", "lora_target_modules", "lora_target_linear",
          "lora_model_dir", *_PASSED, *_MEMORY, *_PARALLEL}


def read(data: dict[str, Any], source: str, folder: Path | None = None) -> ImportedRecipe:
    """The recipe axolotl would build from ``data`` (a parsed YAML mapping).

    Raises:
        InputError: not a LoRA recipe (``adapter`` missing or another method), or values axolotl refuses.
    """
    adapter = data.get("adapter")
    if adapter not in LORA_ADAPTERS:
        what = "absent (a full fine-tune)" if adapter is None else repr(adapter)
        raise InputError(f"{WHERE}: adapter", f"is {what}; only LoRA recipes (adapter: lora or qlora) can be opened")
    lora: dict[str, Any] = {"r": int_field(data, "lora_r", WHERE), "lora_alpha": _alpha(data), "bias": "none"}
    if lora["r"] is None:
        raise InputError(f"{WHERE}: lora_r", "is missing; axolotl needs the LoRA rank")
    lora["target_modules"] = names_field(data.get("lora_target_modules"), WHERE, "lora_target_modules") or []
    for theirs, ours in _PASSED.items():
        if data.get(theirs) not in (None, [], {}, False):
            lora[ours] = data[theirs]
    if "target_parameters" in lora:
        lora["target_parameters"] = names_field(lora["target_parameters"], WHERE, "lora_target_parameters")
    lora.setdefault("target_parameters", [])
    notes = []
    if data.get("lora_model_dir"):
        notes.append(f"lora_model_dir {data['lora_model_dir']!r}: axolotl loads that saved adapter and its own "
                     "adapter_config.json, not these lora_* keys; open the adapter folder to see it")
    shape = shapes.read("axolotl", shapes.axolotl_attention(data), WHERE)
    if adapter == "lora" and data.get("load_in_4bit"):
        notes.append("load_in_4bit with adapter: lora is not quantized by axolotl (only adapter: qlora is): "
                     "the base trains in 16 bits")
    parallel = read_parallel("axolotl", data, shape["base_dtype"], folder)
    return ImportedRecipe(
        tool="axolotl", label=f"axolotl {AXOLOTL_VERSION}", source=source, model_id=_model(data), lora=lora,
        model_rules=("axolotl-target-linear",) if data.get("lora_target_linear") else (),
        memory={"trainer": "axolotl", **{k: v for k, v in shape.items() if k != "epochs"}}, epochs=shape["epochs"],
        parallel={k: data[k] for k in _PARALLEL if data.get(k)}, strategy=parallel,
        unread=unread_fields(data, _KNOWN), notes=tuple(notes) + parallel.notes)


def _alpha(data: dict) -> int:
    alpha = data.get("lora_alpha")
    if alpha is None:
        raise InputError(f"{WHERE}: lora_alpha", "is missing; axolotl needs the LoRA alpha")
    if isinstance(alpha, float) and alpha.is_integer():
        alpha = int(alpha)  # pydantic's int accepts 16.0
    if isinstance(alpha, bool) or not isinstance(alpha, int) or alpha <= 0:
        raise InputError(f"{WHERE}: lora_alpha", f"axolotl takes a positive integer (pydantic int), got {alpha!r}")
    return alpha


def _model(data: dict) -> str | None:
    model = data.get("base_model")
    return model if isinstance(model, str) and model else None
