"""LoRA plans: which inventory rows a plan targets, at what rank, and what that trains.

A plan names targets by key, at three levels of specificity (the most specific key wins a row;
between equals, the later target wins):

- a module name (``q_a_proj``, ``model.layers.0.mlp.down_proj``), matched as PEFT matches a list
  entry: the full name equals it or ends with ``.`` + it; parameter rows too (``gate_up_proj``);
- a role: ``q k v o gate up down`` (a fused module holding the role is targeted: GPT-2
  ``c_attn`` for ``q``), or a fused role by its own name (``qkv``, ``gate_up``, ``kv_b``);
- a group: ``attention``, ``linear-attention`` (Gated DeltaNet ...), ``ssm`` (Mamba mixers),
  ``ffn`` (FFN linears, shared experts, and routed experts' fused parameters; not the router),
  ``experts``, ``router``, ``embedding``, ``head``, and ``all-linear`` (PEFT's meaning: every
  Linear/Conv1D but the output embedding).

An FFN role (``gate``, ``up``, ``down``, ``gate_up``) reaches the routed experts of every layer
that has no dense FFN unit holding it (OLMoE, Phi-MoE, Jamba's MoE layers); a fused expert
tensor is reached by each role it holds (``gate`` and ``up`` both reach ``gate_up_proj``). Units
PEFT refuses on the model (``not_offered``, e.g. Mamba's ``out_proj``) are never targeted.

Counting is closed form over the inventory (PEFT's rules, see ``lora_params``), vectorised with
NumPy through a :class:`PlanIndex` built once per model, so a recount costs microseconds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import pandas as pd

from . import taxonomy as tx
from .errors import InputError
from .variants import Variant

GROUP_KEYS: tuple[str, ...] = ("attention", "linear-attention", "ssm", "ffn", "experts", "router", "embedding",
                               "head", "all-linear")
ROLE_KEYS: tuple[str, ...] = tx.BASIC_ROLES + tuple(sorted(tx.FUSED_ROLES))
_LINEAR_KINDS = ("linear", "conv1d")
_LEVEL = {"all-linear": 0, "group": 1, "role": 2, "name": 3}
BiasMode = Literal["none", "all", "lora_only"]
Scope = Literal["language", "all"]
MAX_RANK = 65_536
MAX_TARGETS = 256
_KEY_RE = re.compile(r"[A-Za-z0-9_.\-]+")


@dataclass(frozen=True)
class Target:
    """One target key at a rank; ``alpha`` defaults to 2 x rank."""

    key: str
    rank: int
    alpha: float | None = None

    @property
    def lora_alpha(self) -> float:
        return float(2 * self.rank if self.alpha is None else self.alpha)


@dataclass(frozen=True)
class Plan:
    """A LoRA plan: targets, a layer subset, and the options that change the trainable count.

    Attributes:
        targets: the keys to target, each with its rank and alpha.
        layers: layer indices to adapt; ``None`` for all. Rows outside layers (embeddings,
            ``lm_head``) are not affected by it.
        dora: DoRA (adds a magnitude vector per wrapped module).
        rslora: rank-stabilised scaling alpha/sqrt(r); changes no count.
        lora_bias: a trainable bias on each LoRA B matrix.
        bias: PEFT's ``bias``: ``none``, ``all`` (every bias in the model), ``lora_only``.
        modules_to_save: modules trained in full as a copy (``lm_head``, ``classifier``).
        scope: for vision-language models, ``language`` (default) or ``all`` (vision too).
        variant: a LoRA variant that changes the count (BD-LoRA, KaSA, MiCA), see
            :mod:`lora_core.variants`; ``None`` for plain LoRA (or DoRA, which is ``dora``).
    """

    targets: tuple[Target, ...] = ()
    layers: tuple[int, ...] | None = None
    dora: bool = False
    rslora: bool = False
    lora_bias: bool = False
    bias: BiasMode = "none"
    modules_to_save: tuple[str, ...] = ()
    scope: Scope = "language"
    variant: Variant | None = None

    def with_target(self, key: str, rank: int, alpha: float | None = None) -> Plan:
        """This plan with ``key`` set to ``rank``/``alpha`` (replacing an earlier entry)."""
        kept = tuple(t for t in self.targets if t.key != key)
        return replace(self, targets=kept + (Target(key, rank, alpha),))

    def without(self, key: str) -> Plan:
        """This plan without target ``key``."""
        return replace(self, targets=tuple(t for t in self.targets if t.key != key))


@dataclass(frozen=True)
class PlanCount:
    """What a plan trains, as PEFT's ``get_nb_trainable_parameters`` reports it.

    Attributes:
        trainable: all trainable parameters (LoRA + biases made trainable + saved copies).
        lora: LoRA A/B matrices, DoRA magnitudes and LoRA biases.
        extra: biases made trainable by ``bias`` plus ``modules_to_save`` copies.
        base_total: parameters of the base model.
        all_params: PEFT's "all params": base plus adapters and copies.
        modules: number of wrapped units.
    """

    trainable: int
    lora: int
    extra: int
    base_total: int
    all_params: int
    modules: int

    @property
    def share(self) -> float:
        """Trainable share of all parameters, as PEFT prints it (0.0052 for 0.52 %)."""
        return self.trainable / self.all_params if self.all_params else 0.0


def key_level(key: str) -> str:
    """``'all-linear'``, ``'group'``, ``'role'`` or ``'name'``: how specific a key is."""
    if key == "all-linear":
        return "all-linear"
    if key in GROUP_KEYS:
        return "group"
    return "role" if key in ROLE_KEYS else "name"


class PlanIndex:
    """Arrays over one model's inventory, built once, answering plans in microseconds."""

    def __init__(self, inventory: pd.DataFrame) -> None:
        inv = inventory
        self.inventory = inv
        self.names = inv["name"].to_numpy()
        self.kind = inv["kind"].to_numpy()
        self.group = inv["group"].to_numpy()
        self.io = (inv["in_features"] + inv["out_features"]).to_numpy(np.int64)
        self.out = inv["out_features"].to_numpy(np.int64)
        self.experts = inv["num_experts"].to_numpy(np.int64)
        self.bias = inv["bias_params"].to_numpy(np.int64)
        self.numel = inv["numel"].to_numpy(np.int64)
        self.layer = inv["layer"].to_numpy(dtype=np.float64, na_value=np.nan)
        self.targetable = inv["targetable"].to_numpy(bool)
        self.linear = np.isin(self.kind, _LINEAR_KINDS)
        self.in_vision = inv["stack"].isin(["vision", "projector"]).to_numpy(bool)
        self.has_vision = bool(self.in_vision.any())
        self.base_total = int(inv["base_params"].sum())
        self.all_bias = int(self.bias.sum())
        self.num_layers = int(np.nanmax(self.layer)) + 1 if np.isfinite(self.layer).any() else 0
        self._masks: dict[str, np.ndarray] = {}
        self._contains = inv["contains"].to_numpy()
        self._role = inv["role"].to_numpy()
        self.task_type: str | None = inv.attrs.get("task_type")  # the model's PEFT task_type, if known
        # rows PEFT trains in full for the model's task (the classification head), see lora_core.task
        self.task_saved = (inv["task_saved"].to_numpy(bool) if "task_saved" in inv
                           else np.zeros(len(inv), dtype=bool))

    def mask(self, key: str) -> np.ndarray:
        """Rows ``key`` names (before scope, layers and ``modules_to_save``); cached."""
        if key not in self._masks:
            self._masks[key] = self._compute_mask(key)
        return self._masks[key]

    def _compute_mask(self, key: str) -> np.ndarray:
        g, t = self.group, self.targetable
        lin = self.linear & t
        groups = {
            "attention": (g == "attention") & lin,
            "linear-attention": (g == "linear-attention") & lin,
            "ssm": (g == "ssm") & lin,
            "ffn": ((g == "ffn") & lin) | ((g == "experts") & t),
            "experts": (g == "experts") & t,
            "router": (g == "router") & t,
            "embedding": (g == "embedding") & t,
            "head": (g == "head") & t,
            "all-linear": lin & ~self.inventory["is_output"].to_numpy(bool),
        }
        if key in groups:
            return groups[key]
        if key in tx.BASIC_ROLES or key in tx.FUSED_ROLES:
            return self._role_mask(key)
        suffix = "." + key
        return t & np.array([n == key or n.endswith(suffix) for n in self.names], dtype=bool)

    def _role_mask(self, key: str) -> np.ndarray:
        """A role's units. A basic role: linears holding it outside the experts, plus routed
        experts holding it in each (stack, layer) with no such linear. A fused role: every unit."""
        g, t = self.group, self.targetable
        if key in tx.FUSED_ROLES:
            return (self._role == key) & t
        holds = np.array([key in c.split("+") for c in self._contains], dtype=bool)
        dense = holds & self.linear & t & (g != "experts")
        experts = holds & t & (g == "experts")
        if not experts.any():
            return dense
        stacks = self.inventory["stack"].to_numpy()
        covered = set(zip(stacks[dense], self.layer[dense]))
        return dense | (experts & np.array([(s, l) not in covered for s, l in zip(stacks, self.layer)]))

    def saved_mask(self, modules_to_save: tuple[str, ...]) -> np.ndarray:
        """Rows inside a ``modules_to_save`` module (PEFT's rule), which LoRA does not wrap, and
        the rows PEFT saves for the model's task (its classification head)."""
        if not modules_to_save:
            return self.task_saved.copy()
        pats = [re.compile(rf"(^|.*\.){re.escape(m)}($|\..*)") for m in modules_to_save]
        return self.task_saved | np.array([any(p.match(n) for p in pats) for n in self.names], dtype=bool)

    def layer_mask(self, layers: tuple[int, ...] | None) -> np.ndarray:
        """Rows kept by a layer subset: rows in those layers, and rows with no layer."""
        if layers is None:
            return np.ones(len(self.names), dtype=bool)
        return np.isnan(self.layer) | np.isin(self.layer, np.asarray(layers, dtype=np.float64))

    def scope_mask(self, scope: Scope) -> np.ndarray:
        """Rows in scope: vision tower and projector only with ``scope='all'``."""
        return ~self.in_vision if scope == "language" else np.ones(len(self.names), dtype=bool)


