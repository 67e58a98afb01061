"""vLLM 0.34.0: what ``--enable-lora`` does with the adapter.

Load path (``vllm/lora/worker_manager.py`` ``WorkerLoRAManager._load_adapter``): ``PEFTHelper.from_dict``
then ``validate_legal`` on adapter_config.json, then ``LoRAModel.from_local_checkpoint`` checks every
tensor name (``parse_fine_tuned_lora_name``, ``check_unexpected_modules``), then the model manager
checks the MoE layout and activates the weights. Each rule below names the file and function it
was read from; :func:`legal_message` rebuilds ``validate_legal``'s message exactly (replayed in
``tests/serving/test_serving_replay.py``).
"""

from __future__ import annotations

import numpy as np

from . import vllm_archs as va
from .adapter import PREFIX, Adapter, peft_tensors
from .verdict import Finding, Verdict, source_of, verdict_of
from .vllm_model import backend, rule_arch, rule_backend_model, rule_registry

VERSION = "0.34.0"
MAX_LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)
DEFAULT_MAX_LORA_RANK = 16
_INITS = ("gaussian", "eva", "orthogonal", "mica", "lora_ga")


def feature_errors(a: Adapter) -> list[str]:
    """`vllm/lora/peft_helper.py` `PEFTHelper._validate_features`: the unsupported-feature messages, in order."""
    out = []
    saved = list(a.cfg("modules_to_save") or [])
    if a.cfg("task_type") in ("SEQ_CLS", "TOKEN_CLS"):
        saved = list(dict.fromkeys(saved + ["classifier", "score"]))
    bad = [m for m in saved if m not in ("classifier", "score")]
    if bad:
        out.append('vLLM only supports modules_to_save being either None or ["classifier", "score"] '
                   f"for classification models. Unsupported modules_to_save: {bad}")
    if a.cfg("use_dora"):
        out.append("vLLM does not yet support DoRA.")
    if a.cfg("lora_bias"):
        out.append("vLLM does not support LoRA bias (lora_bias).")
    init = a.cfg("init_lora_weights", True)
    if isinstance(init, str) and init.lower() not in _INITS:
        out.append(f"vLLM does not support init_lora_weights={init!r}. Inits such as PiSSA, OLoRA, CorDA "
                   "and LoftQ modify the base model weights when PEFT loads the adapter. Convert it to a "
                   "regular LoRA adapter with PEFT's path_initial_model_for_weight_conversion, or set "
                   "init_lora_weights to true if the served base model already contains the modified weights.")
    for key, text in (("alora_invocation_tokens", "vLLM does not support Activated LoRA (aLoRA)."),
                      ("layer_replication", "vLLM does not support layer_replication."),
                      ("use_bdlora", "vLLM does not support block-diagonal LoRA (BD-LoRA)."),
                      ("use_qalora", "vLLM does not support QALoRA.")):
        if a.cfg(key):
            out.append(text)
    return out


def config_rank(a: Adapter) -> int:
    """``max(r, *rank_pattern.values())`` as ``validate_legal`` reads it (the plan's largest rank without a config)."""
    if a.config is None:
        return a.max_rank
    return max([int(a.config.get("r") or 0), *[int(v) for v in (a.config.get("rank_pattern") or {}).values()]])


def legal_message(a: Adapter, max_lora_rank: int = DEFAULT_MAX_LORA_RANK) -> str | None:
    """`vllm/lora/peft_helper.py` `PEFTHelper.validate_legal`: its ValueError message, or ``None`` when it passes."""
    errors = feature_errors(a)
    rank = config_rank(a)
    if rank > max_lora_rank:
        errors.append(f"LoRA rank {rank} is greater than max_lora_rank {max_lora_rank}.")
    if (a.cfg("bias") or "none") != "none":
        errors.append("Adapter bias is not supported.")
    return " ".join(errors) or None


def needed_max_rank(a: Adapter) -> int | None:
    """The smallest allowed ``--max-lora-rank`` that fits, ``None`` above 512 (`vllm/config/lora.py` `MaxLoRARanks`)."""
    rank = config_rank(a)
    return next((m for m in MAX_LORA_RANKS if m >= max(rank, DEFAULT_MAX_LORA_RANK)), None)


# ------------------------------------------------------------------ rules


