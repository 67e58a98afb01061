"""A recipe read from another tool's file: what it asks of PEFT, of the memory, and which model.

Each reader (:mod:`.axolotl`, :mod:`.llamafactory`, :mod:`.unsloth`, :mod:`.adapter`) returns an
:class:`ImportedRecipe`; :func:`lora_core.imports.statement.state` then replays, on the model,
what the tool's own code builds from it and what PEFT wraps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import InputError
from ..recipes.engines import Parallel


@dataclass(frozen=True)
class ImportedRecipe:
    """One recipe, read but not yet applied to a model.

    Attributes:
        tool: ``axolotl``, ``llamafactory``, ``unsloth`` or ``peft`` (an adapter_config.json).
        label: display name with the version the reader follows (``axolotl 0.19.0``).
        source: where it came from (a file name, a Hub id, ``pasted``).
        model_id: the base model the recipe names (``base_model``, ``model_name_or_path``), if any.
        lora: the ``LoraConfig`` keywords the tool builds before it looks at the model.
        model_rules: the tool's own rules that need the model (``axolotl-target-linear``,
            ``llamafactory-all``, ``llamafactory-composite``), applied by :mod:`.tool_rules`.
        options: the tool's settings those rules read (``freeze_vision_tower``, ...).
        memory: :class:`~lora_core.memory.MemorySettings` keywords the tool trains with (the recipe's
            keys, the tool's defaults for those it leaves out: :mod:`lora_core.recipes.shape`).
        epochs: passes over the dataset (``None`` when the recipe cannot say, e.g. an Unsloth snippet
            without its trainer).
        parallel: the DeepSpeed / FSDP keys it states, as written.
        strategy: what they mean: the strategy and offload (:func:`lora_core.recipes.engines.read_parallel`).
        unread: top-level fields this importer does not read (listed, never dropped silently).
        notes: what the tool does that the statement cannot show, one sentence each.
        adapter: for a saved adapter, its tensors ``name -> (dtype, shape)`` (empty otherwise).
    """

    tool: str
    label: str
    source: str
    model_id: str | None
    lora: dict[str, Any]
    model_rules: tuple[str, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)
    memory: dict[str, Any] = field(default_factory=dict)
    epochs: float | None = None
    parallel: dict[str, Any] = field(default_factory=dict)
    strategy: Parallel = field(default_factory=Parallel)
    unread: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    adapter: dict[str, tuple[str, tuple[int, ...]]] = field(default_factory=dict)


def int_field(data: dict, key: str, where: str, default: int | None = None) -> int | None:
    """``data[key]`` as a positive int (YAML ``16``), ``default`` when absent."""
    value = data.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InputError(f"{where}: {key}", f"must be a positive integer, got {value!r}")
    return value


def number_field(data: dict, key: str, where: str) -> float | int | None:
    """``data[key]`` as a positive number, ``None`` when absent."""
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise InputError(f"{where}: {key}", f"must be a positive number, got {value!r}")
    return value


def names_field(value: Any, where: str, key: str) -> list[str] | str | None:
    """A list of module names, or one string (a regex or a name), as the tool passes it to PEFT."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) and 0 < len(v) <= 200 for v in value):
        return list(value)
    raise InputError(f"{where}: {key}", f"must be a module name or a list of names, got {str(value)[:80]}")


def comma_list(value: Any, where: str, key: str) -> list[str] | None:
    """LLaMA-Factory's ``"q_proj, v_proj"`` -> ``["q_proj", "v_proj"]`` (its ``split_arg``)."""
    if value is None:
        return None
    if isinstance(value, str):
        return [item.strip() for item in value.split(",")]
    return names_field(value, where, key)  # type: ignore[return-value]


def unread_fields(data: dict, known: set[str]) -> tuple[str, ...]:
    """The top-level keys of ``data`` the reader did not use, sorted."""
    return tuple(sorted(k for k in data if k not in known))
