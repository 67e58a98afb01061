"""The nearest plan an engine serves exactly: options it refuses or ignores switched off, units it
cannot apply dropped, ranks capped or made uniform, layer subsets widened where the engine drops them.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import pandas as pd

from ..planning.audit import plan_from_hits
from ..planning import Plan, PlanIndex, ResolvedPlan, count, resolve
from . import lorax, sglang, tgi, vllm, vllm_archs
from .adapter import Adapter, adapter_of, describe


@dataclass(frozen=True)
class Servable:
    """A proposed plan for one engine and what changes.

    Attributes:
        plan: the new plan, ``None`` when no plan can be served (the engine refuses the model).
        changes: what was changed, in words.
        before, after: trainable parameters of the current and the new plan.
        list_form: export ``target_modules`` as a list (``to_lora_config(..., allow_regex=False)``):
            SGLang refuses a regex string.
    """

    plan: Plan | None
    changes: tuple[str, ...]
    before: int
    after: int
    list_form: bool = False

    @property
    def difference(self) -> int:
        return self.after - self.before


def _drop_mask(a: Adapter, engine: str) -> tuple[np.ndarray, list[str]]:
    """Units the engine cannot apply (refused or ignored), and why."""
    u, notes = a.units, []
    drop = np.zeros(len(u), dtype=bool)

    def add(mask, note):
        nonlocal drop
        mask = np.asarray(mask, dtype=bool) & ~drop
        if mask.any():
            drop |= mask
            notes.append(f"dropped {int(mask.sum())} {note}")

    if u.empty:
        return drop, notes
    if engine == "vllm":
        expected = vllm.expected_modules(a)
        if expected is not None:
            add(~a.leaf().isin(list(expected)), "units with no vLLM LoRA layer")
        if a.model.arch not in vllm_archs.TOWER:
            add(a.in_vision(), "vision tower/projector units")
        add(vllm.path_mismatch(a), "units whose path vLLM names differently (never applied)")
    elif engine == "sglang":
        add(a.in_vision(), "vision tower/projector units")
        add(u["kind"].isin(["expert-parameter", "parameter"]), "expert/router parameter units")
        norm = a.leaf().map(sglang.normalized)
        sized = sglang.SIZED - ({"qkv_proj", "o_proj"} if a.model.head_dim_unset else set())
        add(~norm.isin(list(sized)), "units SGLang cannot size")
    else:
        layers = tgi.LAYERS if engine == "tgi" else lorax.LAYERS.get(a.model.model_type, frozenset())
        path = r"^transformer\.h\.\d+\." if engine == "lorax" and a.model.model_type == "gpt2" else tgi.LAYER_PATH
        add(~tgi.applied_mask(a, layers, path), f"units outside {engine.upper()}'s layer table")
    return drop, notes


def _ranks(u: pd.DataFrame, engine: str, a: Adapter) -> tuple[dict[str, tuple[int, float]], list[str]]:
    hits = {n: (int(r), float(al)) for n, r, al in zip(u["name"], u["rank"], u["alpha"])}
    notes = []
    if engine == "vllm" and hits and max(r for r, _ in hits.values()) > 512:
        hits = {n: (min(r, 512), al * min(r, 512) / r) for n, (r, al) in hits.items()}
        notes.append("ranks capped at 512 (vLLM's largest --max-lora-rank)")
    if engine in ("tgi", "lorax") and hits:  # one rank per layer type (the engine stacks the layers)
        by_leaf: dict[str, list[int]] = {}
        for n, (r, _) in hits.items():
            by_leaf.setdefault(n.rpartition(".")[2], []).append(r)
        mode = {leaf: max(sorted(set(rs)), key=rs.count) for leaf, rs in by_leaf.items() if len(set(rs)) > 1}
        if mode:
            hits = {n: ((m := mode.get(n.rpartition(".")[2], r)), al * m / r) for n, (r, al) in hits.items()}
            notes.append("one rank per layer type: " + ", ".join(f"{k} r{v}" for k, v in sorted(mode.items())))
    uniform_rank = engine == "sglang"
    uniform_scale = engine in ("sglang", "tgi", "lorax")
    if hits and (uniform_rank or uniform_scale):
        r0 = int(a.cfg("r") or 8)
        a0 = float(a.cfg("lora_alpha") or 2 * r0)
        ranks = {r for r, _ in hits.values()}
        scales = {al / r for r, al in hits.values()}
        if uniform_rank and ranks != {r0}:
            hits = {n: (r0, a0) for n in hits}
            notes.append(f"every unit at rank {r0}, alpha {a0:g} (no rank_pattern)")
        elif uniform_scale and len(scales) > 1:
            hits = {n: (r, a0 / r0 * r) for n, (r, _) in hits.items()}
            notes.append(f"one scale alpha/r = {a0 / r0:g} for every unit (no alpha_pattern)")
    return hits, notes


def servable_plan(plan: Plan | ResolvedPlan, index: PlanIndex, model_config, engine: str) -> Servable:
    """The nearest plan ``engine`` serves exactly (``plan=None`` when the engine refuses the model).

    ``plan`` may come resolved already (the app's cached :class:`ResolvedPlan`)."""
    resolved = plan if isinstance(plan, ResolvedPlan) else resolve(plan, index)
    plan = resolved.plan
    a = adapter_of(resolved, model_config)
    before = resolved.count.trainable
    mod = {"vllm": vllm, "sglang": sglang, "tgi": tgi, "lorax": lorax}[engine]
    model_rules = [getattr(mod, n) for n in ("rule_registry", "rule_backend_model", "rule_arch", "rule_model") if hasattr(mod, n)]
    refused = [f for rule in model_rules for f in rule(a) if f.kind == "refuses"]
    if refused:
        return Servable(None, (refused[0].reason,), before, before)
    changes: list[str] = []
    opts = dict(dora=False, lora_bias=False, bias="none")
    if engine == "sglang":
        opts["rslora"] = False
    for k, v in opts.items():
        if getattr(plan, k) != v and k != "rslora":
            changes.append(f"{k} {'off' if v is False else v}")
    saved = () if engine != "vllm" else tuple(m for m in plan.modules_to_save if m in ("classifier", "score"))
    if saved != plan.modules_to_save:
        changes.append("modules_to_save dropped")
    layers = plan.layers
    if engine in ("tgi", "lorax") and plan.layers is not None:
        layers = None
        changes.append("all layers (a layer type missing on some layers is dropped on all of them)")
    widened = dataclasses.replace(plan, layers=layers, modules_to_save=saved, **opts)
    a = describe(widened, index, model_config)
    drop, notes = _drop_mask(a, engine)
    hits, rank_notes = _ranks(a.units[~drop], engine, a)
    if engine == "sglang" and plan.rslora:  # alpha' = alpha * sqrt(r): SGLang's alpha'/r is rsLoRA's alpha/sqrt(r)
        hits = {n: (r, round(al * math.sqrt(r), 6)) for n, (r, al) in hits.items()}
        rank_notes.append("rsLoRA replaced by alpha x sqrt(r), the same scale alpha/sqrt(r) that SGLang computes as alpha/r")
    changes += notes + rank_notes
    if not hits:
        return Servable(None, tuple(changes) + ("nothing the engine can serve is left",), before, before)
    new = plan_from_hits(hits, SimpleNamespace(use_dora=False, use_rslora=widened.rslora, lora_bias=False,
                                               bias="none", modules_to_save=list(saved)), index)
    new = dataclasses.replace(new, rslora=widened.rslora)
    if engine == "sglang":
        changes.append("export target_modules as a list of names (no regex)")
    return Servable(new, tuple(changes), before, count(new, index).trainable, list_form=engine == "sglang")
