"""GPU memory to fine-tune a LoRA plan: components, peaks as users see them, per trainer profile.

An estimate from shapes, not a measurement; held against published measured peaks in
``tests/memory/test_memory_validation.py`` (the table is in docs/memory.md). Modules:

- :mod:`.versions`: stated library versions and the releases whose code changed memory.
- :mod:`.profiles`: one :class:`TrainingProfile` per trainer (PEFT + Trainer, axolotl,
  LLaMA-Factory, Unsloth, torchtune, LitGPT), its knobs and a source for each default.
- :mod:`.weights`: the frozen model in bf16 / int8 / NF4 (accelerate's sizes) and the constants.
- :mod:`.activations`: what backward keeps (Korthikanti et al.) and the loss's logits.
- :mod:`.layout`: parallel blocks' shared norm input; :mod:`.unsloth_kernels`: what Unsloth's
  fused LoRA kernels keep.
- :mod:`.allocator`: a model of PyTorch's CUDA caching allocator; :mod:`.torchao_loading`:
  torchtune's QLoRA load replayed on it.
- :mod:`.qlora`: bitsandbytes' own costs (saved tensors, dequantized copies, loading).
- :mod:`.estimate`: components, phases, peak allocated / reserved / nvidia-smi.
- :mod:`.fits`: GPU sizes and headroom.

GPU sizes are GiB (2**30 bytes).
"""

from __future__ import annotations

from ..planning import Plan, PlanIndex, ResolvedPlan, resolve
from ..model.skeleton import Skeleton
from .activations import (ActivationShape, activation_bytes, activation_shape, head_activation_bytes,
                          layer_activation_bytes, logits_bytes, lora_activation_bytes)
from .estimate import (ADAM_BYTES_PER_PARAM, COMPONENTS, CUDA_CONTEXT_BYTES, GIB, RESERVED_OVERHEAD,
                       MemoryEstimate, adapter_components, estimate_memory)
from .fits import GPU_SIZES_GB, fits_payload, fits_table
from .profiles import KNOBS, PROFILES, TRAINERS, TrainingProfile, get_profile, profile_for_recipe
from .settings import MemorySettings, sequence_warnings
from .weights import (BASE_DTYPES, BaseDtype, NF4_BLOCK, NF4_BLOCK2, base_footprint, base_weight_bytes,
                      nf4_constant_bytes, quantization_constant_bytes, quantized_modules)

__all__ = [
    "ADAM_BYTES_PER_PARAM", "ActivationShape", "BASE_DTYPES", "BaseDtype", "COMPONENTS", "CUDA_CONTEXT_BYTES", "GIB",
    "GPU_SIZES_GB", "KNOBS", "MemoryEstimate", "MemorySettings", "NF4_BLOCK", "NF4_BLOCK2", "PROFILES",
    "RESERVED_OVERHEAD", "TRAINERS", "TrainingProfile", "activation_bytes", "activation_shape",
    "adapter_components", "base_footprint", "base_weight_bytes", "dora_magnitude_params", "estimate_for_plan",
    "estimate_memory", "fits_payload", "fits_table", "get_profile", "head_activation_bytes",
    "layer_activation_bytes", "logits_bytes", "lora_activation_bytes", "memory_payload", "nf4_constant_bytes",
    "profile_for_recipe", "quantization_constant_bytes", "quantized_modules", "sequence_warnings",
]


def dora_magnitude_params(plan: Plan, index: PlanIndex) -> int:
    """DoRA's magnitude parameters in ``plan`` (:attr:`ResolvedPlan.dora_params`)."""
    return resolve(plan, index).dora_params


def estimate_for_plan(skel_or_model: Skeleton, index: PlanIndex, plan: Plan | ResolvedPlan,
                      settings: MemorySettings = MemorySettings()) -> MemoryEstimate:
    """:func:`estimate_memory` for a plan (resolved here unless it comes resolved): its trainable count
    less DoRA's magnitudes as adapter weights, the magnitudes apart, its wrapped rows for the activations."""
    resolved = plan if isinstance(plan, ResolvedPlan) else resolve(plan, index)
    return estimate_memory(skel_or_model, index.inventory, resolved.count.trainable - resolved.dora_params,
                           resolved.dora_params, settings, wrapped=resolved.rows)


def memory_payload(skel_or_model: Skeleton, index: PlanIndex, plan: Plan | ResolvedPlan,
                   settings: MemorySettings = MemorySettings()) -> dict:
    """The JSON-ready breakdown ``plan --json`` prints under ``"memory"`` (bytes throughout).

    ``{"settings": {...knobs}, "components": {component: bytes}, "peak_allocated": ...,
    "peak_reserved": ..., "nvidia_smi": ..., "peak_phase": "backward", "phases": {...},
    "paged_states": ..., "fits_on_gib": {"24": {"fits": true, "headroom": ...}}, "warnings": [...],
    "bytes": {components + "total"}}``
    """
    est = estimate_for_plan(skel_or_model, index, plan, settings)
    model = skel_or_model.model if isinstance(skel_or_model, Skeleton) else skel_or_model
    components = est.as_dict()
    return {"settings": settings.as_dict(), "components": {c: components[c] for c in COMPONENTS},
            **est.peaks(), "fits_on_gib": fits_payload(est), "warnings": sequence_warnings(model.config, settings),
            "bytes": components}
