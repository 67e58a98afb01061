"""Library versions ("as of"): the sourced defaults and the releases whose code changed memory.

A profile runs the default versions unless the user (or a validation case, from its source's
pinned requirements) states others. Each behaviour is tied to the release that changed it:

- bitsandbytes 0.44.0: ``MatMul4Bit.forward`` keeps ``ctx.tensors = (None, B)`` instead of
  ``(A, B)`` (its input), read in the wheels of 0.41.1, 0.42.0, 0.43.1, 0.44.1, 0.45.0, 0.50.2;
- torchao 0.2.0 (commit 6081796b, "perform in chunks"): NF4 quantization in chunks of 1024**2
  elements instead of ``numel x 16`` intermediates;
- torchao 0.3.0 (commit 9dbc5542, "return contiguous quantization_factor"): an ``NF4Tensor`` no
  longer keeps the n/64-element expansion its quantization factors were a view of.

Example: ``before("0.42.0", "bnb_keeps_input_until") is True``.
"""

from __future__ import annotations

from packaging.version import InvalidVersion, Version

from ..errors import InputError

# bitsandbytes: the version requirements-replay.txt installs, whose MatMul4Bit
# tests/replays/qlora_cpu.py runs (it keeps ``ctx.tensors = (None, B)``). torchao: the release
# whose NF4Tensor the torchtune profile models by default (chunked, contiguous factors).
DEFAULT_BITSANDBYTES = "0.50.2"
DEFAULT_TORCHAO = "0.5.0"
# torchtune: its last release (0.6.1, April 2025), whose LoRA recipes have the 0.3.0 behaviour above.
DEFAULT_TORCHTUNE = "0.6.1"
# Versions the UI offers (any PEP 440 version is accepted): the releases whose code was read.
BITSANDBYTES_VERSIONS: tuple[str, ...] = ("0.41.1", "0.42.0", "0.43.1", "0.44.1", "0.45.0", "0.50.2")
TORCHAO_VERSIONS: tuple[str, ...] = ("0.1", "0.2.0", "0.3.0", "0.5.0")
TORCHTUNE_VERSIONS: tuple[str, ...] = ("0.1.0", "0.2.1", "0.3.0", "0.4.0", "0.5.0", "0.6.1")
CHANGES: dict[str, Version] = {"bnb_keeps_input_until": Version("0.44.0"),
                               "torchao_chunked_quantization": Version("0.2.0"),
                               "torchao_contiguous_factor": Version("0.3.0"),
                               "torchtune_chunked_loss": Version("0.3.0"),
                               "torchtune_compile_loss": Version("0.3.0")}


def before(version: str, change: str) -> bool:
    """Whether ``version`` predates the release of ``change`` (:data:`CHANGES`)."""
    return Version(version) < CHANGES[change]


def check_version(field: str, value: object, example: str) -> None:
    """An ``InputError`` naming ``field`` unless ``value`` is a PEP 440 version string."""
    if not isinstance(value, str):
        raise InputError(field, f"must be a version string such as {example!r}, got {value!r}")
    try:
        Version(value)
    except InvalidVersion:
        raise InputError(field, f"must be a version such as {example}, got {value!r}") from None


def version_defaults(trainer: str, torchtune: str | None) -> dict[str, object]:
    """Knob defaults a stated trainer version changes, e.g. ``("torchtune", "0.2.1") ->
    {"logits": "bf16_full", "keeps_previous_step": True, "frees_logits": False}``: torchtune before
    0.3.0 computed ``CrossEntropyLoss`` on the bf16 logits in the loop and kept ``logits`` through
    backward into the next forward (the changes above)."""
    if trainer != "torchtune" or torchtune is None:
        return {}
    check_version("torchtune", torchtune, DEFAULT_TORCHTUNE)
    if before(torchtune, "torchtune_chunked_loss"):
        return {"logits": "bf16_full", "keeps_previous_step": True, "frees_logits": False}
    return {}
