"""A saved PEFT adapter, from a local folder or the Hub: its adapter_config.json and tensor header.

Only the safetensors *header* is read (names, dtypes, shapes): locally with huggingface_hub's
``parse_local_safetensors_file_metadata``, on the Hub with ``HfApi.parse_safetensors_file_metadata``
(the per-file call ``get_safetensors_metadata`` makes: two small range requests, no weights;
``get_safetensors_metadata`` itself looks for ``model.safetensors``, which an adapter repo does
not have). The config is read by the existing audit (:mod:`lora_core.planning.audit`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from huggingface_hub import HfApi, parse_local_safetensors_file_metadata
from huggingface_hub.errors import HFValidationError
from huggingface_hub.utils import SafetensorsFileMetadata, validate_repo_id

from ..planning.audit import MAX_ADAPTER_CONFIG_BYTES, parse_adapter_config
from ..errors import InputError
from ..model.guards import load_json_object
from ..model.hub import fast_download
from .recipe import ImportedRecipe

CONFIG_FILE = "adapter_config.json"
WEIGHTS_FILE = "adapter_model.safetensors"
Tensors = dict[str, tuple[str, tuple[int, ...]]]


class HubClient(Protocol):
    """What opening a Hub adapter needs from the Hub (tests pass a fake reading local files)."""

    def download(self, repo_id: str, filename: str, revision: str | None) -> str: ...

    def safetensors_header(self, repo_id: str, filename: str, revision: str | None) -> SafetensorsFileMetadata: ...


class RealHub:
    """The Hugging Face Hub: ``fast_download`` for the config, a header-only read for the tensors."""

    def download(self, repo_id: str, filename: str, revision: str | None) -> str:
        return fast_download(repo_id=repo_id, filename=filename, revision=revision)

    def safetensors_header(self, repo_id: str, filename: str, revision: str | None) -> SafetensorsFileMetadata:
        return HfApi().parse_safetensors_file_metadata(repo_id, filename, revision=revision)


def looks_like_repo_id(text: str) -> bool:
    """``owner/name`` that huggingface_hub accepts as a repo id (and is not a local path)."""
    if text.count("/") != 1 or Path(text).expanduser().exists():
        return False
    try:
        validate_repo_id(text)
    except HFValidationError:
        return False
    return True


def tensors_of(meta: SafetensorsFileMetadata) -> Tensors:
    """``name -> (dtype, shape)`` from a safetensors header."""
    return {name: (info.dtype, tuple(info.shape)) for name, info in meta.tensors.items()}


def from_config(config: dict[str, Any], tensors: Tensors, source: str, notes: list[str]) -> ImportedRecipe:
    """The recipe of a saved adapter: its config as PEFT reads it, and its tensors."""
    _, ignored = parse_adapter_config(config)  # refuses non-LoRA and invalid configs, by the audit's rules
    model = config.get("base_model_name_or_path")
    return ImportedRecipe(tool="peft", label="PEFT adapter", source=source,
                          model_id=model if isinstance(model, str) and model else None, lora=dict(config),
                          unread=tuple(ignored), notes=tuple(notes), adapter=tensors)


def from_text(text: str, source: str) -> ImportedRecipe:
    """A pasted or uploaded adapter_config.json, without its tensors."""
    config = load_json_object(text, CONFIG_FILE, limit=MAX_ADAPTER_CONFIG_BYTES)
    return from_config(config, {}, source, ["a config alone: the saved tensors are not checked"])


def open_folder(folder: str | Path) -> ImportedRecipe:
    """A local adapter folder (``adapter_config.json`` and, if present, ``adapter_model.safetensors``)."""
    folder = Path(folder)
    config = _read_config(folder / CONFIG_FILE)
    weights = folder / WEIGHTS_FILE
    notes: list[str] = []
    tensors: Tensors = {}
    if weights.is_file():
        tensors = tensors_of(_header(lambda: parse_local_safetensors_file_metadata(weights)))
    else:
        notes.append(f"no {WEIGHTS_FILE} in the folder: the saved tensors are not checked against the config")
    return from_config(config, tensors, str(folder), notes)


def open_hub(repo_id: str, revision: str | None = None, client: HubClient | None = None) -> ImportedRecipe:
    """An adapter on the Hub by repo id: its config and its tensor header, no weights downloaded."""
    client = client or RealHub()
    try:
        path = client.download(repo_id, CONFIG_FILE, revision)
    except ConnectionError as e:
        raise InputError("adapter", f"{repo_id}: {e}; give a local adapter folder instead") from None
    except Exception as e:  # the Hub's errors: not found, gated, bad revision
        raise InputError("adapter", f"{repo_id} has no readable {CONFIG_FILE} ({type(e).__name__}: "
                         f"{str(e).splitlines()[0][:200]})") from None
    config = _read_config(Path(path))
    notes: list[str] = []
    try:
        tensors = tensors_of(_header(lambda: client.safetensors_header(repo_id, WEIGHTS_FILE, revision)))
    except InputError as e:
        tensors = {}
        notes.append(f"{WEIGHTS_FILE} header not read ({e.message}): the saved tensors are not checked")
    return from_config(config, tensors, repo_id, notes)


def _header(read) -> SafetensorsFileMetadata:
    try:
        return read()
    except Exception as e:  # SafetensorsParsingError, a network error, a missing file
        raise InputError(WEIGHTS_FILE, f"{type(e).__name__}: {str(e).splitlines()[0][:200]}") from None


def _read_config(path: Path) -> dict[str, Any]:
    try:
        if path.stat().st_size > MAX_ADAPTER_CONFIG_BYTES:
            raise InputError(CONFIG_FILE, f"{path.stat().st_size:,} bytes is above the limit of "
                             f"{MAX_ADAPTER_CONFIG_BYTES:,} bytes")
        data = path.read_bytes()
    except OSError as e:
        raise InputError(CONFIG_FILE, f"cannot read {str(path)!r} ({e.strerror})") from None
    return load_json_object(data, CONFIG_FILE, limit=MAX_ADAPTER_CONFIG_BYTES)
