"""The inventory over every preset: totals, the attention/FFN split, and classification.

The expected split is computed from config fields alone (hidden size, heads, KV heads, head
dim, intermediate sizes, MLA ranks, experts), never from the inventory itself.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest
from peft.tuners.tuners_utils import _get_in_out_features
from transformers import PretrainedConfig

from lora_core.model import inventory
from lora_core.model.summary import fold_layers, summarize

from tests.helpers import PRESETS, cached_inventory, cached_skeleton

PINNED_TOTALS = {
    "meta-llama/Meta-Llama-3.1-8B": 8_030_261_248,
    "deepseek-ai/DeepSeek-V3": 671_026_404_352,
}


def _linear(fin: int, fout: int, bias: bool = False) -> int:
    return fin * fout + (fout if bias else 0)


def _head_dim(c: PretrainedConfig) -> int:
    return getattr(c, "head_dim", None) or c.hidden_size // c.num_attention_heads


def _gqa(c: PretrainedConfig, qkv_bias: bool = False, o_bias: bool = False) -> int:
    """q, k, v, o of one grouped-query attention layer."""
    h, d = c.hidden_size, _head_dim(c)
    q, kv = c.num_attention_heads * d, c.num_key_value_heads * d
    return _linear(h, q, qkv_bias) + 2 * _linear(h, kv, qkv_bias) + _linear(q, h, o_bias)


def _gated_mlp(h: int, inter: int, bias: bool = False) -> int:
    """gate, up and down of one gated MLP."""
    return 2 * _linear(h, inter, bias) + _linear(inter, h, bias)


def _experts(h: int, inter: int, n: int) -> int:
    """Fused expert tensors: gate_up (n, 2*inter, h) and down (n, h, inter)."""
    return n * (2 * inter * h + inter * h)


# Each returns {group: params} for the targetable rows of attention, ffn (+experts) and router.
def _llama_like(c: PretrainedConfig) -> dict[str, int]:
    bias = bool(getattr(c, "attention_bias", False))
    qkv_bias = bias or c.model_type == "qwen2"  # Qwen2 always has q/k/v biases
    L = c.num_hidden_layers
    return {"attention": L * _gqa(c, qkv_bias, bias),
            "ffn": L * _gated_mlp(c.hidden_size, c.intermediate_size, bool(getattr(c, "mlp_bias", False)))}


def _phi3(c: PretrainedConfig) -> dict[str, int]:
    h, d, L = c.hidden_size, _head_dim(c), c.num_hidden_layers
    qkv = h * (c.num_attention_heads + 2 * c.num_key_value_heads) * d
    return {"attention": L * (qkv + c.num_attention_heads * d * h),
            "ffn": L * (h * 2 * c.intermediate_size + c.intermediate_size * h)}


def _gpt2(c: PretrainedConfig) -> dict[str, int]:
    h, inner = c.n_embd, c.n_inner or 4 * c.n_embd
    return {"attention": c.n_layer * (_linear(h, 3 * h, True) + _linear(h, h, True)),
            "ffn": c.n_layer * (_linear(h, inner, True) + _linear(inner, h, True))}


def _bert(c: PretrainedConfig) -> dict[str, int]:
    h, i = c.hidden_size, c.intermediate_size
    return {"attention": c.num_hidden_layers * 4 * _linear(h, h, True),
            "ffn": c.num_hidden_layers * (_linear(h, i, True) + _linear(i, h, True))}


def _distilbert(c: PretrainedConfig) -> dict[str, int]:
    h, i = c.dim, c.hidden_dim
    return {"attention": c.n_layers * 4 * _linear(h, h, True),
            "ffn": c.n_layers * (_linear(h, i, True) + _linear(i, h, True))}


def _t5(c: PretrainedConfig) -> dict[str, int]:
    inner, h = c.num_heads * c.d_kv, c.d_model
    attn = 3 * h * inner + inner * h
    ffn = (3 if c.is_gated_act else 2) * h * c.d_ff
    return {"attention": c.num_layers * attn + c.num_decoder_layers * 2 * attn,
            "ffn": (c.num_layers + c.num_decoder_layers) * ffn}


def _llava(c: PretrainedConfig) -> dict[str, int]:
    v = c.vision_config
    hv, iv = v.hidden_size, v.intermediate_size
    text = _llama_like(c.text_config)
    return {"attention": text["attention"] + v.num_hidden_layers * 4 * _linear(hv, hv, True),
            "ffn": text["ffn"] + v.num_hidden_layers * (_linear(hv, iv, True) + _linear(iv, hv, True))}


def _mixtral(c: PretrainedConfig) -> dict[str, int]:
    L, h, E = c.num_hidden_layers, c.hidden_size, c.num_local_experts
    return {"attention": L * _gqa(c), "ffn": L * _experts(h, c.intermediate_size, E), "router": L * h * E}


def _qwen3_moe(c: PretrainedConfig) -> dict[str, int]:
    L, h, E = c.num_hidden_layers, c.hidden_size, c.num_experts
    moe = [i for i in range(L) if i not in c.mlp_only_layers and (i + 1) % c.decoder_sparse_step == 0]
    dense = L - len(moe)
    return {"attention": L * _gqa(c),
            "ffn": len(moe) * _experts(h, c.moe_intermediate_size, E) + dense * _gated_mlp(h, c.intermediate_size),
            "router": len(moe) * h * E}


def _deepseek_v3(c: PretrainedConfig) -> dict[str, int]:
    """MLA attention; dense MLP for the first layers, then routed + shared experts."""
    h, H, L = c.hidden_size, c.num_attention_heads, c.num_hidden_layers
    qk = c.qk_nope_head_dim + c.qk_rope_head_dim
    attn = (h * c.q_lora_rank + c.q_lora_rank * H * qk + h * (c.kv_lora_rank + c.qk_rope_head_dim)
            + c.kv_lora_rank * H * (c.qk_nope_head_dim + c.v_head_dim) + H * c.v_head_dim * h)
    dense, moe = c.first_k_dense_replace, L - c.first_k_dense_replace
    shared = _gated_mlp(h, c.n_shared_experts * c.moe_intermediate_size)
    return {"attention": L * attn,
            "ffn": dense * _gated_mlp(h, c.intermediate_size)
            + moe * (_experts(h, c.moe_intermediate_size, c.n_routed_experts) + shared),
            "router": moe * h * c.n_routed_experts}


EXPECTED_SPLIT: dict[str, Callable[[PretrainedConfig], dict[str, int]]] = {
    "llama": _llama_like, "mistral": _llama_like, "qwen2": _llama_like, "qwen3": _llama_like,
    "gemma2": _llama_like, "phi3": _phi3, "gpt2": _gpt2, "bert": _bert, "roberta": _bert,
    "distilbert": _distilbert, "t5": _t5,
    "llava": _llava, "mixtral": _mixtral, "qwen3_moe": _qwen3_moe, "deepseek_v3": _deepseek_v3,
}


def _split(inv: pd.DataFrame) -> dict[str, int]:
    rows = inv[inv["targetable"]]
    groups = {"attention": ("attention",), "ffn": ("ffn", "experts"), "router": ("router",)}
    out = {g: int(rows.loc[rows["group"].isin(gs), "base_params"].sum()) for g, gs in groups.items()}
    return {g: n for g, n in out.items() if n or g != "router"}


@pytest.mark.parametrize("model_id", PRESETS)
def test_total_equals_model_numel(model_id: str) -> None:
    model = cached_skeleton(model_id).model
    assert cached_inventory(model_id)["base_params"].sum() == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("model_id", PINNED_TOTALS)
def test_pinned_totals(model_id: str) -> None:
    assert cached_inventory(model_id)["base_params"].sum() == PINNED_TOTALS[model_id]
    summary = summarize(cached_skeleton(model_id), cached_inventory(model_id))
    assert summary.total_params == PINNED_TOTALS[model_id]


def test_every_preset_has_an_expectation() -> None:
    types = {cached_skeleton(m).config.model_type for m in PRESETS}
    assert types <= set(EXPECTED_SPLIT)


@pytest.mark.parametrize("model_id", PRESETS)
def test_attention_ffn_split_matches_config(model_id: str) -> None:
    config = cached_skeleton(model_id).config
    assert _split(cached_inventory(model_id)) == EXPECTED_SPLIT[config.model_type](config)


@pytest.mark.parametrize("model_id", PRESETS)
def test_every_row_is_well_formed(model_id: str) -> None:
    """Each module row's shape is what PEFT reads from the torch module itself (``_get_in_out_features``,
    which sizes the LoRA A and B matrices), its class and own parameters the module's."""
    inv, model = cached_inventory(model_id), cached_skeleton(model_id).model
    for row in inv[inv["param"].isna()].itertuples(index=False):
        module = model.get_submodule(row.module)
        assert row.module_class == type(module).__name__, row.name
        assert row.numel == sum(p.numel() for p in module.parameters(recurse=False)), row.name
        if row.kind in ("linear", "conv1d", "embedding"):
            assert (row.in_features, row.out_features) == _get_in_out_features(module), row.name
    for row in inv[inv["param"].notna()].itertuples(index=False):
        p = model.get_parameter(row.name)
        assert row.numel == p.numel() == row.num_experts * row.in_features * row.out_features, row.name
    assert inv["name"].is_unique
    linear = inv[inv["kind"].isin(["linear", "conv1d"])]
    assert (linear["base_params"] + linear["numel"] > 0).all()
    assert set(inv["role"]) <= {*inventory.tx.ATTENTION_ROLES, *inventory.tx.FFN_ROLES,
                                "router", "embedding", "head", "other"}
    assert (inv.loc[inv["kind"] == "other", "targetable"] == False).all()  # noqa: E712


