"""Opening recipes: saved adapters (a local folder, a Hub id through a fake client), bad files, the CLI.

A Hub adapter is read here from a safetensors file written with the ``safetensors`` package whose
tensors are PEFT's own state dict for the config (names and shapes from ``get_peft_model_state_dict``);
the fake client serves the header through huggingface_hub's own parser, the path users get from
``HfApi.parse_safetensors_file_metadata`` (the Hub is not reachable here).
"""

from __future__ import annotations

import json
import warnings

import pytest
import torch
from huggingface_hub import parse_local_safetensors_file_metadata
from peft import LoraConfig, get_peft_model, get_peft_model_state_dict
from safetensors.torch import save_file

from lora_core.cli import main
from lora_core.errors import InputError
from lora_core.planning.export import config_bytes
from lora_core.imports import open_source, read_text, state
from lora_core.imports.adapter import open_folder
from tests.helpers import cached_inventory, cached_skeleton, fresh_skeleton
from tests.import_cases import CASES, GPT2, LLAMA

CONFIG = LoraConfig(r=8, lora_alpha=16, target_modules=["c_attn", "c_proj"], layers_to_transform=[0, 1, 2])


def peft_tensors(config: LoraConfig) -> tuple[dict[str, torch.Tensor], int]:
    """PEFT's saved tensors for ``config`` on GPT-2 (zeros of the real shapes) and its trainable count."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = get_peft_model(fresh_skeleton(GPT2).model, config, low_cpu_mem_usage=True)
    state_dict = get_peft_model_state_dict(model)
    return {k: torch.zeros(tuple(v.shape)) for k, v in state_dict.items()}, model.get_nb_trainable_parameters()[0]


def write_adapter(folder, config: LoraConfig, tensors: dict[str, torch.Tensor]):
    folder.mkdir(parents=True, exist_ok=True)
    data = json.loads(config_bytes(config)) | {"base_model_name_or_path": GPT2}
    (folder / "adapter_config.json").write_text(json.dumps(data))
    save_file(tensors, str(folder / "adapter_model.safetensors"))
    return folder


class FakeHub:
    """Serves one repo from a local folder, the header through huggingface_hub's parser."""

    def __init__(self, repos: dict):
        self.repos, self.calls = repos, []

    def download(self, repo_id, filename, revision):
        self.calls.append(("download", repo_id, filename))
        if repo_id not in self.repos:
            raise FileNotFoundError(f"404 Client Error: Repository Not Found for url: {repo_id}")
        return str(self.repos[repo_id] / filename)

    def safetensors_header(self, repo_id, filename, revision):
        self.calls.append(("header", repo_id, filename))
        return parse_local_safetensors_file_metadata(self.repos[repo_id] / filename)


def report_for(recipe, model=GPT2):
    return state(recipe, cached_inventory(model), cached_skeleton(model), model)


def test_a_hub_adapter_is_read_from_its_header_and_trains_what_peft_trains(tmp_path):
    tensors, trainable = peft_tensors(CONFIG)
    hub = FakeHub({"someone/gpt2-lora": write_adapter(tmp_path / "a", CONFIG, tensors)})
    recipe = open_source("someone/gpt2-lora", client=hub)
    assert [c[0] for c in hub.calls] == ["download", "header"] and recipe.model_id == GPT2
    report = report_for(recipe)
    assert report.trainable == trainable and report.tensors.agrees and report.exact
    assert set(report.tensors.saved) == set(report.units)
    assert len(report.units) == 9  # c_attn, attn.c_proj and mlp.c_proj ("c_proj" is a suffix of both) in 3 layers


def test_tensors_that_disagree_with_the_config_are_named(tmp_path):
    tensors, _ = peft_tensors(CONFIG)
    tensors = {k: v for k, v in tensors.items() if ".h.0.attn.c_attn." not in k}  # a config module without tensors
    tensors["base_model.model.transformer.h.1.attn.c_proj.lora_A.weight"] = torch.zeros(4, 768)  # another rank
    tensors["base_model.model.transformer.h.5.mlp.c_fc.lora_A.weight"] = torch.zeros(8, 768)  # not in the config
    tensors["base_model.model.transformer.h.5.mlp.c_fc.lora_B.weight"] = torch.zeros(3072, 8)
    report = report_for(open_folder(write_adapter(tmp_path / "b", CONFIG, tensors)))
    check = report.tensors
    assert check.missing == ("transformer.h.0.attn.c_attn",)
    assert check.other_rank == (("transformer.h.1.attn.c_proj", 4, 8),)
    assert check.unnamed == ("transformer.h.5.mlp.c_fc",)
    assert len(check.lines()) == 3 and not check.agrees


def test_a_missing_hub_repo_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="adapter: nobody/nothing has no readable adapter_config.json"):
        open_source("nobody/nothing", client=FakeHub({}))


