"""Cached data behind the Module tree page, and what its clicks do to the plan.

The tree shape and the layer diagrams depend only on the model (and which layer is opened),
so they are built once per server with ``st.cache_resource``; a rerun only re-sums per-node
parameters under the plan. Clicks arrive as Plotly selection events through ``on_select``
callbacks: a tree container opens, a tree leaf or a diagram block toggles its modules in the
plan held by :mod:`ui.common.state` (so every page's counts and the URL follow). Each handled click
bumps a counter in the chart keys, so the next click on the same block is a fresh event.
"""

from __future__ import annotations

import re

import numpy as np
import streamlit as st

from lora_core.errors import InputError
from lora_core.model.summary import fold_layers
from lora_core.model.text_config import text_config
from lora_core.tree import keys
from lora_core.tree.boxes import Diagram
from lora_core.tree.diagram import layer_diagram
from lora_core.tree.hierarchy import ROOT, TreeShape, build_shape, rows_of

from ..common import state
from ..common.loaded_model import LoadedModel, ModelRef

LEVEL, SHOWN, CLICKS, MESSAGE, BY = "tree_level", "tree_shown", "tree_clicks", "tree_message", "tree_by"
STACK_ORDER = ("decoder", "language", "encoder", "vision")


@st.cache_resource(max_entries=64, show_spinner=False)
def tree_shape(ref: ModelRef, opened: tuple[str, ...]) -> TreeShape:
    """The folded hierarchy of the current model (``ref`` keys the cache), ``opened`` layers split out."""
    return build_shape(state.current_model().inventory, frozenset(opened))


@st.cache_resource(max_entries=256, show_spinner=False)
def diagram(ref: ModelRef, stack: str, layer: int) -> Diagram:
    """The block diagram of one layer of the current model."""
    model = state.current_model()
    return layer_diagram(model.inventory, stack, layer, stack_config(model, stack))


def stack_config(model: LoadedModel, stack: str):
    """The config that describes ``stack``'s layers (the vision config for a vision tower)."""
    config = model.skeleton.config
    if stack == "vision" and getattr(config, "vision_config", None) is not None:
        return config.vision_config
    return text_config(config)


def stacks(model: LoadedModel) -> list[str]:
    """Stacks with layers, the one plans usually target first."""
    inv = model.inventory
    have = set(inv.loc[inv["layer"].notna(), "stack"])
    return [s for s in STACK_ORDER if s in have] + sorted(have - set(STACK_ORDER))


def layer_range(model: LoadedModel, stack: str) -> tuple[int, int]:
    """First and last layer index of ``stack``."""
    layers = model.inventory.loc[model.inventory["stack"] == stack, "layer"].dropna()
    return int(layers.min()), int(layers.max())


@st.cache_resource(max_entries=64, show_spinner=False)
def default_layer(ref: ModelRef, stack: str) -> int:
    """The first layer of the stack's longest range of identical layers (DeepSeek-V3: 3, its first MoE layer)."""
    folds = fold_layers(state.current_model().inventory)
    folds = folds[folds["stack"] == stack]
    return int(folds.sort_values("num_layers", ascending=False, kind="stable")["first_layer"].iat[0]) if len(folds) else 0


def layer_node(shape: TreeShape, model: LoadedModel, stack: str, layer: int) -> str:
    """The tree node standing for ``layer`` (its fold, or the layer opened on its own)."""
    inv = model.inventory
    rows = np.flatnonzero(((inv["stack"] == stack) & (inv["layer"] == layer)).fillna(False).to_numpy())
    if not len(rows):
        return ROOT
    leaf = str(shape.nodes["id"].iat[int(shape.row_node[rows[0]])])
    m = re.search(r"^.*?\.\d+(-\d+)?(?=\.|$)", leaf)
    node = m.group(0) if m else ROOT
    ids = set(shape.nodes["id"])
    while node not in ids and "." in node:  # a fold merged into its only child: the child stands for it
        node = next((i for i in ids if i.startswith(node + ".") and i.count(".") == node.count(".") + 1), ROOT)
    return node if node in ids else ROOT


def reset_level() -> None:
    """A new layer or stack: the tree opens at it again."""
    st.session_state.pop(LEVEL, None)


def layer_id(model: LoadedModel, stack: str, layer: int) -> str | None:
    """The tree id of a layer (``model.layers.3``), from its first module's name."""
    inv = model.inventory
    rows = inv[(inv["stack"] == stack) & (inv["layer"] == layer)]
    if not len(rows):
        return None
    name = rows["name"].iat[0]
    marker = f".{layer}."
    return name[: name.index(marker) + len(marker) - 1] if marker in name else None


def chart_key(name: str) -> str:
    """The key of a clickable chart, fresh after every handled click."""
    return f"{name}_{st.session_state.get(CLICKS, 0)}"


def _points(key: str) -> list[dict]:
    event = st.session_state.get(key)
    return list(event["selection"]["points"]) if event else []


def _apply(rows: np.ndarray) -> None:
    ss = st.session_state
    try:
        model = state.current_model()
        result = keys.toggle(state.current_plan(), model.index, rows, ss.get(BY, "role"),
                             lambda p: model.views.resolve(p, model.index))
        if result.changed:
            state.set_plan(result.plan)
        ss[MESSAGE] = ("success" if result.changed else "info", result.message)
    except InputError as e:
        ss[MESSAGE] = ("error", f"**{e.field}**: {e.message}")


def _bump() -> None:
    st.session_state[CLICKS] = st.session_state.get(CLICKS, 0) + 1


def on_tree_click(key: str, opened: tuple[str, ...]) -> None:
    """A click in the icicle: open a container, toggle a leaf's modules."""
    points = _points(key)
    if not points or "id" not in points[0]:
        return
    node_id = points[0]["id"]
    shape = tree_shape(st.session_state[state.MODEL], opened)
    nodes = shape.nodes
    match = nodes[nodes["id"] == node_id]
    _bump()
    if not len(match):
        return
    if bool(match["leaf"].iat[0]):
        st.session_state[LEVEL] = match["parent"].iat[0] or ROOT
        _apply(rows_of(shape, node_id))
    elif node_id == st.session_state.get(SHOWN):  # the tree's current root: back up, as Plotly does
        st.session_state[LEVEL] = match["parent"].iat[0] or ROOT
    else:
        st.session_state[LEVEL] = node_id


def on_diagram_click(key: str, stack: str, layer: int) -> None:
    """A click on a block of the layer diagram: toggle its modules."""
    points = [p for p in _points(key) if p.get("curve_number", 0) == 0]
    _bump()
    if not points:
        return
    boxes = [b for b in diagram(st.session_state[state.MODEL], stack, layer).boxes if b.clickable]
    i = points[0].get("point_index", points[0].get("point_number"))
    if i is not None and 0 <= int(i) < len(boxes):
        _apply(np.asarray(boxes[int(i)].rows, dtype=np.int64))
