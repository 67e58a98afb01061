"""Model page: choose a model (preset, Hub id, local path, upload) and read its card.

``pages/model.py`` only calls :func:`render` (see :mod:`ui.targets.page` for why).
"""

from __future__ import annotations

import streamlit as st

from lora_core.model import presets, sources
from lora_core.numbers import human
from lora_core.errors import InputError

from ..common import page, state, widgets
from ..common.loaded_model import ModelRef, digest_of

ERROR = "model_error"
FUSED_NOTES = {
    "qkv": "Q, K and V are one fused linear here (e.g. `qkv_proj`, `c_attn`): LoRA wraps whole "
           "modules, so Q alone cannot be targeted; a Q or V target adapts the fused module.",
    "gate_up": "The FFN's gate and up projections are one fused linear (`gate_up_proj`): "
               "targeting either adapts both.",
    "kv_a": "MLA attention compresses K and V together (`kv_a_proj`): K and V share one adapter.",
    "kv_b": "MLA attention expands K and V together (`kv_b_proj`): K and V share one adapter.",
}


def _open(ref: ModelRef, data: bytes | None = None) -> None:
    """Callback: make ``ref`` current, or keep the previous model and remember the error."""
    st.session_state.pop(ERROR, None)
    try:
        state.set_model(ref, data)
    except InputError as e:
        st.session_state[ERROR] = e


def _open_preset() -> None:
    _open(ModelRef("preset", st.session_state["model_preset"]))


def _open_hub() -> None:
    ss = st.session_state
    model_id = (ss.get("model_hub_id") or "").strip()
    if not model_id:
        ss[ERROR] = InputError("model id", "is empty; type a Hub id such as meta-llama/Meta-Llama-3.1-8B")
        return
    _open(ModelRef("hub", model_id, (ss.get("model_hub_revision") or "").strip() or None,
                   trust_remote_code=bool(ss.get("model_trust_remote_code"))))


def _open_local() -> None:
    path = (st.session_state.get("model_local_path") or "").strip()
    if not path:
        st.session_state[ERROR] = InputError("path", "is empty; type a model folder or a config.json path")
        return
    _open(ModelRef("local", path))


def _open_upload() -> None:
    file = st.session_state.get("model_upload")
    if file is None:
        st.session_state[ERROR] = InputError("upload", "no file chosen; pick the model's config.json")
        return
    data = file.getvalue()
    _open(ModelRef("upload", file.name, digest=digest_of(data)), data)


def source_picker() -> None:
    """The four ways to choose a model."""
    ref: ModelRef = st.session_state[state.MODEL]
    preset, hub, local, upload = st.tabs(["Preset", "Hugging Face Hub", "Local path", "Upload config.json"])
    with preset:
        ids = presets.preset_ids()
        if "model_preset" not in st.session_state:
            st.session_state["model_preset"] = ref.label if ref.kind == "preset" else presets.DEFAULT_PRESET
        st.selectbox("Preset model", ids, key="model_preset", on_change=_open_preset,
                     help="Real config.json files shipped with the app; they open with no network.")
    with hub:
        st.text_input("Hub model id", key="model_hub_id", placeholder="meta-llama/Meta-Llama-3.1-8B",
                      help="A repository on huggingface.co; only its config.json is fetched, never weights.")
        st.text_input("Revision", key="model_hub_revision", placeholder="main",
                      help="A branch, tag or commit of that repository; empty means main.")
        trust = st.checkbox("Trust remote code", key="model_trust_remote_code",
                            help="Allow running Python code from the repository for architectures transformers lacks.")
        if trust:
            repo = st.session_state.get("model_hub_id") or "this repository"
            st.warning(sources.remote_code_warning(repo), icon="⚠️")
        st.button("Open from the Hub", key="model_hub_open", on_click=_open_hub,
                  help="Fetch config.json from the Hub (set HF_TOKEN for gated models).")
    with local:
        st.text_input("Folder or config.json path", key="model_local_path",
                      help="A folder holding config.json, or the path of a config JSON file on this server.")
        st.button("Open local config", key="model_local_open", on_click=_open_local,
                  help="Read the config from this server's disk (inside the allowed folder, if one is set).")
    with upload:
        st.file_uploader("config.json", type=["json"], key="model_upload",
                         help="The model's config.json (not its weights); a few kB.")
        st.button("Open uploaded config", key="model_upload_open", on_click=_open_upload,
                  help="Build the model from the uploaded config.")


def model_card() -> None:
    """The current model's headline figures."""
    model = state.current_model()
    s = model.summary
    st.subheader(f"{model.ref.label}")
    st.caption(f"`{s.model_type}` · built with `{s.auto_class}` on the meta device (no weights) · "
               f"source: {model.ref.kind}")
    figures = [
        ("Total parameters", human(s.total_params), f"{s.total_params:,} parameters (tied weights once)."),
        ("Layers", s.num_layers, "Transformer blocks (num_hidden_layers)."),
        ("Hidden size", s.hidden_size, "Width of the residual stream (hidden_size)."),
        ("Intermediate size", s.moe_intermediate_size or s.intermediate_size,
         "FFN width" + (" per expert" if s.moe_intermediate_size else "") + "."),
        ("Attention heads", s.num_heads, "Query heads per layer."),
        ("KV heads", s.num_kv_heads, "Key/value heads per layer (fewer than query heads means GQA)."),
        ("Vocabulary", f"{s.vocab_size:,}" if s.vocab_size else None, "Tokens in the embedding table."),
        ("MoE experts", s.num_experts or "dense", "Routed experts per MoE layer."),
        ("Attention modules", s.attention_modules, "Targetable units inside attention blocks."),
        ("FFN modules", s.ffn_modules, "Targetable units inside FFN blocks, experts included."),
    ]
    for start in range(0, len(figures), 5):
        for col, (label, value, help_) in zip(st.columns(5), figures[start:start + 5]):
            col.metric(label, "—" if value is None else value, help=help_)
    for role in s.fused_roles:
        if role in FUSED_NOTES:
            st.info(FUSED_NOTES[role], icon="🔗")


def render() -> None:
    """Draw the Model page."""
    page.begin("Model")
    if ERROR in st.session_state:
        widgets.show_error(st.session_state[ERROR])
        st.caption("The previous model and plan are kept.")
    source_picker()
    st.divider()
    model_card()
    page.end()