@pytest.mark.parametrize("text, message", [
    ("a: [b\n", "recipe: is not valid YAML"),
    ("a: &a [x, x, x, x, x, x, x, x]\nb: &b [" + ", ".join(["*a"] * 9) + "]\nc: [" + ", ".join(["*b"] * 60) + "]\n",
     "recipe: uses more than 64 YAML aliases"),
    ("- just\n- a list\n", "recipe: holds YAML but not a mapping"),
    ("base_model: x/y\nadapter: lora\nlora_r: 8\nlora_r: 16\n", "recipe: is not valid YAML (key 'lora_r' is given twice"),
    ("base_model: openai-community/gpt2\nadapter: ia3\n", "axolotl: adapter: is 'ia3'; only LoRA"),
    ("base_model: openai-community/gpt2\nlora_r: 8\n", "axolotl: adapter: is absent"),
    ("model_name_or_path: x/y\nfinetuning_type: full\n", "llamafactory: finetuning_type: is 'full'"),
    ("base_model: x/y\nadapter: lora\nlora_r: 8\nlora_alpha: 12.5\n", "axolotl: lora_alpha: axolotl takes a positive integer"),
    ("import unsloth\nmodel = FastLanguageModel.get_peft_model(model, r=8.0)\n", "unsloth: r: Unsloth needs a positive int"),
    ("import unsloth\nmodel = FastLanguageModel.get_peft_model(model, r=R)\n", "unsloth: r: is not a literal"),
    ("import unsloth\nmodel = FastLanguageModel.get_peft_model(model, modules_to_save=['mlp'])\n",
     "unsloth: modules_to_save: Unsloth refuses 'mlp'"),
    ('{"peft_type": "IA3", "target_modules": ["q"]}', "adapter_config: peft_type: is 'IA3'"),
    ("title: my notes\n", "recipe: is neither an axolotl YAML"),
])
def test_bad_recipes_are_refused_with_the_field(text, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(")):
        read_text(text)


def test_a_recipe_for_another_model_is_refused():
    recipe = read_text(CASES["ax-llama-qkvo-r32"][2])
    with pytest.raises(InputError, match="recipe: trains nothing on openai-community/gpt2 .*another model"):
        report_for(recipe, GPT2)


def test_cli_open_recipe_prints_the_statement_and_json(tmp_path, capsys):
    path = tmp_path / "qwen3moe.yml"
    path.write_text(CASES["ax-qwen3moe-target-linear"][2])
    assert main(["open-recipe", str(path)]) == 0
    out = capsys.readouterr().out
    assert "192 units, 13,369,344 trainable parameters" in out and "MoE experts left frozen" in out
    assert "unread fields (not used here): bf16, datasets" in out
    assert main(["open-recipe", str(path), "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    report = report_for(read_text(path.read_text()), "Qwen/Qwen3-30B-A3B")
    assert got["trainable_params"] == report.trainable and len(got["units"]) == len(report.units)
    # no sequence_len in the file: axolotl's own default (utils/schemas/config.py), as axolotl trains it
    assert got["memory"]["trainer"] == "axolotl" and got["memory"]["seq_len"] == 512


@pytest.mark.parametrize("content, message", [
    (b"a: 1\n" + b"#" * 50_000_000, "error: recipe: 50,000,005 bytes is above the limit"),
    (b"a: [b\n", "error: recipe: is not valid YAML"),
])
def test_cli_bad_files_exit_2_with_the_field(tmp_path, capsys, content, message):
    path = tmp_path / "bad.yml"
    path.write_bytes(content)
    assert main(["open-recipe", str(path)]) == 2
    assert capsys.readouterr().err.startswith(message)


def test_cli_recipe_for_another_model_and_no_model(tmp_path, capsys):
    path = tmp_path / "r.yml"
    path.write_text(CASES["ax-llama-qkvo-r32"][2])
    assert main(["open-recipe", str(path), "--model", GPT2]) == 2
    assert "error: recipe: trains nothing on openai-community/gpt2" in capsys.readouterr().err
    path.write_text("adapter: lora\nlora_r: 8\nlora_alpha: 16\nlora_target_modules: [q_proj]\n")
    assert main(["open-recipe", str(path)]) == 2
    assert "error: model: the recipe names no base model" in capsys.readouterr().err


def test_memory_settings_come_from_the_recipe():
    report = report_for(read_text(CASES["ax-llama-target-linear-qlora"][2]), LLAMA)
    assert (report.memory.base_dtype, report.memory.seq_len, report.memory.batch_size) == ("nf4", 4096, 2)
    lf = report_for(read_text(CASES["lf-llama-qv-qlora"][2]), LLAMA)
    assert (lf.memory.trainer, lf.memory.base_dtype, lf.memory.seq_len, lf.memory.batch_size) == \
        ("llamafactory", "nf4", 1024, 4)