def _check_target(t: Target) -> None:
    if isinstance(t.rank, bool) or not isinstance(t.rank, (int, np.integer)) or t.rank <= 0:
        raise InputError(f"rank for '{t.key}'", f"must be a positive integer, got {t.rank!r}; try 8 or 16")
    if t.rank > MAX_RANK:
        raise InputError(f"rank for '{t.key}'", f"{t.rank} is above {MAX_RANK}; LoRA ranks are small (4 to 256)")
    if t.alpha is not None and (isinstance(t.alpha, bool) or not isinstance(t.alpha, (int, float, np.number))
                                or not 0 < t.alpha < float("inf")):
        raise InputError(f"alpha for '{t.key}'", f"must be positive, got {t.alpha!r}; the usual choice is 2 x rank")
    if not isinstance(t.key, str) or not t.key or len(t.key) > 200:
        raise InputError("target", f"a target key must be 1 to 200 characters, got {str(t.key)[:60]!r}")
    if not _KEY_RE.fullmatch(t.key):
        raise InputError("target", f"{t.key!r} is not a module name, role or group; use letters, digits, "
                         "'_', '-' and '.' only (e.g. q_proj), not a regular expression")


def _assign(plan: Plan, index: PlanIndex) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: rank (0 = untouched), alpha, and which target index claimed it (-1 none)."""
    n = len(index.names)
    ranks, alphas, owner = np.zeros(n, np.int64), np.zeros(n, np.float64), np.full(n, -1)
    order = sorted(range(len(plan.targets)), key=lambda i: _LEVEL[key_level(plan.targets[i].key)])
    for i in order:
        t = plan.targets[i]
        m = index.mask(t.key)
        ranks[m], alphas[m], owner[m] = t.rank, t.lora_alpha, i
    keep = index.layer_mask(plan.layers) & index.scope_mask(plan.scope) & ~index.saved_mask(plan.modules_to_save)
    ranks[~keep], owner[~keep] = 0, -1
    return ranks, alphas, owner


def lora_params(plan: Plan, index: PlanIndex, ranks: np.ndarray) -> np.ndarray:
    """Trainable LoRA parameters per row, PEFT's rules.

    Linear/Conv1D and embeddings: r*(in+out); fused expert parameters: r*E*(in+out) (PEFT's
    ``ParamWrapper``); DoRA adds ``out`` (the magnitude) and ``lora_bias`` adds ``out`` on
    modules (not on parameters). E.g. q_proj 4096->4096 at r=8: 8*(4096+4096) = 65,536.
    """
    per = ranks * index.io * index.experts
    if plan.variant is not None:
        per = plan.variant.params(index.names, ranks, index.io - index.out, index.out, per)
    is_module = np.isin(index.kind, ("linear", "conv1d", "embedding"))
    wrapped = (ranks > 0) & is_module
    per = per + wrapped * index.out * plan.dora
    return per + ((ranks > 0) & index.linear) * index.out * plan.lora_bias


def count(plan: Plan, index: PlanIndex) -> PlanCount:
    """The trainable count of ``plan`` (no validation; call :func:`validate_plan` on edits)."""
    ranks, _, _ = _assign(plan, index)
    lora = int(lora_params(plan, index, ranks).sum())
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


def per_row(plan: Plan, index: PlanIndex) -> tuple[np.ndarray, np.ndarray]:
    """Per inventory row: the rank ``plan`` gives it (0 = untouched) and its LoRA parameters."""
    ranks, _, _ = _assign(plan, index)
    return ranks, lora_params(plan, index, ranks)


def resolve_plan(plan: Plan, index: PlanIndex | pd.DataFrame) -> pd.DataFrame:
    """The rows ``plan`` wraps: inventory columns plus ``key``, ``rank``, ``alpha``, ``lora_params``."""
    index = index if isinstance(index, PlanIndex) else PlanIndex(index)
    ranks, alphas, owner = _assign(plan, index)
    hit = ranks > 0
    out = index.inventory.loc[hit].copy()
    out["key"] = [plan.targets[i].key for i in owner[hit]]
    out["rank"] = ranks[hit]
    out["alpha"] = alphas[hit]
    out["lora_params"] = lora_params(plan, index, ranks)[hit]
    return out


def parse_layers(text: str, num_layers: int) -> tuple[int, ...] | None:
    """Parse ``"0-3,7"`` into ``(0, 1, 2, 3, 7)``; empty text means all layers (``None``)."""
    text = text.strip()
    if not text:
        return None
    layers: set[int] = set()
    for part in text.split(","):
        m = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
        if not m:
            raise InputError("layers", f"{part.strip()!r} is not a layer or range; write e.g. 0-3,7")
        lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        if lo > hi:
            raise InputError("layers", f"range {lo}-{hi} runs backwards; write {hi}-{lo}")
        if hi >= num_layers:  # before building the range: "0-999999999" must not allocate
            raise InputError("layers", f"{part.strip()!r} is outside this model's layers 0-{num_layers - 1}")
        layers.update(range(lo, hi + 1))
    return check_layers(tuple(sorted(layers)), num_layers)


def check_layers(layers: tuple[int, ...] | None, num_layers: int) -> tuple[int, ...] | None:
    """Refuse an empty layer subset or one outside the model's ``0..num_layers-1``."""
    if layers is None:
        return None
    if not layers:
        raise InputError("layers", "the layer subset is empty; leave it empty for all layers")
    bad = [i for i in layers if i < 0 or i >= num_layers]
    if bad:
        raise InputError("layers", f"{bad} outside this model's layers 0-{num_layers - 1}")
    return tuple(layers)


