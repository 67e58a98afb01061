"""Activations a training step keeps for backward, and the loss's logits, by shape (Korthikanti et al.).

Per block from the model's own widths (:func:`layer_activation_bytes`), the adapters' own saved
inputs from PEFT's forward (:func:`lora_activation_bytes`), and outside the blocks the norm inputs
and the logits as the profile's loss holds them (:mod:`.logits`); what is alive when in backward:
:mod:`.backward`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .layout import BlockLayout, block_layout
from .logits import PREVIOUS_LOGITS_BYTES, logits_per_token
from .profiles import TrainingProfile
from ..model.text_config import text_config

_GATED_ROLES = ("gate", "gate_up")

# Bytes per attention score (b x heads x s x s) LitGPT's manual attention keeps for a model with
# attention logit softcapping (litgpt/model.py CausalSelfAttention.scaled_dot_product_attention, "with
# softcapping we cannot use SDPA"): tanh's bf16 output (2), softmax(dtype=float)'s fp32 output (4)
# and its bf16 copy that ``scores @ v`` keeps (2).
SOFTCAP_SCORE_BYTES = 8


@dataclass(frozen=True)
class ActivationShape:
    """The sizes the activation formula needs, read from ``config.get_text_config()``.

    Attributes:
        hidden: model width h.
        layers: transformer blocks (encoder + decoder for encoder-decoder models).
        heads: attention (query) heads a.
        q_dim: heads x query/key head size (MLA: ``qk_head_dim``).
        kv_dim: key + value widths stored: kv_heads x (key head + value head); GQA shrinks it.
        out_dim: attention output width before ``o_proj``: heads x value head size.
        dense_ffn: FFN intermediate size of dense layers.
        moe_ffn: intermediate size a token passes through in an MoE layer: top_k x expert size
            (+ shared experts), 0 for dense models.
        top_k: experts per token (0 for dense models).
        moe_layers: how many blocks are MoE.
        gated: gated FFN (SwiGLU/GeGLU: gate and up projections) or a plain two-layer MLP.
        vocab: output vocabulary (logits).
        layout: how the block feeds its norms and FFN (:func:`~lora_core.memory.layout.block_layout`).
    """

    hidden: int
    layers: int
    heads: int
    q_dim: int
    kv_dim: int
    out_dim: int
    dense_ffn: int
    moe_ffn: int
    top_k: int
    moe_layers: int
    gated: bool
    vocab: int
    layout: BlockLayout = BlockLayout()


def _first(cfg, *names: str, default: int = 0) -> int:
    """The first of ``names`` the config sets to a truthy value, as an int; a per-layer list
    (Gemma-3n's ``intermediate_size``) gives its largest entry, a per-stack mapping (LXMERT's
    ``num_hidden_layers``: vision, cross-encoder and language layers) the sum of its stacks."""
    value = next((getattr(cfg, n) for n in names if getattr(cfg, n, None)), default)
    if isinstance(value, dict):
        return sum(int(v) for v in value.values())
    return int(max(value)) if isinstance(value, (list, tuple)) else int(value)


def activation_shape(config, inventory: pd.DataFrame) -> ActivationShape:
    """Read :class:`ActivationShape` from a config (its text part) and the inventory.

    GQA: K and V are stored at ``num_key_value_heads`` width. MoE: ``num_experts_per_tok`` routed
    experts of ``moe_intermediate_size`` (else ``intermediate_size``) plus ``n_shared_experts``
    or ``shared_expert_intermediate_size``; DeepSeek's ``first_k_dense_replace`` and Qwen's
    ``mlp_only_layers`` blocks count as dense. Gated FFN: the inventory has a gate role.
    """
    text = text_config(config)
    h = _first(text, "hidden_size", "d_model", "n_embd")
    heads = _first(text, "num_attention_heads", "num_heads", "n_head", default=1)
    kv_heads = _first(text, "num_key_value_heads", default=heads)
    if getattr(text, "multi_query", False) and not getattr(text, "new_decoder_architecture", False):
        kv_heads = 1  # Falcon-7B / GPTBigCode multi-query attention: one K and V head
    head = _first(text, "head_dim", "d_kv", default=h // heads)
    k_head = _first(text, "qk_head_dim", default=head)
    v_head = _first(text, "v_head_dim", default=head)
    layers = _first(text, "num_hidden_layers", "num_layers", "n_layer")
    if getattr(text, "is_encoder_decoder", False):
        layers += _first(text, "num_decoder_layers", default=layers)
    dense = _first(text, "intermediate_size", "d_ff", "n_inner", "ffn_dim", default=4 * h)
    experts = _first(text, "num_local_experts", "n_routed_experts", "num_experts")
    top_k = _first(text, "num_experts_per_tok", "moe_topk", "top_k") if experts else 0
    expert_ffn = _first(text, "moe_intermediate_size", default=dense)
    moe_ffn = (top_k + _first(text, "n_shared_experts")) * expert_ffn + _first(text, "shared_expert_intermediate_size")
    dense_layers = _first(text, "first_k_dense_replace") + len(getattr(text, "mlp_only_layers", None) or ())
    gated = bool(inventory["role"].isin(_GATED_ROLES).any())
    return ActivationShape(h, layers, heads, heads * k_head, kv_heads * (k_head + v_head), heads * v_head,
                           dense, moe_ffn if experts else 0, top_k,
                           max(layers - dense_layers, 0) if experts else 0, gated,
                           _first(text, "vocab_size"), block_layout(text))


def layer_activation_bytes(shape: ActivationShape, ffn: int, tokens_in: int, s: int, b: int,
                           flash_attention: bool, score_bytes: int = 5, ffn_kept: int | None = None) -> int:
    """Bytes one block keeps for backward, 16-bit activations, no recomputation.

    Korthikanti et al. 2022, "Reducing Activation Recomputation in Large Transformer Models",
    sec. 4.1: ``s*b*h*(34 + 5*a*s/h)`` for a GPT block (MLP 4h, MHA, dropout). Here the same
    accounting term by term with the model's own widths, 2 bytes per stored element::

        2*s*b*( 2h            two norm inputs (a parallel block: one tensor, h)
              + h             attention input (the norm output)
              + q_dim + kv_dim   Q, K, V for the attention backward (GQA: smaller K, V)
              + out_dim       attention output, the o_proj input
              + tokens_in*h   FFN input (MoE: + one gathered copy per routed expert; one less
                              h where one norm feeds attention and FFN)
              + m*ffn )       FFN intermediates: gated m=4 (gate out, act out, up out, product),
                              plain m=2 (fc1 out, act out)
        + 5*a*s^2*b           attention scores, softmax and dropout (eager attention only;
                              FlashAttention, Dao et al. 2022, recomputes them in backward)

    With MHA, an MLP of 4h and no dropout this is Korthikanti's 34 sbh less the two 1-byte
    dropout masks (32 sbh): LLMs trained with dropout 0 do not store them. ``score_bytes``
    replaces the 5 for other eager attentions (:data:`SOFTCAP_SCORE_BYTES`); ``ffn_kept`` replaces
    ``m`` (Unsloth's fused gated MLP keeps 2, :mod:`.unsloth_kernels`).
    """
    m = ffn_kept or (4 if shape.gated else 2)
    layout = shape.layout
    ffn_inputs = tokens_in - (1 if layout.ffn_reads_attention_input else 0)
    per_token = ((layout.norm_inputs + 1 + ffn_inputs) * shape.hidden + shape.q_dim + shape.kv_dim + shape.out_dim
                 + m * ffn)
    scores = 0 if flash_attention else score_bytes * shape.heads * s * s * b
    return 2 * s * b * per_token + scores


def head_activation_bytes(shape: ActivationShape, s: int, b: int) -> int:
    """Outside the blocks: the final norm's and ``lm_head``'s inputs, 2 x 2sbh (Korthikanti et al.
    2022 sec. 4.1); the logits are :func:`logits_bytes`."""
    return 4 * s * b * shape.hidden




def logits_bytes(shape: ActivationShape, s: int, b: int, logits: str, compiled: bool = False) -> tuple[int, int]:
    """``(kept for backward, extra at the peak)`` bytes of the logits under the profile's loss
    (:mod:`.logits`; ``compiled``: the loss under ``torch.compile``)."""
    kept, extra = logits_per_token(logits, compiled)
    return kept * s * b * shape.vocab, extra * s * b * shape.vocab


def lora_activation_bytes(wrapped: pd.DataFrame | None, dora: bool, s: int, b: int, element: int = 2) -> pd.Series:
    """Bytes the adapters themselves keep for backward, per layer (``-1``: rows outside layers).

    From PEFT's ``lora.Linear.forward``: the input is cast to the adapters' dtype and kept for
    ``lora_A``'s gradient, and ``A @ x`` (width r) for ``lora_B``'s; DoRA's ``forward`` also keeps
    the base output and the LoRA output (width out) for the magnitude's gradient. ``element`` bytes
    each: 2 under bf16 autocast (``Trainer(bf16=True)``) or with bf16 adapters; 4 for fp32
    adapters without autocast::

        per wrapped Linear/Conv1D: element*s*b*(in + r) (+ DoRA element*s*b*2*out)
        per wrapped Embedding:     element*s*b*r

    Fused expert parameters (``target_parameters``) add a weight-sized delta, not counted here.
    """
    if wrapped is None or wrapped.empty:
        return pd.Series(dtype="int64")
    linear = wrapped["kind"].isin(["linear", "conv1d"])
    embedding = wrapped["kind"] == "embedding"
    width = (linear * (wrapped["in_features"] + wrapped["rank"] + 2 * dora * wrapped["out_features"])
             + embedding * wrapped["rank"])
    per_layer = (element * s * b * width).groupby(wrapped["layer"].fillna(-1).astype("int64")).sum()
    return per_layer.astype("int64")


def quantized_input_bytes(shape: ActivationShape, s: int, b: int, lm_head: bool) -> tuple[int, int]:
    """``(per dense block, outside the blocks)``: the inputs old bitsandbytes keeps per quantized linear.

    bitsandbytes <= 0.43 ``MatMul4Bit.forward`` saved ``ctx.tensors = (A, B)``: each quantized
    linear's input A, which for a frozen ``nn.Linear`` autograd would not keep. Distinct inputs per
    block: the attention input (h), ``o_proj``'s input (out), the FFN input (h) and the down
    projection's input (f); ``lm_head``'s input (h) when it is quantized. 2 bytes each (bf16).
    MoE experts (fused 3-D tensors) are not quantized and add nothing.
    """
    per_block = 2 * s * b * (2 * shape.hidden + shape.out_dim + shape.dense_ffn)
    return per_block, 2 * s * b * shape.hidden if lm_head else 0


def previous_step_bytes(config, inventory: pd.DataFrame, settings, profile: TrainingProfile) -> int:
    """What the previous step leaves alive while the next forward runs (``keeps_previous_step``).

    LitGPT's loop (``litgpt/finetune/lora.py`` ``fit``) rebinds ``logits = model(...)`` only when
    the next forward returns, so the previous step's logit list (:data:`PREVIOUS_LOGITS_BYTES`)
    and its autograd graph are still referenced. Backward (``retain_graph=False``) released the
    graph's saved tensors, but not tensors a custom ``autograd.Function`` keeps as ctx attributes:
    bitsandbytes < 0.44 ``MatMul4Bit.forward`` stores ``ctx.tensors = (A, B)``, so every quantized
    linear's input of the previous step (:func:`quantized_input_bytes`, all dense blocks and a
    quantized ``lm_head``) stays too. Counted at the same ``seq_len`` and batch: the worst case,
    when the previous batch was as long as this one.
    """
    if not profile.keeps_previous_step:
        return 0
    shape = activation_shape(config, inventory)
    s, b = settings.seq_len, settings.batch_size
    logits = PREVIOUS_LOGITS_BYTES[profile.logits] * s * b * shape.vocab
    if settings.base_dtype == "bf16" or not profile.bnb_saves_input:
        return logits
    per_block, head = quantized_input_bytes(shape, s, b, profile.quantize_lm_head)
    return logits + (shape.layers - shape.moe_layers) * per_block + head


def adapter_element_bytes(profile: TrainingProfile) -> int:
    """2 under autocast or with bf16 adapters, 4 for fp32 adapters without autocast."""
    return 2 if profile.autocast or profile.adapter_dtype == "bf16" else 4


from .backward import ActivationParts, activation_bytes, activation_parts  # noqa: E402,F401 -- built on the above
