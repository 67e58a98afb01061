"""Module tree page: the model's own hierarchy (folded layers) and one layer drawn, both clickable.

``pages/tree.py`` only calls :func:`render`. The data comes from :mod:`lora_core.tree`; the
cached parts and the click handlers from :mod:`ui.tree.data`.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd
import streamlit as st

from lora_core.numbers import human
from lora_core.tree.figures import diagram_figure, tree_icicle
from lora_core.tree.hierarchy import ROOT, node_table, search_focus

from ..common import page, state
from . import data as td
from ..common.widgets import CHART_CONFIG

CHILD_COLUMNS = {
    "label": st.column_config.TextColumn("module"),
    "kind": st.column_config.TextColumn("kind", help="linear, conv1d, embedding, expert-parameter; empty for a container."),
    "shape": st.column_config.TextColumn("shape", help="in → out features (× experts)."),
    "layers": st.column_config.NumberColumn("layers", help="Layers this node stands for (folded ranges)."),
    "base_params": st.column_config.NumberColumn("base parameters", format="localized"),
    "lora_params": st.column_config.NumberColumn("LoRA parameters", format="localized"),
    "targeted": st.column_config.TextColumn("targeted", help="Modules the plan wraps, of those LoRA can wrap."),
    "rank": st.column_config.NumberColumn("rank"),
    "not_offered": st.column_config.TextColumn("not offered", help="Why PEFT refuses to wrap it, if it does."),
}


def controls(model) -> tuple[str, int, bool, str, str | None]:
    """The page's switches: stack and layer, open it in the tree, tree area, saved plan to compare."""
    stacks = td.stacks(model)
    cols = st.columns([2, 2, 3, 3] if len(stacks) > 1 else [2, 3, 3])
    stack = stacks[0]
    if len(stacks) > 1:
        stack = cols[0].selectbox("Stack", stacks, key="tree_stack", help="Which stack of layers to draw.",
                                  on_change=td.reset_level)
    layer_col, by_col, area_col = cols[-3:]
    lo, hi = td.layer_range(model, stack)
    first = td.default_layer(st.session_state[state.MODEL], stack)
    layer = int(layer_col.number_input("Layer", min_value=lo, max_value=hi, value=first, key=f"tree_layer_{stack}",
                                     on_change=td.reset_level,
                                     help="The layer drawn below; the tree opens at it. Tick 'open in the tree' "
                                          "to split it out of its fold."))
    by_col.radio("A click toggles", ["role", "module"], key=td.BY, horizontal=True,
                  format_func=lambda b: "its role, every layer" if b == "role" else "this module only",
                  help="Role: e.g. every v_proj (key v). Module: only the clicked module (its full name; "
                       "for a folded range, the name in those layers).")
    area = area_col.radio("Tree area by", ["base", "lora"], key="tree_area", horizontal=True,
                         format_func=lambda a: "base parameters" if a == "base" else "LoRA parameters")
    open_it = st.checkbox("Open this layer in the tree", key="tree_open", on_change=td.reset_level,
                          help="Show it on its own, out of its fold.")
    here = st.session_state[state.MODEL]
    saved = [name for name, p in state.saved_plans().items() if p.model == here]  # plans made for this model
    compare = None
    if saved:
        compare = st.selectbox("Compare with a saved plan", ["(none)", *saved], key="tree_compare",
                               help="Green outline: what the current plan adds; red: what it drops.")
        compare = None if compare == "(none)" else compare
    return stack, layer, open_it, area, compare


def show_message() -> None:
    kind, text = st.session_state.pop(td.MESSAGE, (None, None))
    if kind == "error":
        st.error(text, icon="🚫")
    elif kind:
        (st.success if kind == "success" else st.info)(text)


def children_table(nodes: pd.DataFrame, level: str, inventory: pd.DataFrame) -> None:
    """The nodes one level under the tree's current root, with their details."""
    kids = nodes[nodes["parent"] == level]
    if not len(kids):
        return
    refused = inventory["not_offered"].to_numpy()[kids["row"].clip(lower=0).to_numpy()]
    view = kids.assign(targeted=[f"{t} of {n}" for t, n in zip(kids["targeted"], kids["targetable"])],
                       rank=kids["rank"].where(kids["rank"] > 0),
                       not_offered=[r if leaf else "" for r, leaf in zip(refused, kids["leaf"])])
    st.dataframe(view[list(CHILD_COLUMNS)], column_config=CHILD_COLUMNS, hide_index=True, width="stretch",
                 key="tree_children")


