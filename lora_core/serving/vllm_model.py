"""vLLM 0.34.0: which models ``--enable-lora`` serves at all, before any adapter is read.

An architecture without ``SupportsLoRA`` is refused (:func:`rule_arch`); one outside vLLM's
registry goes to its Transformers modeling backend or is refused (:func:`rule_registry`), and the
backend must be able to build the model (:func:`rule_backend_model`). :mod:`.vllm` judges the
adapter itself.
"""

from __future__ import annotations

from functools import lru_cache

import transformers

from . import vllm_archs as va
from . import vllm_registry as vr
from . import vllm_backend
from .adapter import Adapter
from .verdict import Finding, source_of


def rule_arch(a: Adapter) -> list[Finding]:
    """`vllm/config/lora.py` `LoRAConfig.verify_with_model_config` (architectures without `SupportsLoRA`)."""
    if a.model.arch not in va.NO_LORA:
        return []
    msg = (f"LoRA is not supported for {a.model.arch} (MODEL). Supported models implement the "
           "`SupportsLoRA` interface. Run this model without `enable_lora`.")
    return [Finding("refuses", f"vLLM has no LoRA support for {a.model.arch}: the server will not start "
                    "with --enable-lora.", source_of(rule_arch), msg)]


# `vllm/config/model.py` `_SUFFIX_TO_DEFAULTS`: architecture suffix -> convert_type ("none": generation)
_SUFFIXES = (("ForCausalLM", "none"), ("ForConditionalGeneration", "none"), ("ChatModel", "none"),
             ("LMHeadModel", "none"), ("ForTextEncoding", "embed"), ("EmbeddingModel", "embed"),
             ("ForSequenceClassification", "classify"), ("ForTokenClassification", "classify"),
             ("ForAudioClassification", "classify"), ("ForImageClassification", "classify"),
             ("ForVideoClassification", "classify"), ("ClassificationModel", "classify"),
             ("ForRewardModeling", "embed"), ("RewardModel", "embed"), ("Model", "embed"))


def normalized_arch(arch: str) -> str:
    """`vllm/model_executor/models/registry.py` `_ModelRegistry._normalize_arch`: a registered base of a converted architecture.

    Tried before the Transformers fallback only for converted (pooling) architectures, as
    ``resolve_model_cls`` does (its first fallback requires ``convert_type == "none"``).
    """
    match = next((suffix for suffix, convert in _SUFFIXES if arch.endswith(suffix)), None)
    if match is None or dict(_SUFFIXES)[match] == "none":
        return arch
    return next((b for b in (arch.replace(match, s) for s, _ in _SUFFIXES) if b in vr.REGISTERED), arch)


@lru_cache(maxsize=None)
def transformers_backend_runs(arch: str) -> bool:
    """`vllm/model_executor/models/registry.py` `_ModelRegistry._try_resolve_transformers` (model_impl auto, no auto_map).

    ``getattr(transformers, arch)`` exists and ``is_backend_compatible() or _can_set_attn_implementation()``
    (the installed transformers' own class methods, the ones vLLM calls).
    """
    cls = getattr(transformers, arch, None) if arch.isidentifier() else None
    if not (isinstance(cls, type) and issubclass(cls, transformers.PreTrainedModel)):
        return False
    return bool(cls.is_backend_compatible() or cls._can_set_attn_implementation())


def unsupported_message(arch: str) -> str:
    """`vllm/model_executor/models/registry.py` `_ModelRegistry._raise_for_unsupported`: its message (list of names abbreviated)."""
    if arch in vr.PREVIOUSLY_SUPPORTED:
        return (f"Model architecture {arch} was supported in vLLM until v{vr.PREVIOUSLY_SUPPORTED[arch]}, and is "
                "not supported anymore. Please use an older version of vLLM if you want to use this model architecture.")
    if arch in vr.OOT_SUPPORTED:
        return (f"Model architecture {arch} is not supported in-tree anymore. Please install the plugin at "
                f"{vr.OOT_SUPPORTED[arch]} if you want to use this model architecture.")
    return (f"Model architectures [{arch!r}] are not supported for now. Supported architectures: "
            f"dict_keys([... {len(vr.REGISTERED)} names])")


def rule_registry(a: Adapter) -> list[Finding]:
    """`vllm/model_executor/models/registry.py` `_ModelRegistry.resolve_model_cls` (unregistered architectures: Transformers backend or refusal).

    Not in ``_VLLM_MODELS``: with ``--model-impl auto`` vLLM falls back to its Transformers modeling
    backend when ``_try_resolve_transformers`` accepts the transformers class (the backend's ``Base`` in
    ``vllm/model_executor/models/transformers/base.py`` implements ``SupportsLoRA``, so LoRA loads
    without a flag); otherwise ``_raise_for_unsupported`` refuses the model itself.
    """
    arch = a.model.arch
    if not arch or arch in vr.REGISTERED:
        return []
    if normalized_arch(arch) in vr.REGISTERED:  # a pooling architecture converted from a registered one
        return []
    if transformers_backend_runs(arch):
        return [Finding("note", f"{arch} is not one of vLLM's own model classes: vLLM's registry hands it to "
                        "the Transformers modeling backend (chosen by the default --model-impl auto, no flag; "
                        "--model-impl transformers forces it), whose Base class implements SupportsLoRA, so "
                        "--enable-lora accepts it; LoRA applies to the model's nn.Linear layers and embed_tokens. "
                        "Not checked: whether the backend runs this model end to end.", source_of(rule_registry))]
    return [Finding("refuses", f"vLLM cannot run {arch}: it is not among vLLM's registered architectures and "
                    "its Transformers modeling backend does not accept the transformers class.",
                    source_of(rule_registry), unsupported_message(arch))]


def backend(a: Adapter) -> vllm_backend.Backend | None:
    """What vLLM's Transformers backend builds for ``a``'s model, ``None`` when vLLM runs its own class."""
    arch = a.model.arch
    if (not arch or arch in vr.REGISTERED or normalized_arch(arch) in vr.REGISTERED
            or not transformers_backend_runs(arch) or a.model.config is None):
        return None
    return vllm_backend.probe(a.model.config)


def rule_backend_model(a: Adapter) -> list[Finding]:
    """`vllm/model_executor/models/transformers/base.py` `Base._create_model` (the backend builds AutoModel.from_config(hf_config))."""
    b = backend(a)
    if b is None or b.error is None:
        return []
    return [Finding("refuses", f"vLLM's Transformers backend cannot build {a.model.arch}: transformers' "
                    "AutoModel.from_config raises on this config, so the server does not start.",
                    source_of(rule_backend_model), b.error)]
