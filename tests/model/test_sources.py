"""Model sources: presets, uploads, local paths, and the Hub (a fake client and a real cache)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import huggingface_hub
import pytest
from huggingface_hub import constants as hf_constants
from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

from lora_core.model import presets, sources
from lora_core.errors import InputError

from tests.helpers import PRESETS

TINY = {"model_type": "llama", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
        "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 100}
REMOTE = {"model_type": "my_custom_arch", "auto_map": {"AutoConfig": "configuration_custom.CustomConfig"},
          "hidden_size": 64}
COMMIT = "a" * 40


def _write(folder: Path, config: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config))
    return folder


# --- presets -----------------------------------------------------------------------------

@pytest.mark.parametrize("model_id", PRESETS)
def test_preset_loads_its_real_config(model_id: str) -> None:
    src = sources.from_preset(model_id)
    assert (src.label, src.kind) == (model_id, "preset")
    assert src.config.model_type == src.raw["model_type"]
    assert src.raw == presets.preset_dict(model_id)


def test_default_preset_is_listed() -> None:
    assert presets.DEFAULT_PRESET in PRESETS


def test_unknown_preset_names_the_choices() -> None:
    with pytest.raises(InputError, match="no preset named 'acme/none'.*meta-llama/Meta-Llama-3.1-8B"):
        sources.from_preset("acme/none")


@pytest.mark.parametrize("model_id", ["deepseek-ai/DeepSeek-V3", "microsoft/Phi-3-mini-4k-instruct"])
def test_auto_map_dropped_for_native_types(model_id: str) -> None:
    src = sources.from_preset(model_id)
    assert "auto_map" in src.raw
    assert "auto_map" not in src.config.to_dict()
    assert not src.trust_remote_code


# --- uploads -----------------------------------------------------------------------------

def test_upload_parses_bytes() -> None:
    src = sources.from_upload(json.dumps(TINY).encode(), "mine.json")
    assert (src.label, src.kind, src.config.model_type) == ("mine.json", "upload", "llama")
    assert src.config.num_hidden_layers == 2


@pytest.mark.parametrize(("data", "match"), [
    (b"{not json", "is not valid JSON"),
    (b"[1, 2]", "not an object"),
    (b"\xff\xfe", "is not valid JSON"),
    (json.dumps({"hidden_size": 4}).encode(), "model_type: missing"),
    (json.dumps({"model_type": "no_such_arch"}).encode(), "unknown model_type 'no_such_arch'"),
    (json.dumps({**TINY, "num_hidden_layers": 10**6}).encode(), "num_hidden_layers: 1000000 is above"),
    (json.dumps({**TINY, "hidden_size": -1}).encode(), "must not be negative"),
])
def test_upload_rejects_bad_configs(data: bytes, match: str) -> None:
    with pytest.raises(InputError, match=match):
        sources.from_upload(data)


def test_upload_rejects_oversized_bytes() -> None:
    big = b" " * (sources.MAX_CONFIG_BYTES + 1)
    with pytest.raises(InputError, match="above the limit .* upload the model's config.json, not its weights"):
        sources.from_upload(big)


def test_remote_code_refused_by_default() -> None:
    with pytest.raises(InputError, match="needs code from the model repository") as err:
        sources.from_upload(json.dumps(REMOTE).encode())
    assert err.value.field == "trust_remote_code"


# --- local paths -------------------------------------------------------------------------

def test_local_folder_and_file(tmp_path: Path) -> None:
    folder = _write(tmp_path / "model", TINY)
    for path in (folder, folder / "config.json"):
        src = sources.from_path(path, allowed_root=tmp_path)
        assert (src.kind, src.config.hidden_size) == ("local", 64)


def test_local_missing_config(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no config.json at"):
        sources.from_path(tmp_path)


def test_local_dotdot_escape_refused(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    _write(tmp_path / "outside", TINY)
    with pytest.raises(InputError, match="outside the allowed folder") as err:
        sources.from_path(root / ".." / "outside", allowed_root=root)
    assert err.value.field == "path"


def test_local_symlink_escape_refused(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    outside = _write(tmp_path / "outside", TINY)
    (root / "link").symlink_to(outside, target_is_directory=True)
    with pytest.raises(InputError, match="outside the allowed folder"):
        sources.from_path(root / "link" / "config.json", allowed_root=root)


def test_local_without_root_reads_anywhere(tmp_path: Path) -> None:
    assert sources.from_path(_write(tmp_path / "m", TINY)).config.vocab_size == 100


def test_allowed_root_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(sources.ALLOWED_ROOT_ENV, str(tmp_path))
    assert sources.allowed_root_from_env() == tmp_path.resolve()
    monkeypatch.delenv(sources.ALLOWED_ROOT_ENV)
    assert sources.allowed_root_from_env() is None


# --- the Hub through a fake client -------------------------------------------------------

def _response(status: int) -> SimpleNamespace:
    """Just enough of an HTTP response for huggingface_hub's error classes."""
    return SimpleNamespace(status_code=status, headers={}, request=None)


