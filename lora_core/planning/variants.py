"""LoRA variants of PEFT's ``LoraConfig``: the ones that change what trains are counted exactly,
the ones this tool cannot count are refused with the field named; none is dropped silently.

The variant fields are PEFT's own list: every ``LoraConfig`` field whose metadata says
``is_lora_variant`` (and the ``init_lora_weights`` values its ``lora_variants`` metadata names),
read the same way ``LoraLayer.resolve_lora_variant`` reads them. What each does to the trainable
parameters of a wrapped Linear with input ``in`` and output ``out`` at rank ``r``
(``tuners/lora/variants.py``):

- ``use_dora``: + ``out`` (the magnitude vector; counted by :mod:`lora_core.plan` already).
- ``use_bdlora`` (BD-LoRA): a module whose full name contains a ``target_modules_bd_a`` pattern
  gets a block-diagonal A, ``r * in / nblocks`` instead of ``r * in``; one matching
  ``target_modules_bd_b`` a block-diagonal B, ``out * r / nblocks`` (``BlockDiagonalLinear``).
- ``kasa_config`` (KaSA): + ``r`` (the diagonal ``lora_diag``).
- ``init_lora_weights="mica"`` (MiCA): B is frozen, only A trains: ``r * in``.
- ``velora_config``, ``alora_invocation_tokens``: the same parameters as plain LoRA (VeLoRA
  compresses saved activations, aLoRA changes where the adapter applies).
- ``monteclora_config``, ``arrow_config``: refused (MonteCLoRA's sampler, Arrow's routing over
  other loaded adapters are not counted here).

Outside the variant list, ``layer_replication`` (adds layers), ``trainable_token_indices`` (trains
embedding rows), ``megatron_config`` (Megatron's parallel layers) are refused too.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
from peft import LoraConfig

from ..errors import InputError

_SAME_COUNT = ("velora_config", "alora_invocation_tokens")
_REFUSED = {
    "monteclora_config": "MonteCLoRA adds a Monte Carlo sampler to each LoRA layer, which this tool does not count",
    "arrow_config": "Arrow routes between other loaded LoRA experts at run time; it trains no adapter of its own "
                    "that this tool can count",
    "layer_replication": "it replicates decoder layers, so the model PEFT trains is not this config's model",
    "trainable_token_indices": "it trains selected embedding rows beside the LoRA, which this tool does not count",
    "megatron_config": "it swaps in Megatron's parallel layers, which this tool does not build",
}


def variant_fields() -> dict[str, list[str] | None]:
    """PEFT's variant fields: name -> the ``init_lora_weights`` values that select one, or None."""
    out: dict[str, list[str] | None] = {}
    for f in dataclasses.fields(LoraConfig):
        if f.metadata.get("lora_variants"):
            out[f.name] = list(f.metadata["lora_variants"])
        elif f.metadata.get("is_lora_variant"):
            out[f.name] = None
    return out


def requested(config: LoraConfig) -> list[str]:
    """The variants ``config`` asks for, named as PEFT's resolver names them (``mica``, ``use_bdlora``)."""
    names = []
    for name, values in variant_fields().items():
        if values is None:
            if getattr(config, name, None):
                names.append(name)
        else:
            names += [v for v in values if getattr(config, name, None) == v]
    return names


