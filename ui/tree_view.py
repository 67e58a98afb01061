"""Module tree page: the model layer by layer, folded, with a treemap by parameters.

``pages/tree.py`` only calls :func:`render` (see :mod:`ui.targets_view` for why).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from lora_core.charts import model_treemap, treemap_frame
from lora_core.plan import resolve_plan
from lora_core.summary import fold_layers, relative_name

from . import page, state
from .widgets import chart

TABLE_COLUMNS = {
    "module": st.column_config.TextColumn("module", help="Name below the layer (full name on search)."),
    "kind": st.column_config.TextColumn("kind", help="linear, conv1d, embedding or expert-parameter."),
    "shape": st.column_config.TextColumn("shape", help="in → out features (× experts for fused experts)."),
    "base_params": st.column_config.NumberColumn("parameters", help="Parameters this unit owns.", format="localized"),
    "group": st.column_config.TextColumn("group", help="attention, linear-attention (Gated DeltaNet), ssm "
                                         "(Mamba and other recurrent mixers), ffn, experts, router, "
                                         "embedding, head or other."),
    "role": st.column_config.TextColumn("role", help="Fused units show what they hold, e.g. qkv (q+k+v)."),
    "targeted": st.column_config.CheckboxColumn("targeted", help="Whether the current plan wraps it."),
    "rank": st.column_config.NumberColumn("rank", help="LoRA rank the plan gives it."),
    "not_offered": st.column_config.TextColumn("not offered", help="Why PEFT refuses to wrap it, if it does."),
}


def module_table(rows: pd.DataFrame, resolved: pd.DataFrame, full_names: bool = False) -> pd.DataFrame:
    """Rows shaped for display: shape text, role with contents, whether and how targeted."""
    ranks = dict(zip(resolved["name"], resolved["rank"]))
    experts = rows["num_experts"].where(rows["num_experts"] > 1)
    shape = [f"{i} → {o}" + (f" × {int(e)}" if pd.notna(e) else "") if k != "other" else ""
             for i, o, e, k in zip(rows["in_features"], rows["out_features"], experts, rows["kind"])]
    role = [r if not c or c == r else f"{r} ({c})" for r, c in zip(rows["role"], rows["contains"])]
    return pd.DataFrame({
        "module": rows["name"] if full_names else rows["name"].map(relative_name),
        "kind": rows["kind"], "shape": shape, "base_params": rows["base_params"], "group": rows["group"],
        "role": role, "targeted": rows["name"].isin(ranks.keys()),
        "rank": [ranks.get(n) for n in rows["name"]],
        "not_offered": rows["not_offered"],
    })


def folded_layers(inventory: pd.DataFrame, resolved: pd.DataFrame) -> None:
    """One expander per range of identical layers; each opens any of its layers."""
    folds = fold_layers(inventory, targetable_only=False)
    for i, fold in enumerate(folds.itertuples(index=False)):
        title = f"{fold.stack} · {fold.label} · {fold.params_per_layer:,} parameters per layer"
        with st.expander(title, expanded=False):
            layer = fold.first_layer
            if fold.num_layers > 1:
                layer = st.number_input(
                    "Layer", min_value=fold.first_layer, max_value=fold.last_layer, value=fold.first_layer,
                    key=f"tree_layer_{i}", help="Pick a layer of this range to list its modules.")
            rows = inventory[(inventory["stack"] == fold.stack) & (inventory["layer"] == layer)]
            st.dataframe(module_table(rows, resolved), column_config=TABLE_COLUMNS, hide_index=True,
                         width="stretch", key=f"tree_table_{i}")
    outside = inventory[inventory["layer"].isna()]
    if len(outside):
        with st.expander(f"outside the layers · {len(outside)} modules (embeddings, head, norms)"):
            st.dataframe(module_table(outside, resolved, full_names=True), column_config=TABLE_COLUMNS,
                         hide_index=True, width="stretch", key="tree_table_outside")


def search(inventory: pd.DataFrame, resolved: pd.DataFrame) -> None:
    """Modules whose full name contains the search text."""
    text = st.text_input("Search modules by name", key="tree_search", placeholder="e.g. q_proj or layers.3.",
                         help="Case-insensitive substring of the full module name.")
    if not text.strip():
        return
    hits = inventory[inventory["name"].str.contains(text.strip(), case=False, regex=False)]
    st.caption(f"{len(hits):,} modules match “{text.strip()}”.")
    st.dataframe(module_table(hits.head(2000), resolved, full_names=True), column_config=TABLE_COLUMNS,
                 hide_index=True, width="stretch", key="tree_search_table")


def render() -> None:
    """Draw the Module tree page."""
    page.begin("Module tree")
    model, plan = state.current_model(), state.current_plan()
    resolved = resolve_plan(plan, model.index)
    st.caption(f"{model.ref.label}: identical consecutive layers are folded; open a range to see any layer. "
               f"The current plan wraps {len(resolved):,} modules.")
    left, right = st.columns([5, 6], gap="large")
    with left:
        search(model.inventory, resolved)
        folded_layers(model.inventory, resolved)
    with right:
        fig = model_treemap(treemap_frame(model.inventory, set(resolved["name"])))
        chart(fig, "tree_treemap", "Area is parameters; colour is the group; a dark outline marks "
              "modules the current plan targets. Click a block to zoom in.")
    page.end()