def validate_plan(plan: Plan, index: PlanIndex) -> list[str]:
    """Raise :class:`InputError` for a plan PEFT would reject; return warnings for surprises."""
    if not plan.targets and not plan.modules_to_save:
        raise InputError("targets", "the plan targets nothing; switch on at least one target (e.g. q and v)")
    if len(plan.targets) > MAX_TARGETS:
        raise InputError("targets", f"{len(plan.targets)} targets is above the limit of {MAX_TARGETS}; "
                         "use role or group keys (q, v, ffn, all-linear) instead of listing modules")
    for t in plan.targets:
        _check_target(t)
    check_layers(plan.layers, index.num_layers)
    if plan.bias not in ("none", "all", "lora_only"):
        raise InputError("bias", f"must be none, all or lora_only, got {plan.bias!r}")
    for entry in plan.modules_to_save:
        _check_saved(entry, index, plan.modules_to_save)
    ranks, _, owner = _assign(plan, index)
    warnings: list[str] = []
    for i, t in enumerate(plan.targets):
        if not index.mask(t.key).any():
            raise _no_match(t.key, index)
        if not (owner == i).any():
            warnings.append(f"'{t.key}' wraps nothing here (other targets, the layer range or the scope take its modules).")
    params = (ranks > 0) & (index.kind == "expert-parameter")
    if params.any() and (plan.dora or plan.lora_bias):
        raise InputError("dora" if plan.dora else "lora_bias", "PEFT does not support it on fused expert "
                         "parameters (target_parameters); switch it off or leave the experts out")
    if not (ranks > 0).any() and not plan.modules_to_save:
        raise InputError("targets", "the plan wraps no module (check the layer range and scope)")
    big = (ranks > 0) & (ranks > np.minimum(index.inventory["in_features"], index.inventory["out_features"]).to_numpy())
    if big.any():
        warnings.append(f"rank above min(in, out) on {int(big.sum())} modules (e.g. {index.names[big][0]}): "
                        "it adds parameters without adding expressiveness.")
    return warnings


