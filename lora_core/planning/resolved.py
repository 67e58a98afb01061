"""One resolved plan: which rows a plan wraps, at what rank and alpha, and what it trains.

:func:`resolve` assigns ranks to rows once per (model, plan) and returns a frozen
:class:`ResolvedPlan`; counting, export, recipes, memory, serving, the tree and the charts read it
and never assign again. :func:`count`, :func:`per_row` and :func:`resolve_plan` are thin
wrappers for callers that hold only (plan, index).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from .index import PlanIndex
from .plan import LEVEL, Plan, PlanCount, key_level

_MODULE_KINDS = ("linear", "conv1d", "embedding")


@dataclass(frozen=True, eq=False)
class ResolvedPlan:
    """A plan resolved on one model's :class:`PlanIndex` (read-only once built).

    Attributes:
        plan: the plan.
        index: the model's index.
        ranks: per inventory row, the rank (0 = not wrapped).
        alphas: per row, the alpha of the target that claimed it.
        owner: per row, the index in ``plan.targets`` of the target that claimed it (-1 none).
        lora: per row, LoRA parameters (A/B, DoRA magnitude, LoRA bias), PEFT's rules.
        count: the trainable count, as PEFT's ``get_nb_trainable_parameters`` reports it.
        dora_params: DoRA's magnitude parameters within ``count`` (0 without DoRA).
        notes: surprises worth a warning (a target that wraps nothing, a rank above min(in, out)).
    """

    plan: Plan
    index: PlanIndex = field(repr=False)
    ranks: np.ndarray = field(repr=False)
    alphas: np.ndarray = field(repr=False)
    owner: np.ndarray = field(repr=False)
    lora: np.ndarray = field(repr=False)
    count: PlanCount
    dora_params: int
    notes: tuple[str, ...]

    @property
    def wrapped(self) -> np.ndarray:
        """Per row: whether LoRA wraps it."""
        return self.ranks > 0

    @cached_property
    def rows(self) -> pd.DataFrame:
        """The wrapped rows: inventory columns plus ``key``, ``rank``, ``alpha``, ``lora_params``."""
        hit = self.wrapped
        out = self.index.inventory.loc[hit].copy()
        out["key"] = [self.plan.targets[i].key for i in self.owner[hit]]
        out["rank"] = self.ranks[hit]
        out["alpha"] = self.alphas[hit]
        out["lora_params"] = self.lora[hit]
        return out

    @cached_property
    def saved(self) -> np.ndarray:
        """Per row: inside a ``modules_to_save`` module (trained in full as a copy)."""
        return self.index.saved_mask(self.plan.modules_to_save)


def _assign(plan: Plan, index: PlanIndex) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: rank (0 = untouched), alpha, and which target index claimed it (-1 none)."""
    n = len(index.names)
    ranks, alphas, owner = np.zeros(n, np.int64), np.zeros(n, np.float64), np.full(n, -1)
    order = sorted(range(len(plan.targets)), key=lambda i: LEVEL[key_level(plan.targets[i].key)])
    for i in order:
        t = plan.targets[i]
        m = index.mask(t.key)
        ranks[m], alphas[m], owner[m] = t.rank, t.lora_alpha, i
    keep = index.layer_mask(plan.layers) & index.scope_mask(plan.scope) & ~index.saved_mask(plan.modules_to_save)
    ranks[~keep], owner[~keep] = 0, -1
    return ranks, alphas, owner


def _dora_rows(plan: Plan, index: PlanIndex, ranks: np.ndarray) -> np.ndarray:
    """Per row, DoRA's magnitude vector: ``out`` on each wrapped module (not on parameters)."""
    if not plan.dora:
        return np.zeros(len(ranks), np.int64)
    return ((ranks > 0) & np.isin(index.kind, _MODULE_KINDS)) * index.out


def lora_params(plan: Plan, index: PlanIndex, ranks: np.ndarray) -> np.ndarray:
    """Trainable LoRA parameters per row, PEFT's rules.

    Linear/Conv1D and embeddings: r*(in+out); fused expert parameters: r*E*(in+out) (PEFT's
    ``ParamWrapper``); DoRA adds ``out`` (the magnitude) and ``lora_bias`` adds ``out`` on
    modules (not on parameters). E.g. q_proj 4096->4096 at r=8: 8*(4096+4096) = 65,536.
    """
    per = ranks * index.io * index.experts
    if plan.variant is not None:
        per = plan.variant.params(index.names, ranks, index.io - index.out, index.out, per)
    per = per + _dora_rows(plan, index, ranks)
    return per + ((ranks > 0) & index.linear) * index.out * plan.lora_bias


def _count(plan: Plan, index: PlanIndex, ranks: np.ndarray, lora_rows: np.ndarray) -> PlanCount:
    lora = int(lora_rows.sum())
    in_saved = index.saved_mask(plan.modules_to_save)
    saved = int(index.numel[in_saved].sum())
    if plan.bias == "all":  # biases inside a saved module train in its copy, not twice
        bias = int(index.bias[~in_saved].sum())
    elif plan.bias == "lora_only":
        bias = int(index.bias[(ranks > 0) & index.linear].sum())
    else:
        bias = 0
    extra = bias + saved
    return PlanCount(lora + extra, lora, extra, index.base_total, index.base_total + lora + saved,
                     int((ranks > 0).sum()))


def _notes(plan: Plan, index: PlanIndex, ranks: np.ndarray, owner: np.ndarray) -> tuple[str, ...]:
    notes = [f"'{t.key}' wraps nothing here (other targets, the layer range or the scope take its modules)."
             for i, t in enumerate(plan.targets) if index.mask(t.key).any() and not (owner == i).any()]
    smallest = np.minimum(index.inventory["in_features"], index.inventory["out_features"]).to_numpy()
    big = (ranks > 0) & (ranks > smallest)
    if big.any():
        notes.append(f"rank above min(in, out) on {int(big.sum())} modules (e.g. {index.names[big][0]}): "
                     "it adds parameters without adding expressiveness.")
    return tuple(notes)


def resolve(plan: Plan, index: PlanIndex | pd.DataFrame) -> ResolvedPlan:
    """Resolve ``plan`` on a model (no validation: :func:`lora_core.planning.validate.validate` does that)."""
    index = index if isinstance(index, PlanIndex) else PlanIndex(index)
    ranks, alphas, owner = _assign(plan, index)
    lora = lora_params(plan, index, ranks)
    dora = int(_dora_rows(plan, index, ranks).sum())
    return ResolvedPlan(plan, index, ranks, alphas, owner, lora, _count(plan, index, ranks, lora), dora,
                        _notes(plan, index, ranks, owner))


def count(plan: Plan, index: PlanIndex) -> PlanCount:
    """The trainable count of ``plan`` (no validation; call ``validate_plan`` on edits)."""
    return resolve(plan, index).count


def per_row(plan: Plan, index: PlanIndex) -> tuple[np.ndarray, np.ndarray]:
    """Per inventory row: the rank ``plan`` gives it (0 = untouched) and its LoRA parameters."""
    r = resolve(plan, index)
    return r.ranks, r.lora


def resolve_plan(plan: Plan, index: PlanIndex | pd.DataFrame) -> pd.DataFrame:
    """The rows ``plan`` wraps: inventory columns plus ``key``, ``rank``, ``alpha``, ``lora_params``."""
    return resolve(plan, index).rows
