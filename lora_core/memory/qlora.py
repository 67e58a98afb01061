"""QLoRA's own costs, read from the quantizing libraries' code: bitsandbytes (transformers, PEFT,
axolotl, LLaMA-Factory, Unsloth, LitGPT) and torchao's ``NF4Tensor`` (torchtune).

bitsandbytes (0.50's code; ``tests/replays/qlora_cpu.py`` checks it on CPU):

- What 4-bit autograd saves: ``MatMul4Bit.forward`` keeps ``ctx.tensors = (None, B)``, the packed
  weight it already holds, and not its input (before 0.44: ``(A, B)``, see
  :attr:`~lora_core.memory.profiles.TrainingProfile.bnb_saves_input`).
- What it dequantizes: ``MatMul4Bit.backward`` builds ``F.dequantize_4bit(B, state)`` in the
  compute dtype, one weight at a time: a transient of the largest quantized weight at 2 bytes.
- While loading: transformers quantizes each bf16 tensor as it is moved to the GPU
  (``Bnb4BitHfQuantizer.create_quantized_param``): the bf16 copy of one tensor beside the
  already-quantized model.
- ``prepare_model_for_kbit_training`` (PEFT) casts every non-quantized parameter to fp32.

torchao (``torchao/dtypes/nf4tensor.py``, 0.1 to 0.5; :func:`torchao_dequantize_bytes`; its
constants and the model load: :mod:`.torchao_loading`):

- ``LinearNF4.forward`` keeps ``ctx.nf4_weight`` (the NF4 weight it holds), not its input, and
  ``backward`` computes ``grad_output @ weight.to(dtype)``: nothing saved beyond the adapters'.
- ``weight.to(bf16)`` is ``NF4Tensor.get_original_weight``, in the forward (and the checkpointed
  recomputation) and in backward, one weight at a time.
- torchtune builds the model on the GPU and quantizes there, in its builders and again in its
  NF4 ``copy_`` while loading the checkpoint (:mod:`.torchao_loading`).
"""

from __future__ import annotations

COMPUTE_BYTES = 2  # bf16 compute dtype


def dequantized_weight_bytes(largest_numel: int, library: str = "bitsandbytes", compiled: bool = False) -> int:
    """The transient while the largest quantized weight is dequantized for a matmul.

    ``compiled``: under ``torch.compile`` torchao's ``NF4Tensor`` (a traceable wrapper subclass) is
    flattened into its inner tensors and ``get_original_weight``'s shifts, lookups, scaling and
    ``stack`` are pointwise and indexing ops inductor fuses into one kernel, which writes only the
    bf16 weight (2 bytes per element)."""
    if library == "torchao" and not compiled:
        return torchao_dequantize_bytes(largest_numel)
    return COMPUTE_BYTES * largest_numel


def torchao_dequantize_bytes(numel: int) -> int:
    """Peak of ``NF4Tensor.get_original_weight`` for a weight of ``numel`` elements: 14 bytes each.

    Alive together before it returns: ``(quantized_data >> 4).to(torch.long)`` and the low nibbles'
    ``.to(torch.long)`` (numel/2 int64 each: 8 bytes per element), the two bf16 ``nf4[value]``
    lookups (2), the two scaled halves (2) and ``torch.stack`` of them (2), the weight returned.
    """
    return 14 * numel


def loading_transient_bytes(largest_numel: int) -> int:
    """Beside the model loaded so far, the bf16 copy of the weight transformers is quantizing.

    torchao's load (torchtune) is replayed allocation by allocation instead: :mod:`.torchao_loading`."""
    return COMPUTE_BYTES * largest_numel


def upcast_bytes(unquantized_numel: int) -> int:
    """Extra bytes when ``prepare_model_for_kbit_training`` casts the bf16 rest to fp32 (4 - 2 each)."""
    return 2 * unquantized_numel
