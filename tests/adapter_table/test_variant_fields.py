"""Every LoRA variant field of the installed PEFT (its own ``is_lora_variant``/``lora_variants``
metadata), and the other LoraConfig fields that change what trains: counted as get_peft_model
counts them on the same meta model, or refused with the field named. None is dropped."""

from __future__ import annotations

import copy
import warnings

import pytest
import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, LlamaConfig

from lora_core.planning.audit import audit_adapter_config
from lora_core.errors import InputError
from lora_core.model.inventory import build_inventory
from lora_core.model.skeleton import build_skeleton
from lora_core.planning.variants import variant_fields

CONFIG = LlamaConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                     num_key_value_heads=2, vocab_size=100)
BD = {"target_modules_bd_a": ["q_proj"], "target_modules_bd_b": ["v_proj"], "nblocks": 2}
VALUES = {  # one value that switches each field on
    "use_dora": True, "velora_config": {}, "alora_invocation_tokens": [1, 2], "monteclora_config": {},
    "use_bdlora": BD, "arrow_config": {}, "kasa_config": {}, "init_lora_weights": "mica",
    "use_qalora": True, "layer_replication": [[0, 2], [1, 2]], "trainable_token_indices": [1, 2, 3],
    "megatron_config": {"tensor_model_parallel_size": 1},
}
FIELDS = sorted(set(variant_fields()) | {"use_qalora", "layer_replication", "trainable_token_indices",
                                         "megatron_config"})


def _peft(data: dict) -> int | None:
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(copy.deepcopy(CONFIG))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cfg = LoraConfig(**{k: v for k, v in data.items() if k != "peft_type"})
            return int(get_peft_model(model, cfg, low_cpu_mem_usage=True).get_nb_trainable_parameters()[0])
    except Exception:  # noqa: BLE001 - PEFT refusing (or needing a missing package) is a refusal
        return None


def test_every_variant_field_has_a_case() -> None:
    assert set(FIELDS) <= set(VALUES)


@pytest.mark.parametrize("field", FIELDS)
def test_counted_as_peft_or_refused_by_name(field: str) -> None:
    data = {"peft_type": "LORA", "r": 8, "task_type": "CAUSAL_LM", "target_modules": ["q_proj", "v_proj"],
            field: VALUES[field]}
    skel = build_skeleton(copy.deepcopy(CONFIG))
    try:
        ours = audit_adapter_config(data, build_inventory(skel), skel).count.trainable
    except InputError as e:
        assert field in str(e)
        return
    assert ours == _peft(data)
