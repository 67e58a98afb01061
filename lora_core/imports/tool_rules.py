"""The tools' own rules that need the model: what their code adds to ``target_modules`` on it.

- axolotl ``loaders/adapter.py`` ``find_all_linear_names`` (``lora_target_linear``): the leaf
  name of every module that is a ``torch.nn.Linear`` or whose class name holds ``Linear``, less
  the output embedding of ``loaders/utils.py`` ``get_linear_embedding_layers`` (GPT-2's
  ``Conv1D`` is not one: it finds nothing there).
- LLaMA-Factory ``model/model_utils/misc.py`` ``find_all_linear_modules`` (``lora_target: all``):
  leaf names of ``*Linear*`` (not ``*Embedding*``) classes outside ``lm_head`` (``output_layer``
  on ChatGLM, ``output`` on InternLM2), the projector and, with ``freeze_vision_tower``, the
  vision tower of a composite model; then ``visual.py`` ``patch_target_modules``: on a composite
  model, the full name of every module whose name *contains* a target and no forbidden key.
  The composite table is LLaMA-Factory's ``COMPOSITE_MODELS``, copied to
  ``llamafactory_composite.json`` (a replay test compares it with the installed one).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from torch import nn

from .recipe import ImportedRecipe

_AXOLOTL_OUTPUT = {"gpt_neox": "embed_out", "falcon": "lm_head", "nemotron_h": "lm_head", "bailing_hybrid": "lm_head"}
_LF_OUTPUT = {"chatglm": "output_layer", "internlm2": "output"}


@lru_cache(maxsize=1)
def composite_models() -> dict[str, dict[str, list[str]]]:
    """LLaMA-Factory 0.9.5's ``COMPOSITE_MODELS``: model_type -> its key lists."""
    return json.loads((Path(__file__).parent / "llamafactory_composite.json").read_text())


def axolotl_linear_names(model: nn.Module) -> list[str]:
    """axolotl's ``find_all_linear_names`` on ``model`` (sorted)."""
    names = set()
    for name, module in model.named_modules():
        cls = type(module).__name__
        if isinstance(module, nn.Linear) or ("Linear" in cls and cls != "LlamaLinearScalingRotaryEmbedding"):
            parts = name.split(".")
            names.add(parts[0] if len(parts) == 1 else parts[-1])
    names.discard(_AXOLOTL_OUTPUT.get(getattr(model.config, "model_type", None), "lm_head"))
    return sorted(names)


def llamafactory_linear_modules(model: nn.Module, freeze_vision_tower: bool) -> list[str]:
    """LLaMA-Factory's ``find_all_linear_modules`` on ``model`` (sorted)."""
    model_type = getattr(model.config, "model_type", None)
    forbidden = {"lm_head"} | ({_LF_OUTPUT[model_type]} if model_type in _LF_OUTPUT else set())
    composite = composite_models().get(model_type)
    if composite:
        forbidden |= set(composite["projector_keys"])
        if freeze_vision_tower:
            forbidden |= set(composite["vision_model_keys"])
    names = set()
    for name, module in model.named_modules():
        if any(f in name for f in forbidden):
            continue
        cls = type(module).__name__
        if "Linear" in cls and "Embedding" not in cls:
            names.add(name.split(".")[-1])
    return sorted(names)


def llamafactory_patch_targets(model: nn.Module, options: dict[str, Any], targets: list[str]) -> list[str]:
    """LLaMA-Factory's ``patch_target_modules``: full names on a composite model, else ``targets``."""
    composite = composite_models().get(getattr(model.config, "model_type", None))
    if not composite:
        return targets
    forbidden = set(composite["lora_conflict_keys"])
    for flag, key in (("freeze_vision_tower", "vision_model_keys"), ("freeze_multi_modal_projector", "projector_keys"),
                      ("freeze_language_model", "language_model_keys")):
        if options.get(flag):
            forbidden |= set(composite[key])
    return [name for name, _ in model.named_modules()
            if any(t in name for t in targets) and not any(f in name for f in forbidden)]


def embedding_leaves(model: nn.Module) -> set[str]:
    """Leaf names of the input and output embeddings (LLaMA-Factory's ``resize_vocab``)."""
    wanted = [m for m in (model.get_input_embeddings(), model.get_output_embeddings()) if m is not None]
    return {name.split(".")[-1] for name, module in model.named_modules() if any(module is w for w in wanted)}


def apply(recipe: ImportedRecipe, model: nn.Module) -> tuple[dict[str, Any], list[str]]:
    """The ``LoraConfig`` keywords the tool builds on ``model``, and notes on what it added."""
    lora = dict(recipe.lora)
    notes: list[str] = []
    rules = recipe.model_rules
    if "axolotl-target-linear" in rules:
        found = axolotl_linear_names(model)
        given = lora["target_modules"] if isinstance(lora["target_modules"], list) else [lora["target_modules"]]
        lora["target_modules"] = sorted(set(given) | set(found))
        notes.append(f"lora_target_linear: axolotl adds the linear modules it finds: {', '.join(found) or 'none'}")
    if "llamafactory-all" in rules:
        lora["target_modules"] = llamafactory_linear_modules(model, recipe.options["freeze_vision_tower"])
        notes.append(f"lora_target: all: LLaMA-Factory finds {', '.join(lora['target_modules']) or 'no module'}")
    if "llamafactory-composite" in rules:
        patched = llamafactory_patch_targets(model, recipe.options, lora["target_modules"])
        if patched is not lora["target_modules"]:
            notes.append("LLaMA-Factory names the targets in full on this composite model, leaving out "
                         "the frozen vision tower and projector")
            lora["target_modules"] = patched
    if "llamafactory-resize-vocab" in rules and recipe.options.get("resize_vocab") and not lora["modules_to_save"]:
        lora["modules_to_save"] = sorted(embedding_leaves(model))
        notes.append(f"resize_vocab: LLaMA-Factory trains {', '.join(lora['modules_to_save'])} in full")
    return lora, notes
