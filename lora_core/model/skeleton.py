"""The model built on the meta device: every module and shape, no tensor memory.

The auto class is chosen from transformers' own mappings: the class named in the config's
``architectures`` when a mapping knows it, else the first mapping that has the model type.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import transformers
from torch import nn
from transformers import (
    AutoModel,
    AutoModelForCausalLM,
    AutoModelForImageTextToText,
    AutoModelForMaskedLM,
    AutoModelForSeq2SeqLM,
    AutoModelForSequenceClassification,
    AutoModelForSpeechSeq2Seq,
    AutoModelForTextToWaveform,
    AutoModelForTokenClassification,
    PretrainedConfig,
)
from transformers.models.auto import modeling_auto as ma

from ..errors import InputError
from .build_budget import MAX_MODULES, ModuleBudgetExceeded, module_budget

# (auto class, model_type -> class name mapping, PEFT task type), in order of preference.
AUTO_CLASSES: tuple[tuple[type, dict[str, str], str | None], ...] = (
    (AutoModelForImageTextToText, ma.MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES, "CAUSAL_LM"),
    (AutoModelForSeq2SeqLM, ma.MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES, "SEQ_2_SEQ_LM"),
    (AutoModelForSpeechSeq2Seq, ma.MODEL_FOR_SPEECH_SEQ_2_SEQ_MAPPING_NAMES, "SEQ_2_SEQ_LM"),
    (AutoModelForCausalLM, ma.MODEL_FOR_CAUSAL_LM_MAPPING_NAMES, "CAUSAL_LM"),
    (AutoModelForMaskedLM, ma.MODEL_FOR_MASKED_LM_MAPPING_NAMES, None),
    (AutoModel, ma.MODEL_MAPPING_NAMES, "FEATURE_EXTRACTION"),
    # Last, so it is only chosen when ``architectures`` names it: MusicGen checkpoints declare
    # MusicgenForConditionalGeneration, whose type the causal-LM mapping also lists (for the
    # decoder-only class, which takes the decoder's sub-config, not the checkpoint's).
    (AutoModelForTextToWaveform, ma.MODEL_FOR_TEXT_TO_WAVEFORM_MAPPING_NAMES, None),
    # Classification heads, only when ``architectures`` names one (BertForSequenceClassification):
    # the task PEFT trains such a checkpoint for, with the head it saves in full.
    (AutoModelForSequenceClassification, ma.MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING_NAMES, "SEQ_CLS"),
    (AutoModelForTokenClassification, ma.MODEL_FOR_TOKEN_CLASSIFICATION_MAPPING_NAMES, "TOKEN_CLS"),
)


@dataclass(frozen=True)
class Skeleton:
    """A model on the meta device and how it was built.

    Attributes:
        model: the module tree; its tensors live on ``meta`` and hold no memory.
        auto_class: name of the transformers auto class used, e.g. ``AutoModelForCausalLM``.
        task_type: the PEFT ``task_type`` matching that class (``None`` for masked LM).
    """

    model: nn.Module = field(repr=False)
    auto_class: str
    task_type: str | None

    @property
    def config(self) -> PretrainedConfig:
        return self.model.config


def _names(mapping: dict[str, str], model_type: str) -> tuple[str, ...]:
    value = mapping.get(model_type, ())
    return (value,) if isinstance(value, str) else tuple(value)


def pick_auto_class(config: PretrainedConfig) -> tuple[type, str | None]:
    """The auto class (and PEFT task type) to build ``config`` with.

    >>> pick_auto_class(BertConfig(architectures=["BertForMaskedLM"]))[0].__name__
    'AutoModelForMaskedLM'
    """
    model_type = config.model_type
    declared = set(getattr(config, "architectures", None) or ())
    for auto_cls, mapping, task in AUTO_CLASSES:
        if declared & set(_names(mapping, model_type)):
            return auto_cls, task
    for auto_cls, mapping, task in AUTO_CLASSES:
        if _names(mapping, model_type):
            return auto_cls, task
    raise InputError("model_type", f"transformers has no model class for {model_type!r}")


def build_skeleton(config: PretrainedConfig, trust_remote_code: bool = False) -> Skeleton:
    """Build ``config``'s model on the meta device (no weights, no tensor memory)."""
    auto_cls, task = pick_auto_class(config)
    try:
        with torch.device("meta"), module_budget():
            model = _from_config(auto_cls, config, trust_remote_code)
    except ModuleBudgetExceeded:
        raise InputError(_count_fields(config), f"this config builds more than {MAX_MODULES:,} modules "
                         "(layers x modules per layer, experts built one by one), beyond what this tool "
                         "answers in seconds; the largest published models build under 2,000") from None
    except ImportError as e:  # a part of the model needs a package that is not installed
        raise InputError("config", f"transformers could not build a {config.model_type} model: "
                         f"{_missing_package(e)}") from None
    except (ValueError, TypeError, AttributeError, KeyError, IndexError, RuntimeError, ArithmeticError,
            AssertionError) as e:  # torch checks some sizes with assert (nn.Embedding's padding_idx)
        raise InputError("config", f"transformers could not build a {config.model_type} model "
                         f"from this config: {e}") from None
    return Skeleton(model, auto_cls.__name__, peft_task_type(model, task))


def _from_config(auto_cls: type, config: PretrainedConfig, trust_remote_code: bool) -> nn.Module:
    """``auto_cls.from_config``, or the class its mapping names when the auto class refuses the
    config although the mapping lists the type (Evolla's ``EvollaForProteinText2Text``)."""
    try:
        return auto_cls.from_config(config, trust_remote_code=trust_remote_code)
    except ValueError as e:
        mapping = next(m for cls, m, _ in AUTO_CLASSES if cls is auto_cls)
        named = [getattr(transformers, n, None) for n in _names(mapping, config.model_type)]
        if "Unrecognized configuration class" not in str(e) or not any(named):
            raise
        return next(c for c in named if c is not None)._from_config(config)


def peft_task_type(model: nn.Module, task: str | None) -> str | None:
    """``task``, unless PEFT's generation wrapper cannot hold ``model``.

    ``PeftModelForCausalLM`` and ``PeftModelForSeq2SeqLM`` read the model's
    ``prepare_inputs_for_generation``; a model registered for image-text-to-text that does not
    generate (PI0, an action model) has none, so it gets no task type (a plain ``PeftModel``).
    """
    if task in ("CAUSAL_LM", "SEQ_2_SEQ_LM") and not hasattr(model, "prepare_inputs_for_generation"):
        return None
    return task


_COUNT_FIELDS = ("num_hidden_layers", "num_layers", "n_layer", "num_decoder_layers", "encoder_layers",
                 "decoder_layers", "num_local_experts", "num_experts", "n_routed_experts")


def _count_fields(config: PretrainedConfig) -> str:
    """The layer and expert counts a config sets, e.g. ``num_layers=1024, num_decoder_layers=1024``."""
    d = config.to_dict()
    found = [f"{k}={d[k]}" for k in _COUNT_FIELDS if isinstance(d.get(k), int) and d[k] > 1]
    return ", ".join(found) or "config"


def _missing_package(e: ImportError) -> str:
    """What an ImportError from building a model asks for, in one sentence."""
    text = " ".join(str(e).split())
    if "timm" in text:
        return ("its vision tower is a timm model (TimmWrapperModel), which needs the packages timm "
                "and torchvision; this install has neither (timm imports torchvision, and PyPI's "
                "torchvision does not load beside this CPU torch)")
    name = getattr(e, "name", None)
    return f"it needs the Python package {name!r}, which is not installed" if name else text[:200]
