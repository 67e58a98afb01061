"""Choose, per tool, the config form that the tool reads as exactly the plan (or the closest one).

Candidates are PEFT keyword sets that all wrap the plan exactly in PEFT (the exported config,
its other target forms, every module by full name, MoE experts by their pre-fusion names, which
PEFT itself rewrites to the fused tensors). Each is projected onto the tool's row of
:data:`lora_core.recipes.capabilities.CAPS` (what the tool drops, rounds or moves), counted with
the project's counting, and the first exact one wins; if none is, the one with the fewest
differing units, then the closest count.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd

from ..errors import InputError
from ..model.skeleton import Skeleton
from ..peft_rules import legacy_expert_names
from ..planning import Plan, PlanIndex, ResolvedPlan, check_fields, resolve, validate
from ..planning.export import config_dict, lora_config
from ..planning.export_forms import module_candidates, saved_names, wanted_targets
from .capabilities import CAPS, ToolCaps
from .statement import Statement, compare, plan_units, tool_units

_FIELDS = ("r", "lora_alpha", "target_modules", "target_parameters", "layers_to_transform", "rank_pattern",
           "alpha_pattern", "modules_to_save", "use_dora", "use_rslora", "lora_bias", "bias", "task_type",
           "lora_dropout")
_EMBEDDING_LEAVES = ("embed_tokens", "lm_head")


@dataclass(frozen=True)
class Choice:
    """The ``LoraConfig`` keywords the tool builds from the recipe, and the statement."""

    built: dict
    statement: Statement


def candidates(resolved: ResolvedPlan, skel: Skeleton, exported: dict | None = None) -> list[dict]:
    """PEFT keyword sets that each make PEFT wrap exactly the plan (the exported one first).

    ``exported``: the plan's adapter_config.json dict when the caller already has it.
    """
    plan = resolved.plan
    exported = exported if exported is not None else config_dict(lora_config(resolved, skel))
    exported = {k: v for k, v in exported.items() if k in _FIELDS}
    model = skel.model
    want = wanted_targets(resolved.rows, model)
    names = [n for n, _ in model.named_modules()]
    saved = saved_names(names, plan.modules_to_save)
    forms: list[dict] = []
    if want.modules:
        forms += module_candidates(plan, set(want.modules), saved, names)
        forms.append({"target_modules": sorted(want.modules)})
    out = [exported]
    for form in forms:
        cand = exported | {"layers_to_transform": None} | form
        if cand not in out:
            out.append(cand)
    legacy, rest = legacy_expert_names(model, exported.get("target_parameters") or ())
    if legacy:
        out += [c | {"target_modules": sorted(set(_as_list(c["target_modules"])) | legacy),
                     "target_parameters": rest or None} for c in list(out) if not isinstance(c["target_modules"], str)]
    return out


def _as_list(tm) -> list[str]:
    return [] if tm is None else [tm] if isinstance(tm, str) else list(tm)


def project(given: dict, caps: ToolCaps, embedding_rows: bool) -> tuple[dict, list[str]] | None:
    """The config ``caps.tool`` builds from ``given``, and what it lost; ``None`` if it cannot take the form."""
    k, notes = dict(given), []
    tm = k.get("target_modules")
    if isinstance(tm, str) and not (caps.all_linear if tm == "all-linear" else caps.regex):
        return None
    if isinstance(tm, str) and embedding_rows and not caps.embedding_lora:
        return None
    if k.get("layers_to_transform") is not None and not caps.layers:
        return None
    if k.get("target_parameters") and not caps.target_parameters:
        notes.append(f"{caps.label} has no target_parameters: {', '.join(k['target_parameters'][:3])} "
                     "(fused expert tensors, or linears PEFT reaches only that way on this model) are not trained")
        k["target_parameters"] = None
    lost = [key for key, ok in (("rank_pattern", caps.rank_pattern), ("alpha_pattern", caps.alpha_pattern))
            if k.get(key) and not ok]
    if lost:
        notes.append(f"{caps.label} has one rank and alpha for all targets: every target trains at "
                     f"r={k['r']}, alpha={k['lora_alpha']:g} ({' and '.join(lost)} cannot be given)")
        k.update({key: {} for key in lost})
    if not caps.fractional_alpha:
        k, rounded = _integer_alphas(k)
        notes += [f"{caps.label} takes integer alphas only: {rounded} is written"] if rounded else []
    for key, ok, off in (("lora_bias", caps.lora_bias, False), ("bias", caps.bias, "none"),
                         ("use_dora", caps.dora, False), ("use_rslora", caps.rslora, False)):
        if k.get(key, off) != off and not ok:
            notes.append(f"{caps.label} has no {key} option: {key}={k[key]!r} is not applied")
            k[key] = off
    if not caps.embedding_lora and isinstance(tm, list):
        moved = [t for t in tm if t.rpartition(".")[2] in _EMBEDDING_LEAVES]
        if moved:
            notes.append(f"{caps.label} trains {', '.join(moved)} in full (modules_to_save), not as LoRA")
            k["target_modules"] = [t for t in tm if t not in moved]
            k["modules_to_save"] = list(k.get("modules_to_save") or []) + moved
    if caps.saveable is not None and k.get("modules_to_save"):
        refused = [m for m in k["modules_to_save"] if m.rpartition(".")[2] not in caps.saveable]
        if refused:
            notes.append(f"{caps.label} refuses modules_to_save {', '.join(refused)}: they are left out")
            k["modules_to_save"] = [m for m in k["modules_to_save"] if m not in refused] or None
    if not caps.no_modules and not _as_list(k.get("target_modules")):
        return None
    return k, notes


def _integer_alphas(k: dict) -> tuple[dict, str]:
    rounded = []
    alpha = k["lora_alpha"]
    if float(alpha) != int(alpha):
        k["lora_alpha"] = max(1, round(alpha))
        rounded.append(f"lora_alpha {alpha:g} -> {k['lora_alpha']}")
    pattern = {}
    for key, a in (k.get("alpha_pattern") or {}).items():
        pattern[key] = max(1, round(a)) if float(a) != int(a) else int(a)
        if pattern[key] != a:
            rounded.append(f"alpha {a:g} -> {pattern[key]} for {key}")
    k["alpha_pattern"] = pattern
    k["lora_alpha"] = int(k["lora_alpha"])
    return k, "; ".join(rounded)


class Chooser:
    """Chooses forms for one plan on one model, for any tool; candidates and counts are computed once."""

    def __init__(self, plan: Plan, inventory: pd.DataFrame | PlanIndex, skel: Skeleton, exported: dict | None = None,
                 resolved: ResolvedPlan | None = None) -> None:
        """``resolved``: the plan already resolved and validated (resolved and validated here otherwise)."""
        if resolved is None:
            index = inventory if isinstance(inventory, PlanIndex) else PlanIndex(inventory)
            check_fields(plan, index)
            resolved = resolve(plan, index)
            validate(resolved)
        self.plan, self.index, self.skel = plan, resolved.index, skel
        self.candidates = candidates(resolved, skel, exported)
        rows = resolved.rows
        self.plan_side, self.plan_n = plan_units(rows), resolved.count.trainable
        self.embedding_rows = bool((rows["kind"] == "embedding").any())
        self._counted: dict[str, tuple[dict, int] | None] = {}

    def counted(self, built: dict) -> tuple[dict, int] | None:
        """What PEFT wraps with ``built`` and the count (``None``: PEFT rejects it), memoised."""
        key = json.dumps(built, sort_keys=True, default=str)
        if key not in self._counted:
            try:
                self._counted[key] = tool_units(built, self.index, self.skel)
            except InputError:
                self._counted[key] = None
        return self._counted[key]

    def choose(self, tool: str) -> Choice:
        """The form to write for ``tool``: exact if one is, else the closest, with its statement."""
        return _choose(self, CAPS[tool])


def choose(tool: str, plan: Plan, inventory: pd.DataFrame, skel: Skeleton) -> Choice:
    """The form to write for ``tool`` (see :class:`Chooser`).

    Raises:
        InputError: the plan is invalid, or PEFT itself cannot express it on this model.
    """
    return Chooser(plan, inventory, skel).choose(tool)


def _choose(ch: Chooser, caps: ToolCaps) -> Choice:
    plan, plan_side, plan_n = ch.plan, ch.plan_side, ch.plan_n
    best: tuple | None = None
    for given in ch.candidates:
        projected = project(given, caps, ch.embedding_rows)
        if projected is None:
            continue
        built, notes = projected
        counted = ch.counted(built)
        if counted is None:
            continue
        side, n = counted
        same = bool(built.get("use_rslora")) == plan.rslora and bool(built.get("use_dora")) == plan.dora
        st = compare(plan_side, plan_n, side, n, notes, same)
        if st.exact:
            return Choice(built, st)
        rank = (len(st.added) + len(st.missing) + len(st.changed), abs(n - plan_n))
        if best is None or rank < best[0]:
            best = (rank, Choice(built, st))
    if best is None:
        raise InputError("format", f"{caps.label} {caps.version} can take no form of this plan")
    return best[1]
