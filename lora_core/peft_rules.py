"""PEFT's rules, in one place: how it matches names, which layer a name is in, what it rewrites and refuses.

Every other module asks these functions; none writes a rule out again. Each rule is PEFT's own
(``peft.tuners.tuners_utils.check_target_module_exists``, ``peft.utils.other`` and
``peft.utils.transformers_weight_conversion``), checked case by case against PEFT's functions in
``tests/test_peft_rules.py``:

- a ``target_modules`` list entry matches a name equal to it or ending with ``.`` + it
  (:func:`matches_entry`); a string is a ``re.fullmatch`` pattern (:func:`matches_pattern`);
  ``target_parameters`` entries follow the list rule on ``module.param`` names;
- a ``modules_to_save`` entry covers the module it names and everything inside it
  (:func:`in_saved_module`), and LoRA never wraps those;
- ``rank_pattern``/``alpha_pattern`` keys match a name's dotted tail (:func:`pattern_key_matches`);
- ``layers_to_transform`` reads the first number after a dotted segment (:func:`layer_index`);
- on transformers 5, MoE families' ``target_modules`` are rewritten before matching
  (:func:`convert_like_peft`), and :func:`peft_matches` replays the whole matching without wrapping;
- LoRA refuses some modules on some families (:func:`peft_refusal`: Mamba's ``out_proj``).

Importing this module loads neither PEFT nor torch (the name rules need neither); the functions
that ask PEFT import it when first called.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # PEFT (and torch) load in the functions that ask PEFT: the name rules need neither
    from peft import LoraConfig
    from torch import nn

# PEFT's ``layers_to_transform`` rule (no ``layers_pattern``): the first number after a dotted segment.
LAYER_INDEX = re.compile(r".*?\.[^.]*\.(?P<idx>\d+)\.")
# The same rule with the parts around the number named: ``model.layers`` / ``7`` / ``mlp.up_proj``.
LAYER_PARTS = re.compile(r"^(?P<prefix>.*?\.[^.]*)\.(?P<idx>\d+)\.(?P<rest>.+)$")


# ---------------------------------------------------------------- names


def matches_entry(name: str, entry: str) -> bool:
    """A ``target_modules``/``target_parameters`` list entry's rule: ``q_proj`` matches ``a.q_proj``."""
    return name == entry or name.endswith("." + entry)


def entry_mask(names: Iterable[str], entry: str) -> np.ndarray:
    """:func:`matches_entry` over many names, as a boolean array."""
    suffix = "." + entry
    return np.array([n == entry or n.endswith(suffix) for n in names], dtype=bool)


def matches_any_entry(name: str, entries: Iterable[str]) -> bool:
    """True when any list entry matches ``name``."""
    return any(matches_entry(name, e) for e in entries)


def matches_pattern(name: str, pattern: str) -> bool:
    """A ``target_modules`` string's rule: the whole name must match the regular expression."""
    return re.fullmatch(pattern, name) is not None


def _saved_regex(entry: str) -> re.Pattern[str]:
    return re.compile(rf"(^|.*\.){re.escape(entry)}($|\..*)")


def in_saved_module(name: str, modules_to_save: Iterable[str]) -> bool:
    """True when ``name`` is a ``modules_to_save`` module or inside one (LoRA then leaves it alone).

    PEFT writes the entry into the regex unescaped; entries here are plain module names, escaped
    so that their dots only match dots.
    """
    return any(_saved_regex(m).match(name) for m in modules_to_save)


def saved_mask(names: Iterable[str], modules_to_save: Iterable[str]) -> np.ndarray:
    """:func:`in_saved_module` over many names, as a boolean array."""
    pats = [_saved_regex(m) for m in modules_to_save]
    return np.array([any(p.match(n) for p in pats) for n in names], dtype=bool)


def saved_by_text(name: str, entry: str) -> bool:
    """What PEFT's ``_set_trainable`` saves for an entry: any name ending with it as plain text."""
    return name.endswith(entry)