def _check_saved(entry: str, index: PlanIndex, listed: tuple[str, ...] = ()) -> None:
    """Refuse a ``modules_to_save`` entry PEFT would read differently from how we count it.

    PEFT saves every module whose name ends with the entry as plain text, so ``head`` also
    saves ``lm_head``; we count whole dotted names, and ask for the exact name instead.
    """
    modules = set(index.inventory["module"])
    dotted = re.compile(rf"(^|.*\.){re.escape(entry)}$")
    loose = sorted(m for m in modules if m.endswith(entry) and not dotted.match(m) and m not in listed)
    if loose:
        raise InputError("modules_to_save", f"PEFT would also save {loose[0]!r} for {entry!r} (it "
                         "matches any name ending in it); write the full module name instead")
    inside = re.compile(rf"(^|.*\.){re.escape(entry)}($|\..*)")  # the entry or a module under it
    if not any(inside.match(m) for m in modules):
        raise InputError("modules_to_save", f"{entry!r} names no module of this model; use a name "
                         "shown in the module tree, e.g. lm_head")


def _no_match(key: str, index: PlanIndex) -> InputError:
    """Why ``key`` targets nothing: PEFT refuses what it names, or what the model has instead."""
    field = f"target '{key}'"
    refused = index.inventory["not_offered"].notna().to_numpy()
    named = np.array([n == key or n.endswith("." + key) for n in index.names], dtype=bool)
    if (named & refused).any():
        return InputError(field, f"{index.inventory['not_offered'].to_numpy()[named & refused][0]}; "
                          "leave it out (the other projections can be targeted)")
    return InputError(field, f"matches no module of this model; {_hint(index)}")