@pytest.mark.parametrize("model_id", PRESETS)
def test_layers_match_config(model_id: str) -> None:
    inv, config = cached_inventory(model_id), cached_skeleton(model_id).config.get_text_config()
    main_stack = inv[inv["group"] == "attention"]["stack"].iloc[-1]
    layers = inv.loc[(inv["stack"] == main_stack) & inv["layer"].notna(), "layer"]
    assert layers.nunique() == config.num_hidden_layers


def _rows(model_id: str, suffix: str) -> pd.DataFrame:
    inv = cached_inventory(model_id)
    return inv[inv["name"].str.endswith(suffix)]


def _one(model_id: str, name: str) -> pd.Series:
    inv = cached_inventory(model_id)
    rows = inv[inv["name"] == name]
    assert len(rows) == 1, name
    return rows.iloc[0]


def test_gpt2_fused_qkv_and_two_c_proj() -> None:
    m = "openai-community/gpt2"
    c_attn = _one(m, "transformer.h.0.attn.c_attn")
    assert (c_attn.group, c_attn.role, c_attn.contains, c_attn.kind) == ("attention", "qkv", "q+k+v", "conv1d")
    assert (c_attn.in_features, c_attn.out_features) == (768, 2304)
    assert (_one(m, "transformer.h.0.attn.c_proj").group, _one(m, "transformer.h.0.attn.c_proj").role) == ("attention", "o")
    assert (_one(m, "transformer.h.0.mlp.c_proj").group, _one(m, "transformer.h.0.mlp.c_proj").role) == ("ffn", "down")
    assert _one(m, "transformer.h.0.mlp.c_fc").role == "up"
    head = _one(m, "lm_head")
    assert (head.group, head.base_params, head.tied_to, head.is_output) == ("head", 0, "transformer.wte", True)


