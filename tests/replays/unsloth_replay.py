"""Check our Unsloth snippets against Unsloth's own source, parsed (never imported: it needs a GPU).

``unsloth`` is installed with ``--no-deps`` in ``.venv-replay`` and located with
``importlib.util.find_spec`` (which does not run it). From ``models/llama.py`` the
``FastLlamaModel.get_peft_model`` signature, the keywords of the ``arguments = dict(...)`` it hands
to ``LoraConfig`` and its type checks are read with ``ast``; ``models/loader.py`` is checked to
forward ``FastLanguageModel.get_peft_model`` to it. Unsloth's own pure helpers that rewrite the
targets (``_redirect_embedding_targets``, ``_embedding_leaf``, ``EMBEDDING_MODULES`` from
``models/_utils.py``) are compiled from their source and run. Then the same arguments go to
``peft.LoraConfig`` and ``get_peft_model(low_cpu_mem_usage=True)`` on a fresh meta skeleton.

Not replayed (it cannot run without a GPU): the rest of the function body (gradient checkpointing,
the fused-kernel patching, vLLM). With ``target_parameters=None`` Unsloth would add MoE experts
itself, so the check insists that every snippet passes ``target_parameters`` explicitly.
"""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import dataclasses
from pathlib import Path

from peft import LoraConfig, get_peft_model

from _trainer_common import fresh_model, peft_result, run_cases

ROOT = Path(importlib.util.find_spec("unsloth").submodule_search_locations[0])
VERSION = importlib.metadata.version("unsloth")
_LORA_FIELDS = {f.name for f in dataclasses.fields(LoraConfig)}


def _method(tree: ast.Module, cls: str, name: str) -> ast.FunctionDef:
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == cls:
            for f in node.body:
                if isinstance(f, ast.FunctionDef) and f.name == name:
                    return f
    raise LookupError(f"{cls}.{name} not found in the unsloth {VERSION} source")


def _signature() -> dict:
    fn = _method(ast.parse((ROOT / "models" / "llama.py").read_text()), "FastLlamaModel", "get_peft_model")
    params = [a.arg for a in fn.args.args][1:]
    defaults = dict(zip(params[len(params) - len(fn.args.defaults):], fn.args.defaults))
    literal = {}
    for k, v in defaults.items():
        try:
            literal[k] = ast.literal_eval(v)
        except ValueError:
            pass
    to_lora, forwards = set(), False
    for node in ast.walk(fn):
        if (isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "arguments" for t in node.targets)
                and isinstance(node.value, ast.Call)):
            for kw in node.value.keywords:
                if kw.arg is None:
                    forwards = True
                else:
                    to_lora.add(kw.arg)
    src = ast.unparse(fn)
    return {"params": params, "defaults": literal, "var_kwargs": fn.args.kwarg is not None,
            "to_lora": sorted(to_lora), "kwargs_to_lora": forwards,
            "r_must_be_int": "type(r) is not int" in src, "rslora_must_be_bool": "type(use_rslora) is bool" in src,
            "auto_experts_when_none": "if target_parameters is None" in src}


def _forwarded() -> bool:
    fn = _method(ast.parse((ROOT / "models" / "loader.py").read_text()), "FastLanguageModel", "get_peft_model")
    return "FastLlamaModel.get_peft_model(model, *args, **kwargs)" in ast.unparse(fn)


def _helpers() -> dict:
    tree = ast.parse((ROOT / "models" / "_utils.py").read_text())
    wanted = {"EMBEDDING_MODULES", "_embedding_leaf", "_redirect_embedding_targets"}
    body = [n for n in tree.body if (isinstance(n, ast.FunctionDef) and n.name in wanted)
            or (isinstance(n, ast.Assign) and any(getattr(t, "id", None) in wanted for t in n.targets))]
    namespace: dict = {}
    exec(compile(ast.Module(body=body, type_ignores=[]), "unsloth/models/_utils.py", "exec"), namespace)
    return namespace


SIGNATURE, FORWARDED, HELPERS = _signature(), _forwarded(), _helpers()


def snippet_kwargs(text: str) -> dict:
    """The literal keyword arguments of the snippet's ``FastLanguageModel.get_peft_model(...)`` call."""
    for node in ast.walk(ast.parse(text)):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get_peft_model"
                and getattr(node.func.value, "id", None) == "FastLanguageModel"):
            return {kw.arg: ast.literal_eval(kw.value) for kw in node.keywords}
    raise LookupError("no FastLanguageModel.get_peft_model(...) call in the snippet")


def check(kwargs: dict) -> list[str]:
    """What Unsloth's signature and checks refuse in these arguments."""
    sig, problems = SIGNATURE, []
    for k in kwargs:
        if k in sig["params"]:
            # Unsloth's own parameters a recipe may set (the training shape's checkpointing among them)
            if k not in sig["to_lora"] and k not in ("max_seq_length", "random_state", "use_gradient_checkpointing"):
                problems.append(f"{k} is a parameter that does not reach LoraConfig")
        elif not (sig["var_kwargs"] and sig["kwargs_to_lora"] and k in _LORA_FIELDS):
            problems.append(f"{k} is neither a parameter nor a LoraConfig field passed on by **kwargs")
    if sig["r_must_be_int"] and type(kwargs.get("r")) is not int:
        problems.append("r must be an int")
    if sig["rslora_must_be_bool"] and type(kwargs.get("use_rslora", False)) is not bool:
        problems.append("use_rslora must be a bool")
    if sig["auto_experts_when_none"] and kwargs.get("target_parameters") is None:
        problems.append("target_parameters missing: Unsloth would add MoE experts itself")
    return problems


def replay_one(case: dict) -> dict:
    kwargs = snippet_kwargs(case["text"])
    problems = check(kwargs) + ([] if FORWARDED else ["FastLanguageModel.get_peft_model no longer forwards"])
    if problems:
        return {"refused": "; ".join(problems)}
    sig = SIGNATURE
    targets, saved, _moved = HELPERS["_redirect_embedding_targets"](kwargs["target_modules"], kwargs.get("modules_to_save"))
    config = {k: sig["defaults"][k] for k in sig["to_lora"] if k in sig["defaults"] and k in _LORA_FIELDS}
    config |= {k: v for k, v in kwargs.items() if k in _LORA_FIELDS}
    config |= {"target_modules": targets, "modules_to_save": saved, "task_type": "CAUSAL_LM"}
    config.pop("loftq_config", None)  # {} by default: no LoftQ
    model = get_peft_model(fresh_model(case["model"]), LoraConfig(**config), low_cpu_mem_usage=True)
    out = peft_result(model)
    out["version"] = VERSION
    out["signature"] = sig["params"]
    return out


if __name__ == "__main__":
    run_cases(replay_one)
