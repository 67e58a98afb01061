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
NumPy through a :class:`~lora_core.planning.index.PlanIndex` built once per model, so a recount costs
microseconds. :func:`~lora_core.planning.resolved.resolve` assigns ranks to rows once per (model, plan); every
consumer (counts, export, recipes, memory, serving, tree, charts) reads that :class:`ResolvedPlan`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from ..model import taxonomy as tx
from .variants import Variant

GROUP_KEYS: tuple[str, ...] = ("attention", "linear-attention", "ssm", "ffn", "experts", "router", "embedding",
                               "head", "all-linear")
ROLE_KEYS: tuple[str, ...] = tx.BASIC_ROLES + tuple(sorted(tx.FUSED_ROLES))
LEVEL = {"all-linear": 0, "group": 1, "role": 2, "name": 3}  # a more specific key wins a row
BiasMode = Literal["none", "all", "lora_only"]
Scope = Literal["language", "all"]
MAX_RANK = 65_536
MAX_TARGETS = 256


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
            :mod:`lora_core.planning.variants`; ``None`` for plain LoRA (or DoRA, which is ``dora``).
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
