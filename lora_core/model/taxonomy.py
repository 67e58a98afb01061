"""Architecture knowledge as data: naming conventions for roles, and what a fused role holds.

These are conventions shared across many families (``q_proj`` in Llama, Mistral, Qwen, CLIP;
``query`` in BERT; ``q`` in T5; ``c_attn`` in GPT-2), not lists per model. Names not listed
here fall back to structure: inside an FFN block a linear that widens is ``up``, one that
narrows is ``down``.
"""

from __future__ import annotations

import re
from typing import Literal

Group = Literal["attention", "linear-attention", "ssm", "ffn", "experts", "router", "embedding", "head",
                "other"]
Role = Literal["q", "k", "v", "o", "qkv", "kv", "q_a", "q_b", "kv_a", "kv_b",
               "gate", "up", "gate_up", "down", "router", "embedding", "head", "other"]

BASIC_ROLES: tuple[str, ...] = ("q", "k", "v", "o", "gate", "up", "down")

ATTENTION_ROLES: dict[str, tuple[str, ...]] = {
    "q": ("q_proj", "q", "query", "wq", "q_lin", "to_q", "query_proj", "q_attn", "project_q", "q_head"),
    "k": ("k_proj", "k", "key", "wk", "k_lin", "to_k", "key_proj", "project_k", "k_head"),
    "v": ("v_proj", "v", "value", "wv", "v_lin", "to_v", "value_proj", "project_v", "v_head"),
    "o": ("o_proj", "o", "out_proj", "wo", "dense", "c_proj", "out_lin", "to_out", "proj",
          "output_proj", "attn_out", "out", "attention_out", "post_proj"),
    "qkv": ("qkv_proj", "c_attn", "query_key_value", "wqkv", "qkv", "w_pack", "in_proj", "qkv_lin"),
    "kv": ("kv_proj",),
    "q_a": ("q_a_proj",),
    "q_b": ("q_b_proj",),
    "kv_a": ("kv_a_proj_with_mqa", "kv_a_proj"),
    "kv_b": ("kv_b_proj",),
}
FFN_ROLES: dict[str, tuple[str, ...]] = {
    "gate": ("gate_proj", "w1", "wi_0", "ffn_gate", "gate_lin"),
    "up": ("up_proj", "w3", "wi_1", "c_fc", "fc1", "wi", "dense_h_to_4h", "lin1", "fc_in",
           "ffn_up", "up"),
    "gate_up": ("gate_up_proj", "w12", "gate_up"),
    "down": ("down_proj", "w2", "wo", "c_proj", "fc2", "dense_4h_to_h", "lin2", "fc_out",
             "ffn_down", "down"),
}

# What each role holds, in basic roles: a fused module is targeted by any role it holds.
CONTAINS: dict[str, tuple[str, ...]] = {
    "q": ("q",), "k": ("k",), "v": ("v",), "o": ("o",), "qkv": ("q", "k", "v"), "kv": ("k", "v"),
    "q_a": ("q",), "q_b": ("q",), "kv_a": ("k", "v"), "kv_b": ("k", "v"),
    "gate": ("gate",), "up": ("up",), "gate_up": ("gate", "up"), "down": ("down",),
}
FUSED_ROLES = frozenset(r for r, held in CONTAINS.items() if len(held) > 1)

_ATTENTION_HINT = re.compile(r"att(e)?n", re.IGNORECASE)
_EXPERTS_HINT = re.compile(r"^experts?$", re.IGNORECASE)
# Token mixers that are neither softmax attention nor FFN, by class name, each its own group:
# linear attention (``Qwen3NextGatedDeltaNet``, ``KimiLinearDeltaAttention``,
# ``MiniMaxLightningAttention``, ``Glm5NextTextLinearAttention``; not ``KimiLinearAttention``, which
# is Kimi-Linear's full MLA attention), and state-space / recurrent mixers (``JambaMambaMixer``,
# ``GraniteMoeHybridMambaLayer``, ``Lfm2ShortConv``, ``RecurrentGemmaRecurrentBlock``, xLSTM).
_MIXER_CLASS_HINTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("linear-attention", re.compile(r"(DeltaNet|DeltaAttention|LightningAttention|TextLinearAttention)$")),
    ("ssm", re.compile(r"(Mixer|MambaLayer|ShortConv|RecurrentBlock|LSTMLayer)$")),
)
MIXER_GROUPS: tuple[str, ...] = tuple(g for g, _ in _MIXER_CLASS_HINTS)


def _lookup(table: dict[str, tuple[str, ...]], leaf: str) -> str | None:
    leaf = leaf.lower()
    return next((role for role, names in table.items() if leaf in names), None)


def is_attention_scope(attr_name: str, class_name: str) -> bool:
    """True for a module that is an attention block (``self_attn``, ``BertAttention``, ``EncDecAttention``).

    A whole layer is not, whatever its class says (``OlmoHybridLinearAttentionDecoderLayer``):
    its FFN is no attention.
    """
    if class_name.endswith(("DecoderLayer", "EncoderLayer")):
        return bool(_ATTENTION_HINT.search(attr_name))
    return bool(_ATTENTION_HINT.search(attr_name) or _ATTENTION_HINT.search(class_name))


def is_experts_scope(attr_name: str, class_name: str) -> bool:
    """True for a module holding routed experts (``experts``, ``MixtralExperts``)."""
    return bool(_EXPERTS_HINT.match(attr_name) or class_name.endswith("Experts"))


def mixer_group(class_name: str) -> str | None:
    """``'linear-attention'`` or ``'ssm'`` for a token mixer that is not softmax attention, else ``None``.

    >>> mixer_group("Qwen3NextGatedDeltaNet"), mixer_group("FalconH1Mixer"), mixer_group("LlamaAttention")
    ('linear-attention', 'ssm', None)
    """
    return next((g for g, hint in _MIXER_CLASS_HINTS if hint.search(class_name)), None)


def attention_role(leaf: str) -> str:
    """Role of a linear inside attention: ``q_proj -> 'q'``, ``c_attn -> 'qkv'``; else ``other``."""
    return _lookup(ATTENTION_ROLES, leaf) or "other"


def ffn_role(leaf: str, in_features: int, out_features: int) -> str:
    """Role of a linear inside an FFN: by name, else by shape (widening ``up``, narrowing ``down``).

    >>> ffn_role("dense", 768, 3072), ffn_role("dense", 3072, 768)
    ('up', 'down')
    """
    named = _lookup(FFN_ROLES, leaf)
    if named:
        return named
    if in_features < out_features:
        return "up"
    if in_features > out_features:
        return "down"
    return "other"
