"""Export page: open a recipe someone else wrote (YAML, Unsloth snippet, adapter) and see what it trains.

Reads with :mod:`lora_core.imports` against the model the recipe names (a preset or Hub id; the
current model when it names none or that one cannot be opened), shows the units, the count, the
probable misses, the notes and the fields not read. "Use as the current plan" opens that model,
makes the recipe the plan and fills the Targets page's memory section and its "GPUs, time and cost"
section (the strategy its DeepSpeed / FSDP keys name, and its epochs); a bad file shows an error
and leaves the current model and plan as they were.
"""

from __future__ import annotations

import streamlit as st

from lora_core.model import presets
from lora_core.numbers import human
from lora_core.errors import InputError
from lora_core.imports import ImportReport, open_source, read_text, state as replay
from lora_core.imports.adapter import looks_like_repo_id
from lora_core.imports.statement import cluster_of
from lora_core.memory.parallel import STRATEGIES

from ..common import state, widgets
from ..common.loaded_model import LoadedModel, ModelRef, load
from ..targets import cluster as cluster_view
from ..targets import memory as memory_view

REPORT, ERROR, APPLIED = "ex_recipe_report", "ex_recipe_error", "ex_recipe_applied"


def _read():
    """The recipe from the uploaded file, the pasted text, or the Hub id (first given)."""
    ss = st.session_state
    file, text, hub = ss.get("ex_recipe_file"), (ss.get("ex_recipe_text") or "").strip(), \
        (ss.get("ex_recipe_hub") or "").strip()
    if file is not None:
        return read_text(file.getvalue(), file.name)
    if text:
        return read_text(text, "pasted")
    if hub:
        if not looks_like_repo_id(hub):
            raise InputError("adapter", f"{hub!r} is not a Hub id (owner/name)")
        return open_source(hub)
    raise InputError("recipe", "nothing to open; upload a file, paste a recipe or give a Hub adapter id")


def _model_for(model_id: str | None, current: LoadedModel) -> tuple[LoadedModel, str]:
    """The model the recipe names, or the current one (with a note saying why)."""
    if not model_id or model_id == current.ref.label:
        return current, "" if model_id else "The recipe names no model: it is read against the current model."
    ref = ModelRef("preset" if presets.is_preset(model_id) else "hub", model_id)
    if ref.kind == "hub" and not looks_like_repo_id(model_id):
        return current, f"The recipe names {model_id!r}, not a preset or Hub id: read against the current model."
    try:
        return load(ref), ""
    except InputError as e:
        return current, (f"The recipe names {model_id}, which could not be opened ({e.message}); it is read "
                         f"against the current model {current.ref.label}. Open its model on the Model page "
                         "to read it there.")


def _open() -> None:
    ss = st.session_state
    for key in (REPORT, ERROR, APPLIED):
        ss.pop(key, None)
    try:
        recipe = _read()
        model, note = _model_for(recipe.model_id, state.current_model())
        ss[REPORT] = (model, replay(recipe, model.inventory, model.skeleton, model.ref.label), note)
    except InputError as e:
        ss[ERROR] = e


def _apply() -> None:
    ss = st.session_state
    model, report, _note = ss[REPORT]
    plan_before, ref_before = state.current_plan(), ss[state.MODEL]
    try:
        if model.ref != ref_before:
            state.set_model(model.ref)
        state.set_plan(report.plan)
    except InputError as e:
        ss[state.MODEL], ss[state.PLAN] = ref_before, plan_before
        ss[ERROR] = e
        return
    ss[APPLIED] = memory_view.apply_settings(report.memory) + _apply_cluster(report)


def _apply_cluster(report: ImportReport) -> list[str]:
    """The recipe's strategy, offload and epochs into the "GPUs, time and cost" section (kept: GPU kind,
    dataset, price); a note when the strategy cannot be read."""
    if report.recipe.tool == "peft":  # a saved adapter states no training settings
        return []
    settings = cluster_of(report.recipe, cluster_view.settings_from_state())
    if settings is None:
        return ["the GPUs section keeps its strategy: the recipe's is not read (see the notes)"]
    ss = st.session_state
    ss[cluster_view.SAVED] = settings
    for key, _default in cluster_view.DEFAULTS:  # the section's widgets take the saved settings on next draw
        ss.pop(key, None)
    return []

def _statement(model: LoadedModel, report: ImportReport, note: str) -> None:
    r = report.recipe
    st.markdown(f"**{r.label}** recipe `{r.source}` on **{model.ref.label}**")
    if note:
        st.info(note, icon="ℹ️")
    c1, c2 = st.columns(2)
    c1.metric("Units it trains", f"{len(report.units):,}", help="Modules or expert tensors the tool wraps here.")
    c2.metric("Parameters it trains", human(report.trainable), help=f"Exactly {report.trainable:,}, as "
              "get_nb_trainable_parameters reports after the tool's own get_peft_model.")
    for line in report.missed:
        st.warning(line, icon="⚠️")
    if report.tensors is not None:
        for line in report.tensors.lines() or [f"The saved tensors agree with the config "
                                               f"({len(report.tensors.saved):,} modules)."]:
            (st.warning if not report.tensors.agrees else st.success)(f"Tensors: {line}")
    for line in report.notes:
        st.caption(f"Note: {line}")
    if r.tool != "peft":
        st.caption(_strategy_line(r))
    if r.unread:
        st.caption("Fields not read (they change neither what trains nor the memory): " + ", ".join(r.unread))
    rows = report.audit.rows[["name", "role", "rank", "alpha", "lora_params"]]
    st.dataframe(rows, hide_index=True, width="stretch", key="ex_recipe_rows")
    st.button("Use as the current plan", key="ex_recipe_apply", on_click=_apply, disabled=not report.exact,
              help="Open its model, make it the plan and fill the memory section with its settings."
              if report.exact else "Not exactly expressible as a plan (see the notes).")


def _strategy_line(r) -> str:
    """What the recipe says of its training shape and its GPUs."""
    shape = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in r.memory.items() if k != "trainer")
    p = r.strategy
    gpus = ("a DeepSpeed / FSDP setting that cannot be read here" if p.strategy is None else
            "one GPU, or DDP when launched on several" if p.strategy == "single" else
            STRATEGIES[p.strategy].label + ("" if p.offload == "none" else f", offload {p.offload}"))
    epochs = "" if r.epochs is None else f"; {r.epochs:g} epochs"
    return f"Trains with {shape}{epochs}; GPUs: {gpus}. \"Use as the current plan\" puts these on the Targets page."


def section() -> None:
    """Upload, paste or name a recipe; see what it trains; use it as the plan."""
    st.subheader("Open a recipe")
    st.caption("An axolotl or LLaMA-Factory YAML, an Unsloth `get_peft_model(...)` call (read, never run), "
               "an adapter_config.json, or a Hub adapter id (config and tensor header only).")
    st.file_uploader("Recipe file", type=["yaml", "yml", "py", "json"], key="ex_recipe_file")
    st.text_area("…or paste it", key="ex_recipe_text", height=100)
    st.text_input("…or a Hub adapter id", key="ex_recipe_hub", placeholder="owner/adapter-name")
    st.button("Open recipe", key="ex_recipe_open", on_click=_open, help="Replay the tool's rules on the model.")
    ss = st.session_state
    if ERROR in ss:
        widgets.show_error(ss[ERROR])
    if APPLIED in ss:
        st.success("It is the current plan; the Targets page's memory and GPUs sections have its settings.", icon="✅")
        for line in ss[APPLIED]:
            st.caption(line)
    if REPORT in ss:
        _statement(*ss[REPORT])
