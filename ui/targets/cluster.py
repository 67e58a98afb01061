"""The Targets page's "GPUs, time and cost" section: GPU kind, count, strategy, offload, dataset
tokens, epochs and price; the per-GPU peaks, host RAM, the smallest count per strategy, the chart of
memory per GPU against N, tokens per second, hours and cost as ranges.

One call from ``ui/targets/memory.py`` with the plan's cached single-GPU estimate; everything here is
``lora_core.compute.report``'s arithmetic, kept per (plan, memory settings, cluster) in the model's views.

The section is an expander, closed by default, whose content runs only while it is open
(:mod:`ui.targets.lazy`): closed, a click on the page builds none of its seven inputs, figures,
chart or table (``bench/bench_cluster.py`` prints what that saves). Whether it is open, and its
inputs' last valid values, are kept in plain session keys, so they survive a visit to another page.
"""

from __future__ import annotations

import streamlit as st

from lora_core.compute.chart import per_gpu_chart
from lora_core.compute.gpus import GPU_NAMES, GPUS
from lora_core.compute.report import ClusterSettings, cluster_report, fit_table
from lora_core.errors import InputError
from lora_core.memory import GIB
from lora_core.memory.parallel import OFFLOADS, STRATEGIES, TRAINER_STRATEGIES, model_sizes, strategies_for, sweep_frame

from ..common import widgets
from . import lazy

DEFAULTS = (("tg_cl_gpu", "h100-80gb"), ("tg_cl_gpus", 1), ("tg_cl_strategy", "single"), ("tg_cl_offload", "none"),
            ("tg_cl_tokens_m", 50.0), ("tg_cl_epochs", 3.0), ("tg_cl_price", None))


SAVED = "cluster_settings"  # a plain key: Streamlit drops widget keys on pages that do not draw them
OPEN = "tg_cl_open"  # the section's expander (see ui/targets/lazy.py)
TITLE = "GPUs, time and cost"


def _restore() -> None:
    """Widget values from the last settings this session used (or the defaults)."""
    ss, saved = st.session_state, st.session_state.get(SAVED)
    values = dict(DEFAULTS) if saved is None else {
        "tg_cl_gpu": saved.gpu, "tg_cl_gpus": saved.gpus, "tg_cl_strategy": saved.strategy,
        "tg_cl_offload": saved.offload, "tg_cl_tokens_m": saved.dataset_tokens / 1e6, "tg_cl_epochs": saved.epochs,
        "tg_cl_price": saved.price}
    for key, value in values.items():
        ss.setdefault(key, value)


def _inputs(trainer: str, base_dtype: str) -> None:
    ss = st.session_state
    _restore()
    offered = strategies_for(trainer, base_dtype)
    with st.container(horizontal=True, vertical_alignment="bottom", gap="small"):
        st.selectbox("GPU", GPU_NAMES, key="tg_cl_gpu", format_func=lambda g: GPUS[g].label, width="stretch")
        st.number_input("GPUs", key="tg_cl_gpus", min_value=1, max_value=4096, step=1, width="stretch")
        st.selectbox("Strategy", list(STRATEGIES), key="tg_cl_strategy", width="stretch",
                     format_func=lambda s: STRATEGIES[s].label + ("" if s in offered else " (not offered)"),
                     help="What " + trainer + " offers: " + "; ".join(
                         f"{STRATEGIES[s].label}: {how}" for s, how in TRAINER_STRATEGIES.get(trainer, {}).items()))
        st.selectbox("Offload", OFFLOADS, key="tg_cl_offload", width="stretch")
    with st.container(horizontal=True, vertical_alignment="bottom", gap="small"):
        st.number_input("Dataset (M tokens)", key="tg_cl_tokens_m", min_value=0.001, step=10.0, width="stretch")
        st.number_input("Epochs", key="tg_cl_epochs", min_value=0.01, step=1.0, width="stretch")
        st.number_input("Price per GPU-hour (USD)", key="tg_cl_price", min_value=0.0, step=0.1, width="stretch",
                        placeholder=f"default {GPUS[ss['tg_cl_gpu']].default_price or 'none'}",
                        help=GPUS[ss["tg_cl_gpu"]].price_source or "No sourced default for this GPU: give one.")


def _hours(h: float) -> str:
    """``0.0123 -> '0.012'``, ``12.34 -> '12.3'``: two significant digits below one hour."""
    return f"{h:,.1f}" if h >= 1 else f"{h:.2g}"


def show(plan, model, trainable: int, est, settings) -> None:
    """The section, under the training-memory chart: an expander whose content runs only when open."""
    box = lazy.section(TITLE, OPEN)
    if box is not None:
        with box:
            _content(plan, model, trainable, est, settings)


def _sizes(model):
    return model.views.per_model("model_sizes", lambda: model_sizes(model.inventory, model.skeleton.config))


