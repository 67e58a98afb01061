"""Every architecture transformers registers: inspected, planned, exported and applied with PEFT.

Run: ``PYTHONPATH=. .venv/bin/python bench/arch_sweep.py [--write-docs] [--only TYPE ...]``.
It prints the pass rate per task class (with the load average and wall time) and, with
``--write-docs``, writes ``docs/architectures.md`` (model type -> result). ``tests/test_arch_sweep.py``
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

from lora_core import inventory, skeleton, sources
from lora_core.errors import InputError
from lora_core.plan import Plan, PlanIndex, Target
from lora_core.verify import verify

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "architectures.md"
LAYERS = 2
LAYER_KEYS = ("num_hidden_layers", "num_layers", "n_layer", "n_layers", "num_decoder_layers",
              "num_encoder_layers", "encoder_layers", "decoder_layers")
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
# DEFAULT_UNBUILDABLE: transformers itself cannot build a model from the type's own default config
# (checked live by :func:`transformers_builds_default`, at full depth, without this tool): a real
# checkpoint's config.json sets the field, and uploading it works; the sweep has nothing to build.
DEFAULT_UNBUILDABLE: dict[str, str] = {
    "aya_vision": "default vision config: embed_dim 1152 is not divisible by num_heads 14",
    "chameleon": "default config has no vocabulary_map (the image-token map comes with a checkpoint)",
    "cohere_compass": "default rope_parameters has no entry per layer type (KeyError 'full_attention')",
    "cohere_compass_text": "default rope_parameters has no entry per layer type (KeyError 'full_attention')",
    "dbrx": "default DbrxAttentionConfig has no rope_theta, which the attention reads",
    "deepseek_ocr2": "default config leaves a sub-config field None that the model indexes",
    "diffusion_gemma": "default config leaves a size None (torch.empty gets None)",
    "dots1": "default config leaves n_routed_experts None; the experts tensor needs a count",
    "emu3": "default config has no vocabulary_map (the image-token map comes with a checkpoint)",
    "gemma4_assistant": "default config fails its own validation (hidden_size_per_layer_input must be 0, got 256)",
    "gemma4_unified_assistant": "default config fails its own check: the layer types producing a KV cache "
                                "differ from those using one",
    "granite4_vision": "default config leaves a list field None that the model takes len() of",
    "lfm2_moe": "default config leaves layer_types None, which every decoder layer indexes",
    "moonshine_streaming": "default MoonshineStreamingConfig has no num_key_value_heads, which the attention reads",
    "musicgen": "its causal-LM class wants the decoder sub-config; the composite default config has no "
                "decoder fields ('MusicgenConfig' object has no attribute 'dropout')",
    "musicgen_melody": "its causal-LM class wants the decoder sub-config; the composite default config has "
                       "no decoder fields (no attribute 'dropout')",
    "qwen4_exp": "default config leaves the indexer sizes of its indexed_attention layers None",
    "qwen4_exp_text": "default config leaves the indexer sizes of its indexed_attention layers None",
}
# The rest: the model needs something this install cannot have, or PEFT itself cannot wrap it.
SKIP: dict[str, str] = {
    **DEFAULT_UNBUILDABLE,
    "fast_vlm": "vision tower is a TimmWrapperModel: needs timm, which imports torchvision "
                "(timm/layers/create_norm.py); PyPI's torchvision 0.29 requires torch>=2.14, not our 2.13",
    "gemma3n": "vision tower is a TimmWrapperModel: needs timm, which imports torchvision; PyPI's "
               "torchvision 0.29 requires torch>=2.14, not our 2.13 (gemma3n_text, its language model, passes)",
    "perception_lm": "vision tower is a TimmWrapperModel: needs timm, which imports torchvision; PyPI's "
                     "torchvision 0.29 requires torch>=2.14, not our 2.13",
    "inkling_mm_model": "its modeling code imports scipy, a large compiled package this tool does not ship",
    "pp_formulanet": "PEFT itself cannot wrap it: get_peft_model calls get_input_embeddings, which "
                     "PPFormulaNetModel does not implement (NotImplementedError); inspect works",
}


def transformers_builds_default(model_type: str) -> bool:
    """Whether transformers builds the type's unmodified default config on meta (no tool code)."""
    import torch

    try:
        config = CONFIG_MAPPING[model_type]()
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
    become 0.
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
    config = CONFIG_MAPPING[model_type]()
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
            _cut_per_layer_configs(d, CONFIG_MAPPING[model_type]().to_dict())
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
        skel = skeleton.build_skeleton(config)
        rows = inventory.build_inventory(skel)
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
        "--write-docs`; `tests/test_arch_sweep.py` checks the same sweep.",
        "",
        "\"buildable\" leaves out the types whose own default config transformers cannot build "
        "(listed below as skipped, with the reason; a real checkpoint's config.json sets the missing field).",
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
