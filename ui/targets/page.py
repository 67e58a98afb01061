"""The Targets page: toggle roles, set ranks and layers, and watch the counts and charts update.

The page file ``pages/targets.py`` only calls :func:`render`: Streamlit compiles a page script
on every rerun when it has no script cache (AppTest), while this module is imported once.

Under the title and the starting points (presets, task guidance, the explainer), the page is one
``st.fragment`` (:func:`body`): a click on any widget in it reruns only that, not the page config,
navigation, sidebar links and starting points, and the body ends with the sidebar summary and
the URL so they follow the click. What it shows for a plan (count, rows, toggle
states, notes, figures) comes from the model's cached
:class:`~ui.common.plan_views.PlanView`, so a plan seen before costs a lookup. Rows of widgets are
horizontal containers (one block each) rather than column sets (one block per column): fewer
elements to build, send and draw on every click. To add something beside the counts, add it to
:func:`results`, which draws from the view.
"""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from lora_core.errors import InputError
from lora_core.planning import PRESET_PLANS, TASK_GUIDANCE, Plan, Target, parse_layers

from . import memory as memory_section, task as task_section
from ..common import page, serving as serving_section, state, widgets
from ..common.loaded_model import LoadedModel
from ..common.plan_views import PlanView
from .toggles import SECTIONS, Toggle, edit_targets, not_offered_notes
from ..common.urlstate import encode_layers

ERROR, MEMORY, WRITTEN = "tg_error", "tg_memory", "tg_written"
EXPLAINER = """
**Why Q and V?** Attention decides which earlier tokens each token reads from (the query and key
projections) and what it takes from them (the value projection). Adapting **Q** changes what a
token looks for; adapting **V** changes what it brings back. Together they re-steer the model's
attention at a small cost, which is why Q and V at rank 8 is the classic starting point. K is
usually skipped because Q already moves the attention pattern, and O only re-mixes the heads.

**When FFN?** The feed-forward blocks (gate, up, down) hold most of a transformer's parameters
and much of what it *knows*. When a task needs new knowledge or a new way of writing (domain
facts, a house style, a new language register), add adapters to the FFN too, often at a lower
rank such as 4: the trainable count grows a lot, but so does what the adapter can change. For
classification into categories the model already understands, attention alone is usually enough.

**Check the names.** Module names differ between architectures (`q_proj`, `query`, `c_attn`,
`qkv_proj`, MoE expert tensors), and a fused module cannot be split. This page reads the real
module tree, so each toggle names the modules it will wrap.
"""


def _fail(e: InputError) -> None:
    st.session_state[ERROR] = e


def _apply(plan: Plan) -> None:
    """Make ``plan`` current or keep the previous one and remember why."""
    st.session_state.pop(ERROR, None)
    try:
        state.set_plan(plan)
    except InputError as e:
        _fail(e)


def _widget_values(t: Toggle) -> tuple[bool, int, float | None]:
    ss, memory = st.session_state, st.session_state.setdefault(MEMORY, {})
    rank, alpha = memory.get(t.key, (8, None))
    if f"tg_rank_{t.key}" in ss:
        rank, alpha = ss[f"tg_rank_{t.key}"], ss.get(f"tg_alpha_{t.key}")
    memory[t.key] = (rank, alpha)
    return bool(ss.get(f"tg_on_{t.key}")), rank, alpha


def _on_targets(toggles: list[Toggle]) -> None:
    """Apply what the user changed in the toggles, keeping plan keys the change does not touch."""
    plan, written = state.current_plan(), st.session_state.get(WRITTEN, {})
    now = {t.key: _widget_values(t) for t in toggles}
    on = {k: Target(k, rank, alpha) for k, (is_on, rank, alpha) in now.items() if is_on}
    changed = {k: on.get(k) for k, v in now.items() if v != written.get(k)}
    _apply(replace(plan, targets=edit_targets(plan.targets, state.current_model().index, changed, on)))


def _on_layer_range() -> None:
    lo, hi = st.session_state["tg_layers"]
    layers = None if (lo, hi) == (0, state.current_model().index.num_layers - 1) else tuple(range(lo, hi + 1))
    _apply(replace(state.current_plan(), layers=layers))


