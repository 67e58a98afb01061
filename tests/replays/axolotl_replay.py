"""Replay axolotl 0.19.0's own config path on our axolotl YAML, then PEFT on a fresh meta skeleton.

Per case: ``axolotl.cli.config.load_cfg`` (its YAML loading, ``validate_config`` with this machine's
capabilities, ``normalize_config``), then ``axolotl.loaders.adapter.load_lora`` (its
``_build_peft_lora_config`` and the ``get_peft_model`` call). ``base_model`` is overridden (a
``load_cfg`` keyword, as its CLI does) with a local folder holding the preset's config.json.

Stubbed: nothing is replaced. The one change is that ``load_lora``'s ``get_peft_model`` gets
``low_cpu_mem_usage=True`` added, so the adapters stay on the meta device like the base model.
Telemetry is off (``AXOLOTL_DO_NOT_TRACK``). bitsandbytes imports on CPU (it prints that its CPU
kernels are missing; nothing here quantizes).
"""

from __future__ import annotations

import os

os.environ["AXOLOTL_DO_NOT_TRACK"] = "1"

import axolotl  # noqa: E402
from axolotl.cli.config import load_cfg  # noqa: E402
from axolotl.loaders import adapter as ax_adapter  # noqa: E402

from _trainer_common import adapters_on_meta, fresh_model, model_dir, peft_result, run_cases, write  # noqa: E402

adapters_on_meta(ax_adapter)
SHAPE_KEYS = ("adapter", "load_in_4bit", "load_in_8bit", "sequence_len", "micro_batch_size", "num_epochs",
              "gradient_checkpointing", "attn_implementation")


def replay_one(case: dict) -> dict:
    path = write(case["text"], f"{case['id']}.yaml")
    # A DeepSpeed recipe: load_cfg's setup_deepspeed_env would open an NCCL process group, which a
    # CPU machine has not; axolotl's own preprocess mode (AXOLOTL_IS_PREPROCESS=1) skips that step and
    # still validates the JSON (transformers' HfTrainerDeepSpeedConfig). accelerate's state is reset
    # after each case, as a new process would start.
    os.environ["AXOLOTL_IS_PREPROCESS"] = "1" if "\ndeepspeed:" in case["text"] else "0"
    try:
        cfg = load_cfg(path, base_model=model_dir(case["model"]))
    finally:
        from accelerate.state import AcceleratorState
        from axolotl.utils import distributed
        AcceleratorState._reset_state(True)
        distributed.distributed_state = None  # axolotl's cached PartialState, re-made on next use
    model, lora_config = ax_adapter.load_lora(fresh_model(case["model"]), cfg)
    out = peft_result(model)
    out["version"] = axolotl.__version__
    out["lora_alpha"] = lora_config.lora_alpha
    out["deepspeed"] = cfg.deepspeed if isinstance(cfg.deepspeed, dict) else None
    out["fsdp_config"] = dict(cfg.fsdp_config) if cfg.get("fsdp_config") else None
    out["fsdp_version"] = cfg.get("fsdp_version")
    out["shape"] = {k: cfg.get(k) for k in SHAPE_KEYS}  # the training shape as axolotl's validated cfg holds it
    return out


if __name__ == "__main__":
    run_cases(replay_one)
