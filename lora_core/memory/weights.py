"""The frozen model's bytes: bf16, or LLM.int8 / NF4 as bitsandbytes stores them, and their constants.

Sized by accelerate's ``compute_module_sizes`` on the meta model; the quantized set is
transformers' own rule (or every ``nn.Linear`` for trainers that quantize ``lm_head`` too); the
constants bitsandbytes keeps beside quantized weights are written by hand (accelerate has none).
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Literal

import torch
from accelerate.utils import CustomDtype, compute_module_sizes
from torch import nn
from transformers.pytorch_utils import Conv1D
from transformers.quantizers.base import HfQuantizer
from transformers.quantizers.quantizers_utils import should_convert_module

from ..model.skeleton import Skeleton

BaseDtype = Literal["bf16", "int8", "nf4"]
BASE_DTYPES: tuple[str, ...] = ("bf16", "int8", "nf4")
# Storage per quantized linear weight element, as accelerate sizes it.
_QUANT_STORAGE: dict[str, torch.dtype | CustomDtype] = {"int8": torch.int8, "nf4": CustomDtype.INT4}
NF4_BLOCK = 64  # QLoRA: one absmax per 64 weights ...
NF4_BLOCK2 = 256  # ... double-quantized to 8 bits, one fp32 scale per 256 absmax values.


def model_of(skel_or_model: Skeleton | nn.Module) -> nn.Module:
    """The ``nn.Module`` of a skeleton (or the module itself)."""
    return skel_or_model.model if isinstance(skel_or_model, Skeleton) else skel_or_model


def _is_linear(m: nn.Module) -> bool:
    return type(m) is nn.Linear or isinstance(m, Conv1D)


def quantized_modules(model: nn.Module, include_lm_head: bool = False) -> list[str]:
    """Modules bitsandbytes quantizes when transformers loads ``model`` in 8 or 4 bits.

    transformers 5 ``replace_with_bnb_linear`` swaps every ``type(m) is nn.Linear`` and
    ``Conv1D`` except ``HfQuantizer.get_modules_to_not_convert(model, llm_int8_skip_modules=None,
    model._keep_in_fp32_modules)``: tied weights, the last parameter's module, the output
    embedding (``lm_head``) and the model's fp32 modules. Both helpers are called here.
    ``include_lm_head=True`` is LitGPT's ``BitsandbytesPrecision``, which swaps the ``torch.nn.Linear``
    class itself: every linear, ``lm_head`` and subclasses (e.g. ``FalconLinear``) included.
    Embeddings, norms, routers and fused 3-D expert tensors are not ``nn.Linear`` and stay bf16.
    """
    if include_lm_head:
        return [name for name, m in model.named_modules() if isinstance(m, (nn.Linear, Conv1D))]
    keep_fp32 = list(getattr(model, "_keep_in_fp32_modules", None) or [])
    skip = HfQuantizer.get_modules_to_not_convert(model, None, keep_fp32)
    return [name for name, m in model.named_modules() if _is_linear(m) and should_convert_module(name, skip)]


def base_weight_bytes(skel_or_model: Skeleton | nn.Module, base_dtype: BaseDtype,
                      modules: list[str] | None = None) -> int:
    """Bytes of the frozen model, as accelerate sizes it (parameters and buffers).

    ``accelerate.utils.compute_module_sizes(model, dtype=torch.bfloat16, special_dtypes=...)[""]``
    with the quantized weights (:func:`quantized_modules`) given ``torch.int8`` (1 byte) or
    ``CustomDtype.INT4`` (0.5 byte) as special dtypes. Floating tensors cost
    ``min(2, their own size)``, so fp32 buffers count at 2 bytes, as accelerate counts them.
    E.g. Llama-3.1-8B bf16: 2 x 8,030,261,248 bytes + its rotary buffers.
    """
    model = model_of(skel_or_model)
    special = None
    if base_dtype != "bf16":
        storage = _QUANT_STORAGE[base_dtype]
        names = quantized_modules(model) if modules is None else modules
        special = {f"{name}.weight": storage for name in names}
    return int(round(compute_module_sizes(model, dtype=torch.bfloat16, special_dtypes=special)[""]))


def nf4_constant_bytes(numel: int, double_quant: bool = True) -> int:
    """NF4 constants of one weight tensor (QLoRA, Dettmers et al. 2023, sec. 3).

    One absmax per block of 64 weights. Double-quantized (``compress_statistics=True``): the
    absmax values in 8 bits, one fp32 scale per 256 of them, plus bitsandbytes' fp32 ``offset``:
    ``ceil(n/64) + 4*ceil(ceil(n/64)/256) + 4`` bytes (0.127 bit/param). Without: one fp32 absmax
    per block, ``4*ceil(n/64)`` (0.5 bit/param). The per-tensor code tables (<= 1.1 KB) are left
    out. E.g. ``nf4_constant_bytes(4096 * 4096) == 266_244``.
    """
    blocks = math.ceil(numel / NF4_BLOCK)
    return blocks + 4 * math.ceil(blocks / NF4_BLOCK2) + 4 if double_quant else 4 * blocks


def quantization_constant_bytes(skel_or_model: Skeleton | nn.Module, base_dtype: BaseDtype,
                                modules: list[str] | None = None, double_quant: bool = True) -> int:
    """Scales stored beside quantized weights, written by hand (accelerate does not size them).

    - ``int8``: LLM.int8 (Dettmers et al. 2022; bitsandbytes ``Int8Params``) keeps one fp32
      row-wise scale (``SCB``) per output row: 4 x out_features bytes per quantized linear.
    - ``nf4``: :func:`nf4_constant_bytes` per quantized weight.
    - ``bf16``: none.
    """
    if base_dtype == "bf16":
        return 0
    model = model_of(skel_or_model)
    total = 0
    for name in quantized_modules(model) if modules is None else modules:
        module = model.get_submodule(name)
        if base_dtype == "int8":
            total += 4 * module.weight.shape[1 if isinstance(module, Conv1D) else 0]
        else:
            total += nf4_constant_bytes(module.weight.numel(), double_quant)
    return total


@lru_cache(maxsize=64)
def _footprint(model: nn.Module, base_dtype: BaseDtype, include_lm_head: bool,
               double_quant: bool) -> tuple[int, int, int, int]:
    modules = quantized_modules(model, include_lm_head) if base_dtype != "bf16" else []
    quantized = {f"{m}.weight" for m in modules}
    largest = max((p.numel() for n, p in model.named_parameters() if n in quantized), default=0)
    unquantized = sum(p.numel() for n, p in model.named_parameters() if n not in quantized)
    return (base_weight_bytes(model, base_dtype, modules),
            quantization_constant_bytes(model, base_dtype, modules, double_quant), largest, unquantized)


def base_footprint(skel_or_model: Skeleton | nn.Module, base_dtype: BaseDtype) -> tuple[int, int]:
    """``(base_weight_bytes, quantization_constant_bytes)`` as transformers quantizes (double quant),
    cached per model object and dtype.

    The cache keys on the module's identity: do not pass a model that was mutated since
    (``get_peft_model`` wraps in place); the shared meta skeletons are never mutated.
    """
    return _footprint(model_of(skel_or_model), base_dtype, False, True)[:2]


def quantized_footprint(skel_or_model: Skeleton | nn.Module, base_dtype: BaseDtype, include_lm_head: bool,
                        double_quant: bool) -> tuple[int, int, int, int]:
    """``(weight bytes, constant bytes, largest quantized weight's numel, unquantized parameters)``."""
    return _footprint(model_of(skel_or_model), base_dtype, include_lm_head, double_quant)