class FakeHub:
    """Stands in for ``hf_hub_download``: records every request, serves one config."""

    def __init__(self, folder: Path, error: Exception | None = None) -> None:
        self.folder, self.error, self.calls = folder, error, []

    def __call__(self, **kwargs) -> str:
        self.calls.append(kwargs)
        if self.error is not None:
            raise self.error
        return str(self.folder / kwargs["filename"])


def test_hub_fetches_only_config_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_secret")
    fake = FakeHub(_write(tmp_path, TINY))
    src = sources.from_hub("acme/tiny", revision="v1", download=fake)
    assert fake.calls == [{"repo_id": "acme/tiny", "filename": "config.json", "revision": "v1",
                           "token": "hf_secret"}]
    assert (src.kind, src.label, src.revision, src.config.model_type) == ("hub", "acme/tiny", "v1", "llama")


def test_hub_invalid_id() -> None:
    with pytest.raises(InputError, match="not a valid Hub id"):
        sources.from_hub("not a/valid//id", download=FakeHub(Path("/nonexistent")))


@pytest.mark.parametrize(("error", "field", "match"), [
    (RepositoryNotFoundError("nope", response=_response(404)), "model id", "no model 'acme/tiny'"),
    (GatedRepoError("gated", response=_response(403)), "token", "is gated"),
    (ConnectionError("down"), "model id", "could not reach the Hugging Face Hub"),
])
def test_hub_errors_become_input_errors(tmp_path: Path, error: Exception, field: str, match: str) -> None:
    with pytest.raises(InputError, match=match) as err:
        sources.from_hub("acme/tiny", download=FakeHub(tmp_path, error))
    assert err.value.field == field


def test_hub_remote_code_refused_by_default(tmp_path: Path) -> None:
    fake = FakeHub(_write(tmp_path, REMOTE))
    with pytest.raises(InputError, match="--trust-remote-code"):
        sources.from_hub("acme/custom", download=fake)


# --- the Hub through the real hf_hub_download and a local cache --------------------------

@pytest.fixture
def hub_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An offline Hugging Face cache holding ``acme/tiny`` at ``main`` (commit ``aaaa…``)."""
    cache = tmp_path / "hub"
    repo = cache / "models--acme--tiny"
    _write(repo / "snapshots" / COMMIT, TINY)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(COMMIT)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(cache))
    return cache


def test_hub_real_client_reads_cache_and_only_config(hub_cache: Path) -> None:
    requested: list[str] = []

    def recording_download(**kwargs) -> str:
        requested.append(kwargs["filename"])
        return huggingface_hub.hf_hub_download(**kwargs)

    src = sources.from_hub("acme/tiny", download=recording_download)
    assert requested == ["config.json"]
    assert src.raw == TINY and src.config.num_key_value_heads == 2


def test_hub_default_client_reads_the_cache(hub_cache: Path) -> None:
    assert sources.from_hub("acme/tiny").config.intermediate_size == 128


def test_hub_real_client_by_commit(hub_cache: Path) -> None:
    assert sources.from_hub("acme/tiny", revision=COMMIT).revision == COMMIT


def test_hub_real_client_offline_miss(hub_cache: Path) -> None:
    with pytest.raises(InputError, match="could not reach the Hugging Face Hub to fetch 'acme/other'"):
        sources.from_hub("acme/other")


# --- resolve (what the CLI means by MODEL) -----------------------------------------------

def test_resolve_preset_path_and_hub(tmp_path: Path, hub_cache: Path) -> None:
    assert sources.resolve(presets.DEFAULT_PRESET).kind == "preset"
    assert sources.resolve(str(_write(tmp_path / "m", TINY))).kind == "local"
    assert sources.resolve("acme/tiny").kind == "hub"
    with pytest.raises(InputError, match="no config.json"):
        sources.resolve(str(tmp_path / "missing.json"))
