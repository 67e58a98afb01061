"""The language model's config inside a composite config, for the sizes the tool reads."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transformers import PretrainedConfig


def text_config(config: PretrainedConfig) -> PretrainedConfig:
    """``config.get_text_config()``; where that is ambiguous (MusicGen holds both a
    ``text_encoder`` and a ``decoder``), the decoder's, which generates the tokens.

    >>> from transformers import MusicgenConfig
    >>> type(text_config(MusicgenConfig())).__name__
    'MusicgenDecoderConfig'
    """
    try:
        return config.get_text_config()
    except ValueError:  # "Multiple valid text configs were found"
        return config.get_text_config(decoder=True)
