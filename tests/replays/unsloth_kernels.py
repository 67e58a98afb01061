"""Unsloth's fused LoRA autograd functions, run on CPU: what each keeps for backward.

Payload: ``{"tokens": T, "hidden": h, "ffn": f, "r": r}``. Loads ``LoRA_MLP``, ``LoRA_QKV`` and
``LoRA_W`` from the installed ``unsloth/kernels/fast_lora.py`` (definitions only: the module's
imports need CUDA) with a plain ``matmul_lora`` (``X @ W.T + s * X @ A.T @ B.T``, what the kernel
helper computes for an unquantized weight) and SiLU-gating as the MLP's forward function, runs
each forward in bf16 and prints, per function, the shapes of the tensors its ``grad_fn`` saved
other than the LoRA matrices: ``{"mlp": [[T, h], ...], "qkv": [...], "o": [...]}``.
"""

import json
import sys
import types

import torch

from source_loader import load


def matmul_lora(X, W, W_quant, A, B, s, out=None, use_global_buffer=True):
    out = X @ W.t()
    return out if A is None else out + s * ((X @ A.t()) @ B.t())


def main() -> None:
    p = json.loads(sys.stdin.read())
    T, h, f, r = p["tokens"], p["hidden"], p["ffn"], p["r"]
    same = lambda fn: fn  # noqa: E731 -- torch_amp_custom_fwd / bwd
    ns = load("unsloth", "kernels/fast_lora.py", ["LoRA_MLP", "LoRA_QKV", "LoRA_W"],
              {"torch": torch, "matmul_lora": matmul_lora, "torch_amp_custom_fwd": same, "torch_amp_custom_bwd": same,
               "_rms_layernorm": types.SimpleNamespace(_SAVE_OUTPUT=False), "_may_overwrite_input": lambda X: False})
    bf = dict(dtype=torch.bfloat16)

    def lora(i, o):
        return (torch.randn(o, i, **bf), None, torch.randn(r, i, **bf, requires_grad=True),
                torch.randn(o, r, **bf, requires_grad=True), 1.0)

    def saved(out, params):
        ids = {id(t) for t in params}
        return [list(t.shape) for t in out.grad_fn.saved_tensors if t is not None and id(t) not in ids]

    X = torch.randn(T, h, **bf, requires_grad=True)
    gate, up, down = lora(h, f), lora(h, f), lora(f, h)
    q, k, v, w = lora(h, h), lora(h, h), lora(h, h), lora(h, h)
    mlp = ns["LoRA_MLP"].apply(X, *gate, *up, *down, lambda e, g: torch.nn.functional.silu(e) * g, None)
    qkv = ns["LoRA_QKV"].apply(X, *q, *k, *v)
    o = ns["LoRA_W"].apply(X, *w)
    adapters = lambda *los: [t for lo in los for t in lo[2:4]]  # noqa: E731
    print(json.dumps({"mlp": saved(mlp, adapters(gate, up, down)), "qkv": saved(qkv[0], adapters(q, k, v)),
                      "o": saved(o, adapters(w))}))


if __name__ == "__main__":
    main()
