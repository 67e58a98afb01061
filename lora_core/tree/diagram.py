"""One layer of the actual model as blocks and edges, in the order data flows through it.

:func:`layer_diagram` reads one layer's inventory rows and lays out, per section (self- or
cross-attention, then the FFN or MoE block): norm → projections → scores → O → residual, and
norm → gate/up → activation → down (or router → routed experts + shared expert) → residual.
It draws what the model has: a fused ``c_attn`` as one block holding Q, K and V, MLA's
compressed projections, GQA head counts, a vision tower as one block. Blocks carry the
inventory rows they stand for, so a click toggles exactly those modules (:mod:`.keys`).
Coordinates are data units: ``WIDTH`` wide, one unit per row, y growing downwards.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..numbers import human
from .boxes import WIDTH, Diagram, Layout, box_item, shape_text

_ATTN = ("q", "k", "v", "o", "qkv", "q_a", "q_b", "kv_a", "kv_b")


def _heads(config: Any, cross: bool) -> str:
    heads = getattr(config, "num_attention_heads", None) or getattr(config, "num_heads", None)
    kv = getattr(config, "num_key_value_heads", None) or heads
    if not heads:
        return "softmax(Q·Kᵀ)·V"
    if kv and kv < heads:
        share = f", {heads // kv} queries share each" if heads % kv == 0 else ""
        return f"{heads} query heads, {kv} K/V heads (GQA{share})"
    return f"{heads} heads" + (" · K, V from the encoder" if cross else "")


def _projections(lay: Layout, by_role: dict[str, list[int]], item) -> None:
    """Q, K, V as three blocks, or one fused block holding them, or MLA's compress-then-expand pairs."""
    if "qkv" in by_role:
        lay.row([(*item("qkv")[:2], item("qkv")[2] + " · Q K V", *item("qkv")[3:])], widths=[3.6])
    elif {"q_a", "kv_a"} & by_role.keys() or "kv_b" in by_role:
        lay.row([item(r) for r in ("q_a", "kv_a") if r in by_role] or [item("q")])
        lay.row([item(r) for r in ("q_b", "kv_b") if r in by_role])
    else:
        lay.row([item(r) for r in ("q", "k", "v") if r in by_role])


def _attention(lay: Layout, inv: pd.DataFrame, rows: list[int], sid: str, config: Any, norm: bool,
               cross: bool) -> None:
    by_role: dict[str, list[int]] = {}
    for i in rows:
        by_role.setdefault(inv["role"].iat[i], []).append(i)
    item = lambda role: box_item(inv, sid, by_role[role], role, "attention")  # noqa: E731
    if cross:  # Q from the decoder's stream, K and V from the encoder's output
        before = lay.last
        lay.row([(f"{sid}.norm", "norm" if norm else "decoder stream", "", "norm", "other", ()),
                 (f"{sid}.enc", "encoder output", "", "encoder", "other", ())], xs=[3.0, 5.05], widths=[2.0, 1.7],
                link=False)
        lay.edges.extend((a.id, f"{sid}.norm", "flow") for a in before)
        lay.row([item(r) for r in ("q", "k", "v") if r in by_role], link=False)
        lay.edges.extend((f"{sid}.norm" if r == "q" else f"{sid}.enc", f"{sid}.{r}", "flow")
                         for r in ("q", "k", "v") if r in by_role)
    elif norm:
        lay.row([(f"{sid}.norm", "norm", "", "norm", "other", ())])
    if not cross:
        _projections(lay, by_role, item)
    mla = "kv_b" in by_role and getattr(config, "kv_lora_rank", None)
    detail = _heads(config, cross) + (f" · latent {config.kv_lora_rank}" if mla else "")
    lay.row([(f"{sid}.scores", "cross-attention scores" if cross else "attention scores", detail,
              "scores", "other", ())], widths=[4.6])
    if "o" in by_role:
        lay.row([item("o")])
    lay.residual(sid)


