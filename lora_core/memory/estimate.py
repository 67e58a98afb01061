"""The estimate: bytes per component at the peak, the peak per phase, and the peaks users see.

``estimate_memory`` adds, in bytes (:data:`COMPONENTS`): the frozen model (:mod:`.weights`), the
adapters' weights, gradients and optimizer states in the profile's dtypes, DoRA's magnitudes,
the activations kept for backward (:mod:`.activations`) and the transients at the peak (the
loss's logit gradients, bitsandbytes' dequantized weight). ``peak_allocated`` is the largest
phase (loading, forward, backward, optimizer step), ``peak_reserved`` what PyTorch's caching allocator
holds for it, ``nvidia_smi`` that plus the CUDA context and any paged optimizer states.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral

import pandas as pd
from torch import nn

from ..errors import InputError
from ..model.skeleton import Skeleton
from .activations import activation_shape, logits_bytes, previous_step_bytes
from .backward import activation_parts
from .logits import LOGITS_FORWARD_BYTES
from .fits import GPU_SIZES_GB
from .profiles import OPTIMIZER_STATE_BYTES, PAGED, PROFILES, TrainingProfile
from .qlora import dequantized_weight_bytes, loading_transient_bytes, upcast_bytes
from .torchao_loading import quantized_layers, torchao_constant_bytes, torchtune_qlora_load
from .settings import MemorySettings
from .weights import model_of, quantized_footprint

GIB = 2**30
COMPONENTS: tuple[str, ...] = ("base_weights", "quantization_constants", "lora_weights", "lora_grads",
                               "optimizer_states", "dora_extra", "activations", "peak_transients")
# What PyTorch's caching allocator reserves beyond the peak of live tensors: blocks rounded to
# 2 MiB segments and split blocks that cannot be reused (fragmentation). Calibrated on the
# reserved-kind cases of tests/memory_cases.py (see docs/memory.md), not measured here.
RESERVED_OVERHEAD = 0.06
# CUDA context, cuBLAS/cuDNN workspaces and the loaded kernels: what nvidia-smi shows for a
# process before PyTorch allocates anything (typically 0.3-0.6 GiB on A100/H100 with CUDA 12's
# lazy module loading). An assumption: no GPU here to measure it.
CUDA_CONTEXT_BYTES = 512 * 2**20
ADAM_BYTES_PER_PARAM = 16  # fp32 weight 4 + fp32 grad 4 + AdamW m 4 + v 4


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes per component at the peak (:data:`COMPONENTS`); ``total`` is their sum.

    ``loading``, ``forward`` and ``optimizer_step`` are the other phases' totals (``forward``:
    ``forward_activations`` and the ``previous_step`` a loop keeps alive); ``paged_states`` are
    optimizer states in CUDA managed memory (outside PyTorch's allocator, seen by nvidia-smi);
    ``loading_reserved`` what the caching allocator holds after a load replayed event by event
    (:mod:`.torchao_loading`; 0 when the load is not replayed).
    """

    base_weights: int
    quantization_constants: int
    lora_weights: int
    lora_grads: int
    optimizer_states: int
    dora_extra: int
    activations: int
    peak_transients: int = 0
    loading: int = 0
    forward: int = 0
    forward_activations: int = 0
    forward_transients: int = 0
    previous_step: int = 0
    optimizer_step: int = 0
    paged_states: int = 0
    loading_reserved: int = 0

    @property
    def total(self) -> int:
        """The components' sum: the backward phase (activations and the loss's gradients alive)."""
        return sum(getattr(self, c) for c in COMPONENTS)

    @property
    def total_gib(self) -> float:
        return self.total / GIB

    @property
    def phases(self) -> dict[str, int]:
        """Live bytes per phase: ``{"loading": ..., "forward": ..., "backward": ..., "optimizer step": ...}``."""
        return {"loading": self.loading, "forward": self.forward, "backward": self.total,
                "optimizer step": self.optimizer_step}

    @property
    def peak_phase(self) -> str:
        return max(self.phases, key=self.phases.__getitem__)

    @property
    def peak_allocated(self) -> int:
        """What ``torch.cuda.max_memory_allocated()`` reports."""
        return max(self.phases.values())

    @property
    def peak_training(self) -> int:
        """The largest training phase (forward, backward, optimizer step): what a trainer that resets
        the peak statistics after building the model logs (torchtune's ``get_memory_stats``)."""
        return max(v for k, v in self.phases.items() if k != "loading")

    @property
    def peak_reserved(self) -> int:
        """What ``torch.cuda.max_memory_reserved()`` reports: the peak plus allocator overhead, or the
        segments a replayed load left reserved (the allocator keeps them through training)."""
        return max(math.ceil(self.peak_allocated * (1 + RESERVED_OVERHEAD)), self.loading_reserved)

    @property
    def nvidia_smi(self) -> int:
        """What nvidia-smi shows for the process: reserved + CUDA context + paged states."""
        return self.peak_reserved + CUDA_CONTEXT_BYTES + self.paged_states

    def headroom(self, gpu_gb: float) -> int:
        """Bytes left on a GPU of ``gpu_gb`` GiB by the nvidia-smi figure (negative: does not fit)."""
        return int(gpu_gb * GIB) - self.nvidia_smi

    def fits(self, gpu_gb: float) -> bool:
        """Whether the nvidia-smi figure fits a GPU of ``gpu_gb`` GiB."""
        return self.headroom(gpu_gb) >= 0

    def fits_on(self, sizes: tuple[int, ...] | None = None) -> dict[int, bool]:
        """``{16: False, 24: True, ...}`` for the common GPU sizes."""
        return {gb: self.fits(gb) for gb in (sizes or GPU_SIZES_GB)}

    def as_frame(self) -> pd.DataFrame:
        """One row per component at the peak: ``component``, ``bytes``, ``gib`` (for a stacked bar).

        The backward phase's components (:data:`COMPONENTS`); when the forward phase is the peak,
        its activations (the logits as the forward returns them), no transients, and the
        ``previous_step`` the loop keeps alive (``keeps_previous_step``).
        """
        values = {c: getattr(self, c) for c in COMPONENTS}
        if self.peak_phase == "forward":
            values.update(activations=self.forward_activations, peak_transients=self.forward_transients,
                          previous_step=self.previous_step)
        return pd.DataFrame({"component": list(values), "bytes": list(values.values()),
                             "gib": [v / GIB for v in values.values()]})

    def as_dict(self) -> dict[str, int]:
        """Components and ``total`` in bytes."""
        return {**{c: getattr(self, c) for c in COMPONENTS}, "total": self.total}

    def peaks(self) -> dict[str, int | str]:
        """``peak_allocated``, ``peak_reserved``, ``nvidia_smi`` (bytes) and ``peak_phase``."""
        return {"peak_allocated": self.peak_allocated, "peak_reserved": self.peak_reserved,
                "nvidia_smi": self.nvidia_smi, "peak_phase": self.peak_phase,
                "phases": self.phases, "paged_states": self.paged_states}


