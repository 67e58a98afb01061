"""Fuzzed configs: real config.json files with one field mutated, through ``inspect`` and ``plan``.

Every outcome is either a success or ``error: field: message`` with exit status 2, never a
traceback; a mutation that gives a field the tool reads a value of the wrong type, or a
negative size, is refused naming that field. Then one test per finding of the fuzzer, and the
module budget that bounds how long any accepted config takes.
"""

from __future__ import annotations

import json
import re
import threading

import pytest
from transformers import CONFIG_MAPPING, SwitchTransformersConfig

from lora_core.model import skeleton, sources
from lora_core.model.build_budget import MAX_MODULES, ModuleBudgetExceeded, module_budget
from lora_core.model.config_fields import FIELD_CHECKS, check_fields
from lora_core.errors import InputError
from lora_core.model.guards import SIZE_LIMITS, check_sizes
from tests.model.fuzz_configs import CONFIG_DIR, Case, cases, run_case, run_cli

ERROR_LINE = re.compile(r"error: [^:\n]+: [^\n]+\n(warning: [^\n]*\n)*")
N_CASES = 300


def _must_refuse(case: Case) -> bool:
    """True when the mutation alone makes the config mean no model: a negative size, or a field
    the tool reads given a value of a type it cannot have."""
    key = case.path.rsplit(".", 1)[-1]
    v = case.value
    if key in SIZE_LIMITS and isinstance(v, (int, float)) and not isinstance(v, bool) and v < 0:
        return True
    return key in FIELD_CHECKS and v is not None and FIELD_CHECKS[key](v) is not None


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fuzz")
    return [(case, run_case(case, tmp)) for case in cases(N_CASES)]


def test_fuzz_draws_several_hundred_cases_over_every_config():
    drawn = cases(N_CASES)
    assert len(set(map(str, drawn))) == N_CASES
    assert {c.file for c in drawn} == {f.name for f in CONFIG_DIR.glob("*.json")}


def test_fuzzed_configs_end_in_success_or_a_named_error(outcomes):
    for case, result in outcomes:
        for command, o in result.items():
            assert o.code in (0, 2), f"{case} {command}: {o.code}\n{o.err[-2000:]}"
            if o.code == 2:
                assert ERROR_LINE.fullmatch(o.err), f"{case} {command}: {o.err!r}"
            else:
                assert o.out.strip(), f"{case} {command}: no output"
    assert sum(o.code == 0 for _, r in outcomes for o in r.values()) > N_CASES // 4  # not all refused


def test_fuzzed_values_no_model_can_mean_are_refused_with_the_field(outcomes):
    refused = [(c, r) for c, r in outcomes if _must_refuse(c)]
    assert len(refused) > 30
    for case, result in refused:
        for command, o in result.items():
            assert o.code == 2, f"{case} {command} was accepted"
            assert f" {case.path}: " in o.err.split("\n")[0], f"{case} {command}: {o.err!r}"


def test_plan_json_of_an_accepted_fuzzed_config_is_json(outcomes):
    for case, result in outcomes:
        if result["plan"].code == 0:
            assert "peft_config" in json.loads(result["plan"].out), case


# ------------------------------------------------------------------ findings, one test each
def _cli(tmp_path, d, command="inspect"):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(d))
    extra = ["--target", "q=8"] if command == "plan" else []
    return run_cli([command, str(path), *extra])


def _real(name: str) -> dict:
    return json.loads((CONFIG_DIR / name).read_text())


LLAMA = "meta-llama__Meta-Llama-3.1-8B.json"


@pytest.mark.parametrize("value", [[{}], [["LlamaForCausalLM"]], [3], 3, {"LlamaForCausalLM": 1}, "LlamaForCausalLM"])
@pytest.mark.parametrize("command", ["inspect", "plan"])
def test_malformed_architectures_is_refused_naming_the_field(tmp_path, value, command):
    o = _cli(tmp_path, {**_real(LLAMA), "architectures": value}, command)
    assert (o.code, o.err.split(":")[:2]) == (2, ["error", " architectures"]), o.err


def test_negative_experts_per_token_is_refused(tmp_path):
    o = _cli(tmp_path, {**_real("mistralai__Mixtral-8x7B-v0.1.json"), "num_experts_per_tok": -1})
    assert o.code == 2 and o.err.startswith("error: num_experts_per_tok: must not be negative"), o.err


