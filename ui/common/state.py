"""Session state for the whole app: the current model and plan, saved plans, and the URL.

The model reference and the plan live in ``st.session_state`` (per browser session) and are
mirrored to ``st.query_params`` after every run, so a copied link restores the view. Changing
either goes through :func:`set_model` / :func:`set_plan`, which validate first and leave the
previous value in place when the input is bad.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import streamlit as st

from lora_core.model import presets
from lora_core.errors import InputError
from lora_core.planning import PRESET_PLANS, Plan

from . import urlstate
from .loaded_model import LoadedModel, ModelRef, load

DEFAULT_PLAN_NAME = "Attention Q,V r8 (classic)"
MODEL, PLAN, SAVED, UPLOADS, WARNINGS, NOTICE = "model_ref", "plan", "saved_plans", "uploads", "plan_warnings", "notice"
HELD = "loaded_model"  # the LoadedModel of MODEL, held by the session (see current_model)


@dataclass(frozen=True)
class SavedPlan:
    """A plan saved under a name on the Compare page, with the model it was made for."""

    name: str
    plan: Plan
    model: ModelRef = field(repr=False)


def default_plan(model: LoadedModel) -> Plan:
    """The classic Q,V r8 plan, or all attention r8 where the model has no Q/V."""
    for name in (DEFAULT_PLAN_NAME, "All attention r8", "All linear r16 (QLoRA-style)"):
        try:
            model.views.validate(PRESET_PLANS[name], model.index)
            return PRESET_PLANS[name]
        except InputError:
            continue
    return PRESET_PLANS[DEFAULT_PLAN_NAME]


def ref_from_params(params: dict[str, str]) -> ModelRef:
    """The model a link names (a preset by default)."""
    label = params.get("model") or presets.DEFAULT_PRESET
    kind = params.get("src") or ("preset" if presets.is_preset(label) else "hub")
    if kind not in ("preset", "hub", "local"):
        kind = "preset"
    labels = params.get("labels", "")
    return ModelRef(kind, label, params.get("rev") or None, task=params.get("task") or None,
                    num_labels=int(labels) if labels.isdigit() else None)


def init() -> bool:
    """First run of a session: take model and plan from the URL, falling back to the defaults.
    True on that first run."""
    ss = st.session_state
    ss.setdefault(SAVED, {})
    ss.setdefault(UPLOADS, {})
    if MODEL in ss:
        return False
    params = {k: st.query_params[k] for k in st.query_params}
    ref = ref_from_params(params)
    try:
        model = load(ref)
    except InputError as e:
        flash(f"The link's model could not be opened ({e}); showing the default preset instead.")
        ref = ModelRef("preset", presets.DEFAULT_PRESET)
        model = load(ref)
    ss[MODEL] = ref
    plan = default_plan(model)
    try:
        plan = urlstate.plan_from_params(params, model.index.num_layers) or plan
        ss[WARNINGS] = model.views.validate(plan, model.index)
    except InputError as e:
        flash(f"The link's plan was not applied ({e}); showing the default plan.")
        plan = default_plan(model)
        ss[WARNINGS] = model.views.validate(plan, model.index)
    ss[PLAN] = plan
    return True


def flash(message: str) -> None:
    """Queue a message for the next page render (shown once, as a warning)."""
    st.session_state[NOTICE] = message


def show_flash() -> None:
    """Show and clear a queued message."""
    message = st.session_state.pop(NOTICE, None)
    if message:
        st.warning(message, icon="⚠️")


def current_model() -> LoadedModel:
    """The loaded current model (cached per server).

    The session keeps a reference to it beside its model reference, so the several calls of one
    run (and of the next runs) skip ``st.cache_resource``'s hashing of the arguments.
    """
    ss = st.session_state
    ref: ModelRef = ss[MODEL]
    held: LoadedModel | None = ss.get(HELD)
    if held is None or held.ref != ref:
        held = ss[HELD] = load(ref, ss[UPLOADS].get(ref.digest))
    return held


def current_plan() -> Plan:
    """The current plan."""
    return st.session_state[PLAN]


def plan_warnings() -> list[str]:
    """Warnings the current plan raised when it was validated."""
    return st.session_state.get(WARNINGS, [])


def set_plan(plan: Plan) -> list[str]:
    """Validate ``plan`` against the current model and make it current; raises ``InputError``.

    On error nothing changes.
    """
    model = current_model()
    warnings = model.views.validate(plan, model.index)
    st.session_state[PLAN] = plan
    st.session_state[WARNINGS] = warnings
    return warnings


def set_model(ref: ModelRef, data: bytes | None = None) -> LoadedModel:
    """Load ``ref`` and make it current; raises ``InputError`` and changes nothing on failure.

    The plan is kept when it is valid for the new model, else reset to the default plan.
    """
    model = load(ref, data)
    ss = st.session_state
    if data is not None and ref.digest:
        ss[UPLOADS] = {ref.digest: data}
    ss[MODEL] = ref
    try:
        ss[WARNINGS] = model.views.validate(ss[PLAN], model.index)
    except InputError as e:
        ss[PLAN] = default_plan(model)
        ss[WARNINGS] = model.views.validate(ss[PLAN], model.index)
        flash(f"The plan did not fit {ref.label} ({e.message}); it was reset to the default plan.")
    return model


def saved_plans() -> dict[str, SavedPlan]:
    """Plans saved in this session, by name."""
    return st.session_state[SAVED]


def save_plan(name: str) -> None:
    """Save the current plan under ``name`` (replacing one of the same name)."""
    name = name.strip()
    if not name:
        raise InputError("plan name", "is empty; type a name such as 'qv-r8'")
    st.session_state[SAVED] = {**saved_plans(), name: SavedPlan(name, current_plan(), st.session_state[MODEL])}


def url_params() -> dict[str, str]:
    """The query parameters describing the current model and plan."""
    ref: ModelRef = st.session_state[MODEL]
    params = {"model": ref.label} if ref.kind in ("preset", "hub", "local") else {}
    if ref.kind in ("hub", "local"):
        params["src"] = ref.kind
    if ref.revision:
        params["rev"] = ref.revision
    if ref.task:
        params["task"] = ref.task
    if ref.num_labels is not None:
        params["labels"] = str(ref.num_labels)
    return {**params, **urlstate.plan_to_params(current_plan())}


def sync_query_params(extra: dict[str, str] | None = None) -> None:
    """Mirror the current model and plan into the URL (only when they changed); ``extra``: the
    page's own parameters (the Lesson page's step), dropped on the pages that pass none."""
    want = {**url_params(), **(extra or {})}
    have = {k: st.query_params[k] for k in st.query_params}
    if want != have:
        st.query_params.from_dict(want)
