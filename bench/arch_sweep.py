"""Every architecture transformers registers: inspected, planned, exported and applied with PEFT.

Run: ``PYTHONPATH=. .venv/bin/python bench/arch_sweep.py [--write-docs] [--only TYPE ...]``.
It prints the pass rate per task class (with the load average and wall time) and, with
``--write-docs``, writes ``docs/architectures.md`` (model type -> result). ``tests/model/test_arch_sweep.py``
runs the same :func:`run_type` over the same types and pins the result against :data:`SKIP`.

Each model type's config class is built with its defaults and cut to 2 layers per stack (every
layer count it has, nested text/vision/audio/encoder configs included; per-layer lists such as
``layer_types`` or Gemma-3n's ``intermediate_size`` keep their first and last entries), serialised
to a config dict and opened the way an uploaded ``config.json`` is (``sources.config_from_dict``,
size guards included), then built on the meta device and inventoried. Widths stay at their
defaults: on the meta device they cost nothing, and shrinking them breaks the divisibility rules
many configs check. Each plan of :data:`PLANS` is exported with ``to_lora_config`` and applied by
``verify`` (``get_peft_model(..., low_cpu_mem_usage=True)`` on a fresh skeleton): counts and
wrapped sets must be equal.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import transformers
from transformers import CONFIG_MAPPING, AutoModelForCausalLM, PretrainedConfig
from transformers.models.auto import modeling_auto as ma

from lora_core.model import open_model, skeleton, sources
from lora_core.errors import InputError
from lora_core.planning import Plan, Target
from lora_core.planning.verify import verify

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "architectures.md"
LAYERS = 2
LAYER_KEYS = ("num_hidden_layers", "num_layers", "n_layer", "n_layers", "num_decoder_layers",
              "num_encoder_layers", "encoder_layers", "decoder_layers")
# Leading dense layers of an MoE model (DeepSeek-V3's 3, LFM2-MoE's 2): cut to 1, so that the 2
# kept layers hold a dense FFN and the routed experts.
DENSE_PREFIX_KEYS = ("first_k_dense_replace", "num_dense_layers")
# Task classes swept, in order: a type registered for several is counted under the first.
# transformers 5 has no separate vision-to-sequence mapping: those models are image-text-to-text.
TASK_MAPPINGS: dict[str, str] = {
    "causal-lm": "MODEL_FOR_CAUSAL_LM_MAPPING_NAMES",
    "seq2seq-lm": "MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES",
    "masked-lm": "MODEL_FOR_MASKED_LM_MAPPING_NAMES",
    "image-text-to-text": "MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES",
    "vision-to-sequence": "MODEL_FOR_VISION_2_SEQ_MAPPING_NAMES",
    "speech-seq2seq": "MODEL_FOR_SPEECH_SEQ_2_SEQ_MAPPING_NAMES",
}
PLANS: dict[str, Plan] = {
    "q/v r8": Plan((Target("q", 8), Target("v", 8))),
    "attention r8 + ffn r4": Plan((Target("attention", 8), Target("ffn", 4))),
    "all-linear r16 layer 1": Plan((Target("all-linear", 16),), layers=(1,)),
    "experts r4": Plan((Target("experts", 4),)),
}
MOE_ONLY = frozenset({"experts r4"})

# Model types that do not pass, with the reason, checked against transformers 5.23 / PEFT 0.21.
# DEFAULT_UNBUILDABLE: transformers itself cannot build the type, from its default config or from
# any config its checks accept (checked live by :func:`transformers_builds_default`, at full depth,
# without this tool). Types whose default only lacks a field a checkpoint sets are not listed
# here: :data:`CONFIG_OVERRIDES` sets that field and they are swept.
_ALL_KV_SHARED = ("transformers cannot build the shape its config documents: an assistant's every "
                  "text layer reuses the target model's KV cache (its config sets num_kv_shared_layers "
                  "= num_hidden_layers; gemma4_assistant's validator requires it), and the text config's "
                  "kv_sharing_modes raises when no layer produces a cache ('The set of layer types "
                  "producing a cache is different ...')")
DEFAULT_UNBUILDABLE: dict[str, str] = {
    "gemma4_assistant": _ALL_KV_SHARED,
    "gemma4_unified_assistant": _ALL_KV_SHARED,
}
# Qwen/Qwen4-Exp config.json text_config (as quoted in public code): the QSA indexer of its
# indexed-attention layers, which the default leaves None although its layer types use it.
_QSA_INDEXER = {"indexer_n_heads": 4, "indexer_kv_heads": 1, "indexer_head_dim": 128,
                "indexer_budget": 2048, "indexer_compress_ratio": 4}
# Per-type config overrides, applied to the default config before the 2-layer cut (and in
# :func:`transformers_builds_default` with ``overrides=True``): only the fields transformers'
# default leaves unset or inconsistent, which every real checkpoint's config.json sets. The sweep
# tests the architecture, not transformers' defaults. Each value's source is given: a checkpoint's
# config.json is the Hub file as quoted in public code (the Hub is unreachable here), else the
# config class's documentation or transformers' documented default. A test checks
# that the plain default still fails in transformers for every type listed here (so the override
# stays needed) and that transformers builds the overridden default at full depth.
CONFIG_OVERRIDES: dict[str, dict] = {
    # SigLIP so400m-patch14-384, Aya Vision's tower: hidden 1152 with 16 heads (its public
    # config.json); the default says 14, which does not divide 1152.
    "aya_vision": {"vision_config": {"num_attention_heads": 16}},
    # The tokenizer's special-token map (a checkpoint ships the whole vocabulary); only the ids the
    # model reads at build time. No module or size depends on them. 8711 is chameleon-7b's
    # "<image>" (vLLM's chameleon.py: CHAMELEON_IMAGE_TOKEN_ID = 8711).
    "chameleon": {"vocabulary_map": {"<image>": 8711}},
    # One RoPE entry per layer type, as the rotary module reads them; rope_theta 10000 is
    # transformers' documented default (modeling_rope_utils). No public config found offline.
    "cohere_compass": {"text_config": {"rope_parameters": {
        "full_attention": {"rope_type": "default", "rope_theta": 10000.0},
        "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}}}},
    "cohere_compass_text": {"rope_parameters": {
        "full_attention": {"rope_type": "default", "rope_theta": 10000.0},
        "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}}},
    # databricks/dbrx-instruct config.json: attn_config {"clip_qkv": 8, "kv_n_heads": 8,
    # "rope_theta": 500000} (quoted in ggml-org/llama.cpp's DBRX support issue).
    "dbrx": {"attn_config": {"rope_theta": 500000.0}},
    # DeepseekOcr2TextConfig's docstring: mlp_layer_types is one "dense" / "sparse" per layer,
    # e.g. ["dense", "sparse", "sparse", ...]; num_experts_per_tok 6 is DeepSeek-V2-Lite's (the
    # language model it builds on), not checked against DeepSeek-OCR-2's own file.
    "deepseek_ocr2": {"text_config": {"mlp_layer_types": ["dense"] + ["sparse"] * 31,
                                      "num_experts_per_tok": 6}},
    # google/diffusiongemma-26B-A4B-it config.json text_config: 128 experts, top 8, 704 wide.
    "diffusion_gemma": {"text_config": {"num_experts": 128, "top_k_experts": 8,
                                        "moe_intermediate_size": 704}},
    # rednote-hilab/dots.llm1.inst config.json: 128 routed experts, 6 per token, 2 shared.
    "dots1": {"n_routed_experts": 128, "num_experts_per_tok": 6, "n_shared_experts": 2},
    # As chameleon: the special-token ids the model reads when built. Placeholders (Emu3-Chat's
    # own ids were not found offline); no module or size depends on them.
    "emu3": {"vocabulary_map": {"<image>": 151851, "<|extra_200|>": 151846}},
    # facebook/musicgen-small config.json (and every MusicGen checkpoint) names its class: the
    # text-to-audio model (T5 text encoder, EnCodec, decoder), not the decoder-only causal LM.
    "musicgen": {"architectures": ["MusicgenForConditionalGeneration"]},
    "musicgen_melody": {"architectures": ["MusicgenMelodyForConditionalGeneration"]},
    # A granite-vision-4 checkpoint's config.json: four deepstack projectors (vision layer -> LLM
    # layer) and the Window Q-Former's downsample rate; the default leaves both None.
    "granite4_vision": {"deepstack_layer_map": [[-19, 9], [-13, 6], [-7, 3], [-1, 0]],
                        "downsample_rate": "4/8"},
    # LiquidAI/LFM2-8B-A1B config.json: 24 layers, attention at 2, 6, 10, 14, 18, 21, conv elsewhere.
    "lfm2_moe": {"num_hidden_layers": 24, "layer_types": [
        "full_attention" if i in (2, 6, 10, 14, 18, 21) else "conv" for i in range(24)]},
    # The decoder's attention reads num_key_value_heads, which the config class does not declare:
    # 8 = its num_attention_heads (plain multi-head), as MoonshineStreamingEncoderConfig's default.
    "moonshine_streaming": {"num_key_value_heads": 8},
    # Qwen/Qwen4-Exp config.json text_config: the QSA indexer (above), and its partial rotary
    # factor 0.25, which makes the RoPE dimensions fit the 128-wide index head.
    "qwen4_exp": {"text_config": {"rope_parameters": {"partial_rotary_factor": 0.25}, **_QSA_INDEXER}},
    "qwen4_exp_text": {"rope_parameters": {"partial_rotary_factor": 0.25}, **_QSA_INDEXER},
}


def _merge(base: dict, over: dict) -> dict:
    """``base`` with ``over`` merged in, nested dicts merged key by key (a new dict)."""
    out = dict(base)
    for key, value in over.items():
        nested = isinstance(value, dict) and isinstance(base.get(key), dict) and not key.endswith("_map")
        out[key] = _merge(base[key], value) if nested else value
    return out


def default_config(model_type: str, overrides: bool = True) -> PretrainedConfig:
    """The type's default config, with its :data:`CONFIG_OVERRIDES` (unless ``overrides`` is false)."""
    cls = CONFIG_MAPPING[model_type]
    over = CONFIG_OVERRIDES.get(model_type) if overrides else None
    if not over:
        return cls()
    try:
        base = cls().to_dict()
    except Exception:  # noqa: BLE001 - a default that fails its own validation: the class's field defaults
        base = {}
    return cls.from_dict(_merge(base, over))


