"""The loss's logits: bytes per logit (``s*b*V`` elements) kept for backward, alive at the peak,
when the forward returns and from the previous step, by the profile's ``logits`` knob.

Eager (:data:`LOGITS_BYTES`):

- ``fp32_full``: transformers upcasts bf16 logits to fp32 (4) and ``cross_entropy`` keeps its fp32
  log-softmax (4); at the start of backward nll_loss's gradient (4) and log_softmax's (4) exist
  beside the saved output: +8. ``bf16_full``: the same in bf16: 2 kept, +4.
- ``chunked`` (LitGPT): Lightning Fabric's ``_FabricModule.forward`` ends with
  ``precision.convert_output``, which casts the bf16 logit chunks to the default dtype, fp32; the
  loop keeps that fp32 list (4) and each chunk's ``cross_entropy`` its fp32 log-softmax (4);
  gradients are one 128-token chunk at a time: +0.
- ``chunked_fp32`` (torchtune ``CEWithChunkedOutputLoss.compute_cross_entropy``:
  ``F.cross_entropy(logits.float(), ...)`` per chunk): fp32 log-softmax of every chunk kept (4);
  the bf16 logits (2) live until the loss is computed: +2.
- ``fused_inplace`` (Unsloth): bf16 logits kept, the gradient overwrites them: 2, +0.
  ``fused`` (CCE / Liger): no full logits.

Compiled (:data:`COMPILED_LOGITS_BYTES`, the ``compile`` knob: torchtune's ``compile_loss``
compiles ``compute_cross_entropy``, or the whole loss): inductor's min-cut partitioner
(``torch/_functorch/partitioners.py`` ``min_cut_rematerialization_partition``) saves the loss's
bf16 input and two fp32 values per row (max and log-sum-exp) and recomputes the upcast and the
softmax in backward: 2 bytes per logit, whatever the loss upcasts inside
(``tests/memory/test_memory_compile.py`` runs it on CPU). The gradient is then one bf16 tensor the
size of the loss's input: a chunk (+0) or the full logits (+2).
"""

from __future__ import annotations

LOGITS_BYTES: dict[str, tuple[int, int]] = {"fp32_full": (4, 8), "bf16_full": (2, 4), "chunked": (8, 0),
                                            "chunked_fp32": (4, 2), "fused_inplace": (2, 0), "fused": (0, 0)}
COMPILED_LOGITS_BYTES: dict[str, tuple[int, int]] = {**LOGITS_BYTES, "fp32_full": (2, 2), "bf16_full": (2, 2),
                                                     "chunked_fp32": (2, 0)}
# Bytes per logit alive when the forward returns, before the loss: chunked, the bf16 chunks (2) and
# their fp32 copies (4) while ``convert_output`` builds the new list; the others hold at most what
# they keep for backward.
LOGITS_FORWARD_BYTES: dict[str, int] = {"fp32_full": 2, "bf16_full": 2, "chunked": 6, "chunked_fp32": 2,
                                        "fused_inplace": 2, "fused": 0}
# Bytes per logit of the model output a loop holds from the previous step (keeps_previous_step):
# chunked, Fabric's fp32 list; otherwise the model's bf16 logits.
PREVIOUS_LOGITS_BYTES: dict[str, int] = {"fp32_full": 2, "bf16_full": 2, "chunked": 4, "chunked_fp32": 2,
                                         "fused_inplace": 2, "fused": 0}


def logits_per_token(logits: str, compiled: bool = False) -> tuple[int, int]:
    """``(kept for backward, extra at the peak)`` bytes per logit, e.g. ``("chunked_fp32", True) -> (2, 0)``."""
    return (COMPILED_LOGITS_BYTES if compiled else LOGITS_BYTES)[logits]
