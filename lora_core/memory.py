"""GPU memory to fine-tune a LoRA plan, by component (an estimate, not a measurement).

``estimate_memory`` adds up, in bytes:

============================ =============================================================
base_weights                 the frozen model: bf16, or its ``nn.Linear``/``Conv1D`` weights in
                             int8 / 4-bit NF4 the way transformers' bitsandbytes integration
                             quantizes them, the rest in bf16. Sized by accelerate's own
                             ``compute_module_sizes`` on the meta model (see :func:`base_weight_bytes`).
quantization_constants       the scales bitsandbytes stores beside quantized weights, by hand
                             (accelerate has no notion of them, see :func:`quantization_constant_bytes`).
lora_weights, lora_grads,    4 bytes each per trainable parameter: adapters kept in fp32
optimizer_states             (PEFT's ``autocast_adapter_dtype``), fp32 grads, AdamW's m and v (2 x 4).
dora_extra                   DoRA's magnitude vectors: the same 16 bytes per parameter.
activations                  what backward needs, by :func:`activation_bytes` (Korthikanti et al.).
============================ =============================================================

What it leaves out (CUDA context, allocator fragmentation, temporary buffers) is listed in
``docs/memory.md``. GPU sizes are GiB (2**30 bytes), as ``nvidia-smi`` reports an "80 GB" card.
"""

from __future__ import annotations

import math
from numbers import Integral
from dataclasses import asdict, dataclass, fields, replace
from functools import lru_cache
from typing import Literal

import pandas as pd
import torch
from accelerate.utils import CustomDtype, compute_module_sizes
from torch import nn
from transformers.pytorch_utils import Conv1D
from transformers.quantizers.base import HfQuantizer
from transformers.quantizers.quantizers_utils import should_convert_module

from .errors import InputError
from .plan import Plan, PlanIndex, count, resolve_plan
from .skeleton import Skeleton

BaseDtype = Literal["bf16", "int8", "nf4"]
BASE_DTYPES: tuple[str, ...] = ("bf16", "int8", "nf4")
GPU_SIZES_GB: tuple[int, ...] = (16, 24, 40, 80)
GIB = 2**30
COMPONENTS: tuple[str, ...] = ("base_weights", "quantization_constants", "lora_weights",
                               "lora_grads", "optimizer_states", "dora_extra", "activations")
# Storage per quantized linear weight element, as accelerate sizes it.
_QUANT_STORAGE: dict[str, torch.dtype | CustomDtype] = {"int8": torch.int8, "nf4": CustomDtype.INT4}
NF4_BLOCK = 64  # QLoRA: one absmax per 64 weights ...
NF4_BLOCK2 = 256  # ... double-quantized to 8 bits, one fp32 scale per 256 absmax values.
ADAM_BYTES_PER_PARAM = 16  # fp32 weight 4 + fp32 grad 4 + AdamW m 4 + v 4


