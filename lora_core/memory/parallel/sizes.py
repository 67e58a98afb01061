"""The model's sizes a parallel engine cares about, read once from the inventory.

``largest_module``: the most parameters one module owns directly (what ZeRO-3 gathers for one
``nn.Module``'s forward; DeepSpeed's ``model_to_params`` computes the same maximum).
``largest_layer`` / ``root``: the parameters of the biggest decoder layer (an FSDP unit under
transformer-based auto-wrap) and of everything outside the layers (FSDP's root unit).
``expert``: parameters of routed experts (MoE), of which a token uses ``top_k / experts``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ...model.text_config import text_config


@dataclass(frozen=True)
class ModelSizes:
    """Parameter counts (elements, not bytes). Example: Llama-3.1-8B has ``total`` 8,030,261,248."""

    total: int
    largest_module: int
    largest_layer: int
    root: int
    expert: int
    experts: int
    top_k: int
    tied_head: int
    layers: int
    hidden: int
    matmul_dense: int = 0

    @property
    def matmul_active(self) -> int:
        """Parameters a token multiplies by: every linear and expert weight (experts at
        ``top_k / experts``), the output head (tied or not), not the input embeddings."""
        return self.matmul_dense + (self.expert * self.top_k // self.experts if self.experts else 0)


def model_sizes(inventory: pd.DataFrame, config) -> ModelSizes:
    """:class:`ModelSizes` from ``build_inventory``'s frame (one pass of vectorized sums)."""
    text = text_config(config)
    params = inventory["base_params"].astype("int64")
    per_module = params.groupby(inventory["module"]).sum()
    layer = inventory["layer"]
    in_layer = layer.notna()
    per_layer = params[in_layer].groupby(layer[in_layer].astype("int64")).sum()
    experts = next((int(getattr(text, k)) for k in ("num_local_experts", "n_routed_experts", "num_experts")
                    if getattr(text, k, None)), 0)
    top_k = int(getattr(text, "num_experts_per_tok", 0) or 0) if experts else 0
    is_expert = inventory["group"].eq("experts") & inventory["kind"].isin(["linear", "expert-parameter"])
    matmul = inventory["kind"].isin(["linear", "conv1d", "expert-parameter"])
    head = inventory[inventory["is_output"].astype(bool)]
    tied = int(head["numel"].sum() - head["base_params"].sum())  # a tied head multiplies too
    return ModelSizes(
        total=int(params.sum()), largest_module=int(per_module.max()) if len(per_module) else 0,
        largest_layer=int(per_layer.max()) if len(per_layer) else 0, root=int(params[~in_layer].sum()),
        expert=int(params[is_expert].sum()), experts=experts, top_k=top_k, tied_head=tied,
        layers=int(per_layer.size), hidden=int(getattr(text, "hidden_size", 0) or getattr(text, "d_model", 0) or 0),
        matmul_dense=int(params[matmul & ~is_expert].sum()) + tied)
