"""The profiles' knob values and what each means (the table the page's select boxes offer).

Example: ``OPTIMIZER_STATE_BYTES["bf16"] == 4`` (AdamW's two moments in the parameters' bf16).
"""

from __future__ import annotations

from typing import Literal

AdapterDtype = Literal["fp32", "bf16"]
Optimizer = Literal["fp32", "bf16", "8bit", "paged_fp32", "paged_8bit"]
Logits = Literal["fp32_full", "bf16_full", "chunked", "chunked_fp32", "fused_inplace", "fused"]
Checkpointing = Literal["plain", "offloaded"]

ADAPTER_DTYPES: tuple[str, ...] = ("fp32", "bf16")
OPTIMIZERS: tuple[str, ...] = ("fp32", "bf16", "8bit", "paged_fp32", "paged_8bit")
LOGITS: tuple[str, ...] = ("fp32_full", "bf16_full", "chunked", "chunked_fp32", "fused_inplace", "fused")
CHECKPOINTING: tuple[str, ...] = ("plain", "offloaded")
NF4_LIBRARIES: tuple[str, ...] = ("bitsandbytes", "torchao")

# Bytes per trainable parameter the optimizer keeps (AdamW: two moments).
OPTIMIZER_STATE_BYTES: dict[str, int] = {"fp32": 8, "bf16": 4, "8bit": 2, "paged_fp32": 8, "paged_8bit": 2}
# Paged states live in CUDA managed memory (bitsandbytes ``get_paged`` -> ``cudaMallocManaged``):
# the PyTorch allocator never sees them, nvidia-smi does.
PAGED: frozenset[str] = frozenset({"paged_fp32", "paged_8bit"})

OPTIMIZER_HELP = {
    "fp32": "AdamW, fp32 moments (8 bytes/param)",
    "bf16": "AdamW on bf16 parameters: bf16 moments (4 bytes/param)",
    "8bit": "bitsandbytes 8-bit AdamW (2 bytes/param)",
    "paged_fp32": "bitsandbytes paged AdamW 32-bit: CUDA managed memory, outside PyTorch's allocator",
    "paged_8bit": "bitsandbytes paged 8-bit AdamW: managed memory, outside PyTorch's allocator",
}
LOGITS_HELP = {
    "fp32_full": "full logits, upcast to fp32 for the loss (transformers ForCausalLMLoss)",
    "bf16_full": "full logits and log-softmax in bf16",
    "chunked": "lm_head and cross-entropy in 128-token chunks; Lightning Fabric returns them as fp32 (LitGPT)",
    "chunked_fp32": "logits in 8 chunks, each upcast to fp32 for the loss (torchtune CEWithChunkedOutputLoss)",
    "fused_inplace": "bf16 logits, gradient written in place by a fused kernel (Unsloth fast_cross_entropy_loss)",
    "fused": "fused linear cross-entropy, no full logits (Cut Cross-Entropy, Liger FLCE)",
}
