"""QLoRA on CPU with bitsandbytes' own code: what it stores and what its autograd saves.

Payload: ``{"config": {LlamaConfig kwargs}, "batch": B, "seq": S, "double_quant": [true, false],
"targets": [...], "r": 8}``: one run per ``double_quant`` value, in one process. Builds the tiny Llama in bf16, swaps every ``nn.Linear`` but
``lm_head`` for ``bnb.nn.Linear4bit`` (NF4, bf16 compute; quantized by ``Params4bit.to('cpu')``),
wraps it with PEFT's LoRA (its bnb 4-bit layer), runs one bf16 forward and backward. Prints
``{"runs": [{"double_quant", "weight_bytes", "constant_bytes", "saved_bytes", "matmul4bit_nodes",
"matmul4bit_saves_input", "lora_grads"}, ...]}``.
"""

import json
import sys

import bitsandbytes as bnb
import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, LlamaConfig


def quantize(model, double_quant: bool) -> None:
    for name, module in list(model.named_modules()):
        for child_name, child in list(module.named_children()):
            if type(child) is torch.nn.Linear and child_name != "lm_head":
                q = bnb.nn.Linear4bit(child.in_features, child.out_features, bias=child.bias is not None,
                                      compute_dtype=torch.bfloat16, compress_statistics=double_quant,
                                      quant_type="nf4", device="meta")
                q.weight = bnb.nn.Params4bit(child.weight.data.to(torch.bfloat16), requires_grad=False,
                                             compress_statistics=double_quant, quant_type="nf4")
                q.to("cpu")
                setattr(module, child_name, q)


def state_bytes(model) -> tuple[int, int]:
    weights = constants = 0
    for p in model.parameters():
        weights += p.untyped_storage().nbytes()
        state = getattr(p, "quant_state", None)
        if state is not None:
            constants += state.absmax.untyped_storage().nbytes() + 4 * (state.offset is not None)
            if state.state2 is not None:
                constants += state.state2.absmax.untyped_storage().nbytes()
    for b in model.buffers():
        weights += b.untyped_storage().nbytes()
    return weights, constants


def run(payload: dict, double_quant: bool) -> dict:
    torch.manual_seed(0)
    config = LlamaConfig(**payload["config"])
    model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16, attn_implementation="sdpa")
    quantize(model, double_quant)
    weights, constants = state_bytes(model)
    model = get_peft_model(model, LoraConfig(r=payload["r"], lora_dropout=0.0, target_modules=payload["targets"]))
    model.train()
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        seen[storage.data_ptr()] = max(seen.get(storage.data_ptr(), 0), storage.nbytes())
        return t

    ids = torch.randint(0, config.vocab_size, (payload["batch"], payload["seq"]))
    with torch.autocast("cpu", dtype=torch.bfloat16), torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = model(input_ids=ids, labels=ids)
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    nodes, saves_input, stack, visited, alive = 0, False, [out.loss.grad_fn], set(), []
    while stack:
        fn = stack.pop()
        if fn is None or id(fn) in visited:
            continue
        visited.add(id(fn))
        alive.append(fn)  # keeps the wrapper alive so its id is not reused
        if type(fn).__name__ == "MatMul4BitBackward":
            nodes += 1
            a, b = fn.tensors
            saves_input = saves_input or a is not None
            assert b is None or b.untyped_storage().data_ptr() in params  # only the packed weight it holds
        stack.extend(f for f, _ in fn.next_functions)
    out.loss.backward()
    lora_grads = all(p.grad is not None for n, p in model.named_parameters() if "lora_" in n)
    return {"double_quant": double_quant, "weight_bytes": weights, "constant_bytes": constants,
            "saved_bytes": sum(n for ptr, n in seen.items() if ptr not in params),
            "matmul4bit_nodes": nodes, "matmul4bit_saves_input": saves_input, "lora_grads": lora_grads}


def main() -> None:
    payload = json.loads(sys.stdin.read())
    print(json.dumps({"runs": [run(payload, dq) for dq in payload["double_quant"]]}))


main()