def test_t5_self_and_cross_attention() -> None:
    m = "google/flan-t5-base"
    cross = _rows(m, "EncDecAttention.q")
    assert len(cross) == 12 and set(cross["stack"]) == {"decoder"} and set(cross["group"]) == {"attention"}
    for leaf, role in (("q", "q"), ("k", "k"), ("v", "v"), ("o", "o")):
        row = _one(m, f"encoder.block.3.layer.0.SelfAttention.{leaf}")
        assert (row.stack, row.layer, row.group, row.role) == ("encoder", 3, "attention", role)
    roles = {_one(m, f"decoder.block.0.layer.2.DenseReluDense.{w}").role for w in ("wi_0", "wi_1", "wo")}
    assert roles == {"gate", "up", "down"}


def test_bert_query_key_value_output_dense() -> None:
    m = "google-bert/bert-base-uncased"
    base = "bert.encoder.layer.5."
    expected = {"attention.self.query": "q", "attention.self.key": "k", "attention.self.value": "v",
                "attention.output.dense": "o", "intermediate.dense": "up", "output.dense": "down"}
    for leaf, role in expected.items():
        row = _one(m, base + leaf)
        assert (row.role, row.stack, row.layer) == (role, "encoder", 5), leaf
    assert _one(m, base + "attention.output.dense").group == "attention"
    assert _one(m, base + "output.dense").group == "ffn"
    assert set(_rows(m, "cls.predictions.transform.dense")["group"]) == {"head"}


