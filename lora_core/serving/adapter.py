"""One description of an adapter that every engine's rules read: config, tensors, architecture.

:func:`describe` builds it from a plan on a model; the exported ``adapter_config.json`` dict is
optional (the Targets page badges judge the plan without exporting). :func:`peft_tensors` gives
the tensor names and shapes ``peft.get_peft_model_state_dict`` saves for the plan, in closed form
(checked against PEFT on the meta model in ``tests/serving/test_serving.py``):

- a wrapped Linear/Conv1D ``m``: ``m.lora_A.weight (r, in)``, ``m.lora_B.weight (out, r)``, with
  DoRA ``m.lora_magnitude_vector (out,)``, with ``lora_bias`` ``m.lora_B.bias (out,)``;
- an Embedding: ``m.lora_embedding_A (r, vocab)``, ``m.lora_embedding_B (dim, r)``, and, when the
  config names ``embed_tokens``/``lm_head``, full ``base_layer.weight`` copies of the wrapped
  input/output embeddings (PEFT's ``save_embedding_layers="auto"``);
- parameters (``target_parameters``: fused experts, routers): ``module.lora_A.weight
  (r*E, in)``/``lora_B.weight (out, r*E)``; several on one module nest, the first parameter of the
  module innermost (``experts.base_layer.lora_A`` is ``gate_up_proj`` when ``down_proj`` is also adapted);
- ``modules_to_save`` ``m``: ``m.weight`` (and ``m.bias``) in full;
- LoRA variants (:mod:`lora_core.planning.variants`): BD-LoRA's block-diagonal factor as its stacked blocks,
  ``m.lora_A.weight (r, in / nblocks)`` or ``m.lora_B.weight (out, r / nblocks)``; KaSA's
  ``m.lora_diag (r,)``; MiCA the same tensors as LoRA.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from ..peft_rules import matches_any_entry, matches_pattern
from ..planning import Plan, PlanIndex, ResolvedPlan, resolve
from ..model.text_config import text_config
from .units import ModelUnits, UnitArrays, layer_units, unit_arrays  # noqa: F401 (layer_units: re-exported)

PREFIX = "base_model.model."


@dataclass(frozen=True)
class ModelFacts:
    """What the engines read from the base model's config.

    Attributes:
        arch: ``architectures[0]`` (``LlamaForCausalLM``), ``""`` when the config names none.
        model_type: the config's ``model_type``; for a vision-language model, of the text model too.
        vocab_size: vocabulary of the language model.
        is_vlm: the model has a vision tower or projector.
        mlp_only_layers: Qwen-MoE dense MLP layers or shared experts (vLLM then accepts gate/up_proj).
        head_dim_unset: the text config has ``head_dim = None`` (transformers 5 when config.json omits it).
        config: the transformers config itself (for rules that build what an engine builds from it).
    """

    arch: str
    model_type: str
    text_model_type: str
    vocab_size: int
    is_vlm: bool
    mlp_only_layers: bool = False
    head_dim_unset: bool = False
    config: object = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Adapter:
    """An adapter as the engines see it.

    Attributes:
        units: the plan's wrapped rows (``resolve_plan`` columns: name, module, param, kind, stack,
            layer, group, role, rank, alpha, in_features, out_features, num_experts, lora_params).
        plan: the plan (DoRA, rsLoRA, lora_bias, bias, modules_to_save).
        saved: ``modules_to_save`` copies: module name -> parameters copied.
        saved_tensors: the tensors of those copies, name (with PEFT's prefix) -> shape.
        trainable: the plan's trainable count (PEFT's figure).
        model: the base model's facts.
        config: the exported adapter_config.json dict, or ``None`` when judged from the plan alone.
        layer_units: per (module template, kind) the layers a unit type exists in, over the model.
        task_type: the task the model was built for (PEFT's ``task_type``), written by the export.
        u: the units as arrays (:class:`~lora_core.serving.units.UnitArrays`), which the rules read.
    """

    units: pd.DataFrame = field(repr=False)
    plan: Plan
    saved: dict[str, int]
    saved_tensors: dict[str, tuple[int, ...]]
    trainable: int
    model: ModelFacts
    config: dict | None = None
    layer_units: dict[str, frozenset[int]] = field(default_factory=dict, repr=False)
    task_type: str | None = None
    u: UnitArrays | None = field(default=None, repr=False)

    # ---- facts every engine reads, from the config when there is one, else from the plan
    def cfg(self, key: str, default=None):
        """A config field (``None`` config: what the export will write, derived from the plan)."""
        if self.config is not None:
            return self.config.get(key, default)
        return self._derived.get(key, default)

    @cached_property
    def _derived(self) -> dict:
        ranks, alphas = self.u.rank.tolist(), self.u.alpha.tolist()
        r = _mode(ranks) if ranks else 8
        a = _mode(alphas) if alphas else 2 * r
        return {"r": int(r), "lora_alpha": a, "use_dora": self.plan.dora, "use_rslora": self.plan.rslora,
                "lora_bias": self.plan.lora_bias, "bias": self.plan.bias, "peft_type": "LORA",
                "modules_to_save": list(self.plan.modules_to_save) or None,
                "rank_pattern": {"(derived)": int(x) for x in set(ranks) - {r}},
                "alpha_pattern": {"(derived)": x for x in set(alphas) - {a}},
                "target_modules": None if self.empty else "(plan)", "task_type": self.task_type,
                **(self.plan.variant.config_fields() if self.plan.variant is not None else {})}

    @property
    def max_rank(self) -> int:
        """The largest rank of any unit (vLLM: ``max(r, *rank_pattern.values())``)."""
        return int(self.u.rank.max()) if len(self.u.rank) else int(self.cfg("r", 0) or 0)

    @property
    def empty(self) -> bool:
        """No unit is wrapped."""
        return len(self.u.pos) == 0

    def where(self, mask: np.ndarray | pd.Series) -> tuple[tuple[str, ...], int]:
        """Names and LoRA parameters of the units under ``mask``."""
        m = np.asarray(mask, dtype=bool)
        return tuple(self.u.name[m]), int(self.u.params[m].sum())

    @cached_property
    def leaves(self) -> pd.Series:
        """Leaf module name per unit (``q_proj``; ``experts`` for a fused expert parameter)."""
        return pd.Series(self.u.leaf_names(), index=self.units.index, dtype=object)

    def leaf(self) -> pd.Series:
        return self.leaves

    @cached_property
    def templates(self) -> pd.Series:
        """Per unit, its name with the layer number as ``{i}`` (``model.layers.{i}.self_attn.q_proj``)."""
        return pd.Series(self.u.model.templates[self.u.template], index=self.units.index, dtype=object)

    def in_vision(self) -> pd.Series:
        return pd.Series(self.u.vision, index=self.units.index)


def _mode(values: list):
    counts = Counter(values)
    return max(sorted(counts), key=lambda v: counts[v])


def model_facts(config) -> ModelFacts:
    """Facts of a transformers config (``PretrainedConfig``)."""
    text = text_config(config) if hasattr(config, "get_text_config") else config
    archs = getattr(config, "architectures", None) or [""]
    vision = getattr(config, "vision_config", None) is not None
    return ModelFacts(archs[0], config.model_type, getattr(text, "model_type", config.model_type),
                      int(getattr(text, "vocab_size", 0) or 0), vision,
                      bool(getattr(text, "mlp_only_layers", None) or getattr(text, "shared_expert_intermediate_size", 0)),
                      hasattr(text, "head_dim") and getattr(text, "head_dim") is None, config)


def describe(plan: Plan, index: PlanIndex, config, exported: dict | None = None,
             units: ModelUnits | None = None) -> Adapter:
    """The adapter a plan produces on a model (``config``: the model's transformers config)."""
    return adapter_of(resolve(plan, index), config, exported, units)


def adapter_of(resolved: ResolvedPlan, config, exported: dict | None = None,
               units: ModelUnits | None = None) -> Adapter:
    """The adapter of a resolved plan (see :func:`describe`; ``units``: the model's
    :func:`~lora_core.serving.units.model_units`, found from the index when not given)."""
    plan, index = resolved.plan, resolved.index
    arrays = unit_arrays(resolved, units)
    inv = index.inventory
    saved_mask = resolved.saved
    saved: dict[str, int] = {}
    saved_tensors: dict[str, tuple[int, ...]] = {}
    if saved_mask.any():
        rows = inv.loc[saved_mask]
        heads = tuple(sorted({n.split(".")[0] for n in inv.loc[index.task_saved, "name"]}))  # saved for the task
        roots = pd.Series([_saved_root(n, plan.modules_to_save + heads) for n in rows["name"]], index=rows.index,
                          dtype=object)
        saved = {str(m): int(g.sum()) for m, g in rows["numel"].groupby(roots)}
        saved_tensors = _saved_tensors(rows)
    return Adapter(resolved.rows, plan, saved, saved_tensors, resolved.count.trainable, model_facts(config), exported,
                   arrays.model.layer_units, index.task_type, arrays)


def _saved_tensors(rows: pd.DataFrame) -> dict[str, tuple[int, ...]]:
    out: dict[str, tuple[int, ...]] = {}
    for row in rows.itertuples(index=False):
        if row.kind == "embedding":
            out[f"{PREFIX}{row.name}.weight"] = (int(row.in_features), int(row.out_features))
        elif row.kind in ("linear", "conv1d"):
            shape = (int(row.out_features), int(row.in_features))
            out[f"{PREFIX}{row.name}.weight"] = shape if row.kind == "linear" else shape[::-1]
            if row.bias_params:
                out[f"{PREFIX}{row.name}.bias"] = (int(row.out_features),)
    return out


def _saved_root(name: str, entries: tuple[str, ...]) -> str:
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        if matches_any_entry(".".join(parts[:i]), entries):
            return ".".join(parts[:i])
    return name


def embedding_copies_saved(adapter: Adapter) -> bool:
    """PEFT's ``save_embedding_layers="auto"``: the config's target_modules name an embedding layer."""
    tm = adapter.cfg("target_modules")
    if isinstance(tm, str) and tm != "all-linear":
        names = adapter.units["module"]
        return bool(names[names.str.match(r"(.*\.)?(embed_tokens|lm_head)$")].map(
            lambda n: matches_pattern(n, tm)).any())
    return bool(tm) and not isinstance(tm, str) and any(k in tm for k in ("embed_tokens", "lm_head"))


def _lora_shapes(variant, name: str, r: int, i: int, o: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """A and B of a wrapped Linear; BD-LoRA saves a block-diagonal factor as its stacked blocks
    (``BlockDiagonalLinear.weight``: A ``(r, in / nblocks)``, B ``(out, r / nblocks)``)."""
    if variant is None or variant.kind != "bdlora":
        return (r, i), (o, r)
    a = any(p in name for p in variant.bd_a)
    b = any(p in name for p in variant.bd_b)
    nb = variant.nblocks
    return (r, i // nb if a else i), (o, r // nb if b else r)


def peft_tensors(adapter: Adapter) -> dict[str, tuple[int, ...]]:
    """The tensors ``get_peft_model_state_dict`` saves for the adapter: name -> shape (see module doc)."""
    out: dict[str, tuple[int, ...]] = {}
    u = adapter.units
    params_by_module: dict[str, list] = {}
    for row in u.itertuples(index=False):
        if row.kind in ("expert-parameter", "parameter"):
            params_by_module.setdefault(row.module, []).append(row)
            continue
        r, i, o, base = int(row.rank), int(row.in_features), int(row.out_features), PREFIX + row.name
        if row.kind == "embedding":
            out[f"{base}.lora_embedding_A"], out[f"{base}.lora_embedding_B"] = (r, i), (o, r)
        else:
            out[f"{base}.lora_A.weight"], out[f"{base}.lora_B.weight"] = _lora_shapes(adapter.plan.variant, row.name,
                                                                                     r, i, o)
            if adapter.plan.lora_bias:
                out[f"{base}.lora_B.bias"] = (o,)
            if adapter.plan.variant is not None and adapter.plan.variant.kind == "kasa":
                out[f"{base}.lora_diag"] = (r,)
        if adapter.plan.dora:
            out[f"{base}.lora_magnitude_vector"] = (o,)
    for module, rows in params_by_module.items():
        for k, row in enumerate(rows):
            re_ = int(row.rank) * int(row.num_experts)
            base = PREFIX + module + ".base_layer" * (len(rows) - 1 - k)
            out[f"{base}.lora_A.weight"] = (re_, int(row.in_features))
            out[f"{base}.lora_B.weight"] = (int(row.out_features), re_)
    if embedding_copies_saved(adapter):
        for row in u[u["kind"] == "embedding"].itertuples(index=False):
            out[f"{PREFIX}{row.name}.base_layer.weight"] = (int(row.in_features), int(row.out_features))
        for row in u[(u["group"] == "head") & (u["kind"] == "linear")].itertuples(index=False):
            out[f"{PREFIX}{row.name}.base_layer.weight"] = (int(row.out_features), int(row.in_features))
    return out | adapter.saved_tensors
