"""Replay LLaMA-Factory 0.9.5's own config path on our LLaMA-Factory YAML, then PEFT on a meta skeleton.

Per case: ``llamafactory.hparams.get_train_args`` reading the YAML from ``sys.argv`` as
``llamafactory-cli train recipe.yaml`` does (OmegaConf, with ``model_name_or_path=<folder>`` as a
command-line override, pointing at a local folder holding the preset's config.json), then
``llamafactory.model.adapter.init_adapter`` (``_setup_lora_tuning`` building the LoraConfig and
calling ``get_peft_model``). A recipe with ``deepspeed:`` is refused unless launched by torchrun
(``FORCE_TORCHRUN=1 llamafactory-cli train``): the test runs those cases with the environment torchrun
gives a single rank (``LOCAL_RANK``, ``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``/``PORT``); after the
parse, transformers' global DeepSpeed config is unset so that our meta skeleton is not built under
ZeRO-3's ``zero.Init`` (the tool's parse is what is replayed, the skeleton is ours).

Stubbed: nothing is replaced. ``DISABLE_VERSION_CHECK=1`` (LLaMA-Factory's own switch) lets it run
with our transformers 5.23 / peft 0.21 (it pins transformers<=5.6); ``init_adapter``'s
``get_peft_model`` gets ``low_cpu_mem_usage=True`` added so the adapters stay on the meta device.
"""

from __future__ import annotations

import os
import sys

os.environ["DISABLE_VERSION_CHECK"] = "1"

import llamafactory  # noqa: E402
from llamafactory.hparams import get_train_args  # noqa: E402
from llamafactory.model import adapter as lf_adapter  # noqa: E402
from transformers.integrations import is_deepspeed_zero3_enabled  # noqa: E402
from transformers.integrations.deepspeed import unset_hf_deepspeed_config  # noqa: E402

from _trainer_common import adapters_on_meta, fresh_model, model_dir, peft_result, run_cases, write  # noqa: E402

adapters_on_meta(lf_adapter)


def replay_one(case: dict) -> dict:
    path = write(case["text"], f"{case['id']}.yaml")
    sys.argv = ["llamafactory-cli", path, f"model_name_or_path={model_dir(case['model'])}"]
    model_args, data_args, training_args, finetuning_args, _gen = get_train_args()
    zero3 = is_deepspeed_zero3_enabled()
    unset_hf_deepspeed_config()  # the meta skeleton is ours, not the tool's: built without zero.Init
    model = fresh_model(case["model"])
    model = lf_adapter.init_adapter(model.config, model, model_args, finetuning_args, is_trainable=True)
    out = peft_result(model)
    out["version"] = llamafactory.__version__
    out["shape"] = {"quantization_bit": model_args.quantization_bit, "cutoff_len": data_args.cutoff_len,
                    "per_device_train_batch_size": training_args.per_device_train_batch_size,
                    "num_train_epochs": training_args.num_train_epochs,
                    "disable_gradient_checkpointing": model_args.disable_gradient_checkpointing,
                    "flash_attn": str(model_args.flash_attn)}
    out["parallel"] = {"deepspeed": training_args.deepspeed if isinstance(training_args.deepspeed, dict) else None,
                       "zero3": zero3, "fsdp": bool(training_args.fsdp),
                       "fsdp_plugin_args": training_args.fsdp_plugin_args,
                       "distributed": str(training_args.parallel_mode)}
    return out


if __name__ == "__main__":
    run_cases(replay_one)
