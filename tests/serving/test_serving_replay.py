"""The engines' own code on our exports: vLLM 0.34.0 and SGLang 0.5.23, installed --no-deps in
``.venv-replay``, one subprocess per engine for the whole table (original plans and the
"make it servable" plans)."""

from __future__ import annotations

import dataclasses
import math
import re
from functools import lru_cache

import pytest

from lora_core.planning import PlanIndex
from lora_core.serving import vllm_model, vllm_registry
from lora_core.serving import peft_tensors, servable_plan, sglang, sglang_archs, vllm, vllm_archs
from lora_core.serving.verdict import source_of

from tests.helpers import cached_inventory, cached_skeleton
from tests.replay_support import run_replay
from tests.serving.cases import CASES, Exported, export, exported

ARCH_FILES = {arch: (mod, arch) for arch, (mod, _) in vllm_archs.LEAVES.items()}
ARCH_FILES["GPT2LMHeadModel"] = ("gpt2", "GPT2LMHeadModel")


def _rule_sources(rules) -> list[list[str]]:
    out = []
    for rule in rules:
        file, func = re.findall(r"`([^`]+)`", source_of(rule))[:2]
        out.append([file, func])
    return out


@lru_cache(maxsize=None)
def servable(case: str, engine: str) -> Exported | None:
    ex = exported(case)
    s = servable_plan(ex.plan, PlanIndex(cached_inventory(ex.model)), cached_skeleton(ex.model).config, engine)
    return None if s.plan is None else export(ex.model, s.plan, allow_regex=not s.list_form)


def _rows(engine: str) -> dict[str, Exported]:
    rows = {c: exported(c) for c in CASES}
    for c in CASES:
        if (s := servable(c, engine)) is not None:
            rows[f"{c}>servable"] = s
    return rows


@lru_cache(maxsize=None)
def vllm_run() -> tuple[dict[str, Exported], dict]:
    rows = _rows("vllm")
    cases = [{"id": k, "config": ex.config, "tensors": list(peft_tensors(ex.adapter)),
              "ranks": sorted({16, vllm.needed_max_rank(ex.adapter) or 512})} for k, ex in rows.items()]
    got = run_replay("vllm_replay.py", {"cases": cases, "archs": [[a, m, c] for a, (m, c) in ARCH_FILES.items()],
                                        "sources": _rule_sources(vllm.RULES)})
    return rows, got


def _leaf_as_vllm_checks(module: str) -> str:
    """`check_unexpected_modules`: the ``experts...`` suffix for expert weights, else the last component."""
    return module[module.find(".experts") + 1:] if ".experts" in module else module.rsplit(".", 1)[-1]


def test_vllm_validate_legal_and_name_parser_agree_with_our_verdicts() -> None:
    rows, got = vllm_run()
    for res in got["results"]:
        ex = rows[res["id"]]
        a, verdict = ex.adapter, vllm.judge(ex.adapter)
        assert res["from_dict"] is None, res["id"]
        m = vllm.needed_max_rank(a) or 512
        assert res["legal"]["16"] == vllm.legal_message(a, 16), res["id"]
        assert res["legal"][str(m)] == vllm.legal_message(a, m), res["id"]
        ours = [n for n in peft_tensors(a) if not vllm.skipped_tensor(n) and vllm.unsupported_tensor(n)]
        assert ours == res["names"]["refused"], res["id"]
        by_rule = {f.source: f for f in verdict.findings}
        names_f = by_rule.get(source_of(vllm.rule_tensor_names))
        refusals = [f for f in verdict.findings if f.kind == "refuses" and f.source == source_of(vllm.rule_validate_legal)]
        assert (res["legal"][str(m)] is not None) == bool(refusals), res["id"]
        for f in refusals:  # the engine's own message, at the default or at the largest --max-lora-rank
            assert f.message in (res["legal"]["16"], res["legal"].get("512")), res["id"]
        assert (names_f is not None) == bool(res["names"]["refused"]), res["id"]
        if names_f is not None:
            assert names_f.message == res["names"]["message"], res["id"]
        if verdict.verdict in ("serves", "serves-with-flags"):  # the stated flags make it pass
            rank_flag = [f for f in verdict.flags if f.startswith("--max-lora-rank")]
            assert res["legal"][rank_flag[0].split()[1] if rank_flag else "16"] is None, res["id"]
            assert not res["names"]["refused"], res["id"]
        # check_unexpected_modules on the parsed names, with the expected set of the arch
        expected = vllm.expected_modules(a)
        if expected is not None:
            unexpected = {_leaf_as_vllm_checks(n) for n in res["names"]["modules"]} - expected
            assert bool(unexpected) == (source_of(vllm.rule_unexpected_modules) in by_rule), (res["id"], unexpected)
        if res["id"].endswith(">servable"):
            assert verdict.verdict in ("serves", "serves-with-flags"), (res["id"], verdict.reasons)


