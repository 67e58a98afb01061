"""A fuzzer over real configs: each case is one real ``config.json`` with one field mutated.

The configs are the real published files of ``/work/shared/model-configs`` (the presets). A
mutation replaces the value of one field the file has (nested sub-config fields included), or
adds one of the fields the product reads, by a value of another JSON type or an extreme number.
Cases are drawn with a fixed seed so a failure reproduces; :func:`run_cli` runs the command line
in-process and returns its exit code, stdout and stderr (a traceback is an exception, caught
and returned as ``"traceback"``).
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import random
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lora_core.model import presets
from lora_core.cli import main

CONFIG_DIR = Path("/work/shared/model-configs")

# Fields the product reads from a config although a given file may not set them.
READ_FIELDS: tuple[str, ...] = (
    "architectures", "num_experts_per_tok", "n_shared_experts", "first_k_dense_replace",
    "mlp_only_layers", "head_dim", "kv_lora_rank", "num_local_experts", "num_experts",
    "n_routed_experts", "tie_word_embeddings", "is_encoder_decoder", "max_position_embeddings",
    "hidden_act", "moe_intermediate_size", "shared_expert_intermediate_size", "num_key_value_heads",
)

# Values of every JSON type, and numbers no size can be.
VALUES: tuple[Any, ...] = (
    -1, 0, 1, 2**40, 1.5, -3.5, 1e308, "garbage", "", None, True, False, [], [1, "x"], [[1]],
    [{}], {}, {"model_type": "garbage"}, {"a": 1},
)


@dataclass(frozen=True)
class Case:
    """One mutated config: the source file, the dotted path of the field, the new value."""

    file: str
    path: str
    value: Any

    def config(self) -> dict[str, Any]:
        """The real config with this case's mutation applied."""
        d = copy.deepcopy(json.loads((CONFIG_DIR / self.file).read_text()))
        *parents, key = self.path.split(".")
        target = d
        for p in parents:
            target = target[p]
        target[key] = copy.deepcopy(self.value)
        return d

    def __str__(self) -> str:
        return f"{self.file}:{self.path}={json.dumps(self.value)[:40]}"


def config_files() -> list[str]:
    """The real configs that are also presets (so the fuzz covers what users open)."""
    shipped = {p.replace("/", "__", 1) + ".json" for p in presets.preset_ids()}
    return sorted(f.name for f in CONFIG_DIR.glob("*.json") if f.name in shipped)


def field_paths(d: dict[str, Any], prefix: str = "") -> list[str]:
    """Every dotted field path of ``d`` (sub-config objects and their fields both listed)."""
    paths = []
    for k, v in d.items():
        paths.append(prefix + k)
        if isinstance(v, dict):
            paths += field_paths(v, f"{prefix}{k}.")
    return paths


def cases(n: int, seed: int = 24) -> list[Case]:
    """``n`` cases drawn with ``seed`` from every (file, field, value), read fields weighted up."""
    rng = random.Random(seed)
    pool: list[Case] = []
    for f in config_files():
        d = json.loads((CONFIG_DIR / f).read_text())
        fields = sorted(set(field_paths(d)) | set(READ_FIELDS))
        pool += [Case(f, p, v) for p in fields for v in VALUES]
    read = [c for c in pool if c.path.rsplit(".", 1)[-1] in READ_FIELDS or c.path.endswith("model_type")]
    other = [c for c in pool if c not in read]
    k = min(len(read), n // 2)
    return rng.sample(read, k) + rng.sample(other, n - k)


@dataclass(frozen=True)
class Outcome:
    """What one CLI call did: its exit code (``"traceback"`` when it raised), stdout, stderr."""

    code: int | str
    out: str
    err: str


def run_cli(argv: list[str]) -> Outcome:
    """``python -m lora_core ARGV`` in this process."""
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code: int | str = main(argv)
    except SystemExit as e:  # argparse
        code = e.code if isinstance(e.code, int) else 2
    except Exception:  # noqa: BLE001 - the fuzzer's finding
        code, err = "traceback", io.StringIO(traceback.format_exc())
    return Outcome(code, out.getvalue(), err.getvalue())


def run_case(case: Case, tmp: Path) -> dict[str, Outcome]:
    """``inspect`` and ``plan`` (q and v at rank 8) of the mutated config written to ``tmp``."""
    path = tmp / "config.json"
    path.write_text(json.dumps(case.config()))
    return {"inspect": run_cli(["inspect", str(path)]),
            "plan": run_cli(["plan", str(path), "--target", "q=8", "--target", "v=8", "--json"])}