# The rest: the model needs something this install cannot have, or PEFT itself cannot wrap it.
SKIP: dict[str, str] = {
    **DEFAULT_UNBUILDABLE,
    "fast_vlm": "vision tower is a TimmWrapperModel: needs timm, which imports torchvision "
                "(timm/layers/create_norm.py); PyPI's torchvision 0.29 requires torch>=2.14, not our 2.13",
    "gemma3n": "vision tower is a TimmWrapperModel: needs timm, which imports torchvision; PyPI's "
               "torchvision 0.29 requires torch>=2.14, not our 2.13 (gemma3n_text, its language model, passes)",
    "perception_lm": "vision tower is a TimmWrapperModel: needs timm, which imports torchvision; PyPI's "
                     "torchvision 0.29 requires torch>=2.14, not our 2.13",
    "pp_formulanet": "PEFT itself cannot wrap it: get_peft_model calls get_input_embeddings, which "
                     "PPFormulaNetModel does not implement (NotImplementedError); inspect works",
}


def transformers_builds_default(model_type: str, overrides: bool = False) -> bool:
    """Whether transformers builds the type's default config (unmodified, or with its
    :data:`CONFIG_OVERRIDES`) at full depth on meta, without this tool's code."""
    import torch

    try:
        config = default_config(model_type, overrides)
        auto_cls = skeleton.pick_auto_class(config)[0]
        with torch.device("meta"):
            auto_cls.from_config(config)
    except Exception:  # noqa: BLE001 - any failure means transformers cannot build its own default
        return False
    return True


