"""Where a model's config comes from: a preset, the Hub, a local path, or an upload.

Every source returns a :class:`ModelSource`: the parsed ``PretrainedConfig`` plus where it came
from. Only ``config.json`` is ever read; weights are never requested.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import transformers
from huggingface_hub.errors import (
    GatedRepoError,
    HFValidationError,
    LocalEntryNotFoundError,
    OfflineModeIsEnabled,
    RepositoryNotFoundError,
    RevisionNotFoundError,
    EntryNotFoundError,
    StrictDataclassError,
)
from huggingface_hub.utils import validate_repo_id
from transformers import CONFIG_MAPPING, AutoConfig, PretrainedConfig

from . import presets
from ..errors import InputError
from .hub import fast_download
from .config_fields import check_fields
from .guards import MAX_CONFIG_BYTES, check_sizes

SourceKind = Literal["preset", "hub", "local", "upload"]
Downloader = Callable[..., str]
ALLOWED_ROOT_ENV = "LORA_EXPLORER_ALLOWED_ROOT"


@dataclass(frozen=True)
class ModelSource:
    """A model config and where it came from.

    Attributes:
        label: what the user picked: a preset or Hub id, a path, or an uploaded file name.
        kind: ``preset``, ``hub``, ``local`` or ``upload``.
        config: the parsed transformers config (``auto_map`` dropped for native types).
        raw: the config dict as read.
        revision: the Hub revision asked for, if any.
        trust_remote_code: whether the user allowed code from the repository.
    """

    label: str
    kind: SourceKind
    config: PretrainedConfig = field(repr=False, compare=False)
    raw: dict[str, Any] = field(repr=False, compare=False)
    revision: str | None = None
    trust_remote_code: bool = False


def parse_config_bytes(data: bytes, where: str) -> dict[str, Any]:
    """Parse ``config.json`` bytes into a dict, with a clear message when they are not one."""
    if len(data) > MAX_CONFIG_BYTES:
        raise InputError(where, f"{len(data):,} bytes is above the limit of {MAX_CONFIG_BYTES:,} "
                         "bytes for a config.json; upload the model's config.json, not its weights")
    try:
        d = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:  # JSONDecodeError, or an int of > 4300 digits
        raise InputError(where, f"is not valid JSON ({e}); upload the model's config.json") from None
    except RecursionError:
        raise InputError(where, "nests JSON too deeply to be a config.json; upload the model's "
                         "config.json") from None
    if not isinstance(d, dict):
        raise InputError(where, "holds JSON but not an object; a config.json is a JSON object")
    return d


def config_from_dict(d: dict[str, Any], where: str, trust_remote_code: bool = False) -> PretrainedConfig:
    """Build a transformers config from a raw dict, refusing remote code unless allowed.

    ``auto_map`` is dropped when transformers has a native class for ``model_type``.
    """
    model_type = d.get("model_type")
    if not isinstance(model_type, str) or not model_type:
        problem = "missing" if model_type in (None, "") else f"must be a model type name (text), got {model_type!r:.60}"
        raise InputError(f"{where}: model_type", f"{problem}: this JSON is not a transformers model "
                         "config (a config.json has a 'model_type' field)")
    check_sizes(d)
    check_fields(d)
    if model_type not in CONFIG_MAPPING:
        if "auto_map" in d and not trust_remote_code:
            raise InputError("trust_remote_code", f"model_type {model_type!r} is not built into "
                             "transformers and needs code from the model repository, which is off "
                             "by default; enable 'trust remote code' (CLI: --trust-remote-code) "
                             "only if you trust that repository")
        raise InputError(f"{where}: model_type", f"unknown model_type {model_type!r}: transformers "
                         f"{transformers.__version__} has no such architecture")
    clean = copy.deepcopy({k: v for k, v in d.items() if k != "auto_map"})  # transformers edits nested dicts
    try:
        return CONFIG_MAPPING[model_type].from_dict(clean)
    except (TypeError, ValueError, KeyError, AttributeError, IndexError, ArithmeticError,
            StrictDataclassError) as e:  # the last: a config class's own validators
        raise InputError(where, f"transformers rejects this {model_type} config: "
                         f"{' '.join(str(e).split())}") from None


def from_preset(model_id: str) -> ModelSource:
    """A built-in preset by its Hub id (works offline)."""
    if not presets.is_preset(model_id):
        raise InputError("preset", f"no preset named {model_id!r}; choose one of {presets.preset_ids()}")
    raw = presets.preset_dict(model_id)
    return ModelSource(model_id, "preset", config_from_dict(raw, model_id), raw)


def from_upload(data: bytes, filename: str = "config.json") -> ModelSource:
    """An uploaded ``config.json``."""
    raw = parse_config_bytes(data, filename)
    return ModelSource(filename, "upload", config_from_dict(raw, filename), raw)


def from_config(config: PretrainedConfig, label: str | None = None) -> ModelSource:
    """A config already parsed (a benchmark's or a validation case's), labelled by its model type."""
    return ModelSource(label or config.model_type, "upload", config, config.to_dict())


def allowed_root_from_env() -> Path | None:
    """The folder local paths must stay inside (``LORA_EXPLORER_ALLOWED_ROOT``), if set."""
    root = os.environ.get(ALLOWED_ROOT_ENV)
    return Path(root).resolve() if root else None


def from_path(path: str | Path, allowed_root: Path | None = None) -> ModelSource:
    """A local folder holding ``config.json``, or the path of a config JSON file.

    With ``allowed_root``, the resolved path (``..`` and links followed) must lie inside it.
    """
    p = Path(path).expanduser().resolve()
    if allowed_root is not None and not p.is_relative_to(allowed_root.resolve()):
        raise InputError("path", f"{str(path)!r} is outside the allowed folder {str(allowed_root)!r} "
                         f"(set {ALLOWED_ROOT_ENV} to change it)")
    file = p / "config.json" if p.is_dir() else p
    if not file.is_file():
        raise InputError("path", f"no config.json at {str(path)!r}; give a model folder or a config.json file")
    _check_file_size(file, str(path))
    raw = parse_config_bytes(file.read_bytes(), str(path))
    return ModelSource(str(path), "local", config_from_dict(raw, str(path)), raw)


def _check_file_size(file: Path, where: str) -> None:
    """Refuse a file over the config limit before reading it into memory."""
    size = file.stat().st_size
    if size > MAX_CONFIG_BYTES:
        raise InputError(where, f"{size:,} bytes is above the limit of {MAX_CONFIG_BYTES:,} bytes for a "
                         "config.json (LORA_EXPLORER_MAX_UPLOAD_BYTES); give the model's config.json")


def needs_remote_code(raw: dict[str, Any]) -> bool:
    """True when transformers lacks ``raw``'s ``model_type`` and the repo ships code (``auto_map``)."""
    return raw.get("model_type") not in CONFIG_MAPPING and "auto_map" in raw


