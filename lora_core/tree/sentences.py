"""What adapting each block of a layer changes, in one sentence: the product's own words.

Drawn from the guidance in the shared reference (the LoRA paper's Q,V result, QLoRA's "all
linear layers", "LoRA Learns Less and Forgets Less", "LoRA Without Regret"), keyed by the
diagram's block kinds.
"""

from __future__ import annotations

SENTENCES: dict[str, str] = {
    "q": "Q is what each token looks for; adapting it changes which tokens a token attends to. "
         "With V it is the classic rank-8 start (LoRA paper, Table 5).",
    "k": "K is what each token offers to be found by; adapting it changes matching much as Q does, "
         "which is why the classic plan leaves it out.",
    "v": "V is what a token passes on once attended to; adapting it changes the content attention "
         "carries. With Q it is the classic rank-8 start.",
    "o": "O mixes the heads back into the residual stream; adapting it changes how attention's "
         "result is written back.",
    "qkv": "One matrix computes Q, K and V together: LoRA adapts it whole, so a Q,V plan trains "
           "the K part here too.",
    "q_a": "MLA first compresses the query into a small latent; adapting it changes what every "
           "head looks for, at little cost.",
    "q_b": "MLA expands the query latent into the heads; adapting it changes what each head "
           "looks for.",
    "kv_a": "MLA compresses keys and values into the small latent that is cached per token; "
            "adapting it changes what the cache holds.",
    "kv_b": "MLA expands the cached latent into per-head keys and values; adapting it changes "
            "both without changing the cache.",
    "gate": "The gate picks which FFN features fire for a token; the FFN holds most of a "
            "layer's weights and much of what the model knows.",
    "up": "Up lifts a token into the FFN's wide feature space; adapting it (with gate and down) "
          "is what knowledge, style, code or math need (QLoRA; LoRA Without Regret).",
    "gate_up": "Gate and up fused in one matrix: adapting it changes which features fire and how "
               "strongly, for every token the block sees.",
    "down": "Down writes the FFN's features back to the residual stream; adapting it completes "
            "an FFN adapter, where most of a layer's weights are.",
    "router": "The router picks each token's experts; adapting it changes the routing itself "
              "and can unbalance the experts.",
    "experts": "Routed experts hold most of an MoE model's weights; PEFT gives every expert its "
               "own LoRA, so the count grows with the number of experts.",
    "shared": "The shared expert sees every token; adapting it changes all tokens at a dense "
              "FFN's cost.",
    "scores": "Attention scores and their softmax have no weights: nothing to adapt here.",
    "cross": "Cross-attention reads the encoder's output: K and V come from the input text, Q "
             "from what is being generated.",
    "activation": "The activation has no weights: nothing to adapt here.",
    "norm": "Norms hold a few scale weights that LoRA does not adapt.",
    "residual": "The residual add keeps the layer's input: an adapter only nudges the stream.",
    "embedding": "The embedding maps tokens to vectors; adapting it (a LoRA on the lookup table) helps "
                 "new tokens or a new script more than a new task.",
    "head": "The output head maps the stream back to tokens; PEFT's all-linear leaves it out, and "
            "adapting it changes every next-token score directly.",
    "vision": "The vision tower turns image patches into tokens; plans adapt the language model "
              "only unless their scope includes vision.",
    "projector": "The projector maps image features into the language model's space.",
    "encoder": "The encoder's output: what every decoder layer's cross-attention reads.",
}