def sweep_types() -> dict[str, str]:
    """Every model type with a class in one of :data:`TASK_MAPPINGS`: type -> task class, the
    class the skeleton is built with (``skeleton.AUTO_CLASSES``' preference: BART is seq2seq)."""
    registered: dict[str, list[str]] = {}
    for task, attr in TASK_MAPPINGS.items():
        for model_type in getattr(ma, attr, {}):
            registered.setdefault(model_type, []).append(task)
    by_mapping = {id(mapping): task for task, attr in TASK_MAPPINGS.items()
                  if (mapping := getattr(ma, attr, None)) is not None}
    built = [by_mapping.get(id(mapping)) for _, mapping, _ in skeleton.AUTO_CLASSES]
    return {t: next((b for b in built if b in tasks), tasks[0]) for t, tasks in sorted(registered.items())}


def _complete(d: dict) -> dict:
    """Fields a real checkpoint always sets but some default configs leave ``None``."""
    fixes = {}
    heads, hidden = d.get("num_attention_heads"), d.get("hidden_size")
    if "head_dim" in d and d["head_dim"] is None and isinstance(heads, int) and heads and isinstance(hidden, int):
        fixes["head_dim"] = hidden // heads
    if "num_key_value_heads" in d and d["num_key_value_heads"] is None and isinstance(heads, int):
        fixes["num_key_value_heads"] = heads
    if "vocab_size" in d and d["vocab_size"] is None:
        fixes["vocab_size"] = 1024
    return fixes


