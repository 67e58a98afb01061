"""The four causes of disagreement found on real adapters, each through the CLI a user runs
(``serve-check``) and against PEFT on the same meta model; each of these failed before the fix.

1. ``task_type`` ignored: a SEQ_CLS adapter is counted on the masked-LM model, without the head
   PEFT trains; a config whose ``architectures`` names a classification class is built as an LM.
2. LoRA variants counted as plain LoRA: BD-LoRA and KaSA (PEFT's own MetaMathQA experiments);
   a variant this tool cannot count is refused with its field named.
3. An adapter matching nothing accepted with 0 trainable parameters; PEFT raises
   ``NoMatchingPeftModuleError``. Transformers-4 names on a transformers-5 VLM get the renamed list.
4. A file without ``peft_type`` said "is None".
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import pytest
from peft import LoraConfig, get_peft_model
from peft.utils.error import NoMatchingPeftModuleError
from transformers import BertConfig

from lora_core import cli
from lora_core.model.skeleton import build_skeleton
from lora_core.model.sources import from_preset

from .reference import base_dict, load_table, peft_figure, user_model

DEV = {e["id"]: e for e in load_table("dev")}


def _serve_check(tmp_path: Path, capsys, adapter: dict, model: str) -> tuple[int, str, str]:
    path = tmp_path / "adapter_config.json"
    path.write_text(json.dumps(adapter))
    code = cli.main(["serve-check", str(path), "--model", model, "--json"])
    out = capsys.readouterr()
    return code, out.out, out.err


def _base_file(tmp_path: Path, base: str) -> str:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(base_dict(base)))
    return str(path)


@pytest.mark.parametrize("entry_id", ["bert-seqcls-multitask", "roberta-seqcls-twitter-r32",
                                      "distilbert-seqcls-emotion"])
def test_cause1_a_classification_adapter_counts_the_head_peft_trains(tmp_path, capsys, entry_id) -> None:
    entry = DEV[entry_id]
    code, out, err = _serve_check(tmp_path, capsys, entry["adapter"], _base_file(tmp_path, entry["base"]))
    assert code == 0, err
    assert json.loads(out)["trainable_params"] == peft_figure(entry["adapter"], entry["base"]).trainable


def test_cause1_a_classification_config_builds_the_classification_model() -> None:
    skel = build_skeleton(BertConfig(architectures=["BertForSequenceClassification"]))
    assert type(skel.model).__name__ == "BertForSequenceClassification" and skel.task_type == "SEQ_CLS"


@pytest.mark.parametrize("entry_id", ["peft-metamathqa-rank14-target-mlp-bdlora", "peft-metamathqa-rank32-kasa",
                                      "peft-metamathqa-rank32-mica"])
def test_cause2_variants_are_counted_as_peft_builds_them(tmp_path, capsys, entry_id) -> None:
    entry = DEV[entry_id]
    code, out, err = _serve_check(tmp_path, capsys, entry["adapter"], _base_file(tmp_path, entry["base"]))
    assert code == 0, err
    assert json.loads(out)["trainable_params"] == peft_figure(entry["adapter"], entry["base"]).trainable


@pytest.mark.parametrize("field, value", [("monteclora_config", {}), ("layer_replication", [[0, 4], [2, 5]]),
                                          ("trainable_token_indices", [0, 1, 2])])
def test_cause2_a_field_this_tool_cannot_count_is_refused_by_name(tmp_path, capsys, field, value) -> None:
    adapter = {"peft_type": "LORA", "r": 8, "target_modules": ["q_proj", "v_proj"], field: value}
    code, _, err = _serve_check(tmp_path, capsys, adapter, "meta-llama/Meta-Llama-3.1-8B")
    assert code == 2 and f"error: adapter_config: {field}:" in err


def test_cause3_an_adapter_matching_nothing_is_refused_as_peft_refuses_it(tmp_path, capsys) -> None:
    adapter = DEV["llama2-chat-last-layer-full-names"]["adapter"]  # transformers-4 Llama names
    code, _, err = _serve_check(tmp_path, capsys, adapter, "llava-hf/llava-1.5-7b-hf")
    skel = build_skeleton(from_preset("llava-hf/llava-1.5-7b-hf").config)
    with pytest.raises(NoMatchingPeftModuleError) as raised, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        get_peft_model(skel.model, LoraConfig(**{k: v for k, v in adapter.items() if k != "peft_type"}),
                       low_cpu_mem_usage=True)
    said = " ".join(str(raised.value).split())
    names = re.compile(r"\{[^}]*\}")  # PEFT prints the target set; its order is the set's, not fixed
    assert code == 2 and names.sub("{}", said) in names.sub("{}", err)
    assert set(re.findall(r"'([^']+)'", names.search(err).group())) == set(adapter["target_modules"])
    assert "model.* is model.language_model.* here" in err
    assert '"model.language_model.layers.31.self_attn.q_proj"' in err


def test_cause4_a_missing_peft_type_is_called_missing(tmp_path, capsys) -> None:
    code, _, err = _serve_check(tmp_path, capsys, {"r": 8, "target_modules": ["q_proj"]}, "meta-llama/Meta-Llama-3.1-8B")
    assert code == 2 and "error: adapter_config: peft_type: is missing" in err


def test_an_adapter_without_task_type_on_a_classifier_config_trains_no_head(tmp_path, capsys) -> None:
    preset = "distilbert/distilbert-base-uncased-finetuned-sst-2-english"
    adapter = {"peft_type": "LORA", "r": 8, "target_modules": ["q_lin", "v_lin"]}
    code, out, err = _serve_check(tmp_path, capsys, adapter, preset)
    model = user_model(from_preset(preset).config, None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        peft_model = get_peft_model(model, LoraConfig(r=8, target_modules=["q_lin", "v_lin"]), low_cpu_mem_usage=True)
    assert code == 0, err
    assert json.loads(out)["trainable_params"] == peft_model.get_nb_trainable_parameters()[0]
