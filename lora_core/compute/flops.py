"""FLOPs per trained token of a LoRA step, term by term, from the model's own shapes.

Per token (a multiply-add is 2 FLOPs; N = parameters a token multiplies by, MoE experts at
``top_k / experts``; T = the adapters' parameters; s the sequence length)::

    forward            2N                 frozen weights (input embeddings are a lookup: excluded)
    attention forward  L*s*(d_qk + d_v)   QK^T and AV, causal (half of the s x s scores)
    backward           2N                 input gradients only: frozen weights get no weight gradient
    attention backward 2 * attention forward
    LoRA               2T forward, 4T backward (input and weight gradients)
    recompute          the forward again under gradient checkpointing

Full fine-tuning would add 2N for the weight gradients (6N in all; Kaplan et al. 2020): LoRA's
step is about 4N, or 6N with recompute (the 2/3 of "LoRA Without Regret"). QLoRA's dequantization
is memory traffic, not FLOPs: :func:`dequant_seconds_per_step`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..memory.parallel.sizes import ModelSizes

# Bytes moved to dequantize one 4-bit weight element for one matmul: read 0.5 (packed) + write 2
# (the bf16 copy ``F.dequantize_4bit`` builds); reading that copy is the matmul's own traffic.
DEQUANT_BYTES_PER_ELEMENT = 2.5


@dataclass(frozen=True)
class TokenFlops:
    """FLOPs per token by term; ``total`` is what the GPU executes, ``model`` leaves out recompute."""

    forward: float
    attention: float
    backward: float
    lora: float
    recompute: float

    @property
    def total(self) -> float:
        return self.forward + self.attention + self.backward + self.lora + self.recompute

    @property
    def model(self) -> float:
        return self.total - self.recompute

    def as_dict(self) -> dict[str, float]:
        return {"forward": self.forward, "attention": self.attention, "backward": self.backward,
                "lora": self.lora, "recompute": self.recompute, "total": self.total}


def attention_dims(config) -> tuple[int, int]:
    """``(query/key width, value width)`` summed over heads, from the text config."""
    from ..model.text_config import text_config
    text = text_config(config)
    h = int(getattr(text, "hidden_size", 0) or getattr(text, "d_model", 0) or 0)
    heads = int(getattr(text, "num_attention_heads", 0) or 1)
    head = int(getattr(text, "head_dim", 0) or (h // heads if heads else 0))
    qk = int(getattr(text, "qk_head_dim", 0) or head)
    v = int(getattr(text, "v_head_dim", 0) or head)
    return heads * qk, heads * v


def token_flops(sizes: ModelSizes, lora_params: int, seq_len: int, checkpointing: bool,
                dims: tuple[int, int]) -> TokenFlops:
    """:class:`TokenFlops` for one token at sequence length ``seq_len``."""
    n = sizes.matmul_active
    attn = sizes.layers * seq_len * (dims[0] + dims[1])
    fwd, lora_fwd = 2.0 * n, 2.0 * lora_params
    return TokenFlops(forward=fwd, attention=3.0 * attn, backward=2.0 * n, lora=3 * lora_fwd,
                      recompute=(fwd + attn + lora_fwd) if checkpointing else 0.0)


def dequant_seconds_per_step(quantized_params: int, checkpointing: bool, bandwidth_gbs: float) -> float:
    """Seconds a step spends dequantizing 4-bit weights: once in the forward, once in the backward
    (``MatMul4Bit.backward``), once more in the recompute; memory-bound at the GPU's bandwidth."""
    passes = 3 if checkpointing else 2
    return passes * quantized_params * DEQUANT_BYTES_PER_ELEMENT / (bandwidth_gbs * 1e9)
