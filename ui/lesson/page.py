"""The Lesson page: LoRA targeting taught in short steps on the current model.

The steps are data (``lora_core/lesson/steps.yaml``); each sets the plan it talks about as the
app's current plan, so the Module tree, Targets and the other pages show it too. A link carries
the model and the step (``?model=...&step=qv-r8``, plus ``&view=present`` for the presenter
view, large type and no sidebar). What a step draws is in :mod:`ui.lesson.parts`, the question
asked before the answer in :mod:`ui.lesson.predict`. Everything a step computes on a model is
kept with the model (``LoadedModel.views``), so going back to a step costs a lookup.
"""

from __future__ import annotations

from urllib.parse import urlencode

import streamlit as st

from lora_core.model import presets
from lora_core.errors import InputError
from lora_core.lesson.steps import Step, StepOnModel, load_steps, on_model, step_by_id

from ..common import page, state, widgets
from . import parts as lesson_parts
from . import predict as lesson_predict
from ..common.loaded_model import LoadedModel, ModelRef

STEP, PRESENT, MODEL_PICK, ERROR = "ls_step", "ls_present", "ls_model", "ls_error"
PRESENTER_CSS = """<style>
section[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"] {display: none;}
[data-testid="stMainBlockContainer"] {max-width: 1400px; padding-top: 2rem;}
[data-testid="stMainBlockContainer"] p, [data-testid="stMainBlockContainer"] li {font-size: 1.6rem; line-height: 1.45;}
[data-testid="stMainBlockContainer"] h1 {font-size: 3rem;}
[data-testid="stMainBlockContainer"] h2 {font-size: 2.4rem;}
[data-testid="stMetricValue"] {font-size: 3rem;}
[data-testid="stCaptionContainer"] p {font-size: 1.2rem;}
</style>"""


def _init_from_url() -> None:
    """The step and view a link names, on the session's first run of this page."""
    ss, steps = st.session_state, load_steps()
    if STEP not in ss:
        wanted = st.query_params.get("step")
        try:
            ss[STEP] = step_by_id(steps, wanted).id
        except InputError as e:
            ss[STEP] = steps[0].id
            state.flash(f"The link's step was not found ({e.message}); starting at the first step.")
    ss.setdefault(PRESENT, st.query_params.get("view") == "present")


def _move(delta: int) -> None:
    ids = [s.id for s in load_steps()]
    i = ids.index(st.session_state[STEP]) + delta
    st.session_state[STEP] = ids[max(0, min(i, len(ids) - 1))]


def _open_model(label: str | None = None) -> None:
    """Make a preset the current model (from the picker, or a step's suggestion)."""
    label = label or st.session_state[MODEL_PICK]
    st.session_state.pop(ERROR, None)
    try:
        state.set_model(ModelRef("preset", label))
    except InputError as e:
        st.session_state[ERROR] = e


def step_on(model: LoadedModel, step: Step) -> StepOnModel:
    """The step on ``model``, worked out once per model."""
    return model.views.per_model(f"lesson step {step.id}", lambda: on_model(step, model.index))  # type: ignore[return-value]


def _apply(som: StepOnModel) -> None:
    """Make the step's plan the app's plan (only when it is not already)."""
    if state.current_plan() != som.plan:
        try:
            state.set_plan(som.plan)
        except InputError as e:
            widgets.show_error(e)


def link(model: LoadedModel, step: Step, present: bool) -> str:
    """The teacher's link to this step on this model (absolute when the browser's URL is known)."""
    params = {"model": model.ref.label, "step": step.id}
    if model.ref.kind in ("hub", "local"):
        params["src"] = model.ref.kind
    if present:
        params["view"] = "present"
    base = (getattr(st.context, "url", None) or "").split("?")[0]
    return f"{base}?{urlencode(params)}"


def navigation(steps: tuple[Step, ...], step: Step) -> None:
    """Previous / step picker / next, and the model picker."""
    i = [s.id for s in steps].index(step.id)
    with st.container(horizontal=True, vertical_alignment="bottom", gap="small"):
        st.button("◀ Previous", key="ls_prev", on_click=_move, args=(-1,), disabled=i == 0)
        st.selectbox("Step", [s.id for s in steps], key=STEP, width="stretch",
                     format_func=lambda sid: f"{[s.id for s in steps].index(sid) + 1}. {step_by_id(steps, sid).title}")
        st.button("Next ▶", key="ls_next", on_click=_move, args=(1,), disabled=i == len(steps) - 1)


def model_picker(model: LoadedModel) -> None:
    """Switch the lesson's model among the presets (the current one listed even if it is not one)."""
    options = presets.preset_ids()
    if model.ref.label not in options:
        options = [model.ref.label, *options]
    st.session_state[MODEL_PICK] = model.ref.label
    st.selectbox("Model", options, key=MODEL_PICK, on_change=_open_model,
                 help="The lesson runs on this model; every step works on any model and says what it lacks.")


def render() -> None:
    """Draw the Lesson page."""
    _init_from_url()  # before begin, which shows a notice about a bad step in the link on this run
    page.begin("Lesson: choosing LoRA targets", page.LESSON_PAGE)
    ss, steps = st.session_state, load_steps()
    if ss[PRESENT]:
        st.html(PRESENTER_CSS)
    step = step_by_id(steps, ss[STEP])
    model = state.current_model()
    som = step_on(model, step)
    _apply(som)
    left, right = st.columns([3, 2], gap="large", vertical_alignment="bottom")
    with left:
        navigation(steps, step)
    with right:
        model_picker(model)
    if ERROR in ss:
        widgets.show_error(ss[ERROR])
    st.header(f"{steps.index(step) + 1}. {step.title}")
    st.markdown(step.text)
    st.markdown(f"👀 **Look at:** {step.look}")
    for note in som.notes:
        st.info(note, icon="ℹ️")
    if step.try_models and som.missing:
        with st.container(horizontal=True, gap="small"):
            for label in step.try_models:
                st.button(f"Open {label}", key=f"ls_try_{label}", on_click=_open_model, args=(label,))
    view = model.views.get(som.plan, model.index, list(model.toggles), model.facts)
    st.caption(f"Plan on **{model.ref.label}**: `{lesson_parts.plan_text(som.plan)}` · "
               f"{view.count.trainable:,} trainable · the Module tree, Targets and Compare pages show it too.")
    shown = lesson_predict.ask(step, model, view) if step.predict else True
    if shown:
        lesson_parts.show(step, model, view)
    with st.expander("For the teacher: link and presenter view", expanded=False):
        st.toggle("Presenter view (large type, no sidebar)", key=PRESENT)
        st.code(link(model, step, ss[PRESENT]), language=None)
        if model.ref.kind == "upload":
            st.caption("An uploaded config.json cannot travel in a link: the link opens the default model.")
        st.caption("The link opens this step on this model; add or edit steps in lora_core/lesson/steps.yaml.")
    page.end(view.count, {"step": step.id, **({"view": "present"} if ss[PRESENT] else {})})
