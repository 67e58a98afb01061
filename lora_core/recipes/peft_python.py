"""Python that builds the same ``peft.LoraConfig`` (only the fields that differ from its defaults), and
the training shape and strategy as ``from_pretrained`` and ``TrainingArguments`` keywords.

``{"r": 8, "lora_alpha": 16, "target_modules": ["q_proj", "v_proj"]}`` ->
``config = LoraConfig(r=8, lora_alpha=16, target_modules=['q_proj', 'v_proj'], ...)``, then
``model_kwargs`` (attention kernel, dtype, ``BitsAndBytesConfig``), ``trainer_kwargs`` (micro-batch,
epochs, checkpointing, bf16, DeepSpeed or FSDP) and ``max_length`` (trl's ``SFTConfig``).
"""

from __future__ import annotations

from typing import Any

from peft import LoraConfig

from ..memory import PROFILES
from ..planning.export import config_dict
from . import shape as shapes

LANGUAGE, FILENAME = "python", "lora_config.py"
_ALWAYS = ("r", "lora_alpha", "target_modules")
_MODEL_KEYS = ("attn_implementation",)
_BNB_KEYS = ("load_in_4bit", "load_in_8bit")


def non_default(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The fields of ``kwargs`` that differ from ``LoraConfig()``'s defaults (r, alpha, targets always)."""
    defaults = config_dict(LoraConfig())
    return {k: v for k, v in kwargs.items() if k in defaults and (v != defaults[k] or k in _ALWAYS)}


def quantization(keys: dict[str, Any]) -> str:
    """The ``BitsAndBytesConfig(...)`` source for the shape's base (``""`` for bf16): NF4 with bf16 compute
    and bf16 storage (what FSDP and ZeRO-3 shard), double quantization as the PEFT profile counts it."""
    if keys.get("load_in_4bit"):
        return ("BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type='nf4', bnb_4bit_compute_dtype=torch.bfloat16, "
                f"bnb_4bit_use_double_quant={PROFILES['peft'].double_quant!r}, bnb_4bit_quant_storage=torch.bfloat16)")
    return "BitsAndBytesConfig(load_in_8bit=True)" if keys.get("load_in_8bit") else ""


def render(built: dict, model_id: str, header: list[str], shape: shapes.Shape, parallel: dict) -> str:
    """``from peft import ...; config = LoraConfig(...)``, the shape's keywords, with a header comment."""
    lines = [f"    {k}={v!r}," for k, v in non_default(built).items()]
    keys = shapes.write("python", shape)
    bnb = quantization(keys)
    model = "".join(f"{k!r}: {keys[k]!r}, " for k in _MODEL_KEYS) + "'dtype': torch.bfloat16" + (
        f",\n                'quantization_config': {bnb}" if bnb else "")
    trainer = {k: v for k, v in keys.items() if k not in (*_MODEL_KEYS, *_BNB_KEYS, "max_length")}
    trainer = {**trainer, "bf16": True, **parallel}
    return ("\n".join(f"# {h}" for h in header) + "\nimport torch\nfrom peft import LoraConfig, get_peft_model\n"
            "from transformers import BitsAndBytesConfig\n\n"
            "config = LoraConfig(\n" + "\n".join(lines) + "\n)\n"
            "# The training shape the memory and time estimates are for (and the strategy):\n"
            f"model_kwargs = {{{model}}}\n"
            f"trainer_kwargs = {trainer!r}  # transformers.TrainingArguments(**trainer_kwargs, ...)\n"
            f"max_length = {keys['max_length']!r}  # tokens per sequence: trl's SFTConfig(max_length=max_length, ...)\n"
            f"# model = AutoModelForCausalLM.from_pretrained({model_id!r}, **model_kwargs)\n"
            "# model = get_peft_model(model, config)\n")
