"""Export: the simplest exact form, deterministic bytes, MoE-rewrite safety, and the ``plan`` CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from peft import LoraConfig
from peft.utils.other import get_pattern_key

from lora_core import cli
from lora_core.errors import InputError
from lora_core.peft_rules import convert_like_peft
from lora_core.planning.export import adapter_config_bytes, config_dict, to_lora_config, write_adapter_config
from lora_core.planning.export_forms import layer_regex, minimal_suffixes, wanted_targets
from lora_core.planning import Plan, PlanIndex, Target, count, resolve_plan
from tests.helpers import cached_inventory, cached_skeleton

LLAMA, GPT2, T5, BERT = ("meta-llama/Meta-Llama-3.1-8B", "openai-community/gpt2", "google/flan-t5-base",
                         "google-bert/bert-base-uncased")
DEEPSEEK, QWEN_MOE, LLAVA = "deepseek-ai/DeepSeek-V3", "Qwen/Qwen3-30B-A3B", "llava-hf/llava-1.5-7b-hf"
QV = Plan((Target("q", 8), Target("v", 8)))


def _config(model_id: str, plan: Plan) -> LoraConfig:
    return to_lora_config(plan, cached_inventory(model_id), cached_skeleton(model_id))


# (id, model, plan, the field values the simplest exact form has)
SIMPLEST = [
    ("llama-qv-is-two-names", LLAMA, QV, dict(target_modules={"q_proj", "v_proj"}, layers_to_transform=None)),
    ("llama-layers-use-layers_to_transform", LLAMA, Plan((Target("q", 8),), layers=(0, 3)),
     dict(target_modules={"q_proj"}, layers_to_transform=[0, 3])),
    ("gpt2-o-is-attn.c_proj", GPT2, Plan((Target("o", 8),)), dict(target_modules={"attn.c_proj"})),
    ("llama-all-linear-stays-all-linear", LLAMA, Plan((Target("all-linear", 16),)),
     dict(target_modules="all-linear")),
    ("llama-mixed-ranks-in-rank_pattern", LLAMA, Plan((Target("q", 16), Target("ffn", 4))),
     dict(r=4, lora_alpha=8, rank_pattern={"q_proj": 16}, alpha_pattern={"q_proj": 32})),
    ("qwen3moe-experts-are-target_parameters", QWEN_MOE, Plan((Target("experts", 8),)),
     dict(target_modules=set(), target_parameters={"gate_up_proj", "down_proj"})),
    ("t5-task-type", T5, QV, dict(task_type="SEQ_2_SEQ_LM")),
    ("bert-masked-lm-has-no-task-type", BERT, QV, dict(task_type=None)),
]


@pytest.mark.parametrize("model_id,plan,fields", [c[1:] for c in SIMPLEST], ids=[c[0] for c in SIMPLEST])
def test_simplest_exact_form(model_id: str, plan: Plan, fields: dict) -> None:
    config = _config(model_id, plan)
    for name, value in fields.items():
        got = getattr(config, name)
        assert (set(got) if isinstance(value, set) and got is not None else got) == value, name


def test_llava_language_only_is_a_pattern_not_the_vision_tower() -> None:
    config = _config(LLAVA, QV)
    assert isinstance(config.target_modules, str) and "language_model" in config.target_modules


def test_deepseek_ffn_linears_go_through_weight_and_survive_the_moe_rewrite() -> None:
    skel = cached_skeleton(DEEPSEEK)
    config = _config(DEEPSEEK, Plan((Target("q", 8), Target("ffn", 4))))
    assert {"gate_proj.weight", "up_proj.weight", "down_proj.weight"} <= set(config.target_parameters)
    after = convert_like_peft(config, skel.model)
    assert after.target_modules == config.target_modules
    assert set(after.target_parameters) == set(config.target_parameters)
    assert after.rank_pattern == config.rank_pattern


def test_dora_on_rewritten_linears_is_refused() -> None:
    with pytest.raises(InputError, match=r"dora: PEFT rewrites .*target_parameters"):
        _config(DEEPSEEK, Plan((Target("ffn", 4),), layers=(0, 1), dora=True))


@pytest.mark.parametrize("model_id", [LLAMA, GPT2, DEEPSEEK])
def test_every_row_gets_its_rank_and_alpha_by_peft_rule(model_id: str) -> None:
    plan = Plan((Target("attention", 4), Target("q", 16, 8), Target("ffn", 2)))
    config = _config(model_id, plan)
    rows = resolve_plan(plan, PlanIndex(cached_inventory(model_id)))
    via_weight = wanted_targets(rows, cached_skeleton(model_id).model).via_weight
    for r in rows.itertuples():
        key = r.name + ".weight" if r.name in via_weight else r.name
        rk = get_pattern_key(list(config.rank_pattern), key)
        ak = get_pattern_key(list(config.alpha_pattern), key)
        assert config.rank_pattern.get(rk, config.r) == r.rank
        assert config.alpha_pattern.get(ak, config.lora_alpha) == r.alpha


def test_bytes_are_deterministic_sorted_json() -> None:
    inv, skel = cached_inventory(GPT2), cached_skeleton(GPT2)
    plan = Plan((Target("q", 8), Target("ffn", 4)))
    data = adapter_config_bytes(plan, inv, skel)
    assert data == adapter_config_bytes(plan, inv, skel)
    d = json.loads(data)
    assert list(d) == sorted(d) and d["peft_type"] == "LORA"
    assert d["target_modules"] == sorted(d["target_modules"])
    assert LoraConfig(**{k: v for k, v in d.items() if k != "peft_type"}).target_modules == set(d["target_modules"])


def test_write_adapter_config_to_a_folder_or_a_file(tmp_path: Path) -> None:
    inv, skel = cached_inventory(GPT2), cached_skeleton(GPT2)
    p = write_adapter_config(tmp_path, QV, inv, skel)
    assert p == tmp_path / "adapter_config.json"
    assert LoraConfig.from_pretrained(str(tmp_path)).target_modules == {"c_attn"}
    q = write_adapter_config(tmp_path / "x.json", QV, inv, skel)
    assert q.read_bytes() == p.read_bytes()


def test_minimal_suffixes_and_layer_regex() -> None:
    names = ["h.0.attn.c_proj", "h.1.attn.c_proj", "h.0.mlp.c_proj", "h.1.mlp.c_proj"]
    assert minimal_suffixes(names[:2], names[2:]) == ["attn.c_proj"]
    pattern = layer_regex(["h.1.attn.c_proj", "h.1.mlp.c_proj"], names)
    assert [n for n in names if re.fullmatch(pattern, n)] == ["h.1.attn.c_proj", "h.1.mlp.c_proj"]


# ---------------------------------------------------------------- the plan CLI


def test_cli_plan_json_contract(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "adapter_config.json"
    code = cli.main(["plan", LLAMA, "--target", "q=8", "--target", "v=8:32", "--target", "ffn=4",
                     "--layers", "0-3,7", "--rslora", "--json", "--out", str(out)])
    payload = json.loads(capsys.readouterr().out)
    assert code == 0
    assert {"auto_class", "total_params", "trainable_params", "targeted", "peft_config"} <= set(payload)
    plan = Plan((Target("q", 8), Target("v", 8, 32), Target("ffn", 4)), layers=(0, 1, 2, 3, 7), rslora=True)
    index = PlanIndex(cached_inventory(LLAMA))
    assert payload["auto_class"] == cached_skeleton(LLAMA).auto_class
    assert payload["total_params"] == 8_030_261_248
    assert payload["trainable_params"] == count(plan, index).trainable
    assert payload["targeted"] == sorted(resolve_plan(plan, index)["name"])
    assert payload["peft_config"] == json.loads(out.read_bytes())
    assert payload["peft_config"] == config_dict(_config(LLAMA, plan))


def test_cli_plan_experts_name_parameters(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["plan", QWEN_MOE, "--target", "experts=4", "--layers", "3", "--json"]) == 0
    targeted = json.loads(capsys.readouterr().out)["targeted"]
    assert targeted == ["model.layers.3.mlp.experts.down_proj", "model.layers.3.mlp.experts.gate_up_proj"]


def test_cli_plan_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["plan", GPT2, "--target", "o", "--dora"]) == 0
    text = capsys.readouterr().out
    assert "trainable parameters" in text and '"attn.c_proj"' in text


@pytest.mark.parametrize("args,message", [
    (["--target", "q=zero"], r"--target: 'q=zero': RANK must be an integer"),
    (["--target", "q=0"], r"rank for 'q'.*positive integer"),
    (["--target", "nope"], r"target 'nope'.*matches no module"),
    (["--target", "q", "--layers", "40"], r"layers.*outside"),
    ([], r"--target: give at least one"),
])
def test_cli_plan_bad_input_exits_2(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["plan", GPT2, *args]) == 2
    assert re.search(message, capsys.readouterr().err)
