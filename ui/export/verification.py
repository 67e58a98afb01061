"""Cached export work for the Export page: the adapter config per (model, plan), and PEFT verification.

``to_lora_config`` replays PEFT's matching and ``verify`` applies PEFT on a fresh meta skeleton
(about a second on the largest models), so both are cached per server, keyed by the model
reference and the (hashable, frozen) plan.
"""

from __future__ import annotations

import streamlit as st

from lora_core.errors import InputError
from lora_core.planning import check_fields, validate
from lora_core.planning.export import config_bytes, config_dict, lora_config
from lora_core.planning import Plan
from lora_core.model.task.build import build_for_task
from lora_core.planning.verify import Verification, verify

from ..common.loaded_model import LoadedModel, ModelRef


@st.cache_resource(max_entries=64, show_spinner=False)
def _config(ref: ModelRef, plan: Plan, _model: LoadedModel) -> tuple[dict, bytes] | InputError:
    try:
        check_fields(plan, _model.index)
        resolved = _model.views.resolve(plan, _model.index)
        validate(resolved)
        config = lora_config(resolved, _model.skeleton)
    except InputError as e:
        return e
    return config_dict(config), config_bytes(config)


def adapter_config(model: LoadedModel, plan: Plan) -> tuple[dict, bytes]:
    """The adapter_config.json dict and its exact file bytes for ``plan`` on ``model``.

    Raises:
        InputError: the plan is invalid or PEFT cannot express it on this model.
    """
    result = _config(model.ref, plan, model)
    if isinstance(result, InputError):
        raise result
    return result


@st.cache_resource(max_entries=32, show_spinner="Applying the config with PEFT on a meta model…")
def verification(ref: ModelRef, plan: Plan, _model: LoadedModel) -> Verification:
    """PEFT's own count and wrapped set for ``plan`` (a fresh skeleton each time; PEFT mutates it)."""
    config = _model.source.config
    return verify(plan, _model.index, lambda: build_for_task(config, ref.task, ref.num_labels,
                                                             trust_remote_code=ref.trust_remote_code))