def test_vllm_architecture_tables_match_its_model_classes() -> None:
    _, got = vllm_run()
    for arch, attrs in got["archs"].items():
        assert attrs["lora"] == (arch not in vllm_archs.NO_LORA), arch
        if not attrs["lora"]:
            continue
        assert set(attrs.get("embedding_modules", {})) == vllm_archs.embedding_leaves(arch), arch
        assert bool(attrs.get("supports_tower_connector_lora")) == (arch in vllm_archs.TOWER), arch
        leaves = vllm_archs.LEAVES[arch][1]
        for packed, children in attrs.get("packed_modules_mapping", {}).items():
            assert set(children) <= leaves, (arch, packed)
            assert (packed in leaves) == (packed in children), (arch, packed)


def test_every_vllm_rule_names_a_function_of_the_installed_vllm() -> None:
    _, got = vllm_run()
    assert got["sources"] and all(got["sources"].values()), got["sources"]


@lru_cache(maxsize=None)
def sglang_run() -> tuple[dict[str, Exported], dict]:
    rows = _rows("sglang")
    cases = [{"id": k, "config": ex.config, "model": ex.model} for k, ex in rows.items()]
    return rows, run_replay("sglang_replay.py", {"cases": cases, "sources": _rule_sources(sglang.RULES)})


def test_sglang_config_checks_agree_with_our_verdicts() -> None:
    rows, got = sglang_run()
    for res in got["results"]:
        ex = rows[res["id"]]
        a, verdict = ex.adapter, sglang.judge(ex.adapter)
        found = {f.source: f for f in verdict.findings}
        assert res["config"] is None, res["id"]
        dora = found.get(source_of(sglang.rule_dora))
        assert (dora is not None) == (res["validate_new_adapter"] is not None), res["id"]
        if dora:
            assert res["validate_new_adapter"] == f"ValueError: {dora.message}"
        target = found.get(source_of(sglang.rule_target_string))
        assert (target is not None) == (res["normalized"] is not None), res["id"]
        if target:
            assert res["normalized"] == f"ValueError: {target.message}"
        if res["names"] and "all" not in res["names"]:
            assert res["names"] == sorted(sglang.configured_names(a)), res["id"]
            sized = sglang.SIZED - ({"qkv_proj", "o_proj"} if a.model.head_dim_unset else set())
            assert res["unsized"] == sorted(sglang.configured_names(a) - sized), res["id"]
        if a.cfg("use_rslora"):  # PEFT scales alpha/sqrt(r); SGLang's scaling is what the replay computed
            r = int(a.cfg("r"))
            ratio = (float(a.cfg("lora_alpha")) / math.sqrt(r)) / res["scaling"]
            assert f"{ratio:.2f}x" in found[source_of(sglang.rule_rslora)].reason
        if res["id"].endswith(">servable"):
            assert res["validate_new_adapter"] is None and res["normalized"] is None and not res["unsized"]
            original = rows[res["id"].removesuffix(">servable")].adapter
            if original.cfg("use_rslora"):  # SGLang's own scaling now equals PEFT's rsLoRA scale
                r = int(original.cfg("r"))
                assert res["scaling"] == pytest.approx(float(original.cfg("lora_alpha")) / math.sqrt(r))
            assert verdict.verdict in ("serves", "serves-with-flags"), (res["id"], verdict.reasons)