def _ffn(lay: Layout, inv: pd.DataFrame, rows: list[int], sid: str, config: Any, norm: bool) -> None:
    if norm:
        lay.row([(f"{sid}.norm", "norm", "", "norm", "other", ())])
    groups = inv["group"].to_numpy()
    names = inv["name"].to_numpy()
    routed = [i for i in rows if groups[i] == "experts"]
    router = [i for i in rows if groups[i] == "router"]
    dense = [i for i in rows if groups[i] == "ffn"]
    act = str(getattr(config, "hidden_act", None) or getattr(config, "activation_function", None)
              or getattr(config, "dense_act_fn", None) or getattr(config, "feed_forward_proj", "") or "")
    if routed or router:
        _moe(lay, inv, sid, routed, router, [i for i in dense if "shared" in names[i]], config)
    else:
        _dense(lay, inv, sid, dense, act)
    lay.residual(sid)


def _by_role(inv: pd.DataFrame, rows: list[int]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for i in rows:
        out.setdefault(inv["role"].iat[i], []).append(i)
    return out


def _dense(lay: Layout, inv: pd.DataFrame, sid: str, rows: list[int], act: str) -> None:
    roles = _by_role(inv, rows)
    top = [box_item(inv, sid, roles[r], r, "ffn") for r in ("gate", "up", "gate_up") if r in roles]
    if top:
        lay.row(top)
    gated = "gate" in roles or "gate_up" in roles
    lay.row([(f"{sid}.act", f"{act or 'activation'}" + (" (gate) × up" if gated else ""), "", "activation",
              "other", ())], widths=[3.2])
    if "down" in roles:
        lay.row([box_item(inv, sid, roles["down"], "down", "ffn")])


def _shared_label(name: str) -> str:
    """``...shared_experts.gate_proj -> 'shared gate'``: the shared expert's block, named as such."""
    return "shared " + name.rpartition(".")[2].removesuffix("_proj")


def _moe(lay: Layout, inv: pd.DataFrame, sid: str, routed: list[int], router: list[int],
         shared: list[int], config: Any) -> None:
    if router:
        top_k = getattr(config, "num_experts_per_tok", None)
        detail = shape_text(inv, router[0]) + (f" · top {top_k}" if top_k else "")
        lay.row([(f"{sid}.router", "router", detail, "router", "router", tuple(router))], widths=[3.0])
    experts = _by_role(inv, routed)
    sh = _by_role(inv, shared)
    up_roles = [r for r in ("gate_up", "gate", "up") if r in experts]
    xs_routed, xs_shared = (1.55, 4.5) if shared else (WIDTH / 2, 0.0)
    items, xs, widths = [], [], []
    for j, r in enumerate(up_roles):
        items.append(box_item(inv, sid + ".experts", experts[r], "experts", "experts"))
        items[-1] = (f"{sid}.experts.{r}",) + items[-1][1:]
        xs.append(xs_routed + (j - (len(up_roles) - 1) / 2) * 1.45)
        widths.append(2.8 / max(1, len(up_roles)))
    sh_up = [r for r in ("gate", "up", "gate_up") if r in sh]
    for j, r in enumerate(sh_up):
        items.append((f"{sid}.shared.{r}", _shared_label(inv["name"].iat[sh[r][0]]),
                      shape_text(inv, sh[r][0]), "shared", "ffn", tuple(sh[r])))
        xs.append(xs_shared + (j - (len(sh_up) - 1) / 2) * 1.4)
        widths.append(1.3)
    if items:
        lay.row(items, xs=xs, widths=widths)
    down = []
    if "down" in experts:
        down.append(((f"{sid}.experts.down",) + box_item(inv, sid, experts["down"], "experts", "experts")[1:],
                     xs_routed, 2.8))
    if "down" in sh:
        down.append(((f"{sid}.shared.down", _shared_label(inv["name"].iat[sh["down"][0]]), shape_text(inv, sh["down"][0]),
                      "shared", "ffn",
                      tuple(sh["down"])), xs_shared, 2.7))
    if down:
        lay.row([d[0] for d in down], xs=[d[1] for d in down], widths=[d[2] for d in down])
    n = getattr(config, "n_routed_experts", None) or getattr(config, "num_local_experts", None) or \
        getattr(config, "num_experts", None)
    label = f"weighted sum of {n} routed experts" if n else "weighted sum of the routed experts"
    lay.row([(f"{sid}.combine", label + (" + shared" if shared else ""), "", "activation", "other", ())],
            widths=[4.6])


def _sections(inv: pd.DataFrame, rows: list[int]) -> list[tuple[str, list[int]]]:
    """``('attn', rows)`` per attention block (by parent module) and one ``('ffn', rows)``, in order."""
    out: dict[str, list[int]] = {}
    kinds, groups, modules = inv["kind"].to_numpy(), inv["group"].to_numpy(), inv["module"].to_numpy()
    for i in rows:
        if kinds[i] == "other":
            continue
        if groups[i] == "attention":
            out.setdefault("attn:" + modules[i].rpartition(".")[0], []).append(i)
        elif groups[i] in ("ffn", "experts", "router"):
            out.setdefault("ffn", []).append(i)
    roles = inv["role"].to_numpy()
    merged: list[tuple[str, list[int]]] = []
    for k, v in out.items():  # BERT: attention.output.dense (O) joins attention.self (Q, K, V)
        if k.startswith("attn:") and set(roles[v]) <= {"o"} and merged and merged[-1][0].startswith("attn:"):
            merged[-1][1].extend(v)
        else:
            merged.append((k, v))
    return merged


def _is_norm(name: str) -> bool:
    leaf = name.rpartition(".")[2].lower()
    return "norm" in leaf or leaf.startswith("ln")


def _vision(lay: Layout, inventory: pd.DataFrame) -> None:
    vis = inventory[inventory["stack"] == "vision"]
    proj = inventory[inventory["stack"] == "projector"]
    layers = vis["layer"].dropna()
    n = int(layers.max()) + 1 if len(layers) else 0
    items = [("vision", "vision tower", f"{n} layers · {human(int(vis['base_params'].sum()))} params", "vision",
              "other", ())]
    if len(proj):
        items.append(("projector", "projector", f"{human(int(proj['base_params'].sum()))} params", "projector",
                      "other", ()))
    lay.row(items, link=False)


def layer_diagram(inventory: pd.DataFrame, stack: str, layer: int, config: Any) -> Diagram:
    """The diagram of layer ``layer`` of ``stack`` (``config``: the config of that stack)."""
    rows = np.flatnonzero(((inventory["stack"] == stack) & (inventory["layer"] == layer)).fillna(False).to_numpy())
    rows = [int(i) for i in rows]
    lay = Layout()
    if stack in ("language", "decoder") and (inventory["stack"] == "vision").any():
        _vision(lay, inventory)
    lay.row([("in", f"hidden states in · {stack} layer {layer}", "", "residual", "other", ())], widths=[4.6])
    sections = _sections(inventory, rows)
    names = inventory["name"].to_numpy()
    norms = [i for i in rows if inventory["kind"].iat[i] == "other" and _is_norm(names[i])]
    outer = [i for i in norms if inventory["group"].iat[i] == "other" or "layer_norm" in names[i]]
    has_norm = len(outer) >= len(sections)
    lay.post_norm = bool(norms) and not has_norm  # BERT: LayerNorm(x + sublayer), after the add
    for j, (key, sec_rows) in enumerate(sections):
        sid = f"s{j}"
        start = len(lay.boxes)
        if key.startswith("attn:"):
            cross = any(t in key.lower() for t in ("encdec", "cross", "encoder_attn"))
            lay.titles.append((lay.y, "cross-attention" if cross else "self-attention"))
            _attention(lay, inventory, sec_rows, sid, config, has_norm, cross)
        else:
            moe = (inventory["group"].to_numpy()[sec_rows] == "experts").any()
            lay.titles.append((lay.y, "mixture of experts" if moe else "feed-forward (FFN)"))
            _ffn(lay, inventory, sec_rows, sid, config, has_norm)
        first, res = lay.boxes[start], lay.boxes[-1]
        lay.edges.append((first.id, res.id, "skip"))
    lay.row([("out", "hidden states out → next layer", "", "residual", "other", ())], widths=[4.6])
    return Diagram(f"{stack} layer {layer}", tuple(lay.boxes), tuple(lay.edges), tuple(lay.titles), lay.y)