def _on_layer_text() -> None:
    try:
        layers = parse_layers(st.session_state["tg_layers_text"], state.current_model().index.num_layers)
    except InputError as e:
        return _fail(e)
    _apply(replace(state.current_plan(), layers=layers))


def _on_options() -> None:
    ss = st.session_state
    scope = "all" if ss.get("tg_vision") else "language"
    _apply(replace(state.current_plan(), dora=bool(ss["tg_dora"]), rslora=bool(ss["tg_rslora"]), scope=scope))


def _on_preset(name: str) -> None:
    _apply(replace(state.current_plan(), targets=PRESET_PLANS[name].targets))


def write_widgets(toggles: list[Toggle], plan: Plan, states: dict, num_layers: int) -> None:
    """Put the current plan into the widgets' state before they are drawn."""
    ss, memory = st.session_state, st.session_state.setdefault(MEMORY, {})
    for t in toggles:
        s = states[t.key]
        rank, alpha = (s.rank, s.alpha) if s.on else memory.get(t.key, (8, None))
        ss[f"tg_on_{t.key}"], ss[f"tg_rank_{t.key}"], ss[f"tg_alpha_{t.key}"] = s.on, rank, alpha
    ss[WRITTEN] = {t.key: (ss[f"tg_on_{t.key}"], ss[f"tg_rank_{t.key}"], ss[f"tg_alpha_{t.key}"]) for t in toggles}
    layers = plan.layers or (0, max(num_layers - 1, 0))
    ss["tg_layers"] = (min(layers), max(layers))
    ss["tg_layers_text"] = encode_layers(plan.layers)
    ss["tg_dora"], ss["tg_rslora"], ss["tg_vision"] = plan.dora, plan.rslora, plan.scope == "all"


FIELD_PX = 72  # width of a rank or alpha field beside its toggle (the columns were 7:3:3)


def row() -> st.delta_generator.DeltaGenerator:
    """A row of widgets: one horizontal container, its widgets side by side at any width."""
    return st.container(horizontal=True, wrap=False, vertical_alignment="bottom", gap="small")


def toggle_row(t: Toggle, toggles: list[Toggle]) -> None:
    """One toggle; when it is on, its rank and alpha beside it (in one row)."""
    on_change = dict(on_change=_on_targets, args=(toggles,))
    if not st.session_state.get(f"tg_on_{t.key}"):
        st.toggle(t.label, key=f"tg_on_{t.key}", help=t.help, **on_change)
    else:
        with row():
            st.toggle(t.label, key=f"tg_on_{t.key}", help=t.help, width="stretch", **on_change)
            st.number_input("rank", key=f"tg_rank_{t.key}", step=1, width=FIELD_PX, help="LoRA rank r: the "
                            "width of the adapter (trainable parameters grow linearly with it).", **on_change)
            st.number_input("alpha", key=f"tg_alpha_{t.key}", value=None, step=1.0, placeholder="2 × rank",
                            width=FIELD_PX, help="LoRA alpha: scales the update by alpha/r (alpha/√r with "
                            "rsLoRA); empty means 2 × rank.", **on_change)
    if t.note:
        st.caption(f"🔗 {t.note}")


def starting_points() -> None:
    """Plan presets and task guidance, above the page body: used now and then, so they sit outside
    its fragment (a click on them reruns the whole page) and a toggle click does not redraw them."""
    tasks = {g.task: g for g in TASK_GUIDANCE}
    left, right = st.columns(2, gap="large", vertical_alignment="bottom")  # stacked on narrow screens
    with left, row():
        preset = st.selectbox("Plan preset", list(PRESET_PLANS), key="tg_preset", width="stretch",
                              help="Starting points from common practice; applying one replaces the targets.")
        st.button("Apply", key="tg_apply_preset", on_click=_on_preset, args=(preset,),
                  help="Replace the plan's targets with the preset's (layer range and options stay).")
    with right, row():
        task = st.selectbox("Task type", list(tasks), key="tg_task", width="stretch",
                            help="What you fine-tune for decides where adapters pay off.")
        st.button("Use suggestion", key="tg_apply_task", on_click=_on_preset, args=(tasks[task].preset,),
                  help="Apply the preset suggested for this task type.")
    st.caption(f"**{tasks[task].preset}**: {tasks[task].why}")
    with st.expander("Why Q and V? When FFN?"):
        st.markdown(EXPLAINER)


