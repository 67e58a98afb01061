"""Serving verdicts: the adapter description against PEFT, the findings' shape, the badge path,
and "make it servable" (the engines' own code is replayed in ``test_serving_replay.py``)."""

from __future__ import annotations

import copy
import dataclasses
import math
import re
import warnings

import pytest
from peft import get_peft_model, get_peft_model_state_dict

from lora_core.planning.export import config_dict, to_lora_config
from lora_core.planning import Plan, PlanIndex, Target, count
from lora_core.serving import vllm_model, vllm_registry
from lora_core.serving import ENGINES, describe, judge_all, peft_tensors, servable_plan
from lora_core.serving.verdict import SOURCE_RE, Finding, source_of, verdict_of

from tests.helpers import cached_inventory, cached_skeleton, fresh_skeleton
from tests.serving.cases import CASES, exported

IDS = list(CASES)


@pytest.mark.parametrize("case", IDS)
def test_tensor_names_and_shapes_are_what_peft_saves(case: str) -> None:
    ex = exported(case)
    skel = fresh_skeleton(ex.model)
    config = to_lora_config(ex.plan, cached_inventory(ex.model), skel)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = get_peft_model(skel.model, copy.deepcopy(config), low_cpu_mem_usage=True)
        saved = {k: tuple(v.shape) for k, v in get_peft_model_state_dict(model).items()}
    assert peft_tensors(ex.adapter) == saved


@pytest.mark.parametrize("case", IDS)
def test_every_finding_names_its_rule_and_what_it_affects(case: str) -> None:
    for engine, verdict in judge_all(exported(case).adapter).items():
        for f in verdict.findings:
            assert SOURCE_RE.match(f.source), (engine, f)
            assert f.reason
            if f.kind in ("ignores", "differs"):
                assert f.modules and f.params > 0, (engine, f)
            if f.kind == "flag":
                assert f.flags, (engine, f)


def test_worst_finding_decides() -> None:
    flag = Finding("flag", "r", "vllm/x.py f", flags=("--max-lora-rank 32",))
    ignore = Finding("ignores", "i", "vllm/x.py f", modules=("m",), params=4)
    refuse = Finding("refuses", "x", "vllm/x.py f", "no")
    assert verdict_of("e", "1", []).verdict == "serves"
    assert verdict_of("e", "1", [flag]).verdict == "serves-with-flags"
    assert verdict_of("e", "1", [flag, ignore]).verdict == "ignores"
    v = verdict_of("e", "1", [ignore, refuse, flag])
    assert v.verdict == "refuses" and v.flags == ["--max-lora-rank 32"] and v.ignored_params == 4


@pytest.mark.parametrize("case", IDS)
def test_badge_verdicts_from_the_plan_equal_the_exported_ones(case: str) -> None:
    """The Targets page judges the plan without exporting; only the export's form may add a finding."""
    ex = exported(case)
    inv, skel = cached_inventory(ex.model), cached_skeleton(ex.model)
    plan_only = judge_all(describe(ex.plan, PlanIndex(inv), skel.config))
    full = judge_all(ex.adapter)
    for engine in ENGINES:
        if engine == "sglang" and isinstance(ex.config["target_modules"], str):
            continue  # regex / all-linear: only the export knows its form
        assert plan_only[engine].verdict == full[engine].verdict, engine


def test_known_verdicts_of_the_table() -> None:
    v = {c: judge_all(exported(c).adapter) for c in ("qv-r8", "dora", "rslora", "r32", "llava-all-linear-vision",
                                                     "layers-0-3", "gpt2-conv1d", "mixtral-all-linear+experts")}
    assert {e: x.verdict for e, x in v["qv-r8"].items()} == dict.fromkeys(ENGINES, "serves")
    assert v["dora"]["vllm"].verdict == v["dora"]["sglang"].verdict == "refuses"
    assert v["dora"]["tgi"].verdict == "differs"
    rs = v["rslora"]["sglang"]
    assert rs.verdict == "differs" and f"{math.sqrt(16):.2f}x" in rs.reasons[0]
    assert v["r32"]["vllm"].flags == ["--max-lora-rank 32"]
    assert v["llava-all-linear-vision"]["vllm"].flags == ["--enable-tower-connector-lora"]
    assert v["layers-0-3"]["tgi"].verdict == "ignores"
    assert v["layers-0-3"]["tgi"].ignored_params == count(CASES["layers-0-3"][1], PlanIndex(
        cached_inventory(CASES["layers-0-3"][0]))).trainable
    assert v["gpt2-conv1d"]["vllm"].verdict == "refuses" and v["gpt2-conv1d"]["lorax"].verdict == "serves"
    layered = judge_all(exported("ranks-differ-by-layer").adapter)
    assert layered["vllm"].verdict == "serves" and layered["tgi"].verdict == layered["lorax"].verdict == "refuses"
    mixtral = v["mixtral-all-linear+experts"]["vllm"]
    assert mixtral.verdict == "ignores" and all(".mlp." in m for m in mixtral.ignored_modules)


