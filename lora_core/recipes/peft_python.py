"""Python that builds the same ``peft.LoraConfig`` (only the fields that differ from its defaults).

``{"r": 8, "lora_alpha": 16, "target_modules": ["q_proj", "v_proj"]}`` ->
``config = LoraConfig(r=8, lora_alpha=16, target_modules=['q_proj', 'v_proj'], ...)``.
"""

from __future__ import annotations

from typing import Any

from peft import LoraConfig

from ..planning.export import config_dict

LANGUAGE, FILENAME = "python", "lora_config.py"
_ALWAYS = ("r", "lora_alpha", "target_modules")


def non_default(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The fields of ``kwargs`` that differ from ``LoraConfig()``'s defaults (r, alpha, targets always)."""
    defaults = config_dict(LoraConfig())
    return {k: v for k, v in kwargs.items() if k in defaults and (v != defaults[k] or k in _ALWAYS)}


def render(built: dict, model_id: str, header: list[str]) -> str:
    """``from peft import ...; config = LoraConfig(...)`` with a header comment."""
    lines = [f"    {k}={v!r}," for k, v in non_default(built).items()]
    return ("\n".join(f"# {h}" for h in header) + "\nfrom peft import LoraConfig, get_peft_model\n\n"
            "config = LoraConfig(\n" + "\n".join(lines) + "\n)\n# model = get_peft_model(model, config)\n")
