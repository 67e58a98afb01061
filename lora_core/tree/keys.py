"""Which plan key a click toggles, and the toggle itself: pure functions over a PlanIndex.

A click on a module (a tree leaf, a diagram block) stands for some inventory rows: one module,
or the same module in every layer of a fold. ``by="role"`` toggles its role in every layer (``v``,
``gate_up``, ``router``, ``embedding``) when that role names exactly these modules within
their layers, else the shortest name suffix that does (T5's cross-attention ``q`` is
``EncDecAttention.q``, as the role ``q`` also names self-attention). ``by="module"`` toggles just these modules: the full name of
one module, or for a fold the shortest suffix naming them (``v_proj``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..errors import InputError
from ..planning import ROLE_KEYS, Plan, PlanIndex, ResolvedPlan, check_fields, resolve, validate
from ..model.summary import relative_name

By = Literal["role", "module"]
DEFAULT_RANK = 8
_GROUPS = ("router", "experts", "embedding", "head")  # group keys that name one kind of module


def _same_layers(index: PlanIndex, rows: np.ndarray) -> np.ndarray:
    """Rows sharing a stack and a layer (or no layer) with any of ``rows``."""
    inv = index.inventory
    layer = index.layer
    stacks = set(inv["stack"].to_numpy()[rows])
    layers = layer[rows]
    in_layer = np.isin(layer, layers[np.isfinite(layers)]) | (np.isnan(layer) & bool(np.isnan(layers).any()))
    return in_layer & inv["stack"].isin(stacks).to_numpy()


def _names_exactly(index: PlanIndex, key: str, rows: np.ndarray) -> bool:
    """Whether ``key`` names ``rows`` and nothing else in their layers."""
    hit = index.mask(key) & _same_layers(index, rows)
    want = np.zeros(len(hit), dtype=bool)
    want[rows] = True
    return bool(np.array_equal(hit, want))


def key_for(index: PlanIndex, rows: np.ndarray, by: By = "role") -> str:
    """The plan key a click on ``rows`` (one module, or one module across layers) toggles.

    >>> key_for(llama_index, rows_of_v_proj_in_all_layers)
    'v'
    >>> key_for(llama_index, rows_of_v_proj_in_all_layers, by="module")
    'v_proj'
    >>> key_for(llama_index, [row_of_layer_3_v_proj], by="module")
    'model.layers.3.self_attn.v_proj'
    """
    rows = np.asarray(rows, dtype=np.int64)
    first = index.names[rows[0]]
    role = index.inventory["role"].iat[int(rows[0])]
    group = index.inventory["group"].iat[int(rows[0])]
    if by == "role":
        for key in (role, group):
            if key in ROLE_KEYS + _GROUPS and _names_exactly(index, key, rows):
                return key
    rel = relative_name(first)
    if len(rows) == 1 and (by == "module" or rel == first):
        return first
    parts = rel.split(".")
    shortest = len(parts) - (2 if index.inventory["param"].iat[int(rows[0])] else 1)  # not a bare 'weight'
    for i in range(max(shortest, 0), -1, -1):
        key = ".".join(parts[i:])
        if _names_exactly(index, key, rows):
            return key
    return first


@dataclass(frozen=True)
class Toggle:
    """The outcome of a click: the new plan (or the old one) and what to tell the user."""

    plan: Plan
    message: str
    changed: bool


def toggle(plan: Plan, index: PlanIndex, rows: np.ndarray, by: By = "role",
           resolver: Callable[[Plan], ResolvedPlan] | None = None) -> Toggle:
    """Switch the modules at ``rows`` on (at the plan's usual rank) or off.

    Off removes the key that targets them; when a broader key (``attention``, ``all-linear``)
    covers them the plan is left as it is and the message says which key to change instead.
    Raises ``InputError`` when PEFT would refuse the new plan (nothing is changed then).
    ``resolver``: how to resolve a plan on this model (the app's per-model cache; resolved here otherwise).
    """
    resolver = resolver or (lambda p: resolve(p, index))

    def checked(new: Plan) -> ResolvedPlan:
        check_fields(new, index)
        resolved = resolver(new)
        validate(resolved)
        return resolved

    rows = np.asarray(rows, dtype=np.int64)
    key = key_for(index, rows, by)
    ranks = resolver(plan).ranks
    if (ranks[rows] > 0).any():
        exact = [t.key for t in plan.targets if t.key == key or _names_exactly(index, t.key, rows)]
        if exact:
            new = plan.without(exact[-1])
            checked(new)
            return Toggle(new, f"'{exact[-1]}' switched off.", True)
        covering = [t.key for t in plan.targets if index.mask(t.key)[rows].any()]
        return Toggle(plan, f"these modules are targeted through '{covering[-1] if covering else '?'}'; "
                      "switch that key off on the Targets page to leave them out.", False)
    new = plan.with_target(key, usual_rank(plan))
    if not (checked(new).ranks[rows] > 0).any():
        raise InputError(f"target '{key}'", "is outside the plan's layer range or scope; widen them on "
                         "the Targets page first")
    return Toggle(new, f"'{key}' switched on at rank {usual_rank(plan)}.", True)


def usual_rank(plan: Plan) -> int:
    """The rank most of the plan's targets use (ties: the first), 8 for an empty plan."""
    ranks = [t.rank for t in plan.targets]
    return max(ranks, key=ranks.count) if ranks else DEFAULT_RANK
