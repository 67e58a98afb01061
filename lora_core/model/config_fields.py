"""Types and meaning of the config fields the tool reads, checked on the raw dict before use.

The sizes are checked by :func:`lora_core.model.guards.check_sizes`; this module checks the other
fields the tool reads (``architectures``, flags, activation names, layer lists), nested
sub-configs' ``model_type`` (a config class may ignore a garbage one) and the relations a model
needs (a token is routed to at most as many experts as a layer has). Each refusal is an
:class:`InputError` naming the dotted field, before transformers or the tool touch the value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from transformers import CONFIG_MAPPING, AutoConfig

from ..errors import InputError

Check = Callable[[Any], str | None]  # the problem with a value, or None when it is fine


def _names(value: Any) -> str | None:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        return 'must be a list of class names, e.g. ["LlamaForCausalLM"]'
    return None


def _flag(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


def _text(value: Any) -> str | None:
    return None if isinstance(value, str) else 'must be a name (text), e.g. "silu"'


def _text_list(value: Any) -> str | None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return 'must be a list of names, e.g. ["full_attention", "sliding_attention"]'
    return None


def _layer_list(value: Any) -> str | None:
    if not isinstance(value, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value):
        return "must be a list of layer numbers (integers from 0), e.g. [0, 1]"
    return None


def _non_negative_number(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float("inf"):
        return "must be a non-negative number, e.g. 30.0"
    return None


# Every field the tool reads that is not a size (sizes: lora_core.model.guards.SIZE_LIMITS).
# ``None`` (JSON null) is always allowed: it means the field is unset.
FIELD_CHECKS: dict[str, Check] = {
    "architectures": _names,
    "model_type": _text,
    "tie_word_embeddings": _flag,
    "is_encoder_decoder": _flag,
    "multi_query": _flag,
    "new_decoder_architecture": _flag,
    "hidden_act": _text,
    "activation_function": _text,
    "dense_act_fn": _text,
    "feed_forward_proj": _text,
    "layer_types": _text_list,
    "mlp_only_layers": _layer_list,
    "attn_logit_softcapping": _non_negative_number,
}
EXPERT_COUNT_FIELDS: tuple[str, ...] = ("num_local_experts", "n_routed_experts", "num_experts")
TOP_K_FIELDS: tuple[str, ...] = ("num_experts_per_tok", "moe_topk")


def check_fields(d: dict[str, Any]) -> None:
    """Refuse ``d`` (a raw config dict) when a field the tool reads has a type or value no model
    can mean; nested sub-configs (objects holding a ``model_type``) are checked the same way.

    >>> check_fields({"model_type": "llama", "architectures": "LlamaForCausalLM"})
    Traceback (most recent call last):
    lora_core.errors.InputError: architectures: must be a list of class names, ...
    """
    model_type = d.get("model_type")
    config_cls = CONFIG_MAPPING[model_type] if isinstance(model_type, str) and model_type in CONFIG_MAPPING else None
    for path, sub, cls in _sub_configs(d, config_cls):
        for key, check in FIELD_CHECKS.items():
            value = sub.get(key)
            problem = None if value is None else check(value)
            if problem:
                raise InputError(path + key, f"{problem}, got {_show(value)}; fix the config.json")
        _check_routing(sub, path)


def _sub_configs(d: dict[str, Any], cls: type | None, path: str = "",
                 depth: int = 0) -> Iterator[tuple[str, dict[str, Any], type | None]]:
    """``d`` and every nested object holding a ``model_type``, with its dotted path prefix and
    the config class that reads it; a nested ``model_type`` must name a known config class (or
    the one its parent declares for that key), since some config classes silently ignore it."""
    yield path, d, cls
    if depth >= 4:  # guards.check_sizes already refuses deeper nesting than configs use
        return
    declared = dict(getattr(cls, "sub_configs", None) or {})
    for key, value in d.items():
        if not isinstance(value, dict) or "model_type" not in value:
            continue
        mt = value["model_type"]
        field = f"{path}{key}.model_type"
        if not isinstance(mt, str):
            raise InputError(field, f"must be a model type name (text), got {_show(mt)}; fix the config.json")
        parent_cls = declared.get(key)
        own = parent_cls if parent_cls not in (None, AutoConfig) else None
        if own is not None and mt == getattr(own, "model_type", None):
            child = own
        elif mt in CONFIG_MAPPING:
            child = CONFIG_MAPPING[mt]
        else:
            expected = f" (this field holds a {own.model_type!r} config)" if own is not None and own.model_type else ""
            raise InputError(field, f"unknown model_type {mt[:60]!r}{expected}: transformers has no such "
                             "config, and the model would be built without it; fix the config.json")
        yield from _sub_configs(value, child, f"{path}{key}.", depth + 1)


def _check_routing(d: dict[str, Any], path: str) -> None:
    """A token cannot be routed to more experts than a layer has."""
    experts = next(((k, d[k]) for k in EXPERT_COUNT_FIELDS if isinstance(d.get(k), int) and d[k] > 0), None)
    if experts is None:
        return
    for key in TOP_K_FIELDS:
        top_k = d.get(key)
        if isinstance(top_k, int) and not isinstance(top_k, bool) and top_k > experts[1]:
            raise InputError(path + key, f"routes each token to {top_k} experts but a layer has "
                             f"{experts[1]} ({path}{experts[0]}); fix the config.json")


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
