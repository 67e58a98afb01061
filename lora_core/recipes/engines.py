"""The DeepSpeed JSON and the FSDP settings of a strategy, written in each tool's keys and read back.

``deepspeed_config("zero3", "optimizer")`` is the JSON a transformers ``Trainer`` (PEFT, axolotl,
LLaMA-Factory) reads: ``"auto"`` wherever the Trainer fills the value from its own arguments
(``transformers/integrations/deepspeed.py``: batch sizes, bf16, bucket sizes from ``hidden_size``),
the stage and the offload devices set. ``fsdp_settings("fsdp", ...)`` gives ``TrainingArguments``'
``fsdp`` and ``fsdp_config`` (PEFT's Python export and LLaMA-Factory, whose YAML is parsed into
``TrainingArguments``); :func:`axolotl_keys` axolotl 0.19's ``fsdp_version: 2`` + ``fsdp_config``.
:func:`read_parallel` is the way back: a recipe's keys -> ``(strategy, offload)``, by the same
names (:data:`FSDP_KEYS`), with a note wherever the file does not say (a JSON path not at hand).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..memory.parallel.strategies import get_strategy

# The keys of FSDP's two settings in each tool's fsdp_config: (reshard after forward, parameters offloaded).
FSDP_KEYS = {"axolotl": ("reshard_after_forward", "offload_params"),
             "trainer": ("reshard_after_forward", "cpu_offload")}
_DEVICES = ("cpu", "nvme")
MAX_JSON_BYTES = 100_000


def deepspeed_config(strategy: str, offload: str = "none") -> dict:
    """The DeepSpeed JSON for a ZeRO strategy (``{}`` for the others)."""
    s = get_strategy(strategy)
    if s.engine != "deepspeed":
        return {}
    zero: dict = {"stage": s.zero_stage, "overlap_comm": s.zero_stage == 3, "contiguous_gradients": True,
                  "reduce_bucket_size": "auto"}
    if offload in ("optimizer", "optimizer+params"):
        zero["offload_optimizer"] = {"device": "cpu", "pin_memory": True}
    if s.zero_stage == 3:
        zero.update({"stage3_prefetch_bucket_size": "auto", "stage3_param_persistence_threshold": "auto",
                     "stage3_gather_16bit_weights_on_model_save": True})
        if offload == "optimizer+params":
            zero["offload_param"] = {"device": "cpu", "pin_memory": True}
    return {"bf16": {"enabled": "auto"}, "zero_optimization": zero, "gradient_accumulation_steps": "auto",
            "gradient_clipping": "auto", "train_batch_size": "auto", "train_micro_batch_size_per_gpu": "auto"}


def fsdp_settings(strategy: str, offload: str = "none") -> dict:
    """``{"fsdp": True, "fsdp_config": {...}}`` for transformers 5's ``TrainingArguments`` (the old
    ``fsdp="full_shard auto_wrap"`` string is deprecated there); ``{}`` outside FSDP."""
    s = get_strategy(strategy)
    if s.engine != "fsdp":
        return {}
    reshard, offloaded = FSDP_KEYS["trainer"]
    return {"fsdp": True,
            "fsdp_config": {reshard: s.reshard_after_forward, offloaded: offload == "optimizer+params",
                            "backward_prefetch": "backward_pre", "use_orig_params": False,
                            "cpu_ram_efficient_loading": True, "sync_module_states": True}}


def axolotl_keys(strategy: str, offload: str = "none", base_dtype: str = "bf16") -> dict:
    """axolotl 0.19's keys: ``deepspeed`` (the JSON inline) or ``fsdp_version: 2`` and ``fsdp_config``.

    ``cpu_ram_efficient_loading`` is off for a 4-bit base: axolotl's
    ``check_fsdp2_cpu_ram_efficient_loading_w_4bit`` refuses it with ``load_in_4bit``."""
    s = get_strategy(strategy)
    if s.engine == "deepspeed":
        return {"deepspeed": deepspeed_config(strategy, offload)}
    if s.engine == "fsdp":
        reshard, offloaded = FSDP_KEYS["axolotl"]
        return {"fsdp_version": 2, "fsdp_config": {
            offloaded: offload == "optimizer+params", "cpu_ram_efficient_loading": base_dtype != "nf4",
            "auto_wrap_policy": "TRANSFORMER_BASED_WRAP", "state_dict_type": "SHARDED_STATE_DICT",
            reshard: s.reshard_after_forward}}
    return {}


def trainer_keys(strategy: str, offload: str = "none") -> dict:
    """``TrainingArguments`` keys (PEFT's Python export, LLaMA-Factory's YAML): ``deepspeed`` (the JSON
    inline) or ``fsdp`` + ``fsdp_config``."""
    s = get_strategy(strategy)
    if s.engine == "deepspeed":
        return {"deepspeed": deepspeed_config(strategy, offload)}
    return fsdp_settings(strategy, offload)


def launch_line(strategy: str, tool: str) -> str:
    """How the tool is launched on several GPUs, for the recipe's header."""
    s = get_strategy(strategy)
    if s.engine == "none":
        return ""
    if tool == "llamafactory" and s.engine == "fsdp":
        return ("launch: accelerate launch --config_file examples/accelerate/fsdp_config.yaml src/train.py "
                "llamafactory.yaml (accelerate's FSDP switch is what LLaMA-Factory's 4-bit loading reads)")
    return {"axolotl": "launch: accelerate launch -m axolotl.cli.train axolotl.yaml",
            "llamafactory": "launch: FORCE_TORCHRUN=1 llamafactory-cli train llamafactory.yaml",
            }.get(tool, "launch: accelerate launch --num_processes N train.py (or torchrun)")


