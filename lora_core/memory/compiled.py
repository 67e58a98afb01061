"""What a block keeps under ``torch.compile``, and the buffers a block's backward adds.

Compiled (the ``compile`` knob; torchtune's ``compile_model`` compiles every
``TransformerSelfAttentionLayer``): inductor's partitioner
(``torch/_functorch/partitioners.py`` ``min_cut_rematerialization_partition``) saves the fewest
bytes from which backward can recompute the rest, and recomputes pointwise ops and norms but
never a matmul. Run on a Llama decoder layer (``tests/memory/test_memory_compile.py``), it keeps
per token, 2 bytes each::

    norm_inputs*h        the block input and the residual after attention (a parallel block: one)
    + q + kv + out       Q, K, V after RoPE and SDPA's output (+ its fp32 log-sum-exp per head)
    + m*f                gated FFN: the gate and up outputs (m = 2; SiLU and the product are
                         recomputed); a plain FFN: the first projection's output (m = 1)

and for the adapters only what their weight gradients need that the block does not keep: the
attention input (h) once for any of q/k/v, the FFN input (h) once for gate/up, the down
projection's input (f), nothing for o (recomputed from SDPA's output), and each ``x @ A`` (r).
Eager keeps ``4h + q + kv + out + 4f`` and every adapter's own input (:mod:`.activations`).

QLoRA with torchao compiled: ``linear_nf4``'s ``NF4Tensor`` is flattened and its dequantization
fused into one kernel whose bf16 output the partitioner saves for backward (it does not recompute
the NF4 lookup): run with torchao v0.5.0's ``nf4tensor.py`` under inductor on CPU, the forward
graph returns the dequantized weight among its saved tensors and the backward's matmul reads it.
So a compiled block keeps each of its quantized weights in bf16 (:func:`saved_weight_bytes`),
where eager ``LinearNF4`` keeps only the NF4 tensor and dequantizes again in backward.

Backward's working buffers (:func:`working_bytes`): while a block's FFN is differentiated,
autograd holds the gradient of the down projection's input and, from ``MulBackward``, the
gradients of the activation and of the up output: 3 FFN-wide bf16 tensors for a gated FFN
(``test_memory_compile.py`` tracks the live storages during a layer's backward), 2 for a plain
one; Unsloth's ``LoRA_MLP.backward`` computes ``DW = dY @ down^T`` and then works in place on
``DW``, ``e``, ``g`` (``_backward_function``): 1.
"""

from __future__ import annotations

import pandas as pd

from ..model.taxonomy import CONTAINS

GATED_WORKING, PLAIN_WORKING, FUSED_WORKING = 3, 2, 1
_ATTENTION_INPUT = frozenset({"q", "k", "v"})
_FFN_INPUT = frozenset({"gate", "up"})


def compiled_layer_bytes(shape, ffn: int, s: int, b: int, flash_attention: bool, score_bytes: int = 5) -> int:
    """Bytes one compiled block keeps for backward (see the module's formula)."""
    m = 2 if shape.gated else 1
    per_token = shape.layout.norm_inputs * shape.hidden + shape.q_dim + shape.kv_dim + shape.out_dim + m * ffn
    scores = 0 if flash_attention else score_bytes * shape.heads * s * s * b
    return 2 * s * b * per_token + scores


def _input_key(row) -> tuple[str, int] | None:
    """Which saved input an adapter's ``lora_A`` gradient reads, and its width (``None``: none kept)."""
    held = set(CONTAINS.get(row.role, ()))
    if held and held <= _ATTENTION_INPUT:
        return "attention", int(row.in_features)
    if held and held <= _FFN_INPUT:
        return "ffn", int(row.in_features)
    if held == {"o"}:
        return None
    return f"row{row.Index}", int(row.in_features)


def compiled_adapter_bytes(wrapped: pd.DataFrame | None, s: int, b: int, element: int = 2) -> pd.Series:
    """Bytes the adapters add to a compiled block, per layer (``-1``: rows outside layers).

    ``element*s*b*(distinct inputs + sum of ranks)``; an embedding keeps its ``r``-wide output only.
    """
    if wrapped is None or wrapped.empty:
        return pd.Series(dtype="int64")
    out: dict[int, int] = {}
    for layer, rows in wrapped.groupby(wrapped["layer"].fillna(-1).astype("int64")):
        inputs: dict[str, int] = {}
        for row in rows.itertuples():
            key = None if row.kind == "embedding" else _input_key(row)
            if key:
                inputs[key[0]] = key[1]
        out[int(layer)] = element * s * b * (sum(inputs.values()) + int(rows["rank"].sum()))
    return pd.Series(out, dtype="int64")


def working_bytes(shape, ffn: int, s: int, b: int, fused_mlp: bool = False) -> int:
    """The FFN gradients a block's backward holds at once beside what the block kept (bf16)."""
    width = FUSED_WORKING if fused_mlp else (GATED_WORKING if shape.gated else PLAIN_WORKING)
    return 2 * s * b * width * ffn


def saved_weight_bytes(inventory: pd.DataFrame) -> int:
    """The bf16 weights a compiled torchao QLoRA block saves: 2 x its linears' elements (the largest block)."""
    rows = inventory[(inventory["kind"] == "linear") & inventory["layer"].notna()]
    if rows.empty:
        return 0
    return 2 * int((rows["in_features"] * rows["out_features"]).groupby(rows["layer"]).sum().max())
