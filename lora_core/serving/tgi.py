"""Text Generation Inference (main, db931fcf, maintenance mode): what ``LORA_ADAPTERS`` does with the adapter.

TGI keeps ``r``, ``lora_alpha``, ``use_rslora``, ``target_modules`` and ``fan_in_fan_out`` of the
config (``server/text_generation_server/adapters/lora.py`` ``LoraConfig.load``) and looks tensors
up by exact name, per layer type, from its own layer table; everything else in the file is never
read. LoRAX (:mod:`lora_core.serving.lorax`) shares this design with its own per-model tables.
"""

from __future__ import annotations

import numpy as np

from .adapter import Adapter
from .verdict import Finding, Verdict, source_of, verdict_of

VERSION = "main@db931fcf (3.3.7-1)"
MODEL_TYPES = frozenset({"llama", "phi3", "granite", "baichuan", "phimoe", "mistral", "qwen2", "gemma2",
                         "gemma3_text", "starcoder2"})
LAYERS = frozenset({"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "qkv_proj",
                    "c_proj", "c_fc"})


LAYER_PATH = r"^model\.layers\.\d+\."


def applied_mask(a: Adapter, layers: frozenset[str], path: str = LAYER_PATH) -> np.ndarray:
    """Units in the engine's table: leaf in ``layers`` and path ``model.layers.{i}.`` (or ``lm_head``)."""
    u = a.u
    path_ok = u.path_match(path) | (u.name == "lm_head")
    return u.leaf_in(layers) & path_ok & ((u.kind == "linear") | (u.kind == "conv1d"))


def partial_types(a: Adapter, applied: np.ndarray) -> np.ndarray:
    """Units of a layer type the adapter does not hold on every layer (the type is dropped on all layers)."""
    tmpl = a.u.template
    held = np.bincount(tmpl, minlength=len(a.u.model.templates))[tmpl]
    every = a.u.model.template_layers[tmpl]
    return (every > 0) & (held != every) & applied


def ignored_findings(a: Adapter, layers: frozenset[str], engine: str, rule, path: str = LAYER_PATH,
                     applied: np.ndarray | None = None) -> list[Finding]:
    """Units outside the layer table, and layer types present on only some layers (``applied``:
    :func:`applied_mask` when the caller has it already)."""
    if a.empty:
        return []
    applied = applied_mask(a, layers, path) if applied is None else applied
    out = []
    if (~applied).any():
        names, params = a.where(~applied)
        leaves = sorted(set(a.u.leaf_names(~applied)))
        out.append(Finding("ignores", f"{engine} applies LoRA only to {', '.join(sorted(layers))} under "
                           f"model.layers: {len(names)} units ({', '.join(leaves[:6])}) are never applied.",
                           source_of(rule), modules=names, params=params))
    partial = partial_types(a, applied)
    if partial.any():
        names, params = a.where(partial)
        out.append(Finding("ignores", f"a layer type missing on some layers is dropped on all layers: "
                           f"{len(names)} units of a layer subset ({params:,} parameters) are never applied.",
                           source_of(rule), modules=names, params=params))
    return out


def uneven_rank_findings(a: Adapter, engine: str, rule, applied: np.ndarray) -> list[Finding]:
    """One layer type at different ranks on different layers: the per-layer tensors cannot be stacked."""
    if not applied.any():
        return []
    rank = a.u.rank[applied]
    width = int(rank.max()) + 1
    pairs = np.unique(a.u.leaf[applied] * width + rank)  # distinct (leaf, rank) pairs
    codes, ranks_per_leaf = np.unique(pairs // width, return_counts=True)
    bad = sorted(a.u.model.leaves[codes[ranks_per_leaf > 1]])
    if not bad:
        return []
    names, params = a.where(applied & a.u.leaf_in(bad))
    return [Finding("refuses", f"{', '.join(bad)} has different ranks on different layers; {engine} stacks one "
                    "tensor per layer type and fails to load the adapter (deduced).", source_of(rule),
                    "stack expects each tensor to be equal size, but got ...", modules=names, params=params)]


def option_findings(a: Adapter, engine: str, rule) -> list[Finding]:
    """DoRA, lora_bias, modules_to_save and rank/alpha patterns, which these engines never read."""
    out, u = [], a.units
    if a.cfg("use_dora") and len(u):
        mag = int((u["out_features"] * (u["kind"] != "expert-parameter")).sum())
        out.append(Finding("differs", f"DoRA is served as plain LoRA: the {mag:,} magnitude parameters are never "
                           "loaded.", source_of(rule), modules=tuple(u["name"]), params=mag))
    if a.cfg("lora_bias") and len(u):
        bias = int(u.loc[u["kind"].isin(["linear", "conv1d"]), "out_features"].sum())
        out.append(Finding("differs", f"lora_bias: the {bias:,} LoRA bias parameters are never loaded.",
                           source_of(rule), modules=tuple(u["name"]), params=bias))
    if a.saved:
        out.append(Finding("ignores", f"modules_to_save copies of {', '.join(a.saved)} ({sum(a.saved.values()):,} "
                           "parameters) are never loaded.", source_of(rule), modules=tuple(a.saved),
                           params=sum(a.saved.values())))
    if not a.empty and _distinct(a.u.alpha / a.u.rank) > 1:
        r, alpha = a.cfg("r"), a.cfg("lora_alpha")
        off = a.u.alpha / a.u.rank != float(alpha) / float(r)
        names, params = a.where(off)
        out.append(Finding("differs", f"{engine} scales every module by the global lora_alpha/r ({alpha}/{r}); "
                           f"{len(names)} units with their own rank or alpha get another scale.",
                           source_of(rule), modules=names, params=params))
    return out


def rule_model(a: Adapter) -> list[Finding]:
    """`server/text_generation_server/models/__init__.py` `get_model_with_lora_adapters` (LoRA layers exist only in some flash models)."""
    if a.model.text_model_type in MODEL_TYPES:
        return []
    return [Finding("refuses", f"TGI has LoRA layers only for {', '.join(sorted(MODEL_TYPES))}; "
                    f"{a.model.text_model_type} adapters cannot be served.", source_of(rule_model),
                    "")]


def _distinct(values: np.ndarray) -> int:
    """Distinct values, NaN left out (pandas' ``nunique``)."""
    return len(np.unique(values[~np.isnan(values)]))


def rule_layers(a: Adapter) -> list[Finding]:
    """`server/text_generation_server/adapters/lora.py` `LoraWeights.prepare_weights` (per layer type, every layer)."""
    if a.empty:
        return []
    applied = applied_mask(a, LAYERS)
    return ignored_findings(a, LAYERS, "TGI", rule_layers, applied=applied) + uneven_rank_findings(
        a, "TGI", rule_layers, applied)


def rule_options(a: Adapter) -> list[Finding]:
    """`server/text_generation_server/utils/adapter.py` `load_module_map` (only lora_A/lora_B of the layer table are read)."""
    return option_findings(a, "TGI", rule_options)


RULES = (rule_model, rule_layers, rule_options)


def judge(a: Adapter) -> Verdict:
    """TGI's verdict on ``a``."""
    return verdict_of("tgi", VERSION, [f for rule in RULES for f in rule(a)])
