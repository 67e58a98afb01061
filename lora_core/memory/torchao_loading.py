"""torchtune's QLoRA model load, replayed allocation by allocation on :class:`CachingAllocator`.

The events follow the code of torchtune up to August 2024 (``lora_finetune_single_device.py``
``_setup_model``, the ``lora_llama2`` builders, ``_register_nf4_dispatch_ops.py``) and torchao's
``torchao/dtypes/nf4tensor.py`` (0.1; from 0.2.0 the nearest-value search runs in chunks):

1. ``with self._device: model = config.instantiate(cfg.model)`` builds on the GPU: one template
   decoder layer, whose ``LoRALinear(quantize_base=True)`` each creates an ``nn.Linear`` weight in
   bf16 and calls ``to_nf4`` on it (:func:`_from_tensor`), then the bf16 embedding and output,
   then ``_get_clones(layer, num_layers)``: ``copy.deepcopy`` of the template per layer, which for
   an NF4 weight is torchtune's ``clone`` = ``to_nf4(weight.get_original_weight())``
   (:func:`_original_weight`); the template is freed when the builder returns.
2. ``model.load_state_dict(...)``: torchtune's NF4 ``copy_`` runs
   ``to_nf4(checkpoint_tensor.to(device))``: the fp16/bf16 tensor on the GPU, its bf16 copy,
   the quantization, then the new packed tensors replace the old ones.

The reserved peak of this phase stays reserved through training (the allocator keeps its
segments), which is what torchtune's "peak memory reserved" reports. Small LoRA matrices, norms
and RoPE caches are left out (a few MB in the small pool).
"""

from __future__ import annotations

import re
from functools import lru_cache

from torch import nn

from .allocator import Block, CachingAllocator
from .weights import quantized_modules

_NF4_VALUES = 16
_CHUNK = 1024**2


