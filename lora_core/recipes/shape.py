"""The training shape a recipe states, in each tool's own keys: one table per tool, written and read by the same rows.

The shape is what the memory estimate and the time are computed for: tokens per sequence,
sequences per step per GPU, epochs, the base weights (bf16, LLM.int8, NF4), gradient checkpointing
and a fused attention kernel. ``write("axolotl", shape)`` gives the keys a recipe carries;
``read("axolotl", data)`` gives the shape the tool trains from a file (the tool's own default where
the file leaves a key out), so an export read back is the same shape. Read off each tool at its
pinned version (checked by ``tests/recipes/test_shape_replay.py`` in the replay venv):

- axolotl 0.19.0 (``utils/schemas``): ``sequence_len`` (default 512), ``micro_batch_size`` (1),
  ``num_epochs`` (1.0), ``gradient_checkpointing`` (False; ``offload``/``offload_disk`` also
  checkpoint), ``attn_implementation`` (the legacy ``*_attention: true`` flags are mapped to it by
  ``normalize_attn_implementation``); ``loaders/model.py`` quantizes only with ``adapter: qlora`` +
  ``load_in_4bit`` (NF4) or ``adapter: lora`` + ``load_in_8bit``.
- LLaMA-Factory 0.9.5 (``hparams``): ``cutoff_len`` (2048), ``per_device_train_batch_size``
  (transformers' 8), ``num_train_epochs`` (3.0), ``disable_gradient_checkpointing`` (False),
  ``flash_attn`` (``auto``; ``disabled`` is eager), ``quantization_bit`` 4 or 8 (bitsandbytes).
- Unsloth (``FastLanguageModel.from_pretrained``): ``max_seq_length`` (2048), ``load_in_4bit``
  (True), ``load_in_8bit`` (False); ``get_peft_model(use_gradient_checkpointing="unsloth")``;
  Unsloth picks its own attention kernel. Batch and epochs go to trl's ``SFTConfig`` (transformers'
  defaults 8 and 3.0).
- PEFT with transformers' ``Trainer``: ``TrainingArguments`` (``per_device_train_batch_size`` 8,
  ``num_train_epochs`` 3.0, ``gradient_checkpointing`` False), ``from_pretrained``'s
  ``attn_implementation`` (``sdpa`` by default) and ``BitsAndBytesConfig``; trl's ``max_length``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from ..errors import InputError
from ..memory import MemorySettings


@dataclass(frozen=True)
class Shape:
    """How the plan is trained, as a recipe can state it (the :class:`MemorySettings` fields and epochs)."""

    seq_len: int = 2048
    batch_size: int = 1
    epochs: float = 3.0
    base_dtype: str = "bf16"
    gradient_checkpointing: bool = True
    flash_attention: bool = True

    @classmethod
    def of(cls, settings: MemorySettings, epochs: float = 3.0) -> Shape:
        """The shape of the page's settings and its epochs."""
        return cls(settings.seq_len, settings.batch_size, float(epochs), settings.base_dtype,
                   settings.gradient_checkpointing, settings.flash_attention)

    def memory(self) -> dict[str, Any]:
        """:class:`MemorySettings` keywords (the trainer is the tool's)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "epochs"}


@dataclass(frozen=True)
class Number:
    """One of our numbers held by one key of the tool, and the tool's default when the key is absent."""

    ours: str
    key: str
    kind: type
    default: int | float | None  # None: the file does not hold it when absent (another part of the script does)


@dataclass(frozen=True)
class Switch:
    """One of our flags held by one key: the value written for each side, others the tool reads alike."""

    ours: str
    key: str
    written: dict[bool, Any]
    default: Any
    also: dict[Any, bool]  # other values of the key and what they mean (axolotl's ``offload`` checkpoints)
    others: bool | None = None  # what any other name means (every attention kernel but eager is fused)