def _check_counts(trainable_params: int, dora_params: int) -> tuple[int, int]:
    for field, value in (("trainable_params", trainable_params), ("dora_params", dora_params)):
        if isinstance(value, bool) or not isinstance(value, Integral) or value < 0:
            raise InputError(field, f"must be a non-negative integer, got {value!r}")
    return int(trainable_params), int(dora_params)


def adapter_components(trainable_params: int, dora_params: int,
                       profile: TrainingProfile | None = None) -> dict[str, int]:
    """LoRA weights and grads in the profile's adapter dtype, optimizer states, DoRA's magnitudes.

    PEFT's default: fp32 weights (4), fp32 grads (4), AdamW m and v (8): 16 bytes/param, the
    mixed-precision Adam accounting of Rajbhandari et al. 2020 (ZeRO) sec. 3.1 without the 16-bit
    copy. Paged states are counted in :attr:`MemoryEstimate.paged_states` instead.
    """
    profile = profile or PROFILES["peft"]
    trainable_params, dora_params = _check_counts(trainable_params, dora_params)
    element = 4 if profile.adapter_dtype == "fp32" else 2
    states = 0 if profile.optimizer in PAGED else OPTIMIZER_STATE_BYTES[profile.optimizer]
    per_param = 2 * element + states
    return {"lora_weights": element * trainable_params, "lora_grads": element * trainable_params,
            "optimizer_states": states * trainable_params, "dora_extra": per_param * dora_params}


