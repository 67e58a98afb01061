"""Serving verdicts in the app: a badge per engine on the Targets page, the Serving panel on Export.

Verdicts are kept per (model, plan) in the model's cached views (:mod:`ui.common.plan_views`), so a rerun
with the same plan is a dict lookup and a toggle costs one judgement (a few ms, no PEFT call). The panel's
"make it servable" action first shows the proposed plan's count difference, then applies it
through :func:`ui.common.state.set_plan`.
"""

from __future__ import annotations

import streamlit as st

from lora_core.errors import InputError
from lora_core.planning.export import config_bytes, to_lora_config
from lora_core.planning import Plan
from lora_core.serving import LABELS, Verdict, adapter_of, judge_all, servable_plan

from . import state, widgets
from .loaded_model import LoadedModel

COLOURS = {"serves": "green", "serves-with-flags": "blue", "ignores": "orange", "differs": "violet",
           "refuses": "red"}
ICONS = {"serves": "✓", "serves-with-flags": "⚑", "ignores": "◐", "differs": "≠", "refuses": "✕"}
PROPOSAL = "sv_proposal"


def verdicts(model: LoadedModel, plan: Plan, exported: dict | None = None) -> dict[str, Verdict]:
    """Every engine's verdict on ``plan`` (on its exported config when given), kept in the model's views."""
    def make():  # the name facts the rules read are built once per model (lora_core.serving.units)
        return judge_all(adapter_of(model.views.resolve(plan, model.index), model.skeleton.config, exported))
    key = None if exported is None else repr(sorted(exported.items()))
    return model.views.serving(plan, key, make)  # type: ignore[return-value]


def badge(name: str, v: Verdict) -> str:
    return f":{COLOURS[v.verdict]}-badge[{ICONS[v.verdict]} {LABELS[name]}: {v.verdict}]"


def badges(model: LoadedModel, plan: Plan) -> None:
    """One small badge per engine (Targets page, next to the trainable count)."""
    try:
        vs = verdicts(model, plan)
    except InputError:
        return
    help_text = "  \n".join(f"**{LABELS[n]} {v.version}**: {v.verdict}" + (f" — {'; '.join(v.reasons)}" if v.reasons else "")
                            for n, v in vs.items())
    st.markdown("Serving: " + " ".join(badge(n, v) for n, v in vs.items()),
                help=help_text + "  \n\nDetails and fixes on the Export page.")


def _propose(engine: str) -> None:
    model, plan = state.current_model(), state.current_plan()
    st.session_state[PROPOSAL] = (model.ref, plan, engine, servable_plan(model.views.resolve(plan, model.index), model.index,
                                                                         model.skeleton.config, engine))


def _apply() -> None:
    proposal = st.session_state.pop(PROPOSAL)[3]
    try:
        state.set_plan(proposal.plan)
    except InputError as e:
        st.session_state["sv_error"] = e


def _proposal_box(model: LoadedModel, plan: Plan) -> None:
    found = st.session_state.get(PROPOSAL)
    if not found or found[0] != model.ref or found[1] != plan:
        return
    _, _, engine, s = found
    if s.plan is None:
        st.error(f"No plan serves on {LABELS[engine]}: " + "; ".join(s.changes), icon="🚫")
        return
    sign = "+" if s.difference >= 0 else "−"
    st.info(f"**Nearest plan {LABELS[engine]} serves exactly**: {s.before:,} → {s.after:,} trainable "
            f"({sign}{abs(s.difference):,}). Changes: " + "; ".join(s.changes), icon="🛠️")
    st.button("Apply it as the current plan", key="sv_apply", on_click=_apply, type="primary",
              help="Replace the current plan with the proposed one (undo by importing or editing on Targets).")
    if s.list_form:
        try:
            data = config_bytes(to_lora_config(s.plan, model.index, model.skeleton, allow_regex=False))
        except InputError as e:
            widgets.show_error(e)
            return
        st.download_button(f"Download its adapter_config.json for {LABELS[engine]} (list form)", data,
                           file_name="adapter_config.json", mime="application/json", key="sv_list_download",
                           help="target_modules as a list of names: SGLang refuses a regular expression.")


def engine_row(name: str, v: Verdict) -> None:
    st.markdown(f"**{LABELS[name]}** {v.version} :{COLOURS[v.verdict]}-badge[{ICONS[v.verdict]} {v.verdict}]")
    for f in v.findings:
        where = f" ({len(f.modules):,} units, {f.params:,} parameters)" if f.modules and f.kind != "refuses" else ""
        st.markdown(f"- **{f.kind}**: {f.reason}{where}  \n  <small>rule: {f.source}</small>", unsafe_allow_html=True)
        if f.message and f.kind == "refuses":
            st.code(f.message, language="text", wrap_lines=True)
    if v.flags and v.verdict == "serves-with-flags":
        st.code(" ".join(v.flags), language="bash")
    if v.verdict != "serves":
        st.button(f"Make it servable on {LABELS[name]}", key=f"sv_fix_{name}", on_click=_propose, args=(name,),
                  help="Propose the nearest plan this engine serves exactly; the count difference is shown first.")


def panel(model: LoadedModel, plan: Plan, exported: dict | None) -> None:
    """The Export page's Serving panel: one row per engine, reasons, flags and the fix action."""
    st.subheader("Serving")
    st.caption("What vLLM 0.34.0, SGLang 0.5.23, TGI and LoRAX do with this adapter, read from their code: "
               "serves, serves with server flags, ignores part of it, computes something different, or refuses.")
    if "sv_error" in st.session_state:
        widgets.show_error(st.session_state.pop("sv_error"))
    try:
        vs = verdicts(model, plan, exported)
    except InputError as e:
        widgets.show_error(e)
        return
    _proposal_box(model, plan)
    for name, v in vs.items():
        with st.container(border=True):
            engine_row(name, v)
