"""Replay vLLM 0.34.0's own adapter checks on our exports (one subprocess for the whole table).

Payload ``{"cases": [{"id", "config", "tensors": [names], "ranks": [max_lora_rank, ...]}],
"archs": [[arch, module, class], ...]}``. Per case: ``PEFTHelper.from_dict(config).validate_legal(
LoRAConfig(max_lora_rank=m))`` for each ``m`` (its message, or ``None``), and
``parse_fine_tuned_lora_name`` (loaded from the installed ``vllm/lora/utils.py`` by name) on every
tensor name ``check_unexpected_modules`` does not skip. Per arch: the LoRA class attributes read
from the installed model file (``packed_modules_mapping``, ``embedding_modules``,
``supports_tower_connector_lora``, ``SupportsLoRA`` among the bases), following base classes.
"""

import json
import sys

from source_loader import defines, class_attrs, imported_from, load
from vllm.config.lora import LoRAConfig
from vllm.lora.peft_helper import PEFTHelper

NAMES = load("vllm", "lora/utils.py", ["parse_fine_tuned_lora_name", "is_base_embedding_weights"])
ATTRS = ("packed_modules_mapping", "embedding_modules", "supports_tower_connector_lora", "is_3d_moe_weight")


def legal(config: dict, rank: int):
    try:
        PEFTHelper.from_dict(config).validate_legal(LoRAConfig(max_lora_rank=rank))
    except ValueError as e:
        return str(e)
    return None


def names(tensors: list[str]) -> dict:
    refused, modules, first = [], [], None
    for name in tensors:
        # check_unexpected_modules (vllm/lora/lora_model.py) skips these before parsing
        if NAMES["is_base_embedding_weights"](name) or "base_layer" in name:
            continue
        try:
            modules.append(NAMES["parse_fine_tuned_lora_name"](name)[0])
        except ValueError as e:
            refused.append(name)
            first = first or str(e)
    return {"refused": refused, "modules": modules, "message": first}


def arch_attrs(module: str, cls: str) -> dict:
    rel = f"model_executor/models/{module}.py"
    attrs = class_attrs("vllm", rel, cls)
    bases = attrs["__bases__"]
    out = {k: attrs[k] for k in ATTRS if k in attrs}
    lora = "SupportsLoRA" in bases
    for base in bases:
        src = imported_from("vllm", rel, base)
        if src is None and base.endswith(("ForCausalLM", "Model")) and base != cls:
            src = f"vllm.model_executor.models.{module}"  # a base class defined in the same file
        if src and src.startswith("vllm.model_executor.models.") and base.endswith(("ForCausalLM", "Model")):
            parent = arch_attrs(src.rsplit(".", 1)[1], base)
            lora = lora or parent["lora"]
            out = {**{k: v for k, v in parent.items() if k in ATTRS}, **out}
    return {**out, "lora": lora}


def main() -> None:
    payload = json.load(sys.stdin)
    results = []
    for case in payload["cases"]:
        try:
            helper_error = None
            PEFTHelper.from_dict(case["config"])
        except ValueError as e:
            helper_error = str(e)
        results.append({"id": case["id"], "from_dict": helper_error,
                        "legal": {str(m): legal(case["config"], m) for m in case["ranks"]} if not helper_error else {},
                        "names": names(case["tensors"])})
    archs = {a: arch_attrs(m, c) for a, m, c in payload.get("archs", [])}
    found = {f"{f} {n}": defines("vllm", f.removeprefix("vllm/"), n) for f, n in payload.get("sources", [])}
    print(json.dumps({"results": results, "archs": archs, "sources": found}, default=str))


if __name__ == "__main__":
    main()
