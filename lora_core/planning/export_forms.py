"""The candidate forms of a ``LoraConfig`` for a plan's rows, before PEFT checks which is exact.

:mod:`lora_core.planning.export` tries them shortest first; :mod:`lora_core.recipes.forms` offers
them to tools that cannot take every form. Names are split and matched by PEFT's rules
(:mod:`lora_core.peft_rules`).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd
from torch import nn

from ..errors import InputError
from ..model.guards import check_pattern
from ..peft_rules import PeftTargets, in_saved_module, layer_index, rewritten_leaves, split_layer
from .plan import GROUP_KEYS, ROLE_KEYS, Plan

MODULE_KINDS = ("linear", "conv1d", "embedding")
_RESERVED = frozenset(GROUP_KEYS) | frozenset(ROLE_KEYS)


def _suffixes(name: str) -> list[str]:
    """Dotted suffixes, shortest first: ``a.b.c -> ['c', 'b.c', 'a.b.c']``."""
    parts = name.split(".")
    return [".".join(parts[i:]) for i in range(len(parts) - 1, -1, -1)]


def minimal_suffixes(targets: Iterable[str], others: Iterable[str]) -> list[str]:
    """Short list entries that, by PEFT's list rule, match every target and none of ``others``.

    Suffixes starting with a layer number or equal to a plan key (``q``, ``attention``) are
    skipped for readability; the full name is always allowed.

    >>> minimal_suffixes(["h.0.attn.c_proj", "h.1.attn.c_proj"], ["h.0.mlp.c_proj"])
    ['attn.c_proj']
    """
    taken = {s for o in others for s in _suffixes(o)}
    chosen: set[str] = set()
    for t in sorted(set(targets)):
        options = _suffixes(t)
        if any(s in chosen for s in options):
            continue
        ok = [s for s in options[:-1] if s not in taken and s not in _RESERVED and not s[0].isdigit()]
        chosen.add(ok[0] if ok else t)
    return sorted(chosen)


def layer_regex(names: Iterable[str], universe: Iterable[str]) -> str:
    """A ``re.fullmatch`` pattern for exactly ``names``, grouped by template with the layer as an alternation.

    A template present in every layer of ``universe`` uses ``\\d+``.
    """
    by_template: dict[tuple[str, str], set[str]] = {}
    plain: list[str] = []
    for n in names:
        parts = split_layer(n)
        if parts:
            by_template.setdefault((parts[0], parts[2]), set()).add(parts[1])
        else:
            plain.append(re.escape(n))
    present: dict[tuple[str, str], set[str]] = {}
    for n in universe:
        parts = split_layer(n)
        if parts and (parts[0], parts[2]) in by_template:
            present.setdefault((parts[0], parts[2]), set()).add(parts[1])
    grouped: dict[tuple[str, str], list[str]] = {}
    for (pre, post), idx in by_template.items():
        alt = r"\d+" if idx == present[(pre, post)] else "(?:" + "|".join(sorted(idx, key=int)) + ")"
        grouped.setdefault((pre, alt), []).append(re.escape(post))
    parts = [re.escape(pre) + alt + (posts[0] if len(posts) == 1 else "(?:" + "|".join(sorted(posts)) + ")")
             for (pre, alt), posts in sorted(grouped.items())]
    return "|".join(sorted(parts) + sorted(plain))


def number(x: float) -> int | float:
    return int(x) if float(x).is_integer() else float(x)


@dataclass(frozen=True)
class Wanted:
    """What a plan asks PEFT to wrap, keyed as PEFT names them (see :class:`PeftTargets`)."""

    modules: dict[str, tuple[int, float]]
    parameters: dict[str, tuple[int, float]]
    via_weight: frozenset[str]  # linear rows exported as ``<module>.weight`` parameters

    def as_targets(self) -> PeftTargets:
        return PeftTargets(self.modules, self.parameters)


def wanted_targets(rows: pd.DataFrame, model: nn.Module) -> Wanted:
    """Split resolved plan rows into module and parameter targets, as PEFT must name them."""
    is_module = rows["kind"].isin(MODULE_KINDS).to_numpy()
    moved = rewritten_leaves(model, [n.rpartition(".")[2] for n in rows.loc[is_module, "name"]])
    modules, params, via = {}, {}, set()
    for r, mod in zip(rows.itertuples(index=False), is_module):
        ra = (int(r.rank), float(r.alpha))
        if mod and r.name.rpartition(".")[2] not in moved:
            modules[r.name] = ra
        elif mod:
            params[r.name + ".weight"] = ra
            via.add(r.name)
        else:
            params[r.name] = ra
    return Wanted(modules, params, frozenset(via))


def saved_names(names: Iterable[str], modules_to_save: tuple[str, ...]) -> set[str]:
    """The module names inside ``modules_to_save`` modules (LoRA leaves them alone)."""
    return {n for n in names if modules_to_save and in_saved_module(n, modules_to_save)}


def module_candidates(plan: Plan, want: set[str], saved: set[str], names: list[str],
                       allow_regex: bool = True) -> list[dict]:
    """Candidate ``target_modules`` (+ ``layers_to_transform``) forms, to be checked with PEFT.

    With ``layers_to_transform`` a suffix only has to avoid non-targets in the kept layers, and
    rows without a layer (embeddings, heads) are named in full: PEFT skips the layer filter for
    an entry equal to the whole name. (LoraConfig refuses a string with ``layers_to_transform``.)
    """
    others = [n for n in names if n and n not in want and n not in saved]
    cands: list[dict] = [{"target_modules": minimal_suffixes(want, others)}]
    pattern = layer_regex(want, names)
    if allow_regex and _safe(pattern):  # what an import accepts back (lora_core.model.guards)
        cands.append({"target_modules": pattern})
    if plan.layers is None and any(t.key == "all-linear" for t in plan.targets):
        cands.append({"target_modules": "all-linear"})
    layered = [n for n in want if layer_index(n) is not None]
    if plan.layers is not None and layered:
        keep = set(plan.layers)
        near = [n for n in others if layer_index(n) is None or layer_index(n) in keep]
        flat = {n for n in want if layer_index(n) is None}
        cands.append({"target_modules": sorted(set(minimal_suffixes(layered, near)) | flat),
                      "layers_to_transform": list(plan.layers)})
    return cands


def _safe(pattern: str) -> bool:
    try:
        check_pattern(pattern, "target_modules")
    except InputError:
        return False
    return True


def form_size(form: dict) -> int:
    """How long a form is as JSON: the shortest exact one is written."""
    return len(json.dumps(form, sort_keys=True))


def patterns(targets: dict[str, tuple[int, float]], pick: int, default: float) -> dict[str, int | float]:
    """``rank_pattern``/``alpha_pattern`` for names whose value (index ``pick``) is not ``default``."""
    out: dict[str, int | float] = {}
    values = {v[pick] for v in targets.values()} - {default}
    for value in sorted(values):
        group = [n for n, v in targets.items() if v[pick] == value]
        rest = [n for n, v in targets.items() if v[pick] != value]
        for s in minimal_suffixes(group, rest):
            out[re.escape(s)] = number(value)
    return dict(sorted(out.items()))


def mode(values: list) -> float:
    counts = Counter(values)
    return max(sorted(counts), key=lambda v: counts[v])
