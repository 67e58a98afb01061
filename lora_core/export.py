"""Export a plan as a ``peft.LoraConfig`` that PEFT applies exactly, and as adapter_config.json bytes.

PEFT's matching has traps, so every candidate form is checked with PEFT's own code
(:func:`peft_matches`) and the shortest exact one wins:

- ``"all-linear"`` (when the plan says so), a list of shortest suffixes (``["q_proj", "v_proj"]``,
  ``["c_attn", "attn.c_proj"]`` for GPT-2), the same with ``layers_to_transform`` for a layer
  subset (layerless rows such as ``model.embed_tokens`` by full name, which skips the layer
  filter), and a ``re.fullmatch`` regex grouped by template (``model\\.layers\\.(?:0|1)\\.(?:...)``);
- fused expert parameters go to ``target_parameters`` (suffix match, no layer filter, so a layer
  subset is written as ``layers.3.mlp.experts.gate_up_proj``);
- on MoE families PEFT rewrites (``_convert_peft_config_moe``: DeepSeek-V3, Qwen3-MoE, ...), any
  ``target_modules`` entry ending in ``gate_proj``/``up_proj``/``down_proj``/``gate`` is moved to
  the routed experts (rank doubled). Dense and shared-expert linears with those names are therefore
  exported as ``target_parameters`` on their ``.weight`` (PEFT's ``ParamWrapper``, same count
  r*(in+out)); DoRA and ``lora_bias`` are refused there, as PEFT refuses them;
- ranks and alphas other than the most common go to ``rank_pattern``/``alpha_pattern`` keyed by
  escaped suffixes that separate the targeted names exactly (so PEFT's first-match rule is moot).
"""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from peft import LoraConfig
from peft.import_utils import is_transformers_ge_v5
from peft.tuners.tuners_utils import (_find_minimal_target_modules, _maybe_include_all_linear_layers,
                                      check_target_module_exists)
from peft.utils.constants import (MIN_TARGET_MODULES_FOR_OPTIMIZATION,
                                  TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING)
from peft.utils.other import get_pattern_key
from torch import nn

from .errors import InputError
from .guards import check_pattern
from .plan import GROUP_KEYS, ROLE_KEYS, Plan, PlanIndex, resolve_plan, validate_plan
from .skeleton import Skeleton

MODULE_KINDS = ("linear", "conv1d", "embedding")
_RESERVED = frozenset(GROUP_KEYS) | frozenset(ROLE_KEYS)
_LAYER_SPLIT = re.compile(r"(?P<pre>.*?\.[^.]*\.)(?P<idx>\d+)(?P<post>\..*|$)")


@dataclass(frozen=True)
class PeftTargets:
    """What PEFT wraps for a config on a model: full name -> (rank, alpha).

    ``modules`` are LoRA layers by module name; ``parameters`` are ``ParamWrapper`` targets as
    ``module.param``.
    """

    modules: dict[str, tuple[int, float]]
    parameters: dict[str, tuple[int, float]]


# ---------------------------------------------------------------- PEFT's own matching, replayed


def convert_like_peft(config: LoraConfig, model: nn.Module) -> LoraConfig:
    """A copy of ``config`` as ``inject_adapter`` rewrites it before matching (MoE, defaults, all-linear).

    Raises ``ValueError`` as PEFT does (e.g. one half of a fused expert pair).
    """
    from peft.utils.transformers_weight_conversion import convert_peft_config_for_transformers

    cfg = copy.deepcopy(config)
    if is_transformers_ge_v5 and hasattr(getattr(model, "config", None), "model_type"):
        convert_peft_config_for_transformers(cfg, model=model, conversions=None)
    if cfg.target_modules is None:
        default = TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING.get(model.config.model_type)
        if default is not None:
            cfg.target_modules = default if isinstance(default, str) else set(default)
    cfg = _maybe_include_all_linear_layers(cfg, model)
    names = [n for n, _ in model.named_modules()]
    tm = cfg.target_modules
    if isinstance(tm, (list, set)) and len(tm) >= MIN_TARGET_MODULES_FOR_OPTIMIZATION:
        suffixes = tuple("." + s for s in tm)
        others = [n for n in names if n not in tm and not n.endswith(suffixes)]
        smaller = _find_minimal_target_modules(tm, others)
        if len(smaller) < len(tm):
            cfg.target_modules = smaller
    return cfg


def _rank_alpha(cfg: LoraConfig, key: str) -> tuple[int, float]:
    r = cfg.rank_pattern.get(get_pattern_key(list(cfg.rank_pattern), key), cfg.r)
    a = cfg.alpha_pattern.get(get_pattern_key(list(cfg.alpha_pattern), key), cfg.lora_alpha)
    return int(r), float(a)


