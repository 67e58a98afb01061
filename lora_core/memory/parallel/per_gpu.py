"""Memory per GPU for a strategy on N GPUs, from the single-GPU estimate of the same plan.

The single-GPU :class:`~lora_core.memory.MemoryEstimate` is kept as it is (its phases, activations
and transients hold per GPU, each rank running its own micro-batch); only what the engine
replicates, shards, gathers or moves to the CPU changes (:mod:`.strategies` says which, from each
engine's code)::

    per GPU = single peak - (frozen weights + adapters' weights, grads, states)
              + those terms as the engine keeps them on one rank
              + gathered parameters + communication buffers

``peak_reserved`` adds the caching allocator's overhead; ``nvidia_smi`` adds the CUDA context and
NCCL's own buffers. ``cpu_ram`` is what offload puts in host memory, for the whole node.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..estimate import CUDA_CONTEXT_BYTES, GIB, RESERVED_OVERHEAD, MemoryEstimate
from .sizes import ModelSizes
from .strategies import Strategy

# DeepSpeed defaults (deepspeed/runtime/zero/config.py), elements.
DS_REDUCE_BUCKET = int(5e8)
DS_PREFETCH_BUCKET = int(5e7)
DS_PERSISTENCE_THRESHOLD = int(1e5)
DS_MAX_LIVE = int(1e9)  # stage3_max_live_parameters; with max_reuse_distance 1e9, gathered parameters
                        # about to be used again (checkpointing's recompute) stay live up to this count
# NCCL's communicator buffers live outside PyTorch's allocator (NCCL_BUFFSIZE 4 MiB per channel and
# peer, plus its work FIFO): about 0.5 GiB per process on a node of 8. An assumption, not measured.
NCCL_BYTES = 512 * 2**20
FP32, BF16 = 4, 2
ADAM_FP32 = 8  # two fp32 moments


@dataclass(frozen=True)
class EngineKnobs:
    """Engine settings that change memory.

    Attributes:
        ds_buckets: ``hf_auto`` (a DeepSpeed JSON with ``"auto"``: transformers fills
            ``reduce_bucket_size = hidden**2`` and ``stage3_prefetch_bucket_size = 0.9*hidden**2``)
            or ``deepspeed_default`` (accelerate's YAML config: DeepSpeed's 5e8 and 5e7).
        fsdp_storage: the dtype FSDP shards the frozen weights in (``fp32`` when the script loads
            the model in fp32, as PEFT's ``examples/sft`` does without 4-bit).
        shard_quant_constants: the 4-bit scales are sharded with the weights (torchao's ``NF4Tensor``
            under FSDP2, torchtune); bitsandbytes keeps ``quant_state`` whole on every rank.
        root_resharded: the root unit frees its gathered weights after the forward too. FSDP1 (the
            Trainer, accelerate) keeps the root gathered until backward; FSDP2 does so only when
            ``reshard_after_forward`` is left to its default (``torch/distributed/fsdp/_fully_shard/
            _fsdp_state.py``: "For the root, do not reshard after forward" under
            ``_auto_reshard_after_forward``); torchtune passes ``True``, so its root is resharded.
        fsdp_version: 1 (``FullyShardedDataParallel``: the Trainer, accelerate's FSDP1, fsdp_qlora) or 2
            (``fully_shard``: torchtune, axolotl's ``fsdp_version: 2``). Under CPU offload FSDP1 keeps
            each reduce-scattered gradient shard on the GPU until the backward ends; FSDP2 copies it
            to the host at once.
    """

    ds_buckets: str = "hf_auto"
    fsdp_storage: str = "bf16"
    shard_quant_constants: bool = False
    root_resharded: bool = False
    fsdp_version: int = 1

    def buckets(self, hidden: int) -> tuple[int, int]:
        """``(reduce_bucket, prefetch_bucket)`` in elements."""
        if self.ds_buckets == "hf_auto" and hidden:
            return hidden * hidden, int(0.9 * hidden * hidden)
        return DS_REDUCE_BUCKET, DS_PREFETCH_BUCKET


@dataclass(frozen=True)
class ParallelEstimate:
    """Bytes per GPU at the peak, by component, and the host memory offload takes."""

    strategy: str
    gpus: int
    offload: str
    components: dict[str, int]
    peak_allocated: int
    cpu_ram: int
    multi: bool = field(default=False)

    @property
    def peak_reserved(self) -> int:
        return math.ceil(self.peak_allocated * (1 + RESERVED_OVERHEAD))

    @property
    def nvidia_smi(self) -> int:
        return self.peak_reserved + CUDA_CONTEXT_BYTES + (NCCL_BYTES if self.multi else 0) \
            + self.components.get("paged_states", 0)

    def fits(self, gpu_gib: float) -> bool:
        return self.nvidia_smi <= gpu_gib * GIB

    def peaks(self) -> dict[str, int]:
        """``{"peak_allocated", "peak_reserved", "nvidia_smi"}`` in bytes."""
        return {"peak_allocated": self.peak_allocated, "peak_reserved": self.peak_reserved,
                "nvidia_smi": self.nvidia_smi}


def _state_terms(est: MemoryEstimate, trainable: int, strategy: Strategy, n: int, offload: str,
                 reduce_bucket: int, knobs: EngineKnobs) -> tuple[dict[str, int], int]:
    """Adapters' weights, grads, optimizer states (and DeepSpeed's buckets) on one rank; host bytes."""
    t = trainable
    states_host = (FP32 + FP32 + ADAM_FP32) * t  # fp32 master, fp32 grads, Adam moments
    if strategy.engine in ("none", "ddp"):
        grads = est.lora_grads * (2 if strategy.engine == "ddp" else 1)  # DDP's bucket copy
        return {"lora_weights": est.lora_weights, "lora_grads": grads,
                "optimizer_states": est.optimizer_states, "comm_buffers": 0}, 0
    if strategy.engine == "deepspeed":
        off = offload != "none"
        # engine.module in bf16; fp32 master and moments partitioned (or on the CPU)
        master = 0 if off else math.ceil(FP32 * t / n)
        weights = BF16 * t + master
        grads16 = BF16 * t if strategy.zero_stage == 1 else 0
        grads32 = 0 if off else math.ceil(FP32 * t / n)
        states = 0 if off else math.ceil(ADAM_FP32 * t / n)
        buffers = BF16 * reduce_bucket  # ipg_buffer (1, 2) / __ipg_bucket_flat_buffer (3)
        return {"lora_weights": weights, "lora_grads": grads16 + grads32, "optimizer_states": states,
                "comm_buffers": buffers}, (states_host if off else 0)
    # FSDP: the adapters' flat parameters are sharded like everything else (PEFT keeps them fp32)
    off = offload != "none"
    shard = lambda b: 0 if off else math.ceil(b / n)  # noqa: E731
    return {"lora_weights": shard(est.lora_weights), "lora_grads": _fsdp_grad_shard(est.lora_grads, n, off, knobs),
            "optimizer_states": shard(est.optimizer_states), "comm_buffers": 0}, \
        (est.lora_weights + est.lora_grads + est.optimizer_states if off else 0)


def _fsdp_grad_shard(grads: int, n: int, offload: bool, knobs: EngineKnobs) -> int:
    """The adapters' gradient shard on one GPU. With CPU offload FSDP1 still keeps it there until the
    backward ends: ``_reduce_grad`` stores the reduce-scatter output as ``flat_param._saved_grad_shard``
    on the GPU and ``_offload_grad`` only copies it into the pinned ``_cpu_grad``; the GPU shard is
    deleted in ``FlatParamHandle.prepare_gradient_for_optim`` from the post-backward final callback
    (torch/distributed/fsdp/_runtime_utils.py, _flat_param.py). FSDP2 moves it to the host at once."""
    if offload and knobs.fsdp_version != 1:
        return 0
    return math.ceil(grads / n)


def _frozen_terms(est: MemoryEstimate, sizes: ModelSizes, strategy: Strategy, n: int, offload: str,
                  knobs: EngineKnobs, prefetch_bucket: int) -> tuple[dict[str, int], int]:
    """Frozen weights kept on one rank and parameters gathered at the peak; host bytes."""
    stored = est.base_weights
    if not strategy.shards_params:
        return {"base_weights": stored, "gathered_params": 0}, 0
    off = offload == "optimizer+params"
    root_bytes = BF16 * sizes.root  # embeddings, final norm, lm_head: never quantized
    layer_per_param = (stored - root_bytes) / max(sizes.total - sizes.root, 1)
    if strategy.engine == "deepspeed":
        elements = stored // BF16  # 16-bit storage elements (packed 4-bit weights: 4 per element)
        live = max(sizes.largest_module + prefetch_bucket, min(DS_MAX_LIVE, elements))
        return {"base_weights": 0 if off else math.ceil(stored / n), "gathered_params": BF16 * live}, \
            (stored if off else 0)
    scale = 2 if (knobs.fsdp_storage == "fp32" and not strategy.quantized) else 1
    kept = 0 if off else math.ceil(scale * stored / n)
    unit = layer_per_param * max(sizes.largest_layer, 1)
    if not strategy.reshard_after_forward:  # SHARD_GRAD_OP: the whole model gathered at the peak
        gathered = stored
    else:  # the root unit, the running unit and the prefetched one
        root = 0 if knobs.root_resharded else root_bytes
        gathered = round(root + 2 * unit)
    # CPU offload: the shard being gathered is first copied to the GPU (FSDP1 FlatParamHandle.pre_unshard ->
    # flat_param_to(device, non_blocking=True); FSDP2 FSDPParam.all_gather_inputs -> .to(device)) and the
    # copy lives, record_stream'ed to the unshard stream, until its all-gather completes
    h2d = math.ceil(scale * unit / n) if off else 0
    return {"base_weights": kept, "gathered_params": gathered + h2d}, (scale * stored if off else 0)


def _single_peak(est: MemoryEstimate, strategy: Strategy) -> int:
    """The single-GPU peak the per-GPU figure starts from. An engine that shards the weights never
    holds the whole model on one GPU while loading: torchtune builds it on ``meta``, ``fully_shard``s
    it, then ``load_from_full_model_state_dict`` moves one full tensor at a time to the GPU, quantizes
    it (``to_nf4``) and keeps its shard; FSDP1 ``sync_module_states`` and ZeRO-3 ``zero.Init`` go unit by
    unit. So the single GPU's loading phase (and its replayed torchao load) is left out for them."""
    if strategy.shards_params:
        return max(est.forward, est.total, est.optimizer_step)
    return est.peak_allocated


def parallel_estimate(est: MemoryEstimate, sizes: ModelSizes, trainable: int, strategy: Strategy, gpus: int,
                      offload: str = "none", knobs: EngineKnobs = EngineKnobs()) -> ParallelEstimate:
    """Per-GPU peaks of ``strategy`` on ``gpus`` GPUs (``est``: the single-GPU estimate of the plan).

    ``trainable``: the plan's trainable parameters (DoRA's magnitudes apart, as in ``est``).
    With ``strategy.name == "single"`` the result equals ``est``'s peaks.
    """
    reduce_bucket, prefetch_bucket = knobs.buckets(sizes.hidden)
    states, host_states = _state_terms(est, trainable, strategy, gpus, offload, reduce_bucket, knobs)
    frozen, host_frozen = _frozen_terms(est, sizes, strategy, gpus, offload, knobs, prefetch_bucket)
    replaced = est.base_weights + est.lora_weights + est.lora_grads + est.optimizer_states
    new = sum(states.values()) + sum(frozen.values())
    peak = _single_peak(est, strategy) - replaced + new
    constants = est.quantization_constants
    if knobs.shard_quant_constants and strategy.shards_params:
        constants = math.ceil(constants / gpus)
        peak -= est.quantization_constants - constants
    components = {**frozen, **states, "quantization_constants": constants,
                  "dora_extra": est.dora_extra, "activations": est.activations,
                  "peak_transients": est.peak_transients, "paged_states": est.paged_states}
    return ParallelEstimate(strategy.name, gpus, offload, components, int(peak), int(host_states + host_frozen),
                            multi=strategy.engine != "none")
