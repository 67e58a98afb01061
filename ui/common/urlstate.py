"""The plan and model as URL query parameters, and back: pure functions, no Streamlit.

A link like ``?model=meta-llama/Meta-Llama-3.1-8B&t=q=8:16,v=8&layers=0-3,7&dora=1`` reproduces a
view. Targets use the CLI's ``KEY=RANK[:ALPHA]`` form joined by commas.

>>> encode_targets((Target("q", 8, 16.0), Target("v", 8)))
'q=8:16,v=8'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lora_core.errors import InputError
from lora_core.planning import Plan, Target, parse_layers

_TARGET_RE = re.compile(r"(?P<key>[^=,]+)=(?P<rank>-?\d+)(?::(?P<alpha>-?[\d.]+))?")


@dataclass(frozen=True)
class UrlState:
    """What a link carries: where the model comes from and the plan."""

    model: str | None = None
    source: str = "preset"
    revision: str | None = None
    plan: Plan | None = None


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def encode_targets(targets: tuple[Target, ...]) -> str:
    """``(Target('q', 8, 16.0), Target('v', 8)) -> 'q=8:16,v=8'`` (alpha only when set)."""
    return ",".join(f"{t.key}={t.rank}" + (f":{_num(t.alpha)}" if t.alpha is not None else "") for t in targets)


def decode_targets(text: str) -> tuple[Target, ...]:
    """``'q=8:16,v=8' -> (Target('q', 8, 16.0), Target('v', 8))``; raises ``InputError``."""
    out: list[Target] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        m = _TARGET_RE.fullmatch(part)
        if not m:
            raise InputError("t", f"{part!r} is not KEY=RANK[:ALPHA]; write e.g. q=8:16,v=8")
        alpha = float(m.group("alpha")) if m.group("alpha") else None
        out.append(Target(m.group("key"), int(m.group("rank")), alpha))
    return tuple(out)


def encode_layers(layers: tuple[int, ...] | None) -> str:
    """``(0, 1, 2, 3, 7) -> '0-3,7'``; ``None`` (all layers) -> ``''``."""
    if not layers:
        return ""
    runs: list[list[int]] = []
    for i in sorted(layers):
        if runs and i == runs[-1][1] + 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


def plan_to_params(plan: Plan) -> dict[str, str]:
    """The query parameters of a plan (only what differs from the defaults)."""
    params = {"t": encode_targets(plan.targets)}
    if plan.layers is not None:
        params["layers"] = encode_layers(plan.layers)
    for flag in ("dora", "rslora"):
        if getattr(plan, flag):
            params[flag] = "1"
    return params


def plan_from_params(params: dict[str, str], num_layers: int) -> Plan | None:
    """The plan a link describes, or ``None`` when it names no targets; raises ``InputError``."""
    if "t" not in params:
        return None
    return Plan(targets=decode_targets(params["t"]),
                layers=parse_layers(params.get("layers", ""), num_layers),
                dora=params.get("dora") == "1", rslora=params.get("rslora") == "1")
