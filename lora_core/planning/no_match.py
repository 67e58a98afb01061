"""An adapter that matches nothing on a model, refused as PEFT refuses it.

``get_peft_model`` raises ``NoMatchingPeftModuleError`` when no target module or parameter
matches; :func:`peft_refusal_message` asks PEFT itself on a copy of the meta model, so the
message is PEFT's own. :func:`renamed_targets` notices the usual cause: full module names
written for another transformers version (``model.layers.0.self_attn.q_proj`` from
transformers 4 against a transformers-5 vision-language model, where the text decoder lives at
``model.language_model.layers.0...``) and offers the list renamed for this model.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Iterable

from peft import LoraConfig, get_peft_model
from torch import nn


def peft_refusal_message(config: LoraConfig, model: nn.Module) -> str | None:
    """PEFT's error when it applies ``config`` to a copy of ``model`` (meta device), or ``None``."""
    cfg = copy.deepcopy(config)
    cfg.inference_mode = False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            get_peft_model(copy.deepcopy(model), cfg, low_cpu_mem_usage=True)
        except (ValueError, TypeError, RuntimeError) as e:  # NoMatchingPeftModuleError is a ValueError
            return " ".join(str(e).split())
    return None


def _moves(entry: str, names: list[str]) -> set[tuple[str, str]]:
    """Every (old prefix, new prefix) that turns ``entry`` into a module path of this model."""
    parts = entry.split(".")
    out: set[tuple[str, str]] = set()
    for k in range(0, len(parts) - 1):
        tail = ".".join(parts[k:])
        if not any(p.isdigit() for p in parts[k:]):
            break  # a bare leaf like 'self_attn.q_proj' says nothing about naming
        for n in names:
            if n == tail or n.endswith("." + tail):
                out.add((".".join(parts[:k]), n[: -len(tail)].rstrip(".")))
    return out


def renamed_targets(entries: Iterable[str], names: Iterable[str]) -> tuple[str, list[str]] | None:
    """How the unmatched dotted ``entries`` are named on this model, if one renaming fits them all.

    Returns ``("model.* -> model.language_model.*", renamed_list)`` or ``None``. When several
    prefixes fit (a vision tower has ``layers.0.self_attn.q_proj`` too), the language model's wins.
    """
    names = [n for n in names if n]
    dotted = [e for e in entries if "." in e]
    if not dotted:
        return None
    common = set.intersection(*(_moves(e, names) for e in dotted)) - {("", "")}
    if not common:
        return None
    old, new = min(common, key=lambda m: (not any(w in m[1] for w in ("language", "text")), len(m[1]), m))
    renamed = sorted(f"{new}.{e[len(old):].lstrip('.')}" if new else e[len(old):].lstrip(".") for e in dotted)
    return f"{old or '(top level)'}.* is {new or '(top level)'}.* here", renamed
