"""Opening a recipe reads its training shape and its strategy as the tool does, and says what it cannot
read: a DeepSpeed JSON named by a path that is not at hand is not guessed from its name."""

from __future__ import annotations

import json

import pytest

from lora_core.cli import main
from lora_core.errors import InputError
from lora_core.imports import open_source, read_text

AX = "base_model: meta-llama/Meta-Llama-3.1-8B\nadapter: {adapter}\nlora_r: 8\nlora_alpha: 16\n" \
     "lora_target_modules: [q_proj, v_proj]\n"
LF = "model_name_or_path: meta-llama/Meta-Llama-3.1-8B\nfinetuning_type: lora\nlora_target: q_proj,v_proj\n"
ZERO3_OFFLOAD = {"zero_optimization": {"stage": 3, "offload_optimizer": {"device": "cpu"},
                                       "offload_param": {"device": "cpu"}}}


def test_a_deepspeed_path_beside_the_recipe_is_read(tmp_path) -> None:
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "z3.json").write_text(json.dumps(ZERO3_OFFLOAD))
    (tmp_path / "r.yaml").write_text(AX.format(adapter="lora") + "deepspeed: ds/z3.json\n")
    got = open_source(str(tmp_path / "r.yaml")).strategy
    assert (got.strategy, got.offload, got.notes) == ("zero3", "optimizer+params", ())


def test_a_deepspeed_path_not_at_hand_is_said_not_guessed(tmp_path, capsys) -> None:
    text = AX.format(adapter="lora") + "deepspeed: deepspeed_configs/zero3_bf16.json\n"
    got = read_text(text).strategy  # pasted: no folder to look in
    assert got.strategy is None and "not at hand" in got.notes[0]
    (tmp_path / "r.yaml").write_text(text)
    assert main(["open-recipe", str(tmp_path / "r.yaml")]) == 0
    out = capsys.readouterr().out
    assert "zero3_bf16.json' is a JSON file that is not at hand" in out and "not estimated" in out


@pytest.mark.parametrize("text, field", [
    (AX.format(adapter="lora") + "deepspeed: {zero_optimization: {stage: 4}}\n",
     "axolotl: deepspeed.zero_optimization.stage"),
    (AX.format(adapter="lora") + "deepspeed: {zero_optimization: {stage: 2, offload_optimizer: {device: gpu}}}\n",
     "axolotl: deepspeed.zero_optimization.offload_optimizer"),
    (AX.format(adapter="qlora"), "axolotl: load_in_4bit"),
    (AX.format(adapter="qlora") + "load_in_4bit: true\nload_in_8bit: true\n", "axolotl: load_in_4bit"),
    (AX.format(adapter="lora") + "sequence_len: 0\n", "axolotl: sequence_len"),
    (AX.format(adapter="lora") + "flash_attention: true\nattn_implementation: sdpa\n", "axolotl: attn_implementation"),
    (LF + "quantization_bit: 3\n", "llamafactory: quantization_bit"),
    (LF + "num_train_epochs: -1\n", "llamafactory: num_train_epochs"),
    (LF + "flash_attn: fast\n", "llamafactory: flash_attn"),
    ("from unsloth import FastLanguageModel\nm, t = FastLanguageModel.from_pretrained('x/y', load_in_8bit=True)\n"
     "m = FastLanguageModel.get_peft_model(m, r=8)\n", "unsloth: load_in_8bit"),
])
def test_values_the_tool_refuses_name_the_field(text, field) -> None:
    with pytest.raises(InputError) as e:
        read_text(text)
    assert e.value.field == field, e.value


def test_bad_values_exit_2_with_the_field(tmp_path, capsys) -> None:
    (tmp_path / "r.yaml").write_text(LF + "cutoff_len: many\n")
    assert main(["open-recipe", str(tmp_path / "r.yaml")]) == 2
    assert capsys.readouterr().err.startswith("error: llamafactory: cutoff_len: must be a positive integer")


@pytest.mark.parametrize("keys, want", [
    ("fsdp: [full_shard, auto_wrap, offload]\nfsdp_config: {fsdp_transformer_layer_cls_to_wrap: LlamaDecoderLayer}\n",
     ("fsdp", "optimizer+params")),
    ("fsdp_version: 1\nfsdp_config: {fsdp_sharding_strategy: SHARD_GRAD_OP}\n", ("fsdp-sgo", "none")),
    ("fsdp_version: 2\nfsdp_config: {reshard_after_forward: true, offload_params: false}\n", ("fsdp", "none")),
])
def test_axolotl_fsdp_forms(keys, want) -> None:
    got = read_text(AX.format(adapter="lora") + keys).strategy
    assert (got.strategy, got.offload) == want


def test_qlora_under_fsdp_is_fsdp_qlora_and_lora_with_load_in_4bit_is_not_quantized() -> None:
    got = read_text(AX.format(adapter="qlora") + "load_in_4bit: true\nfsdp_version: 2\nfsdp_config: {}\n")
    assert (got.memory["base_dtype"], got.strategy.strategy) == ("nf4", "fsdp-qlora")
    plain = read_text(AX.format(adapter="lora") + "load_in_4bit: true\n")
    assert plain.memory["base_dtype"] == "bf16" and any("not quantized by axolotl" in n for n in plain.notes)


def test_open_recipe_json_has_the_strategy_and_the_cluster(tmp_path, capsys) -> None:
    (tmp_path / "r.yaml").write_text(LF + "num_train_epochs: 2\ndeepspeed: " + json.dumps(ZERO3_OFFLOAD) + "\n")
    assert main(["open-recipe", str(tmp_path / "r.yaml"), "--gpus", "4", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["strategy"]["strategy"] == "zero3" and got["epochs"] == 2.0
    assert got["cluster"] | {"price": None} == {"gpus": 4, "gpu": "h100-80gb", "strategy": "zero3",
                                                 "offload": "optimizer+params", "dataset_tokens": 50e6, "epochs": 2.0,
                                                 "price": None}
    assert got["per_gpu"]["peak_allocated"] > 0 and got["hours"][0] > 0
