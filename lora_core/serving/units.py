"""The adapter's units as plain arrays, for rules that run on every Targets click.

What the engines read from a unit's name (its leaf ``q_proj``, its template
``model.layers.{i}.self_attn.q_proj``, whether its path is ``model.layers.N.``) depends on the model
only, so :func:`model_units` derives it once per model (:class:`ModelUnits`, kept with the
model's :class:`~lora_core.planning.PlanIndex`) and an adapter takes its units' rows of it
(:class:`UnitArrays`). The rules then mask and count numpy arrays instead of building pandas
Series on each judgement; their findings are the same (``tests/serving``).
"""

from __future__ import annotations

import re
import threading
import weakref
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..planning import PlanIndex, ResolvedPlan

_VISION_STACKS = ("vision", "projector")
_LAYER_NUMBER = re.compile(r"\.(\d+)\.")


def leaf_of(module: str) -> str:
    """The last part of a module name: ``model.layers.7.mlp.up_proj -> up_proj``."""
    return module.rsplit(".", 1)[-1]


def template_of(name: str) -> str:
    """A name with its (first) layer number as ``{i}``: ``model.layers.7.mlp.up_proj -> model.layers.{i}.mlp.up_proj``."""
    return _LAYER_NUMBER.sub(".{i}.", name, count=1)


def _codes(values: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of ``values`` and the distinct values they index."""
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), sort=False)
    return codes.astype(np.int64), np.asarray(uniques, dtype=object)


@dataclass(frozen=True, eq=False)
class ModelUnits:
    """Per inventory row of one model: name facts the engines read (built by :func:`model_units`).

    Attributes:
        names, modules: the rows' names and module names.
        leaf, leaves: per row a code into ``leaves``, the distinct leaf names.
        template, templates: per row a code into ``templates``, the distinct name templates.
        template_layers: per template code, in how many layers a targetable unit of it exists.
        layer_units: per template, the layers it exists in (targetable rows with a layer).
        vision: per row, in the vision tower or projector.
    """

    names: np.ndarray
    modules: np.ndarray
    leaf: np.ndarray
    leaves: np.ndarray
    template: np.ndarray
    templates: np.ndarray
    template_layers: np.ndarray
    layer_units: dict[str, frozenset[int]]
    vision: np.ndarray
    _paths: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def path_match(self, pattern: str) -> np.ndarray:
        """Per row, whether the name matches ``pattern`` at its start (``re.match``); kept per pattern."""
        if pattern not in self._paths:
            rx = re.compile(pattern)
            self._paths[pattern] = np.fromiter((rx.match(n) is not None for n in self.names), bool, len(self.names))
        return self._paths[pattern]

    def leaf_table(self, leaves) -> np.ndarray:
        """Per leaf code, whether its leaf name is in ``leaves``."""
        wanted = set(leaves)
        return np.fromiter((x in wanted for x in self.leaves), bool, len(self.leaves))


def layer_units(inventory: pd.DataFrame) -> dict[str, frozenset[int]]:
    """Per unit template (the name with its layer number as ``{i}``), the layers it exists in."""
    inv = inventory[inventory["targetable"] & inventory["layer"].notna()]
    out: dict[str, set[int]] = {}
    for name, layer in zip(inv["name"], inv["layer"]):
        out.setdefault(template_of(name), set()).add(int(layer))
    return {t: frozenset(s) for t, s in out.items()}


def _build(inventory: pd.DataFrame) -> ModelUnits:
    names = list(inventory["name"])
    modules = list(inventory["module"])
    leaf, leaves = _codes([leaf_of(m) for m in modules])
    template, templates = _codes([template_of(n) for n in names])
    per_template = layer_units(inventory)
    every = np.array([len(per_template.get(t, ())) for t in templates], dtype=np.int64)
    return ModelUnits(np.asarray(names, dtype=object), np.asarray(modules, dtype=object), leaf, leaves, template,
                      templates, every, per_template, inventory["stack"].isin(_VISION_STACKS).to_numpy(bool))


_BUILT: weakref.WeakKeyDictionary[PlanIndex, ModelUnits] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def model_units(index: PlanIndex) -> ModelUnits:
    """The :class:`ModelUnits` of a model, built once per :class:`PlanIndex` (kept while it lives)."""
    with _LOCK:
        found = _BUILT.get(index)
    if found is None:
        found = _build(index.inventory)
        with _LOCK:
            found = _BUILT.setdefault(index, found)
    return found


@dataclass(frozen=True, eq=False)
class UnitArrays:
    """An adapter's units (the plan's wrapped rows, in inventory order) as arrays.

    ``leaf`` and ``template`` are codes into ``model.leaves`` and ``model.templates``; ``pos`` the
    rows' positions in the inventory."""

    model: ModelUnits = field(repr=False)
    pos: np.ndarray
    name: np.ndarray
    module: np.ndarray
    kind: np.ndarray
    rank: np.ndarray
    alpha: np.ndarray
    params: np.ndarray
    leaf: np.ndarray
    template: np.ndarray
    vision: np.ndarray

    def leaf_in(self, leaves) -> np.ndarray:
        """Per unit, whether its leaf name is in ``leaves``."""
        return self.model.leaf_table(leaves)[self.leaf]

    def leaf_names(self, mask: np.ndarray | None = None) -> np.ndarray:
        """The units' leaf names (under ``mask``)."""
        codes = self.leaf if mask is None else self.leaf[mask]
        return self.model.leaves[codes]

    def path_match(self, pattern: str) -> np.ndarray:
        return self.model.path_match(pattern)[self.pos]


def unit_arrays(resolved: ResolvedPlan, units: ModelUnits | None = None) -> UnitArrays:
    """The wrapped rows of ``resolved`` as :class:`UnitArrays` (``units``: the model's, when known)."""
    index = resolved.index
    m = units if units is not None else model_units(index)
    pos = np.flatnonzero(resolved.wrapped)
    return UnitArrays(m, pos, m.names[pos], m.modules[pos], index.kind[pos], resolved.ranks[pos],
                      resolved.alphas[pos], resolved.lora[pos], m.leaf[pos], m.template[pos], m.vision[pos])