def strategy_keys(tool: str, strategy: str, offload: str = "none", base_dtype: str = "bf16") -> dict:
    """The keys a recipe for ``tool`` carries for the strategy (``{}``: single GPU, DDP, or Unsloth)."""
    if tool == "axolotl":
        return axolotl_keys(strategy, offload, base_dtype)
    if tool in ("llamafactory", "python"):
        return trainer_keys(strategy, offload)
    return {}


@dataclass(frozen=True)
class Parallel:
    """The strategy a recipe states.

    Attributes:
        strategy: a :data:`~lora_core.memory.parallel.STRATEGY_NAMES` value; ``single`` when the file
            names no DeepSpeed or FSDP (one GPU, or DDP when launched on several: no file says which);
            ``None`` when the file names one that cannot be read here (a JSON path not at hand).
        offload: ``none``, ``optimizer`` or ``optimizer+params``.
        notes: what the file does not say, or what is counted otherwise, one sentence each.
    """

    strategy: str | None = "single"
    offload: str = "none"
    notes: tuple[str, ...] = ()


def read_parallel(tool: str, data: dict[str, Any], base_dtype: str, folder: Path | None = None) -> Parallel:
    """The strategy and offload of a recipe's ``deepspeed`` / ``fsdp`` / ``fsdp_config`` keys.

    ``folder``: where a relative DeepSpeed JSON path is looked for (the recipe's own folder).

    Raises:
        InputError: ``tool: deepspeed...`` for a JSON the Trainer would refuse.
    """
    if data.get("deepspeed"):
        return _read_deepspeed(tool, data["deepspeed"], folder)
    if tool == "axolotl" and (data.get("fsdp_config") or data.get("fsdp") or data.get("fsdp_version")):
        return _read_fsdp(tool, data.get("fsdp_config") or {}, data.get("fsdp"), base_dtype, FSDP_KEYS["axolotl"])
    if tool != "axolotl" and data.get("fsdp"):
        return _read_fsdp(tool, data.get("fsdp_config") or {}, data["fsdp"], base_dtype, FSDP_KEYS["trainer"])
    return Parallel()


