"""Arrays over one model's inventory, built once per model, that answer which rows a key names.

A key names rows at three levels (see :mod:`lora_core.planning.plan`): a group, a role, or a
module name matched by PEFT's list rule (:func:`lora_core.peft_rules.matches_entry`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..model import taxonomy as tx
from ..peft_rules import entry_mask, saved_mask
from .plan import Scope

_LINEAR_KINDS = ("linear", "conv1d")


class PlanIndex:
    """Arrays over one model's inventory, built once, answering plans in microseconds."""

    def __init__(self, inventory: pd.DataFrame) -> None:
        inv = inventory
        self.inventory = inv
        self.names = inv["name"].to_numpy()
        self.kind = inv["kind"].to_numpy()
        self.group = inv["group"].to_numpy()
        self.io = (inv["in_features"] + inv["out_features"]).to_numpy(np.int64)
        self.out = inv["out_features"].to_numpy(np.int64)
        self.experts = inv["num_experts"].to_numpy(np.int64)
        self.bias = inv["bias_params"].to_numpy(np.int64)
        self.numel = inv["numel"].to_numpy(np.int64)
        self.layer = inv["layer"].to_numpy(dtype=np.float64, na_value=np.nan)
        self.targetable = inv["targetable"].to_numpy(bool)
        self.linear = np.isin(self.kind, _LINEAR_KINDS)
        self.in_vision = inv["stack"].isin(["vision", "projector"]).to_numpy(bool)
        self.has_vision = bool(self.in_vision.any())
        self.base_total = int(inv["base_params"].sum())
        self.all_bias = int(self.bias.sum())
        self.num_layers = int(np.nanmax(self.layer)) + 1 if np.isfinite(self.layer).any() else 0
        self._masks: dict[str, np.ndarray] = {}
        self._contains = inv["contains"].to_numpy()
        self._role = inv["role"].to_numpy()
        self.task_type: str | None = inv.attrs.get("task_type")  # the model's PEFT task_type, if known
        # rows PEFT trains in full for the model's task (the classification head), see lora_core.model.task
        self.task_saved = (inv["task_saved"].to_numpy(bool) if "task_saved" in inv
                           else np.zeros(len(inv), dtype=bool))

    def mask(self, key: str) -> np.ndarray:
        """Rows ``key`` names (before scope, layers and ``modules_to_save``); cached."""
        if key not in self._masks:
            self._masks[key] = self._compute_mask(key)
        return self._masks[key]

    def _compute_mask(self, key: str) -> np.ndarray:
        g, t = self.group, self.targetable
        lin = self.linear & t
        groups = {
            "attention": (g == "attention") & lin,
            "linear-attention": (g == "linear-attention") & lin,
            "ssm": (g == "ssm") & lin,
            "ffn": ((g == "ffn") & lin) | ((g == "experts") & t),
            "experts": (g == "experts") & t,
            "router": (g == "router") & t,
            "embedding": (g == "embedding") & t,
            "head": (g == "head") & t,
            "all-linear": lin & ~self.inventory["is_output"].to_numpy(bool),
        }
        if key in groups:
            return groups[key]
        if key in tx.BASIC_ROLES or key in tx.FUSED_ROLES:
            return self._role_mask(key)
        return t & entry_mask(self.names, key)

    def _role_mask(self, key: str) -> np.ndarray:
        """A role's units. A basic role: linears holding it outside the experts, plus routed
        experts holding it in each (stack, layer) with no such linear. A fused role: every unit."""
        g, t = self.group, self.targetable
        if key in tx.FUSED_ROLES:
            return (self._role == key) & t
        holds = np.array([key in c.split("+") for c in self._contains], dtype=bool)
        dense = holds & self.linear & t & (g != "experts")
        experts = holds & t & (g == "experts")
        if not experts.any():
            return dense
        stacks = self.inventory["stack"].to_numpy()
        covered = set(zip(stacks[dense], self.layer[dense]))
        return dense | (experts & np.array([(s, l) not in covered for s, l in zip(stacks, self.layer)]))

    def saved_mask(self, modules_to_save: tuple[str, ...]) -> np.ndarray:
        """Rows inside a ``modules_to_save`` module (PEFT's rule), which LoRA does not wrap, and
        the rows PEFT saves for the model's task (its classification head)."""
        if not modules_to_save:
            return self.task_saved.copy()
        return self.task_saved | saved_mask(self.names, modules_to_save)

    def layer_mask(self, layers: tuple[int, ...] | None) -> np.ndarray:
        """Rows kept by a layer subset: rows in those layers, and rows with no layer."""
        if layers is None:
            return np.ones(len(self.names), dtype=bool)
        return np.isnan(self.layer) | np.isin(self.layer, np.asarray(layers, dtype=np.float64))

    def scope_mask(self, scope: Scope) -> np.ndarray:
        """Rows in scope: vision tower and projector only with ``scope='all'``."""
        return ~self.in_vision if scope == "language" else np.ones(len(self.names), dtype=bool)