def _fits(model, plan, est, trainable: int, settings, cluster: ClusterSettings):
    """The smallest count per strategy and that table as shown, once per (plan, memory settings,
    GPU kind): a change of count, strategy, offload, dataset, epochs or price keeps it."""
    def build():
        t = fit_table(est, _sizes(model), trainable, settings.trainer, settings.base_dtype, cluster)
        shown = t.assign(per_gpu_gib=t["per_gpu_bytes"] / GIB, cpu_ram_gib=t["cpu_ram"] / GIB)
        return t, shown[["label", "offload", "min_gpus", "per_gpu_gib", "cpu_ram_gib"]]
    return model.views.memory(plan, ("cluster-fits", settings, cluster.gpu, cluster.knobs), build)


def _report(model, plan, est, trainable: int, settings, cluster: ClusterSettings):
    """The cluster report and its table as shown, once per (model, plan, memory settings, cluster settings)."""
    fits, shown = _fits(model, plan, est, trainable, settings, cluster)
    report = model.views.memory(plan, ("cluster-report", settings, cluster), lambda: cluster_report(
        est, _sizes(model), model.skeleton.config, trainable, settings.trainer, settings.base_dtype,
        settings.batch_size, settings.seq_len, settings.gradient_checkpointing, cluster, fits))
    return report, shown


def _content(plan, model, trainable: int, est, settings) -> None:
    ss = st.session_state
    _inputs(settings.trainer, settings.base_dtype)
    try:
        cluster = ClusterSettings(int(ss["tg_cl_gpus"]), ss["tg_cl_gpu"], ss["tg_cl_strategy"], ss["tg_cl_offload"],
                                  float(ss["tg_cl_tokens_m"]) * 1e6, float(ss["tg_cl_epochs"]), ss["tg_cl_price"])
        ss[SAVED] = cluster
        report, table = _report(model, plan, est, trainable, settings, cluster)
    except InputError as e:
        widgets.show_error(e)
        return
    gpu, p, r = GPUS[cluster.gpu], report.per_gpu, report.run
    fit = ":green-badge[fits]" if report.fits else ":red-badge[does not fit]"
    st.markdown(f"Per GPU: allocated **{p.peak_allocated / GIB:.1f} GiB**, reserved {p.peak_reserved / GIB:.1f} GiB, "
                f"nvidia-smi {p.nvidia_smi / GIB:.1f} GiB of {gpu.memory_gib:g} {fit}; host RAM for offload "
                f"{p.cpu_ram / GIB:.1f} GiB.")
    best = report.best
    st.markdown("Smallest count that fits: " + (
        f"**{best['min_gpus']} × {gpu.label} with {best['label']}**"
        + ("" if best["offload"] == "none" else f" (offload {best['offload']})") if best
        else "none up to 1024 GPUs of this kind."))
    cost = (f"; cost **${r.cost[1]:,.0f}–{r.cost[0]:,.0f}** at ${report.price:.2f}/GPU-hour" if r.cost
            else "; give a price for the cost")
    st.markdown(f"Time: **{r.tokens_per_s[0]:,.0f}–{r.tokens_per_s[1]:,.0f} tokens/s**, "
                f"**{_hours(r.hours[1])}–{_hours(r.hours[0])} h** for {cluster.epochs:g} × {cluster.dataset_tokens / 1e6:g}M "
                f"tokens{cost}.")
    if report.ds_gap:
        st.caption(report.ds_gap.sentence())
    figure = model.views.memory(plan, ("cluster-chart", settings, cluster.offload, cluster.gpu),
                                lambda: per_gpu_chart(sweep_frame(est, _sizes(model), trainable,
                                                                  strategies_for(settings.trainer, settings.base_dtype),
                                                                  cluster.offload),
                                                      gpu.memory_gib, gpu.label))
    widgets.chart(figure, "tg_chart_cluster",
                  "nvidia-smi figure per GPU for each strategy the trainer offers (offload as chosen where the "
                  "strategy has it); the dotted line is the GPU's memory.", config=widgets.STATIC_CHART_CONFIG)
    st.dataframe(table, hide_index=True, key="tg_cl_table")


def settings_from_state() -> ClusterSettings:
    """The section's last valid cluster settings (the defaults when the Targets page has not been opened)."""
    return st.session_state.get(SAVED) or ClusterSettings()


def compare_figures(model, plan, est, trainable: int, settings) -> dict:
    """Time and cost of a saved plan on the Targets section's cluster, for the Compare table."""
    try:
        cluster = settings_from_state()
        r, _ = _report(model, plan, est, trainable, settings, cluster)
    except InputError as e:
        return {"cluster": f"{e.field}: {e.message}", "smallest fit": "—", "tokens/s": "—", "hours": "—", "cost": "—"}
    gpu = GPUS[cluster.gpu]
    best = r.best
    return {"cluster": f"{cluster.gpus} × {gpu.label}, {STRATEGIES[cluster.strategy].label}"
                       + (" (fits)" if r.fits else " (does not fit)"),
            "smallest fit": f"{best['min_gpus']} × {best['label']}" if best else "none",
            "tokens/s": f"{r.run.tokens_per_s[0]:,.0f}–{r.run.tokens_per_s[1]:,.0f}",
            "hours": f"{r.run.hours[1]:,.1f}–{r.run.hours[0]:,.1f}",
            "cost": f"${r.run.cost[1]:,.0f}–{r.run.cost[0]:,.0f}" if r.run.cost else "give a price"}