def shrink(config: PretrainedConfig, depth: int = 0) -> None:
    """Cut ``config`` (and its nested configs) to ``LAYERS`` layers, in place.

    Per-layer lists (``layer_types``, per-layer sizes) keep their first and last entries, so a
    hybrid keeps both kinds of layer; layers sharing another's cache (``num_kv_shared_layers``)
    become 0; a dense prefix (:data:`DENSE_PREFIX_KEYS`) becomes 1 layer.
    """
    d = config.__dict__  # not getattr: per-layer configs refuse ambiguous global reads
    old = set()
    for key in LAYER_KEYS:
        value = d.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > LAYERS:
            old.add(value)
            setattr(config, key, LAYERS)
    for key, value in list(d.items()):
        if isinstance(value, (list, tuple)) and len(value) in old:
            last = [LAYERS - 1 if v == len(value) - 1 and isinstance(v, int) else v for v in value[-1:]]
            setattr(config, key, type(value)([value[0], *last]))  # a layer index list stays in range
        elif isinstance(value, int) and "shared_layers" in key:
            setattr(config, key, 0)
        elif key in DENSE_PREFIX_KEYS and isinstance(value, int) and old and value > LAYERS - 1:
            setattr(config, key, LAYERS - 1)  # keep one dense layer and one MoE layer
        elif "feature_layer" in key:  # vision layers a projector reads: count from the end instead
            setattr(config, key, _from_the_end(value))
        elif isinstance(value, PretrainedConfig) and depth < 3:
            shrink(value, depth + 1)
    for key, value in _complete(d).items():
        setattr(config, key, value)


def _from_the_end(value: object) -> object:
    """Layer indices (``24`` or ``[24, 18]``) outside ``LAYERS`` layers as ``-1``, ``-2``, ..."""
    if isinstance(value, int) and not isinstance(value, bool) and not -LAYERS <= value < LAYERS:
        return -1
    if isinstance(value, list) and any(isinstance(v, int) and not -LAYERS <= v < LAYERS for v in value):
        return [-1 - i for i in range(min(len(value), LAYERS))]
    return value


def _cut_per_layer_configs(d: dict, original: dict) -> None:
    """Re-key ``per_layer_config`` (overrides by layer index, ``{'05': {...}, '29': {...}}``) to
    the kept layers: the first layer stays 0, the last becomes ``LAYERS - 1``; in place."""
    for key, value in d.items():
        if isinstance(value, dict) and isinstance(original.get(key), dict):
            _cut_per_layer_configs(value, original[key])
    per_layer, n = d.get("per_layer_config"), original.get("num_hidden_layers")
    if isinstance(per_layer, dict) and isinstance(n, int) and n > LAYERS:
        keep = {0: 0, n - 1: LAYERS - 1}
        d["per_layer_config"] = {str(keep[int(k)]).zfill(len(str(k))): v for k, v in per_layer.items()
                                 if int(k) in keep}


def shrunk_config(model_type: str, cut: bool = True) -> PretrainedConfig:
    """The default config of ``model_type`` cut to 2 layers (unless ``cut`` is false), reopened
    from its dict as an uploaded ``config.json`` is (``sources.config_from_dict``)."""
    config = default_config(model_type)
    if cut:
        shrink(config)
    else:
        for key, value in _complete(config.__dict__).items():
            setattr(config, key, value)
    if skeleton.pick_auto_class(config)[0] is AutoModelForCausalLM:
        config.is_decoder = True  # as every causal-LM checkpoint of a BERT-style model says
    try:
        d = config.to_dict()
        if cut:
            _cut_per_layer_configs(d, default_config(model_type).to_dict())
        return sources.config_from_dict(d, "config.json")
    except InputError:
        raise
    except Exception:  # noqa: BLE001 - a default config that does not round-trip: sweep it as built
        return config