def test_more_experts_per_token_than_a_layer_has_is_refused(tmp_path):
    d = _real("mistralai__Mixtral-8x7B-v0.1.json")
    o = _cli(tmp_path, {**d, "num_experts_per_tok": d["num_local_experts"] + 1})
    assert o.code == 2 and "num_local_experts" in o.err and o.err.startswith("error: num_experts_per_tok:"), o.err


@pytest.mark.parametrize("name,key", [(LLAMA, "vision_config"), (LLAMA, "text_config"),
                                      ("llava-hf__llava-1.5-7b-hf.json", "text_config"),
                                      ("llava-hf__llava-1.5-7b-hf.json", "vision_config")])
def test_sub_config_with_a_garbage_model_type_is_refused(tmp_path, name, key):
    d = _real(name)
    d[key] = {**d.get(key, {}), "model_type": "garbage"}
    o = _cli(tmp_path, d)
    assert o.code == 2 and o.err.startswith(f"error: {key}.model_type: unknown model_type 'garbage'"), o.err
    assert len(o.err) < 400  # one line, not transformers' list of every model type


def test_a_size_given_as_an_object_is_refused(tmp_path):
    """``_walk`` used to descend into it as if it were a sub-config and let ``int()`` fail later."""
    d = {**_real("microsoft__Phi-3-mini-4k-instruct.json"), "num_local_experts": {"model_type": "garbage"}}
    o = _cli(tmp_path, d, "plan")
    assert o.code == 2 and o.err.startswith("error: num_local_experts: must be an integer"), o.err


@pytest.mark.parametrize("field,value", [("mlp_only_layers", -1), ("mlp_only_layers", [0, "x"]),
                                         ("n_shared_experts", 1e308), ("n_shared_experts", [1, "x"]),
                                         ("shared_expert_intermediate_size", [[1]])])
def test_read_fields_of_the_wrong_type_are_refused_before_use(tmp_path, field, value):
    o = _cli(tmp_path, {**_real("Qwen__Qwen3-30B-A3B.json"), field: value}, "plan")
    assert o.code == 2 and re.match(rf"error: {field}(\[\d+\])?: ", o.err), o.err


def test_every_transformers_default_config_passes_the_field_checks():
    """No false refusal: each config class's own defaults (sub-configs included) are accepted."""
    checked = 0
    for model_type, cls in CONFIG_MAPPING.items():
        try:
            d = cls().to_dict()
        except Exception:  # noqa: BLE001 - a class that needs arguments has no default to check
            continue
        check_sizes(d)
        check_fields(d)
        checked += 1
    assert checked > 500


# ------------------------------------------------------------------ the time guard
def _t5(layers: int) -> dict:
    return {**_real("google__flan-t5-base.json"), "num_layers": layers, "num_decoder_layers": layers}


def test_encoder_decoder_at_the_layer_limits_is_refused_by_the_module_budget(tmp_path):
    o = _cli(tmp_path, _t5(1024))
    assert o.code == 2 and o.err.startswith("error: num_layers=1024, num_decoder_layers=1024: this config "
                                            f"builds more than {MAX_MODULES:,} modules"), o.err


def test_experts_built_one_by_one_are_bounded_by_the_module_budget():
    config = SwitchTransformersConfig(num_experts=2048, num_layers=12, num_decoder_layers=12)
    with pytest.raises(InputError, match="num_experts=2048"):
        skeleton.build_skeleton(config)


def test_an_accepted_config_builds_no_more_modules_than_the_budget():
    """The largest flan-t5 the budget accepts, counted by torch itself."""
    skel = skeleton.build_skeleton(sources.config_from_dict(_t5(500), "t5"))
    assert 0.5 * MAX_MODULES < sum(1 for _ in skel.model.modules()) <= MAX_MODULES + 1


def test_the_budget_counts_each_thread_apart():
    """A session building a big model does not spend another session's budget."""
    import torch

    errors: list[BaseException] = []

    def build(n: int) -> None:
        try:
            with module_budget(50):
                torch.nn.Sequential(*[torch.nn.Linear(1, 1) for _ in range(n)])
        except ModuleBudgetExceeded as e:
            errors.append(e)

    threads = [threading.Thread(target=build, args=(40,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with pytest.raises(ModuleBudgetExceeded), module_budget(50):
        torch.nn.Sequential(*[torch.nn.Linear(1, 1) for _ in range(60)])
    torch.nn.Sequential(*[torch.nn.Linear(1, 1) for _ in range(60)])  # outside a budget: no limit
