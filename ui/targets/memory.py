"""The Targets page's training-memory section: trainer profile, its knobs, the peaks, "fits on".

One call from ``ui/targets/page.py`` (:func:`show`). The numbers are ``lora_core.memory``'s; this
module only lays out widgets. The profile defaults to PEFT with the transformers Trainer (or the
one matching ``st.session_state["mem_recipe_tool"]`` when the Export page sets it); changing
the trainer resets the knobs to its defaults.

The fourteen trainer knobs sit in an expander, closed by default, whose widgets are drawn only
while it is open (:mod:`ui.targets.lazy`). Their widget keys are written only in runs that draw
them; while closed, the knobs are those of the last settings (:data:`SAVED`), or the trainer's own
after a change of trainer.
"""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from lora_core import charts
from lora_core.errors import InputError
from lora_core.planning import ResolvedPlan
from lora_core.memory import (BASE_DTYPES, GIB, GPU_SIZES_GB, PROFILES, TRAINERS, MemorySettings,
                              estimate_for_plan, profile_for_recipe, sequence_warnings)
from lora_core.memory.profiles import (ADAPTER_DTYPES, CHECKPOINTING, LOGITS, LOGITS_HELP, OPTIMIZER_HELP,
                                       OPTIMIZERS)
from lora_core.memory.versions import BITSANDBYTES_VERSIONS, TORCHAO_VERSIONS

from ..common import widgets
from . import cluster, lazy

SEQ_LENS = (512, 1024, 2048, 4096, 8192, 16384, 32768)
KNOB_KEYS = {"adapter_dtype": "tg_mem_adapter", "optimizer": "tg_mem_optim", "logits": "tg_mem_logits",
             "checkpointing": "tg_mem_ckpt_mode", "autocast": "tg_mem_autocast",
             "quantize_lm_head": "tg_mem_lmhead", "double_quant": "tg_mem_dq",
             "upcast_unquantized": "tg_mem_upcast", "bitsandbytes": "tg_mem_bnb", "torchao": "tg_mem_torchao",
             "keeps_previous_step": "tg_mem_prev", "fused_lora_kernels": "tg_mem_fused", "expands_kv": "tg_mem_kv",
             "softcap_eager_attention": "tg_mem_softcap"}
KNOBS_OPEN = "tg_mem_knobs_open"  # the knobs' expander
SAVED = "memory_settings"  # a plain key: Streamlit drops widget keys on pages that do not draw them


def saved_settings() -> MemorySettings:
    """The section's last valid settings (the Export page's recipes are written with them); before the
    Targets page is opened, the defaults with the profile of the recipe tool last chosen."""
    ss = st.session_state
    return ss.get(SAVED) or MemorySettings(trainer=profile_for_recipe(ss.get("mem_recipe_tool", "peft")))


def follow_recipe_tool(tool: str) -> None:
    """Make ``tool``'s profile (and its knobs) the Targets page's memory setting on its next render."""
    ss = st.session_state
    ss["mem_recipe_tool"] = tool
    for key in ("tg_mem_trainer", *KNOB_KEYS.values()):
        if key in ss:
            del ss[key]
    if SAVED in ss:  # the shape stays, the knobs become the new trainer's defaults
        old = ss[SAVED]
        ss[SAVED] = MemorySettings(old.base_dtype, old.batch_size, old.seq_len, old.gradient_checkpointing,
                                   old.flash_attention, trainer=profile_for_recipe(tool))


def apply_settings(settings: MemorySettings) -> list[str]:
    """Put an imported recipe's settings (trainer, base, length, batch, checkpointing) in the widgets.

    Returns notes on what the widgets cannot hold exactly (a length between the selector's values).
    """
    follow_recipe_tool(settings.trainer)
    ss = st.session_state
    seq = next((s for s in SEQ_LENS if s >= settings.seq_len), SEQ_LENS[-1])
    ss.update({"tg_mem_trainer": settings.trainer, "tg_mem_dtype": settings.base_dtype, "tg_mem_seq": seq,
               "tg_mem_batch": settings.batch_size, "tg_mem_ckpt": settings.gradient_checkpointing})
    ss[SAVED] = replace(settings, seq_len=seq)  # the knobs too: the knob widgets take them when drawn
    return [] if seq == settings.seq_len else [f"sequence length {settings.seq_len:,} is shown as {seq:,}, "
                                               "the selector's next value"]


