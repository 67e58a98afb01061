"""The Targets page's toggles: one per role present in a model, as plan target keys (no Streamlit).

A toggle's key is what the plan stores: a role (``q``, ``gate_up``, ``kv_b``), a group
(``experts``, ``router``, ``embedding``, ``head``) or, for a unit with no shared role name
(DeepSeek's ``q_a_proj``), its leaf module name. :func:`toggle_states` reads back, for any plan
(presets with group keys included), which toggles are effectively on and at what rank.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from lora_core.planning import ROLE_KEYS, PlanIndex, ResolvedPlan, Target

SECTIONS: tuple[tuple[str, str], ...] = (
    ("attention", "Attention"), ("linear-attention", "Linear attention (Gated DeltaNet, Lightning)"),
    ("ssm", "State-space and recurrent mixers (Mamba)"), ("ffn", "FFN"), ("experts", "MoE experts"),
    ("router", "Router"),
    ("embedding", "Embeddings"), ("head", "Output head"), ("other", "Other linears"),
)
ROLE_ORDER = ("q", "k", "v", "qkv", "kv", "o", "q_a", "q_b", "kv_a", "kv_b", "gate", "up", "gate_up", "down")
ROLE_TITLES: dict[str, str] = {
    "q": "Q", "k": "K", "v": "V", "o": "O", "qkv": "QKV", "kv": "KV", "kv_a": "KV-A", "kv_b": "KV-B",
    "gate": "Gate", "up": "Up", "gate_up": "Gate+Up", "down": "Down",
}
ROLE_HELP: dict[str, str] = {
    "q": "Query projection: what each token looks for; adapting it moves where attention goes.",
    "k": "Key projection: how each token is found; often left out since Q already steers attention.",
    "v": "Value projection: what is passed along once a token is attended to.",
    "o": "Output projection: mixes the heads back into the residual stream.",
    "qkv": "Fused query-key-value projection: one module, so LoRA adapts Q, K and V together.",
    "kv": "Fused key-value projection (K and V from one linear, as in JetMoE and DeepSeek-V4).",
    "q_a": "MLA query down-projection (compresses the hidden state before the query heads).",
    "q_b": "MLA query up-projection (expands the compressed query to all heads).",
    "kv_a": "MLA key-value down-projection, shared by K and V.",
    "kv_b": "MLA key-value up-projection, producing both K and V.",
    "gate": "FFN gate projection: decides which hidden features pass (SwiGLU).",
    "up": "FFN up projection: widens the hidden state into the FFN's feature space.",
    "gate_up": "Fused FFN gate and up projection: one module, so both are adapted together.",
    "down": "FFN down projection: writes the FFN's features back into the residual stream.",
    "linear-attention": "Linear-attention token mixers (Gated DeltaNet, Lightning attention): their "
                        "projections, adapted like attention's.",
    "ssm": "State-space / recurrent token mixers (Mamba, short convolutions): their input and output "
           "projections, where PEFT allows them.",
    "experts": "Routed experts' fused weight tensors, adapted through PEFT's target_parameters.",
    "router": "The router that scores experts per token; small, but steers which experts run.",
    "embedding": "Input embeddings: adapting them changes how tokens are represented (rarely needed).",
    "head": "Output head (lm_head): adapting it changes which tokens come out; often left out.",
}
FUSED_NOTE: dict[str, str] = {
    "qkv": "Q, K and V are one fused linear in this model. LoRA wraps whole modules, so Q alone "
           "cannot be targeted: this toggle (and a Q or V target) adapts all three.",
    "gate_up": "Gate and up are one fused linear in this model: this toggle adapts both.",
    "kv": "K and V are one fused linear in this model: this toggle (and a K or V target) adapts both.",
    "kv_a": "K and V share one compressed projection (MLA): they are adapted together.",
    "kv_b": "K and V come out of one projection (MLA): they are adapted together.",
}


@dataclass(frozen=True)
class Toggle:
    """One switch on the Targets page.

    Attributes:
        key: the plan target key it sets.
        label: what the user reads (``Q · q_proj``).
        section: one of :data:`SECTIONS`' groups.
        modules: units it covers in the whole model.
        help: one sentence on what the module does.
        note: why a fused module cannot be split, if it is fused.
    """

    key: str
    label: str
    section: str
    modules: int
    help: str
    note: str | None = None


@dataclass(frozen=True)
class ToggleState:
    """Whether a toggle is effectively on under a plan, and at what rank and alpha."""

    on: bool
    rank: int | None = None
    alpha: float | None = None


def _leaves(rows: pd.DataFrame) -> list[str]:
    return sorted(set(rows["name"].str.rsplit(".", n=1).str[-1]))


def _role_toggles(section: str, rows: pd.DataFrame) -> list[Toggle]:
    out: list[Toggle] = []
    roles = sorted(set(rows["role"]), key=lambda r: ROLE_ORDER.index(r) if r in ROLE_ORDER else 99)
    for role in roles:
        part = rows[rows["role"] == role]
        if role in ROLE_KEYS:
            label = f"{ROLE_TITLES.get(role, role)} · {', '.join(_leaves(part))}"
            help_ = f"{ROLE_HELP.get(role, '')} ({len(part)} modules)"
            out.append(Toggle(role, label, section, len(part), help_, FUSED_NOTE.get(role)))
            continue
        for leaf in _leaves(part):
            n = int((part["name"].str.rsplit(".", n=1).str[-1] == leaf).sum())
            help_ = ROLE_HELP.get(role, f"The `{leaf}` linears of the {section} blocks.")
            out.append(Toggle(leaf, f"{role.replace('_', ' ')} · {leaf}", section, n, help_, FUSED_NOTE.get(role)))
    return out


def toggles_for(inventory: pd.DataFrame) -> list[Toggle]:
    """The toggles a model offers, in display order (sections, then roles)."""
    rows = inventory[inventory["targetable"]]
    out: list[Toggle] = []
    for section, _ in SECTIONS:
        part = rows[rows["group"] == section]
        if part.empty:
            continue
        if section in ("attention", "ffn"):
            out.extend(_role_toggles(section, part[part["kind"].isin(["linear", "conv1d"])]))
        elif section == "other":
            lin = part[part["kind"].isin(["linear", "conv1d"])]
            out.extend(Toggle(leaf, leaf, section, int((lin["name"].str.rsplit(".", n=1).str[-1] == leaf).sum()),
                              f"The `{leaf}` linears outside attention and FFN blocks.") for leaf in _leaves(lin))
        else:
            label = ", ".join(_leaves(part))
            out.append(Toggle(section, label, section, len(part), f"{ROLE_HELP[section]} ({len(part)} units)"))
    return out


def not_offered_notes(inventory: pd.DataFrame) -> list[str]:
    """Why units of a wrappable kind have no toggle: PEFT's own refusal, one line per leaf name.

    E.g. ``"out_proj (2 modules) is not offered: PEFT refuses 'out_proj' on falcon_h1 models ..."``.
    """
    refused = inventory[inventory["not_offered"].notna()]
    if refused.empty:
        return []
    leaves = refused["name"].str.rsplit(".", n=1).str[-1]
    return [f"{leaf} ({int((leaves == leaf).sum())} modules) is not offered: "
            f"{refused.loc[leaves == leaf, 'not_offered'].iloc[0]}." for leaf in sorted(set(leaves))]


def toggle_states(toggles: list[Toggle], resolved: ResolvedPlan) -> dict[str, ToggleState]:
    """For each toggle: on when the plan wraps any of its units, with the rank/alpha they get."""
    index, ranks, alphas = resolved.index, resolved.ranks, resolved.alphas
    states: dict[str, ToggleState] = {}
    for t in toggles:
        hit = index.mask(t.key) & (ranks > 0)
        if not hit.any():
            states[t.key] = ToggleState(False)
            continue
        rank, alpha = int(np.median(ranks[hit])), float(alphas[hit][0])
        states[t.key] = ToggleState(True, rank, None if alpha == 2 * rank else alpha)
    return states


def edit_targets(targets: tuple[Target, ...], index: PlanIndex, changed: dict[str, Target | None],
                 on: dict[str, Target]) -> tuple[Target, ...]:
    """The plan's targets after the user changed some toggles, keeping every key the change does not touch.

    ``changed`` maps each toggle the user changed to its new target (``None``: switched off); ``on``
    holds every toggle that is on in the widgets now. A plan key whose units meet no changed toggle
    stays as it is (a module picked in the tree, ``model.layers.3.mlp.down_proj``, stays one module).
    A key that meets one (``attention`` when Q is switched off) is dropped and re-expressed by the
    toggles now on among its units. Example: ``(attention, layers.3.mlp.down_proj)`` with Q off ->
    ``(layers.3.mlp.down_proj, k, v, o)``.
    """
    hit = np.zeros(len(index.names), bool)
    for key in changed:
        hit |= index.mask(key)
    kept = tuple(t for t in targets if not (index.mask(t.key) & hit).any())
    dropped = np.zeros(len(index.names), bool)
    for t in targets:
        if t not in kept:
            dropped |= index.mask(t.key)
    again = tuple(t for key, t in on.items()
                  if key not in changed and key not in {k.key for k in kept} and (index.mask(key) & dropped).any())
    return kept + again + tuple(t for t in changed.values() if t is not None)