def _from_tensor(a: CachingAllocator, n: int, whole_tensor: bool, factor_view: bool) -> list[Block]:
    """``NF4Tensor.from_tensor`` on a bf16 tensor of ``n`` elements; returns the blocks it keeps.

    ``factor_view`` (torchao < 0.3.0): ``quantization_factor[:, 0].view(...)`` keeps the whole
    n/64-element expansion it is a view of; from 0.3.0 ``.contiguous()`` keeps one per 256 blocks."""
    m, f = a.malloc, a.free
    lut, mean = m(32), m(2)
    # double_quantize_scalers: absmax per 64, minus their mean, absmax per 256 of those, int8
    t = m(2 * n); s1 = m(n // 32); f(t)
    s2 = m(n // 32); f(s1); t = m(n // 32); sa = m(n // 32 // 256); f(t)
    t = m(n // 32); qf = m(n // 32); f(t)  # 256 / (2 * absmax.expand(...)): the full n/64 kept (a view)
    q1 = m(n // 32); q2 = m(n // 32); f(q1); q3 = m(n // 32); f(q2)
    qs = m(n // 64); f(q3); f(s2); f(sa)
    if not factor_view:
        full, qf = qf, m(n // 64 // 256 * 2); f(full)
    # convert_to_norm_float_weight
    t = m(2 * n); sc = m(n // 32); f(t)
    scaled = m(2 * n)
    if whole_tensor:  # quantize_tensor_nearest on the whole tensor: (value - nf4).abs(), min
        diff = m(2 * _NF4_VALUES * n); absdiff = m(2 * _NF4_VALUES * n); f(diff)
        values = m(2 * n); indices = m(8 * n); f(values); f(absdiff)
        hi = m(4 * n); packed = m(4 * n); f(hi); data = m(n // 2); f(packed); f(indices)
    else:  # chunks of 1024**2 elements into a uint8 buffer; every chunk frees what it made, so the
        # allocator is back where it was and one chunk (the largest) stands for all
        indices = m(n)
        k = min(_CHUNK, n)
        diff = m(2 * _NF4_VALUES * k); absdiff = m(2 * _NF4_VALUES * k); f(diff)
        values = m(2 * k); idx = m(8 * k); f(values); f(absdiff); f(idx)
        hi = m(n // 2); data = m(n // 2); f(hi); f(indices)
    f(scaled); f(sc)
    return [lut, mean, qf, qs, data]


def _original_weight(a: CachingAllocator, n: int) -> Block:
    """``NF4Tensor.get_original_weight``: both nibbles as int64, looked up, scaled, stacked."""
    m, f = a.malloc, a.free
    t = m(n // 2); first = m(4 * n); f(t)
    t = m(n // 2); second = m(4 * n); f(t)
    d1, d2 = m(n), m(n)
    t = m(n // 32); scalers = m(n // 32); f(t)
    rep = m(n); s1 = m(n); f(rep)
    rep = m(n); s2 = m(n); f(rep)
    weight = m(2 * n)
    for block in (first, second, d1, d2, scalers, s1, s2):
        f(block)
    return weight


def torchao_constant_bytes(numels: tuple[int, ...], factor_view: bool) -> int:
    """What ``NF4Tensor`` keeps beside the packed weights: int8 scalers (n/64 bytes), the
    quantization factors (torchao < 0.3.0: the n/64-element bf16 expansion, n/32 bytes; then one
    bf16 per 256 scalers), the bf16 scaler mean and the 16-value bf16 code book."""
    return sum(n // 64 + (n // 32 if factor_view else 2 * (n // 64 // 256)) + 2 + 32 for n in numels)


def quantized_layers(model: nn.Module) -> tuple[tuple[tuple[int, ...], ...], tuple[int, ...]]:
    """``(per decoder layer the element counts of its quantized weights in module order, the bf16
    bytes of the large tensors outside the layers)``: what :func:`torchtune_qlora_load` replays."""
    names = quantized_modules(model)
    layers: dict[str, list[int]] = {}
    for name in names:
        match = re.search(r"^(.*?\.\d+)\.", name)
        layers.setdefault(match.group(1) if match else "", []).append(model.get_submodule(name).weight.numel())
    outside = layers.pop("", [])
    quantized = {f"{n}.weight" for n in names}
    big = tuple(2 * p.numel() for n, p in model.named_parameters() if n not in quantized and p.numel() >= 1 << 20)
    return tuple(tuple(v) for v in layers.values()), big + tuple(2 * n for n in outside)


@lru_cache(maxsize=32)
def torchtune_qlora_load(layers: tuple[tuple[int, ...], ...], outside_bytes: tuple[int, ...], whole_tensor: bool,
                         factor_view: bool) -> tuple[int, int]:
    """Replay the build and checkpoint load; ``layers``: per decoder layer, the element counts of its
    quantized weights in module order; ``outside_bytes``: the bf16 tensors outside the layers
    (embedding, output). Returns the phase's ``(peak allocated, peak reserved)`` bytes."""
    a = CachingAllocator()
    template: list[Block] = []
    for n in layers[0] if layers else ():
        weight = a.malloc(2 * n)
        template += _from_tensor(a, n, whole_tensor, factor_view)
        a.free(weight)
    for size in outside_bytes:
        a.malloc(size)
    built: list[list[list[Block]]] = []
    for numels in layers:
        kept = []
        for n in numels:
            weight = _original_weight(a, n)
            kept.append(_from_tensor(a, n, whole_tensor, factor_view))
            a.free(weight)
        built.append(kept)
    for block in template:
        a.free(block)
    for numels, kept in zip(layers, built):
        for i, n in enumerate(numels):
            on_gpu, bf16 = a.malloc(2 * n), a.malloc(2 * n)
            new = _from_tensor(a, n, whole_tensor, factor_view)
            a.free(bf16); a.free(on_gpu)
            for block in kept[i]:
                a.free(block)
            kept[i] = new
    return a.peak_allocated, a.peak_reserved
