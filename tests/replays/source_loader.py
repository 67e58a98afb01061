"""Load chosen top-level functions or classes from an installed package's source file, by name.

Some engine modules import half of the engine (CUDA kernels, servers); the functions a test
needs are pure. ``load("vllm", "lora/utils.py", ["parse_fine_tuned_lora_name"], {...})`` parses
the installed file and executes only those definitions, in a namespace holding ``extra``.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path
from typing import Any


def package_dir(package: str) -> Path:
    """Where ``package`` is installed, without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"{package} is not installed in this venv (make replay-venv)")
    return Path(list(spec.submodule_search_locations)[0])


def load(package: str, relpath: str, names: list[str], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Execute only the definitions ``names`` of ``<package>/<relpath>``; returns the namespace."""
    path = package_dir(package) / relpath
    tree = ast.parse(path.read_text(), filename=str(path))
    wanted = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name in names]
    missing = set(names) - {n.name for n in wanted}
    if missing:
        raise RuntimeError(f"{path} defines no {sorted(missing)}")
    ns: dict[str, Any] = {"__name__": f"replay_{package}", **(extra or {})}
    exec(compile(ast.Module(body=wanted, type_ignores=[]), str(path), "exec"), ns)
    return ns


def class_attrs(package: str, relpath: str, cls: str) -> dict[str, Any]:
    """Literal class attributes and base names of class ``cls`` in ``<package>/<relpath>`` (no import)."""
    path = package_dir(package) / relpath
    tree = ast.parse(path.read_text())
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == cls:
            out: dict[str, Any] = {"__bases__": [ast.unparse(b) for b in node.bases]}
            for st in node.body:
                if isinstance(st, (ast.Assign, ast.AnnAssign)):
                    target = st.targets[0] if isinstance(st, ast.Assign) else st.target
                    if isinstance(target, ast.Name) and st.value is not None:
                        try:
                            out[target.id] = ast.literal_eval(st.value)
                        except ValueError:
                            out[target.id] = ast.unparse(st.value)
            return out
    raise RuntimeError(f"{path} has no class {cls}")


def imported_from(package: str, relpath: str, name: str) -> str | None:
    """The module a name is imported from in that file (``vllm.model_executor.models.llama``)."""
    tree = ast.parse((package_dir(package) / relpath).read_text())
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and any(a.name == name for a in node.names):
            return node.module
    return None


def defines(package: str, relpath: str, dotted: str) -> bool:
    """Whether ``<package>/<relpath>`` exists and defines ``dotted`` (``Class.method`` or ``function``)."""
    try:
        path = package_dir(package) / relpath
    except RuntimeError:
        return False
    if not path.is_file():
        return False
    scope: list = ast.parse(path.read_text()).body
    for part in dotted.split("."):
        node = next((n for n in scope if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
                     and n.name == part), None)
        if node is None:
            nested = [n for top in scope if isinstance(top, (ast.FunctionDef, ast.ClassDef))
                      for n in ast.walk(top) if isinstance(n, ast.FunctionDef) and n.name == part]
            if not nested:
                return False
            node = nested[0]
        scope = node.body
    return True
