"""SGLang 0.5.23: what ``--enable-lora`` does with the adapter.

SGLang reads only ``target_modules``, ``r``, ``lora_alpha`` and ``use_dora`` from adapter_config.json
(``sglang/srt/lora/lora_config.py`` ``LoRAConfig.__init__``); everything else PEFT wrote is ignored,
so rsLoRA, rank/alpha patterns and ``modules_to_save`` are judged by what the tensors become.
Rules marked *deduced* follow the code path past one function.
"""

from __future__ import annotations

import transformers

from . import sglang_archs
from .adapter import Adapter
from .verdict import Finding, Verdict, source_of, verdict_of

VERSION = "0.5.23"
NAME_MAP = {"q_proj": "qkv_proj", "k_proj": "qkv_proj", "v_proj": "qkv_proj", "gate_proj": "gate_up_proj",
            "up_proj": "gate_up_proj", "vocab_emb": "embed_tokens", "embeddings": "embed_tokens",
            "word_embeddings": "embed_tokens", "output": "lm_head", "unembed_tokens": "lm_head",
            "q_a_proj": "fused_qkv_a_proj_with_mqa", "kv_a_proj_with_mqa": "fused_qkv_a_proj_with_mqa"}
SIZED = frozenset({"qkv_proj", "o_proj", "gate_up_proj", "down_proj", "fused_qkv_a_proj_with_mqa", "q_b_proj",
                   "kv_b_proj", "embed_tokens", "lm_head"})


def normalized(leaf: str) -> str:
    """`sglang/srt/lora/utils.py` `get_normalized_target_modules`: ``q_proj -> qkv_proj``, prefixes dropped."""
    return NAME_MAP.get(leaf, leaf)


def rule_registry(a: Adapter) -> list[Finding]:
    """`sglang/srt/model_loader/utils.py` `resolve_transformers_arch` (architectures without an SGLang model class, --model-impl auto).

    ``get_model_architecture`` sends an architecture no ``EntryClass`` registers to
    ``resolve_transformers_arch``: a class transformers lacks, or one whose ``is_backend_compatible()``
    is false, raises; otherwise SGLang runs the Transformers backend (``sglang/srt/models/transformers.py``).
    """
    arch = a.model.arch
    if not arch or arch in sglang_archs.REGISTERED:
        return []
    cls = getattr(transformers, arch, None) if arch.isidentifier() else None
    if cls is None:
        msg = (f"Cannot find model module. '{arch}' is not a registered model in the Transformers library (only "
               "relevant if the model is meant to be in Transformers) and 'AutoModel' is not present in the model "
               "config's 'auto_map' (relevant if the model is custom).")
        return [Finding("refuses", f"SGLang cannot run {arch}: no SGLang model class and no transformers class "
                        "of that name.", source_of(rule_registry), msg)]
    if not cls.is_backend_compatible():
        msg = f"{arch} has no SGlang implementation and the Transformers implementation is not compatible with SGLang."
        return [Finding("refuses", f"SGLang cannot run {arch}: it has no SGLang model class and the transformers "
                        "class does not support custom attention backends (_supports_attention_backend=False); "
                        "--model-impl transformers only moves the refusal to TransformersBase.__init__.",
                        source_of(rule_registry), msg)]
    return [Finding("note", f"{arch} has no SGLang model class: SGLang falls back to its Transformers backend "
                    "(chosen by the default --model-impl auto, no flag), which replaces the linear layers with "
                    "SGLang's, so LoRA wraps them by name. Not checked: which modules that backend wraps, and "
                    "whether it runs this model end to end.", source_of(rule_registry))]


def rule_dora(a: Adapter) -> list[Finding]:
    """`sglang/srt/lora/lora_manager.py` `LoRAManager.validate_new_adapter` (DoRA)."""
    if not a.cfg("use_dora"):
        return []
    return [Finding("refuses", "SGLang does not serve DoRA adapters.", source_of(rule_dora),
                    "Failed to load ADAPTER because LoRA serving currently doesn't support DoRA adapters")]


def rule_target_string(a: Adapter) -> list[Finding]:
    """`sglang/srt/lora/utils.py` `get_normalized_target_modules` (a string other than all/all-linear, i.e. a regex)."""
    tm = a.cfg("target_modules")
    if isinstance(tm, str) and tm not in ("all", "all-linear", "(plan)"):
        return [Finding("refuses", "target_modules is a regular expression; SGLang only accepts a list of "
                        "names or 'all-linear'.", source_of(rule_target_string),
                        "Only 'all' or 'all-linear' can be used as the string for target module")]
    if a.config is not None and not tm and a.cfg("target_parameters"):
        return [Finding("refuses", "target_modules is empty (the adapter only has target_parameters); SGLang "
                        "cannot infer its LoRA modules.", source_of(rule_target_string),
                        "SGLang currently only supports inferring LoRA target modules when a list of "
                        "suffixes is provided in `target_modules` field of PEFT config.")]
    return []


def _module_units(a: Adapter):
    """Units that are modules (Linear, Conv1D, Embedding), not parameters."""
    k = a.u.kind
    return (k == "linear") | (k == "conv1d") | (k == "embedding")


def configured_names(a: Adapter) -> set[str] | None:
    """Normalised ``target_modules`` of the config; of the plan's units without one or for ``all-linear``
    (`auto_detect_lora_target_modules` keeps only known names, the other tensors then fail at first use); ``None`` for a regex."""
    tm = a.cfg("target_modules")
    if a.config is not None and isinstance(tm, (list, tuple)):
        return {normalized(str(t).rpartition(".")[2]) for t in tm}
    if a.config is not None and tm not in ("all", "all-linear"):
        return None
    return {normalized(leaf) for leaf in set(a.u.leaf_names(_module_units(a)))}


