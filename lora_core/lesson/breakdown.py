"""What a plan trains, split the way the lesson's MoE and memory steps talk about it.

>>> unit_kind("ffn", "model.layers.3.mlp.shared_experts.up_proj")
'shared experts'
"""

from __future__ import annotations

import pandas as pd

from ..memory import GIB, MemoryEstimate
from ..planning import Plan, PlanIndex, count

UNIT_KINDS = ("attention", "dense FFN", "shared experts", "routed experts", "router", "other")


def unit_kind(group: str, name: str) -> str:
    """``attention``, ``dense FFN``, ``shared experts``, ``routed experts``, ``router`` or ``other``."""
    if group == "experts":
        return "routed experts"
    if group == "router":
        return "router"
    if group == "ffn":
        return "shared experts" if "shared_expert" in name else "dense FFN"
    return "attention" if group in ("attention", "linear-attention") else "other"


def by_unit_kind(resolved: pd.DataFrame, inventory: pd.DataFrame) -> pd.DataFrame:
    """Per unit kind the model has: ``units`` in the model, ``wrapped`` by the plan, the plan's
    ``rank`` there (blank when mixed or none), and its LoRA ``params``. ``resolved`` is
    ``resolve_plan``'s frame."""
    inv = inventory[inventory["targetable"] & inventory["kind"].isin(["linear", "conv1d", "expert-parameter",
                                                                      "parameter"])]
    model_kind = pd.Series([unit_kind(g, n) for g, n in zip(inv["group"], inv["name"])], index=inv.index)
    plan_kind = pd.Series([unit_kind(g, n) for g, n in zip(resolved["group"], resolved["name"])],
                          index=resolved.index, dtype=object)
    rows = []
    for kind in UNIT_KINDS:
        units = int((model_kind == kind).sum())
        if not units or kind == "other":
            continue
        hit = resolved[plan_kind == kind]
        ranks = sorted(set(int(r) for r in hit["rank"]))
        rows.append(dict(unit=kind, units=units, wrapped=len(hit), rank=str(ranks[0]) if len(ranks) == 1 else
                         ("mixed" if ranks else ""), params=int(hit["lora_params"].sum())))
    return pd.DataFrame(rows, columns=["unit", "units", "wrapped", "rank", "params"])


def added_by(key: str, rank: int, plan: Plan, index: PlanIndex) -> int:
    """Trainable parameters ``key`` at ``rank`` would add to ``plan`` (0 if the model has none)."""
    if not index.mask(key).any():
        return 0
    return count(plan.with_target(key, rank), index).trainable - count(plan, index).trainable


def memory_story(est: MemoryEstimate, trainable: int, all_params: int) -> dict[str, float]:
    """The memory step's figures in GiB: the adapter's weights + gradients + optimizer states,
    the same per-parameter cost applied to every parameter (what full fine-tuning would keep
    with the same dtypes and optimizer), the activations, and the frozen weights."""
    adapter = est.lora_weights + est.lora_grads + est.optimizer_states
    per_param = adapter / trainable if trainable else 0.0
    return dict(adapter_gib=adapter / GIB, full_gib=per_param * all_params / GIB, bytes_per_param=per_param,
                activations_gib=est.activations / GIB, base_gib=est.base_weights / GIB,
                optimizer_gib=est.optimizer_states / GIB, total_gib=est.nvidia_smi / GIB)


def larger_answer(a: int, b: int, label_a: str, label_b: str) -> str:
    """Which of two counts is larger, by label (``'equal'`` when they are)."""
    return label_a if a > b else label_b if b > a else "equal"

