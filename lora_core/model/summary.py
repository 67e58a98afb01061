"""A model at a glance: headline sizes from the config, and layers folded into ranges.

:func:`summarize` reads the (text) config and the inventory once and returns a frozen
:class:`ModelSummary`. :func:`fold_layers` turns per-layer inventory rows into ranges of
identical consecutive layers (``decoder layers 0–31: 7 linear modules each``) so a 126-layer
model reads as one line.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from . import taxonomy as tx
from ..peft_rules import split_layer
from .text_config import text_config

if TYPE_CHECKING:  # folding an inventory needs neither torch nor transformers
    from .skeleton import Skeleton

FOLD_COLUMNS: tuple[str, ...] = (
    "stack", "first_layer", "last_layer", "num_layers", "modules_per_layer",
    "params_per_layer", "kinds", "label", "members",
)
_FFN_GROUPS = ("ffn", "experts")
_INTERMEDIATE_KEYS = ("intermediate_size", "d_ff", "n_inner", "ffn_dim", "encoder_ffn_dim",
                      "ffn_hidden_size", "inner_hidden_size")
_MOE_INTERMEDIATE_KEYS = ("moe_intermediate_size", "expert_intermediate_size")


@dataclass(frozen=True)
class ModelSummary:
    """Headline figures of a model (sizes from its text config, counts from the inventory).

    Attributes:
        model_type: the config's ``model_type`` (``llama``; the outer one for ``llava``).
        auto_class: the transformers auto class the skeleton was built with.
        hidden_size, intermediate_size, num_layers, num_heads, num_kv_heads, vocab_size:
            from ``config.get_text_config()``; ``None`` when the config has no such field.
            ``intermediate_size`` falls back to the FFN's widening linear when the config
            leaves it implicit (GPT-2's ``n_inner=None``).
        moe_intermediate_size: per-expert FFN width for MoE models (Mixtral's experts use
            ``intermediate_size``), else ``None``.
        total_params: every parameter once (tied weights once), the inventory's total.
        num_experts: routed experts per MoE layer, 0 for a dense model.
        attention_modules, ffn_modules: targetable units in attention / FFN (experts included).
        fused_roles: fused roles present, sorted (``('gate_up', 'qkv')`` for Phi-3).
    """

    model_type: str
    auto_class: str
    hidden_size: int | None
    intermediate_size: int | None
    moe_intermediate_size: int | None
    num_layers: int | None
    num_heads: int | None
    num_kv_heads: int | None
    vocab_size: int | None
    total_params: int
    num_experts: int
    attention_modules: int
    ffn_modules: int
    fused_roles: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (tuples become lists)."""
        d = asdict(self)
        d["fused_roles"] = list(self.fused_roles)
        return d


def _first_int(config: Any, keys: tuple[str, ...]) -> int | None:
    """The first of ``keys`` the config sets to an integer: ``(cfg, ('d_ff',)) -> 3072``."""
    for key in keys:
        value = getattr(config, key, None)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def _implicit_intermediate(inventory: pd.DataFrame) -> int | None:
    """The FFN width read from the widest dense up/gate projection of the inventory."""
    up = inventory[(inventory["group"] == "ffn") & inventory["role"].isin(["up", "gate"])]
    return int(up["out_features"].max()) if len(up) else None


def summarize(skel: Skeleton, inventory: pd.DataFrame) -> ModelSummary:
    """Headline figures of ``skel``'s model; ``inventory`` is ``build_inventory(skel)``."""
    text = text_config(skel.config)
    targetable = inventory[inventory["targetable"]]
    heads = _first_int(text, ("num_attention_heads",))
    intermediate = _first_int(text, _INTERMEDIATE_KEYS) or _implicit_intermediate(inventory)
    experts = (targetable["num_experts"].max() if (targetable["group"] == "experts").any() else 0)
    return ModelSummary(
        model_type=skel.config.model_type,
        auto_class=skel.auto_class,
        hidden_size=_first_int(text, ("hidden_size",)),
        intermediate_size=intermediate,
        moe_intermediate_size=(_first_int(text, _MOE_INTERMEDIATE_KEYS) or intermediate) if experts else None,
        num_layers=_first_int(text, ("num_hidden_layers",)),
        num_heads=heads,
        num_kv_heads=_first_int(text, ("num_key_value_heads",)) or heads,
        vocab_size=_first_int(text, ("vocab_size",)),
        total_params=int(inventory["base_params"].sum()),
        num_experts=int(experts),
        attention_modules=int((targetable["group"] == "attention").sum()),
        ffn_modules=int(targetable["group"].isin(_FFN_GROUPS).sum()),
        fused_roles=tuple(sorted(set(targetable["role"]) & tx.FUSED_ROLES)),
    )


def relative_name(name: str) -> str:
    """A row's name below its layer: ``model.layers.7.mlp.up_proj -> 'mlp.up_proj'``."""
    parts = split_layer(name)
    return parts[2][1:] if parts else name


def _signature(layer_rows: pd.DataFrame) -> tuple:
    """What must match for two layers to fold: names below the layer, kinds, roles, shapes."""
    cols = ["rel", "kind", "role", "in_features", "out_features", "num_experts"]
    return tuple(map(tuple, layer_rows[cols].itertuples(index=False)))


def _kinds(layer_rows: pd.DataFrame) -> str:
    """``'7 linear'`` or ``'3 linear, 2 expert-parameter'``: units per layer by kind."""
    counts = layer_rows["kind"].value_counts(sort=False)
    return ", ".join(f"{n} {kind}" for kind, n in counts.items())


def _label(first: int, last: int, kinds: str, n: int) -> str:
    span = f"layer {first}" if first == last else f"layers {first}–{last}"
    noun = "module" if n == 1 else "modules"
    return f"{span}: {kinds} {noun}" + (" each" if last > first else "")


def fold_layers(inventory: pd.DataFrame, targetable_only: bool = True) -> pd.DataFrame:
    """Fold identical consecutive layers of each stack into ranges.

    Pass a slice of the inventory (e.g. attention rows only) to fold just that part.
    Columns: ``stack``, ``first_layer``, ``last_layer``, ``num_layers``, ``modules_per_layer``,
    ``params_per_layer``, ``kinds`` (``'7 linear'``), ``label``
    (``'layers 0–31: 7 linear modules each'``) and ``members`` (names below the layer).

    >>> fold_layers(build_inventory(llama_8b))["label"].tolist()
    ['layers 0–31: 7 linear modules each']
    """
    rows = inventory[inventory["layer"].notna()]
    if targetable_only:
        rows = rows[rows["targetable"]]
    rows = rows.assign(rel=rows["name"].map(relative_name))
    out: list[dict[str, Any]] = []
    for stack, stack_rows in rows.groupby("stack", sort=False):
        out.extend(_fold_stack(str(stack), stack_rows))
    return pd.DataFrame(out, columns=list(FOLD_COLUMNS))


def _fold_stack(stack: str, rows: pd.DataFrame) -> list[dict[str, Any]]:
    """Ranges of one stack, in layer order."""
    ranges: list[dict[str, Any]] = []
    previous: tuple | None = None
    for layer, layer_rows in rows.groupby("layer", sort=True):
        sig = _signature(layer_rows)
        if ranges and sig == previous and int(layer) == ranges[-1]["last_layer"] + 1:
            ranges[-1]["last_layer"] = int(layer)
            continue
        previous = sig
        ranges.append({"stack": stack, "first_layer": int(layer), "last_layer": int(layer),
                       "modules_per_layer": len(layer_rows),
                       "params_per_layer": int(layer_rows["base_params"].sum()),
                       "kinds": _kinds(layer_rows), "members": tuple(layer_rows["rel"])})
    for r in ranges:
        r["num_layers"] = r["last_layer"] - r["first_layer"] + 1
        r["label"] = _label(r["first_layer"], r["last_layer"], r["kinds"], r["modules_per_layer"])
    return ranges

