"""What an imported recipe really trains on a model, replayed, and what its author probably meant.

The tool's ``LoraConfig`` (its own rules applied, :mod:`.tool_rules`) goes through the audit
(:func:`lora_core.planning.audit.audit_adapter_config`: PEFT's matching and the closed-form count that
equals ``get_nb_trainable_parameters``). The probable misses: MoE experts left frozen while the
recipe trains FFN projections, a vision tower caught by a suffix name, entries or pattern keys
matching nothing, a ``modules_to_save`` copy larger than the adapter itself.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pandas as pd

from ..compute.report import ClusterSettings
from ..planning.audit import AdapterAudit, audit_adapter_config
from ..numbers import human
from ..errors import InputError
from ..peft_rules import convert_like_peft, entry_mask
from ..memory import MemorySettings
from ..planning import Plan
from ..model.skeleton import Skeleton
from ..model.task.adapter import model_for_adapter
from . import tensors as tensor_check
from . import tool_rules
from .recipe import ImportedRecipe

_FFN_ROLES = ("gate", "up", "down", "gate_up")
_ALL_RULES = {"axolotl-target-linear", "llamafactory-all"}


@dataclass(frozen=True)
class ImportReport:
    """An imported recipe on one model.

    Attributes:
        recipe: what was read.
        built: the ``LoraConfig`` keywords the tool builds on this model.
        audit: PEFT's matching and count for them (``audit.rows``: the units, with rank and alpha).
        trainable: parameters the tool trains (``get_nb_trainable_parameters()[0]``).
        plan: the plan that trains exactly the same units (``exact``: it also trains the same count).
        missed: what the author probably meant but the recipe misses, one sentence each.
        notes: what the tool adds or changes on this model, and what is not replayed.
        tensors: for a saved adapter, its tensors against its config (``None`` otherwise).
        memory: the memory settings the recipe states (the tool's profile, its batch, length, 4-bit).
    """

    recipe: ImportedRecipe
    built: dict
    audit: AdapterAudit
    trainable: int
    plan: Plan
    exact: bool
    missed: tuple[str, ...]
    notes: tuple[str, ...]
    tensors: tensor_check.TensorCheck | None
    memory: MemorySettings

    @property
    def units(self) -> dict[str, tuple[int, float]]:
        """Wrapped unit -> (rank, alpha)."""
        rows = self.audit.rows
        return {n: (int(r), float(a)) for n, r, a in zip(rows["name"], rows["rank"], rows["alpha"])}


def state(recipe: ImportedRecipe, inventory: pd.DataFrame, skel: Skeleton, model_label: str) -> ImportReport:
    """Replay ``recipe`` on the model.

    Raises:
        InputError: PEFT refuses it here, or it trains nothing here (a recipe for another model).
    """
    built, notes = tool_rules.apply(recipe, skel.model) if recipe.tool != "peft" else (dict(recipe.lora), [])
    config = built if recipe.tool == "peft" else {**built, "peft_type": "LORA"}
    other_task: list[str] = []
    if recipe.tool == "peft":  # a saved adapter is read on the model of its task_type, as PEFT trains it
        task_skel, inventory = model_for_adapter(config, skel.config, skel, inventory)
        if task_skel is not skel:
            other_task = [f"read on the {task_skel.auto_class} model of its task_type {config.get('task_type')!r}; "
                          "choose that task on the Targets page to use it as the plan"]
            skel = task_skel
    try:
        audit = audit_adapter_config(config, inventory, skel)
    except InputError as e:
        if e.field != "target_modules" or not e.message.startswith("PEFT refuses it"):
            raise
        names = f" (it names {recipe.model_id})" if recipe.model_id else ""
        raise InputError("recipe", f"trains nothing on {model_label}{names}: {e.message}; "
                         "is the recipe for another model?") from None
    notes += list(recipe.notes) + [f"PEFT rewrites it on this model: {n}" for n in audit.rewritten]
    notes += other_task
    uncounted = list(other_task)
    if "unsloth-moe-auto" in recipe.model_rules and (inventory["kind"] == "expert-parameter").any():
        notes.append("target_parameters is not given: on this MoE model Unsloth adds the expert parameters itself "
                     "(get_moe_target_parameters); not replayed here, pass target_parameters explicitly")
        uncounted.append("unsloth-moe-auto")
    if recipe.model_id and recipe.model_id != model_label:
        notes.append(f"written for {recipe.model_id}; replayed on {model_label}")
    checked = tensor_check.check(recipe.adapter, audit.rows) if recipe.adapter else None
    trainable = int(audit.count.trainable)
    return ImportReport(recipe, built, audit, trainable, audit.plan, not uncounted,
                        tuple(probable_misses(audit, inventory, skel, built, recipe.model_rules)), tuple(notes), checked,
                        MemorySettings(**recipe.memory))


def probable_misses(audit: AdapterAudit, inventory: pd.DataFrame, skel: Skeleton, built: dict,
                    rules: tuple[str, ...] = ()) -> list[str]:
    """What the author probably meant but the recipe misses, one sentence each."""
    every_linear = built.get("target_modules") == "all-linear" or bool(set(rules) & _ALL_RULES)
    out = _experts_frozen(audit.rows, inventory, every_linear) + _vision_caught(audit.rows, built)
    after = convert_like_peft(audit.config, skel.model).target_modules or ()
    rewritten = set(audit.config.target_modules or ()) - set(after) if not isinstance(after, str) else set()
    out += [f"matches nothing on this model: {u}" for u in audit.unmatched if u not in rewritten]
    out += _big_copies(built.get("modules_to_save") or (), inventory, int(audit.count.trainable))
    return out


def _experts_frozen(rows: pd.DataFrame, inventory: pd.DataFrame, every_linear: bool) -> list[str]:
    experts = inventory[inventory["kind"] == "expert-parameter"]
    if experts.empty or not (every_linear or rows["role"].isin(_FFN_ROLES).any()):
        return []
    left = experts[~experts["name"].isin(set(rows["name"]))]
    if left.empty:
        return []
    trained = "no" if len(left) == len(experts) else f"only {len(experts) - len(left):,} of {len(experts):,}"
    return [f"MoE experts left frozen: the recipe trains the FFN / every linear but {trained} expert tensors; "
            f"{len(left):,} expert tensors ({human(int(left['base_params'].sum()))} parameters) stay frozen, "
            f"e.g. {left['name'].iloc[0]}; name them in target_parameters (PEFT) to train them"]


def _vision_caught(rows: pd.DataFrame, built: dict) -> list[str]:
    caught = rows[rows["stack"].isin(["vision", "projector"])]
    tm = built.get("target_modules")
    if caught.empty or isinstance(tm, str) and tm != "all-linear":
        return []
    leaves = sorted({n.rsplit(".", 1)[-1] for n in caught["name"]})
    return [f"{len(caught):,} units of the vision tower / projector train too, because "
            f"{', '.join(leaves[:4])} also name modules there (PEFT matches a list entry by suffix); "
            "use a regex or full names to keep to the language model"]


def _big_copies(saved, inventory: pd.DataFrame, trainable: int) -> list[str]:
    """``modules_to_save`` entries whose full copies are most of what trains (each named with its size)."""
    names = inventory.loc[inventory["kind"] != "expert-parameter", ["name", "base_params"]]
    copies = {e: int(names.loc[entry_mask(names["name"], e), "base_params"].sum()) for e in saved}
    if sum(copies.values()) * 2 <= trainable:
        return []
    return [f"modules_to_save {e!r} copies {human(c)} parameters in full: {c / trainable:.0%} of what trains "
            "(a LoRA on it would train far fewer)" for e, c in copies.items() if c]


def cluster_of(recipe: ImportedRecipe, base: ClusterSettings | None = None) -> ClusterSettings | None:
    """The "GPUs, time and cost" settings the recipe states, over ``base`` (its GPU kind, dataset and price
    stay): the strategy and offload its DeepSpeed / FSDP keys name and its epochs. A recipe without
    either runs on one GPU, or DDP on ``base``'s several; a sharding strategy needs two GPUs at least.
    ``None`` when the file names a strategy that cannot be read here (a DeepSpeed JSON path not at hand).
    """
    base = base or ClusterSettings()
    strategy, gpus = recipe.strategy.strategy, base.gpus
    if strategy is None:
        return None
    if strategy == "single" and gpus > 1:
        strategy = "ddp"
    elif strategy != "single" and gpus == 1:
        gpus = 2
    return replace(base, gpus=gpus, strategy=strategy, offload=recipe.strategy.offload,
                   epochs=recipe.epochs or base.epochs)