def param_names(model: nn.Module) -> list[str]:
    """Every ``module.param`` name as PEFT's ``target_parameters`` sees them."""
    return [f"{m}.{p}" for m, mod in model.named_modules() for p, _ in mod.named_parameters(recurse=False)]


def peft_matches(config: LoraConfig, model: nn.Module) -> PeftTargets:
    """What ``get_peft_model(model, config)`` would wrap, by PEFT's own functions, without wrapping."""
    cfg = convert_like_peft(config, model)
    modules = {}
    if cfg.target_modules is not None:
        for name, _ in model.named_modules():
            if name and check_target_module_exists(cfg, name):
                modules[name] = _rank_alpha(cfg, name)
    params = {}
    wanted = sorted(set(cfg.target_parameters or ()))
    if wanted:
        for key in param_names(model):
            if key in wanted or any(key.endswith("." + t) for t in wanted):
                params[key] = _rank_alpha(cfg, key)
    return PeftTargets(modules, params)


# ---------------------------------------------------------------- small pure helpers


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
        m = _LAYER_SPLIT.fullmatch(n)
        if m:
            by_template.setdefault((m["pre"], m["post"]), set()).add(m["idx"])
        else:
            plain.append(re.escape(n))
    present: dict[tuple[str, str], set[str]] = {}
    for n in universe:
        m = _LAYER_SPLIT.fullmatch(n)
        if m and (m["pre"], m["post"]) in by_template:
            present.setdefault((m["pre"], m["post"]), set()).add(m["idx"])
    grouped: dict[tuple[str, str], list[str]] = {}
    for (pre, post), idx in by_template.items():
        alt = r"\d+" if idx == present[(pre, post)] else "(?:" + "|".join(sorted(idx, key=int)) + ")"
        grouped.setdefault((pre, alt), []).append(re.escape(post))
    parts = [re.escape(pre) + alt + (posts[0] if len(posts) == 1 else "(?:" + "|".join(sorted(posts)) + ")")
             for (pre, alt), posts in sorted(grouped.items())]
    return "|".join(sorted(parts) + sorted(plain))


def rewritten_leaves(model: nn.Module, leaves: Iterable[str]) -> set[str]:
    """Leaf names that PEFT's MoE conversion moves out of ``target_modules`` on this model."""
    out = set()
    for leaf in set(leaves):
        probe = LoraConfig(target_modules=[leaf])
        try:
            cfg = convert_like_peft(probe, model)
        except ValueError:
            out.add(leaf)
            continue
        if cfg.target_modules != {leaf} or cfg.target_parameters:
            out.add(leaf)
    return out


def _number(x: float) -> int | float:
    return int(x) if float(x).is_integer() else float(x)


# ---------------------------------------------------------------- from plan rows to a config


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


def _module_candidates(plan: Plan, want: set[str], saved: set[str], names: list[str],
                       allow_regex: bool = True) -> list[dict]:
    """Candidate ``target_modules`` (+ ``layers_to_transform``) forms, to be checked with PEFT.

    With ``layers_to_transform`` a suffix only has to avoid non-targets in the kept layers, and
    rows without a layer (embeddings, heads) are named in full: PEFT skips the layer filter for
    an entry equal to the whole name. (LoraConfig refuses a string with ``layers_to_transform``.)
    """
    others = [n for n in names if n and n not in want and n not in saved]
    cands: list[dict] = [{"target_modules": minimal_suffixes(want, others)}]
    pattern = layer_regex(want, names)
    if allow_regex and _safe(pattern):  # what an import accepts back (lora_core.guards)
        cands.append({"target_modules": pattern})
    if plan.layers is None and any(t.key == "all-linear" for t in plan.targets):
        cands.append({"target_modules": "all-linear"})
    layered = [n for n in want if _layer_of(n) is not None]
    if plan.layers is not None and layered:
        keep = set(plan.layers)
        near = [n for n in others if _layer_of(n) is None or _layer_of(n) in keep]
        flat = {n for n in want if _layer_of(n) is None}
        cands.append({"target_modules": sorted(set(minimal_suffixes(layered, near)) | flat),
                      "layers_to_transform": list(plan.layers)})
    return cands


def _safe(pattern: str) -> bool:
    try:
        check_pattern(pattern, "target_modules")
    except InputError:
        return False
    return True


def _layer_of(name: str) -> int | None:
    m = _LAYER_SPLIT.match(name + ".")
    return int(m["idx"]) if m else None


def _size(form: dict) -> int:
    return len(json.dumps(form, sort_keys=True))


