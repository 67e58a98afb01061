"""Whether a saved adapter's tensors agree with its adapter_config.json on the model.

PEFT saves, per wrapped module, ``base_model.model.<module>.lora_A.weight`` (rank x in) and
``lora_B.weight`` (out x rank), ``lora_embedding_A`` / ``lora_embedding_B`` for embeddings, and for
fused expert parameters (``target_parameters``) ``<experts>[.base_layer...].lora_A.weight`` of
rank x experts rows, one nesting level per parameter. Compared with the units the audit says the
config wraps: units with no tensors, tensors at another rank, tensors for modules it does not name.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import pandas as pd

_KEY = re.compile(r"^(?:base_model\.model\.)?(?P<module>.+?)\.(?P<kind>lora_A|lora_embedding_A|lora_B|"
                  r"lora_embedding_B|lora_magnitude_vector)(?:\.[^.]+)*$")
_PARAM_KINDS = ("expert-parameter", "parameter")


@dataclass(frozen=True)
class TensorCheck:
    """The saved tensors beside the config.

    Attributes:
        saved: modules with LoRA tensors in the file -> rank read from ``lora_A`` (``None`` for expert
            parameters, whose rows are rank x experts).
        missing: units the config wraps that have no tensors.
        other_rank: ``(module, saved rank, config rank)``.
        unnamed: modules with tensors the config does not wrap on this model.
    """

    saved: dict[str, int | None]
    missing: tuple[str, ...]
    other_rank: tuple[tuple[str, int, int], ...]
    unnamed: tuple[str, ...]

    @property
    def agrees(self) -> bool:
        return not (self.missing or self.other_rank or self.unnamed)

    def lines(self) -> list[str]:
        """The disagreements in words (empty when the tensors agree)."""
        out = []
        if self.missing:
            out.append(f"{len(self.missing):,} unit(s) in the config have no saved tensors, e.g. {self.missing[0]}")
        if self.other_rank:
            name, saved, want = self.other_rank[0]
            out.append(f"{len(self.other_rank):,} module(s) saved at another rank than the config says, "
                       f"e.g. {name}: r={saved} saved, r={want} in the config")
        if self.unnamed:
            out.append(f"{len(self.unnamed):,} module(s) have saved tensors the config does not name, "
                       f"e.g. {self.unnamed[0]}")
        return out


def saved_modules(tensors: dict[str, tuple[str, tuple[int, ...]]]) -> dict[str, int | None]:
    """Modules with LoRA tensors -> the rank ``lora_A`` holds (``.base_layer`` nesting folded)."""
    a_ranks: dict[str, list[int | None]] = {}
    for name, (_dtype, shape) in tensors.items():
        m = _KEY.match(name)
        if not m:
            continue
        module = m["module"].replace(".base_layer", "")
        ranks = a_ranks.setdefault(module, [])
        if m["kind"] in ("lora_A", "lora_embedding_A"):
            nested = ".base_layer" in m["module"]  # an expert parameter wrapped under another one
            ranks.append(None if nested or not shape else int(shape[0]))
    return {m: r[0] if len(r) == 1 else None for m, r in a_ranks.items()}


def check(tensors: dict[str, tuple[str, tuple[int, ...]]], rows: pd.DataFrame) -> TensorCheck:
    """Compare the file's tensors with the audit's rows (``name``, ``module``, ``kind``, ``rank``)."""
    saved = saved_modules(tensors)
    expected: dict[str, int | None] = {}
    per_parent = Counter()
    for name, module, kind, rank in zip(rows["name"], rows["module"], rows["kind"], rows["rank"]):
        if kind in _PARAM_KINDS:
            expected[module] = None
            per_parent[module] += 1
        else:
            expected[name] = int(rank)
    for module in per_parent:
        if module in saved:
            saved[module] = None  # expert rows are rank x experts: checked by presence, not rank
    missing = tuple(sorted(set(expected) - {m for m in saved if m in expected}))
    other = tuple((m, saved[m], expected[m]) for m in sorted(set(expected) & set(saved))
                  if expected[m] is not None and saved[m] is not None and saved[m] != expected[m])
    unnamed = tuple(sorted(set(saved) - set(expected)))
    return TensorCheck({k: saved[k] for k in sorted(saved)}, missing, other, unnamed)