def test_deepseek_mla_and_experts() -> None:
    m = "deepseek-ai/DeepSeek-V3"
    roles = {leaf: _one(m, f"model.layers.10.self_attn.{leaf}").role
             for leaf in ("q_a_proj", "q_b_proj", "kv_a_proj_with_mqa", "kv_b_proj", "o_proj")}
    assert roles == {"q_a_proj": "q_a", "q_b_proj": "q_b", "kv_a_proj_with_mqa": "kv_a",
                     "kv_b_proj": "kv_b", "o_proj": "o"}
    gate_up = _one(m, "model.layers.10.mlp.experts.gate_up_proj")
    assert (gate_up.kind, gate_up.group, gate_up.role, gate_up.num_experts) == ("expert-parameter", "experts", "gate_up", 256)
    assert _one(m, "model.layers.10.mlp.gate.weight").group == "router"
    assert _one(m, "model.layers.10.mlp.shared_experts.down_proj").role == "down"
    assert _one(m, "model.layers.1.mlp.gate_proj").group == "ffn"  # a dense layer


def test_mixtral_experts_and_router() -> None:
    m = "mistralai/Mixtral-8x7B-v0.1"
    down = _one(m, "model.layers.0.mlp.experts.down_proj")
    assert (down.role, down.num_experts, down.in_features, down.out_features) == ("down", 8, 14336, 4096)
    router = _rows(m, "mlp.gate.weight")
    assert len(router) == 32 and set(router["group"]) == {"router"}
    assert set(router["out_features"]) == {8}


def test_phi3_fused_projections() -> None:
    m = "microsoft/Phi-3-mini-4k-instruct"
    assert _one(m, "model.layers.0.self_attn.qkv_proj").contains == "q+k+v"
    assert _one(m, "model.layers.0.mlp.gate_up_proj").contains == "gate+up"


def test_llava_vision_and_language_stacks() -> None:
    m = "llava-hf/llava-1.5-7b-hf"
    inv = cached_inventory(m)
    attn = inv[inv["group"] == "attention"]
    assert set(attn["stack"]) == {"vision", "language"}
    assert attn.loc[attn["stack"] == "vision", "layer"].nunique() == 24
    assert attn.loc[attn["stack"] == "language", "layer"].nunique() == 32
    assert set(inv.loc[inv["name"].str.contains("multi_modal_projector"), "stack"]) == {"projector"}
    assert _one(m, "lm_head").stack == "language"


def test_fold_layers_ranges() -> None:
    assert fold_layers(cached_inventory("meta-llama/Meta-Llama-3.1-8B"))["label"].tolist() == [
        "layers 0–31: 7 linear modules each"]
    deepseek = fold_layers(cached_inventory("deepseek-ai/DeepSeek-V3"))
    assert deepseek[["first_layer", "last_layer"]].values.tolist() == [[0, 2], [3, 60]]
    llava = fold_layers(cached_inventory("llava-hf/llava-1.5-7b-hf"))
    assert llava[["stack", "num_layers"]].values.tolist() == [["vision", 24], ["language", 32]]


@pytest.mark.parametrize("model_id", PRESETS)
def test_fold_covers_every_layer_row(model_id: str) -> None:
    inv = cached_inventory(model_id)
    folded = fold_layers(inv)
    per_stack = inv[inv["targetable"] & inv["layer"].notna()].groupby("stack").size()
    covered = (folded["num_layers"] * folded["modules_per_layer"]).groupby(folded["stack"]).sum()
    assert covered.sort_index().tolist() == per_stack.sort_index().tolist()


@pytest.mark.parametrize("model_id", PRESETS)
def test_summary_matches_config(model_id: str) -> None:
    skel = cached_skeleton(model_id)
    s, text = summarize(skel, cached_inventory(model_id)), skel.config.get_text_config()
    assert (s.hidden_size, s.num_layers, s.vocab_size) == (text.hidden_size, text.num_hidden_layers, text.vocab_size)
    assert s.num_heads == text.num_attention_heads
    assert s.num_kv_heads == (getattr(text, "num_key_value_heads", None) or text.num_attention_heads)
    assert s.attention_modules > 0 and s.ffn_modules > 0
