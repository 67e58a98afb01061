"""What each tool can express of a PEFT ``LoraConfig``: one table, read off each tool's own source.

Every writer in :mod:`lora_core.recipes` projects the exact PEFT config onto its row here; the
replay tests (``tests/recipes/test_recipes_replay.py``) run the tools' own code to prove each row.

- PEFT: everything (it is the reference).
- axolotl 0.19.0 (``utils/schemas/peft.py``, ``loaders/adapter.py`` ``_build_peft_lora_config``):
  ``lora_alpha`` and ``lora_alpha_pattern`` are pydantic ``int``s; ``lora_target_modules`` is a
  list or a string (handed to PEFT as is, so a regex or ``all-linear``); ``peft_layers_to_transform``,
  ``lora_target_parameters``, ``lora_rank_pattern``/``lora_alpha_pattern``, ``lora_modules_to_save``,
  ``peft_use_dora``/``peft_use_rslora`` exist; ``bias`` is always ``"none"``; no ``lora_bias``.
- LLaMA-Factory 0.9.5 (``hparams/finetuning_args.py``, ``model/adapter.py`` ``_setup_lora_tuning``):
  one ``lora_rank``/``lora_alpha`` (not type-checked: a fractional alpha passes), ``lora_target``
  a comma list of names (``all`` = its own linear scan), ``additional_target`` (modules_to_save),
  ``use_dora``/``use_rslora``; no layers, no regex, no target_parameters, no rank patterns, no bias.
- Unsloth (``FastLlamaModel.get_peft_model``): ``r`` must be an ``int``; ``layers_to_transform``,
  ``target_parameters``, ``bias``, ``use_rslora``, ``modules_to_save`` (only ``lm_head``,
  ``embed_tokens`` and norms) are parameters; other LoraConfig fields (``use_dora``, ``lora_bias``,
  ``rank_pattern``, ``alpha_pattern``) pass through ``**kwargs``. LoRA on ``embed_tokens``/``lm_head``
  is moved to ``modules_to_save``; with ``target_parameters=None`` it adds MoE experts itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import peft


@dataclass(frozen=True)
class ToolCaps:
    """One tool's reach into PEFT's ``LoraConfig`` (``True``: the field can be given as PEFT takes it)."""

    tool: str
    label: str
    version: str
    regex: bool               # a string target_modules reaches PEFT as a regex
    all_linear: bool          # the string "all-linear" reaches PEFT as PEFT's shorthand
    layers: bool              # layers_to_transform
    target_parameters: bool
    rank_pattern: bool
    alpha_pattern: bool
    fractional_alpha: bool    # lora_alpha (and alpha_pattern values) may be non-integers
    dora: bool
    rslora: bool
    lora_bias: bool
    bias: bool                # bias="all" / "lora_only"
    modules_to_save: bool
    embedding_lora: bool = True   # LoRA on embed_tokens / lm_head stays LoRA
    saveable: tuple[str, ...] | None = None  # leaf names allowed in modules_to_save (None: any)
    no_modules: bool = True       # a config with no target_modules (only target_parameters) can be written


AXOLOTL_VERSION = "0.19.0"
LLAMAFACTORY_VERSION = "0.9.5"
UNSLOTH_VERSION = "2026.10.9"

CAPS: dict[str, ToolCaps] = {c.tool: c for c in (
    ToolCaps("peft", "PEFT", peft.__version__, regex=True, all_linear=True, layers=True,
             target_parameters=True, rank_pattern=True, alpha_pattern=True, fractional_alpha=True,
             dora=True, rslora=True, lora_bias=True, bias=True, modules_to_save=True),
    ToolCaps("python", "PEFT", peft.__version__, regex=True, all_linear=True, layers=True,
             target_parameters=True, rank_pattern=True, alpha_pattern=True, fractional_alpha=True,
             dora=True, rslora=True, lora_bias=True, bias=True, modules_to_save=True),
    ToolCaps("axolotl", "axolotl", AXOLOTL_VERSION, regex=True, all_linear=True, layers=True,
             target_parameters=True, rank_pattern=True, alpha_pattern=True, fractional_alpha=False,
             dora=True, rslora=True, lora_bias=False, bias=False, modules_to_save=True),
    ToolCaps("llamafactory", "LLaMA-Factory", LLAMAFACTORY_VERSION, regex=False, all_linear=False,
             layers=False, target_parameters=False, rank_pattern=False, alpha_pattern=False,
             fractional_alpha=True, dora=True, rslora=True, lora_bias=False, bias=False, modules_to_save=True,
             no_modules=False),
    ToolCaps("unsloth", "Unsloth", UNSLOTH_VERSION, regex=True, all_linear=True, layers=True,
             target_parameters=True, rank_pattern=True, alpha_pattern=True, fractional_alpha=True,
             dora=True, rslora=True, lora_bias=True, bias=True, modules_to_save=True,
             embedding_lora=False, saveable=("lm_head", "embed_tokens")),
)}
TOOLS: tuple[str, ...] = tuple(CAPS)


# What each tool does with a task other than causal LM, read off its own code.
# - axolotl 0.19.0 ``loaders/adapter.py`` ``_get_peft_task_type``: SEQ_CLS/TOKEN_CLS when the model class
#   (``type_of_model``, set by ``reward_model``/``process_reward_model`` in ``schemas/validation.py``) is a
#   classification class; these recipes do not write ``type_of_model`` or ``num_labels``.
# - LLaMA-Factory 0.9.5 ``model/adapter.py`` ``_setup_lora_tuning``: ``LoraConfig(task_type=TaskType.CAUSAL_LM)``
#   always.
# - Unsloth ``models/llama.py`` ``get_peft_model``: SEQ_CLS when the loaded model's class name contains
#   "Classification" (``FastLanguageModel`` loads one with ``AutoModelForSequenceClassification``), else CAUSAL_LM.
# SEQ_2_SEQ_LM stays with the replays (tests/test_recipes_replay.py): PEFT's seq2seq and causal-LM
# wrappers train the same parameters, so the tool's own code decides there.
TASK_SUPPORT: dict[str, tuple[str, ...]] = {
    "peft": ("CAUSAL_LM", "SEQ_CLS", "TOKEN_CLS", "SEQ_2_SEQ_LM", "FEATURE_EXTRACTION"),
    "python": ("CAUSAL_LM", "SEQ_CLS", "TOKEN_CLS", "SEQ_2_SEQ_LM", "FEATURE_EXTRACTION"),
    "axolotl": ("CAUSAL_LM", "SEQ_2_SEQ_LM"),
    "llamafactory": ("CAUSAL_LM", "SEQ_2_SEQ_LM"),
    "unsloth": ("CAUSAL_LM", "SEQ_2_SEQ_LM"),
}
_TASK_NOTES = {
    "axolotl": "axolotl trains {task} only with type_of_model: {cls} (and num_labels) in the YAML, "
               "which this recipe does not write: as written it trains a causal LM",
    "llamafactory": "LLaMA-Factory 0.9.5 builds every LoRA with task_type CAUSAL_LM: it cannot train a {task} model",
    "unsloth": "Unsloth trains {task} only when the model is loaded with {cls}, which this recipe does not do: "
               "as written it trains a causal LM",
}


def task_refusal(tool: str, task: str | None, auto_class: str) -> str:
    """Why ``tool``'s recipe does not train the plan's task (``""`` when it does)."""
    if task is None or task in TASK_SUPPORT[tool]:
        return ""
    return _TASK_NOTES[tool].format(task=task, cls=auto_class)
