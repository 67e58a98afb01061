"""Export a plan as a ``peft.LoraConfig`` that PEFT applies exactly, and as adapter_config.json bytes.

PEFT's matching has traps, so every candidate form is checked with PEFT's own code
(:func:`lora_core.peft_rules.peft_matches`) and the shortest exact one wins (the forms are
built in :mod:`lora_core.planning.export_forms`):

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

import json
from pathlib import Path

import pandas as pd
from peft import LoraConfig

from ..errors import InputError
from ..model.skeleton import Skeleton
from ..peft_rules import param_names, peft_matches
from .export_forms import (form_size, minimal_suffixes, mode, module_candidates, number, patterns, saved_names,
                           wanted_targets)
from .index import PlanIndex
from .plan import Plan
from .resolved import ResolvedPlan, resolve
from .validate import check_fields, validate


def lora_config(resolved: ResolvedPlan, skel: Skeleton, allow_regex: bool = True) -> LoraConfig:
    """The ``LoraConfig`` that makes ``get_peft_model`` wrap exactly the resolved plan's rows.

    The plan must be valid (:func:`lora_core.planning.validate.validate_plan`);
    ``allow_regex=False`` keeps ``target_modules`` a list (SGLang refuses a regex string).

    Raises:
        InputError: PEFT cannot express the plan exactly on this model.
    """
    plan, model = resolved.plan, skel.model
    want = wanted_targets(resolved.rows, model)
    if want.via_weight and (plan.dora or plan.lora_bias):
        raise InputError("dora" if plan.dora else "lora_bias", f"PEFT rewrites target names like "
                         f"'{sorted(want.via_weight)[0].rpartition('.')[2]}' to the routed experts on "
                         f"{model.config.model_type} models, so these linears can only be adapted as "
                         "target_parameters, which DoRA and lora_bias do not support; switch it off or "
                         "leave the FFN out")
    everything = {**want.modules, **want.parameters}
    r = mode([v[0] for v in everything.values()]) if everything else 8
    alpha = mode([v[1] for v in everything.values()]) if everything else 2 * r
    base = dict(
        r=int(r), lora_alpha=number(alpha), use_dora=plan.dora, use_rslora=plan.rslora,
        lora_bias=plan.lora_bias, bias=plan.bias, task_type=skel.task_type,
        modules_to_save=list(plan.modules_to_save) or None,
        target_parameters=minimal_suffixes(want.parameters, [p for p in param_names(model)
                                                             if p not in want.parameters]) or None,
        rank_pattern=patterns(everything, 0, r), alpha_pattern=patterns(everything, 1, alpha),
        **(plan.variant.config_fields() if plan.variant is not None else {}),
    )
    names = [n for n, _ in model.named_modules()]
    if want.modules:
        forms = module_candidates(plan, set(want.modules), saved_names(names, plan.modules_to_save), names,
                                  allow_regex)
    else:
        forms = [{"target_modules": []}]
    for form in sorted(forms, key=form_size):
        config = _try(base | form)
        if config is not None and peft_matches(config, model) == want.as_targets():
            return config
    raise InputError("targets", "PEFT cannot express this plan exactly on this model (no exact "
                     "target_modules form found); simplify the targets")


def to_lora_config(plan: Plan, inventory: pd.DataFrame | PlanIndex, skel: Skeleton,
                   allow_regex: bool = True) -> LoraConfig:
    """:func:`lora_config` for a plan: validated and resolved here (raises :class:`InputError`)."""
    index = inventory if isinstance(inventory, PlanIndex) else PlanIndex(inventory)
    check_fields(plan, index)
    resolved = resolve(plan, index)
    validate(resolved)
    return lora_config(resolved, skel, allow_regex)


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
