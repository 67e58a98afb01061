"""lora_core.peft_rules, case by case against PEFT's own functions.

Each rule is asked of PEFT itself on the same names: ``check_target_module_exists`` (list entries,
regex strings, ``layers_to_transform``, and the ``modules_to_save`` exclusion), ``get_pattern_key``
(``rank_pattern`` keys), ``_set_trainable`` (what a ``modules_to_save`` entry saves), and
``get_peft_model`` itself for the transformers-5 MoE rewriting.
"""

from __future__ import annotations

import copy
import itertools
import warnings

import pytest
from peft import LoraConfig, get_peft_model
from peft.tuners.tuners_utils import _ExcludedModule, check_target_module_exists
from peft.utils.other import ModulesToSaveWrapper, _set_trainable, get_pattern_key
from torch import nn

from lora_core import peft_rules as rules
from lora_core.planning.verify import wrapped_by_peft
from tests.helpers import cached_skeleton, fresh_skeleton

NAMES = (
    "q_proj", "model.layers.0.self_attn.q_proj", "model.layers.10.self_attn.q_proj",
    "model.layers.0.self_attn.q_proj_extra", "model.layers.0.self_attnq_proj", "transformer.h.3.attn.c_attn",
    "lm_head", "model.lm_head", "model.my_lm_head", "model.layers.1.mlp.experts.0.up_proj",
    "layers.2.mlp.up_proj", "model.vision_tower.encoder.layers.5.mlp.fc1", "model.layers.12",
    "model.layers.3.mlp", "a.b",
)
ENTRIES = ("q_proj", "self_attn.q_proj", "layers.0.self_attn.q_proj", "lm_head", "head", "up_proj",
           "experts.0.up_proj", "c_attn", "fc1", "mlp", "b")
PATTERNS = (r".*q_proj", r"model\.layers\.\d+\.self_attn\.q_proj", r"q_proj", r".*\.(?:up|down)_proj", r"lm_head",
            r"model\.layers\.(?:0|10)\..*")
SAVED = ("lm_head", "head", "self_attn", "model.lm_head", "experts", "mlp")
PATTERN_KEYS = ("q_proj", "self_attn.q_proj", r"layers\.0\.self_attn\.q_proj", "proj", "up_proj", "lm_head")


@pytest.mark.parametrize("name, entry", list(itertools.product(NAMES, ENTRIES)))
def test_list_entry_as_peft(name: str, entry: str) -> None:
    peft = bool(check_target_module_exists(LoraConfig(target_modules=[entry]), name))
    assert rules.matches_entry(name, entry) is peft
    assert bool(rules.entry_mask([name], entry)[0]) is peft


@pytest.mark.parametrize("name, pattern", list(itertools.product(NAMES, PATTERNS)))
def test_regex_as_peft(name: str, pattern: str) -> None:
    assert rules.matches_pattern(name, pattern) is bool(check_target_module_exists(LoraConfig(target_modules=pattern), name))


@pytest.mark.parametrize("name, saved", list(itertools.product(NAMES, SAVED)))
def test_modules_to_save_exclusion_as_peft(name: str, saved: str) -> None:
    """LoRA never wraps a name inside a ``modules_to_save`` module (PEFT returns its ``_ExcludedModule``)."""
    leaf = name.rpartition(".")[2]
    found = check_target_module_exists(LoraConfig(target_modules=[leaf], modules_to_save=[saved]), name)
    assert rules.in_saved_module(name, [saved]) is isinstance(found, _ExcludedModule)
    assert bool(rules.saved_mask([name], [saved])[0]) is isinstance(found, _ExcludedModule)


@pytest.mark.parametrize("name", NAMES)
def test_layer_index_as_peft(name: str) -> None:
    """The layer ``layers_to_transform`` keeps a name in is the one :func:`layer_index` reads."""
    leaf = name.rpartition(".")[2]
    kept = [i for i in range(16)
            if check_target_module_exists(LoraConfig(target_modules=[leaf], layers_to_transform=[i]), name)]
    index = rules.layer_index(name)
    if leaf == name:  # an entry equal to the whole name skips the layer filter (export relies on it)
        assert kept == list(range(16))
    elif index is not None and name.endswith(f".{index}"):  # a layer's own name: PEFT wants a dot after it
        assert kept == []
    else:
        assert kept == ([] if index is None else [index])
    parts = rules.split_layer(name)
    assert (parts is None) is (index is None)
    if parts:
        assert "".join(parts) == name and int(parts[1]) == index


@pytest.mark.parametrize("key, name", [(k, n) for k, n in itertools.product(PATTERN_KEYS, NAMES) if k != n])
def test_pattern_key_as_peft(key: str, name: str) -> None:
    """``get_pattern_key`` returns the key when it matches, else the name itself."""
    assert rules.pattern_key_matches(key, name) is (get_pattern_key([key], name) == key)


def _toy() -> nn.Module:
    model = nn.Module()
    model.lm_head = nn.Linear(2, 2)
    model.head = nn.Linear(2, 2)
    model.score_head = nn.Linear(2, 2)
    body = nn.Module()
    body.lm_head = nn.Linear(2, 2)
    body.mlp = nn.Linear(2, 2)
    model.body = body
    return model


@pytest.mark.parametrize("entry", ("head", "lm_head", "body.lm_head", "mlp", "ad"))
def test_saved_by_text_as_peft(entry: str) -> None:
    """What PEFT's ``_set_trainable`` wraps for a ``modules_to_save`` entry: any name ending with it."""
    model = _toy()
    names = [n for n, _ in model.named_modules() if n]
    try:
        _set_trainable(model, "default", module_names=[entry], inference_mode=False)
    except ValueError:  # PEFT refuses an entry that matches nothing only with strict checks
        pass
    wrapped = sorted(n for n, m in model.named_modules() if isinstance(m, ModulesToSaveWrapper))
    assert wrapped == sorted(n for n in names if rules.saved_by_text(n, entry))


@pytest.mark.parametrize("model_id, leaves, rewritten", [
    ("Qwen/Qwen3-30B-A3B", ["gate_proj", "up_proj"], True), ("Qwen/Qwen3-30B-A3B", ["down_proj"], True),
    ("Qwen/Qwen3-30B-A3B", ["q_proj"], False), ("meta-llama/Meta-Llama-3.1-8B", ["gate_proj"], False),
    ("Qwen/Qwen3-30B-A3B", ["gate_proj"], None),  # half of a fused pair: PEFT raises
])
def test_moe_rewriting_as_get_peft_model(model_id: str, leaves: list[str], rewritten: bool | None) -> None:
    """A leaf is rewritten exactly when ``get_peft_model`` wraps something else than the modules named so."""
    config = LoraConfig(target_modules=leaves, r=4)

    def peft_wraps() -> dict:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return wrapped_by_peft(get_peft_model(fresh_skeleton(model_id).model, copy.deepcopy(config),
                                                  low_cpu_mem_usage=True))
    model = cached_skeleton(model_id).model
    assert (set(leaves) <= rules.rewritten_leaves(model, leaves)) is (rewritten is not False)
    if rewritten is None:
        with pytest.raises(ValueError):
            rules.peft_matches(config, model)
        with pytest.raises(ValueError):
            peft_wraps()
        return
    predicted = rules.peft_matches(config, model)
    got = peft_wraps()
    assert set(predicted.modules) | set(predicted.parameters) == set(got)
    plain = {n for n, _ in model.named_modules() if rules.matches_any_entry(n, leaves)}
    assert (set(got) != plain) is rewritten
