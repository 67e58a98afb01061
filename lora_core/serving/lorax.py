"""LoRAX (main, a7394ba3, lorax-0.4.0-23): what loading the adapter per request does.

Same design as TGI (:mod:`lora_core.serving.tgi`, TGI copied it), with a layer table per model
(``ADAPTER_LAYERS`` of ``server/lorax_server/models/flash_*.py``) and a refusal for models whose
class lacks ``supports_adapter_loading``.
"""

from __future__ import annotations

from .adapter import Adapter
from .tgi import LAYER_PATH, applied_mask, ignored_findings, option_findings, uneven_rank_findings
from .verdict import Finding, Verdict, source_of, verdict_of

VERSION = "main@a7394ba3 (0.4.0-23)"
_DENSE = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
# model_type -> ADAPTER_LAYERS leaf names (models/flash_<type>.py)
LAYERS: dict[str, frozenset[str]] = {
    "llama": frozenset(_DENSE + ("lm_head",)), "mistral": frozenset(_DENSE + ("lm_head",)),
    "qwen2": frozenset(_DENSE + ("lm_head",)), "gemma2": frozenset(_DENSE), "gemma": frozenset(_DENSE),
    "granite": frozenset(_DENSE + ("lm_head",)), "solar": frozenset(_DENSE + ("lm_head",)),
    "mixtral": frozenset(_DENSE[:4]), "phi3": frozenset({"qkv_proj", "o_proj", "gate_up_proj", "down_proj"}),
    "gpt2": frozenset({"c_attn", "c_proj", "c_fc"}),
}
# model types with supports_adapter_loading whose layer table was not transcribed here
OTHER_LOADING = frozenset({"bloom", "cohere", "dbrx", "phi", "qwen", "roberta", "mllama"})


def rule_model(a: Adapter) -> list[Finding]:
    """`server/lorax_server/models/model.py` `Model.load_adapter` (models without `supports_adapter_loading`)."""
    if a.model.model_type in LAYERS or a.model.model_type in OTHER_LOADING:
        return []
    return [Finding("refuses", f"LoRAX cannot load adapters on {a.model.model_type} models.",
                    source_of(rule_model), "This model does not support adapter loading.")]


def rule_layers(a: Adapter) -> list[Finding]:
    """`server/lorax_server/adapters/lora.py` `LoraWeights.load` (per layer type of the model's `ADAPTER_LAYERS`, every layer)."""
    layers = LAYERS.get(a.model.model_type)
    path = r"^transformer\.h\.\d+\." if a.model.model_type == "gpt2" else LAYER_PATH
    if not layers or a.empty:
        return []
    applied = applied_mask(a, layers, path)
    return (ignored_findings(a, layers, "LoRAX", rule_layers, path, applied)
            + uneven_rank_findings(a, "LoRAX", rule_layers, applied))


def rule_options(a: Adapter) -> list[Finding]:
    """`server/lorax_server/utils/adapter.py` `load_module_map` (only lora_A/lora_B of the layer table are read)."""
    return option_findings(a, "LoRAX", rule_options)


RULES = (rule_model, rule_layers, rule_options)


def judge(a: Adapter) -> Verdict:
    """LoRAX's verdict on ``a``."""
    return verdict_of("lorax", VERSION, [f for rule in RULES for f in rule(a)])