@dataclass(frozen=True)
class ToolShape:
    """One tool's keys for the shape; ``bases``: the keys of each base dtype, the first that matches is read."""

    tool: str
    numbers: tuple[Number, ...]
    switches: tuple[Switch, ...]
    bases: tuple[tuple[str, dict[str, Any]], ...]
    base_defaults: dict[str, Any]
    refusal: tuple[str, str]  # the key and what the tool says of base keys no row matches


_CKPT = "gradient_checkpointing"
# axolotl 0.19.0 utils/schemas/enums.py LEGACY_ATTN_FLAG_TO_IMPL (checked in the replay test).
AXOLOTL_LEGACY_ATTENTION = {"xformers_attention": "xformers", "sage_attention": "sage",
                            "flex_attention": "flex_attention", "flash_attention": "flash_attention_2",
                            "sdp_attention": "sdpa", "eager_attention": "eager"}

TABLES: dict[str, ToolShape] = {t.tool: t for t in (
    ToolShape("axolotl",
              (Number("seq_len", "sequence_len", int, 512), Number("batch_size", "micro_batch_size", int, 1),
               Number("epochs", "num_epochs", float, 1.0)),
              (Switch(_CKPT, _CKPT, {True: True, False: False}, False, {"offload": True, "offload_disk": True}),
               Switch("flash_attention", "attn_implementation", {True: "sdpa", False: "eager"}, None, {None: True}, True)),
              (("nf4", {"adapter": "qlora", "load_in_4bit": True, "load_in_8bit": False}),
               ("int8", {"adapter": "lora", "load_in_8bit": True}), ("bf16", {"adapter": "lora"})),
              {"load_in_4bit": False, "load_in_8bit": False},
              ("load_in_4bit", "adapter: qlora needs load_in_4bit: true and no load_in_8bit (axolotl's validate_qlora "
                               "raises)")),
    ToolShape("llamafactory",
              (Number("seq_len", "cutoff_len", int, 2048), Number("batch_size", "per_device_train_batch_size", int, 8),
               Number("epochs", "num_train_epochs", float, 3.0)),
              (Switch(_CKPT, "disable_gradient_checkpointing", {True: False, False: True}, False, {}),
               Switch("flash_attention", "flash_attn", {True: "sdpa", False: "disabled"}, "auto",
                      {"auto": True, "fa2": True, "fa3": True})),
              (("nf4", {"quantization_bit": 4}), ("int8", {"quantization_bit": 8}), ("bf16", {"quantization_bit": None})),
              {"quantization_bit": None},
              ("quantization_bit", "must be 4 or 8 for LoRA on bitsandbytes (LLaMA-Factory raises)")),
    ToolShape("unsloth",
              (Number("seq_len", "max_seq_length", int, 2048), Number("batch_size", "per_device_train_batch_size", int, None),
               Number("epochs", "num_train_epochs", float, None)),
              (Switch(_CKPT, "use_gradient_checkpointing", {True: "unsloth", False: False}, "unsloth", {True: True}),),
              (("nf4", {"load_in_4bit": True, "load_in_8bit": False}), ("int8", {"load_in_4bit": False, "load_in_8bit": True}),
               ("bf16", {"load_in_4bit": False, "load_in_8bit": False})),
              {"load_in_4bit": True, "load_in_8bit": False},
              ("load_in_8bit", "Unsloth loads in 4bit or 8bit or 16bit, not a combination (it raises RuntimeError; "
                               "load_in_4bit is True by default: set load_in_4bit=False for 8-bit)")),
    ToolShape("python",
              (Number("seq_len", "max_length", int, None), Number("batch_size", "per_device_train_batch_size", int, 8),
               Number("epochs", "num_train_epochs", float, 3.0)),
              (Switch(_CKPT, _CKPT, {True: True, False: False}, False, {}),
               Switch("flash_attention", "attn_implementation", {True: "sdpa", False: "eager"}, None, {None: True}, True)),
              (("nf4", {"load_in_4bit": True}), ("int8", {"load_in_8bit": True}), ("bf16", {})),
              {"load_in_4bit": False, "load_in_8bit": False},
              ("load_in_4bit", "BitsAndBytesConfig loads in 4-bit or 8-bit, not both")),
)}


