"""A Python snippet for Unsloth's ``FastLanguageModel.get_peft_model`` (checked against its parsed source).

``target_parameters`` is always given: with ``None`` Unsloth adds the MoE experts by itself. The
training shape goes where Unsloth reads it: ``from_pretrained(max_seq_length=, load_in_4bit=,
load_in_8bit=)``, ``get_peft_model(use_gradient_checkpointing=)``, and trl's ``SFTConfig`` for the
batch and epochs (``training_args``).
"""

from __future__ import annotations

from . import shape as shapes

LANGUAGE, FILENAME = "python", "unsloth_peft.py"
_PARAMS = ("r", "lora_alpha", "lora_dropout", "target_modules", "target_parameters", "layers_to_transform",
           "bias", "use_rslora", "modules_to_save")
_PASSED_ON = ("use_dora", "lora_bias", "rank_pattern", "alpha_pattern")  # **kwargs, to LoraConfig
_DEFAULTS = {"lora_dropout": 0.0, "bias": "none", "use_rslora": False, "layers_to_transform": None,
             "modules_to_save": None, "use_dora": False, "lora_bias": False, "rank_pattern": {}, "alpha_pattern": {}}
_LOADING = ("max_seq_length", "load_in_4bit", "load_in_8bit")
_PEFT_CALL = ("use_gradient_checkpointing",)


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


def render(built: dict, model_id: str, header: list[str], shape: shapes.Shape, parallel: dict) -> str:
    """``FastLanguageModel.from_pretrained`` then ``get_peft_model`` with the plan's arguments and the shape."""
    keys = shapes.write("unsloth", shape)
    loading = "".join(f", {k}={keys[k]!r}" for k in _LOADING if k in keys)
    args = "".join(f"    {k}={v!r},\n" for k, v in {**arguments(built), **{k: keys[k] for k in _PEFT_CALL}}.items())
    rest = {k: v for k, v in keys.items() if k not in (*_LOADING, *_PEFT_CALL)}
    return ("\n".join(f"# {h}" for h in header) + "\nfrom unsloth import FastLanguageModel\n\n"
            f"model, tokenizer = FastLanguageModel.from_pretrained({model_id!r}{loading})\n"
            "model = FastLanguageModel.get_peft_model(\n    model,\n" + args + ")\n"
            "# The rest of the training shape: trl's SFTTrainer(..., args=SFTConfig(**training_args, ...))\n"
            f"training_args = dict({', '.join(f'{k}={v!r}' for k, v in rest.items())}, "
            f"max_length={keys['max_seq_length']!r})\n")