@dataclass(frozen=True)
class TypeResult:
    """What one model type gave: inspection, then each plan's outcome.

    Attributes:
        model_type, task: the type and the task class it was swept under.
        error: why it could not be opened (``None`` when inspected).
        rows: its inventory; numel: ``sum(p.numel())`` of the skeleton (for the totals check).
        plans: plan name -> ``"ok"``, ``"n/a: <message>"`` (the tool refuses the plan with a
            clear ``error: field: message``, e.g. q/v on an attention-free model) or
            ``"FAIL: <diff or traceback>"``.
    """

    model_type: str
    task: str
    error: str | None = None
    rows: pd.DataFrame | None = field(default=None, repr=False)
    numel: int = 0
    plans: dict[str, str] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """Opened, every plan PEFT-equal or clearly refused, and at least one PEFT-equal."""
        outcomes = self.plans.values()
        return (self.error is None and not any(o.startswith("FAIL") for o in outcomes)
                and any(o == "ok" for o in outcomes))


def _short(e: BaseException) -> str:
    return f"{type(e).__name__}: {str(e)[:240]}"


def run_plan(plan: Plan, config: PretrainedConfig, rows: pd.DataFrame) -> str:
    """One plan on one model: ``ok``, ``n/a: ...`` (clear refusal) or ``FAIL: ...``."""
    try:
        v = verify(plan, rows, lambda: skeleton.build_skeleton(config))
    except InputError as e:
        return f"n/a: {e}"
    except Exception as e:  # noqa: BLE001 - any other exception is a traceback a user would see
        return f"FAIL: {_short(e)}"
    return "ok" if v.ok else "FAIL: " + "; ".join(v.diff[:3])


def run_type(model_type: str, task: str = "", cut: bool = True, plans: bool = True) -> TypeResult:
    """Open, inspect and (unless ``plans`` is false) plan, export and verify one model type."""
    try:
        config = shrunk_config(model_type, cut)
        opened = open_model(config)
        skel, rows = opened.skeleton, opened.inventory
    except Exception as e:  # noqa: BLE001 - the sweep records every failure by type
        return TypeResult(model_type, task, _short(e))
    numel = sum(p.numel() for p in skel.model.parameters())
    outcomes: dict[str, str] = {}
    if plans:
        moe = bool((rows["group"] == "experts").any())
        for name, plan in PLANS.items():
            if name in MOE_ONLY and not moe:
                continue
            outcomes[name] = run_plan(plan, config, rows)
    return TypeResult(model_type, task, None, rows, numel, outcomes)


def run_sweep(types: dict[str, str] | None = None) -> dict[str, TypeResult]:
    """:func:`run_type` over ``types`` (default: :func:`sweep_types`), warnings silenced."""
    transformers.logging.set_verbosity_error()
    types = sweep_types() if types is None else types
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {t: run_type(t, task) for t, task in types.items()}


def pass_rates(results: dict[str, TypeResult]) -> pd.DataFrame:
    """Per task class: types, passed, types whose default config transformers can build, pass
    rate over all types and over those buildable ones; plus a ``total`` row."""
    df = pd.DataFrame({"task": [r.task for r in results.values()],
                       "passed": [r.passed for r in results.values()],
                       "buildable": [t not in DEFAULT_UNBUILDABLE for t in results]})
    table = df.groupby("task", sort=False).agg(types=("passed", "size"), passed=("passed", "sum"),
                                               buildable=("buildable", "sum"))
    table.loc["total"] = [len(df), int(df["passed"].sum()), int(df["buildable"].sum())]
    table["rate"] = table["passed"] / table["types"]
    table["rate_buildable"] = table["passed"] / table["buildable"].where(table["buildable"] > 0)
    return table.astype({"types": int, "passed": int, "buildable": int})


def _cell(outcome: str | None) -> str:
    if outcome is None:
        return "–"
    if outcome == "ok":
        return "✅"
    return ("n/a" if outcome.startswith("n/a") else "❌")