def write(tool: str, shape: Shape) -> dict[str, Any]:
    """The tool's keys for ``shape``, in table order (base keys, numbers, switches); a base key left at
    an off default (``load_in_8bit: false``) is not written."""
    table = TABLES[tool]
    out = {k: v for k, v in dict(table.bases)[shape.base_dtype].items()
           if v is not None and not (v is False and table.base_defaults.get(k) is False)}
    for n in table.numbers:
        value = getattr(shape, n.ours)
        out[n.key] = float(value) if n.kind is float else int(value)
    for s in table.switches:
        out[s.key] = s.written[getattr(shape, s.ours)]
    return out


def read(tool: str, data: dict[str, Any], where: str | None = None) -> dict[str, Any]:
    """Our fields the tool trains with from ``data`` (its keys; the tool's defaults for absent ones).

    Returns :class:`Shape` keywords; a number whose key is absent and has no default in the file
    (Unsloth's batch, a script's ``max_length``) is left out.

    Raises:
        InputError: ``tool: key: message`` for a value the tool refuses.
    """
    table, where = TABLES[tool], where or tool
    out: dict[str, Any] = {"base_dtype": _base(table, data, where)}
    for n in table.numbers:
        value = data.get(n.key, n.default)
        if value is not None:
            out[n.ours] = _number(value, n, where)
    for s in table.switches:
        out[s.ours] = _switch(data.get(s.key, s.default), s, where)
    if tool == "unsloth":
        out["flash_attention"] = True  # Unsloth's own attention kernels
    return out


def axolotl_attention(data: dict[str, Any], where: str = "axolotl") -> dict[str, Any]:
    """axolotl's ``normalize_attn_implementation``: a legacy ``*_attention: true`` flag becomes
    ``attn_implementation`` (both given: axolotl raises)."""
    flags = [f for f in AXOLOTL_LEGACY_ATTENTION if data.get(f)]
    if flags and data.get("attn_implementation"):
        raise InputError(f"{where}: attn_implementation", f"cannot be combined with legacy attention flags "
                         f"({', '.join(sorted(flags))}); axolotl raises: set only attn_implementation")
    if flags:
        data = {**data, "attn_implementation": AXOLOTL_LEGACY_ATTENTION[flags[0]]}
    return {k: v for k, v in data.items() if k not in AXOLOTL_LEGACY_ATTENTION}


def _base(table: ToolShape, data: dict[str, Any], where: str) -> str:
    keys = list(dict.fromkeys([k for _, row in table.bases for k in row] + list(table.base_defaults)))
    given = {k: data.get(k, table.base_defaults.get(k)) for k in keys}
    for dtype, row in table.bases:
        if all(_same(given[k], v) for k, v in row.items()):
            return dtype
    key, message = table.refusal
    raise InputError(f"{where}: {key}", f"{message}; got " + ", ".join(f"{k}={given[k]!r}" for k in keys))


def _same(value: Any, wanted: Any) -> bool:
    if isinstance(wanted, bool):
        return bool(value) is wanted
    return value == wanted


def _number(value: Any, n: Number, where: str) -> int | float:
    ok = not isinstance(value, bool) and (isinstance(value, int) if n.kind is int else isinstance(value, (int, float)))
    if not ok or not value > 0:
        kind = "integer" if n.kind is int else "number"
        raise InputError(f"{where}: {n.key}", f"must be a positive {kind}, got {value!r}")
    return n.kind(value)


def _switch(value: Any, s: Switch, where: str) -> bool:
    known = [(theirs, ours) for ours, theirs in s.written.items()] + list(s.also.items())
    for theirs, ours in known:
        if value == theirs and type(value) is type(theirs):
            return ours
    if s.others is not None and isinstance(value, str) and value:
        return s.others
    raise InputError(f"{where}: {s.key}", f"must be one of {', '.join(repr(v) for v in s.written.values())}, "
                     f"got {value!r}")
