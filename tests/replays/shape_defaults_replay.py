"""The tools' own defaults for the training-shape keys and axolotl's legacy attention flags, read from
their code at the pinned versions (``lora_core/recipes/shape.py`` must hold the same).

axolotl: its pydantic ``AxolotlInputConfig`` field defaults and ``LEGACY_ATTN_FLAG_TO_IMPL``;
LLaMA-Factory: its argument dataclasses' defaults; Unsloth: ``FastLanguageModel.from_pretrained``'s
and ``FastLlamaModel.get_peft_model``'s signature defaults, parsed from its source.
Prints one JSON object.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import os

os.environ["AXOLOTL_DO_NOT_TRACK"] = "1"
os.environ["DISABLE_VERSION_CHECK"] = "1"

from axolotl.utils.schemas.config import AxolotlInputConfig  # noqa: E402
from axolotl.utils.schemas.enums import LEGACY_ATTN_FLAG_TO_IMPL  # noqa: E402
from llamafactory.hparams import DataArguments, ModelArguments, TrainingArguments  # noqa: E402

import unsloth_replay as ur  # noqa: E402


def _dataclass_defaults(cls, names):
    fields = {f.name: f for f in dataclasses.fields(cls)}
    return {n: fields[n].default for n in names if n in fields}


def _unsloth_loading() -> dict:
    fn = ur._method(ast.parse((ur.ROOT / "models" / "loader.py").read_text()), "FastLanguageModel", "from_pretrained")
    params = [a.arg for a in fn.args.args]  # a staticmethod: no self
    named = dict(zip(params[len(params) - len(fn.args.defaults):], fn.args.defaults))
    return {k: ast.literal_eval(named[k]) for k in ("max_seq_length", "load_in_4bit", "load_in_8bit") if k in named}


fields = AxolotlInputConfig.model_fields
out = {
    "axolotl": {k: fields[k].default for k in ("sequence_len", "micro_batch_size", "num_epochs",
                                               "gradient_checkpointing", "attn_implementation",
                                               "load_in_4bit", "load_in_8bit")},
    "axolotl_legacy_attention": dict(LEGACY_ATTN_FLAG_TO_IMPL),
    "llamafactory": {**_dataclass_defaults(DataArguments, ["cutoff_len"]),
                     **_dataclass_defaults(TrainingArguments, ["per_device_train_batch_size", "num_train_epochs"]),
                     **{k: str(v) if v is not None and not isinstance(v, bool) else v for k, v in _dataclass_defaults(
                         ModelArguments, ["disable_gradient_checkpointing", "flash_attn", "quantization_bit"]).items()}},
    "unsloth": {**_unsloth_loading(),
                "use_gradient_checkpointing": ur.SIGNATURE["defaults"].get("use_gradient_checkpointing")},
}
print("\n" + json.dumps(out))
