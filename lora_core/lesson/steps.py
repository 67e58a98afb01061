"""The lesson's steps, read from ``steps.yaml``, and what each step means on a given model.

A step names the plan it talks about as target keys (``{q: 8, v: 8}``); :func:`on_model` turns
it into a valid :class:`~lora_core.plan.Plan` for the model in hand, keeps the keys the model has,
and says plainly which keys the step needs that the model lacks (``moe`` on a dense model).

>>> [s.id for s in load_steps()][:3]
['names', 'qv-r8', 'ffn-r4']
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml

from ..errors import InputError
from ..planning import Plan, PlanIndex, Target, validate_plan
from .budget import default_budget, rank_for

STEPS_FILE = Path(__file__).with_name("steps.yaml")
SHOWS = ("names", "count", "share", "budget", "evidence", "moe", "memory", "tasks")
PredictKind = Literal["trainable", "larger", "fits24"]
PREDICT_KINDS: tuple[str, ...] = ("trainable", "larger", "fits24")
LAST_RESORT = Plan((Target("all-linear", 8),))
BUDGET = "budget"  # a rank written as `budget`: the equal-budget rank of the step's keys on the model
_ID_RE = re.compile(r"[a-z0-9][a-z0-9-]*")
KEY_WORDS: dict[str, str] = {
    "q": "query projection", "k": "key projection", "v": "value projection", "o": "attention output projection",
    "gate": "FFN gate projection", "up": "FFN up projection", "down": "FFN down projection",
    "ffn": "feed-forward linears", "experts": "routed experts", "router": "router", "attention": "attention",
}


@dataclass(frozen=True)
class Predict:
    """The question a step asks before it shows the answer.

    Attributes:
        kind: ``trainable`` (how many parameters), ``larger`` (which of two plans trains more),
            ``fits24`` (whether training fits on a 24 GB GPU).
        other: the second plan's targets, for ``larger``.
        other_label: how the page names the second plan.
    """

    kind: PredictKind
    other: tuple[Target, ...] = ()
    other_label: str = ""


@dataclass(frozen=True)
class Step:
    """One step of the lesson, as written in ``steps.yaml`` (see the file's header)."""

    id: str
    title: str
    text: str
    look: str
    show: str
    targets: tuple[Target, ...]
    fallback: tuple[Target, ...] = ()
    needs: tuple[str, ...] = ()
    lacks: dict[str, str] = field(default_factory=dict, compare=False)
    predict: Predict | None = None
    try_models: tuple[str, ...] = ()

    def __hash__(self) -> int:
        return hash(self.id)


@dataclass(frozen=True)
class StepOnModel:
    """A step applied to one model.

    Attributes:
        step: the step.
        plan: the plan it sets on this model (valid for it).
        missing: keys the step needs that the model does not have.
        notes: one plain sentence per missing key (and one when the fallback plan is used).
    """

    step: Step
    plan: Plan
    missing: tuple[str, ...]
    notes: tuple[str, ...]


def _targets(raw: object, where: str, budget_ok: bool = False) -> tuple[Target, ...]:
    """Targets from ``{key: rank}``; with ``budget_ok`` a rank may be ``budget`` (kept as rank 0
    until :func:`on_model` fills in the equal-budget rank)."""
    if raw is None:
        return ()
    if not isinstance(raw, dict) or not raw:
        raise InputError(where, "must be a mapping of target key to rank, e.g. {q: 8, v: 8}")
    out = []
    for key, rank in raw.items():
        if budget_ok and rank == BUDGET:
            out.append(Target(str(key), 0))
            continue
        if isinstance(rank, bool) or not isinstance(rank, int) or rank <= 0:
            raise InputError(where, f"rank of {key!r} must be a positive integer, got {rank!r}")
        out.append(Target(str(key), rank))
    return tuple(out)


def _predict(raw: object, where: str) -> Predict | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or raw.get("kind") not in PREDICT_KINDS:
        raise InputError(where, f"kind must be one of {', '.join(PREDICT_KINDS)}")
    other = _targets(raw.get("other"), f"{where}.other")
    if raw["kind"] == "larger" and not other:
        raise InputError(where, "a 'larger' question needs the other plan, e.g. other: {q: 32, v: 32}")
    return Predict(raw["kind"], other, str(raw.get("other_label") or ""))


def parse_step(raw: dict, n: int) -> Step:
    """One step from its YAML mapping; raises ``InputError`` naming the step and the field."""
    where = f"step {n + 1}"
    if not isinstance(raw, dict):
        raise InputError(where, "must be a mapping with id, title, text, look, show and plan")
    for name in ("id", "title", "text", "look", "show", "plan"):
        if not raw.get(name):
            raise InputError(f"{where}.{name}", "is missing")
    if not _ID_RE.fullmatch(str(raw["id"])):
        raise InputError(f"{where}.id", f"{raw['id']!r} must be lower-case letters, digits and '-'")
    if raw["show"] not in SHOWS:
        raise InputError(f"{where}.show", f"must be one of {', '.join(SHOWS)}, got {raw['show']!r}")
    lacks = raw.get("lacks") or {}
    return Step(str(raw["id"]), str(raw["title"]), str(raw["text"]).strip(), str(raw["look"]), raw["show"],
                _targets(raw["plan"], f"{where}.plan", True), _targets(raw.get("fallback"), f"{where}.fallback", True),
                tuple(str(k) for k in raw.get("needs") or ()), {str(k): str(v).strip() for k, v in lacks.items()},
                _predict(raw.get("predict"), f"{where}.predict"), tuple(raw.get("try_models") or ()))


def parse_steps(text: str) -> tuple[Step, ...]:
    """Steps from YAML text (a list of mappings); ids must be unique."""
    raw = yaml.safe_load(text)
    if not isinstance(raw, list) or not raw:
        raise InputError("steps", "the lesson file must be a non-empty list of steps")
    steps = tuple(parse_step(r, i) for i, r in enumerate(raw))
    ids = [s.id for s in steps]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise InputError("steps", f"step ids must be unique; repeated: {', '.join(dup)}")
    return steps


@lru_cache(maxsize=4)
def load_steps(path: Path = STEPS_FILE) -> tuple[Step, ...]:
    """The lesson's steps, in order (read once per path)."""
    return parse_steps(path.read_text(encoding="utf-8"))


def step_by_id(steps: tuple[Step, ...], step_id: str | None) -> Step:
    """The step with ``step_id``; the first step for ``None``; raises ``InputError`` if unknown."""
    if step_id is None:
        return steps[0]
    for s in steps:
        if s.id == step_id:
            return s
    raise InputError("step", f"{step_id!r} is not a step of the lesson; steps are {', '.join(s.id for s in steps)}")


def lack_sentence(step: Step, key: str) -> str:
    """What the page says when the model has no unit for ``key``."""
    return step.lacks.get(key) or f"This model has no {KEY_WORDS.get(key, repr(key))}, so this step leaves it out."


def _valid(targets: tuple[Target, ...], index: PlanIndex) -> Plan | None:
    kept = tuple(t for t in targets if index.mask(t.key).any())
    if not kept:
        return None
    at_budget = tuple(t.key for t in kept if t.rank == 0)
    if at_budget:
        rank = rank_for(at_budget, default_budget(index), index) or 1
        kept = tuple(Target(t.key, rank) if t.rank == 0 else t for t in kept)
    try:
        validate_plan(Plan(kept), index)
    except InputError:
        return None
    return Plan(kept)


def on_model(step: Step, index: PlanIndex) -> StepOnModel:
    """The step on a model: its plan (its keys the model has; else the fallback; else all
    linear at rank 8) and a sentence for each needed key the model lacks."""
    missing = tuple(k for k in step.needs if not index.mask(k).any())
    notes = [lack_sentence(step, k) for k in missing]
    plan = _valid(step.targets, index)
    if plan is None:
        plan = _valid(step.fallback, index) or LAST_RESORT
        keys = ", ".join(t.key for t in plan.targets)
        notes.append(f"None of this step's targets exist here, so it uses {keys} instead.")
    return StepOnModel(step, plan, missing, tuple(notes))