def estimate_memory(skel_or_model: Skeleton | nn.Module, inventory: pd.DataFrame, trainable_params: int,
                    dora_params: int, settings: MemorySettings = MemorySettings(), *,
                    wrapped: pd.DataFrame | None = None) -> MemoryEstimate:
    """Memory to train ``trainable_params`` (LoRA, biases, saved copies; DoRA magnitudes apart).

    Args:
        skel_or_model: the meta skeleton (or its model) of the base model.
        inventory: its inventory (``build_inventory``), read for the FFN shape.
        trainable_params: trainable parameters without DoRA's magnitudes.
        dora_params: DoRA magnitude parameters (sum of wrapped layers' ``out_features``), or 0.
        settings: dtype, batch, sequence length, checkpointing, trainer profile and knobs.
        wrapped: the rows the plan wraps (``resolve_plan``: inventory columns plus ``rank``), for
            the adapters' own activations; without it those are left out.

    DoRA's transient ``W + scale*B@A`` per wrapped layer (PEFT ``DoraLinearLayer.get_weight_norm``)
    is not counted.
    """
    model = model_of(skel_or_model)
    profile = settings.profile
    quantized = settings.base_dtype != "bf16"
    weights, constants, largest, unquantized = quantized_footprint(
        model, settings.base_dtype, profile.quantize_lm_head and quantized, profile.double_quant)
    weights += upcast_bytes(unquantized) if quantized and profile.upcast_unquantized else 0
    torchao = quantized and profile.nf4_library == "torchao" and settings.base_dtype == "nf4"
    if torchao:  # torchtune: torchao's NF4Tensor, its own constants, its load replayed on the allocator
        layers, outside = quantized_layers(model)
        constants = torchao_constant_bytes(tuple(n for layer in layers for n in layer), profile.torchao_keeps_factor_view)
        load_allocated, load_reserved = torchtune_qlora_load(layers, outside, profile.torchao_quantizes_whole_tensor,
                                                             profile.torchao_keeps_factor_view)
    adapters = adapter_components(trainable_params, dora_params, profile)
    parts = activation_parts(model.config, inventory, settings, wrapped, dora_params > 0, profile)
    shape = activation_shape(model.config, inventory)
    s, b = settings.seq_len, settings.batch_size
    logits_extra = logits_bytes(shape, s, b, profile.logits, profile.compiles_loss)[1]
    logits_forward = LOGITS_FORWARD_BYTES[profile.logits] * s * b * shape.vocab
    dequantized = dequantized_weight_bytes(largest, profile.nf4_library, profile.compile) if quantized else 0
    # backward's peak (:mod:`.backward`). A loop that lets the logits go before backward
    # (frees_logits, read in torchtune's): the larger of the loss's start (head inputs, logits, their
    # gradients) and a block's backward (the recomputed block, its FFN gradients). Otherwise (loops
    # not read that far): everything kept for backward at once and the larger of the two transients.
    if not profile.frees_logits:
        activations, transients = parts.total, max(logits_extra, parts.working) + dequantized
    elif parts.head + parts.logits + logits_extra >= parts.block + parts.working:
        activations, transients = parts.kept + parts.head + parts.logits, logits_extra + dequantized
    else:
        activations, transients = parts.kept + parts.block, parts.working + dequantized
    forward_activations = parts.kept + parts.head + logits_forward
    # in the forward too, MatMul4Bit.forward builds `F.dequantize_4bit(B, quant_state)` per call: the
    # largest (LitGPT: lm_head, once per 128-token chunk) beside the bf16 logits made so far
    # (a fused linear cross-entropy never builds the logits: only the dequantized weight then)
    sbv = 0 if profile.logits == "fused" else s * b * shape.vocab
    forward_extra = max(0, 2 * sbv + dequantized - logits_forward) if quantized else 0
    previous = previous_step_bytes(model.config, inventory, settings, profile)
    static = weights + constants + adapters["lora_weights"] + adapters["optimizer_states"] + adapters["dora_extra"]
    grads = adapters["lora_grads"]
    paged = (OPTIMIZER_STATE_BYTES[profile.optimizer] * (trainable_params + dora_params)
             if profile.optimizer in PAGED else 0)
    return MemoryEstimate(
        base_weights=weights, quantization_constants=constants, activations=activations,
        peak_transients=transients, **adapters,
        loading=(load_allocated + adapters["lora_weights"] if torchao else
                 weights + constants + (loading_transient_bytes(largest) if quantized else 0)),
        loading_reserved=load_reserved + adapters["lora_weights"] if torchao else 0,
        # the end of the forward: this step's activations with the logits as the forward returns
        # them (before the loss), and what the previous step leaves alive (keeps_previous_step)
        forward=static + grads + forward_activations + forward_extra + previous,
        forward_activations=forward_activations, forward_transients=forward_extra,
        previous_step=previous,
        # the step: states, grads and foreach AdamW's temporaries (about one more set of states)
        optimizer_step=static + grads + adapters["optimizer_states"],
        paged_states=paged)
