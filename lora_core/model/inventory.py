"""The inventory: one row per targetable unit of a meta-device model, from one walk.

Columns of the DataFrame returned by :func:`build_inventory`:

============== ========================================================================
name           full name as PEFT sees it: the module name (``model.layers.0.self_attn.q_proj``),
               or ``module.param`` for a parameter row (``model.layers.3.mlp.experts.gate_up_proj``)
module         the owning module's name
param          the parameter name for parameter rows, else ``None``
stack          ``decoder``, ``encoder``, ``vision``, ``language`` or ``projector``
layer          layer index as PEFT's ``layers_to_transform`` reads it (nullable ``Int64``)
group          ``attention``, ``linear-attention`` (Gated DeltaNet and other linear attention),
               ``ssm`` (Mamba and other state-space / recurrent mixers), ``ffn``, ``experts``,
               ``router``, ``embedding``, ``head``, ``other``
role           ``q k v o qkv q_a q_b kv_a kv_b gate up gate_up down router embedding head other``
contains       the basic roles a (possibly fused) unit holds, joined by ``+``: ``q+k+v``
kind           ``linear``, ``conv1d``, ``embedding``, ``expert-parameter``, ``parameter``, ``other``
module_class   the torch class name (``Linear``, ``Conv1D``, ``MixtralExperts``)
in_features    input size (embeddings: vocabulary; expert parameters: per expert)
out_features   output size (embeddings: dimension; expert parameters: per expert)
num_experts    number of experts in a fused expert parameter, else 1
base_params    parameters this row owns, tied weights counted once (on their first owner)
bias_params    of which PEFT's ``bias="all"`` trains (owned params whose name contains ``bias``)
numel          parameters of the unit itself, tied ones included (what ``modules_to_save`` copies)
tied_to        for a tied weight, the row that owns it, else ``None``
is_output      the model's output embedding (``lm_head``), which PEFT's ``all-linear`` leaves out
targetable     whether PEFT's LoRA can wrap it (every kind but ``other``, minus what PEFT refuses)
not_offered    why PEFT refuses a unit of a wrappable kind (``out_proj`` of Mamba-based models),
               else ``None``
task_saved     whether PEFT trains it in full for the model's task (the head of a classification
               model: ``classifier``/``score``, see :mod:`lora_core.model.task.types`)
============== ========================================================================

Every parameter of the model belongs to exactly one row, so ``base_params.sum()`` equals
``sum(p.numel() for p in model.parameters())``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from torch import nn
from transformers.pytorch_utils import Conv1D

from . import taxonomy as tx
from ..peft_rules import layer_index, peft_refusal
from .task.types import saved_by_task
from .skeleton import Skeleton
from .text_config import text_config

COLUMNS: tuple[str, ...] = (
    "name", "module", "param", "stack", "layer", "group", "role", "contains", "kind",
    "module_class", "in_features", "out_features", "num_experts", "base_params",
    "bias_params", "numel", "tied_to", "is_output", "targetable", "not_offered", "task_saved",
)
_EXPERT_COUNT_KEYS = ("num_local_experts", "n_routed_experts", "num_experts")
_WRAPPABLE = ("linear", "conv1d", "embedding")


@dataclass(frozen=True)
class _Scope:
    """What a module sits inside, read from its ancestors' attribute and class names."""

    attention: bool
    experts: bool
    mixer: str | None = None  # ``linear-attention`` or ``ssm`` (taxonomy.mixer_group)


def _join(module: str, param: str) -> str:
    """``module.param``, or ``param`` alone for a parameter of the root (BLIP-2's ``query_tokens``)."""
    return f"{module}.{param}" if module else param


def stack_of(module_name: str, default: str) -> str:
    """The stack a module belongs to, from the names above it (leaf and layer excluded).

    >>> stack_of("model.vision_tower.encoder.layers.0.mlp.fc1", "language")
    'vision'
    """
    for token in module_name.split(".")[:-1]:
        if token.isdigit():
            break
        t = token.lower()
        if "vision" in t or "visual" in t:
            return "vision"
        if "projector" in t:
            return "projector"
        if t in ("encoder", "decoder"):
            return t
        if t in ("language_model", "text_model"):
            return "language"
    return default


def default_stack(skel: Skeleton) -> str:
    """The stack of names that carry no stack token (``lm_head``, ``model.layers.0``)."""
    if skel.auto_class == "AutoModelForImageTextToText":
        return "language"
    if skel.auto_class in ("AutoModelForMaskedLM", "AutoModel") and not skel.config.is_encoder_decoder:
        return "encoder"
    return "decoder"


