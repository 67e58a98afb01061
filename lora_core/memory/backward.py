"""Activation memory through backward: what stays alive the whole time, and the two moments that
can peak (the loss's start, and a block's backward), each from the code that runs them.

Autograd frees a node's saved tensors as soon as the node has run (``retain_graph=False``), so
the logits the loss kept are gone once the loss and ``lm_head`` are differentiated, before any
block is; with checkpointing the recomputed block, and in any case the FFN gradients of a block's
backward (:func:`~lora_core.memory.compiled.working_bytes`), come after. So backward holds
``kept`` throughout and, at its peak, the larger of ``head + logits + the loss's gradients`` and
``block + working`` (:class:`ActivationParts`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pandas as pd

from ..model.text_config import text_config
from .activations import (SOFTCAP_SCORE_BYTES, activation_shape, adapter_element_bytes, head_activation_bytes,
                          layer_activation_bytes, logits_bytes, lora_activation_bytes, quantized_input_bytes)
from .compiled import compiled_adapter_bytes, compiled_layer_bytes, saved_weight_bytes, working_bytes
from .profiles import PROFILES, TrainingProfile
from .unsloth_kernels import FUSED_MLP_KEPT, fused_rows


@dataclass(frozen=True)
class ActivationParts:
    """Activation bytes by when they are alive in backward.

    Attributes:
        kept: alive through the whole backward: every layer input (checkpointing; on the GPU only
            the profile's ``offloaded_resident_layers`` when offloaded) or every block's
            activations (no checkpointing), and the adapters' outside the blocks.
        head: the final norm's and ``lm_head``'s inputs (freed with the loss's part of backward).
        logits: what the loss keeps of the logits (:mod:`.logits`).
        block: the block recomputed for its backward and its adapters' (checkpointing only).
        working: the FFN gradients that block's backward holds at once.
    """

    kept: int
    head: int
    logits: int
    block: int
    working: int

    @property
    def total(self) -> int:
        """Everything kept for backward (the sum the activation test compares with autograd's)."""
        return self.kept + self.head + self.logits + self.block


def activation_parts(config, inventory: pd.DataFrame, settings, wrapped: pd.DataFrame | None = None,
                     dora: bool = False, profile: TrainingProfile | None = None) -> ActivationParts:
    """:class:`ActivationParts` of a step: :func:`~.activations.layer_activation_bytes` over the
    blocks (:func:`~.compiled.compiled_layer_bytes` under ``compile``), the adapters' own
    (:func:`~.activations.lora_activation_bytes`), the norm inputs and the logits the loss keeps.

    With full gradient checkpointing each block keeps only its input (2sbh) and one block's
    activations exist again while it is recomputed in backward (Korthikanti et al. 2022, sec. 4.2;
    Chen et al. 2016). Offloaded checkpointing keeps ``profile.offloaded_resident_layers`` inputs on
    the GPU. Simplifications as in :mod:`.activations`; under ``compile`` MoE blocks keep the eager
    count.
    """
    profile = profile or PROFILES["peft"]
    shape = activation_shape(config, inventory)
    if profile.expands_kv:  # K and V copied to every query head: q_dim + out_dim wide
        shape = replace(shape, kv_dim=shape.q_dim + shape.out_dim)
    s, b = settings.seq_len, settings.batch_size
    flash, score = settings.flash_attention, 5
    if profile.softcap_eager_attention and getattr(text_config(config), "attn_logit_softcapping", None):
        flash, score = False, SOFTCAP_SCORE_BYTES
    ffn_kept, fused_mlp = None, False
    if profile.fused_lora_kernels and wrapped is not None and not wrapped.empty:
        covered, mlp_fused = fused_rows(wrapped)
        wrapped = wrapped[~covered]
        fused_mlp = mlp_fused and shape.gated
        ffn_kept = FUSED_MLP_KEPT if fused_mlp else None
    if profile.compile:
        dense = compiled_layer_bytes(shape, shape.dense_ffn, s, b, flash, score)
        lora = compiled_adapter_bytes(wrapped, s, b, adapter_element_bytes(profile))
        if settings.base_dtype == "nf4" and profile.nf4_library == "torchao":
            dense += saved_weight_bytes(inventory)
    else:
        dense = layer_activation_bytes(shape, shape.dense_ffn, 1, s, b, flash, score, ffn_kept)
        lora = lora_activation_bytes(wrapped, dora, s, b, adapter_element_bytes(profile))
    moe = layer_activation_bytes(shape, shape.moe_ffn, 1 + shape.top_k, s, b, flash, score)
    dense_layers = shape.layers - shape.moe_layers
    outside = int(lora.get(-1, 0))
    in_layers = lora.drop(-1, errors="ignore")
    quantized = settings.base_dtype != "bf16" and profile.bnb_saves_input
    extra_block, extra_head = quantized_input_bytes(shape, s, b, profile.quantize_lm_head) if quantized else (0, 0)
    dense += extra_block
    outside += extra_head
    ffn = max(shape.moe_ffn if shape.moe_layers else 0, shape.dense_ffn if dense_layers else 0)
    working = working_bytes(shape, ffn, s, b, fused_mlp)
    head = head_activation_bytes(shape, s, b)
    logits = logits_bytes(shape, s, b, profile.logits, profile.compiles_loss)[0]
    if settings.gradient_checkpointing:
        biggest = max(moe if shape.moe_layers else 0, dense if dense_layers else 0)
        kept = shape.layers if profile.checkpointing == "plain" else min(shape.layers,
                                                                           profile.offloaded_resident_layers)
        return ActivationParts(kept * 2 * s * b * shape.hidden + outside, head, logits,
                               biggest + int(in_layers.max() if len(in_layers) else 0), working)
    blocks = dense_layers * dense + shape.moe_layers * moe + int(in_layers.sum())
    return ActivationParts(blocks + outside, head, logits, 0, working)


def activation_bytes(config, inventory: pd.DataFrame, settings, wrapped: pd.DataFrame | None = None,
                     dora: bool = False, profile: TrainingProfile | None = None) -> int:
    """Activation memory kept for backward: :attr:`ActivationParts.total` of :func:`activation_parts`."""
    return activation_parts(config, inventory, settings, wrapped, dora, profile).total