def _reason(r: TypeResult) -> str:
    if not r.passed and r.model_type in SKIP:
        return SKIP[r.model_type].replace("|", "\\|")
    if r.error is not None:
        return r.error.replace("|", "\\|").replace("\n", " ")
    notes = [f"{p}: {o.split(': ', 1)[1]}" for p, o in r.plans.items() if o != "ok"]
    return "; ".join(notes).replace("|", "\\|").replace("\n", " ")[:300]


def _fields(over: dict, prefix: str = "") -> list[str]:
    """The dotted field names an override sets (``vision_config.num_attention_heads``)."""
    return [f for k, v in over.items()
            for f in (_fields(v, f"{prefix}{k}.") if isinstance(v, dict) and not k.endswith("_map")
                      and k.endswith("_config") else [f"{prefix}{k}"])]


def docs_markdown(results: dict[str, TypeResult]) -> str:
    """``docs/architectures.md``: pass rates, then one row per model type."""
    rates = pass_rates(results)
    lines = [
        "# Which models work",
        "",
        f"Every model type transformers {transformers.__version__} registers for causal LM, seq2seq LM, "
        "masked LM, image-text-to-text and speech seq2seq (transformers 5 has no separate "
        "vision-to-sequence class), each built from its default config cut to 2 layers per stack on the "
        "meta device, inspected, then planned, exported and applied with PEFT "
        "(`get_peft_model(..., low_cpu_mem_usage=True)`): ✅ means the trainable count and the set of "
        "wrapped modules equal PEFT's; n/a means the tool refuses the plan with a clear message "
        "(e.g. q/v on a model without attention), given in the last column; – means not applicable "
        "(experts on a dense model). Generated by `PYTHONPATH=. .venv/bin/python bench/arch_sweep.py "
        "--write-docs`; `tests/model/test_arch_sweep.py` checks the same sweep.",
        "",
        "\"buildable\" leaves out the types transformers itself cannot build (listed below as skipped, "
        "with the reason).",
        "",
        f"{len(CONFIG_OVERRIDES)} types are built with the few fields their default config leaves unset or "
        "inconsistent, set as a public checkpoint's config.json sets them where one was found, else from "
        "the config class's documentation (`CONFIG_OVERRIDES` in `bench/arch_sweep.py`, each with its "
        "source; a test checks that transformers still fails on the "
        "plain default and builds the overridden one): "
        + "; ".join(f"`{t}` ({', '.join(_fields(o))})" for t, o in CONFIG_OVERRIDES.items()) + ".",
        "",
        "| task class | types | passed | rate | buildable defaults | rate over buildable |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    lines += [f"| {r.Index} | {r.types} | {r.passed} | {r.rate:.1%} | {r.buildable} | {r.rate_buildable:.1%} |"
              for r in rates.itertuples()]
    lines += ["", "| model type | task class | result | " + " | ".join(PLANS) + " | notes |",
              "|---|---|---|" + "---|" * len(PLANS) + "---|"]
    for t, r in results.items():
        verdict = "pass" if r.passed else ("skipped" if r.model_type in SKIP else "fail")
        cells = " | ".join(_cell(r.plans.get(p)) if r.error is None else "" for p in PLANS)
        lines.append(f"| `{t}` | {r.task} | {verdict} | {cells} | {_reason(r)} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--write-docs", action="store_true", help=f"write {DOCS.relative_to(ROOT)}")
    p.add_argument("--only", nargs="*", default=None, metavar="TYPE", help="sweep only these types")
    args = p.parse_args(argv)
    types = sweep_types()
    if args.only:
        types = {t: types.get(t, "?") for t in args.only}
    start = time.perf_counter()
    results = run_sweep(types)
    wall = time.perf_counter() - start
    print(pass_rates(results).to_string(formatters={"rate": "{:.1%}".format,
                                                    "rate_buildable": "{:.1%}".format}))
    print(f"\n{len(results)} types in {wall:.1f} s; load average {os.getloadavg()[0]:.2f} "
          f"(1 min) on {os.cpu_count()} cores")
    for t, r in results.items():
        if not r.passed:
            print(f"  {t}: {r.error or {p: o for p, o in r.plans.items() if o != 'ok'}}")
    counts = Counter(o.split(":")[0] for r in results.values() for o in r.plans.values())
    print(f"plan outcomes: {dict(counts)}")
    if args.write_docs:
        DOCS.write_text(docs_markdown(results), encoding="utf-8")
        print(f"wrote {DOCS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
