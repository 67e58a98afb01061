"""Training profiles: how each trainer runs a LoRA step by default, as data, each default sourced.

A profile fixes the knobs that change memory: the adapters' dtype, the optimizer's states, how the
loss sees the logits, how activations are checkpointed, which modules QLoRA quantizes and whether
the quantization constants are quantized again. ``PROFILES["peft"]`` (PEFT with the transformers
``Trainer``) is the default. Example: ``PROFILES["litgpt"].optimizer == "bf16"`` (``bf16-true``
keeps AdamW's moments in the parameters' bf16).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from ..errors import InputError
from .versions import (BITSANDBYTES_VERSIONS, DEFAULT_BITSANDBYTES, DEFAULT_TORCHAO, DEFAULT_TORCHTUNE,
                       TORCHAO_VERSIONS, TORCHTUNE_VERSIONS, before, check_version,
                       version_defaults)  # noqa: F401 -- re-exported

from .knobs import (ADAPTER_DTYPES, CHECKPOINTING, LOGITS, LOGITS_HELP, NF4_LIBRARIES, OPTIMIZER_HELP,  # noqa: F401
                    OPTIMIZER_STATE_BYTES, OPTIMIZERS, PAGED, AdapterDtype, Checkpointing, Logits, Optimizer)


@dataclass(frozen=True, kw_only=True)
class TrainingProfile:
    """One trainer's defaults. ``sources`` names, per knob, the code or docs the default comes from.

    Attributes:
        name: the key (``peft``, ``axolotl``, ...); ``label``: how the page shows it.
        adapter_dtype: LoRA weights and their gradients (``fp32``: 4 bytes each, ``bf16``: 2).
        optimizer: the optimizer's states (:data:`OPTIMIZER_STATE_BYTES`).
        logits: how the loss holds the logits (:data:`LOGITS_HELP`).
        checkpointing: what gradient checkpointing keeps: ``plain`` each layer's input on the GPU,
            ``offloaded`` the inputs moved to CPU memory (Unsloth "unsloth" checkpointing).
        autocast: the forward runs under ``torch.autocast(bf16)`` (activations of fp32 adapters in
            bf16); without it PEFT's fp32 adapters keep fp32 copies of their inputs.
        quantize_lm_head: QLoRA also quantizes the output layer (transformers never does).
        double_quant: NF4 constants quantized again (QLoRA's double quantization).
        upcast_unquantized: non-quantized parameters cast to fp32 for k-bit training (PEFT's
            ``prepare_model_for_kbit_training``).
        nf4_library: who implements QLoRA's NF4: ``bitsandbytes`` (``Linear4bit``/``MatMul4Bit``)
            or ``torchao`` (``NF4Tensor``/``linear_nf4``, torchtune).
        bitsandbytes: the bitsandbytes version (a stated setting, e.g. ``"0.41.1"``): before 0.44
            ``MatMul4Bit.forward`` keeps ``ctx.tensors = (A, B)``, every quantized linear's input
            (:attr:`bnb_saves_input`); 0.44 and later keep ``(None, B)``.
        torchao: the torchao version: before 0.2.0 ``NF4Tensor.from_tensor`` compares every element
            with the 16 NF4 values at once (a numel x 16 bf16 difference and its ``abs``), from 0.2.0
            in chunks of 1024**2 elements; before 0.3.0 each weight keeps its quantization factors
            as a view of an n/64-element tensor.
        qlora_optimizer: the optimizer the trainer switches to when the base is quantized (LitGPT:
            bitsandbytes PagedAdamW), unless the optimizer knob is given.
        fused_lora_kernels: Unsloth's ``LoRA_MLP``/``LoRA_QKV``/``LoRA_W`` replace the blocks whose
            group of projections all carry LoRA: no adapter inputs of their own, and a gated MLP
            keeps its gate and up outputs only (:mod:`~lora_core.memory.unsloth_kernels`).
        keeps_previous_step: the training loop still holds the previous step's model output while
            the next forward runs (LitGPT's ``fit``: ``logits = model(...)`` rebinds only when the
            forward returns), so that output and what its autograd graph still references stay
            alive: the logits, and with ``bnb_saves_input`` every ``ctx.tensors`` input (a ctx
            attribute, which backward's ``release_variables`` does not free, unlike
            ``save_for_backward``).
        expands_kv: grouped-query and multi-query K and V are copied to every query head before
            attention, so the block keeps them at the query width (LitGPT's
            ``CausalSelfAttention.forward``: ``k.expand(...)`` then ``k.reshape(B, -1, T, hs)``,
            "training: flash attention requires it").
        softcap_eager_attention: a model with attention logit softcapping (Gemma 2) runs a manual
            attention that keeps 8 bytes per score instead of a fused kernel (LitGPT).
        compile: the blocks and the loss run under ``torch.compile`` (inductor): what its partitioner
            saves (:mod:`~lora_core.memory.compiled`, :mod:`~lora_core.memory.logits`).
        torchtune: the torchtune version (torchtune's profile): before 0.3.0 its recipes computed
            ``CrossEntropyLoss`` on the bf16 logits and kept them into the next step
            (:func:`version_defaults`).
        frees_logits: the loop drops the model output before backward (torchtune 0.3.0's ``del logits``,
            "free logits otherwise it peaks backward memory"), so the logits the loss kept are gone
            once it is differentiated; otherwise they stay through backward (:mod:`~lora_core.memory.backward`).
        offloaded_resident_layers: the layer inputs offloaded checkpointing keeps on the GPU
            (Unsloth: the one being offloaded and the one brought back; torchtune's
            ``OffloadActivations(max_fwd_stash_size=5)``: the last 5 saved tensors).
    """

    name: str
    label: str
    adapter_dtype: AdapterDtype
    optimizer: Optimizer
    logits: Logits
    checkpointing: Checkpointing
    autocast: bool
    quantize_lm_head: bool
    double_quant: bool
    upcast_unquantized: bool
    sources: tuple[tuple[str, str], ...] = ()
    nf4_library: str = "bitsandbytes"
    bitsandbytes: str = DEFAULT_BITSANDBYTES
    torchao: str = DEFAULT_TORCHAO
    qlora_optimizer: str | None = None
    keeps_previous_step: bool = False
    fused_lora_kernels: bool = False
    expands_kv: bool = False
    softcap_eager_attention: bool = False
    compile: bool = False
    torchtune: str = DEFAULT_TORCHTUNE
    frees_logits: bool = False
    offloaded_resident_layers: int = 2

    def with_knobs(self, **knobs) -> "TrainingProfile":
        """The profile with some knobs changed (``None`` keeps the default); values are checked."""
        given = {k: v for k, v in knobs.items() if v is not None}
        unknown = set(given) - set(KNOBS)
        if unknown:
            raise InputError(sorted(unknown)[0], f"not a profile knob; choose from {', '.join(KNOBS)}")
        for knob, value in given.items():
            allowed = KNOBS[knob]
            if knob in VERSION_KNOBS:
                check_version(knob, value, allowed[0])
            elif value not in allowed:
                raise InputError(knob, f"must be one of {', '.join(map(str, allowed))}, got {value!r}")
        return replace(self, **given)

    @property
    def bnb_saves_input(self) -> bool:
        """bitsandbytes' 4-bit matmul keeps its input for backward (versions before 0.44)."""
        return self.nf4_library == "bitsandbytes" and before(self.bitsandbytes, "bnb_keeps_input_until")

    @property
    def compiles_loss(self) -> bool:
        """``compile`` covers the loss too (torchtune before 0.3.0 compiled only the model)."""
        return self.compile and not (self.name == "torchtune" and before(self.torchtune, "torchtune_compile_loss"))

    @property
    def torchao_keeps_factor_view(self) -> bool:
        """torchao's ``NF4Tensor`` keeps the n/64-element factor expansion (versions before 0.3.0)."""
        return self.nf4_library == "torchao" and before(self.torchao, "torchao_contiguous_factor")

    @property
    def torchao_quantizes_whole_tensor(self) -> bool:
        """torchao's NF4 quantization builds numel x 16 intermediates at once (versions before 0.2.0)."""
        return self.nf4_library == "torchao" and before(self.torchao, "torchao_chunked_quantization")

    def knobs(self) -> dict[str, object]:
        """The knob values, e.g. ``{"adapter_dtype": "fp32", "optimizer": "fp32", ...}``."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name in KNOBS}


KNOBS: dict[str, tuple] = {"adapter_dtype": ADAPTER_DTYPES, "optimizer": OPTIMIZERS, "logits": LOGITS,
                           "checkpointing": CHECKPOINTING, "autocast": (True, False),
                           "quantize_lm_head": (True, False), "double_quant": (True, False),
                           "upcast_unquantized": (True, False), "bitsandbytes": BITSANDBYTES_VERSIONS,
                           "torchao": TORCHAO_VERSIONS, "keeps_previous_step": (True, False),
                           "fused_lora_kernels": (True, False),
                           "expands_kv": (True, False), "softcap_eager_attention": (True, False),
                           "compile": (True, False), "torchtune": TORCHTUNE_VERSIONS, "frees_logits": (True, False)}
# Knobs that take any PEP 440 version (the tuples above are what the UI offers).
VERSION_KNOBS: frozenset[str] = frozenset({"bitsandbytes", "torchao", "torchtune"})




_TRANSFORMERS_LOSS = "transformers 5 loss/loss_utils.py ForCausalLMLoss: logits = logits.float()"
_HF_QUANT = ("transformers 5 integrations/bitsandbytes.py replace_with_bnb_linear skips "
             "get_modules_to_not_convert (lm_head, tied and fp32 modules)")

PROFILES: dict[str, TrainingProfile] = {p.name: p for p in (
    TrainingProfile(
        name="peft", label="PEFT + transformers Trainer",
        adapter_dtype="fp32", optimizer="fp32", logits="fp32_full", checkpointing="plain",
        autocast=True, quantize_lm_head=False, double_quant=False, upcast_unquantized=True,
        sources=(("adapter_dtype", "peft get_peft_model(autocast_adapter_dtype=True) upcasts adapters to fp32"),
                 ("optimizer", "transformers TrainingArguments.optim default adamw_torch: fp32 moments of fp32 params"),
                 ("logits", _TRANSFORMERS_LOSS),
                 ("checkpointing", "TrainingArguments(gradient_checkpointing=True): torch.utils.checkpoint per decoder layer"),
                 ("autocast", "TrainingArguments(bf16=True) runs the forward under torch.autocast(bfloat16)"),
                 ("quantize_lm_head", _HF_QUANT),
                 ("double_quant", "BitsAndBytesConfig(bnb_4bit_use_double_quant=False) default"),
                 ("upcast_unquantized", "PEFT's QLoRA guide calls prepare_model_for_kbit_training (fp32 non-quantized params)"))),
    TrainingProfile(
        name="axolotl", label="axolotl",
        adapter_dtype="fp32", optimizer="fp32", logits="fp32_full", checkpointing="plain",
        autocast=True, quantize_lm_head=False, double_quant=True, upcast_unquantized=False,
        sources=(("adapter_dtype", "axolotl loads adapters with peft get_peft_model (autocast_adapter_dtype default True)"),
                 ("optimizer", "utils/schemas/training.py optimizer default adamw_torch_fused; examples pick "
                               "adamw_bnb_8bit or paged_adamw_32bit (change the knob)"),
                 ("logits", "transformers loss unless cut_cross_entropy: true or liger (then 'fused')"),
                 ("checkpointing", "examples set gradient_checkpointing: true; 'offload' is the offloaded mode"),
                 ("autocast", "bf16: true -> Trainer(bf16=True)"),
                 ("quantize_lm_head", _HF_QUANT),
                 ("double_quant", "loaders/model.py _set_quantization_config: bnb_4bit_use_double_quant True"),
                 ("upcast_unquantized", "loaders/model.py calls prepare_model_for_kbit_training, then "
                                        "_convert_embedding_modules_dtype returns embeddings, lm_head and norms to the "
                                        "training dtype: no lasting upcast"))),
    TrainingProfile(
        name="llamafactory", label="LLaMA-Factory",
        adapter_dtype="fp32", optimizer="fp32", logits="fp32_full", checkpointing="plain",
        autocast=True, quantize_lm_head=False, double_quant=True, upcast_unquantized=False,
        sources=(("adapter_dtype", "model/adapter.py init_adapter: cast_trainable_params_to_fp32 unless pure_bf16"),
                 ("optimizer", "Trainer default adamw_torch"),
                 ("logits", _TRANSFORMERS_LOSS),
                 ("checkpointing", "ModelArguments.disable_gradient_checkpointing=False: on by default; "
                                   "use_unsloth_gc offloads"),
                 ("autocast", "bf16: true -> Trainer(bf16=True)"),
                 ("quantize_lm_head", _HF_QUANT),
                 ("double_quant", "hparams/model_args.py double_quantization default True"),
                 ("upcast_unquantized", "upcast_layernorm default False: nothing upcast"))),
    TrainingProfile(
        name="unsloth", label="Unsloth",
        adapter_dtype="fp32", optimizer="8bit", logits="fused_inplace", checkpointing="offloaded",
        autocast=True, quantize_lm_head=False, double_quant=True, upcast_unquantized=False,
        sources=(("adapter_dtype", "models/llama.py FastLlamaModel.get_peft_model calls peft get_peft_model "
                                   "(autocast_adapter_dtype default True: fp32)"),
                 ("optimizer", "Unsloth notebooks: optim='adamw_8bit'"),
                 ("logits", "unsloth kernels/cross_entropy_loss.py fast_cross_entropy_loss writes dlogits in place"),
                 ("checkpointing", "use_gradient_checkpointing='unsloth' offloads layer inputs to CPU"),
                 ("autocast", "Trainer(bf16=True)"),
                 ("quantize_lm_head", "loads with transformers' BitsAndBytesConfig: lm_head kept"),
                 ("double_quant", "models/llama.py and models/loader.py: bnb_4bit_use_double_quant True"),
                 ("upcast_unquantized", "no prepare_model_for_kbit_training upcast"),
                 ("fused_lora_kernels", "models/llama.py patch_peft_model: apply_lora_mlp / apply_lora_qkv / "
                                        "apply_lora_o when a group's projections all have LoRA, no bias, "
                                        "lora_dropout 0 (the default)")),
        fused_lora_kernels=True),
    TrainingProfile(
        name="torchtune", label="torchtune",
        adapter_dtype="bf16", optimizer="bf16", logits="chunked_fp32", checkpointing="plain",
        autocast=False, quantize_lm_head=False, double_quant=True, upcast_unquantized=False,
        sources=(("adapter_dtype", "recipes dtype: bf16 -> every parameter, LoRA included, in bf16"),
                 ("optimizer", "torch.optim.AdamW on bf16 params: bf16 moments"),
                 ("logits", "torchtune modules/loss CEWithChunkedOutputLoss(num_output_chunks=8), chunks .float()"),
                 ("checkpointing", "enable_activation_checkpointing: True in the single-device LoRA configs; "
                                   "enable_activation_offloading is the offloaded mode"),
                 ("autocast", "no autocast: bf16 end to end"),
                 ("quantize_lm_head", "QLoRA builders quantize the decoder's linears; output projection stays bf16"),
                 ("double_quant", "torchao NF4Tensor: scalers quantized in blocks of 256 (double quantization)"),
                 ("upcast_unquantized", "no upcast"),
                 ("nf4_library", "LoRALinear(quantize_base=True) -> torchao to_nf4 / linear_nf4 (LinearNF4 keeps "
                                 "ctx.nf4_weight, not its input)"),
                 ("torchao", "torchtune's pyproject pinned torchao==0.1 (April 2024); later releases depend on "
                             "torchao >= 0.2 (chunked quantization); the default is the chunked behaviour"),
                 ("compile", "recipes/configs/*_lora_single_device.yaml: compile: False; compile=True runs "
                             "training.compile_model (each TransformerSelfAttentionLayer) and compile_loss "
                             "(CEWithChunkedOutputLoss.compute_cross_entropy)"),
                 ("torchtune", "0.3.0 (2024-09-17) brought CEWithChunkedOutputLoss to the LoRA configs and "
                               "`del logits` to _loss_step; set 0.1.0-0.2.1 for the earlier recipes"),
                 ("frees_logits", "recipes/lora_finetune_single_device.py _loss_step (0.3.0 and later): `del logits` "
                                  "after the loss, 'free logits otherwise it peaks backward memory'"),
                 ("offloaded_resident_layers", "training/_activation_offloading.py OffloadActivations("
                                               "max_fwd_stash_size=5): the last 5 saved tensors stay on the GPU "
                                               "until newer ones are copied out; the output head is not "
                                               "offloaded (NoOpManager)")),
        nf4_library="torchao", frees_logits=True, offloaded_resident_layers=5),
    TrainingProfile(
        name="litgpt", label="LitGPT",
        adapter_dtype="bf16", optimizer="bf16", logits="chunked", checkpointing="plain",
        autocast=False, quantize_lm_head=True, double_quant=False, upcast_unquantized=False,
        sources=(("adapter_dtype", "--precision bf16-true: LoRA params bf16"),
                 ("optimizer", "torch.optim.AdamW on bf16 params (QLoRA in 2023's finetune/lora.py: "
                               "bnb PagedAdamW 32-bit, knob paged_fp32)"),
                 ("logits", "finetune/lora.py model(..., lm_head_chunk_size=128) + chunked_cross_entropy; Lightning "
                            "fabric/wrappers.py _FabricModule.forward -> precision.convert_output casts the bf16 chunks "
                            "to torch.get_default_dtype() (fp32) for bf16-true and BitsandbytesPrecision alike"),
                 ("checkpointing", "finetune/lora.py checkpoints only under FSDP: off on one GPU (set it off)"),
                 ("autocast", "bf16-true: no autocast"),
                 ("quantize_lm_head", "BitsandbytesPrecision swaps every nn.Linear, lm_head included"),
                 ("double_quant", "--quantize bnb.nf4: compress_statistics=False ('bnb.nf4-dq' for double quant)"),
                 ("upcast_unquantized", "no upcast"),
                 ("qlora_optimizer", "finetune/lora.py: bnb.optim.PagedAdamW when the precision is "
                                     "BitsandbytesPrecision (lit-gpt 8641822, litgpt 43c44323; later "
                                     "instantiate_bnb_optimizer)"),
                 ("keeps_previous_step", "litgpt/finetune/lora.py fit() (2024; lit-gpt finetune/lora.py train() in 2023): "
                                         "`logits = model(input_ids, lm_head_chunk_size=128)` keeps the previous step's "
                                         "logit list, and through its grad_fn the whole previous graph, until the next "
                                         "forward returns"),
                 ("expands_kv", "litgpt/model.py CausalSelfAttention.forward (43c44323 and later): if n_query_groups != "
                                "n_head and input_pos is None, k and v are expand()ed to every query head and reshape() "
                                "copies them; flash SDPA keeps those copies"),
                 ("softcap_eager_attention", "litgpt/model.py CausalSelfAttention.scaled_dot_product_attention "
                                             "(916a84ca and later): 'with softcapping we cannot use SDPA': tanh, "
                                             "softmax(dtype=float) and scores @ v in eager ops")),
        qlora_optimizer="paged_fp32", keeps_previous_step=True, expands_kv=True, softcap_eager_attention=True),
)}
TRAINERS: tuple[str, ...] = tuple(PROFILES)

# Recipe tools of the Export page -> the profile that trains them.
RECIPE_PROFILE: dict[str, str] = {"peft": "peft", "python": "peft", "axolotl": "axolotl",
                                  "llamafactory": "llamafactory", "llama-factory": "llamafactory",
                                  "unsloth": "unsloth", "torchtune": "torchtune", "litgpt": "litgpt"}


def get_profile(trainer: str) -> TrainingProfile:
    """``PROFILES[trainer]``, or an ``InputError`` naming the trainers there are."""
    try:
        return PROFILES[trainer]
    except (KeyError, TypeError):
        raise InputError("trainer", f"unknown trainer {trainer!r}; choose from {', '.join(TRAINERS)}") from None


def profile_for_recipe(tool: str) -> str:
    """The profile for a recipe tool: ``'LLaMA-Factory' -> 'llamafactory'``; PEFT for anything else."""
    return RECIPE_PROFILE.get(str(tool).lower().replace(" ", ""), "peft")