@pytest.mark.parametrize("case", IDS)
def test_make_it_servable_gives_a_plan_the_engine_serves(case: str) -> None:
    ex = exported(case)
    inv, skel = cached_inventory(ex.model), cached_skeleton(ex.model)
    index = PlanIndex(inv)
    for engine, verdict in judge_all(ex.adapter).items():
        s = servable_plan(ex.plan, index, skel.config, engine)
        if s.plan is None:  # the model is refused, or nothing of the plan would take effect
            assert s.changes and (verdict.verdict == "refuses" or verdict.ignored_params == s.before), engine
            continue
        cfg = config_dict(to_lora_config(s.plan, inv, skel, allow_regex=not s.list_form))
        again = ENGINES[engine].judge(describe(s.plan, index, skel.config, cfg))
        assert again.verdict in ("serves", "serves-with-flags"), (engine, again.reasons)
        assert s.before == count(ex.plan, index).trainable and s.after == count(s.plan, index).trainable
        if verdict.verdict in ("serves", "serves-with-flags"):
            assert s.after == s.before or engine == "sglang", engine


def test_the_regex_row_is_a_regex_export() -> None:
    cfg = exported("regex-llava-language").config
    assert isinstance(cfg["target_modules"], str) and re.search(r"\\d\+", cfg["target_modules"])


def test_a_plan_without_linear_units_is_judged() -> None:
    """Experts only on Mixtral wraps no linear module: every engine still answers (SGLang's target
    names are then empty, not a crash of the badge on the Targets page)."""
    from lora_core.planning import Plan, Target
    from lora_core.serving import sglang

    model = "mistralai/Mixtral-8x7B-v0.1"
    inv, skel = cached_inventory(model), cached_skeleton(model)
    adapter = describe(Plan((Target("experts", 4),)), PlanIndex(inv), skel.config)
    assert sglang.configured_names(adapter) == set()
    verdicts = judge_all(adapter)
    assert set(verdicts) == set(ENGINES) and all(v.verdict for v in verdicts.values())


# ---------------------------------------------------------------- vLLM: architectures it does not register
def _inventory(model_type: str, arch: str):
    from bench.arch_sweep import shrunk_config
    from lora_core.model import inventory, skeleton

    config = shrunk_config(model_type)
    config.architectures = [arch]
    return inventory.build_inventory(skeleton.build_skeleton(config))


def _judged_on(model_type: str, arch: str, plan: Plan):
    """``plan`` exported for the 2-layer default config of ``model_type``, naming ``arch`` as its
    checkpoint's config.json does (default configs name no architecture)."""
    from bench.arch_sweep import shrunk_config
    from lora_core.model import inventory, skeleton

    config = shrunk_config(model_type)
    config.architectures = [arch]
    skel = skeleton.build_skeleton(config)
    inv = inventory.build_inventory(skel)
    cfg = config_dict(to_lora_config(plan, inv, skel))
    return describe(plan, PlanIndex(inv), skel.config, cfg), skel.config.architectures[0]


