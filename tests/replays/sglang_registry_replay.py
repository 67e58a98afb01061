"""Replay how SGLang 0.5.23 resolves an architecture it has no model class for (one subprocess).

Reads every installed ``sglang/srt/models/*.py`` by a static scan: the class names its ``EntryClass``
lists (what ``sglang/srt/models/registry.py`` ``import_model_classes`` registers). Executes the
installed ``resolve_transformers_arch`` (``sglang/srt/model_loader/utils.py``, loaded alone by name)
with the real ``transformers``, ``--model-impl auto`` and no ``auto_map``, on each architecture of
the payload ``{"archs": [...]}``: the backend architecture it returns, or its error message.
"""

import ast
import json
import logging
import sys
from types import SimpleNamespace

import transformers
from source_loader import load, package_dir

BACKEND = "<Transformers backend arch>"


def registered() -> list[str]:
    names = set()
    for path in sorted((package_dir("sglang") / "srt" / "models").glob("*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "EntryClass" for t in node.targets):
                items = node.value.elts if isinstance(node.value, (ast.List, ast.Tuple)) else [node.value]
                names |= {ast.unparse(i) for i in items}
    return sorted(names)


def main() -> None:
    payload = json.load(sys.stdin)
    impl = SimpleNamespace(AUTO="auto", TRANSFORMERS="transformers")
    ns = load("sglang", "srt/model_loader/utils.py", ["resolve_transformers_arch"], {
        "transformers": transformers, "ModelImpl": impl, "logger": logging.getLogger("replay"),
        "get_class_from_dynamic_module": lambda *a, **k: None,
        "_get_transformers_backend_arch": lambda config, archs: BACKEND})
    config = SimpleNamespace(hf_config=SimpleNamespace(auto_map=None), model_impl="auto", model_path="", revision=None)
    out = {}
    for arch in payload["archs"]:
        try:
            out[arch] = {"arch": ns["resolve_transformers_arch"](config, [arch])[0], "error": None}
        except ValueError as e:
            out[arch] = {"arch": None, "error": str(e)}
    print(json.dumps({"registered": registered(), "resolved": out}))


if __name__ == "__main__":
    main()
