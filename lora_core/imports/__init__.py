"""Open a recipe someone else wrote and see what it really trains on a model.

Readers: :mod:`.axolotl` and :mod:`.llamafactory` (their YAML), :mod:`.unsloth` (a pasted
``get_peft_model`` call, parsed with ``ast``), :mod:`.adapter` (a saved adapter: folder or Hub id).
:func:`read_text` tells the kinds of text apart, :func:`open_source` also takes a path or a Hub
id; :func:`lora_core.imports.statement.state` replays the recipe on a model::

    recipe = open_source("examples/llama-3/lora-8b.yml")
    report = state(recipe, inventory, skel, "meta-llama/Meta-Llama-3.1-8B")
    report.trainable, report.units, report.missed
"""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from . import adapter, axolotl, llamafactory, unsloth
from .reading import MAX_RECIPE_BYTES, as_text, load_yaml
from .recipe import ImportedRecipe
from .statement import ImportReport, state

__all__ = ["ImportReport", "ImportedRecipe", "MAX_RECIPE_BYTES", "open_source", "read_text", "state"]
_LLAMAFACTORY_KEYS = ("finetuning_type", "lora_target", "lora_rank", "model_name_or_path", "stage", "cutoff_len")
_AXOLOTL_KEYS = ("adapter", "base_model", "lora_r", "lora_target_modules", "lora_target_linear")


def read_text(data: bytes | str, source: str = "pasted", folder: Path | None = None) -> ImportedRecipe:
    """A recipe from its text: an Unsloth snippet, an adapter_config.json, or an axolotl / LLaMA-Factory YAML
    (``folder``: where the recipe's relative paths, a DeepSpeed JSON, are looked for)."""
    text = as_text(data)
    if unsloth.is_snippet(text):
        return unsloth.read(text, source)
    stripped = text.lstrip()
    if stripped.startswith("{"):
        return adapter.from_text(text, source)
    data_map = load_yaml(text)
    if any(k in data_map for k in _LLAMAFACTORY_KEYS) and not any(k in data_map for k in ("adapter", "lora_r")):
        return llamafactory.read(data_map, source, folder)
    if any(k in data_map for k in _AXOLOTL_KEYS):
        return axolotl.read(data_map, source, folder)
    raise InputError("recipe", "is neither an axolotl YAML (adapter, lora_r, base_model ...) nor a LLaMA-Factory "
                     "YAML (finetuning_type, lora_target, model_name_or_path ...)")


def open_source(spec: str, revision: str | None = None, client: adapter.HubClient | None = None) -> ImportedRecipe:
    """A recipe file, an adapter folder, or a Hub adapter id (``owner/name``)."""
    path = Path(spec).expanduser()
    if path.is_dir():
        return adapter.open_folder(path)
    if path.is_file():
        size = path.stat().st_size
        if size > MAX_RECIPE_BYTES:
            raise InputError("recipe", f"{size:,} bytes is above the limit of {MAX_RECIPE_BYTES:,} bytes for a "
                             "recipe; give the training YAML, the Python snippet or the adapter_config.json")
        return read_text(path.read_bytes(), path.name, path.parent)
    if adapter.looks_like_repo_id(spec):
        return adapter.open_hub(spec, revision, client)
    raise InputError("recipe", f"{spec!r} is neither a file, an adapter folder nor a Hub id (owner/name)")
