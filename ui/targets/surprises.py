"""Where PEFT would surprise the user: notes on the rows a plan wraps (pure, no Streamlit).

``validate_plan`` already warns about targets that wrap nothing and ranks above min(in, out);
these notes explain the structural surprises the Targets page should teach:

- a role that lands on a fused module (``q`` on Phi-3 wraps ``qkv_proj``: K and V too);
- FFN roles on an MoE model reach only dense or shared-expert linears, not the routed experts;
- a leaf name shared by targeted modules and untargeted ones of another role (GPT-2 ``c_proj`` is
  attention output and FFN down): PEFT's plain ``["c_proj"]`` would take both.

:class:`NameFacts` holds per-row arrays built once per model, so a note costs well under a ms.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class NameFacts:
    """Per inventory row: leaf name, role, group, what a fused unit holds, and whether it is linear."""

    leaf: np.ndarray
    role: np.ndarray
    group: np.ndarray
    contains: np.ndarray
    linear: np.ndarray
    has_experts: bool

    @classmethod
    def of(cls, inventory: pd.DataFrame) -> NameFacts:
        """Build the arrays from an inventory (once per model)."""
        names = inventory["name"].to_numpy(dtype=object)
        group = inventory["group"].to_numpy(dtype=object)
        return cls(np.array([n.rpartition(".")[2] for n in names], dtype=object),
                   inventory["role"].to_numpy(dtype=object), group,
                   inventory["contains"].to_numpy(dtype=object),
                   inventory["kind"].isin(["linear", "conv1d"]).to_numpy(bool),
                   bool((group == "experts").any()))


def fused_notes(facts: NameFacts, hit: np.ndarray) -> list[str]:
    """A fused linear in the plan: every role it holds is adapted (fused expert tensors are
    toggled as 'experts' and need no note)."""
    fused = hit & facts.linear & np.array(["+" in c for c in facts.contains], dtype=bool)
    out = []
    for leaf in sorted(set(facts.leaf[fused])):
        rows = fused & (facts.leaf == leaf)
        holds = facts.contains[rows][0].upper().split("+")
        out.append(f"`{leaf}` holds {', '.join(holds)} in one module ({int(rows.sum())} wrapped): LoRA adapts "
                   f"the whole module, so targeting any of them adapts all {len(holds)}.")
    return out


def moe_notes(facts: NameFacts, hit: np.ndarray) -> list[str]:
    """FFN roles chosen on an MoE model without the routed experts."""
    groups = set(facts.group[hit])
    if facts.has_experts and "ffn" in groups and "experts" not in groups:
        return ["The FFN toggles reach the dense and shared-expert linears only; the routed experts are "
                "separate fused tensors: switch on 'experts' to adapt them (PEFT target_parameters)."]
    return []


def collision_notes(facts: NameFacts, hit: np.ndarray) -> list[str]:
    """Leaf names shared by wrapped linears and unwrapped linears of another role."""
    pairs = set(zip(facts.leaf[hit], facts.role[hit]))
    leaves = {leaf for leaf, _ in pairs}
    candidates = facts.linear & ~hit & np.isin(facts.leaf, list(leaves))
    missed: dict[str, set[str]] = {}
    for leaf, role, group in zip(facts.leaf[candidates], facts.role[candidates], facts.group[candidates]):
        if (leaf, role) not in pairs:
            missed.setdefault(leaf, set()).add(group)
    return [f"`{leaf}` also names untargeted {', '.join(sorted(groups))} modules here: PEFT's plain "
            f"`[\"{leaf}\"]` would wrap them too, so the export uses longer names or a pattern."
            for leaf, groups in sorted(missed.items())]


def surprises(facts: NameFacts, hit: np.ndarray) -> list[str]:
    """All notes for the rows a plan wraps (``hit``: a boolean mask over the inventory rows)."""
    if not hit.any():
        return []
    return fused_notes(facts, hit) + moe_notes(facts, hit) + collision_notes(facts, hit)