def remote_code_warning(repo_id: str) -> str:
    """What to show (and have acknowledged) before loading ``repo_id`` with remote code."""
    return (f"Trusting remote code downloads Python files from {repo_id!r} and runs them inside this "
            "server, with its permissions. Only do this for a repository you trust, ideally pinned "
            "to a commit with 'revision'. Built-in architectures never need it.")


def from_hub(
    repo_id: str,
    revision: str | None = None,
    token: str | None = None,
    trust_remote_code: bool = False,
    download: Downloader = fast_download,
) -> ModelSource:
    """A model on the Hugging Face Hub: only its ``config.json`` is fetched.

    ``token`` defaults to ``HF_TOKEN``. ``download`` is :func:`lora_core.model.hub.fast_download`
    (``hf_hub_download`` that fails fast offline); tests pass a fake.
    """
    try:
        validate_repo_id(repo_id)
    except HFValidationError as e:
        raise InputError("model id", f"{repo_id!r} is not a valid Hub id ({e})") from None
    token = token or os.environ.get("HF_TOKEN") or None
    path = _download_config(repo_id, revision, token, download)
    _check_file_size(Path(path), f"{repo_id}/config.json")
    raw = parse_config_bytes(Path(path).read_bytes(), f"{repo_id}/config.json")
    if trust_remote_code and raw.get("model_type") not in CONFIG_MAPPING:
        check_sizes(raw)
        check_fields(raw)
        config = AutoConfig.from_pretrained(repo_id, revision=revision, token=token, trust_remote_code=True)
    else:
        config = config_from_dict(raw, repo_id)
    return ModelSource(repo_id, "hub", config, raw, revision, trust_remote_code)


def _download_config(repo_id: str, revision: str | None, token: str | None, download: Downloader) -> str:
    """Fetch ``config.json`` only, turning Hub errors into messages that say what to do."""
    try:
        return download(repo_id=repo_id, filename="config.json", revision=revision, token=token)
    except GatedRepoError:
        raise InputError("token", f"{repo_id!r} is gated: accept its licence on the Hub and set "
                         "HF_TOKEN to a token that has access") from None
    except RevisionNotFoundError:
        raise InputError("revision", f"{repo_id!r} has no revision {revision!r}; use a branch, "
                         "tag or commit that exists, or leave it empty for main") from None
    except RepositoryNotFoundError:
        raise InputError("model id", f"no model {repo_id!r} on the Hub (or it is private: set "
                         "HF_TOKEN); check the spelling, e.g. meta-llama/Meta-Llama-3.1-8B") from None
    except (OfflineModeIsEnabled, LocalEntryNotFoundError, ConnectionError, TimeoutError):
        raise InputError("model id", f"could not reach the Hugging Face Hub to fetch {repo_id!r}; "
                         "pick a preset, a local folder or upload its config.json") from None
    except EntryNotFoundError:
        raise InputError("model id", f"{repo_id!r} has no config.json; is it a transformers model?") from None
    except OSError as e:
        raise InputError("model id", f"could not fetch {repo_id!r} from the Hub ({type(e).__name__}); "
                         "pick a preset, a local folder or upload its config.json") from None


def resolve(spec: str, revision: str | None = None, trust_remote_code: bool = False,
            allowed_root: Path | None = None) -> ModelSource:
    """What the CLI means by MODEL: a preset id, an existing path, else a Hub id.

    ``allowed_root`` defaults to ``LORA_EXPLORER_ALLOWED_ROOT`` when that is set.
    """
    allowed_root = allowed_root if allowed_root is not None else allowed_root_from_env()
    if presets.is_preset(spec):
        return from_preset(spec)
    if Path(spec).expanduser().exists() or spec.endswith(".json"):
        return from_path(spec, allowed_root)
    return from_hub(spec, revision=revision, trust_remote_code=trust_remote_code)