def _hint(index: PlanIndex) -> str:
    units = (index.linear | (index.kind == "expert-parameter")) & index.targetable
    leaves = sorted({n.rpartition(".")[2] for n in index.names[units]})
    groups = [k for k in GROUP_KEYS if k != "all-linear" and index.mask(k).any()]
    text = f"its module names are {', '.join(leaves[:16])}; its groups are {', '.join(groups)}"
    if index.mask("experts").any():
        text += "; the routed experts are the 'experts' key (e.g. --target experts=4)"
    return text


PRESET_PLANS: dict[str, Plan] = {
    "Attention Q,V r8 (classic)": Plan((Target("q", 8), Target("v", 8))),
    "Q,V r8 + FFN r4 (extended)": Plan((Target("q", 8), Target("v", 8), Target("ffn", 4))),
    "All attention r8": Plan((Target("attention", 8),)),
    "All linear r16 (QLoRA-style)": Plan((Target("all-linear", 16),)),
}


@dataclass(frozen=True)
class TaskGuidance:
    """A task type, the preset it suggests, and why."""

    task: str
    preset: str
    why: str = field(default="")


TASK_GUIDANCE: tuple[TaskGuidance, ...] = (
    TaskGuidance("Classification on existing categories", "Attention Q,V r8 (classic)",
                 "The model already knows the concepts; adapting how it attends is enough."),
    TaskGuidance("Knowledge injection", "Q,V r8 + FFN r4 (extended)",
                 "Facts live mostly in the FFN weights, so new knowledge needs FFN adapters too."),
    TaskGuidance("Style transfer", "Q,V r8 + FFN r4 (extended)",
                 "Changing how text is written reshapes token representations: add the FFN."),
)
