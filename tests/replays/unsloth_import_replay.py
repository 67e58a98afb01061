"""Replay Unsloth's ``get_peft_model`` on a pasted snippet as it is written (defaults included).

The checks and helpers are those of ``unsloth_replay.py`` (Unsloth's parsed signature, its type
checks, its own ``_redirect_embedding_targets`` compiled from source). Here the arguments the
snippet leaves out take the signature's defaults, ``target_modules`` included (``_DEFAULT_TARGET_MODULES``
read from ``models/llama.py``). On a model without MoE experts Unsloth's
``get_moe_target_parameters`` returns ``None``, so a snippet may leave ``target_parameters`` out there.
"""

from __future__ import annotations

import ast

from peft import LoraConfig, get_peft_model

import unsloth_replay as ur
from _trainer_common import fresh_model, peft_result, run_cases


def _default_targets() -> list[str]:
    for node in ast.parse((ur.ROOT / "models" / "llama.py").read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "_DEFAULT_TARGET_MODULES" for t in node.targets):
            return ast.literal_eval(node.value)
    raise LookupError("_DEFAULT_TARGET_MODULES not found in the unsloth source")


DEFAULT_TARGETS = _default_targets()


def _is_moe(model) -> bool:
    text = model.config.get_text_config()
    return any(getattr(text, a, None) for a in ("num_experts", "n_routed_experts", "num_local_experts"))


def replay_one(case: dict) -> dict:
    kwargs = ur.snippet_kwargs(case["text"])
    model = fresh_model(case["model"])
    problems = [p for p in ur.check(kwargs) if not (p.startswith("target_parameters missing") and not _is_moe(model))
                and "max_seq_length" not in p and "use_gradient_checkpointing" not in p and "random_state" not in p]
    if problems:
        return {"refused": "; ".join(problems)}
    sig = ur.SIGNATURE
    given = {"target_modules": DEFAULT_TARGETS, **kwargs}
    targets, saved, _moved = ur.HELPERS["_redirect_embedding_targets"](given["target_modules"], given.get("modules_to_save"))
    config = {k: sig["defaults"][k] for k in sig["to_lora"] if k in sig["defaults"] and k in ur._LORA_FIELDS}
    config |= {k: v for k, v in given.items() if k in ur._LORA_FIELDS}
    config |= {"target_modules": targets, "modules_to_save": saved, "task_type": "CAUSAL_LM"}
    config.pop("loftq_config", None)
    model = get_peft_model(model, LoraConfig(**config), low_cpu_mem_usage=True)
    out = peft_result(model)
    out["version"] = ur.VERSION
    out["defaults"] = {k: v for k, v in sig["defaults"].items() if k in ("r", "lora_alpha", "lora_dropout", "bias")}
    out["default_targets"] = DEFAULT_TARGETS
    return out


if __name__ == "__main__":
    run_cases(replay_one)