def rule_hidden_dim(a: Adapter) -> list[Finding]:
    """`sglang/srt/lora/utils.py` `get_default_hidden_dim` (target names SGLang cannot size break server start).

    It also sizes ``qkv_proj``/``o_proj`` from ``config.head_dim``, which transformers 5 leaves ``None``
    when config.json omits it (Mixtral): a TypeError at start (replayed with our config; deduced for
    SGLang's own config loading, which pins transformers 5.19).
    """
    names = configured_names(a)
    sized = SIZED - ({"qkv_proj", "o_proj"} if a.model.head_dim_unset else set())
    bad = sorted((names or set()) - sized)
    if not bad:
        return []
    hit = a.u.leaf_in([leaf for leaf in a.u.model.leaves if normalized(leaf) in bad]) & _module_units(a)
    modules, params = a.where(hit)
    return [Finding("refuses", f"SGLang has no LoRA sizing for {', '.join(bad)} ({len(modules)} units); the server "
                    "fails to start with this adapter.", source_of(rule_hidden_dim),
                    f"get_hidden_dim not implemented for {bad[0]}", modules=modules, params=params)]


def rule_parameters(a: Adapter) -> list[Finding]:
    """`sglang/srt/lora/mem_pool.py` `LoRAMemoryPool.load_lora_weight_to_buffer` (PEFT target_parameters tensors match no target; deduced)."""
    if a.empty:
        return []
    par = (a.u.kind == "expert-parameter") | (a.u.kind == "parameter")
    if not par.any():
        return []
    names, params = a.where(par)
    return [Finding("refuses", f"{len(names)} parameter LoRAs (fused experts or router, PEFT's target_parameters "
                    "layout) match no SGLang target module: the first request using the adapter fails.",
                    source_of(rule_parameters), "Cannot find target module name for ...", modules=names, params=params)]


def rule_rslora(a: Adapter) -> list[Finding]:
    """`sglang/srt/lora/lora.py` `LoRAAdapter.__init__` (scaling is always lora_alpha / r)."""
    if not a.cfg("use_rslora") or a.empty:
        return []
    names, params = a.where(a.u.rank > 0)
    r = a.max_rank
    return [Finding("differs", f"rsLoRA: SGLang scales by alpha/r instead of alpha/sqrt(r), so the update is "
                    f"sqrt(r) = {r ** 0.5:.2f}x too weak at r={r} (sglang#40835).", source_of(rule_rslora),
                    modules=names, params=params)]


def rule_patterns(a: Adapter) -> list[Finding]:
    """`sglang/srt/lora/mem_pool.py` `LoRAMemoryPool.load_lora_weight_to_buffer` (buffers sliced to config r; alpha_pattern never read; deduced)."""
    if a.empty:
        return []
    out = []
    r, alpha = int(a.cfg("r") or 0), float(a.cfg("lora_alpha") or 0)
    off_rank = a.u.rank != r
    if off_rank.any():
        names, params = a.where(off_rank)
        out.append(Finding("refuses", f"{len(names)} units have a rank other than r={r} (rank_pattern); SGLang "
                           "sizes every buffer to r and fails at the first request.", source_of(rule_patterns),
                           "LoRA buffer shape ... does not match weight shape ...", modules=names, params=params))
    off_alpha = (a.u.alpha != alpha) & ~off_rank
    if off_alpha.any():
        names, params = a.where(off_alpha)
        out.append(Finding("differs", f"{len(names)} units have their own alpha (alpha_pattern), which SGLang "
                           f"ignores: it scales them by {alpha:g}/r.", source_of(rule_patterns),
                           modules=names, params=params))
    return out


def rule_saved_and_bias(a: Adapter) -> list[Finding]:
    """`sglang/srt/lora/lora.py` `LoRAAdapter._process_weight` (full modules_to_save copies, lora_B.bias; deduced)."""
    out = []
    head = {m: n for m, n in a.saved.items() if m.rpartition(".")[2] in ("lm_head", "embed_tokens")}
    if head:
        out.append(Finding("ignores", f"modules_to_save copies of {', '.join(head)} ({sum(head.values()):,} "
                           "parameters) are never loaded.", source_of(rule_saved_and_bias),
                           modules=tuple(head), params=sum(head.values())))
    other = {m: n for m, n in a.saved.items() if m not in head}
    if other:
        out.append(Finding("refuses", f"modules_to_save copies of {', '.join(other)} match no target: the first "
                           "request fails.", source_of(rule_saved_and_bias), "Cannot find target module name for ...",
                           modules=tuple(other), params=sum(other.values())))
    if a.cfg("lora_bias"):
        out.append(Finding("refuses", "lora_bias tensors (lora_B.bias) are loaded as B weights and fail the "
                           "buffer shape check at the first request.", source_of(rule_saved_and_bias),
                           "LoRA buffer shape ... does not match weight shape ..."))
    return out


def rule_vision(a: Adapter) -> list[Finding]:
    """`sglang/srt/lora/lora_manager.py` `LoRAManager.init_lora_modules` (only language-model layers are wrapped)."""
    if a.empty:
        return []
    vis = a.u.vision
    if not vis.any():
        return []
    names, params = a.where(vis)
    return [Finding("ignores", f"{len(names)} vision tower/projector units ({params:,} parameters) are never "
                    "wrapped by SGLang.", source_of(rule_vision), modules=names, params=params)]


RULES = (rule_registry, rule_dora, rule_target_string, rule_hidden_dim, rule_parameters, rule_rslora, rule_patterns,
         rule_saved_and_bias, rule_vision)


def judge(a: Adapter) -> Verdict:
    """SGLang 0.5.23's verdict on ``a``."""
    return verdict_of("sglang", VERSION, [f for rule in RULES for f in rule(a)])