def _reset_knobs() -> None:
    """A new trainer (the Trainer selectbox's callback): its own knobs, in the knob widgets when
    they are drawn on this run; else their keys are dropped and :func:`_knob_values` gives them."""
    ss = st.session_state
    profile = PROFILES[ss["tg_mem_trainer"]]
    for knob, key in KNOB_KEYS.items():
        if ss.get(KNOBS_OPEN):
            ss[key] = getattr(profile, knob)
        elif key in ss:
            del ss[key]


def _knob_values(trainer: str) -> dict[str, object]:
    """The knobs of the last settings when they were for ``trainer``, else ``None`` (the trainer's own)."""
    saved = saved_settings()
    same = saved.trainer == trainer
    return {knob: getattr(saved, knob) if same else None for knob in KNOB_KEYS}


def _defaults() -> None:
    """Widget values from the last settings this session used (the widgets' own keys do not outlive a page)."""
    ss, saved = st.session_state, saved_settings()
    for key, value in (("tg_mem_dtype", saved.base_dtype), ("tg_mem_seq", saved.seq_len),
                       ("tg_mem_batch", saved.batch_size), ("tg_mem_ckpt", saved.gradient_checkpointing),
                       ("tg_mem_trainer", saved.trainer)):
        ss.setdefault(key, value)


def _knobs() -> bool:
    """The knob widgets, when their expander is open (returns whether they were drawn)."""
    box = lazy.section("Trainer knobs", KNOBS_OPEN)
    if box is None:
        return False
    ss = st.session_state
    profile = PROFILES[ss["tg_mem_trainer"]]
    for knob, value in _knob_values(ss["tg_mem_trainer"]).items():  # a knob left to the trainer: its default
        ss.setdefault(KNOB_KEYS[knob], getattr(profile, knob) if value is None else value)
    _knob_widgets(box)
    return True


def _knob_widgets(box) -> None:
    with box:
        k1, k2 = st.columns(2)
        k1.selectbox("Adapter dtype", ADAPTER_DTYPES, key="tg_mem_adapter", help="LoRA weights and their gradients.")
        k2.selectbox("Optimizer states", OPTIMIZERS, key="tg_mem_optim", format_func=lambda o: OPTIMIZER_HELP[o])
        k1.selectbox("Loss over the logits", LOGITS, key="tg_mem_logits", format_func=lambda o: LOGITS_HELP[o])
        k2.selectbox("Checkpointing mode", CHECKPOINTING, key="tg_mem_ckpt_mode",
                     help="plain: layer inputs stay on the GPU; offloaded: moved to CPU memory.")
        k1.toggle("bf16 autocast", key="tg_mem_autocast", help="Activations of fp32 adapters in bf16.")
        k2.toggle("QLoRA quantizes lm_head", key="tg_mem_lmhead", help="LitGPT does; transformers never does.")
        k1.toggle("Double quantization", key="tg_mem_dq", help="NF4 constants quantized again (0.127 vs 0.5 bit).")
        k2.toggle("Upcast the rest to fp32", key="tg_mem_upcast", help="PEFT's prepare_model_for_kbit_training.")
        k1.selectbox("bitsandbytes version", BITSANDBYTES_VERSIONS, key="tg_mem_bnb",
                     help="Before 0.44 MatMul4Bit kept its input (ctx.tensors = (A, B)).")
        k2.selectbox("torchao version (torchtune)", TORCHAO_VERSIONS, key="tg_mem_torchao",
                     help="Before 0.2.0 NF4 quantization built numel x 16 intermediates at once.")
        k1.toggle("Loop holds the previous step's output", key="tg_mem_prev",
                  help="LitGPT: logits = model(...) rebinds after the next forward, so the previous graph "
                       "(its logits, and old bitsandbytes' kept inputs) is alive during it.")
        k2.toggle("Unsloth's fused LoRA kernels", key="tg_mem_fused",
                  help="LoRA_MLP/QKV/W keep the group input (and gate, up outputs) only.")
        k1.toggle("K/V copied to every query head", key="tg_mem_kv",
                  help="LitGPT expands grouped/multi-query K and V before attention.")
        k2.toggle("Softcapped attention in eager ops", key="tg_mem_softcap",
                  help="LitGPT runs Gemma 2's softcapped attention without a fused kernel (8 bytes per score).")