def tree(model, nodes: pd.DataFrame, opened: tuple[str, ...], area: str, start: str,
         was: np.ndarray | None = None) -> None:
    """The icicle, its navigation, the search and the children table."""
    ss = st.session_state
    ids = set(nodes["id"])
    text = st.text_input("Search modules by name", key="tree_search", placeholder="e.g. v_proj or layers.3.",
                         help="Opens the tree at the deepest node holding every match.")
    if text.strip() and ss.get("tree_searched") != text:
        ss["tree_searched"] = text
        ss[td.LEVEL] = search_focus(td.tree_shape(ss[state.MODEL], opened), model.inventory, text)[0]
    level = ss.get(td.LEVEL) or start
    level = level if level in ids else start if start in ids else ROOT
    if text.strip():
        hits = search_focus(td.tree_shape(ss[state.MODEL], opened), model.inventory, text)[1]
        st.caption(f"{len(hits):,} modules match “{text.strip()}”; the tree opens where they all are.")
    nav = st.columns(2)
    if nav[0].button("⬆ Up one level", key="tree_up", disabled=level == ROOT, width="stretch"):
        level = nodes.loc[nodes["id"] == level, "parent"].iat[0] or ROOT
        ss[td.LEVEL] = level
    if nav[1].button("Whole model", key="tree_home", disabled=level == ROOT, width="stretch"):
        level = ss[td.LEVEL] = ROOT
    ss[td.SHOWN] = level
    labels = dict(zip(nodes["id"], nodes["label"]))
    parents = dict(zip(nodes["id"], nodes["parent"]))
    path, node = [], level
    while node:
        path.append(labels[node])
        node = parents[node]
    st.markdown(f"**Showing** {' › '.join(reversed(path))}", help="Where the tree is opened; the buttons go back up.")
    first = nodes["row"].clip(lower=0).to_numpy()
    groups = np.where(nodes["leaf"], model.inventory["group"].to_numpy()[first], "")
    roles = np.where(nodes["leaf"], model.inventory["role"].to_numpy()[first], "")
    key = td.chart_key("tree_icicle")
    st.plotly_chart(tree_icicle(nodes, groups, level, area, was=was, roles=roles),
                    key=key, config=CHART_CONFIG, on_select=partial(td.on_tree_click, key, opened),
                    selection_mode="points")
    st.caption("The model's own nesting, identical layers folded (“layers 0–31 × 32”). Click a box to open it; "
               "click a module to switch it on or off in the plan. Dark outline: targeted.")
    children_table(nodes, level, model.inventory)


def layer_diagram(model, stack: str, layer: int, ranks: np.ndarray, lora: np.ndarray,
                  other: np.ndarray | None) -> None:
    """The one-layer block diagram and what adapting each block changes."""
    d = td.diagram(st.session_state[state.MODEL], stack, layer)
    key = td.chart_key("tree_diagram")
    st.plotly_chart(diagram_figure(d, ranks, lora, other), key=key, config=CHART_CONFIG,
                    on_select=partial(td.on_diagram_click, key, stack, layer), selection_mode="points")
    st.caption(f"{model.ref.label}, {d.title}, as data flows through it. Lit blocks are targeted (rank · LoRA "
               "parameters); click a block to switch it. Dotted lines: the residual path.")
    with st.expander("What adapting each block changes", expanded=False):
        seen: dict[str, str] = {}
        for b in d.boxes:
            if b.sentence and b.kind not in seen:
                seen[b.kind] = f"- **{b.label}**: {b.sentence}"
        st.markdown("\n".join(seen.values()))


def render() -> None:
    """Draw the Module tree page."""
    page.begin("Module tree")
    model, plan = state.current_model(), state.current_plan()
    show_message()
    stack, layer, open_it, area, compare = controls(model)
    lid = td.layer_id(model, stack, layer) if open_it else None
    opened = (lid,) if lid else ()
    shape = td.tree_shape(st.session_state[state.MODEL], opened)
    resolved = model.views.resolve(plan, model.index)
    ranks, lora, c = resolved.ranks, resolved.lora, resolved.count
    m = st.columns(3)
    m[0].metric("Trainable parameters", human(c.trainable), help=f"Exactly {c.trainable:,}, as PEFT counts them.")
    m[1].metric("Wrapped modules", f"{c.modules:,}")
    other = None
    if compare:
        saved = state.saved_plans()[compare]
        theirs = model.views.resolve(saved.plan, model.index)
        other, oc = theirs.ranks, theirs.count
        m[2].metric(f"vs “{compare}”", human(oc.trainable), delta=human(c.trainable - oc.trainable))
    nodes = node_table(shape, model.inventory, ranks, lora)
    left, right = st.columns([6, 5], gap="large")
    with left:
        st.subheader("Module tree")
        was = shape.sums((other > 0).astype(float)) if other is not None else None
        tree(model, nodes, opened, area, td.layer_node(shape, model, stack, layer), was)
    with right:
        st.subheader("One layer, drawn")
        layer_diagram(model, stack, layer, ranks, lora, other)
    page.end(c)
