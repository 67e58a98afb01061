"""What the Targets page shows for one (model, plan), computed once and kept with the model.

A toggle click that comes back to a plan seen before (K off again, another student on the same
preset) costs a dictionary lookup instead of resolving the plan, counting it, reading the toggle
states, collecting the notes and building three figures. :class:`PlanViews` is a small LRU held
by each cached model (``ui.common.loaded_model.LoadedModel.views``), so every session on that model shares
it; a :class:`PlanView` is read-only once built. It also keeps what the page computes per
(model, plan, memory settings) (:meth:`PlanViews.memory`) and per model only
(:meth:`PlanViews.per_model`). No Streamlit here.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

import pandas as pd

from lora_core import charts
from lora_core.planning import Plan, PlanCount, PlanIndex, ResolvedPlan, check_fields, resolve, validate

from ..targets.surprises import NameFacts, surprises
from ..targets.toggles import Toggle, ToggleState, toggle_states

MAX_PLANS_PER_MODEL = 64  # a view of Llama-3.1-405B all-linear holds ~0.3 MB of rows
MAX_MEMORY_ESTIMATES_PER_MODEL = 256


class LRU:
    """A thread-safe bounded mapping: ``get(key, build)`` builds a missing value once and keeps
    the ``size`` most recently used (script threads of many sessions share it)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, object] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: Hashable, build: Callable[[], object]) -> object:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = build()  # outside the lock: two sessions may build the same view once each
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value


@dataclass(frozen=True)
class PlanView:
    """Everything the Targets page shows for a plan on a model.

    Attributes:
        plan: the plan.
        count: its trainable count.
        resolved: the plan resolved once (:class:`lora_core.planning.ResolvedPlan`), which the
            memory estimate, the serving badges and the charts read.
        rows: the rows it wraps (``resolved.rows``).
        states: per toggle key, whether it is on and at what rank/alpha.
        notes: PEFT's surprises for the wrapped rows.
        layer_chart, share_chart, frozen_chart: the figures, built once.
        dora_params: DoRA's magnitude parameters (0 without DoRA).
    """

    plan: Plan
    count: PlanCount
    resolved: ResolvedPlan = field(repr=False)
    rows: pd.DataFrame = field(repr=False)
    states: dict[str, ToggleState] = field(repr=False)
    notes: tuple[str, ...]
    layer_chart: charts.SpecFigure = field(repr=False)
    share_chart: charts.SpecFigure = field(repr=False)
    frozen_chart: charts.SpecFigure = field(repr=False)
    dora_params: int = 0


def build_view(resolved: ResolvedPlan, toggles: list[Toggle], facts: NameFacts | None) -> PlanView:
    """Compute a :class:`PlanView` from a resolved plan (valid for the model)."""
    c, rows, index = resolved.count, resolved.rows, resolved.index
    notes = tuple(surprises(facts, resolved.wrapped)) if facts is not None else ()
    per_layer = charts.per_layer_by_role(rows)
    return PlanView(
        resolved.plan, c, resolved, rows, toggle_states(toggles, resolved), notes,
        charts.layer_bars(per_layer, index.num_layers), charts.role_share(charts.by_role(rows)),
        charts.trainable_vs_frozen(c.trainable, c.all_params - c.trainable), resolved.dora_params)


class PlanViews:
    """The views of one model's plans, most recently used kept (see the module docstring)."""

    def __init__(self, size: int = MAX_PLANS_PER_MODEL) -> None:
        self._views = LRU(size)
        self._resolved = LRU(size)
        self._memory = LRU(MAX_MEMORY_ESTIMATES_PER_MODEL)
        self._model = LRU(32)
        self._serving = LRU(4 * size)

    def __len__(self) -> int:
        return len(self._views)

    def resolve(self, plan: Plan, index: PlanIndex) -> ResolvedPlan:
        """``plan`` resolved on this model, once (its fields must have passed ``check_fields``)."""
        return self._resolved.get(plan, lambda: resolve(plan, index))  # type: ignore[return-value]

    def validate(self, plan: Plan, index: PlanIndex) -> list[str]:
        """``validate_plan`` with the resolving shared by every later use of the plan."""
        check_fields(plan, index)
        return validate(self.resolve(plan, index))

    def get(self, plan: Plan, index: PlanIndex, toggles: list[Toggle], facts: NameFacts | None) -> PlanView:
        """The view of ``plan``, built on first use."""
        return self._views.get(plan, lambda: build_view(self.resolve(plan, index), toggles, facts))  # type: ignore[return-value]

    def memory(self, plan: Plan, settings: Hashable, build: Callable[[], object]) -> object:
        """What ``build`` makes for ``plan`` under memory ``settings`` (e.g. the estimate and its
        chart), built once per (plan, settings)."""
        return self._memory.get((plan, settings), build)

    def serving(self, plan: Plan, exported: Hashable, build: Callable[[], object]) -> object:
        """What ``build`` makes for ``plan`` as exported (``None``: judged from the plan alone), e.g.
        the engines' verdicts, built once per (plan, export)."""
        return self._serving.get((plan, exported), build)

    def per_model(self, key: str, build: Callable[[], object]) -> object:
        """What ``build`` makes from the model alone (e.g. notes on what it cannot offer), built once."""
        return self._model.get(key, build)
