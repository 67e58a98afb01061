"""Refusing a plan PEFT would reject, with a message that says what to do instead.

:func:`check_fields` needs no resolving (ranks, alphas, keys, layers, ``bias``,
``modules_to_save``); :func:`validate` reads a :class:`ResolvedPlan`; :func:`validate_plan` does
both. ``parse_layers`` reads the ``0-3,7`` form the CLI and the app take.
"""

from __future__ import annotations

import re

import numpy as np

from ..errors import InputError
from ..peft_rules import entry_mask, in_saved_module, matches_entry, saved_by_text
from .index import PlanIndex
from .plan import GROUP_KEYS, MAX_RANK, MAX_TARGETS, Plan, Target
from .resolved import ResolvedPlan, resolve

_KEY_RE = re.compile(r"[A-Za-z0-9_.\-]+")


def _check_target(t: Target) -> None:
    if isinstance(t.rank, bool) or not isinstance(t.rank, (int, np.integer)) or t.rank <= 0:
        raise InputError(f"rank for '{t.key}'", f"must be a positive integer, got {t.rank!r}; try 8 or 16")
    if t.rank > MAX_RANK:
        raise InputError(f"rank for '{t.key}'", f"{t.rank} is above {MAX_RANK}; LoRA ranks are small (4 to 256)")
    if t.alpha is not None and (isinstance(t.alpha, bool) or not isinstance(t.alpha, (int, float, np.number))
                                or not 0 < t.alpha < float("inf")):
        raise InputError(f"alpha for '{t.key}'", f"must be positive, got {t.alpha!r}; the usual choice is 2 x rank")
    if not isinstance(t.key, str) or not t.key or len(t.key) > 200:
        raise InputError("target", f"a target key must be 1 to 200 characters, got {str(t.key)[:60]!r}")
    if not _KEY_RE.fullmatch(t.key):
        raise InputError("target", f"{t.key!r} is not a module name, role or group; use letters, digits, "
                         "'_', '-' and '.' only (e.g. q_proj), not a regular expression")


def parse_layers(text: str, num_layers: int) -> tuple[int, ...] | None:
    """Parse ``"0-3,7"`` into ``(0, 1, 2, 3, 7)``; empty text means all layers (``None``)."""
    text = text.strip()
    if not text:
        return None
    layers: set[int] = set()
    for part in text.split(","):
        m = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
        if not m:
            raise InputError("layers", f"{part.strip()!r} is not a layer or range; write e.g. 0-3,7")
        lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        if lo > hi:
            raise InputError("layers", f"range {lo}-{hi} runs backwards; write {hi}-{lo}")
        if hi >= num_layers:  # before building the range: "0-999999999" must not allocate
            raise InputError("layers", f"{part.strip()!r} is outside this model's layers 0-{num_layers - 1}")
        layers.update(range(lo, hi + 1))
    return check_layers(tuple(sorted(layers)), num_layers)


def check_layers(layers: tuple[int, ...] | None, num_layers: int) -> tuple[int, ...] | None:
    """Refuse an empty layer subset or one outside the model's ``0..num_layers-1``."""
    if layers is None:
        return None
    if not layers:
        raise InputError("layers", "the layer subset is empty; leave it empty for all layers")
    bad = [i for i in layers if i < 0 or i >= num_layers]
    if bad:
        raise InputError("layers", f"{bad} outside this model's layers 0-{num_layers - 1}")
    return tuple(layers)


def check_fields(plan: Plan, index: PlanIndex) -> None:
    """Refuse what can be told without resolving: no targets, too many, bad ranks, alphas, keys,
    layers, ``bias`` or ``modules_to_save`` (raises :class:`InputError`)."""
    if not plan.targets and not plan.modules_to_save:
        raise InputError("targets", "the plan targets nothing; switch on at least one target (e.g. q and v)")
    if len(plan.targets) > MAX_TARGETS:
        raise InputError("targets", f"{len(plan.targets)} targets is above the limit of {MAX_TARGETS}; "
                         "use role or group keys (q, v, ffn, all-linear) instead of listing modules")
    for t in plan.targets:
        _check_target(t)
    check_layers(plan.layers, index.num_layers)
    if plan.bias not in ("none", "all", "lora_only"):
        raise InputError("bias", f"must be none, all or lora_only, got {plan.bias!r}")
    for entry in plan.modules_to_save:
        _check_saved(entry, index, plan.modules_to_save)


def validate(resolved: ResolvedPlan) -> list[str]:
    """Refuse a resolved plan PEFT would reject (its fields passed :func:`check_fields`); return its notes."""
    plan, index, ranks = resolved.plan, resolved.index, resolved.ranks
    for t in plan.targets:
        if not index.mask(t.key).any():
            raise _no_match(t.key, index)
    params = (ranks > 0) & (index.kind == "expert-parameter")
    if params.any() and (plan.dora or plan.lora_bias):
        raise InputError("dora" if plan.dora else "lora_bias", "PEFT does not support it on fused expert "
                         "parameters (target_parameters); switch it off or leave the experts out")
    if not (ranks > 0).any() and not plan.modules_to_save:
        raise InputError("targets", "the plan wraps no module (check the layer range and scope)")
    return list(resolved.notes)


def validate_plan(plan: Plan, index: PlanIndex, resolved: ResolvedPlan | None = None) -> list[str]:
    """Raise :class:`InputError` for a plan PEFT would reject; return warnings for surprises.

    ``resolved``: the plan already resolved on ``index`` (resolved here otherwise, after
    :func:`check_fields`: resolving needs well-formed targets).
    """
    check_fields(plan, index)
    return validate(resolved if resolved is not None else resolve(plan, index))


def _check_saved(entry: str, index: PlanIndex, listed: tuple[str, ...] = ()) -> None:
    """Refuse a ``modules_to_save`` entry PEFT would read differently from how we count it.

    PEFT saves every module whose name ends with the entry as plain text, so ``head`` also
    saves ``lm_head``; we count whole dotted names, and ask for the exact name instead.
    """
    modules = set(index.inventory["module"])
    loose = sorted(m for m in modules if saved_by_text(m, entry) and not matches_entry(m, entry) and m not in listed)
    if loose:
        raise InputError("modules_to_save", f"PEFT would also save {loose[0]!r} for {entry!r} (it "
                         "matches any name ending in it); write the full module name instead")
    if not any(in_saved_module(m, (entry,)) for m in modules):  # the entry or a module under it
        raise InputError("modules_to_save", f"{entry!r} names no module of this model; use a name "
                         "shown in the module tree, e.g. lm_head")


def _no_match(key: str, index: PlanIndex) -> InputError:
    """Why ``key`` targets nothing: PEFT refuses what it names, or what the model has instead."""
    field = f"target '{key}'"
    refused = index.inventory["not_offered"].notna().to_numpy()
    named = entry_mask(index.names, key)
    if (named & refused).any():
        return InputError(field, f"{index.inventory['not_offered'].to_numpy()[named & refused][0]}; "
                          "leave it out (the other projections can be targeted)")
    return InputError(field, f"matches no module of this model; {_hint(index)}")


def _hint(index: PlanIndex) -> str:
    units = (index.linear | (index.kind == "expert-parameter")) & index.targetable
    leaves = sorted({n.rpartition(".")[2] for n in index.names[units]})
    groups = [k for k in GROUP_KEYS if k != "all-linear" and index.mask(k).any()]
    text = f"its module names are {', '.join(leaves[:16])}; its groups are {', '.join(groups)}"
    if index.mask("experts").any():
        text += "; the routed experts are the 'experts' key (e.g. --target experts=4)"
    return text
