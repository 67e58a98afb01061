"""The DeepSpeed JSON and the FSDP settings of a strategy, as each recipe carries them.

``deepspeed_config("zero3", "optimizer")`` is the JSON a transformers ``Trainer`` (PEFT, axolotl,
LLaMA-Factory) reads: ``"auto"`` wherever the Trainer fills the value from its own arguments
(``transformers/integrations/deepspeed.py``: batch sizes, bf16, bucket sizes from ``hidden_size``),
the stage and the offload devices set. ``fsdp_settings("fsdp", ...)`` gives the Trainer's
``fsdp`` string and ``fsdp_config`` (transformers ``TrainingArguments``), and axolotl's keys.
"""

from __future__ import annotations

from ..memory.parallel.strategies import get_strategy


def deepspeed_config(strategy: str, offload: str = "none") -> dict:
    """The DeepSpeed JSON for a ZeRO strategy (``{}`` for the others)."""
    s = get_strategy(strategy)
    if s.engine != "deepspeed":
        return {}
    zero: dict = {"stage": s.zero_stage, "overlap_comm": s.zero_stage == 3, "contiguous_gradients": True,
                  "reduce_bucket_size": "auto"}
    if offload in ("optimizer", "optimizer+params"):
        zero["offload_optimizer"] = {"device": "cpu", "pin_memory": True}
    if s.zero_stage == 3:
        zero.update({"stage3_prefetch_bucket_size": "auto", "stage3_param_persistence_threshold": "auto",
                     "stage3_gather_16bit_weights_on_model_save": True})
        if offload == "optimizer+params":
            zero["offload_param"] = {"device": "cpu", "pin_memory": True}
    return {"bf16": {"enabled": "auto"}, "zero_optimization": zero, "gradient_accumulation_steps": "auto",
            "gradient_clipping": "auto", "train_batch_size": "auto", "train_micro_batch_size_per_gpu": "auto"}


def fsdp_settings(strategy: str, offload: str = "none") -> dict:
    """``{"fsdp": True, "fsdp_config": {...}}`` for transformers 5's ``TrainingArguments`` (the old
    ``fsdp="full_shard auto_wrap"`` string is deprecated there); ``{}`` outside FSDP."""
    s = get_strategy(strategy)
    if s.engine != "fsdp":
        return {}
    return {"fsdp": True,
            "fsdp_config": {"reshard_after_forward": s.reshard_after_forward,
                            "cpu_offload": offload == "optimizer+params", "backward_prefetch": "backward_pre",
                            "use_orig_params": False, "cpu_ram_efficient_loading": True,
                            "sync_module_states": True}}


def axolotl_keys(strategy: str, offload: str = "none") -> dict:
    """axolotl 0.19's keys: ``deepspeed`` (the JSON inline) or ``fsdp_version: 2`` and ``fsdp_config``."""
    s = get_strategy(strategy)
    if s.engine == "deepspeed":
        return {"deepspeed": deepspeed_config(strategy, offload)}
    if s.engine == "fsdp":
        return {"fsdp_version": 2, "fsdp_config": {
            "offload_params": offload == "optimizer+params", "cpu_ram_efficient_loading": True,
            "auto_wrap_policy": "TRANSFORMER_BASED_WRAP", "state_dict_type": "SHARDED_STATE_DICT",
            "reshard_after_forward": s.reshard_after_forward}}
    return {}


def launch_line(strategy: str, tool: str) -> str:
    """How the tool is launched on several GPUs, for the recipe's header."""
    s = get_strategy(strategy)
    if s.engine == "none":
        return ""
    return {"axolotl": "launch: accelerate launch -m axolotl.cli.train axolotl.yaml",
            "llamafactory": "launch: FORCE_TORCHRUN=1 llamafactory-cli train llamafactory.yaml",
            }.get(tool, "launch: accelerate launch --num_processes N train.py (or torchrun)")


def carry(tool: str, text: str, strategy: str = "single", offload: str = "none") -> str:
    """The recipe ``text`` with the strategy's settings added in the tool's own form.

    axolotl: its ``deepspeed`` (inline JSON) or ``fsdp_version``/``fsdp_config`` keys, appended to
    the YAML. LLaMA-Factory: its parser refuses ``deepspeed:`` outside a torchrun launch, and FSDP is
    an accelerate config, so both go in comment lines with the launch command. The Python export:
    ``trainer_kwargs`` for ``transformers.TrainingArguments``. adapter_config.json and Unsloth's
    snippet carry no training settings.
    """
    import json

    import yaml

    s = get_strategy(strategy)
    if s.engine in ("none", "ddp") and tool != "python":
        return text
    head = f"{s.label}" + ("" if offload == "none" else f", offload {offload}") + f" ({launch_line(strategy, tool)})"
    if tool == "axolotl":
        return text + f"# Several GPUs: {head}\n" + yaml.safe_dump(axolotl_keys(strategy, offload), sort_keys=False)
    if tool == "llamafactory":
        if s.engine == "deepspeed":
            name = f"ds_z{s.zero_stage}{'_offload' if offload != 'none' else ''}_config.json"
            return (text + f"# Several GPUs: {head}; save this as {name} and add `deepspeed: {name}`:\n"
                    + f"# {json.dumps(deepspeed_config(strategy, offload))}\n")
        return (text + f"# Several GPUs: {s.label}: accelerate launch --config_file fsdp_config.yaml "
                "src/train.py llamafactory.yaml, with fsdp_config: "
                + json.dumps(axolotl_keys(strategy, offload)["fsdp_config"]) + "\n")
    if tool == "python" and s.engine != "none":
        kwargs = deepspeed_config(strategy, offload) if s.engine == "deepspeed" else fsdp_settings(strategy, offload)
        kwargs = {"deepspeed": kwargs} if s.engine == "deepspeed" else kwargs
        return text + (f"# Several GPUs: {head}\n# pass to transformers.TrainingArguments(**trainer_kwargs, ...)\n"
                       f"trainer_kwargs = {kwargs!r}\n")
    return text