def test_every_sglang_rule_names_a_function_of_the_installed_sglang() -> None:
    _, got = sglang_run()
    assert got["sources"] and all(got["sources"].values()), got["sources"]


# Architectures whose resolution the registry replay checks: the presets', every one vLLM names as
# formerly supported or moved to a plugin, and transformers classes it does not register.
UNREGISTERED = ("MusicgenForConditionalGeneration", "CodeGenForCausalLM", "XGLMForCausalLM", "MptForCausalLM",
                "ReformerModelWithLMHead", "BioGptForCausalLM", "T5ForConditionalGeneration",
                "LlamaForSequenceClassification", "Gemma2ForTokenClassification", "CTRLLMHeadModel",
                "FuyuForCausalLM", "NoSuchForCausalLM")


@lru_cache(maxsize=None)
def registry_run() -> dict:
    archs = sorted(set(ARCH_FILES) | set(vllm_registry.PREVIOUSLY_SUPPORTED) | set(vllm_registry.OOT_SUPPORTED)
                   | set(UNREGISTERED))
    return run_replay("vllm_registry_replay.py", {"archs": archs})


def test_vllm_registry_tables_match_the_installed_registry() -> None:
    got = registry_run()
    assert set(got["registered"]) == vllm_registry.REGISTERED
    assert got["previously"] == vllm_registry.PREVIOUSLY_SUPPORTED
    assert got["oot"] == vllm_registry.OOT_SUPPORTED
    assert [tuple(s) for s in got["suffixes"]] == list(vllm_model._SUFFIXES)
    assert vllm_archs.NO_LORA <= vllm_registry.REGISTERED and set(ARCH_FILES) <= vllm_registry.REGISTERED


def test_vllm_resolves_unregistered_architectures_as_its_registry_does() -> None:
    """``_try_resolve_transformers`` executed from the installed registry.py decides, per architecture,
    whether the Transformers backend takes it; our rule must note exactly those and refuse the rest."""
    got = registry_run()
    base = exported("qv-r8").adapter
    for arch, backend in got["backend"].items():
        a = dataclasses.replace(base, model=dataclasses.replace(base.model, arch=arch))
        found = vllm_model.rule_registry(a)
        if arch in vllm_registry.REGISTERED or vllm_model.normalized_arch(arch) in vllm_registry.REGISTERED:
            assert found == [], arch
        elif backend is not None:
            assert [f.kind for f in found] == ["note"], arch
        else:
            assert [f.kind for f in found] == ["refuses"], arch
            ours, theirs = found[0].message, got["unsupported"][arch]
            if "Supported architectures: " in theirs:  # ours abbreviates the list of names vLLM prints
                head, names = theirs.split("Supported architectures: ")
                assert ours == head + f"Supported architectures: dict_keys([... {len(vllm_registry.REGISTERED)} names])"
                assert names.count("'") == 2 * len(vllm_registry.REGISTERED)
            else:
                assert ours == theirs, arch
    assert got["backend"]["MusicgenForConditionalGeneration"] is not None
    assert got["backend"]["CodeGenForCausalLM"] is None


def test_sglang_registry_and_transformers_fallback_as_its_code_does() -> None:
    """The EntryClass names of the installed model files are our table; ``resolve_transformers_arch``
    executed from the installed source refuses exactly what we refuse, with the same message."""
    got = run_replay("sglang_registry_replay.py", {"archs": sorted(set(UNREGISTERED) | set(ARCH_FILES))})
    assert set(got["registered"]) == sglang_archs.REGISTERED
    base = exported("qv-r8").adapter
    kinds = set()
    for arch, res in got["resolved"].items():
        found = sglang.rule_registry(dataclasses.replace(base, model=dataclasses.replace(base.model, arch=arch)))
        if arch in sglang_archs.REGISTERED:
            assert found == [], arch
            continue
        kinds.add(found[0].kind)
        if res["error"]:
            assert [(f.kind, f.message) for f in found] == [("refuses", res["error"])], arch
        else:
            assert [f.kind for f in found] == ["note"], arch
    assert kinds == {"refuses", "note"}
