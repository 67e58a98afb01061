"""What a tool will train for a recipe, as data, beside the plan: exact, or which modules differ.

The tool's side is counted with the project's own counting (:func:`lora_core.planning.audit.audit_adapter_config`:
PEFT's matching replayed, then the closed-form count, equal to ``get_nb_trainable_parameters``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ..planning.audit import audit_adapter_config
from ..numbers import human
from ..errors import InputError
from ..planning.export import config_dict
from ..model.skeleton import Skeleton
from ..planning import PlanIndex

RankAlpha = tuple[int, float]


@dataclass(frozen=True)
class Statement:
    """A tool's training of a recipe, compared with the plan.

    Attributes:
        exact: the tool wraps the plan's units at the plan's ranks/alphas, trains the plan's count,
            with the plan's DoRA/rsLoRA.
        trainable: parameters the tool will train (``get_nb_trainable_parameters()[0]``).
        modules: units (modules or expert tensors) the tool will wrap.
        plan_trainable, plan_modules: the plan's figures.
        added: units the tool wraps that the plan does not.
        missing: plan units the tool does not wrap.
        changed: ``(unit, tool rank, tool alpha)`` where both wrap it at different values.
        notes: what the tool cannot express, in words (one line each).
        refused: the tool's error when it rejects the recipe ("" when it accepts it).
    """

    exact: bool
    trainable: int
    modules: int
    plan_trainable: int
    plan_modules: int
    added: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    changed: tuple[tuple[str, int, float], ...] = ()
    notes: tuple[str, ...] = field(default=())
    refused: str = ""

    def differences(self) -> list[str]:
        """The difference in words, empty when exact.

        >>> Statement(False, 10, 1, 20, 2, missing=("h.0.attn.c_attn",)).differences()[0]
        'misses 1 plan unit, e.g. h.0.attn.c_attn'
        """
        if self.refused:
            return [f"refuses the recipe: {self.refused}"]
        out = list(self.notes)
        if self.added:
            out.append(f"also wraps {_units(len(self.added))} outside the plan, e.g. {self.added[0]}")
        if self.missing:
            out.append(f"misses {_units(len(self.missing))}, e.g. {self.missing[0]}")
        if self.changed:
            name, r, a = self.changed[0]
            out.append(f"{_units(len(self.changed))} at another rank/alpha, e.g. {name} at r={r}, alpha={a:g}")
        if self.trainable != self.plan_trainable:
            out.append(f"trains {self.trainable:,} parameters ({human(self.trainable)}) instead of "
                       f"{self.plan_trainable:,} ({human(self.plan_trainable)})")
        return out


def _units(n: int) -> str:
    return f"{n:,} plan unit" if n == 1 else f"{n:,} plan units"


def plan_units(rows: pd.DataFrame) -> dict[str, RankAlpha]:
    """``resolve_plan`` rows as ``unit -> (rank, alpha)``."""
    return {n: (int(r), float(a)) for n, r, a in zip(rows["name"], rows["rank"], rows["alpha"])}


def tool_units(kwargs: dict, inventory: pd.DataFrame | PlanIndex, skel: Skeleton) -> tuple[dict[str, RankAlpha], int]:
    """What PEFT wraps with the ``LoraConfig(**kwargs)`` a tool builds, and the trainable count.

    Raises:
        InputError: PEFT (or LoraConfig) rejects these arguments on this model.
    """
    from peft import LoraConfig

    try:
        config = LoraConfig(**kwargs)
    except (TypeError, ValueError) as e:
        raise InputError("recipe", f"PEFT rejects it: {e}") from None
    audit = audit_adapter_config(config_dict(config), inventory, skel)
    return plan_units(audit.rows), int(audit.count.trainable)


def compare(plan_side: dict[str, RankAlpha], plan_trainable: int, tool_side: dict[str, RankAlpha],
            trainable: int, notes: list[str], same_options: bool) -> Statement:
    """The statement for a tool that wraps ``tool_side`` and trains ``trainable``."""
    added = tuple(sorted(set(tool_side) - set(plan_side)))
    missing = tuple(sorted(set(plan_side) - set(tool_side)))
    changed = tuple((n, *tool_side[n]) for n in sorted(set(plan_side) & set(tool_side))
                    if tool_side[n] != plan_side[n])
    exact = not (added or missing or changed) and trainable == plan_trainable and same_options
    return Statement(exact, trainable, len(tool_side), plan_trainable, len(plan_side), added, missing,
                     changed, tuple(notes))
