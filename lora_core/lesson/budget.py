"""Equal budget: the rank each target set gets when all must train about the same number of
parameters (the LoRA paper's Table 5 set-up, reproduced on the model in hand).

A plan's count is linear in the rank (``r * (in + out)`` per wrapped unit, ``r * E * (in + out)``
per expert tensor), so a set's rank is ``floor(budget / count at rank 1)``: the largest rank
whose count stays within the budget. The default budget is the model's Q,V at rank 8.

>>> [s.label for s in TARGET_SETS][:3]
['W_q', 'W_k', 'W_v']
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..planning import Plan, PlanIndex, Target, count

DEFAULT_BUDGET_PLAN = Plan((Target("q", 8), Target("v", 8)))


@dataclass(frozen=True)
class TargetSet:
    """A set of target keys compared at equal budget.

    Attributes:
        label: how the LoRA paper (or the page) names it (``W_q, W_v``).
        keys: the plan keys (``('q', 'v')``).
        paper: whether the set is a column of the LoRA paper's Table 5.
    """

    label: str
    keys: tuple[str, ...]
    paper: bool = True


TARGET_SETS: tuple[TargetSet, ...] = (
    TargetSet("W_q", ("q",)), TargetSet("W_k", ("k",)), TargetSet("W_v", ("v",)), TargetSet("W_o", ("o",)),
    TargetSet("W_q, W_k", ("q", "k")), TargetSet("W_q, W_v", ("q", "v")),
    TargetSet("W_q, W_k, W_v, W_o", ("q", "k", "v", "o")),
    TargetSet("FFN only", ("ffn",), paper=False), TargetSet("All linear", ("all-linear",), paper=False),
)
COLUMNS = ("label", "keys", "paper", "rank", "trainable", "share_of_budget", "modules", "note")


def set_plan(keys: tuple[str, ...], rank: int) -> Plan:
    """The plan adapting ``keys`` at one ``rank``: ``(('q', 'v'), 4) -> q=4, v=4``."""
    return Plan(tuple(Target(k, rank) for k in keys))


def default_budget(index: PlanIndex) -> int:
    """The model's Q,V at rank 8 (0 when it has neither)."""
    keys = tuple(t.key for t in DEFAULT_BUDGET_PLAN.targets if index.mask(t.key).any())
    return count(set_plan(keys, 8), index).trainable if keys else 0


def rank_for(keys: tuple[str, ...], budget: int, index: PlanIndex) -> int:
    """The largest rank at which ``keys`` train at most ``budget`` parameters (0 if not even rank 1)."""
    per_rank = count(set_plan(keys, 1), index).trainable
    return budget // per_rank if per_rank else 0


def equal_budget(index: PlanIndex, budget: int | None = None,
                 sets: tuple[TargetSet, ...] = TARGET_SETS) -> pd.DataFrame:
    """One row per target set: its rank at ``budget`` (default :func:`default_budget`) and the
    exact count at that rank. Columns: :data:`COLUMNS` (``rank`` 0 and a ``note`` where the model
    lacks a key, or where even rank 1 is over the budget)."""
    budget = default_budget(index) if budget is None else budget
    rows = []
    for s in sets:
        lacking = [k for k in s.keys if not index.mask(k).any()]
        rank = 0 if lacking else rank_for(s.keys, budget, index)
        c = count(set_plan(s.keys, rank), index) if rank else None
        note = (f"this model has no {', '.join(lacking)}" if lacking
                else "" if rank else "over the budget even at rank 1")
        rows.append(dict(label=s.label, keys=",".join(s.keys), paper=s.paper, rank=rank,
                         trainable=c.trainable if c else 0,
                         share_of_budget=(c.trainable / budget) if c and budget else 0.0,
                         modules=c.modules if c else 0, note=note))
    return pd.DataFrame(rows, columns=list(COLUMNS))
