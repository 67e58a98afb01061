"""Replay how vLLM 0.34.0 resolves an architecture (one subprocess).

Reads the installed ``vllm/model_executor/models/registry.py`` by a static scan: the keys of
``_VLLM_MODELS`` (every table it merges), ``_PREVIOUSLY_SUPPORTED_MODELS``, ``_OOT_SUPPORTED_MODELS``,
and ``_SUFFIX_TO_DEFAULTS`` from ``vllm/config/model.py``. Executes the installed
``_ModelRegistry._try_resolve_transformers`` alone (its source, parsed out of the class) with the
real ``transformers`` and a model config holding ``model_impl="auto"`` and no ``auto_map``, for each
architecture of the payload ``{"archs": [...]}``: the backend class it returns, or ``None``; and
``_ModelRegistry._raise_for_unsupported`` on each: its message.
"""

import ast
import json
import sys
import textwrap
from types import SimpleNamespace

import transformers
from source_loader import package_dir

BACKEND = "<Transformers backend class>"


def tables() -> dict:
    tree = ast.parse((package_dir("vllm") / "model_executor/models/registry.py").read_text())
    dicts = {}
    for node in tree.body:
        target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
        if isinstance(target, ast.Name) and isinstance(getattr(node, "value", None), ast.Dict):
            dicts[target.id] = node.value
    registered: set[str] = set()
    for key, value in zip(dicts["_VLLM_MODELS"].keys, dicts["_VLLM_MODELS"].values):
        if key is None:  # **_TABLE
            registered |= {k.value for k in dicts[value.id].keys if isinstance(k, ast.Constant)}
        else:
            registered.add(key.value)
    methods = {n.name: ast.unparse(n) for c in tree.body if isinstance(c, ast.ClassDef) and c.name == "_ModelRegistry"
               for n in c.body if isinstance(n, ast.FunctionDef)
               and n.name in ("_try_resolve_transformers", "_raise_for_unsupported")}
    model = ast.parse((package_dir("vllm") / "config/model.py").read_text())
    suffixes = next(n.value for n in model.body if isinstance(n, ast.AnnAssign)
                    and getattr(n.target, "id", "") == "_SUFFIX_TO_DEFAULTS")
    return {"registered": sorted(registered),
            "previously": ast.literal_eval(dicts["_PREVIOUSLY_SUPPORTED_MODELS"]),
            "oot": ast.literal_eval(dicts["_OOT_SUPPORTED_MODELS"]),
            "suffixes": [[s, c] for s, (_, c) in ast.literal_eval(suffixes)],
            "methods": methods,
            "backend_models": {k.value: None for k in dicts["_TRANSFORMERS_BACKEND_MODELS"].keys}}


def main() -> None:
    payload = json.load(sys.stdin)
    got = tables()
    ns = {"transformers": transformers, "ModelConfig": object,
          "_TRANSFORMERS_BACKEND_MODELS": got.pop("backend_models"),
          "try_get_class_from_dynamic_module": lambda *a, **k: None}
    ns.update(_PREVIOUSLY_SUPPORTED_MODELS=got["previously"], _OOT_SUPPORTED_MODELS=got["oot"])
    for source in got.pop("methods").values():
        exec(compile(textwrap.dedent(source), "registry.py", "exec"), ns)
    config = SimpleNamespace(hf_config=SimpleNamespace(auto_map=None), model_impl="auto",
                             _get_transformers_backend_cls=lambda: BACKEND)
    supported = dict.fromkeys(got["registered"]).keys()
    registry = SimpleNamespace(get_supported_archs=lambda: supported)
    got["backend"] = {a: ns["_try_resolve_transformers"](registry, a, config) for a in payload["archs"]}
    got["unsupported"] = {}
    for a in payload["archs"]:
        try:
            ns["_raise_for_unsupported"](registry, [a])
        except ValueError as e:
            got["unsupported"][a] = str(e)
    print(json.dumps(got))


if __name__ == "__main__":
    main()
