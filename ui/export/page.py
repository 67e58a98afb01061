"""Export page: adapter_config.json and each trainer's recipe (:mod:`ui.export.recipes`), PEFT's own
verification, and the audit of an existing adapter_config.json.

``pages/export.py`` only calls :func:`render` (see :mod:`ui.targets.page` for why).
"""

from __future__ import annotations

import dataclasses

import pandas as pd
import streamlit as st

from lora_core.planning.audit import MAX_ADAPTER_CONFIG_BYTES, audit_adapter_config
from lora_core.numbers import human, human_pct
from lora_core.errors import InputError
from lora_core.model.guards import load_json_object
from lora_core.model.task.adapter import adapter_task
from lora_core.planning import Plan

from ..common import page, serving as serving_section, state, widgets
from . import open_recipe, recipes as recipe_tabs
from .verification import adapter_config, verification
from ..common.loaded_model import LoadedModel, load

AUDIT, IMPORT_ERROR = "ex_audit", "ex_import_error"


def downloads(model: LoadedModel, plan: Plan) -> dict | None:
    """The config and its renderings, or the reason PEFT cannot express the plan."""
    try:
        cfg, data = adapter_config(model, plan)
    except InputError as e:
        widgets.show_error(e)
        return None
    for w in state.plan_warnings():
        st.warning(w, icon="⚠️")
    st.download_button("Download adapter_config.json", data, file_name="adapter_config.json",
                       mime="application/json", key="ex_download", type="primary",
                       help="Put it in an adapter folder; peft.LoraConfig.from_pretrained(folder) loads it.")
    recipe_tabs.render_tabs(model, plan, cfg)
    return cfg


def verify_section(model: LoadedModel, plan: Plan) -> None:
    """The "verified with PEFT" result, on request (it builds and wraps a fresh meta model)."""
    st.subheader("Verified with PEFT")
    st.caption("Applies the exported config with `get_peft_model(..., low_cpu_mem_usage=True)` to a "
               "fresh meta-device model and compares PEFT's count and wrapped modules with the plan's.")
    if st.button("Verify with PEFT", key="ex_verify", help="Run PEFT on a weightless copy of the model "
                 "(about a second for the largest presets)."):
        st.session_state["ex_verified"] = (model.ref, plan)
    if st.session_state.get("ex_verified") != (model.ref, plan):
        return
    try:
        v = verification(model.ref, plan, model)
    except InputError as e:
        widgets.show_error(e)
        return
    if v.ok:
        st.success(f"PEFT trains exactly {v.peft_trainable:,} parameters on {len(v.peft_targeted):,} "
                   "wrapped units, the same modules at the same ranks as the plan.", icon="✅")
    else:
        st.error(f"PEFT differs from the plan: {v.peft_trainable:,} vs {v.plan_trainable:,} trainable.", icon="❌")
        st.dataframe(pd.DataFrame({"difference": v.diff}), hide_index=True, key="ex_verify_diff")


def _audit() -> None:
    ss = st.session_state
    ss.pop(AUDIT, None)
    ss.pop(IMPORT_ERROR, None)
    file = ss.get("ex_import")
    if file is None:
        ss[IMPORT_ERROR] = InputError("adapter_config", "no file chosen; pick an adapter_config.json")
        return
    model = state.current_model()
    try:
        data = load_json_object(file.getvalue(), "adapter_config", limit=MAX_ADAPTER_CONFIG_BYTES)
        task = adapter_task(data) if isinstance(data, dict) else None
        ref = dataclasses.replace(model.ref, task=task) if task and task != model.skeleton.task_type else model.ref
        target = load(ref, ss[state.UPLOADS].get(ref.digest)) if ref != model.ref else model  # cached per task
        ss[AUDIT] = (model.ref, audit_adapter_config(data, target.index, target.skeleton), ref)
    except InputError as e:
        ss[IMPORT_ERROR] = e


def _use_imported() -> None:
    ref, audit, task_ref = st.session_state[AUDIT]
    try:
        if task_ref != ref:  # the adapter trains another task: switch to its model first
            state.set_model(task_ref, st.session_state[state.UPLOADS].get(task_ref.digest))
        state.set_plan(audit.plan)
    except InputError as e:
        st.session_state[IMPORT_ERROR] = e


def import_section(model: LoadedModel) -> None:
    """Upload an existing adapter_config.json and read it against the current model."""
    st.subheader("Import an adapter_config.json")
    st.file_uploader("adapter_config.json", type=["json"], key="ex_import",
                     help="An existing LoRA adapter config, read against the current model.")
    st.button("Audit against this model", key="ex_import_run", on_click=_audit,
              help="Match its targets with PEFT's own rules and count what it trains here.")
    if IMPORT_ERROR in st.session_state:
        widgets.show_error(st.session_state[IMPORT_ERROR])
    found = st.session_state.get(AUDIT)
    if not found or found[0] != model.ref:
        return
    audit, task_ref = found[1], found[2]
    if task_ref.task != model.ref.task:
        st.info(f"Its task_type is {task_ref.task}: it is read on that model (with the head PEFT trains); "
                "using it switches the Targets page to that task.", icon="💡")
    c1, c2, c3 = st.columns(3)
    c1.metric("Wrapped units", f"{len(audit.rows):,}", help="Modules or expert tensors it hits on this model.")
    c2.metric("Trainable parameters", human(audit.count.trainable), help=f"Exactly {audit.count.trainable:,}.")
    c3.metric("% of the model", human_pct(audit.count.share), help=f"{audit.count.trainable:,} of {audit.count.all_params:,}.")
    for note in audit.unmatched:
        st.warning(f"Matches nothing here: {note}", icon="⚠️")
    for note in audit.rewritten:
        st.info(f"PEFT rewrites it on this model: {note}", icon="🔁")
    if audit.ignored:
        st.caption("Ignored fields: " + ", ".join(audit.ignored))
    if len(audit.rows):
        table = audit.rows[["name", "role", "rank", "alpha", "lora_params"]]
        st.dataframe(table, hide_index=True, width="stretch", key="ex_audit_rows")
        st.button("Use as the current plan", key="ex_import_apply", on_click=_use_imported,
                  help="Replace the current plan with the imported one (then edit it on Targets).")


def render() -> None:
    """Draw the Export page."""
    page.begin("Export")
    model, plan = state.current_model(), state.current_plan()
    left, right = st.columns([3, 2], gap="large")
    with left:
        cfg = downloads(model, plan)
        serving_section.panel(model, plan, cfg)
    with right:
        verify_section(model, plan)
        st.divider()
        import_section(model)
        st.divider()
        open_recipe.section()
    page.end()