@dataclass(frozen=True)
class MemorySettings:
    """How the plan is trained. Defaults: bf16 base, batch 1, 2048 tokens, checkpointing on.

    Attributes:
        base_dtype: ``bf16`` (2 bytes/param), ``int8`` (LLM.int8) or ``nf4`` (QLoRA 4-bit).
        batch_size: sequences per step (micro-batch, before gradient accumulation).
        seq_len: tokens per sequence (image tokens included for vision-language models).
        gradient_checkpointing: keep only each layer's input and recompute the rest in backward.
        flash_attention: attention by a fused kernel (PyTorch SDPA / FlashAttention, transformers'
            default) that stores no seq x seq scores; ``False`` for ``attn_implementation="eager"``.
        optimizer: ``adamw`` with fp32 states, the only one modelled.
    """

    base_dtype: BaseDtype = "bf16"
    batch_size: int = 1
    seq_len: int = 2048
    gradient_checkpointing: bool = True
    flash_attention: bool = True
    optimizer: Literal["adamw"] = "adamw"

    def __post_init__(self) -> None:
        if self.base_dtype not in BASE_DTYPES:
            raise InputError("base_dtype", f"must be one of {', '.join(BASE_DTYPES)}, got {self.base_dtype!r}")
        for name in ("batch_size", "seq_len"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise InputError(name, f"must be a positive integer, got {value!r}")
        if self.optimizer != "adamw":
            raise InputError("optimizer", f"only 'adamw' (fp32 states) is modelled, got {self.optimizer!r}")


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes per component (see the module docstring); ``total`` is their sum."""

    base_weights: int
    quantization_constants: int
    lora_weights: int
    lora_grads: int
    optimizer_states: int
    dora_extra: int
    activations: int

    @property
    def total(self) -> int:
        return sum(getattr(self, c) for c in COMPONENTS)

    @property
    def total_gib(self) -> float:
        return self.total / GIB

    def fits(self, gpu_gb: float) -> bool:
        """Whether the estimate fits a GPU of ``gpu_gb`` GiB (no headroom is added)."""
        return self.total <= gpu_gb * GIB

    def fits_on(self, sizes: tuple[int, ...] = GPU_SIZES_GB) -> dict[int, bool]:
        """``{16: False, 24: True, ...}`` for the common GPU sizes."""
        return {gb: self.fits(gb) for gb in sizes}

    def as_frame(self) -> pd.DataFrame:
        """One row per component: ``component``, ``bytes``, ``gib`` (for a stacked bar)."""
        values = [getattr(self, c) for c in COMPONENTS]
        return pd.DataFrame({"component": list(COMPONENTS), "bytes": values,
                             "gib": [v / GIB for v in values]})

    def as_dict(self) -> dict[str, int]:
        """Components and ``total`` in bytes (what ``plan --json`` prints)."""
        return {**{f.name: getattr(self, f.name) for f in fields(self)}, "total": self.total}


def _model(skel_or_model: Skeleton | nn.Module) -> nn.Module:
    return skel_or_model.model if isinstance(skel_or_model, Skeleton) else skel_or_model


def quantized_modules(model: nn.Module) -> list[str]:
    """Modules bitsandbytes quantizes when transformers loads ``model`` in 8 or 4 bits.

    transformers 5 ``replace_with_bnb_linear`` swaps every ``type(m) is nn.Linear`` and
    ``Conv1D`` except ``HfQuantizer.get_modules_to_not_convert(model, llm_int8_skip_modules=None,
    model._keep_in_fp32_modules)``: tied weights, the last parameter's module, the output
    embedding (``lm_head``) and the model's fp32 modules. Both helpers are called here.
    Embeddings, norms, routers and fused 3-D expert tensors are not ``nn.Linear`` and stay bf16.
    """
    keep_fp32 = list(getattr(model, "_keep_in_fp32_modules", None) or [])
    skip = HfQuantizer.get_modules_to_not_convert(model, None, keep_fp32)
    return [name for name, m in model.named_modules()
            if (type(m) is nn.Linear or isinstance(m, Conv1D)) and should_convert_module(name, skip)]


def base_weight_bytes(skel_or_model: Skeleton | nn.Module, base_dtype: BaseDtype,
                      modules: list[str] | None = None) -> int:
    """Bytes of the frozen model, as accelerate sizes it (parameters and buffers).

    ``accelerate.utils.compute_module_sizes(model, dtype=torch.bfloat16, special_dtypes=...)[""]``
    with the quantized weights (:func:`quantized_modules`) given ``torch.int8`` (1 byte) or
    ``CustomDtype.INT4`` (0.5 byte) as special dtypes (accelerate's way to size a model with mixed
    dtypes, as ``infer_auto_device_map`` takes them). Floating tensors cost
    ``min(2, their own size)``, so fp32 buffers count at 2 bytes, as accelerate counts them.
    E.g. Llama-3.1-8B bf16: 2 x 8,030,261,248 bytes + its rotary buffers.
    """
    model = _model(skel_or_model)
    special = None
    if base_dtype != "bf16":
        storage = _QUANT_STORAGE[base_dtype]
        names = quantized_modules(model) if modules is None else modules
        special = {f"{name}.weight": storage for name in names}
    return int(round(compute_module_sizes(model, dtype=torch.bfloat16, special_dtypes=special)[""]))


def nf4_constant_bytes(numel: int) -> int:
    """Double-quantized NF4 constants of one weight tensor (QLoRA, Dettmers et al. 2023, sec. 3).

    One absmax per block of 64 weights, itself quantized to 8 bits in blocks of 256 with one fp32
    scale each, plus bitsandbytes' fp32 ``offset`` (the mean absmax, ``quantize_4bit`` with
    ``compress_statistics=True``): ``ceil(n/64) + 4*ceil(ceil(n/64)/256) + 4`` bytes, about
    8/64 + 32/(64*256) = 0.127 bit per parameter. The per-tensor code tables (16 and 256 fp32
    values, <= 1.1 KB a tensor) are left out. E.g. ``nf4_constant_bytes(4096 * 4096) == 266_244``.
    """
    blocks = math.ceil(numel / NF4_BLOCK)
    return blocks + 4 * math.ceil(blocks / NF4_BLOCK2) + 4


def quantization_constant_bytes(skel_or_model: Skeleton | nn.Module, base_dtype: BaseDtype,
                                modules: list[str] | None = None) -> int:
    """Scales stored beside quantized weights, written by hand (accelerate does not size them).

    - ``int8``: LLM.int8 (Dettmers et al. 2022; bitsandbytes ``Int8Params``) keeps one fp32
      row-wise scale (``SCB``) per output row: 4 x out_features bytes per quantized linear.
    - ``nf4``: :func:`nf4_constant_bytes` per quantized weight.
    - ``bf16``: none.
    """
    if base_dtype == "bf16":
        return 0
    model = _model(skel_or_model)
    total = 0
    for name in quantized_modules(model) if modules is None else modules:
        module = model.get_submodule(name)
        if base_dtype == "int8":
            total += 4 * module.weight.shape[1 if isinstance(module, Conv1D) else 0]
        else:
            total += nf4_constant_bytes(module.weight.numel())
    return total


@lru_cache(maxsize=32)
def _footprint(model: nn.Module, base_dtype: BaseDtype) -> tuple[int, int]:
    modules = quantized_modules(model) if base_dtype != "bf16" else []
    return (base_weight_bytes(model, base_dtype, modules),
            quantization_constant_bytes(model, base_dtype, modules))


def base_footprint(skel_or_model: Skeleton | nn.Module, base_dtype: BaseDtype) -> tuple[int, int]:
    """``(base_weight_bytes, quantization_constant_bytes)``, cached per model object and dtype.

    The cache keys on the module's identity: do not pass a model that was mutated since
    (``get_peft_model`` wraps in place); the shared meta skeletons are never mutated.
    """
    return _footprint(_model(skel_or_model), base_dtype)


def adapter_components(trainable_params: int, dora_params: int) -> dict[str, int]:
    """LoRA weights, grads and AdamW states (4 bytes each, fp32) and DoRA's 16 bytes/param.

    Mixed-precision AdamW keeps fp32 master weights, fp32 grads and two fp32 moments per
    trainable parameter (Rajbhandari et al. 2020, ZeRO, sec. 3.1: 16 bytes/param with the fp16
    copy; PEFT keeps adapters themselves in fp32, so there is no separate 16-bit copy here).
    """
    for field, value in (("trainable_params", trainable_params), ("dora_params", dora_params)):
        if isinstance(value, bool) or not isinstance(value, Integral) or value < 0:
            raise InputError(field, f"must be a non-negative integer, got {value!r}")
    trainable_params, dora_params = int(trainable_params), int(dora_params)
    return {"lora_weights": 4 * trainable_params, "lora_grads": 4 * trainable_params,
            "optimizer_states": 8 * trainable_params, "dora_extra": ADAM_BYTES_PER_PARAM * dora_params}


def estimate_memory(skel_or_model: Skeleton | nn.Module, inventory: pd.DataFrame, trainable_params: int,
                    dora_params: int, settings: MemorySettings = MemorySettings(), *,
                    wrapped: pd.DataFrame | None = None) -> MemoryEstimate:
    """Memory to train ``trainable_params`` (LoRA, biases, saved copies; DoRA magnitudes apart).

    Args:
        skel_or_model: the meta skeleton (or its model) of the base model.
        inventory: its inventory (``build_inventory``), read for the FFN shape.
        trainable_params: trainable parameters without DoRA's magnitudes.
        dora_params: DoRA magnitude parameters (sum of wrapped layers' ``out_features``), or 0.
        settings: dtype, batch, sequence length, checkpointing.
        wrapped: the rows the plan wraps (``resolve_plan``: inventory columns plus ``rank``), for
            the adapters' own activations; without it those are left out.

    DoRA (Liu et al. 2024, sec. 4.3; PEFT ``DoraLinearLayer.get_weight_norm``) also builds each
    wrapped layer's full ``W + scale*B@A`` (out x in) to take its column norms, one layer at a
    time and detached from the graph, plus an ``s*b*out`` rescaled output per layer; those
    transients are not counted (``dora_extra`` is the magnitudes' weight, grad and AdamW states).
    """
    model = _model(skel_or_model)
    weights, constants = base_footprint(model, settings.base_dtype)
    return MemoryEstimate(
        base_weights=weights,
        quantization_constants=constants,
        activations=activation_bytes(model.config, inventory, settings, wrapped, dora_params > 0),
        **adapter_components(trainable_params, dora_params),
    )


def dora_magnitude_params(plan: Plan, index: PlanIndex) -> int:
    """DoRA's magnitude parameters in ``plan``: its count with DoRA less its count without."""
    return count(plan, index).trainable - count(replace(plan, dora=False), index).trainable if plan.dora else 0


def estimate_for_plan(skel_or_model: Skeleton | nn.Module, index: PlanIndex, plan: Plan,
                      settings: MemorySettings = MemorySettings()) -> MemoryEstimate:
    """:func:`estimate_memory` for a plan, its trainable count from :func:`lora_core.plan.count`."""
    dora = dora_magnitude_params(plan, index)
    trainable = count(plan, index).trainable - dora
    return estimate_memory(skel_or_model, index.inventory, trainable, dora, settings,
                           wrapped=resolve_plan(plan, index))


def memory_payload(skel_or_model: Skeleton | nn.Module, index: PlanIndex, plan: Plan,
                   settings: MemorySettings = MemorySettings()) -> dict:
    """The JSON-ready breakdown ``plan --json`` prints under ``"memory"``.

    ``{"settings": {...}, "bytes": {component: bytes, ..., "total": bytes},
    "fits_on_gib": {"16": false, "24": true, ...}}``
    """
    est = estimate_for_plan(skel_or_model, index, plan, settings)
    return {"settings": asdict(settings), "bytes": est.as_dict(),
            "fits_on_gib": {str(gb): ok for gb, ok in est.fits_on().items()}}


# --- Activations -------------------------------------------------------------------------------

_GATED_ROLES = ("gate", "gate_up")


@dataclass(frozen=True)
class ActivationShape:
    """The sizes the activation formula needs, read from ``config.get_text_config()``.

    Attributes:
        hidden: model width h.
        layers: transformer blocks (encoder + decoder for encoder-decoder models).
        heads: attention (query) heads a.
        q_dim: heads x query/key head size (MLA: ``qk_head_dim``).
        kv_dim: key + value widths stored: kv_heads x (key head + value head); GQA shrinks it.
        out_dim: attention output width before ``o_proj``: heads x value head size.
        dense_ffn: FFN intermediate size of dense layers.
        moe_ffn: intermediate size a token passes through in an MoE layer: top_k x expert size
            (+ shared experts), 0 for dense models.
        top_k: experts per token (0 for dense models).
        moe_layers: how many blocks are MoE.
        gated: gated FFN (SwiGLU/GeGLU: gate and up projections) or a plain two-layer MLP.
        vocab: output vocabulary (logits).
    """

    hidden: int
    layers: int
    heads: int
    q_dim: int
    kv_dim: int
    out_dim: int
    dense_ffn: int
    moe_ffn: int
    top_k: int
    moe_layers: int
    gated: bool
    vocab: int


def _first(cfg, *names: str, default: int = 0) -> int:
    """The first of ``names`` the config sets to a truthy value, as an int; a per-layer list
    (Gemma-3n's ``intermediate_size``) gives its largest entry."""
    value = next((getattr(cfg, n) for n in names if getattr(cfg, n, None)), default)
    return int(max(value)) if isinstance(value, (list, tuple)) else int(value)


def activation_shape(config, inventory: pd.DataFrame) -> ActivationShape:
    """Read :class:`ActivationShape` from a config (its text part) and the inventory.

    GQA: K and V are stored at ``num_key_value_heads`` width. MoE: ``num_experts_per_tok`` routed
    experts of ``moe_intermediate_size`` (else ``intermediate_size``) plus ``n_shared_experts``
    or ``shared_expert_intermediate_size``; DeepSeek's ``first_k_dense_replace`` and Qwen's
    ``mlp_only_layers`` blocks count as dense. Gated FFN: the inventory has a gate role.
    """
    text = config.get_text_config()
    h = _first(text, "hidden_size", "d_model", "n_embd")
    heads = _first(text, "num_attention_heads", "num_heads", "n_head", default=1)
    kv_heads = _first(text, "num_key_value_heads", default=heads)
    head = _first(text, "head_dim", "d_kv", default=h // heads)
    k_head = _first(text, "qk_head_dim", default=head)
    v_head = _first(text, "v_head_dim", default=head)
    layers = _first(text, "num_hidden_layers", "num_layers", "n_layer")
    if getattr(text, "is_encoder_decoder", False):
        layers += _first(text, "num_decoder_layers", default=layers)
    dense = _first(text, "intermediate_size", "d_ff", "n_inner", "ffn_dim", default=4 * h)
    experts = _first(text, "num_local_experts", "n_routed_experts", "num_experts")
    top_k = _first(text, "num_experts_per_tok", "moe_topk", "top_k") if experts else 0
    expert_ffn = _first(text, "moe_intermediate_size", default=dense)
    moe_ffn = (top_k + _first(text, "n_shared_experts")) * expert_ffn + _first(text, "shared_expert_intermediate_size")
    dense_layers = _first(text, "first_k_dense_replace") + len(getattr(text, "mlp_only_layers", None) or ())
    gated = bool(inventory["role"].isin(_GATED_ROLES).any())
    return ActivationShape(h, layers, heads, heads * k_head, kv_heads * (k_head + v_head), heads * v_head,
                           dense, moe_ffn if experts else 0, top_k,
                           max(layers - dense_layers, 0) if experts else 0, gated,
                           _first(text, "vocab_size"))


def layer_activation_bytes(shape: ActivationShape, ffn: int, tokens_in: int, s: int, b: int,
                           flash_attention: bool) -> int:
    """Bytes one block keeps for backward, 16-bit activations, no recomputation.

    Korthikanti et al. 2022, "Reducing Activation Recomputation in Large Transformer Models",
    sec. 4.1: ``s*b*h*(34 + 5*a*s/h)`` for a GPT block (MLP 4h, MHA, dropout). Here the same
    accounting term by term with the model's own widths, 2 bytes per stored element::

        2*s*b*( 2h            two norm inputs
              + h             attention input (the norm output)
              + q_dim + kv_dim   Q, K, V for the attention backward (GQA: smaller K, V)
              + out_dim       attention output, the o_proj input
              + tokens_in*h   FFN input (MoE: + one gathered copy per routed expert)
              + m*ffn )       FFN intermediates: gated m=4 (gate out, act out, up out, product),
                              plain m=2 (fc1 out, act out)
        + 5*a*s^2*b           attention scores, softmax and dropout (eager attention only;
                              FlashAttention, Dao et al. 2022, recomputes them in backward)

    With MHA, an MLP of 4h and no dropout this is Korthikanti's 34 sbh less the two 1-byte
    dropout masks (32 sbh): LLMs trained with dropout 0 do not store them.
    """
    m = 4 if shape.gated else 2
    per_token = 3 * shape.hidden + shape.q_dim + shape.kv_dim + shape.out_dim + tokens_in * shape.hidden + m * ffn
    scores = 0 if flash_attention else 5 * shape.heads * s * s * b
    return 2 * s * b * per_token + scores


def head_activation_bytes(shape: ActivationShape, s: int, b: int) -> int:
    """Outside the blocks: final-norm and ``lm_head`` inputs (2 x 2sbh) and the logits the
    cross-entropy keeps in fp32 (4*s*b*V, Korthikanti et al. 2022 sec. 4.1)."""
    return 4 * s * b * shape.hidden + 4 * s * b * shape.vocab


def lora_activation_bytes(wrapped: pd.DataFrame | None, dora: bool, s: int, b: int) -> pd.Series:
    """Bytes the adapters themselves keep for backward, per layer (``-1``: rows outside layers).

    From PEFT's ``lora.Linear.forward``: the input is cast to the adapters' dtype and kept for
    ``lora_A``'s gradient, and ``A @ x`` (width r) for ``lora_B``'s; DoRA's ``forward`` also keeps
    the base output and the LoRA output (width out) for the magnitude's gradient. At 2 bytes (bf16
    autocast, as ``Trainer(bf16=True)`` runs; without autocast PEFT's fp32 adapters make it 4)::

        per wrapped Linear/Conv1D: 2*s*b*(in + r) (+ DoRA 2*s*b*2*out)
        per wrapped Embedding:     2*s*b*r

    Fused expert parameters (``target_parameters``) add a weight-sized delta, not counted here.
    """
    if wrapped is None or wrapped.empty:
        return pd.Series(dtype="int64")
    linear = wrapped["kind"].isin(["linear", "conv1d"])
    embedding = wrapped["kind"] == "embedding"
    width = (linear * (wrapped["in_features"] + wrapped["rank"] + 2 * dora * wrapped["out_features"])
             + embedding * wrapped["rank"])
    per_layer = (2 * s * b * width).groupby(wrapped["layer"].fillna(-1).astype("int64")).sum()
    return per_layer.astype("int64")


def activation_bytes(config, inventory: pd.DataFrame, settings: MemorySettings,
                     wrapped: pd.DataFrame | None = None, dora: bool = False) -> int:
    """Activation memory for a step: :func:`layer_activation_bytes` over the blocks, the head,
    and the adapters' own (:func:`lora_activation_bytes`, when the wrapped rows are given).

    Without checkpointing every block keeps its activations. With full gradient checkpointing
    (transformers checkpoints each decoder layer) each block keeps only its input (2sbh) and one
    block's activations exist again while it is recomputed in backward (Korthikanti et al. 2022,
    sec. 4.2; Chen et al. 2016): ``L*2sbh + max(block) + head``, and of the adapters only the
    largest layer's share and the rows outside the blocks.

    Simplifications: dropout masks (also LoRA dropout's) are left out; frozen layers are counted
    like trained ones (an upper bound: a frozen linear needs no input for a weight gradient,
    which roughly offsets transformers' fp32 RMSNorm inputs); encoder-decoder blocks use
    ``seq_len`` for both stacks and ignore cross-attention; a vision tower's activations, MLA's
    compressed latents and routers' logits are not counted.
    """
    shape = activation_shape(config, inventory)
    s, b = settings.seq_len, settings.batch_size
    flash = settings.flash_attention
    dense = layer_activation_bytes(shape, shape.dense_ffn, 1, s, b, flash)
    moe = layer_activation_bytes(shape, shape.moe_ffn, 1 + shape.top_k, s, b, flash)
    dense_layers = shape.layers - shape.moe_layers
    lora = lora_activation_bytes(wrapped, dora, s, b)
    outside = int(lora.get(-1, 0))
    in_layers = lora.drop(-1, errors="ignore")
    if settings.gradient_checkpointing:
        biggest = max(moe if shape.moe_layers else 0, dense if dense_layers else 0)
        blocks = shape.layers * 2 * s * b * shape.hidden + biggest + int(in_layers.max() if len(in_layers) else 0)
    else:
        blocks = dense_layers * dense + shape.moe_layers * moe + int(in_layers.sum())
    return blocks + outside + head_activation_bytes(shape, s, b)
