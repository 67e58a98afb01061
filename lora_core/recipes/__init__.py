"""Recipes: the plan written for each tool that trains it, each with a statement of what that tool will train.

One module per tool (:mod:`.peft_json`, :mod:`.peft_python`, :mod:`.axolotl`, :mod:`.llamafactory`,
:mod:`.unsloth`) renders the form :func:`lora_core.recipes.forms.choose` picks from the shared
capability table (:mod:`.capabilities`). ``write("axolotl", plan, inventory, skel, "meta-llama/...")``
returns a :class:`Recipe`: the text, the tool and version, and the :class:`Statement`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from importlib import import_module

import pandas as pd

from ..planning import Plan, PlanIndex, ResolvedPlan
from ..model.skeleton import Skeleton
from .capabilities import CAPS, TOOLS, ToolCaps, task_refusal
from .engines import launch_line, strategy_keys
from .forms import Chooser
from .shape import Shape
from .statement import Statement
from ..memory.parallel.strategies import get_strategy

__all__ = ["CAPS", "TOOLS", "Recipe", "Shape", "Statement", "ToolCaps", "write", "write_all"]
_MODULES = {"peft": "peft_json", "python": "peft_python", "axolotl": "axolotl",
            "llamafactory": "llamafactory", "unsloth": "unsloth"}


@dataclass(frozen=True)
class Recipe:
    """A plan written for one tool.

    Attributes:
        tool: key in :data:`TOOLS` (``axolotl``).
        label: display name (``axolotl``, ``LLaMA-Factory``).
        version: the tool version the form was checked against (printed in the text's header).
        text: the file or snippet.
        language: for display (``json``, ``python``, ``yaml``).
        filename: a name to save it under.
        statement: what the tool will train, beside the plan.
        built: the ``LoraConfig`` keywords the tool builds from the text.
    """

    tool: str
    label: str
    version: str
    text: str
    language: str
    filename: str
    statement: Statement
    built: dict


def write(tool: str, plan: Plan, inventory: pd.DataFrame | PlanIndex, skel: Skeleton, model_id: str,
          chooser: Chooser | None = None, strategy: str = "single", offload: str = "none",
          shape: Shape | None = None) -> Recipe:
    """``plan`` written for ``tool`` (raises InputError when PEFT itself cannot express it), with the
    training ``shape`` (:mod:`.shape`) and the DeepSpeed or FSDP settings of ``strategy``
    (:func:`.engines.strategy_keys`) in the tool's own keys."""
    caps, shape = CAPS[tool], shape or Shape()
    choice = (chooser or Chooser(plan, inventory, skel)).choose(tool)
    statement = choice.statement
    refusal = task_refusal(tool, skel.task_type, skel.auto_class)
    if refusal:  # the tool trains another task than the plan's: its count is not the plan's
        statement = replace(statement, exact=False, refused=refusal)
    writer = import_module(f".{_MODULES[tool]}", __package__)
    header = header_lines(caps, statement) + shape_lines(tool, shape, strategy, offload)
    parallel = strategy_keys(tool, strategy, offload, shape.base_dtype)
    text = writer.render(choice.built, model_id, header, shape, parallel)
    return Recipe(tool, caps.label, caps.version, text, writer.LANGUAGE, writer.FILENAME, statement,
                  choice.built)


def write_all(plan: Plan, inventory: pd.DataFrame | PlanIndex, skel: Skeleton, model_id: str,
              exported: dict | None = None, resolved: ResolvedPlan | None = None, strategy: str = "single",
              offload: str = "none", shape: Shape | None = None) -> dict[str, Recipe]:
    """Every tool's recipe, keyed as :data:`TOOLS` (``exported``: the adapter_config.json dict, if known;
    ``resolved``: the plan already resolved and validated)."""
    chooser = Chooser(plan, inventory, skel, exported, resolved)
    return {t: write(t, plan, inventory, skel, model_id, chooser, strategy, offload, shape) for t in TOOLS}


def header_lines(caps: ToolCaps, st: Statement) -> list[str]:
    """The header comment: tool version checked, and what the tool will train."""
    lines = [f"Written for {caps.label} {caps.version} (checked against its own config code).",
             f"{caps.label} will train {st.trainable:,} parameters on {st.modules:,} units"
             + (": exactly the plan." if st.exact else f"; the plan has {st.plan_trainable:,} on {st.plan_modules:,}:")]
    lines += [f"  - {d}" for d in st.differences()] if not st.exact else []
    return lines


_BASES = {"bf16": "bf16 base", "int8": "LLM.int8 base", "nf4": "NF4 (QLoRA) base"}


def shape_lines(tool: str, shape: Shape, strategy: str, offload: str) -> list[str]:
    """The header lines naming the shape and the strategy the recipe carries."""
    if tool == "peft":
        return []
    s = get_strategy(strategy)
    lines = [f"Training shape: {shape.seq_len:,} tokens x {shape.batch_size} per GPU, {shape.epochs:g} epochs, "
             f"{_BASES[shape.base_dtype]}, checkpointing {'on' if shape.gradient_checkpointing else 'off'}, "
             + ("Unsloth's own attention kernels." if tool == "unsloth" else
                f"{'fused (SDPA)' if shape.flash_attention else 'eager'} attention.")]
    if s.engine != "none":
        lines.append(f"Several GPUs: {s.label}" + ("" if offload == "none" else f", offload {offload}")
                     + f" ({launch_line(strategy, tool)})")
    return lines