def num_experts(skel: Skeleton) -> int:
    """Routed experts per MoE layer according to the (text) config, 0 for a dense model."""
    text = text_config(skel.config)
    return next((int(getattr(text, k)) for k in _EXPERT_COUNT_KEYS if getattr(text, k, None)), 0)


def _scopes(model: nn.Module) -> dict[str, _Scope]:
    """For every module name, whether it lies inside an attention or experts block.

    Only containers open a scope: ``post_attention_layernorm`` is a leaf and is not attention.
    """
    scopes: dict[str, _Scope] = {"": _Scope(False, False)}
    for name, module in model.named_modules():
        if not name:
            continue
        parent = scopes[name.rpartition(".")[0]]
        attr, cls = name.rpartition(".")[2], type(module).__name__
        opens = next(module.children(), None) is not None or module.__class__.__name__.endswith("Experts")
        scopes[name] = _Scope(parent.attention or (opens and tx.is_attention_scope(attr, cls)),
                              parent.experts or (opens and tx.is_experts_scope(attr, cls)),
                              parent.mixer or (tx.mixer_group(cls) if opens else None))
    return scopes


def _output_head(model: nn.Module) -> tuple[str | None, str | None]:
    """The output embedding's name and the scope of its head (``cls`` for BERT's MLM head)."""
    out = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    if out is None:
        return None, None
    name = next((n for n, m in model.named_modules() if m is out), None)
    if name is None or "." not in name:
        return name, None
    scope = name.split(".")[0]  # a head container (BERT's ``cls``), not the base model (FSMT)
    holds_layers = any(layer_index(n) is not None for n, _ in model.get_submodule(scope).named_modules(prefix=scope))
    return name, None if holds_layers else scope


def _is_router(module: nn.Module, name: str, weight_rows: int, experts: int) -> bool:
    """A router: a small module (or linear) scoring tokens against each routed expert."""
    cls, attr = type(module).__name__, name.rpartition(".")[2]
    named_like = "router" in cls.lower() or attr in ("gate", "router")
    return experts > 0 and weight_rows == experts and named_like