def settings_from_state(knobs_drawn: bool = True) -> MemorySettings:
    """The settings the widgets hold, the knobs from :func:`_knob_values` when their widgets were not
    drawn (raises ``InputError``, e.g. for batch 0)."""
    ss = st.session_state
    knobs = ({knob: ss[key] for knob, key in KNOB_KEYS.items()} if knobs_drawn
             else _knob_values(ss["tg_mem_trainer"]))
    if knobs["optimizer"] == PROFILES[ss["tg_mem_trainer"]].optimizer:
        knobs["optimizer"] = None  # the trainer's own choice, which may change with a quantized base (LitGPT)
    return MemorySettings(ss["tg_mem_dtype"], ss["tg_mem_batch"], ss["tg_mem_seq"], ss["tg_mem_ckpt"],
                          trainer=ss["tg_mem_trainer"], **knobs)


def _fits_line(est) -> str:
    badges = []
    for gb in GPU_SIZES_GB:
        room = est.headroom(gb) / GIB
        badges.append(f":green-badge[{gb} GB fits · {room:.1f} GiB free]" if room >= 0
                      else f":red-badge[{gb} GB short by {-room:.1f} GiB]")
    return "Fits on: " + " ".join(badges)


def show(model, resolved: ResolvedPlan) -> None:
    """Training memory for the exact plan, by component, its peaks, and which GPU sizes it fits."""
    st.markdown("**Training memory**")
    _defaults()
    # One horizontal container, not four columns: one block to send and draw on every click.
    with st.container(horizontal=True, vertical_alignment="bottom", gap="small"):
        st.selectbox("Trainer", TRAINERS, key="tg_mem_trainer", on_change=_reset_knobs, width="stretch",
                     format_func=lambda t: PROFILES[t].label, help="Whose defaults the estimate uses.")
        st.selectbox("Base weights", BASE_DTYPES, key="tg_mem_dtype", width="stretch",
                     help="bf16 (2 bytes/param), int8, or nf4 4-bit as in QLoRA.")
        st.selectbox("Sequence length", SEQ_LENS, key="tg_mem_seq", width="stretch",
                     help="Tokens per training sequence.")
        st.number_input("Batch size", key="tg_mem_batch", step=1, width="stretch",
                        help="Sequences per step (micro-batch).")
    st.toggle("Gradient checkpointing", key="tg_mem_ckpt", help="Keep only layer inputs and recompute the "
              "rest in the backward pass.")
    drawn = _knobs()
    try:
        settings = settings_from_state(drawn)
    except InputError as e:
        widgets.show_error(e)
        return
    st.session_state[SAVED] = settings
    for w in sequence_warnings(model.skeleton.config, settings):
        st.warning(w, icon="⚠️")
    def build():
        est = estimate_for_plan(model.skeleton, model.index, resolved, settings)
        return est, charts.memory_bar(est.as_frame(), GPU_SIZES_GB)

    est, chart = model.views.memory(resolved.plan, settings, build)  # once per (model, plan, settings)
    widgets.chart(chart, "tg_chart_memory",
                  f"Peak allocated {est.peak_allocated / GIB:.1f} GiB ({est.peak_phase}); the allocator "
                  f"reserves {est.peak_reserved / GIB:.1f} GiB and nvidia-smi shows {est.nvidia_smi / GIB:.1f} GiB "
                  "with the CUDA context. Dotted lines mark common GPU sizes.",
                  config=widgets.STATIC_CHART_CONFIG)  # its legend carries the GPU sizes
    st.markdown(_fits_line(est), help="By the nvidia-smi figure: reserved memory plus the CUDA context "
                                      "(and paged optimizer states).")
    cluster.show(resolved.plan, model, resolved.count.trainable - resolved.dora_params, est, settings)