def test_vllm_judges_architectures_it_does_not_register() -> None:
    from lora_core.serving import vllm

    plan = Plan((Target("all-linear", 8),))
    music, arch = _judged_on("musicgen", "MusicgenForConditionalGeneration", plan)
    assert arch == "MusicgenForConditionalGeneration" and arch not in vllm_registry.REGISTERED
    v = vllm.judge(music)
    # vLLM's registry hands it to its Transformers backend (SupportsLoRA), whose AutoModel.from_config
    # cannot build a MusicgenConfig (MusicgenModel wants the decoder's config): refused with that error
    assert [f.kind for f in v.findings] == ["note", "refuses"] and "Transformers modeling backend" in v.reasons[0]
    assert v.verdict == "refuses" and v.findings[1].source == source_of(vllm_model.rule_backend_model)
    assert v.findings[1].message.startswith("AttributeError: 'MusicgenConfig' object has no attribute")

    codegen, arch = _judged_on("codegen", "CodeGenForCausalLM", plan)
    assert arch == "CodeGenForCausalLM"
    v = vllm.judge(codegen)
    refusal = next(f for f in v.findings if f.source == source_of(vllm_model.rule_registry))
    assert v.verdict == "refuses" and refusal.message.startswith(
        "Model architectures ['CodeGenForCausalLM'] are not supported for now. Supported architectures: ")

    mpt, arch = _judged_on("mpt", "MptForCausalLM", plan)
    assert arch == "MptForCausalLM"
    refusal = next(f for f in vllm.judge(mpt).findings if f.source == source_of(vllm_model.rule_registry))
    assert refusal.kind == "refuses" and "was supported in vLLM until v0.28.0" in refusal.message

    # a preset vLLM registers: no registry finding, still served
    preset = vllm.judge(exported("qv-r8").adapter)
    assert preset.verdict == "serves" and not preset.findings


def test_sglang_judges_architectures_it_has_no_model_class_for() -> None:
    from lora_core.serving import sglang, sglang_archs, vllm

    plan = Plan((Target("all-linear", 8),))
    music, arch = _judged_on("musicgen", "MusicgenForConditionalGeneration", plan)
    v = sglang.judge(music)  # MusicGen's transformers class has _supports_attention_backend = False
    refusal = next(f for f in v.findings if f.source == source_of(sglang.rule_registry))
    assert v.verdict == "refuses" and refusal.message == (
        "MusicgenForConditionalGeneration has no SGlang implementation and the Transformers implementation "
        "is not compatible with SGLang.")
    # CTRL: registered by neither engine, its transformers class supports custom attention: both backends run it
    ctrl, arch = _judged_on("ctrl", "CTRLLMHeadModel", plan)
    assert arch not in sglang_archs.REGISTERED
    for engine in (sglang, vllm):
        notes = [f for f in engine.judge(ctrl).findings if f.source == source_of(engine.rule_registry)]
        assert [f.kind for f in notes] == ["note"] and "Transformers" in notes[0].reason, engine.__name__
    assert vllm.judge(ctrl).verdict == "serves"
    # the backend wraps the nn.Linear layers of AutoModel (CTRLModel) and embed_tokens, not the lm_head
    with_head, _ = _judged_on("ctrl", "CTRLLMHeadModel", Plan((Target("all-linear", 8), Target("head", 8))))
    refused = [f for f in vllm.judge(with_head).findings if f.kind == "refuses"]
    assert [f.source for f in refused] == [source_of(vllm.rule_unexpected_modules)]
    assert refused[0].modules == ("lm_head",) and "'lm_head'" in refused[0].message
    s = servable_plan(with_head.plan, PlanIndex(_inventory("ctrl", "CTRLLMHeadModel")), with_head.model.config, "vllm")
    assert s.plan is not None and vllm.judge(_judged_on("ctrl", "CTRLLMHeadModel", s.plan)[0]).verdict == "serves"
    preset = sglang.judge(exported("qv-r8").adapter)
    assert preset.verdict == "serves" and not preset.findings


def test_vllm_converted_pooling_architecture_is_its_registered_base() -> None:
    llama = exported("qv-r8").adapter
    as_cls = dataclasses.replace(llama, model=dataclasses.replace(llama.model, arch="LlamaForSequenceClassification"))
    assert vllm_model.normalized_arch("LlamaForSequenceClassification") == "LlamaForCausalLM"
    assert vllm_model.rule_registry(as_cls) == []
    unknown = dataclasses.replace(llama, model=dataclasses.replace(llama.model, arch="NoSuchForCausalLM"))
    assert [f.kind for f in vllm_model.rule_registry(unknown)] == ["refuses"]


def test_no_servable_plan_where_vllm_cannot_run_the_model() -> None:
    from bench.arch_sweep import shrunk_config
    from lora_core.model import inventory, skeleton

    config = shrunk_config("codegen")
    config.architectures = ["CodeGenForCausalLM"]
    skel = skeleton.build_skeleton(config)
    s = servable_plan(Plan((Target("all-linear", 8),)), PlanIndex(inventory.build_inventory(skel)), skel.config, "vllm")
    assert s.plan is None and "CodeGenForCausalLM" in s.changes[0]
