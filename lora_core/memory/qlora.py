"""QLoRA's own costs, read from bitsandbytes 0.50's and transformers 5's code.

- What 4-bit autograd saves: ``MatMul4Bit.forward`` keeps ``ctx.tensors = (None, B)``, the packed
  weight it already holds, and not its input: nothing beyond the adapters' own saved inputs
  (``tests/replays/qlora_cpu.py`` checks this on CPU).
- What it dequantizes: ``MatMul4Bit.backward`` builds ``F.dequantize_4bit(B, state)`` in the
  compute dtype for ``grad_A``, one weight at a time: a transient of the largest quantized weight
  at 2 bytes (LLM.int8's backward likewise rebuilds ``CB * SCB / 127``).
- While loading: transformers quantizes each bf16 tensor as it is moved to the GPU
  (``Bnb4BitHfQuantizer.create_quantized_param``): the bf16 copy of one tensor beside the
  already-quantized model.
- ``prepare_model_for_kbit_training`` (PEFT) casts every non-quantized parameter to fp32.
"""

from __future__ import annotations

COMPUTE_BYTES = 2  # bf16 compute dtype


def dequantized_weight_bytes(largest_numel: int) -> int:
    """The bf16 copy ``MatMul4Bit.backward`` dequantizes for the largest quantized weight."""
    return COMPUTE_BYTES * largest_numel


def loading_transient_bytes(largest_numel: int) -> int:
    """The bf16 tensor on the GPU while transformers quantizes it during loading."""
    return COMPUTE_BYTES * largest_numel


def upcast_bytes(unquantized_numel: int) -> int:
    """Extra bytes when ``prepare_model_for_kbit_training`` casts the bf16 rest to fp32 (4 - 2 each)."""
    return 2 * unquantized_numel
