"""The model's module hierarchy from the inventory, with identical consecutive layers folded.

Every inventory row is a leaf; its ancestors are the dotted prefixes of its name. Inside a
layer list (``model.layers``) consecutive layers with the same modules and shapes fold into one
node, ``layers 0–31 × 32``, whose subtree stands for all of them (parameters summed over the
range). Opening a layer splits it out of its fold. The shape is built once per model and set
of opened layers (:func:`build_shape`); a plan only changes the per-node sums
(:func:`node_table`), a NumPy scatter-add.

>>> shape = build_shape(llama_8b_inventory)
>>> shape.nodes.loc[shape.nodes["depth"] == 2, "label"].tolist()
['embed_tokens', 'layers 0–31 × 32', 'norm']
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..peft_rules import LAYER_PARTS

ROOT = "root"
ROOT_LABEL = "whole model"
NODE_COLUMNS = ("id", "parent", "label", "depth", "leaf", "row", "layers", "kind", "shape")
_OWN = " (own)"


@dataclass(frozen=True)
class TreeShape:
    """The folded hierarchy of one model: nodes, and which inventory rows each node sums.

    Attributes:
        nodes: one row per node, columns ``NODE_COLUMNS``: ``id`` (dotted path, folds as
            ``model.layers.0-31``), ``parent``, ``label``, ``depth`` (root 0), ``leaf``,
            ``row`` (inventory position of a leaf's first row, else -1), ``layers`` (layers a
            node stands for, 1 outside folds), ``kind`` and ``shape`` (leaves).
        pair_row, pair_node: inventory row i counts toward node j for each pair (i, j).
        row_node: for each inventory row, the leaf node it is drawn in.
    """

    nodes: pd.DataFrame
    pair_row: np.ndarray
    pair_node: np.ndarray
    row_node: np.ndarray

    def sums(self, per_row: np.ndarray) -> np.ndarray:
        """Per node, the sum of ``per_row`` over the inventory rows under it."""
        out = np.zeros(len(self.nodes), dtype=np.float64)
        np.add.at(out, self.pair_node, per_row[self.pair_row])
        return out


def _signature(rows: pd.DataFrame) -> tuple:
    cols = ["rest", "kind", "in_features", "out_features", "num_experts"]
    return tuple(map(tuple, rows[cols].itertuples(index=False)))


def fold_spans(inventory: pd.DataFrame, opened: frozenset[str] = frozenset()) -> dict[tuple[str, int], str]:
    """For each (layer list, layer index), the id of the node it is drawn in.

    ``opened`` holds layer ids (``model.layers.3``) to show on their own.

    >>> fold_spans(llama)[("model.layers", 5)]
    'model.layers.0-31'
    """
    parts = inventory["name"].str.extract(LAYER_PARTS)
    rows = inventory.assign(prefix=parts["prefix"], idx=pd.to_numeric(parts["idx"]), rest=parts["rest"])
    rows = rows[rows["prefix"].notna()]
    out: dict[tuple[str, int], str] = {}
    for prefix, group in rows.groupby("prefix", sort=False):
        runs: list[list[int]] = []
        previous = None
        for idx, layer_rows in group.groupby("idx", sort=True):
            sig = _signature(layer_rows)
            alone = f"{prefix}.{int(idx)}" in opened
            if runs and sig == previous and not alone and not runs[-1][2] and int(idx) == runs[-1][1] + 1:
                runs[-1][1] = int(idx)
            else:
                runs.append([int(idx), int(idx), alone])
            previous = sig
        for first, last, _ in runs:
            node = f"{prefix}.{first}" if first == last else f"{prefix}.{first}-{last}"
            out.update({(str(prefix), i): node for i in range(first, last + 1)})
    return out


def _label(segment: str, parent: str) -> str:
    if re.fullmatch(r"\d+-\d+", segment):
        a, b = map(int, segment.split("-"))
        return f"{parent.rpartition('.')[2]} {a}–{b} × {b - a + 1}"
    if segment.isdigit():
        noun = parent.rpartition(".")[2]
        return f"{noun[:-1] if noun.endswith('s') else noun} {segment}"
    return segment


def _shape_text(kind: str, fin: int, fout: int, experts: int) -> str:
    if kind == "other":
        return ""
    return f"{fin} → {fout}" + (f" × {experts} experts" if experts > 1 else "")


def _display_paths(inventory: pd.DataFrame, spans: dict[tuple[str, int], str]) -> list[str]:
    paths = []
    for name in inventory["name"]:
        m = LAYER_PARTS.match(name)
        node = spans.get((m["prefix"], int(m["idx"]))) if m else None
        paths.append(f"{ROOT}.{node}.{m['rest']}" if node else f"{ROOT}.{name}")
    return paths


def build_shape(inventory: pd.DataFrame, opened: frozenset[str] = frozenset()) -> TreeShape:
    """The folded hierarchy of ``inventory`` (see the module docstring)."""
    paths = _display_paths(inventory, fold_spans(inventory, opened))
    prefixes = {p.rpartition(".")[0] for p in paths}
    prefixes = {q for p in prefixes for q in _ancestors(p)} | prefixes
    leaf_ids = [p + _OWN if p in prefixes else p for p in paths]  # a module with params and children
    order: dict[str, int] = {}
    records: list[dict] = []

    def add(node: str, leaf: bool, row: int) -> int:
        if node not in order:
            parent = node.removesuffix(_OWN) if node.endswith(_OWN) else node.rpartition(".")[0] if node != ROOT else ""
            seg = node.rpartition(".")[2] if node != ROOT else ROOT_LABEL
            order[node] = len(records)
            span = re.search(r"\.(\d+)-(\d+)(\.|$)", node)
            records.append({"id": node, "parent": parent, "label": seg if leaf and seg.endswith(_OWN) else
                            _label(seg, parent), "depth": node.count("."), "leaf": leaf, "row": row,
                            "layers": int(span[2]) - int(span[1]) + 1 if span else 1})
        return order[node]

    pair_row: list[int] = []
    pair_node: list[int] = []
    row_node = np.zeros(len(leaf_ids), dtype=np.int64)
    for i, leaf in enumerate(leaf_ids):
        for anc in _ancestors(leaf.removesuffix(_OWN).rpartition(".")[0] if leaf.endswith(_OWN) else
                              leaf.rpartition(".")[0]):
            pair_row.append(i), pair_node.append(add(anc, False, -1))
        if leaf.endswith(_OWN):
            base = leaf.removesuffix(_OWN)
            pair_row.append(i), pair_node.append(add(base, False, -1))
        j = add(leaf, True, i)
        row_node[i] = j
        pair_row.append(i), pair_node.append(j)
    nodes = pd.DataFrame(records)
    first = nodes["row"].to_numpy()
    inv = inventory.iloc[np.where(first >= 0, first, 0)]
    nodes["kind"] = np.where(nodes["leaf"], inv["kind"].to_numpy(), "")
    nodes["shape"] = [(_shape_text(k, a, b, e) if leaf else "") for leaf, k, a, b, e in
                      zip(nodes["leaf"], inv["kind"], inv["in_features"], inv["out_features"], inv["num_experts"])]
    return _merge_chains(TreeShape(nodes[list(NODE_COLUMNS)], np.asarray(pair_row), np.asarray(pair_node), row_node))


def _merge_chains(shape: TreeShape) -> TreeShape:
    """Drop containers whose only child is a container (``layers`` above ``layers 0–31 × 32``):
    the child takes their place, so no tree level is spent on a name with nothing beside it."""
    nodes = shape.nodes
    kids = nodes.groupby("parent")["id"].agg(list)
    leaf = dict(zip(nodes["id"], nodes["leaf"]))
    drop = {p for p, ch in kids.items() if p and p != ROOT and len(ch) == 1 and not leaf[ch[0]]}
    if not drop:
        return shape
    parent = dict(zip(nodes["id"], nodes["parent"]))

    def up(p: str) -> str:
        while p in drop:
            p = parent[p]
        return p

    label = dict(zip(nodes["id"], nodes["label"]))

    def named(node: str) -> str:
        text, p = label[node], parent[node]
        while p in drop:  # ``block 0`` above ``layer``: ``block 0 · layer``; ``layers`` above a fold: kept
            text = text if text.startswith(label[p]) else f"{label[p]} · {text}"
            p = parent[p]
        return text

    keep = ~nodes["id"].isin(drop).to_numpy()
    new_pos = np.cumsum(keep) - 1
    merged = nodes[keep].assign(parent=[up(p) for p in nodes.loc[keep, "parent"]],
                                label=[named(i) for i in nodes.loc[keep, "id"]]).reset_index(drop=True)
    depth = {ROOT: 0}
    for i, p in zip(merged["id"], merged["parent"]):
        depth[i] = depth[p] + 1 if p else 0
    merged["depth"] = merged["id"].map(depth)
    pairs = keep[shape.pair_node]
    return TreeShape(merged, shape.pair_row[pairs], new_pos[shape.pair_node[pairs]], new_pos[shape.row_node])


def _ancestors(path: str) -> list[str]:
    """``'model.a.b' -> ['model', 'model.a', 'model.a.b']``."""
    parts = path.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def node_table(shape: TreeShape, inventory: pd.DataFrame, ranks: np.ndarray, lora: np.ndarray) -> pd.DataFrame:
    """The nodes with, under a plan: ``base_params``, ``lora_params``, ``targetable`` and
    ``targeted`` (module counts under the node) and ``rank`` (a leaf's largest rank, 0 if none)."""
    targetable = inventory["targetable"].to_numpy(bool)
    nodes = shape.nodes.copy()
    nodes["base_params"] = shape.sums(inventory["base_params"].to_numpy(np.float64)).astype(np.int64)
    nodes["lora_params"] = shape.sums(lora.astype(np.float64)).astype(np.int64)
    nodes["targetable"] = shape.sums(targetable.astype(np.float64)).astype(np.int64)
    nodes["targeted"] = shape.sums((ranks > 0).astype(np.float64)).astype(np.int64)
    rank = np.zeros(len(nodes), dtype=np.int64)
    np.maximum.at(rank, shape.row_node, ranks)
    nodes["rank"] = rank
    return nodes


def rows_of(shape: TreeShape, node_id: str) -> np.ndarray:
    """Inventory positions counted under node ``node_id`` (all layers of a fold)."""
    j = shape.nodes.index[shape.nodes["id"] == node_id]
    if not len(j):
        return np.zeros(0, dtype=np.int64)
    return np.sort(shape.pair_row[shape.pair_node == j[0]])


def search_focus(shape: TreeShape, inventory: pd.DataFrame, text: str) -> tuple[str, np.ndarray]:
    """The deepest node holding every module whose full name contains ``text``, and those rows.

    The tree opens there, so the path to each hit shows. No hit: ``(ROOT, [])``.
    """
    text = text.strip()
    if not text:
        return ROOT, np.zeros(0, dtype=np.int64)
    hits = np.flatnonzero(inventory["name"].str.contains(text, case=False, regex=False).to_numpy())
    if not len(hits):
        return ROOT, hits
    ids = shape.nodes["id"].to_numpy()
    paths = [ids[shape.row_node[i]].split(".") for i in hits]
    common: list[str] = []
    for parts in zip(*paths):
        if len(set(parts)) > 1:
            break
        common.append(parts[0])
    focus = ".".join(common) or ROOT
    if focus in set(ids[shape.row_node[hits]]):  # one hit: show it inside its parent
        focus = focus.rpartition(".")[0] or ROOT
    return focus, hits
