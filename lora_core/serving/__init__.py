"""Will it serve? The verdict of vLLM, SGLang, TGI and LoRAX on a plan's adapter.

``judge_all(describe(plan, index, model_config, exported))`` gives one :class:`Verdict` per engine;
:func:`servable_plan` turns a plan into the nearest one an engine serves exactly. Each engine
module holds its rules, each rule naming the engine file and function it was read from.
"""

from __future__ import annotations

from . import lorax, sglang, tgi, vllm
from .adapter import Adapter, adapter_of, describe, peft_tensors
from .servable import Servable, servable_plan
from .verdict import Finding, Verdict

ENGINES = {"vllm": vllm, "sglang": sglang, "tgi": tgi, "lorax": lorax}
LABELS = {"vllm": "vLLM", "sglang": "SGLang", "tgi": "TGI", "lorax": "LoRAX"}


def judge_all(adapter: Adapter) -> dict[str, Verdict]:
    """Every engine's verdict, in the order of ``ENGINES``."""
    return {name: mod.judge(adapter) for name, mod in ENGINES.items()}


def payload(verdicts: dict[str, Verdict]) -> dict:
    """The CLI's ``"serving"`` object."""
    return {name: v.payload() for name, v in verdicts.items()}


__all__ = ["Adapter", "adapter_of", "ENGINES", "Finding", "LABELS", "Servable", "Verdict", "describe", "judge_all",
           "payload", "peft_tensors", "servable_plan"]
