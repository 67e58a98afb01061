"""What Unsloth's fused LoRA kernels keep for backward (``unsloth/kernels/fast_lora.py``).

``FastLlamaModel.patch_peft_model`` (``unsloth/models/llama.py``) swaps a block's forward for its
own autograd functions when every projection of a group carries LoRA, none has a bias and
``lora_dropout`` is 0 (Unsloth's default): gate+up+down -> ``LoRA_MLP``, q+k+v -> ``LoRA_QKV``,
o -> ``LoRA_W``. They save only ``X`` (the group's input, which the block keeps anyway) and, for
the MLP, ``e`` and ``g`` (gate and up outputs): the activation ``h = f(e, g)`` and the down
projection's input are recomputed in backward, and the adapters' own ``X @ A`` are never kept.
So a fused group adds no adapter inputs of its own, and a fused gated MLP keeps 2 FFN-wide
tensors instead of 4.
"""

from __future__ import annotations

import pandas as pd

GROUPS: tuple[frozenset[str], ...] = (frozenset({"gate", "up", "down"}), frozenset({"q", "k", "v"}), frozenset({"o"}))
_MLP = GROUPS[0]
# FFN-wide tensors a fused gated MLP keeps (``e`` and ``g``), against 4 for PEFT's layers.
FUSED_MLP_KEPT = 2


def fused_rows(wrapped: pd.DataFrame) -> tuple[pd.Series, bool]:
    """``(rows a fused kernel covers, every layer's gated MLP is fused)`` for the plan's wrapped rows."""
    covered = pd.Series(False, index=wrapped.index)
    mlp_layers, fused_mlp = set(), set()
    no_bias = wrapped.get("bias_params", pd.Series(0, index=wrapped.index)).fillna(0) == 0
    for layer, rows in wrapped[wrapped["layer"].notna()].groupby("layer"):
        roles = set(rows["role"])
        if roles & _MLP:
            mlp_layers.add(layer)
        for group in GROUPS:
            members = rows[rows["role"].isin(group)]
            if group <= roles and no_bias[members.index].all():
                covered[members.index] = True
                if group == _MLP:
                    fused_mlp.add(layer)
    return covered, bool(fused_mlp) and fused_mlp == mlp_layers