def _read_deepspeed(tool: str, value: Any, folder: Path | None) -> Parallel:
    where = f"{tool}: deepspeed"
    if isinstance(value, str):
        path = Path(value).expanduser()
        path = path if path.is_absolute() or folder is None else folder / path
        if not (folder is not None or path.is_absolute()) or not path.is_file():
            return Parallel(None, "none", (f"deepspeed: {value!r} is a JSON file that is not at hand here, so its ZeRO "
                                           "stage and offload are not read; open the recipe beside it or write the "
                                           "JSON inline under deepspeed:",))
        if path.stat().st_size > MAX_JSON_BYTES:
            raise InputError(where, f"{value!r} is {path.stat().st_size:,} bytes; a DeepSpeed JSON is a few hundred")
        try:
            value = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise InputError(where, f"{str(path)!r} is not a readable JSON file ({e})") from None
    if not isinstance(value, dict):
        raise InputError(where, f"must be a DeepSpeed JSON (a mapping) or its path, got {str(value)[:80]}")
    zero = value.get("zero_optimization") or {}
    stage = zero.get("stage", 0) if isinstance(zero, dict) else None
    if stage not in (0, 1, 2, 3) or isinstance(stage, bool):
        raise InputError(f"{where}.zero_optimization.stage", f"must be 0, 1, 2 or 3, got {stage!r}")
    if stage == 0:
        return Parallel("single", "none", ("deepspeed without ZeRO (stage 0) keeps everything whole: counted as "
                                          "DDP on several GPUs",))
    devices = {part: _device(zero.get(f"offload_{part}"), f"{where}.zero_optimization.offload_{part}")
               for part in ("optimizer", "param")}
    notes = [f"offload to NVMe counted as offload to CPU (the host RAM figure is then the NVMe's)"
             ] if "nvme" in devices.values() else []
    offload = "optimizer+params" if devices["param"] else "optimizer" if devices["optimizer"] else "none"
    if devices["param"] and stage != 3:
        notes.append(f"offload_param needs ZeRO-3; DeepSpeed ignores it at stage {stage}")
        offload = "optimizer" if devices["optimizer"] else "none"
    elif devices["param"] and not devices["optimizer"]:
        notes.append("parameters offloaded without the optimizer: counted with both offloaded")
    return Parallel(f"zero{stage}", offload, tuple(notes))


def _device(part: Any, where: str) -> str:
    if part in (None, {}):
        return ""
    device = part.get("device", "none") if isinstance(part, dict) else None
    if device not in ("none", *_DEVICES):
        raise InputError(where, f"device must be none, cpu or nvme, got {device!r}")
    return "" if device == "none" else device


def _read_fsdp(tool: str, config: Any, fsdp: Any, base_dtype: str, keys: tuple[str, str]) -> Parallel:
    where = f"{tool}: fsdp_config"
    if not isinstance(config, dict):
        raise InputError(where, f"must be a mapping of FSDP settings, got {str(config)[:80]}")
    config = {k.removeprefix("fsdp_"): v for k, v in config.items()}  # the old prefixed names, as both tools strip
    words = fsdp.split() if isinstance(fsdp, str) else [str(w) for w in fsdp] if isinstance(fsdp, list) else []
    reshard_key, offload_key = keys
    sharding = str(config.get("sharding_strategy", "")).upper()
    grad_op = "shard_grad_op" in words or sharding == "SHARD_GRAD_OP" or config.get(reshard_key) is False
    offload = "optimizer+params" if (config.get(offload_key) or "offload" in words) else "none"
    notes = []
    if "no_shard" in words or sharding == "NO_SHARD":
        return Parallel("single", "none", ("FSDP NO_SHARD shards nothing: counted as DDP on several GPUs",))
    if "hybrid_shard" in words or sharding.startswith("HYBRID"):
        notes.append("hybrid sharding (within a node) counted as a full shard over every GPU")
    if base_dtype == "nf4":
        if grad_op:
            notes.append("shard-grad-op with a 4-bit base counted as FSDP + QLoRA (full shard)")
        return Parallel("fsdp-qlora", offload, tuple(notes))
    return Parallel("fsdp-sgo" if grad_op else "fsdp", offload, tuple(notes))
