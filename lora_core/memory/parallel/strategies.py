"""Parallel strategies as data: what each engine shards, read from its own code, and which trainers run it.

Sources (read, not imported; DeepSpeed 0.19 ``deepspeed/runtime/zero/``, torch 2.x FSDP):

- DDP: ``torch.nn.parallel.DistributedDataParallel(gradient_as_bucket_view=False)`` (the default)
  keeps the gradients in its all-reduce buckets besides ``.grad``: one more copy of the
  trainable gradients. Nothing is sharded.
- ZeRO-1 (``stage_1_and_2.py DeepSpeedZeroOptimizer``, ``partition_gradients=False``): the fp32
  master copy and Adam's moments of the *trainable* parameter groups are partitioned over the
  ranks; 16-bit weights and gradients stay whole. Frozen parameters are never handed to the
  optimizer (the Trainer passes ``requires_grad`` parameters only), so the frozen base stays whole.
- ZeRO-2: the same, and the gradients are reduced into partitions. ``backward()`` allocates
  ``ipg_buffer`` of ``reduce_bucket_size`` elements in the 16-bit dtype whenever
  ``contiguous_gradients`` (default ``True``), whatever the trainable count.
- ZeRO-3 (``stage3.py DeepSpeedZeroOptimizer_Stage3``): every parameter, frozen ones included,
  is partitioned (``zero.Init``); a module's parameters are all-gathered when it runs, with
  ``stage3_prefetch_bucket_size`` elements prefetched; parameters under
  ``stage3_param_persistence_threshold`` elements stay whole; ``__ipg_bucket_flat_buffer`` of
  ``reduce_bucket_size`` is allocated when ``contiguous_gradients``.
- FSDP ``FULL_SHARD`` (FSDP1 with ``use_orig_params=False`` and PEFT's ``fsdp_auto_wrap_policy``,
  or FSDP2 ``fully_shard(reshard_after_forward=True)``): every flat parameter is sharded;
  one wrapped unit (a decoder layer) is gathered at a time plus the prefetched next one; the root
  unit (embeddings, final norm, ``lm_head``) stays gathered between forward and backward.
- FSDP ``SHARD_GRAD_OP`` (``reshard_after_forward=False``): parameters stay gathered from their
  forward to their backward: the whole model is whole at the peak.
- FSDP + QLoRA: bitsandbytes ``Params4bit`` stored in ``bnb_4bit_quant_storage=bfloat16`` so
  FSDP can flatten and shard the packed 4-bit weights; ``quant_state`` stays on each rank.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ...errors import InputError

Engine = Literal["none", "ddp", "deepspeed", "fsdp"]
OFFLOADS: tuple[str, ...] = ("none", "optimizer", "optimizer+params")


@dataclass(frozen=True)
class Strategy:
    """One way to spread a run over GPUs.

    Attributes:
        name: the CLI value (``zero3``); ``label``: how the page shows it.
        engine: ``none``, ``ddp``, ``deepspeed`` or ``fsdp``.
        zero_stage: DeepSpeed's ``zero_optimization.stage`` (0 outside DeepSpeed).
        shards_optimizer / shards_grads / shards_params: what is partitioned over the ranks.
        reshard_after_forward: FSDP frees a unit's gathered weights after its forward.
        offloads: the ``--offload`` values the engine accepts.
        quantized: the base is 4-bit (FSDP + QLoRA: NF4 packed in bf16 storage).
    """

    name: str
    label: str
    engine: Engine
    zero_stage: int
    shards_optimizer: bool
    shards_grads: bool
    shards_params: bool
    reshard_after_forward: bool
    offloads: tuple[str, ...]
    quantized: bool = False


_ZERO_OFFLOADS = ("none", "optimizer")
STRATEGIES: dict[str, Strategy] = {s.name: s for s in (
    Strategy("single", "single GPU", "none", 0, False, False, False, False, ("none",)),
    Strategy("ddp", "DDP", "ddp", 0, False, False, False, False, ("none",)),
    Strategy("zero1", "DeepSpeed ZeRO-1", "deepspeed", 1, True, False, False, False, _ZERO_OFFLOADS),
    Strategy("zero2", "DeepSpeed ZeRO-2", "deepspeed", 2, True, True, False, False, _ZERO_OFFLOADS),
    Strategy("zero3", "DeepSpeed ZeRO-3", "deepspeed", 3, True, True, True, False, OFFLOADS),
    # torch FSDP's CPUOffload(offload_params=True) moves parameters, gradients and the step together
    Strategy("fsdp", "FSDP full shard", "fsdp", 0, True, True, True, True, ("none", "optimizer+params")),
    Strategy("fsdp-sgo", "FSDP shard-grad-op", "fsdp", 0, True, True, True, False, ("none", "optimizer+params")),
    Strategy("fsdp-qlora", "FSDP + QLoRA", "fsdp", 0, True, True, True, True, ("none", "optimizer+params"),
             quantized=True),
)}
STRATEGY_NAMES: tuple[str, ...] = tuple(STRATEGIES)

# Which strategies each trainer runs, and how it is switched on (the tool's own option).
TRAINER_STRATEGIES: dict[str, dict[str, str]] = {
    "peft": {
        "single": "python train.py",
        "ddp": "accelerate launch --num_processes N train.py (or torchrun)",
        "zero1": "TrainingArguments(deepspeed='ds_z1.json') or accelerate config zero_stage: 1",
        "zero2": "TrainingArguments(deepspeed='ds_z2.json') or accelerate config zero_stage: 2",
        "zero3": "TrainingArguments(deepspeed='ds_z3.json') or accelerate config zero_stage: 3",
        "fsdp": "TrainingArguments(fsdp=True, fsdp_config={'reshard_after_forward': True}) (PEFT's fsdp_auto_wrap_policy)",
        "fsdp-sgo": "TrainingArguments(fsdp=True, fsdp_config={'reshard_after_forward': False})",
        "fsdp-qlora": "BitsAndBytesConfig(bnb_4bit_quant_storage=torch.bfloat16) + the fsdp settings above",
    },
    "axolotl": {
        "single": "axolotl train config.yml",
        "ddp": "accelerate launch -m axolotl.cli.train config.yml (several GPUs, no deepspeed/fsdp key)",
        "zero1": "deepspeed: deepspeed_configs/zero1.json",
        "zero2": "deepspeed: deepspeed_configs/zero2.json",
        "zero3": "deepspeed: deepspeed_configs/zero3_bf16.json (zero3_bf16_cpuoffload_all.json to offload)",
        "fsdp": "fsdp_version: 2 + fsdp_config: {reshard_after_forward: true, auto_wrap_policy: TRANSFORMER_BASED_WRAP}",
        "fsdp-sgo": "fsdp_version: 2 + fsdp_config: {reshard_after_forward: false}",
        "fsdp-qlora": "adapter: qlora + fsdp_config (axolotl sets bnb_4bit_quant_storage to the compute dtype)",
    },
    "llamafactory": {
        "single": "llamafactory-cli train config.yaml",
        "ddp": "FORCE_TORCHRUN=1 llamafactory-cli train config.yaml",
        "zero1": "deepspeed: ds_z1_config.json (examples/deepspeed/ has no stage-1 file; write one)",
        "zero2": "deepspeed: examples/deepspeed/ds_z2_config.json (ds_z2_offload_config.json to offload)",
        "zero3": "deepspeed: examples/deepspeed/ds_z3_config.json (ds_z3_offload_config.json to offload)",
        "fsdp": "accelerate launch --config_file examples/accelerate/fsdp_config.yaml src/train.py config.yaml",
        "fsdp-qlora": "bash examples/extras/fsdp_qlora/train.sh (quantization_bit: 4, FSDP config above)",
    },
    "unsloth": {
        "single": "python train.py (Unsloth's open-source build trains on one GPU)",
        "ddp": "torchrun --nproc_per_node N train.py (data parallel only; no ZeRO/FSDP sharding)",
    },
    "torchtune": {
        "single": "tune run lora_finetune_single_device --config ..._lora_single_device",
        "fsdp": "tune run --nproc_per_node N lora_finetune_distributed (FSDP2 fully_shard, "
                "fsdp_cpu_offload: True to offload)",
        "fsdp-qlora": "tune run --nproc_per_node N lora_finetune_distributed --config ..._qlora (NF4 sharded by FSDP2)",
    },
    "litgpt": {
        "single": "litgpt finetune_lora --devices 1",
        "ddp": "litgpt finetune_lora --devices N (Fabric DDP when FSDP is not asked for)",
        "fsdp": "litgpt finetune_lora --devices N (FSDPStrategy, Block auto-wrap, checkpointing on)",
    },
}


def get_strategy(name: str) -> Strategy:
    """``STRATEGIES[name]`` or an ``InputError`` naming the choices."""
    try:
        return STRATEGIES[name]
    except (KeyError, TypeError):
        raise InputError("strategy", f"unknown strategy {name!r}; choose from {', '.join(STRATEGY_NAMES)}") from None


def applicable(strategy: Strategy, base_dtype: str) -> bool:
    """Whether the strategy can shard this base: plain FSDP needs a 16-bit base, FSDP + QLoRA a 4-bit
    one stored in bf16 (bitsandbytes' default uint8 storage cannot be flattened with the rest)."""
    if strategy.quantized:
        return base_dtype == "nf4"
    return not (strategy.engine == "fsdp" and base_dtype != "bf16")


def strategies_for(trainer: str, base_dtype: str) -> tuple[str, ...]:
    """The strategies ``trainer`` runs that suit ``base_dtype``, in :data:`STRATEGY_NAMES` order."""
    offered = TRAINER_STRATEGIES.get(trainer, {})
    return tuple(n for n in STRATEGY_NAMES if n in offered and applicable(STRATEGIES[n], base_dtype))


def check_combination(strategy: str, offload: str, gpus: int, trainer: str, base_dtype: str) -> Strategy:
    """The strategy, after checking that the trainer runs it and that offload and count suit it."""
    s = get_strategy(strategy)
    if offload not in OFFLOADS:
        raise InputError("offload", f"must be one of {', '.join(OFFLOADS)}, got {offload!r}")
    if offload not in s.offloads:
        raise InputError("offload", f"{s.label} offers {', '.join(s.offloads)}, not {offload!r}")
    if isinstance(gpus, bool) or not isinstance(gpus, int) or gpus < 1:
        raise InputError("gpus", f"must be a positive integer, got {gpus!r}")
    if s.name == "single" and gpus != 1:
        raise InputError("gpus", f"the single strategy runs on 1 GPU, got {gpus}; pick ddp, zero* or fsdp*")
    offered = TRAINER_STRATEGIES.get(trainer, {})
    if s.name not in offered:
        raise InputError("strategy", f"{trainer} does not run {s.label}; it offers {', '.join(offered)}")
    if not applicable(s, base_dtype):
        raise InputError("strategy", "fsdp-qlora shards a 4-bit base: set the base dtype to nf4" if s.quantized
                         else f"{s.label} shards a 16-bit base; for a 4-bit one pick fsdp-qlora")
    return s
