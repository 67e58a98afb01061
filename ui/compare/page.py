"""Compare page: save plans under names, see them side by side, and one plan across two models.

``pages/compare.py`` only calls :func:`render` (see :mod:`ui.targets.page` for why).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from lora_core import charts
from lora_core.model import presets
from lora_core.errors import InputError
from lora_core.memory import MemorySettings, estimate_for_plan
from lora_core.numbers import human_bytes, human_pct

from ..common import page, state, widgets
from ..common.loaded_model import LoadedModel, ModelRef, load
from ..common.urlstate import encode_layers, encode_targets
from ..targets import cluster

ERROR = "cmp_error"
COLUMNS = {
    "trainable": st.column_config.NumberColumn("trainable", help="Exact trainable parameters.", format="localized"),
    "share": st.column_config.TextColumn("% of model", help="Trainable share of all parameters, as PEFT prints it."),
    "modules": st.column_config.NumberColumn("wrapped units", help="Modules (or expert tensors) PEFT wraps."),
    "fp16": st.column_config.TextColumn("adapter fp16", help="Saved adapter size at 2 bytes per parameter."),
    "memory": st.column_config.TextColumn("training memory", help="Estimated peak allocated GPU memory: "
                                          "PEFT + Trainer profile, bf16 base, batch 1, 2048 tokens, gradient checkpointing."),
    "cluster": st.column_config.TextColumn("GPUs", help="The Targets page's GPUs, time and cost settings."),
    "tokens/s": st.column_config.TextColumn("tokens/s", help="Slow–fast range on those GPUs."),
    "hours": st.column_config.TextColumn("hours", help="For the dataset and epochs set on the Targets page."),
    "cost": st.column_config.TextColumn("cost", help="Hours × GPUs × price per GPU-hour."),
}


def _save() -> None:
    st.session_state.pop(ERROR, None)
    try:
        state.save_plan(st.session_state.get("cmp_name") or "")
    except InputError as e:
        st.session_state[ERROR] = e
        return
    st.session_state["cmp_selected"] = list(state.saved_plans())


def _load_saved(name: str) -> None:
    """Make a saved plan current again (switching to its model when needed)."""
    saved = state.saved_plans()[name]
    st.session_state.pop(ERROR, None)
    try:
        if saved.model != st.session_state[state.MODEL]:
            state.set_model(saved.model, st.session_state[state.UPLOADS].get(saved.model.digest))
        state.set_plan(saved.plan)
    except InputError as e:
        st.session_state[ERROR] = e


def _model_of(ref: ModelRef) -> LoadedModel:
    return load(ref, st.session_state[state.UPLOADS].get(ref.digest))


def summary_row(label: str, model: LoadedModel, plan) -> dict:
    """One row of the side-by-side table (figures from lora_core)."""
    resolved = model.views.resolve(plan, model.index)
    c = resolved.count
    settings = MemorySettings()
    mem = estimate_for_plan(model.skeleton, model.index, resolved, settings)
    return {"plan": label, "model": model.ref.label, "targets": encode_targets(plan.targets),
            "layers": encode_layers(plan.layers) or "all",
            "options": ", ".join(o for o, on in (("DoRA", plan.dora), ("rsLoRA", plan.rslora)) if on) or "—",
            "trainable": c.trainable, "share": human_pct(c.share), "modules": c.modules,
            "fp16": human_bytes(c.trainable * 2), "memory": human_bytes(mem.total),
            **cluster.compare_figures(model, plan, mem, c.trainable - resolved.dora_params, settings)}


def breakdown(label: str, model: LoadedModel, plan) -> pd.DataFrame:
    """Per-role trainable parameters of one plan, labelled for the grouped bars."""
    return charts.by_role(model.views.resolve(plan, model.index).rows).assign(plan=label)


def differences(a, b) -> pd.DataFrame:
    """Targets and options that differ between two saved plans."""
    ra = {t.key: (t.rank, t.lora_alpha) for t in a.plan.targets}
    rb = {t.key: (t.rank, t.lora_alpha) for t in b.plan.targets}
    fmt = lambda v: "off" if v is None else f"r={v[0]}, α={v[1]:g}"  # noqa: E731
    rows = [{"setting": f"target {k}", a.name: fmt(ra.get(k)), b.name: fmt(rb.get(k))}
            for k in dict.fromkeys([*ra, *rb]) if ra.get(k) != rb.get(k)]
    for field, va, vb in (("model", a.model.label, b.model.label),
                          ("layers", encode_layers(a.plan.layers) or "all", encode_layers(b.plan.layers) or "all"),
                          ("DoRA", a.plan.dora, b.plan.dora), ("rsLoRA", a.plan.rslora, b.plan.rslora)):
        if va != vb:
            rows.append({"setting": field, a.name: str(va), b.name: str(vb)})
    return pd.DataFrame(rows, columns=["setting", a.name, b.name])


def saved_section() -> None:
    """Saving, the side-by-side table, grouped bars and differences."""
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    c1.text_input("Name for the current plan", key="cmp_name", placeholder="e.g. qv-r8",
                  help="Saving under an existing name replaces that plan.")
    c2.button("Save current plan", key="cmp_save", on_click=_save,
              help="Keep the current model and plan under this name for comparison.")
    saved = state.saved_plans()
    if not saved:
        st.info("No saved plans yet: name the current plan and save it, change it on the Targets "
                "page, then save again to compare.", icon="💡")
        return
    if "cmp_selected" not in st.session_state:
        st.session_state["cmp_selected"] = list(saved)
    chosen = st.multiselect("Plans to compare", list(saved), key="cmp_selected",
                            help="Saved plans shown side by side below.")
    if not chosen:
        return
    items = [(saved[n], _model_of(saved[n].model)) for n in chosen]
    table = pd.DataFrame([summary_row(s.name, m, s.plan) for s, m in items])
    st.dataframe(table, column_config=COLUMNS, hide_index=True, width="stretch", key="cmp_table")
    bars = pd.concat([breakdown(s.name, m, s.plan) for s, m in items], ignore_index=True)
    widgets.chart(charts.compare_bars(bars), "cmp_chart_saved",
                  "Trainable parameters per role for each saved plan; hover for exact numbers.")
    cols = st.columns(len(chosen) if len(chosen) <= 4 else 4)
    for col, name in zip(cols, chosen):
        col.button(f"Load “{name}”", key=f"cmp_load_{name}", on_click=_load_saved, args=(name,),
                   help="Make this saved plan (and its model) current again.")
    if len(chosen) >= 2:
        a, b = saved[chosen[0]], saved[chosen[1]]
        st.markdown(f"**Differences: {a.name} vs {b.name}**")
        diff = differences(a, b)
        if diff.empty:
            st.caption("Same targets, ranks, layers and options.")
        else:
            st.dataframe(diff, hide_index=True, width="stretch", key="cmp_diff")


def cross_model_section() -> None:
    """The current plan on the current model and on another preset."""
    current = state.current_model()
    plan = state.current_plan()
    others = [p for p in presets.preset_ids() if p != current.ref.label]
    other_id = st.selectbox("Other model", others, index=None, key="cmp_other_model", placeholder="Pick a preset",
                            help="A preset to apply the current plan to, for a side-by-side count.")
    if other_id is None:
        return
    try:
        other = load(ModelRef("preset", other_id))
        other.views.validate(plan, other.index)
    except InputError as e:
        widgets.show_error(e)
        st.caption("This plan cannot be applied as is to that model.")
        return
    rows = [summary_row(current.ref.label, current, plan), summary_row(other_id, other, plan)]
    st.dataframe(pd.DataFrame(rows), column_config=COLUMNS, hide_index=True, width="stretch", key="cmp_cross_table")
    bars = pd.concat([breakdown(current.ref.label, current, plan), breakdown(other_id, other, plan)],
                     ignore_index=True)
    widgets.chart(charts.compare_bars(bars), "cmp_chart_models",
                  "The same plan's trainable parameters per role on each model.")


def render() -> None:
    """Draw the Compare page."""
    page.begin("Compare")
    if ERROR in st.session_state:
        widgets.show_error(st.session_state[ERROR])
    saved_tab, models_tab = st.tabs(["Saved plans", "Same plan, two models"])
    with saved_tab:
        saved_section()
    with models_tab:
        cross_model_section()
    page.end()
