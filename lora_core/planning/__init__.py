"""LoRA plans: which rows they wrap at what rank, what they train, and their exact PEFT config.

- :mod:`.plan`: :class:`Plan`, :class:`Target`, :class:`PlanCount`, the target keys and preset plans.
- :mod:`.index`: :class:`PlanIndex`, arrays over one model's inventory, built once per model.
- :mod:`.resolved`: :func:`resolve` -> :class:`ResolvedPlan`, once per (model, plan).
- :mod:`.validate`: what PEFT would refuse, and ``parse_layers``.
- :mod:`.export`: the exact ``LoraConfig`` (:mod:`.export_forms`: the candidate forms it tries).
- :mod:`.audit`: an existing adapter_config.json read back into a plan.
- :mod:`.verify`: PEFT itself applied to the meta model, row by row.

The names below are the public API of plans; export, audit and verify import PEFT and are
imported from their own modules.
"""

from .index import PlanIndex
from .plan import (GROUP_KEYS, MAX_RANK, MAX_TARGETS, PRESET_PLANS, ROLE_KEYS, TASK_GUIDANCE, Plan, PlanCount,
                   Target, TaskGuidance, key_level)
from .resolved import ResolvedPlan, count, lora_params, per_row, resolve, resolve_plan
from .validate import check_fields, check_layers, parse_layers, validate, validate_plan

__all__ = [
    "GROUP_KEYS", "MAX_RANK", "MAX_TARGETS", "PRESET_PLANS", "ROLE_KEYS", "TASK_GUIDANCE", "Plan", "PlanCount",
    "PlanIndex", "ResolvedPlan", "Target", "TaskGuidance", "check_fields", "check_layers", "count", "key_level",
    "lora_params", "parse_layers", "per_row", "resolve", "resolve_plan", "validate", "validate_plan",
]
