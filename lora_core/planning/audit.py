"""Import an existing adapter_config.json against a model: what it hits, at what rank, and what it costs.

Matching is PEFT's own (:func:`lora_core.peft_rules.peft_matches`, which replays ``inject_adapter``'s
rewriting and ``check_target_module_exists``), so MoE rewrites and suffix collisions show up as
they will in training. :func:`plan_from_adapter_config` turns the hits back into a :class:`Plan`,
so export -> import gives the same rows, ranks and counts.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from peft import LoraConfig
from peft.tuners.lora import LoraModel

from ..errors import InputError
from ..model.guards import check_adapter_config, load_json_object
from ..model.skeleton import Skeleton
from ..peft_rules import (PeftTargets, convert_like_peft, layer_index, matches_any_entry, matches_pattern,
                          param_names, pattern_key_matches, peft_matches, saved_by_text)
from . import variants
from .export_forms import MODULE_KINDS, minimal_suffixes
from .index import PlanIndex
from .no_match import peft_refusal_message, renamed_targets
from .plan import Plan, PlanCount, Target
from .resolved import resolve

MAX_ADAPTER_CONFIG_BYTES = 1_000_000
_FIELDS = {f.name for f in dataclasses.fields(LoraConfig)}


@dataclass(frozen=True)
class AdapterAudit:
    """An adapter config read against a model.

    Attributes:
        config: the parsed ``LoraConfig``.
        rows: inventory rows it wraps, plus ``rank``, ``alpha``, ``lora_params`` (as resolve_plan).
        unmatched: target names, patterns and rank/alpha pattern keys that match nothing here.
        rewritten: how PEFT rewrites the config on this model (transformers 5 MoE), one note each.
        plan: the equivalent plan; ``count`` its trainable count (PEFT's figure).
        ignored: fields of the file that LoraConfig does not know, or that are not counted.
    """

    config: LoraConfig
    rows: pd.DataFrame
    unmatched: list[str]
    rewritten: list[str]
    plan: Plan
    count: PlanCount
    ignored: list[str] = field(default_factory=list)


def parse_adapter_config(data: bytes | str | dict[str, Any]) -> tuple[LoraConfig, list[str]]:
    """A ``LoraConfig`` from adapter_config.json bytes, text or dict, and the fields left out.

    Raises:
        InputError: not JSON, not an object, not a LoRA config, or values PEFT rejects.
    """
    if isinstance(data, (bytes, str)):
        data = load_json_object(data, "adapter_config", limit=MAX_ADAPTER_CONFIG_BYTES)
    if not isinstance(data, dict):
        raise InputError("adapter_config", "holds JSON but not an object; adapter_config.json is an object")
    check_adapter_config(data)  # positive ranks, safe regexes (no ReDoS on the server)
    if "peft_type" not in data:
        raise InputError("adapter_config: peft_type", "is missing; PEFT reads the method from it "
                         "(\"peft_type\": \"LORA\" for a LoRA adapter)")
    peft_type = data["peft_type"]
    if peft_type != "LORA":
        raise InputError("adapter_config: peft_type", f"is {peft_type!r}; only LoRA adapters "
                         "(\"peft_type\": \"LORA\") can be read")
    kwargs = {k: v for k, v in data.items() if k in _FIELDS and k != "peft_type"}
    ignored = sorted(set(data) - _FIELDS)
    try:
        return LoraConfig(**kwargs), ignored
    except (TypeError, ValueError) as e:
        raise InputError("adapter_config", f"PEFT rejects it: {e}") from None


def matched_rows(hits: PeftTargets, inventory: pd.DataFrame) -> dict[str, tuple[int, float]]:
    """PEFT's hits as inventory row names: modules, parameters, and linears hit through ``.weight``.

    Raises:
        InputError: a hit PEFT cannot wrap (a container or a norm), as ``get_peft_model`` would.
    """
    kind = dict(zip(inventory["name"], inventory["kind"]))
    out: dict[str, tuple[int, float]] = {}
    for name, ra in hits.modules.items():
        if kind.get(name) not in MODULE_KINDS:
            raise InputError("target_modules", f"matches {name!r}, which PEFT's LoRA cannot wrap "
                             "(not a Linear, Conv1D or Embedding); narrow the pattern")
        out[name] = ra
    for name, ra in hits.parameters.items():
        module = name.removesuffix(".weight")
        if kind.get(name) in ("expert-parameter", "parameter"):
            out[name] = ra
        elif name.endswith(".weight") and kind.get(module) in ("linear", "conv1d", "embedding"):
            out[module] = ra
        else:
            raise InputError("target_parameters", f"matches {name!r}, which this tool cannot count; "
                             "target linear weights or fused expert parameters")
    return out


def plan_from_hits(hits: dict[str, tuple[int, float]], config: LoraConfig, index: PlanIndex) -> Plan:
    """The plan that wraps exactly ``hits`` (row name -> rank, alpha) with ``config``'s options."""
    inventory = index.inventory
    inv = inventory[inventory["targetable"]]
    stacks = set(inv.loc[inv["name"].isin(list(hits)), "stack"])
    base = Plan(dora=config.use_dora, rslora=config.use_rslora, lora_bias=config.lora_bias,
                bias=config.bias, modules_to_save=tuple(sorted(config.modules_to_save or ())),
                scope="all" if stacks & {"vision", "projector"} else "language")
    layers = sorted({layer_index(n) for n in hits} - {None})
    every = set(inv["layer"].dropna().astype(int))
    tries = [tuple(layers)] if layers and set(layers) != every else []
    for subset in tries + [None]:
        in_scope = inv if base.scope == "all" else inv[~inv["stack"].isin(["vision", "projector"])]
        plan = dataclasses.replace(base, layers=subset, targets=_targets(hits, in_scope, subset))
        if _rows_of(plan, index) == hits:
            return plan
    return dataclasses.replace(base, targets=tuple(Target(n, r, _alpha(r, a)) for n, (r, a) in sorted(hits.items())))


def _targets(hits: dict[str, tuple[int, float]], inv: pd.DataFrame, layers: tuple[int, ...] | None) -> tuple[Target, ...]:
    names = list(inv["name"])
    if layers is not None:
        keep = set(layers)
        names = [n for n, lay in zip(names, inv["layer"]) if pd.isna(lay) or int(lay) in keep]
    out = []
    for ra in sorted(set(hits.values())):
        group = [n for n, v in hits.items() if v == ra]
        rest = [n for n in names if hits.get(n) != ra]
        out += [Target(k, ra[0], _alpha(*ra)) for k in minimal_suffixes(group, rest)]
    return tuple(out)


def _alpha(rank: int, alpha: float) -> float | None:
    return None if alpha == 2 * rank else alpha


def _rows_of(plan: Plan, index: PlanIndex) -> dict[str, tuple[int, float]]:
    r = resolve(plan, index)
    hit = r.wrapped
    return {n: (int(k), float(a)) for n, k, a in zip(index.names[hit], r.ranks[hit], r.alphas[hit])}


def _unmatched(config: LoraConfig, skel: Skeleton, hits: PeftTargets) -> list[str]:
    """Target entries and pattern keys that match nothing on this model."""
    names = [n for n, _ in skel.model.named_modules() if n]
    tm = config.target_modules
    out: list[str] = []
    if isinstance(tm, str) and tm != "all-linear" and not any(matches_pattern(n, tm) for n in names):
        out.append(tm)
    elif isinstance(tm, (set, list)):
        out += [e for e in sorted(tm) if not any(matches_any_entry(n, [e]) for n in names)]
    params = param_names(skel.model)
    out += [e for e in sorted(config.target_parameters or ()) if not any(matches_any_entry(p, [e]) for p in params)]
    hit_names = list(hits.modules) + list(hits.parameters)
    for attr in ("rank_pattern", "alpha_pattern"):
        out += [f"{attr}: {k}" for k in getattr(config, attr) or {}
                if not any(pattern_key_matches(k, n) for n in hit_names)]
    return out


def _rewrites(config: LoraConfig, skel: Skeleton) -> list[str]:
    """PEFT's MoE rewriting on this model, as notes (``gate_proj -> target_parameters gate_up_proj``)."""
    after = convert_like_peft(config, skel.model)
    before_tm = set(config.target_modules) if isinstance(config.target_modules, (set, list)) else set()
    moved = sorted(before_tm - set(after.target_modules or ()))
    added = sorted(set(after.target_parameters or ()) - set(config.target_parameters or ()))
    notes = [f"target_modules {', '.join(moved)} -> target_parameters {', '.join(added)}"] if moved else []
    extra = {k: v for k, v in (after.rank_pattern or {}).items() if k not in (config.rank_pattern or {})}
    notes += [f"rank_pattern {k}: {v} (fused pair, rank doubled)" for k, v in extra.items()]
    return notes


def audit_adapter_config(data: bytes | str | dict[str, Any], inventory: pd.DataFrame | PlanIndex,
                         skel: Skeleton) -> AdapterAudit:
    """Read an adapter_config.json against a model (``skel`` is only read, never wrapped).

    ``skel`` should be the model built for the adapter's ``task_type``
    (:func:`lora_core.model.task.adapter.model_for_adapter`); the rows PEFT saves for that task (the
    classification head) are counted through the inventory.

    Raises:
        InputError: PEFT refuses the file or refuses it on this model (its own message), or it
            asks for a variant or field this tool cannot count (the field is named).
    """
    index = inventory if isinstance(inventory, PlanIndex) else PlanIndex(inventory)
    inventory = index.inventory
    raw = _as_dict(data)
    config, ignored = parse_adapter_config(raw)
    variant = variants.from_config(config, raw)
    config = _with_default_targets(config, skel)
    try:
        hits = peft_matches(config, skel.model)
    except ValueError as e:
        raise InputError("adapter_config", f"PEFT rejects it on this model: {e}") from None
    saved = _saved_names(config, skel)
    rows_hit = {n: ra for n, ra in matched_rows(hits, inventory).items() if not _inside(n, saved)}
    if not rows_hit and not saved:
        raise _refusal(config, skel)
    plan = plan_from_hits(rows_hit, config, index) if rows_hit else Plan()
    plan = dataclasses.replace(plan, modules_to_save=saved, variant=variant)
    resolved = resolve(plan, index)
    rows = resolved.rows if rows_hit else _no_rows(inventory)
    if variant is not None and len(rows):
        linear = [k in ("linear", "conv1d") for k in rows["kind"]]
        variant.check_rows(list(rows["name"]), [int(r) for r in rows["rank"]],
                           [int(v) for v in rows["in_features"]], [int(v) for v in rows["out_features"]], linear)
    return AdapterAudit(config, rows, _unmatched(config, skel, hits), _rewrites(config, skel),
                        plan, resolved.count, ignored)


def _as_dict(data: bytes | str | dict[str, Any]) -> dict[str, Any]:
    if isinstance(data, (bytes, str)):
        data = load_json_object(data, "adapter_config", limit=MAX_ADAPTER_CONFIG_BYTES)
    if not isinstance(data, dict):
        raise InputError("adapter_config", "holds JSON but not an object; adapter_config.json is an object")
    return data


def _with_default_targets(config: LoraConfig, skel: Skeleton) -> LoraConfig:
    """PEFT's own default ``target_modules`` for the model type when the file names none."""
    if config.target_modules is not None or config.target_parameters:
        return config
    default = LoraModel.target_module_mapping.get(skel.config.model_type)
    if default is None:
        raise InputError("adapter_config: target_modules", "is missing and PEFT has no default targets for "
                         f"{skel.config.model_type!r} models (PEFT raises: Please specify `target_modules` "
                         "or `target_parameters` in `peft_config`)")
    out = copy.deepcopy(config)
    out.target_modules = default if isinstance(default, str) else set(default)
    return out


def _saved_names(config: LoraConfig, skel: Skeleton) -> tuple[str, ...]:
    """Full names of the modules PEFT saves for the file's ``modules_to_save`` (plain ``endswith``,
    as PEFT's ``_set_trainable`` matches), outermost only."""
    entries = set(config.modules_to_save or ())
    if not entries:
        return ()
    found = sorted(n for n, _ in skel.model.named_modules() if n and any(saved_by_text(n, e) for e in entries))
    return tuple(n for n in found if not _inside(n, set(found) - {n}))


def _inside(name: str, modules: set[str] | tuple[str, ...]) -> bool:
    return any(name == m or name.startswith(m + ".") for m in modules)


def _refusal(config: LoraConfig, skel: Skeleton) -> InputError:
    """PEFT's own refusal of an adapter that wraps nothing here, with the renamed list when its
    names are another transformers version's naming of this model."""
    said = peft_refusal_message(config, skel.model) or "the adapter wraps no module of this model"
    tm = config.target_modules
    if isinstance(tm, (set, list, tuple)):
        renamed = renamed_targets(sorted(tm), (n for n, _ in skel.model.named_modules()))
        if renamed:
            said += (f" Its target names look like another transformers version's naming ({renamed[0]}); "
                     f"renamed for this model: {json.dumps(renamed[1])}")
    return InputError("target_modules", f"PEFT refuses it (get_peft_model raises: {said})")


def _no_rows(inventory: pd.DataFrame) -> pd.DataFrame:
    return inventory.iloc[0:0].assign(key=pd.Series(dtype=object), rank=pd.Series(dtype="int64"),
                                      alpha=pd.Series(dtype="float64"), lora_params=pd.Series(dtype="int64"))


def plan_from_adapter_config(data: bytes | str | dict[str, Any], inventory: pd.DataFrame,
                             skel: Skeleton) -> Plan:
    """The plan equivalent to an adapter config on this model (export -> import gives the same rows)."""
    return audit_adapter_config(data, inventory, skel).plan