def controls(toggles: list[Toggle], num_layers: int, has_vision: bool) -> None:
    """Toggles, layer range and options."""
    for section, title in SECTIONS:
        items = [t for t in toggles if t.section == section]
        if items:
            st.markdown(f"**{title}**")
            for t in items:
                toggle_row(t, toggles)
    st.markdown("**Layers and options**")
    if num_layers > 1:
        st.slider("Layer range", 0, num_layers - 1, key="tg_layers", on_change=_on_layer_range,
                  help="Only layers in this range get adapters (embeddings and lm_head are not layers).")
    st.text_input("Custom layers", key="tg_layers_text", on_change=_on_layer_text, placeholder="all, or e.g. 0-3,7",
                  help="Any subset as ranges, e.g. 0-3,7; empty means every layer.")
    with row():
        st.toggle("DoRA", key="tg_dora", on_change=_on_options, width="stretch",
                  help="Weight-decomposed LoRA: adds one magnitude vector per wrapped module (+out parameters).")
        st.toggle("rsLoRA", key="tg_rslora", on_change=_on_options, width="stretch",
                  help="Rank-stabilised scaling alpha/√r instead of alpha/r; the count does not change.")
    if has_vision:
        st.toggle("Include the vision tower", key="tg_vision", on_change=_on_options,
                  help="Also adapt the vision encoder and projector (by default only the language model).")


def results(model: LoadedModel, view: PlanView) -> None:
    """Metrics, warnings and the three live charts, then the training memory."""
    c = view.count
    widgets.count_metrics(c)
    serving_section.badges(model, view.plan)
    for w in state.plan_warnings():
        st.warning(w, icon="⚠️")
    for note in view.notes:
        st.info(note, icon="💡")
    widgets.chart(view.layer_chart, "tg_chart_layers",
                  "Each bar is one layer's trainable LoRA parameters, split by role; hover for exact numbers.",
                  config=widgets.FIXED_CHART_CONFIG)
    left, right = st.columns(2)
    with left:
        widgets.chart(view.share_chart, "tg_chart_share", "How the trainable parameters divide between roles.",
                      config=widgets.STATIC_CHART_CONFIG)
    with right:
        widgets.chart(view.frozen_chart, "tg_chart_frozen",
                      f"{c.trainable:,} trainable beside {c.all_params - c.trainable:,} frozen parameters.",
                      config=widgets.STATIC_CHART_CONFIG)
    st.caption(f"{c.modules:,} units wrapped · {c.lora:,} LoRA parameters · {c.extra:,} in saved copies and biases.")
    memory_section.show(model, view.resolved)


def render() -> None:
    """Draw the Targets page: the title, the starting points, then :func:`body`."""
    page.begin("Targets")
    task_section.task_controls(state.current_model())  # the task the plan is for: a new model, a full rerun
    starting_points()
    body()


@st.fragment
def body() -> None:
    """Everything a Targets widget changes; a click reruns only this (see the module docstring)."""
    model, plan = state.current_model(), state.current_plan()
    toggles = list(model.toggles)
    view = model.views.get(plan, model.index, toggles, model.facts)
    write_widgets(toggles, plan, view.states, model.index.num_layers)
    if ERROR in st.session_state:
        widgets.show_error(st.session_state[ERROR])
        st.caption("The previous plan is kept.")
    left, right = st.columns([5, 6], gap="large")
    with left:
        controls(toggles, model.index.num_layers, model.index.has_vision)
        notes = model.views.per_model("not offered", lambda: not_offered_notes(model.inventory))
        for note in notes:  # what PEFT refuses, and why
            st.caption(f"🚫 {note}")
    with right:
        results(model, view)
    page.end(view.count)
