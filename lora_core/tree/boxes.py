"""The blocks of a layer diagram and how they are placed: :class:`Box`, :class:`Diagram`, :class:`Layout`.

Coordinates are data units: ``WIDTH`` wide, one unit per row, y growing downwards.
:mod:`.diagram` decides which blocks a layer has; :mod:`.figures` draws them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from .sentences import SENTENCES

WIDTH = 6.0


@dataclass(frozen=True)
class Box:
    """A block of the diagram.

    Attributes:
        id: unique within the diagram (``attn0.v``).
        label: the module's name (``v_proj``) or the block's (``scores``).
        detail: the shape (``4096 → 1024``) or what the block computes.
        kind: a key of ``SENTENCES`` (``v``, ``experts``, ``norm``...).
        group: the colour group (``attention``, ``ffn``, ``experts``, ``router``, ``other``).
        x, y, w: centre and width (height is fixed).
        rows: inventory positions the block stands for (empty for weightless blocks).
    """

    id: str
    label: str
    detail: str
    kind: str
    group: str
    x: float
    y: float
    w: float
    rows: tuple[int, ...] = field(default=())

    @property
    def sentence(self) -> str:
        return SENTENCES.get(self.kind, "")

    @property
    def clickable(self) -> bool:
        return bool(self.rows)


@dataclass(frozen=True)
class Diagram:
    """A laid-out layer: blocks, edges ``(from_id, to_id, 'flow' | 'skip')``, section titles."""

    title: str
    boxes: tuple[Box, ...]
    edges: tuple[tuple[str, str, str], ...]
    titles: tuple[tuple[float, str], ...]
    height: float


def short_name(name: str) -> str:
    """``model.layers.3.mlp.experts.gate_up_proj -> 'experts.gate_up_proj'``; ``...q_proj -> 'q_proj'``."""
    parts = name.split(".")
    return ".".join(parts[-2:]) if parts[-2] in ("experts", "shared_experts", "shared_expert") else parts[-1]


def shape_text(inv: pd.DataFrame, i: int) -> str:
    r = inv.iloc[i]
    experts = f" × {r['num_experts']}" if r["num_experts"] > 1 else ""
    conv = "Conv1D " if r["kind"] == "conv1d" else ""  # GPT-2's transposed linear, which LoRA wraps as such
    return f"{conv}{r['in_features']} → {r['out_features']}{experts}"


class Layout:
    """Rows of boxes, placed one row per unit; edges between consecutive rows that overlap."""

    def __init__(self) -> None:
        self.boxes: list[Box] = []
        self.edges: list[tuple[str, str, str]] = []
        self.titles: list[tuple[float, str]] = []
        self.y = 0.0
        self.last: list[Box] = []
        self.post_norm = False

    def residual(self, sid: str) -> None:
        """The residual add closing a section (with its norm after it in a post-norm model)."""
        self.row([(f"{sid}.res", "⊕ residual, then norm" if self.post_norm else "⊕ residual", "", "residual",
                   "other", ())])

    def row(self, items: list[tuple[str, str, str, str, str, tuple[int, ...]]],
            xs: list[float] | None = None, widths: list[float] | None = None, link: bool = True) -> list[Box]:
        """Place ``(id, label, detail, kind, group, rows)`` items side by side at the next y."""
        n = len(items)
        if not n:
            return []
        w = widths or [min(2.6, (WIDTH - 0.4) / n - 0.15)] * n
        xs = xs or [WIDTH * (i + 0.5) / n for i in range(n)]
        placed = [Box(i, lab, det, kind, grp, x, self.y + 0.5, wi, rows)
                  for (i, lab, det, kind, grp, rows), x, wi in zip(items, xs, w)]
        if link:
            for a in self.last:
                for b in placed:
                    if len(self.last) == 1 or len(placed) == 1 or abs(a.x - b.x) < (a.w + b.w) / 2:
                        self.edges.append((a.id, b.id, "flow"))
        self.boxes.extend(placed)
        self.last = placed
        self.y += 1.0
        return placed


def box_item(inv: pd.DataFrame, prefix: str, rows: list[int], kind: str, group: str,
              label: str | None = None) -> tuple[str, str, str, str, str, tuple[int, ...]]:
    first = rows[0]
    return (f"{prefix}.{kind}", label or short_name(inv["name"].iat[first]), shape_text(inv, first), kind, group,
            tuple(rows))