def pattern_key_matches(key: str, name: str) -> bool:
    """A ``rank_pattern``/``alpha_pattern`` key's rule (``get_pattern_key``): the name's dotted tail matches."""
    return re.match(rf"(.*\.)?({key})$", name) is not None


def layer_index(name: str) -> int | None:
    """The layer ``layers_to_transform`` reads from a name: ``model.layers.7.mlp.up_proj -> 7``.

    Read on the name with a dot appended, so a layer's own name (``model.layers.7``, and a
    parameter held by the layer itself) is in its layer too; PEFT, which wants a dot after the
    number, gives such a name no layer, but LoRA wraps only modules below a layer."""
    match = LAYER_INDEX.match(name + ".")
    return int(match["idx"]) if match else None


def split_layer(name: str) -> tuple[str, str, str] | None:
    """``model.layers.7.mlp.up_proj -> ('model.layers.', '7', '.mlp.up_proj')``; ``None`` outside layers."""
    match = LAYER_INDEX.match(name + ".")
    if not match:
        return None
    return name[:match.start("idx")], match["idx"], name[match.end("idx"):]


# ---------------------------------------------------------------- PEFT's own matching, replayed


@dataclass(frozen=True)
class PeftTargets:
    """What PEFT wraps for a config on a model: full name -> (rank, alpha).

    ``modules`` are LoRA layers by module name; ``parameters`` are ``ParamWrapper`` targets as
    ``module.param``.
    """

    modules: dict[str, tuple[int, float]]
    parameters: dict[str, tuple[int, float]]


def convert_like_peft(config: LoraConfig, model: nn.Module) -> LoraConfig:
    """A copy of ``config`` as ``inject_adapter`` rewrites it before matching (MoE, defaults, all-linear).

    Raises ``ValueError`` as PEFT does (e.g. one half of a fused expert pair).
    """
    from peft.import_utils import is_transformers_ge_v5
    from peft.tuners.tuners_utils import _find_minimal_target_modules, _maybe_include_all_linear_layers
    from peft.utils.constants import (MIN_TARGET_MODULES_FOR_OPTIMIZATION,
                                      TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING)
    from peft.utils.transformers_weight_conversion import convert_peft_config_for_transformers

    cfg = copy.deepcopy(config)
    if is_transformers_ge_v5 and hasattr(getattr(model, "config", None), "model_type"):
        convert_peft_config_for_transformers(cfg, model=model, conversions=None)
    if cfg.target_modules is None:
        default = TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING.get(model.config.model_type)
        if default is not None:
            cfg.target_modules = default if isinstance(default, str) else set(default)
    cfg = _maybe_include_all_linear_layers(cfg, model)
    names = [n for n, _ in model.named_modules()]
    tm = cfg.target_modules
    if isinstance(tm, (list, set)) and len(tm) >= MIN_TARGET_MODULES_FOR_OPTIMIZATION:
        suffixes = tuple("." + s for s in tm)
        others = [n for n in names if n not in tm and not n.endswith(suffixes)]
        smaller = _find_minimal_target_modules(tm, others)
        if len(smaller) < len(tm):
            cfg.target_modules = smaller
    return cfg


def rewritten_leaves(model: nn.Module, leaves: Iterable[str]) -> set[str]:
    """Leaf names that PEFT's MoE conversion moves out of ``target_modules`` on this model."""
    from peft import LoraConfig

    out = set()
    for leaf in set(leaves):
        try:
            cfg = convert_like_peft(LoraConfig(target_modules=[leaf]), model)
        except ValueError:
            out.add(leaf)
            continue
        if cfg.target_modules != {leaf} or cfg.target_parameters:
            out.add(leaf)
    return out