def _patterns(targets: dict[str, tuple[int, float]], pick: int, default: float) -> dict[str, int | float]:
    """``rank_pattern``/``alpha_pattern`` for names whose value (index ``pick``) is not ``default``."""
    out: dict[str, int | float] = {}
    values = {v[pick] for v in targets.values()} - {default}
    for value in sorted(values):
        group = [n for n, v in targets.items() if v[pick] == value]
        rest = [n for n, v in targets.items() if v[pick] != value]
        for s in minimal_suffixes(group, rest):
            out[re.escape(s)] = _number(value)
    return dict(sorted(out.items()))


def _mode(values: list) -> float:
    counts = Counter(values)
    return max(sorted(counts), key=lambda v: counts[v])


def to_lora_config(plan: Plan, inventory: pd.DataFrame, skel: Skeleton, allow_regex: bool = True) -> LoraConfig:
    """The ``LoraConfig`` that makes ``get_peft_model`` wrap exactly ``resolve_plan``'s rows.

    ``allow_regex=False`` keeps ``target_modules`` a list (SGLang refuses a regex string).

    Raises:
        InputError: the plan is invalid, or PEFT cannot express it exactly on this model.
    """
    index = PlanIndex(inventory)
    validate_plan(plan, index)
    rows = resolve_plan(plan, index)
    model = skel.model
    want = wanted_targets(rows, model)
    if want.via_weight and (plan.dora or plan.lora_bias):
        raise InputError("dora" if plan.dora else "lora_bias", f"PEFT rewrites target names like "
                         f"'{sorted(want.via_weight)[0].rpartition('.')[2]}' to the routed experts on "
                         f"{model.config.model_type} models, so these linears can only be adapted as "
                         "target_parameters, which DoRA and lora_bias do not support; switch it off or "
                         "leave the FFN out")
    everything = {**want.modules, **want.parameters}
    r = _mode([v[0] for v in everything.values()]) if everything else 8
    alpha = _mode([v[1] for v in everything.values()]) if everything else 2 * r
    base = dict(
        r=int(r), lora_alpha=_number(alpha), use_dora=plan.dora, use_rslora=plan.rslora,
        lora_bias=plan.lora_bias, bias=plan.bias, task_type=skel.task_type,
        modules_to_save=list(plan.modules_to_save) or None,
        target_parameters=minimal_suffixes(want.parameters, [p for p in param_names(model)
                                                             if p not in want.parameters]) or None,
        rank_pattern=_patterns(everything, 0, r), alpha_pattern=_patterns(everything, 1, alpha),
        **(plan.variant.config_fields() if plan.variant is not None else {}),
    )
    names = [n for n, _ in model.named_modules()]
    saved = {n for n in names if plan.modules_to_save and
             any(re.match(rf"(^|.*\.){re.escape(m)}($|\..*)", n) for m in plan.modules_to_save)}
    if want.modules:
        forms = _module_candidates(plan, set(want.modules), saved, names, allow_regex)
    else:
        forms = [{"target_modules": []}]
    for form in sorted(forms, key=_size):
        config = _try(base | form)
        if config is not None and peft_matches(config, model) == want.as_targets():
            return config
    raise InputError("targets", "PEFT cannot express this plan exactly on this model (no exact "
                     "target_modules form found); simplify the targets")


def _try(kwargs: dict) -> LoraConfig | None:
    """A LoraConfig from ``kwargs``, or ``None`` when PEFT rejects the combination."""
    try:
        return LoraConfig(**kwargs)
    except (ValueError, TypeError):
        return None


def config_dict(config: LoraConfig) -> dict:
    """``config`` as adapter_config.json holds it: ``to_dict()`` with sets as sorted lists."""
    def clean(v):
        if isinstance(v, (set, frozenset)):
            return sorted(v)
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        return v.value if hasattr(v, "value") and isinstance(v, str) else v
    return clean(config.to_dict())


def adapter_config_bytes(plan: Plan, inventory: pd.DataFrame, skel: Skeleton) -> bytes:
    """Deterministic adapter_config.json bytes for ``plan`` (indent 2, sorted keys, trailing newline)."""
    return config_bytes(to_lora_config(plan, inventory, skel))


def config_bytes(config: LoraConfig) -> bytes:
    """Deterministic JSON bytes of a LoraConfig."""
    return (json.dumps(config_dict(config), indent=2, sort_keys=True) + "\n").encode("utf-8")


def write_adapter_config(path: str | Path, plan: Plan, inventory: pd.DataFrame, skel: Skeleton) -> Path:
    """Write ``adapter_config.json`` for ``plan`` to ``path`` (a file, or a folder to put it in)."""
    p = Path(path)
    if p.is_dir():
        p = p / "adapter_config.json"
    p.write_bytes(adapter_config_bytes(plan, inventory, skel))
    return p