def rule_validate_legal(a: Adapter) -> list[Finding]:
    """`vllm/lora/peft_helper.py` `PEFTHelper.validate_legal` (features, bias, rank against --max-lora-rank)."""
    out = []
    fixed = feature_errors(a) + (["Adapter bias is not supported."] if (a.cfg("bias") or "none") != "none" else [])
    if fixed:
        out.append(Finding("refuses", "vLLM refuses the adapter config: " + " ".join(fixed),
                           source_of(rule_validate_legal), legal_message(a) or ""))
    m = needed_max_rank(a)
    rank = config_rank(a)
    if m is None:
        out.append(Finding("refuses", f"rank {rank} is above 512, the largest --max-lora-rank vLLM accepts.",
                           source_of(rule_validate_legal), legal_message(a, 512) or ""))
    elif rank > DEFAULT_MAX_LORA_RANK:
        out.append(Finding("flag", f"largest rank {rank} is above the default --max-lora-rank 16; without "
                           f"the flag vLLM refuses: \"LoRA rank {rank} is greater than max_lora_rank 16.\"",
                           source_of(rule_validate_legal), flags=(f"--max-lora-rank {m}",)))
    return out


def unsupported_tensor(name: str) -> bool:
    """`vllm/lora/utils.py` `parse_fine_tuned_lora_name` raises "... is unsupported LoRA weight" for it."""
    parts = name.split(".")
    if parts[-1] in ("weight", "bias") and len(parts) >= 2:
        if parts[-2] in ("lora_A", "lora_B") and parts[-1] == "weight":
            return False
        if parts[-2] in ("score", "classifier"):
            return False
    return parts[-1] not in ("lora_embedding_A", "lora_embedding_B")


def skipped_tensor(name: str) -> bool:
    """`vllm/lora/lora_model.py` `check_unexpected_modules`: base embedding copies and `base_layer` names are skipped."""
    return name.endswith((".embed_tokens.base_layer.weight", ".lm_head.base_layer.weight")) or "base_layer" in name


def rule_tensor_names(a: Adapter) -> list[Finding]:
    """`vllm/lora/utils.py` `parse_fine_tuned_lora_name` (called on every tensor by `check_unexpected_modules`)."""
    kasa = a.plan.variant is not None and a.plan.variant.kind == "kasa"
    if not (a.plan.dora or a.plan.lora_bias or a.saved_tensors or kasa):  # only these add non-LoRA tensor names
        return []
    bad = [n for n in peft_tensors(a) if not skipped_tensor(n) and unsupported_tensor(n)]
    if not bad:
        return []
    kinds = sorted({n.rpartition(".")[2] if "lora" in n else "full weight" for n in bad})
    return [Finding("refuses", f"{len(bad)} saved tensors are not LoRA A/B weights ({', '.join(kinds)}), "
                    "which vLLM's name parser refuses.", source_of(rule_tensor_names),
                    f"{bad[0].removeprefix(PREFIX)} is unsupported LoRA weight")]


def expected_modules(a: Adapter) -> frozenset[str] | None:
    """`vllm/lora/worker_manager.py` `WorkerLoRAManager._load_adapter`: leaf names the model accepts (None: not read)."""
    entry = va.LEAVES.get(a.model.arch)
    if entry is None:
        b = backend(a)
        return b.leaves if b is not None and b.error is None else None
    leaves = set(entry[1]) | va.embedding_leaves(a.model.arch)
    if a.model.arch == "Qwen3MoeForCausalLM" and a.model.mlp_only_layers:
        leaves |= {"gate_proj", "up_proj", "down_proj"}
    return frozenset(leaves)


def rule_unexpected_modules(a: Adapter) -> list[Finding]:
    """`vllm/lora/lora_model.py` `LoRAModel.from_local_checkpoint` (`check_unexpected_modules`: leaf names vLLM can wrap)."""
    expected = expected_modules(a)
    if expected is None or a.empty:
        return []
    bad = ~a.u.leaf_in(expected)
    if not bad.any():
        return []
    names, params = a.where(bad)
    got = sorted(set(a.u.leaf_names(bad)))
    msg = (f"While loading ADAPTER, expected target modules in {sorted(expected)} but received "
           f"{list(names[:3])}. Please verify that the loaded LoRA module is correct")
    return [Finding("refuses", f"{a.model.arch} in vLLM has no LoRA layer named {', '.join(got)} "
                    f"({len(names)} units): vLLM refuses the adapter.", source_of(rule_unexpected_modules),
                    msg, modules=names, params=params)]


