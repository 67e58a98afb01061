"""How a decoder block feeds its norms and its FFN: what its activations hold once, not twice.

A sequential block (Llama, Mistral, ...) normalizes two different tensors (the block input, then
the residual after attention) and its FFN reads the second norm's output. A parallel block runs
attention and FFN on the same input (GPT-J, Phi, Falcon-7B, GPT-NeoX): its norms read one tensor,
which autograd keeps once, and where one norm feeds both branches the FFN's input is the
attention's input, also kept once. Read from transformers' decoder layers and LitGPT's ``Block``:

- one shared norm: ``PhiDecoderLayer``, ``GPTJBlock``, ``CodeGenBlock``, ``CohereDecoderLayer``
  (``input_layernorm`` only, ``attn(h)`` and ``mlp(h)``); ``FalconDecoderLayer`` with
  ``parallel_attn`` unless ``new_decoder_architecture`` with ``num_ln_in_parallel_attn == 2``;
  ``StableLmDecoderLayer`` with ``use_parallel_residual`` (``post_attention_layernorm = None``);
  LitGPT's ``shared_attention_norm`` (its phi and falcon configs): ``n_2 = n_1``.
- two norms of the same input: ``GPTNeoXLayer`` with ``use_parallel_residual``
  (``input_layernorm(x)`` and ``post_attention_layernorm(x)``), LitGPT's ``norm_2(x)``.
"""

from __future__ import annotations

from dataclasses import dataclass

_SHARED_NORM_TYPES = frozenset({"phi", "gptj", "codegen", "cohere", "cohere2"})


@dataclass(frozen=True)
class BlockLayout:
    """``norm_inputs``: distinct tensors the block's norms read (2 sequential, 1 parallel);
    ``ffn_reads_attention_input``: the FFN's input is the attention's (one shared norm)."""

    norm_inputs: int = 2
    ffn_reads_attention_input: bool = False


def block_layout(text) -> BlockLayout:
    """The layout of ``text``'s decoder blocks (a text config), e.g. phi -> ``BlockLayout(1, True)``."""
    model_type = getattr(text, "model_type", "")
    if model_type in _SHARED_NORM_TYPES:
        return BlockLayout(1, True)
    if model_type == "falcon" and getattr(text, "parallel_attn", False):
        two_norms = (getattr(text, "new_decoder_architecture", False)
                     and (getattr(text, "num_ln_in_parallel_attn", None) or 2) == 2)
        return BlockLayout(1, not two_norms)
    if getattr(text, "use_parallel_residual", False):
        return BlockLayout(1, model_type == "stablelm")
    return BlockLayout()
