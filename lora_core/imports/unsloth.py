"""An Unsloth ``FastLanguageModel.get_peft_model(...)`` call, pasted as Python, read with ``ast``.

The snippet is parsed, never executed: only literal keyword values are read. Followed from
Unsloth's ``FastLlamaModel.get_peft_model`` (``models/llama.py``): its defaults (``r=16``,
``lora_alpha=16``, ``_DEFAULT_TARGET_MODULES``), the rank type check, ``**kwargs`` passed on to
``LoraConfig``, and ``_redirect_embedding_targets`` (``models/_utils.py``), which moves
``embed_tokens`` / ``lm_head`` from ``target_modules`` to ``modules_to_save``. The same snippet's
``from_pretrained(...)`` gives the model, ``max_seq_length`` and ``load_in_4bit`` (Unsloth's
default: on); a ``per_device_train_batch_size=`` anywhere gives the batch.
"""

from __future__ import annotations

import ast
import dataclasses
from typing import Any

from peft import LoraConfig

from ..errors import InputError
from ..recipes import shape as shapes
from ..recipes.capabilities import UNSLOTH_VERSION
from .reading import literal, parse_python
from .recipe import ImportedRecipe

WHERE = "unsloth"
DEFAULT_TARGET_MODULES = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
DEFAULTS: dict[str, Any] = {"r": 16, "lora_alpha": 16, "lora_dropout": 0.0, "bias": "none",
                            "use_rslora": False, "target_modules": DEFAULT_TARGET_MODULES}
# get_peft_model's own parameters that do not reach LoraConfig (read and left).
NOT_TO_LORA = ("use_gradient_checkpointing", "random_state", "max_seq_length", "temporary_location", "qat_scheme",
               "offload_layers", "checkpoint_skip_layers", "finetune_last_n_layers", "loftq_config")
EMBEDDING_LEAVES = ("embed_tokens", "lm_head")
_LORA_FIELDS = {f.name for f in dataclasses.fields(LoraConfig)}


def is_snippet(text: str) -> bool:
    """Python holding a ``get_peft_model(...)`` call (YAML, even when it parses as Python, holds none)."""
    if "get_peft_model" not in text:
        return False
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return "get_peft_model(" in text  # broken Python: let the reader say where
    return find_call(tree, "get_peft_model") is not None


def find_call(tree: ast.Module, attr: str) -> ast.Call | None:
    """The first ``X.<attr>(...)`` call in the snippet."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == attr:
            return node
    return None


def keywords(call: ast.Call) -> dict[str, Any]:
    """The call's keyword arguments as literals (``**kw`` is refused: it cannot be read)."""
    out = {}
    for kw in call.keywords:
        if kw.arg is None:
            raise InputError(f"{WHERE}: **{ast.unparse(kw.value)[:40]}", "cannot be read without running the "
                             "snippet; write the keyword arguments out")
        if kw.arg != "model":
            out[kw.arg] = literal(kw.value, f"{WHERE}: {kw.arg}")
    return out


def read(text: str, source: str) -> ImportedRecipe:
    """The recipe Unsloth's ``get_peft_model`` would build from the pasted snippet."""
    tree = parse_python(text, WHERE)
    call = find_call(tree, "get_peft_model")
    if call is None:
        raise InputError(WHERE, "no get_peft_model(...) call in the snippet; paste the "
                         "FastLanguageModel.get_peft_model(model, r=..., target_modules=[...]) call")
    given = keywords(call)
    r = given.get("r", DEFAULTS["r"])
    if type(r) is not int or r <= 0:
        raise InputError(f"{WHERE}: r", f"Unsloth needs a positive int rank (it raises TypeError), got {r!r}")
    if type(given.get("use_rslora", False)) is not bool:
        raise InputError(f"{WHERE}: use_rslora", f"must be True or False, got {given['use_rslora']!r}")
    unknown = [k for k in given if k not in DEFAULTS and k not in NOT_TO_LORA and k not in _LORA_FIELDS]
    if unknown:
        raise InputError(f"{WHERE}: {unknown[0]}", "is neither a get_peft_model parameter nor a LoraConfig field "
                         "(LoraConfig raises TypeError)")
    lora = {**DEFAULTS, **{k: v for k, v in given.items() if k not in NOT_TO_LORA}}
    lora["target_modules"], lora["modules_to_save"], moved = redirect_embedding_targets(
        lora["target_modules"], lora.get("modules_to_save"))
    _check_saved(lora["modules_to_save"])
    notes = [f"Unsloth moves {', '.join(moved)} from target_modules to modules_to_save: trained in full, not as LoRA"
             ] if moved else []
    if given.get("finetune_last_n_layers") is not None:
        notes.append("finetune_last_n_layers picks layers from the model at run time; not replayed here")
    rules = () if "target_parameters" in given else ("unsloth-moe-auto",)
    model_id, memory, epochs = _shape(tree, given, notes)
    return ImportedRecipe(tool="unsloth", label=f"Unsloth {UNSLOTH_VERSION}", source=source, model_id=model_id,
                          lora=lora, model_rules=rules, memory=memory, epochs=epochs, notes=tuple(notes))


