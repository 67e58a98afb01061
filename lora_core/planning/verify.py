"""Verify a plan with PEFT itself: apply the exported config to a fresh meta skeleton and compare.

``get_peft_model(..., low_cpu_mem_usage=True)`` keeps the adapters on the meta device, so this
costs about a second even for Llama-3.1-405B and allocates nothing. ``get_peft_model`` mutates the
model it is given, so :func:`verify` takes a factory and builds a fresh skeleton.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd
from peft import get_peft_model
from peft.tuners.lora import LoraLayer, ParamWrapper
from torch import nn

from .export import lora_config
from .export_forms import wanted_targets
from .index import PlanIndex
from .plan import Plan
from .resolved import resolve
from .validate import check_fields, validate
from ..model.skeleton import Skeleton


@dataclass(frozen=True)
class Verification:
    """The plan's figures beside PEFT's on the same model.

    Attributes:
        plan_trainable: the closed-form count (``plan.count``).
        peft_trainable: ``get_nb_trainable_parameters()[0]`` after ``get_peft_model``.
        plan_targeted: the plan's rows, sorted (module names, ``module.param`` for parameters).
        peft_targeted: what PEFT wrapped, named the same way (a linear that PEFT wraps through
            its ``.weight`` parameter, see :mod:`lora_core.planning.export`, is named by its module).
        ok: counts equal and the same rows wrapped at the same rank and alpha.
        diff: human-readable differences (missing, extra, wrong rank or alpha); empty when ok.
    """

    plan_trainable: int
    peft_trainable: int
    plan_targeted: list[str]
    peft_targeted: list[str]
    ok: bool
    diff: list[str] = field(default_factory=list)


def wrapped_by_peft(model: nn.Module, adapter: str = "default") -> dict[str, tuple[int, float]]:
    """Every LoRA layer in a PEFT-wrapped model: name -> (rank, alpha).

    Modules are named as in the base model; a ``ParamWrapper`` as ``module.param`` with the
    ``.base_layer`` hops of nested wrappers removed (two parameters on one experts module nest).
    """
    out: dict[str, tuple[int, float]] = {}
    for name, m in model.named_modules():
        if not isinstance(m, LoraLayer) or adapter not in m.r:
            continue
        name = name.removeprefix("base_model.model.")
        if isinstance(m, ParamWrapper):
            name = name.replace(".base_layer", "") + "." + m.parameter_name
        out[name] = (int(m.r[adapter]), float(m.lora_alpha[adapter]))
    return out


def _diff(want: dict[str, tuple[int, float]], got: dict[str, tuple[int, float]]) -> list[str]:
    lines = [f"not wrapped by PEFT: {n}" for n in sorted(set(want) - set(got))]
    lines += [f"wrapped by PEFT but not in the plan: {n}" for n in sorted(set(got) - set(want))]
    lines += [f"{n}: plan r={want[n][0]} alpha={want[n][1]:g}, PEFT r={got[n][0]} alpha={got[n][1]:g}"
              for n in sorted(set(want) & set(got)) if want[n] != got[n]]
    return lines


def verify(plan: Plan, inventory: pd.DataFrame | PlanIndex, skel_factory: Callable[[], Skeleton]) -> Verification:
    """Apply ``plan``'s exported config with PEFT on a fresh skeleton and compare counts and sets."""
    skel = skel_factory()
    index = inventory if isinstance(inventory, PlanIndex) else PlanIndex(inventory)
    check_fields(plan, index)
    resolved = resolve(plan, index)
    validate(resolved)
    config = lora_config(resolved, skel)
    rows = resolved.rows
    want = wanted_targets(rows, skel.model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = get_peft_model(skel.model, copy.deepcopy(config), low_cpu_mem_usage=True)
    got = wrapped_by_peft(model)
    by_peft_name = {**{n: n for n in want.modules}, **{n: n for n in want.parameters},
                    **{v + ".weight": v for v in want.via_weight}}
    plan_side = {by_peft_name[n]: ra for n, ra in {**want.modules, **want.parameters}.items()}
    peft_side = {by_peft_name.get(n, n): ra for n, ra in got.items()}
    diff = _diff(plan_side, peft_side)
    plan_n, peft_n = resolved.count.trainable, int(model.get_nb_trainable_parameters()[0])
    if plan_n != peft_n:
        diff.append(f"trainable: plan {plan_n:,}, PEFT {peft_n:,}")
    return Verification(plan_n, peft_n, sorted(rows["name"]), sorted(peft_side), not diff, diff)