def rank_alpha(cfg: LoraConfig, name: str) -> tuple[int, float]:
    """The rank and alpha PEFT gives ``name`` (its ``rank_pattern``/``alpha_pattern`` first match)."""
    from peft.utils.other import get_pattern_key

    r = cfg.rank_pattern.get(get_pattern_key(list(cfg.rank_pattern), name), cfg.r)
    a = cfg.alpha_pattern.get(get_pattern_key(list(cfg.alpha_pattern), name), cfg.lora_alpha)
    return int(r), float(a)


def param_names(model: nn.Module) -> list[str]:
    """Every ``module.param`` name as PEFT's ``target_parameters`` sees them."""
    return [f"{m}.{p}" for m, mod in model.named_modules() for p, _ in mod.named_parameters(recurse=False)]


def peft_matches(config: LoraConfig, model: nn.Module) -> PeftTargets:
    """What ``get_peft_model(model, config)`` would wrap, by PEFT's own functions, without wrapping."""
    from peft.tuners.tuners_utils import check_target_module_exists

    cfg = convert_like_peft(config, model)
    modules = {}
    if cfg.target_modules is not None:
        for name, _ in model.named_modules():
            if name and check_target_module_exists(cfg, name):
                modules[name] = rank_alpha(cfg, name)
    params = {}
    wanted = sorted(set(cfg.target_parameters or ()))
    if wanted:
        for key in param_names(model):
            if matches_any_entry(key, wanted):
                params[key] = rank_alpha(cfg, key)
    return PeftTargets(modules, params)


def legacy_expert_names(model: nn.Module, target_parameters: Iterable[str]) -> tuple[set[str], list[str]]:
    """Pre-fusion names PEFT rewrites to these fused expert tensors, and the parameters left over.

    E.g. Qwen3-MoE ``["mlp.experts.gate_up_proj", "mlp.experts.down_proj"]`` ->
    ``({"gate_proj", "up_proj", "down_proj"}, [])`` (PEFT's ``_MOE_TARGET_MODULE_MAPPING``).
    """
    from peft.utils.transformers_weight_conversion import _MODEL_TO_CONVERSION_PATTERN, _MOE_TARGET_MODULE_MAPPING

    target_parameters = list(target_parameters)
    base = _MODEL_TO_CONVERSION_PATTERN.get(getattr(model.config, "model_type", None))
    mapping = {old: new for old, new in _MOE_TARGET_MODULE_MAPPING.get(base, {}).items() if "." not in new}
    fused = {t for t in target_parameters if t.rpartition(".")[2] in mapping.values()}
    leaves = {t.rpartition(".")[2] for t in fused}
    return {old for old, new in mapping.items() if new in leaves}, [t for t in target_parameters if t not in fused]


# ---------------------------------------------------------------- what LoRA refuses


@lru_cache(maxsize=1)
def _probe_config() -> LoraConfig:
    from peft import LoraConfig

    return LoraConfig(r=8)


def peft_refusal(model: nn.Module, leaf: str) -> str | None:
    """Why PEFT's LoRA refuses a module with leaf name ``leaf`` on ``model``, or ``None``.

    Asked of ``tuners_utils._check_lora_target_modules_mamba`` itself: ``out_proj`` and ``conv1d``
    on Mamba-based models (``mamba``, ``mamba2``, ``falcon_mamba``, ``falcon_h1``, ``nemotron_h``).

    >>> peft_refusal(falcon_h1_model, "out_proj")  # doctest: +SKIP
    "PEFT refuses 'out_proj' on falcon_h1 models (get_peft_model raises: Module 'out_proj' is ..."
    """
    from peft.tuners.tuners_utils import _check_lora_target_modules_mamba

    try:
        _check_lora_target_modules_mamba(_probe_config(), model, leaf)
    except ValueError as e:
        model_type = getattr(getattr(model, "config", None), "model_type", "?")
        said = str(e).split("] ", 1)[-1].split(". ")[0]
        return f"PEFT refuses '{leaf}' on {model_type} models (get_peft_model raises: {said})"
    return None