@dataclass(frozen=True)
class Variant:
    """A counted LoRA variant (DoRA stays a plan flag of its own).

    Attributes:
        kind: ``bdlora``, ``kasa`` or ``mica``.
        bd_a: BD-LoRA patterns whose modules get a block-diagonal A (substring of the full name).
        bd_b: BD-LoRA patterns whose modules get a block-diagonal B.
        nblocks: BD-LoRA's number of blocks.
        match_strict: BD-LoRA: every target must match an A or a B pattern.
        extra: the variant's sub-config as PEFT saves it (``kasa_config``), written back on export.
    """

    kind: str
    bd_a: tuple[str, ...] = ()
    bd_b: tuple[str, ...] = ()
    nblocks: int = 1
    match_strict: bool = True
    extra: tuple[tuple[str, Any], ...] = ()

    def params(self, names: np.ndarray, ranks: np.ndarray, in_f: np.ndarray, out_f: np.ndarray,
               plain: np.ndarray) -> np.ndarray:
        """Trainable parameters per row under this variant (``plain``: r * (in + out) per row)."""
        if self.kind == "kasa":
            return plain + ranks
        if self.kind == "mica":
            return np.where(ranks > 0, ranks * in_f, 0)
        a = np.array([any(p in n for p in self.bd_a) for n in names], dtype=bool)
        b = np.array([any(p in n for p in self.bd_b) for n in names], dtype=bool)
        nb = max(self.nblocks, 1)
        a_part = np.where(a, ranks * in_f // nb, ranks * in_f)
        b_part = np.where(b, ranks * out_f // nb, ranks * out_f)
        return np.where(ranks > 0, a_part + b_part, 0)

    def check_rows(self, names: list[str], ranks: list[int], in_f: list[int], out_f: list[int],
                   linear: list[bool]) -> None:
        """Refuse what PEFT refuses when it builds this variant on these wrapped rows."""
        label = {"bdlora": "use_bdlora", "kasa": "kasa_config", "mica": "init_lora_weights"}[self.kind]
        for n, r, i, o, lin in zip(names, ranks, in_f, out_f, linear):
            if not lin:
                raise InputError(label, f"PEFT builds this variant on Linear layers only, and the adapter "
                                 f"also wraps {n!r}; leave that module out")
            if self.kind != "bdlora":
                continue
            a, b = any(p in n for p in self.bd_a), any(p in n for p in self.bd_b)
            if a and b:
                raise InputError(label, f"PEFT refuses it: Target {n} matches both A and B block-diagonal patterns")
            if self.match_strict and not (a or b):
                raise InputError(label, f"PEFT refuses it: Target {n} matches neither A nor B block-diagonal "
                                 "patterns (set match_strict to false to mix LoRA and BD-LoRA)")
            dims = (i, r) if a else (r, o) if b else ()
            if any(d % self.nblocks for d in dims):
                raise InputError(label, f"PEFT refuses it on {n!r}: in_features={dims[0]} or "
                                 f"out_features={dims[1]} not divisible by {self.nblocks}")

    def config_fields(self) -> dict[str, Any]:
        """The ``LoraConfig`` fields that ask PEFT for this variant."""
        if self.kind == "mica":
            return {"init_lora_weights": "mica"}
        if self.kind == "kasa":
            return {"kasa_config": dict(self.extra)}
        return {"use_bdlora": {"target_modules_bd_a": list(self.bd_a) or None,
                               "target_modules_bd_b": list(self.bd_b) or None,
                               "nblocks": self.nblocks, "match_strict": self.match_strict}}


def from_config(config: LoraConfig, data: dict[str, Any]) -> Variant | None:
    """The counted variant ``config`` asks for (DoRA is a plan flag, not returned here).

    Raises:
        InputError: a field this tool cannot count, or variants PEFT cannot combine.
    """
    for name, why in _REFUSED.items():
        if data.get(name):
            raise InputError(f"adapter_config: {name}", f"{why}; this tool cannot count it exactly, so it "
                             "refuses the file rather than count a plain LoRA")
    asked = requested(config)
    if len(asked) > 1:
        raise InputError("adapter_config", f"asks for several LoRA variants at once ({', '.join(asked)}); "
                         "PEFT applies one variant per layer")
    kind = asked[0] if asked else None
    if kind in (None, "use_dora", *_SAME_COUNT):
        return None
    if kind == "mica":
        return Variant("mica")
    if kind == "kasa_config":
        return Variant("kasa", extra=tuple(sorted(dataclasses.asdict(config.kasa_config).items())))
    if kind == "use_bdlora":
        bd = config.use_bdlora
        return Variant("bdlora", tuple(bd.target_modules_bd_a or ()), tuple(bd.target_modules_bd_b or ()),
                       int(bd.nblocks), bool(bd.match_strict))
    raise InputError(f"adapter_config: {kind}", "is a LoRA variant this tool does not count yet; it refuses "
                     "the file rather than count a plain LoRA")
