"""``inspect MODEL``: headline sizes, then attention and FFN modules folded over layers."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from ..numbers import human
from . import COMMANDS, command_name, result_cache
from .common import add_model_arguments, open_from_args

if TYPE_CHECKING:  # pandas loads when the output is not cached; torch and transformers with no snapshot
    import pandas as pd

    from ..model import OpenedModel
    from ..model.snapshot import SnapshotModel
    from ..model.summary import ModelSummary

    Inspected = OpenedModel | SnapshotModel

SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Attention", ("attention",)),
    ("Linear attention", ("linear-attention",)),
    ("SSM / recurrent mixer", ("ssm",)),
    ("FFN", ("ffn", "experts", "router")),
)
_ALWAYS = ("Attention", "FFN")  # the mixer sections only when the model has them
_HEADLINES: tuple[tuple[str, str], ...] = (
    ("hidden size", "hidden_size"), ("intermediate size", "intermediate_size"),
    ("MoE intermediate size", "moe_intermediate_size"), ("layers", "num_layers"),
    ("attention heads", "num_heads"), ("KV heads", "num_kv_heads"), ("vocab", "vocab_size"),
    ("routed experts", "num_experts"),
)


def register(subparsers: Any) -> None:
    """Add the ``inspect`` subcommand."""
    p = subparsers.add_parser(command_name("inspect"), help=COMMANDS["inspect"],
                              description=__doc__)
    add_model_arguments(p)
    p.add_argument("--json", action="store_true",
                   help='print {"summary": {...}, "inventory": [rows]} as JSON')
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Open the model and print it, as text or JSON. A preset's output comes from the result
    cache when this code and these libraries made it before (:mod:`lora_core.cli.result_cache`),
    else its model from the shipped snapshot when that was made by the same libraries and code
    (:mod:`lora_core.model.snapshot`), else from a live build."""
    key = _cache_key(args)
    output = result_cache.get(key) if key else None
    if output is None:
        opened = _from_snapshot(args) or open_from_args(args)
        output = to_json(opened) if args.json else render(opened)
        if key:
            result_cache.put(key, output)
    print(output)
    return 0


def _cache_key(args: argparse.Namespace) -> str | None:
    """The cache key of this command on a preset (``None`` for other sources: a Hub config or a
    file may change under the same name)."""
    from ..model import presets

    if not presets.is_preset(args.model) or args.trust_remote_code:
        return None
    task = f"{getattr(args, 'task_type', None)}/{getattr(args, 'num_labels', None)}"
    return result_cache.key("inspect", "json" if args.json else "text", task, args.model,
                            presets.preset_path(args.model).read_bytes())


def _from_snapshot(args: argparse.Namespace) -> SnapshotModel | None:
    """The preset's snapshot for the class its config names (no task flags), when it is valid here."""
    if args.trust_remote_code or getattr(args, "task_type", None) or getattr(args, "num_labels", None) is not None:
        return None
    from ..model import snapshot

    return snapshot.load(args.model)


def to_json(opened: Inspected) -> str:
    """The summary and every inventory row as JSON (missing values as ``null``)."""
    src = opened.source
    payload = {
        "source": {"label": src.label, "kind": src.kind, "revision": src.revision},
        "summary": opened.summary.to_dict(),
        "inventory": json.loads(opened.inventory.to_json(orient="records")),
    }
    return json.dumps(payload, indent=2)


def render(opened: Inspected) -> str:
    """The human report: headline figures, then each section folded over identical layers."""
    s, src = opened.summary, opened.source
    lines = [f"{src.label} ({src.kind}): {s.model_type}, {s.auto_class}", *_headlines(s), ""]
    inv = opened.inventory
    for title, groups in SECTIONS:
        if title in _ALWAYS or inv["group"].isin(groups).any():
            lines += _section(title, inv, groups)
    lines += _not_offered(inv)
    lines += _outside_layers(inv)
    return "\n".join(lines).rstrip()


def _headlines(s: ModelSummary) -> list[str]:
    rows = [(label, f"{getattr(s, attr):,}") for label, attr in _HEADLINES
            if getattr(s, attr) is not None and not (attr == "num_experts" and not s.num_experts)]
    rows.append(("total parameters", f"{s.total_params:,} ({human(s.total_params, one_decimal=True)})"))
    if s.fused_roles:
        rows.append(("fused roles", ", ".join(s.fused_roles)))
    return [f"  {label:<22}{value}" for label, value in rows]


def _section(title: str, inv: pd.DataFrame, groups: tuple[str, ...]) -> list[str]:
    from ..model.summary import fold_layers, relative_name

    rows = inv[inv["targetable"] & inv["group"].isin(groups)]
    lines = [f"{title} modules: {len(rows):,} targetable"]
    folded = fold_layers(rows)
    if folded.empty:
        return lines + ["  (none found)", ""]
    for r in folded.itertuples(index=False):
        lines.append(f"  {r.stack} {r.label}")
        first = rows[(rows["stack"] == r.stack) & (rows["layer"] == r.first_layer)]
        names = [relative_name(n) for n in first["name"]]
        width = max(map(len, names))
        lines += [_module_line(m, n, width) for n, (_, m) in zip(names, first.iterrows())]
    return lines + [""]


def _module_line(m: pd.Series, name: str, width: int) -> str:
    """One module: name, role (with what a fused role holds), kind, shape, parameters."""
    role = m["role"] if "+" not in m["contains"] else f"{m['role']} ({m['contains']})"
    shape = f"{m['in_features']:,} -> {m['out_features']:,}"
    if m["num_experts"] > 1:
        shape = f"{m['num_experts']} experts x {shape}"
    return f"    {name:<{width}}  {role:<17} {m['kind']:<16} {shape:<30} {m['base_params']:>15,} params"


def _not_offered(inv: pd.DataFrame) -> list[str]:
    """Units PEFT refuses on this model (Mamba's ``out_proj``), one line per leaf name, with why."""
    refused = inv[inv["not_offered"].notna()]
    if refused.empty:
        return []
    leaves = refused["name"].str.rsplit(".", n=1).str[-1]
    lines = [f"Not offered: {len(refused)} modules PEFT refuses"]
    for leaf in sorted(set(leaves)):
        lines.append(f"  {leaf} ({int((leaves == leaf).sum())} modules): "
                     f"{refused.loc[leaves == leaf, 'not_offered'].iloc[0]}")
    return lines + [""]


def _outside_layers(inv: pd.DataFrame) -> list[str]:
    import pandas as pd

    rows = inv[inv["targetable"] & inv["layer"].isna()]
    if rows.empty:
        return []
    lines = [f"Outside the layers: {len(rows)} targetable"]
    width = int(rows["name"].str.len().max())
    for _, m in rows.iterrows():
        line = _module_line(m, m["name"], width)
        if m["tied_to"] is not None and not pd.isna(m["tied_to"]):
            line += f" (tied to {m['tied_to']})"
        lines.append(line)
    return lines
