"""Every causal-LM, seq2seq-LM and masked-LM architecture transformers registers, inspected.

Each model type's config class is built with its defaults, shrunk to 2 layers (every layer
count it has, nested text/vision/encoder configs included, with per-layer lists cut to their
first and last entries), built on the meta device by ``build_skeleton`` and inventoried. Widths
stay at their defaults: on the meta device they cost nothing, and shrinking them breaks the
divisibility rules many configs check. One loop, about 20 s on 2 cores.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import pandas as pd
import pytest
import transformers
from transformers import CONFIG_MAPPING, AutoModelForCausalLM, PretrainedConfig
from transformers.models.auto import modeling_auto as ma

from lora_core import inventory, skeleton

LAYERS = 2
LAYER_KEYS = ("num_hidden_layers", "num_layers", "n_layer", "n_layers", "num_decoder_layers",
              "num_encoder_layers", "encoder_layers", "decoder_layers")
MIN_PASS_RATE = 0.95

# Model types whose default config cannot build a model, checked against transformers 5.23.
SKIP: dict[str, str] = {
    "cohere_compass_text": "default rope_parameters has no entry per layer type (KeyError 'full_attention')",
    "dbrx": "default DbrxAttentionConfig has no rope_theta, which the attention reads",
    "dots1": "default config leaves n_routed_experts None; the experts tensor needs a count",
    "emu3": "default config has no vocabulary_map (the image-token map comes with a checkpoint)",
    "gemma3n": "its vision tower is a TimmWrapperModel, which needs timm (not a dependency)",
    "gemma4_assistant": "default config fails its own validation (hidden_size_per_layer_input must be 0)",
    "lfm2_moe": "default config leaves layer_types None, which every decoder layer indexes",
    "musicgen": "its causal-LM class wants the decoder sub-config; the composite config has no "
                "decoder fields ('MusicgenConfig' object has no attribute 'dropout')",
    "musicgen_melody": "its causal-LM class wants the decoder sub-config; the composite config has "
                       "no decoder fields (no attribute 'dropout')",
    "qwen4_exp": "default config leaves the indexer sizes of its indexed_attention layers None",
    "qwen4_exp_text": "default config leaves the indexer sizes of its indexed_attention layers None",
}
# Types that, cut to 2 layers, hold no attention: state-space, recurrent, Fourier mixing.
NO_ATTENTION: dict[str, str] = {
    "mamba": "state-space model", "mamba2": "state-space model", "falcon_mamba": "state-space model",
    "xlstm": "recurrent xLSTM blocks", "fnet": "Fourier token mixing",
    "recurrent_gemma": "first layers are recurrent blocks",
    "bamba": "the default config places no attention layer (attn_layer_indices is None)",
    "granitemoehybrid": "every default layer_type is a Mamba layer ('linear_attention')",
}


def sweep_types() -> list[str]:
    """Every model type with a causal-LM, seq2seq-LM or masked-LM class, sorted."""
    names = (set(ma.MODEL_FOR_CAUSAL_LM_MAPPING_NAMES) | set(ma.MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES)
             | set(ma.MODEL_FOR_MASKED_LM_MAPPING_NAMES))
    return sorted(names)


def _complete(d: dict) -> dict:
    """Fields a real checkpoint always sets but some default configs leave ``None``."""
    fixes = {}
    heads, hidden = d.get("num_attention_heads"), d.get("hidden_size")
    if "head_dim" in d and d["head_dim"] is None and isinstance(heads, int) and isinstance(hidden, int):
        fixes["head_dim"] = hidden // heads
    if "num_key_value_heads" in d and d["num_key_value_heads"] is None and isinstance(heads, int):
        fixes["num_key_value_heads"] = heads
    if "vocab_size" in d and d["vocab_size"] is None:
        fixes["vocab_size"] = 1024
    return fixes


def shrink(config: PretrainedConfig, depth: int = 0) -> None:
    """Cut ``config`` (and its nested configs) to ``LAYERS`` layers, in place.

    Per-layer lists (``layer_types``) keep their first and last entries, so a hybrid keeps
    both kinds of layer; layers sharing another's cache (``num_kv_shared_layers``) become 0.
    """
    d = config.__dict__  # not getattr: per-layer configs refuse ambiguous global reads
    old = set()
    for key in LAYER_KEYS:
        value = d.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > LAYERS:
            old.add(value)
            setattr(config, key, LAYERS)
    for key, value in list(d.items()):
        if isinstance(value, list) and len(value) in old:
            setattr(config, key, [value[0], value[-1]])
        elif isinstance(value, int) and "shared_layers" in key:
            setattr(config, key, 0)
        elif isinstance(value, PretrainedConfig) and depth < 3:
            shrink(value, depth + 1)
    for key, value in _complete(d).items():
        setattr(config, key, value)


def shrunk_config(model_type: str, cut: bool = True) -> PretrainedConfig:
    """The default config of ``model_type`` cut to 2 layers (unless ``cut`` is false)."""
    config = CONFIG_MAPPING[model_type]()
    if cut:
        shrink(config)
    else:
        for key, value in _complete(config.__dict__).items():
            setattr(config, key, value)
    if skeleton.pick_auto_class(config)[0] is AutoModelForCausalLM:
        config.is_decoder = True  # as every causal-LM checkpoint of a BERT-style model says
    return config


@dataclass(frozen=True)
class Outcome:
    """What inspecting one model type gave."""

    model_type: str
    error: str | None = None
    rows: pd.DataFrame | None = None
    numel: int = 0


def inspect_type(model_type: str, cut: bool = True) -> Outcome:
    """Build the shrunk skeleton on meta and inventory it; failures become ``error``."""
    try:
        skel = skeleton.build_skeleton(shrunk_config(model_type, cut))
        rows = inventory.build_inventory(skel)
    except Exception as e:  # noqa: BLE001 - the sweep records every failure by type
        return Outcome(model_type, f"{type(e).__name__}: {str(e)[:200]}")
    return Outcome(model_type, rows=rows, numel=sum(p.numel() for p in skel.model.parameters()))


@pytest.fixture(scope="module")
def outcomes(request: pytest.FixtureRequest) -> dict[str, Outcome]:
    transformers.logging.set_verbosity_error()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = {t: inspect_type(t) for t in sweep_types()}
    passed = sum(o.error is None for o in results.values())
    line = (f"architecture sweep: {passed} of {len(results)} model types inspected "
            f"({passed / len(results):.1%}); {len(SKIP)} in SKIP")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if capture is not None:  # shown even when pytest captures output
        with capture.global_and_fixture_disabled():
            print("\n" + line)
    else:
        print(line)
    return results


def test_sweep_pass_rate(outcomes: dict[str, Outcome]) -> None:
    failed = {t: o.error for t, o in outcomes.items() if o.error is not None}
    unexpected = {t: e for t, e in failed.items() if t not in SKIP}
    assert not unexpected, f"new failures (fix, or add to SKIP with a verified reason): {unexpected}"
    assert (len(outcomes) - len(failed)) / len(outcomes) >= MIN_PASS_RATE


def test_skip_table_is_current(outcomes: dict[str, Outcome]) -> None:
    stale = [t for t in SKIP if t not in outcomes or outcomes[t].error is None]
    assert not stale, f"these build now: remove them from SKIP: {stale}"


def test_totals_equal_model_numel(outcomes: dict[str, Outcome]) -> None:
    wrong = {t: (int(o.rows["base_params"].sum()), o.numel) for t, o in outcomes.items()
             if o.error is None and o.rows["base_params"].sum() != o.numel}
    assert not wrong


def _has_attention(o: Outcome) -> bool:
    return o.error is None and bool((o.rows["group"] == "attention").any())


def test_attention_found(outcomes: dict[str, Outcome]) -> None:
    """Attention in every type but the attention-free ones; hybrids whose first attention
    layer comes after layer 1 (Jamba, Zamba) are checked again at their default depth."""
    late = [t for t, o in outcomes.items() if o.error is None and not _has_attention(o) and t not in NO_ATTENTION]
    missing = [t for t in late if not _has_attention(inspect_type(t, cut=False))]
    assert not missing, f"no attention rows in {missing}"
    assert len(late) <= 0.05 * len(outcomes), late
    assert all(outcomes[t].error is None and not _has_attention(outcomes[t]) for t in NO_ATTENTION)


def test_attention_has_named_roles(outcomes: dict[str, Outcome]) -> None:
    """Where attention is found, some of it has a real role (q, k, v, o, fused or MLA)."""
    unnamed = sorted(t for t, o in outcomes.items() if o.error is None and
                     ((o.rows["group"] == "attention") & o.rows["targetable"]).any() and
                     not (o.rows.loc[o.rows["group"] == "attention", "role"] != "other").any())
    assert len(unnamed) <= 0.05 * len(outcomes), unnamed


def test_mixers_and_conv_kernels_are_not_ffn_or_experts(outcomes: dict[str, Outcome]) -> None:
    jamba = outcomes["jamba"].rows
    mixer = jamba[jamba["module"].str.contains(r"\.mamba\b")]
    assert len(mixer) and set(mixer["group"]) == {"other"}
    assert set(jamba.loc[jamba["kind"] == "expert-parameter", "group"]) == {"experts"}
    assert not mixer["kind"].eq("expert-parameter").any()


def test_fsmt_layers_are_not_head(outcomes: dict[str, Outcome]) -> None:
    fsmt = outcomes["fsmt"].rows
    assert (fsmt["group"] == "attention").sum() == 2 * 4 + 2 * 8  # 2 encoder + 2 decoder layers