class _Walker:
    """One walk over the model that turns each parameter-owning module into rows."""

    def __init__(self, skel: Skeleton) -> None:
        self.model = skel.model
        self.default_stack = default_stack(skel)
        self.experts = num_experts(skel)
        self.scopes = _scopes(self.model)
        self.head_name, self.head_scope = _output_head(self.model)
        self.owner: dict[int, str] = {}
        for pname, p in self.model.named_parameters(remove_duplicate=False):
            self.owner.setdefault(id(p), pname)

    def rows(self) -> list[dict]:
        out: list[dict] = []
        for name, module in self.model.named_modules():
            params = dict(module.named_parameters(recurse=False))
            if params or name == self.head_name:
                out.extend(self._module_rows(name, module, params))
        return out

    def _owned(self, name: str, params: dict[str, nn.Parameter]) -> tuple[int, int, str | None]:
        """(owned params, owned bias params, owner of a tied weight) for a module's params."""
        owned = bias = 0
        tied: str | None = None
        for pname, p in params.items():
            first = self.owner[id(p)]
            if first == _join(name, pname):
                owned += p.numel()
                bias += p.numel() if "bias" in first else 0
            elif tied is None or pname == "weight":
                tied = first.rpartition(".")[0]
        return owned, bias, tied

    def _group(self, name: str, kind: str, is_router: bool) -> str:
        scope = self.scopes[name]
        if kind == "embedding":
            return "embedding"
        if name == self.head_name or (self.head_scope and name.startswith(self.head_scope + ".")):
            return "head"
        if is_router:
            return "router"
        if scope.experts:
            return "experts"
        if scope.mixer:  # linear attention, Mamba / recurrent mixers: neither attention nor FFN
            return scope.mixer
        if scope.attention:
            return "attention"
        return "ffn" if layer_index(name) is not None and kind != "other" else "other"

    def _role(self, group: str, name: str, fin: int, fout: int) -> str:
        """The role from the leaf name, else from its parent's (``q_proj.linear`` -> ``q``)."""
        leaf, parent = name.rpartition(".")[2], name.rpartition(".")[0].rpartition(".")[2]
        if group == "attention":
            role = tx.attention_role(leaf)
            return tx.attention_role(parent) if role == "other" and parent else role
        if group in ("ffn", "experts"):
            by_parent = tx.ffn_role(leaf, 0, 0) == "other" and tx.ffn_role(parent, 0, 0) != "other"
            return tx.ffn_role(parent if by_parent else leaf, fin, fout)  # (0, 0): by name only
        return group if group in ("router", "embedding", "head") else "other"

    def _row(self, name: str, module: nn.Module, kind: str, fin: int, fout: int, params: int,
             bias: int, *, param: str | None = None, experts: int = 1, tied: str | None = None,
             router: bool = False, numel: int | None = None) -> dict:
        module_name = name if param is None else name.rpartition(".")[0]
        group = self._group(module_name, kind, router)
        role = self._role(group, name, fin, fout) if kind != "other" else "other"
        refused = peft_refusal(self.model, name.rpartition(".")[2]) if kind in _WRAPPABLE else None
        return {
            "name": name, "module": module_name, "param": param,
            "stack": stack_of(module_name, self.default_stack), "layer": layer_index(module_name),
            "group": group, "role": role, "contains": "+".join(tx.CONTAINS.get(role, ())),
            "kind": kind, "module_class": type(module).__name__, "in_features": fin,
            "out_features": fout, "num_experts": experts, "base_params": params,
            "bias_params": bias, "tied_to": tied, "targetable": kind != "other" and refused is None,
            "not_offered": refused,
            "numel": sum(p.numel() for p in module.parameters(recurse=False)) if numel is None else numel,
            "is_output": name == self.head_name,
        }

    def _module_rows(self, name: str, module: nn.Module, params: dict[str, nn.Parameter]) -> list[dict]:
        owned, bias, tied = self._owned(name, params)
        if isinstance(module, nn.Linear):
            router = _is_router(module, name, module.out_features, self.experts)
            return [self._row(name, module, "linear", module.in_features, module.out_features,
                              owned, bias, tied=tied, router=router)]
        if isinstance(module, Conv1D):
            return [self._row(name, module, "conv1d", module.weight.shape[0], module.nf, owned, bias, tied=tied)]
        if isinstance(module, nn.Embedding):
            return [self._row(name, module, "embedding", module.num_embeddings, module.embedding_dim,
                              owned, bias, tied=tied)]
        return self._param_rows(name, module, params)

    def _param_rows(self, name: str, module: nn.Module, params: dict[str, nn.Parameter]) -> list[dict]:
        """Rows for a custom module: fused expert tensors, router weights, and the rest."""
        rows, rest = [], {}
        for pname, p in params.items():
            full = _join(name, pname)
            if self.owner[id(p)] != full:
                continue
            if p.ndim == 3 and self.scopes[name].experts:  # not a torch Conv1d kernel
                rows.append(self._row(full, module, "expert-parameter", p.shape[2], p.shape[1],
                                      p.numel(), 0, param=pname, experts=p.shape[0], numel=p.numel()))
            elif p.ndim == 2 and _is_router(module, name, p.shape[0], self.experts):
                rows.append(self._row(full, module, "parameter", p.shape[1], p.shape[0], p.numel(),
                                      0, param=pname, router=True, numel=p.numel()))
            else:
                rest[pname] = p
        if rest:
            owned, bias, _ = self._owned(name, rest)
            rows.append(self._row(name, module, "other", 0, 0, owned, bias,
                                  numel=sum(p.numel() for p in rest.values())))
        return rows


def build_inventory(skel: Skeleton) -> pd.DataFrame:
    """Walk ``skel.model`` once and return the inventory (columns in the module docstring)."""
    df = pd.DataFrame(_Walker(skel).rows(), columns=list(COLUMNS[:-1]))
    df["layer"] = df["layer"].astype("Int64")
    for col in ("in_features", "out_features", "num_experts", "base_params", "bias_params", "numel"):
        df[col] = df[col].astype("int64")
    df["task_saved"] = saved_by_task(list(df["name"]), skel.task_type)
    head = df["task_saved"] & df["targetable"]  # trained in full as a copy, so LoRA does not wrap it
    df.loc[head, "not_offered"] = (f"PEFT trains it in full for {skel.task_type} (its modules_to_save), "
                                   "so no LoRA wraps it")
    df.loc[head, "targetable"] = False
    df.attrs["task_type"] = skel.task_type
    return df
