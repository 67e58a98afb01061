"""Run DeepSpeed's own ZeRO-2/ZeRO-3 model-states estimators on our meta models.

Input: ``{"cases": [{"model": preset id, "targets": [[key, rank], ...], "gpus": N}]}``. For each,
the meta model is built as the product builds it, the plan applied with PEFT's ``get_peft_model``,
and DeepSpeed's functions called: ``model_to_params`` of both stages (what the ``_all_live``
functions read from a model), the ``_all_live`` printers themselves (their stdout captured), and
``estimate_zero{2,3}_model_states_mem_needs`` on the real parameter count. Output: one result per case.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import sys

from deepspeed.runtime.zero import stage3, stage_1_and_2
from peft import get_peft_model

from lora_core.model.opened import open_model
from lora_core.model.skeleton import build_skeleton
from lora_core.model.sources import resolve as resolve_source
from lora_core.planning import Plan, PlanIndex, Target, resolve
from lora_core.planning.export import lora_config


def _case(case: dict) -> dict:
    opened = open_model(resolve_source(case["model"]))
    plan = Plan(tuple(Target(k, r) for k, r in case["targets"]))
    config = lora_config(resolve(plan, PlanIndex(opened.inventory)), opened.skeleton)
    model = get_peft_model(build_skeleton(opened.skeleton.config).model, config)  # a fresh meta model
    n = case["gpus"]
    real_total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    z2_total = stage_1_and_2.model_to_params(model)
    z3_total, z3_largest = stage3.model_to_params(model)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        stage_1_and_2.estimate_zero2_model_states_mem_needs_all_live(model, num_gpus_per_node=n)
        stage3.estimate_zero3_model_states_mem_needs_all_live(model, num_gpus_per_node=n)
    _, z2_gpu = stage_1_and_2.estimate_zero2_model_states_mem_needs(real_total, n, 1, cpu_offload=False)
    _, z3_gpu, _ = stage3.estimate_zero3_model_states_mem_needs(real_total, z3_largest, n, 1, cpu_offload=False,
                                                                cpu_offload_params=False)
    return {"model": case["model"], "gpus": n, "real_total": real_total, "trainable": trainable,
            "all_live_total_zero2": z2_total, "all_live_total_zero3": z3_total, "largest_layer": z3_largest,
            "zero2_gpu": z2_gpu, "zero3_gpu": z3_gpu,
            "printed_gib": [float(x) for x in re.findall(r"\|\s+([\d.]+)GB\s+\|", out.getvalue())]}


def main() -> None:
    payload = json.loads(sys.stdin.read())
    print(json.dumps({"results": [_case(c) for c in payload["cases"]]}))


if __name__ == "__main__":
    main()