def rule_moe_layout(a: Adapter) -> list[Finding]:
    """`vllm/lora/model_manager.py` `LoRAModelManager._validate_moe_lora_format` (transformers-5 fused 3D expert LoRA)."""
    if a.empty:
        return []
    experts = a.u.kind == "expert-parameter"
    if not experts.any() or a.model.arch in va.THREE_D_MOE or a.model.arch in va.PATH_MISMATCH:
        return []
    names, params = a.where(experts)
    return [Finding("flag", f"the {len(names)} fused expert LoRA tensors (PEFT's transformers-5 3D layout) need "
                    f"vLLM's mixed MoE format on {a.model.arch}; without it vLLM refuses \"LoRA adapter contains "
                    "fused 3D MoE weights ... but the model uses a 2D MoE LoRA wrapper\". Also set "
                    "is_3d_lora_weight=true on each LoRA request.", source_of(rule_moe_layout),
                    flags=("--enable-mixed-moe-lora-format",), modules=names, params=params)]


def path_mismatch(a: Adapter) -> np.ndarray:
    """Units whose module path vLLM's model names differently (see ``vllm_archs.PATH_MISMATCH``)."""
    frags = va.PATH_MISMATCH.get(a.model.arch)
    if not frags or a.empty:
        return np.zeros(len(a.u.pos), dtype=bool)
    return np.fromiter((any(f in "." + n + "." for f in frags) for n in a.u.module), bool, len(a.u.pos))


def rule_path_mismatch(a: Adapter) -> list[Finding]:
    """`vllm/lora/model_manager.py` `LoRAModelManager.activate_adapter` (only leaf names are validated; other paths never apply; deduced)."""
    hit = path_mismatch(a)
    if not hit.any():
        return []
    names, params = a.where(hit)
    frags = va.PATH_MISMATCH[a.model.arch]
    seen = [f for f in frags if any(f in "." + n + "." for n in a.u.module[hit])]
    return [Finding("ignores", f"{len(names)} units sit under {', '.join(f.strip('.') for f in seen)} (transformers 5 "
                    f"names) where vLLM's {a.model.arch} has {', '.join(frags[f].strip('.') for f in seen)}: "
                    "they load and are never applied (deduced).", source_of(rule_path_mismatch),
                    modules=names, params=params)]


def rule_vision(a: Adapter) -> list[Finding]:
    """`vllm/lora/model_manager.py` `LoRAModelManager._create_lora_modules` (vision tower/connector only with --enable-tower-connector-lora)."""
    if a.empty:
        return []
    vis = a.u.vision & ~path_mismatch(a)
    if not vis.any():
        return []
    names, params = a.where(vis)
    if a.model.arch in va.TOWER:
        return [Finding("flag", f"{len(names)} vision tower/projector units ({params:,} parameters) are ignored "
                        "unless the server runs --enable-tower-connector-lora (experimental).",
                        source_of(rule_vision), flags=("--enable-tower-connector-lora",), modules=names, params=params)]
    return [Finding("ignores", f"{a.model.arch} does not support tower/connector LoRA in vLLM: "
                    f"{len(names)} vision units ({params:,} parameters) are ignored.", source_of(rule_vision),
                    modules=names, params=params)]


def rule_vocab(a: Adapter) -> list[Finding]:
    """`vllm/lora/layers/logits_processor.py` `LogitsProcessorWithLoRA.create_lora_weights` (vocab limit with lm_head LoRA)."""
    if a.model.arch in va.LM_HEAD and a.model.vocab_size > 258048:
        return [Finding("refuses", f"vocabulary {a.model.vocab_size:,} is above 258,048, which vLLM refuses "
                        "once lm_head is a LoRA module (start the server with --lora-target-modules without lm_head).",
                        source_of(rule_vocab), "When using LoRA, vocab size must be <= 258048")]
    return []


RULES = (rule_registry, rule_backend_model, rule_arch, rule_validate_legal, rule_tensor_names, rule_unexpected_modules, rule_moe_layout,
         rule_path_mismatch, rule_vision, rule_vocab)


def judge(a: Adapter) -> Verdict:
    """vLLM 0.34.0's verdict on ``a``."""
    return verdict_of("vllm", VERSION, [f for rule in RULES for f in rule(a)])


