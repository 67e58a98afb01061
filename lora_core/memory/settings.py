"""How the plan is trained: batch, sequence, base dtype, checkpointing, and the trainer's profile."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from ..errors import InputError
from ..model.text_config import text_config
from .profiles import TrainingProfile, get_profile, version_defaults
from .weights import BASE_DTYPES, BaseDtype


@dataclass(frozen=True)
class MemorySettings:
    """How the plan is trained. Defaults: bf16 base, batch 1, 2048 tokens, checkpointing on, PEFT.

    Attributes:
        base_dtype: ``bf16`` (2 bytes/param), ``int8`` (LLM.int8) or ``nf4`` (QLoRA 4-bit).
        batch_size: sequences per step (micro-batch, before gradient accumulation).
        seq_len: tokens per sequence (image tokens included for vision-language models).
        gradient_checkpointing: keep only each layer's input and recompute the rest in backward.
        flash_attention: attention by a fused kernel (PyTorch SDPA / FlashAttention, transformers'
            default) that stores no seq x seq scores; ``False`` for ``attn_implementation="eager"``.
        trainer: the training profile (:data:`lora_core.memory.profiles.PROFILES`).
        adapter_dtype ... softcap_eager_attention: the profile's knobs; ``None`` keeps its default.
        bitsandbytes, torchao, torchtune: the library versions the run used ("as of"), e.g. ``"0.41.1"``;
            ``None`` keeps the profile's sourced default (:mod:`~lora_core.memory.versions`); a stated
            torchtune version also sets the knobs its recipes fixed (``version_defaults``).
        compile: the blocks and the loss under ``torch.compile`` (``None``: the profile's, off).
    """

    base_dtype: BaseDtype = "bf16"
    batch_size: int = 1
    seq_len: int = 2048
    gradient_checkpointing: bool = True
    flash_attention: bool = True
    trainer: str = "peft"
    adapter_dtype: str | None = None
    optimizer: str | None = None
    logits: str | None = None
    checkpointing: str | None = None
    autocast: bool | None = None
    quantize_lm_head: bool | None = None
    double_quant: bool | None = None
    upcast_unquantized: bool | None = None
    bitsandbytes: str | None = None
    torchao: str | None = None
    keeps_previous_step: bool | None = None
    fused_lora_kernels: bool | None = None
    expands_kv: bool | None = None
    softcap_eager_attention: bool | None = None
    compile: bool | None = None
    torchtune: str | None = None
    frees_logits: bool | None = None

    def __post_init__(self) -> None:
        if self.base_dtype not in BASE_DTYPES:
            raise InputError("base_dtype", f"must be one of {', '.join(BASE_DTYPES)}, got {self.base_dtype!r}")
        for name in ("batch_size", "seq_len"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise InputError(name, f"must be a positive integer, got {value!r}")
        self.profile  # noqa: B018 -- validates the trainer and the knobs now, not at first use

    @cached_property
    def profile(self) -> TrainingProfile:
        """The trainer's profile with the knobs given here applied.

        A trainer that switches optimizer for a quantized base (``qlora_optimizer``, LitGPT's
        PagedAdamW) does so here unless ``optimizer`` is given."""
        base = get_profile(self.trainer)
        optimizer = self.optimizer
        if optimizer is None and self.base_dtype != "bf16" and base.qlora_optimizer:
            optimizer = base.qlora_optimizer
        knobs = dict(
            adapter_dtype=self.adapter_dtype, optimizer=optimizer, logits=self.logits,
            checkpointing=self.checkpointing, autocast=self.autocast, quantize_lm_head=self.quantize_lm_head,
            double_quant=self.double_quant, upcast_unquantized=self.upcast_unquantized,
            bitsandbytes=self.bitsandbytes, torchao=self.torchao, keeps_previous_step=self.keeps_previous_step,
            fused_lora_kernels=self.fused_lora_kernels, expands_kv=self.expands_kv,
            softcap_eager_attention=self.softcap_eager_attention, compile=self.compile, torchtune=self.torchtune,
            frees_logits=self.frees_logits)
        for knob, value in version_defaults(self.trainer, self.torchtune).items():
            knobs[knob] = value if knobs[knob] is None else knobs[knob]
        return base.with_knobs(**knobs)

    def as_dict(self) -> dict:
        """The settings and the resolved knobs (what ``plan --json`` prints)."""
        return {"base_dtype": self.base_dtype, "batch_size": self.batch_size, "seq_len": self.seq_len,
                "gradient_checkpointing": self.gradient_checkpointing, "flash_attention": self.flash_attention,
                "trainer": self.trainer, **self.profile.knobs()}


def sequence_warnings(config, settings: MemorySettings) -> list[str]:
    """A warning when ``seq_len`` exceeds the model's positions (``max_position_embeddings``)."""
    text = text_config(config)
    limit = next((int(getattr(text, n)) for n in ("max_position_embeddings", "n_positions", "max_seq_len")
                  if getattr(text, n, None)), 0)
    if limit and settings.seq_len > limit:
        return [f"seq_len: {settings.seq_len:,} tokens is longer than the model's {limit:,} positions "
                "(max_position_embeddings); it was not trained that long (extend RoPE, or shorten)"]
    return []
