"""Model page behaviour: every source opens a model; bad sources show an error and keep the
previous model and plan."""

from __future__ import annotations

import json

import pytest

import lora_core.model.hub
from lora_core.model import presets
from lora_core.numbers import human
from lora_core.model.summary import summarize
from tests.app_support import errors, metric, model_of, open_app, plan_of
from ui.common.loaded_model import load

PHI3 = "microsoft/Phi-3-mini-4k-instruct"
MISTRAL = "mistralai/Mistral-7B-Instruct-v0.3"


@pytest.fixture
def at():
    return open_app("pages/model.py")


def test_preset_card_shows_lora_core_figures(at):
    at.selectbox(key="model_preset").select(PHI3).run()
    assert model_of(at).label == PHI3
    m = load(model_of(at))
    s = summarize(m.skeleton, m.inventory)
    assert metric(at, "Total parameters").value == human(s.total_params)
    assert metric(at, "Total parameters").help.startswith(f"{s.total_params:,}")
    for label, value in (("Layers", s.num_layers), ("Hidden size", s.hidden_size),
                         ("KV heads", s.num_kv_heads), ("Attention modules", s.attention_modules),
                         ("FFN modules", s.ffn_modules)):
        assert metric(at, label).value == str(value), label
    assert any("Q alone cannot be targeted" in i.value for i in at.info)
    assert at.query_params["model"] == PHI3


def test_hub_offline_keeps_previous_model_and_plan(at, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    before_model, before_plan = model_of(at), plan_of(at)
    at.text_input(key="model_hub_id").input("someone/some-model").run()
    at.button(key="model_hub_open").click().run()
    assert not at.exception
    assert any("could not reach the Hugging Face Hub" in e for e in errors(at)), errors(at)
    assert model_of(at) == before_model and plan_of(at) == before_plan


def test_hub_id_uses_the_real_download_path_and_fetches_only_config(at, monkeypatch):
    asked = []

    def fake_download(**kwargs):
        asked.append(kwargs)
        return str(presets.preset_path(MISTRAL))

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(lora_core.model.hub, "hub_reachable", lambda timeout=2.0: True)
    monkeypatch.setattr(lora_core.model.hub, "hf_hub_download", fake_download)
    at.text_input(key="model_hub_id").input("example-org/mistral-copy").run()
    at.text_input(key="model_hub_revision").input("v1").run()
    at.button(key="model_hub_open").click().run()
    assert not errors(at), errors(at)
    ref = model_of(at)
    assert (ref.kind, ref.label, ref.revision) == ("hub", "example-org/mistral-copy", "v1")
    assert [a["filename"] for a in asked] == ["config.json"]
    assert at.query_params["src"] == "hub" and at.query_params["rev"] == "v1"


def test_upload_opens_and_a_broken_upload_keeps_the_model(at):
    data = presets.preset_path("openai-community/gpt2").read_bytes()
    at.file_uploader(key="model_upload").upload("config.json", data, "application/json").run()
    at.button(key="model_upload_open").click().run()
    assert not errors(at)
    assert model_of(at).kind == "upload" and metric(at, "Layers").value == "12"
    before_model, before_plan = model_of(at), plan_of(at)
    at.file_uploader(key="model_upload").upload("config.json", b"{not json", "application/json").run()
    at.button(key="model_upload_open").click().run()
    assert any("is not valid JSON" in e for e in errors(at)), errors(at)
    assert model_of(at) == before_model and plan_of(at) == before_plan


def test_local_folder_opens(at, tmp_path):
    (tmp_path / "config.json").write_text(json.dumps(presets.preset_dict(PHI3)))
    at.text_input(key="model_local_path").input(str(tmp_path)).run()
    at.button(key="model_local_open").click().run()
    assert not errors(at), errors(at)
    assert model_of(at).kind == "local" and model_of(at).label == str(tmp_path)


def test_local_path_missing_shows_the_field_and_fix(at, tmp_path):
    before = model_of(at)
    at.text_input(key="model_local_path").input(str(tmp_path / "nope")).run()
    at.button(key="model_local_open").click().run()
    assert any("no config.json" in e for e in errors(at)), errors(at)
    assert model_of(at) == before
