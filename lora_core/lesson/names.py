"""The module names of a model, one row per kind of unit, beside what a substring check finds.

The seed's inspect script lists ``named_modules()`` whose name contains ``q_proj`` or ``v_proj``
(attention) or ``gate_proj``, ``up_proj``, ``down_proj`` (FFN). That misses other naming schemes
(``query``, ``c_attn``), MLA's ``q_a_proj``, experts stored as parameters, and it takes
``qkv_proj`` for a V module (``"v_proj" in "qkv_proj"``). :func:`names_table` shows both.

>>> substring_finds("model.layers.0.self_attn.qkv_proj")
'attention'
"""

from __future__ import annotations

import pandas as pd

SEED_ATTENTION = ("q_proj", "v_proj")
SEED_FFN = ("gate_proj", "up_proj", "down_proj")
COLUMNS = ("group", "role", "holds", "module", "kind", "shape", "units", "substring_finds", "verdict")
_KIND_WORDS = {"linear": "Linear", "conv1d": "Conv1D", "expert-parameter": "expert tensor", "parameter": "parameter",
               "embedding": "Embedding"}


def substring_finds(module_name: str) -> str | None:
    """What the seed's check calls a module: ``'attention'``, ``'ffn'`` or ``None``."""
    if any(s in module_name for s in SEED_ATTENTION):
        return "attention"
    if any(s in module_name for s in SEED_FFN):
        return "ffn"
    return None


def _verdict(group: str, role: str, holds: str, kind: str, found: str | None) -> str:
    if kind in ("expert-parameter", "parameter"):
        return "missed: a parameter, not a module" if found is None else "found its module, not the tensor"
    qv = set(holds.split("+")) & {"q", "v"}
    want = "attention" if group == "attention" and qv else "ffn" if group in ("ffn", "experts") else None
    if found == want:
        if want is None or len(holds.split("+")) == 1:
            return "right"
        return f"found, but fused: {holds.replace('+', ', ')} come together"
    if found is None:
        return "missed"
    return "wrong list" if want else "found, but it is not Q/V or an FFN linear"


def names_table(inventory: pd.DataFrame) -> pd.DataFrame:
    """One row per (group, role, leaf name, kind, shape) of the model's targetable units in
    layers. Columns: :data:`COLUMNS`; ``units`` counts them over the model, ``substring_finds``
    is what the seed's check lists the unit's module under, ``verdict`` whether that is right."""
    inv = inventory[inventory["targetable"] & inventory["layer"].notna()
                    & inventory["kind"].isin(list(_KIND_WORDS))]
    inv = inv[inv["group"].isin(["attention", "ffn", "experts", "router", "linear-attention", "ssm"])]
    rows: dict[tuple, dict] = {}
    for r in inv.itertuples(index=False):
        leaf = r.name.rpartition(".")[2] if r.kind not in ("expert-parameter", "parameter") \
            else ".".join(r.name.split(".")[-2:])
        experts = f"{r.num_experts} × " if r.num_experts > 1 else ""
        shape = f"{experts}{r.in_features} → {r.out_features}"
        key = (r.group, r.role, r.contains, leaf, r.kind, shape)
        found = substring_finds(r.module)
        if key not in rows:
            rows[key] = dict(group=r.group, role=r.role, holds=r.contains or "", module=leaf,
                             kind=_KIND_WORDS[r.kind], shape=shape, units=0, substring_finds=found or "—",
                             verdict=_verdict(r.group, r.role, r.contains or "", r.kind, found))
        rows[key]["units"] += 1
    return pd.DataFrame(list(rows.values()), columns=list(COLUMNS))


def substring_counts(inventory: pd.DataFrame) -> dict[str, int]:
    """How many ``named_modules()`` the seed's check lists as attention and as FFN."""
    modules = inventory["module"].drop_duplicates()
    found = modules.map(substring_finds)
    return {"attention": int((found == "attention").sum()), "ffn": int((found == "ffn").sum())}
