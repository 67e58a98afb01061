"""A Python snippet for Unsloth's ``FastLanguageModel.get_peft_model`` (checked against its parsed source).

``target_parameters`` is always given: with ``None`` Unsloth adds the MoE experts by itself.
"""

from __future__ import annotations

LANGUAGE, FILENAME = "python", "unsloth_peft.py"
_PARAMS = ("r", "lora_alpha", "lora_dropout", "target_modules", "target_parameters", "layers_to_transform",
           "bias", "use_rslora", "modules_to_save")
_PASSED_ON = ("use_dora", "lora_bias", "rank_pattern", "alpha_pattern")  # **kwargs, to LoraConfig
_DEFAULTS = {"lora_dropout": 0.0, "bias": "none", "use_rslora": False, "layers_to_transform": None,
             "modules_to_save": None, "use_dora": False, "lora_bias": False, "rank_pattern": {}, "alpha_pattern": {}}


def arguments(built: dict) -> dict:
    """The keyword arguments of the ``get_peft_model`` call (non-defaults, targets always)."""
    out = {}
    for key in _PARAMS + _PASSED_ON:
        value = built.get(key, _DEFAULTS.get(key))
        if key in ("target_modules", "target_parameters"):
            value = value if isinstance(value, str) else sorted(value or [])
        elif value == _DEFAULTS.get(key) or (value in (None, [], {}) and key in _DEFAULTS):
            continue
        out[key] = value
    return out


def render(built: dict, model_id: str, header: list[str]) -> str:
    """``FastLanguageModel.from_pretrained`` then ``get_peft_model`` with the plan's arguments."""
    args = "".join(f"    {k}={v!r},\n" for k, v in arguments(built).items())
    return ("\n".join(f"# {h}" for h in header) + "\nfrom unsloth import FastLanguageModel\n\n"
            f"model, tokenizer = FastLanguageModel.from_pretrained({model_id!r}, max_seq_length=2048)\n"
            "model = FastLanguageModel.get_peft_model(\n    model,\n" + args + ")\n")
