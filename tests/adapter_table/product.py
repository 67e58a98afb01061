"""The product's side of the adapter table: the audit a user runs (serve-check, the Export
page's import), on the model built from the base config for the adapter's task type."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lora_core.planning.audit import AdapterAudit, audit_adapter_config
from lora_core.errors import InputError
from lora_core.model.inventory import build_inventory
from lora_core.model.skeleton import build_skeleton
from lora_core.model.task.adapter import model_for_adapter

from .reference import base_config


@dataclass(frozen=True)
class ProductFigure:
    trainable: int | None
    error: str | None = None
    audit: AdapterAudit | None = None


def product_figure(adapter: dict[str, Any], base: str) -> ProductFigure:
    config = base_config(base)
    skel = build_skeleton(config)
    skel, inv = model_for_adapter(adapter, config, skel, build_inventory(skel))
    try:
        audit = audit_adapter_config(adapter, inv, skel)
    except InputError as e:
        return ProductFigure(None, str(e))
    return ProductFigure(int(audit.count.trainable), None, audit)
