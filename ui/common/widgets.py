"""Small rendering helpers shared by the pages (sidebar summary, metrics, error display)."""

from __future__ import annotations

import streamlit as st

from lora_core.numbers import human, human_bytes, human_pct
from lora_core.errors import InputError
from lora_core.planning import PlanCount

from . import state
from .urlstate import encode_layers, encode_targets

CHART_CONFIG = {"displaylogo": False, "responsive": True}
# Charts where zooming is useless: no mode bar to build, no zoom or pan, hover kept.
FIXED_CHART_CONFIG = {"displayModeBar": False, "responsive": True, "scrollZoom": False, "doubleClick": False}
# Charts whose numbers are written on them or beside them: a static picture, the cheapest to draw.
STATIC_CHART_CONFIG = {"staticPlot": True, "responsive": True}


def show_error(error: InputError) -> None:
    """An input error as the user sees it: the field and the fix, no traceback."""
    st.error(f"**{error.field}**: {error.message}", icon="🚫")


def sidebar_summary(c: PlanCount | None = None) -> None:
    """The current model and plan in the sidebar, on every page (``c``: the plan's count, when the
    page has it already)."""
    model, plan = state.current_model(), state.current_plan()
    c = c or model.views.resolve(plan, model.index).count
    with st.sidebar:
        st.caption("Current model")
        st.markdown(f"**{model.ref.label}**" + (f" @ `{model.ref.revision}`" if model.ref.revision else ""))
        st.caption("Current plan")
        layers = encode_layers(plan.layers) or "all"
        flags = " · ".join(f for f in ("DoRA" if plan.dora else "", "rsLoRA" if plan.rslora else "") if f)
        st.markdown(f"`{encode_targets(plan.targets) or '—'}` · layers {layers}" + (f" · {flags}" if flags else ""))
        st.markdown(f"**{human(c.trainable)}** trainable ({human_pct(c.share)})",
                    help=f"{c.trainable:,} trainable of {c.all_params:,} parameters")


def count_metrics(c: PlanCount) -> None:
    """Four metrics for a plan count: trainable, share, and adapter size at fp16 / fp32."""
    row = st.container(horizontal=True, gap="small")  # two rows of two: two blocks, not six columns
    row.metric("Trainable parameters", human(c.trainable), help=f"Exactly {c.trainable:,} parameters "
               "PEFT will train (LoRA matrices plus any biases or saved modules).")
    row.metric("% of the model", human_pct(c.share), help=f"{c.trainable:,} of {c.all_params:,} "
               "parameters (PEFT's 'all params' includes the adapters).")
    row = st.container(horizontal=True, gap="small")
    row.metric("Adapter file (fp16)", human_bytes(c.trainable * 2),
               help=f"{c.trainable * 2:,} bytes: the saved adapter at 2 bytes per parameter.")
    row.metric("Adapter file (fp32)", human_bytes(c.trainable * 4),
               help=f"{c.trainable * 4:,} bytes: the saved adapter at 4 bytes per parameter.")


def chart(fig, key: str, explain: str, config: dict | None = None) -> None:
    """A Plotly chart with its one-sentence explanation underneath (``config``: Plotly's, e.g.
    :data:`FIXED_CHART_CONFIG`; :data:`CHART_CONFIG` by default)."""
    st.plotly_chart(fig, key=key, config=config or CHART_CONFIG)
    st.caption(explain)