def redirect_embedding_targets(targets: Any, saved: Any) -> tuple[Any, list[str] | None, tuple[str, ...]]:
    """Unsloth's ``_redirect_embedding_targets``: ``(targets, modules_to_save, moved)``.

    >>> redirect_embedding_targets(["q_proj", "lm_head"], None)
    (['q_proj'], ['lm_head'], ('lm_head',))
    """
    if type(targets) not in (list, tuple):
        return targets, saved, ()
    targets = list(dict.fromkeys(targets))
    moved = tuple(t for t in targets if isinstance(t, str) and t.rsplit(".", 1)[-1] in EMBEDDING_LEAVES)
    if not moved:
        return targets, saved, ()
    kept = [t for t in targets if t not in moved]
    out = [] if saved is None else [saved] if isinstance(saved, str) else list(saved)
    out.extend(t for t in moved if t not in out)
    return kept, out, moved


def _check_saved(saved: list[str] | None) -> None:
    """Unsloth's own refusal: only ``lm_head``, ``embed_tokens`` and norm layers may be saved in full."""
    for module in saved or ():
        leaf = str(module).rsplit(".", 1)[-1]
        if leaf not in EMBEDDING_LEAVES and "norm" not in leaf:
            raise InputError(f"{WHERE}: modules_to_save", f"Unsloth refuses {module!r}: only 'lm_head', "
                             "'embed_tokens' and normalization layers are allowed (it raises TypeError)")


_LOADING = ("max_seq_length", "load_in_4bit", "load_in_8bit")  # from_pretrained's, in the shape table
_TRAINER = ("per_device_train_batch_size", "num_train_epochs")  # trl's SFTConfig, anywhere in the snippet


def _shape(tree: ast.Module, given: dict[str, Any], notes: list[str]) -> tuple[str | None, dict[str, Any], float | None]:
    """The model id, the MemorySettings keywords and the epochs the snippet's calls state, read through the
    Unsloth row of :mod:`lora_core.recipes.shape` (its defaults for what ``from_pretrained`` leaves out)."""
    keys: dict[str, Any] = {k: given[k] for k in ("use_gradient_checkpointing",) if k in given}
    call = find_call(tree, "from_pretrained")
    model_id = None
    if call is not None:
        kw = {k.arg: k.value for k in call.keywords if k.arg}
        value = _maybe_literal(kw.get("model_name") or (call.args[0] if call.args else None))
        model_id = value if isinstance(value, str) else None
        keys |= _literals(kw, _LOADING, notes)
    keys |= _literals({n.arg: n.value for n in ast.walk(tree) if isinstance(n, ast.keyword) and n.arg in _TRAINER},
                      _TRAINER, notes)
    shape = shapes.read("unsloth", keys, WHERE)
    if call is None:  # the snippet does not load the model: its length and base are not stated
        shape.pop("seq_len"), shape.pop("base_dtype")
    epochs = shape.pop("epochs", None)
    return model_id, {"trainer": "unsloth", **shape}, epochs


def _literals(kw: dict[str, ast.expr], names: tuple[str, ...], notes: list[str]) -> dict[str, Any]:
    out = {}
    for name in names:
        if name in kw:
            value = _maybe_literal(kw[name])
            if value is None:
                notes.append(f"{name}={ast.unparse(kw[name])[:40]} is not a literal: Unsloth's default is assumed")
            else:
                out[name] = value
    return out


def _maybe_literal(node: ast.expr | None) -> Any:
    if node is None:
        return None
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, RecursionError):
        return None
