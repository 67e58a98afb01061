"""Plotly figures of the module tree (an icicle) and of one layer (a block diagram).

Both are plain-dict :class:`~lora_core.charts.SpecFigure` s (cheap to rebuild on a rerun).
Targeted modules are in their group's full colour with a dark outline and their rank; the rest
are tinted. In the diagram, blocks a click can toggle are the points of trace 0 (the page reads
Plotly's selection events); blocks without weights are drawn but not clickable.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from ..charts import GROUP_COLORS, SpecFigure, tint
from ..numbers import human
from .boxes import WIDTH, Box, Diagram
from .sentences import SENTENCES

AreaBy = Literal["base", "lora"]
PX_PER_ROW = 62
_BOX_H, _THIN_H = 0.74, 0.5
_TARGET_LINE, _EDGE = "#111827", "#6b7280"
_ADDED, _DROPPED = "#16a34a", "#dc2626"


def _color(group: str, targeted: bool) -> str:
    base = GROUP_COLORS.get(group, GROUP_COLORS["other"])
    return base if targeted else tint(base, 0.72)


def tree_icicle(nodes: pd.DataFrame, groups: np.ndarray, level: str, area: AreaBy = "base",
                maxdepth: int = 4, was: np.ndarray | None = None, roles: np.ndarray | None = None) -> SpecFigure:
    """The hierarchy as an icicle rooted at node ``level``; area by base or LoRA parameters.

    ``nodes`` is :func:`~lora_core.tree.hierarchy.node_table`; ``groups`` the inventory group of
    each node's first row ('' for containers). With ``was`` (per node, modules a saved plan
    targets), leaves the current plan adds are outlined green, leaves it drops red.
    """
    values = nodes["base_params" if area == "base" else "lora_params"].to_numpy()
    hit = nodes["targeted"].to_numpy() > 0
    leaf = nodes["leaf"].to_numpy(bool)
    colors = [(_color(g, h) if lf else ("#bfdbfe" if h else "#f3f4f6")) for g, h, lf in zip(groups, hit, leaf)]
    rank = nodes["rank"].to_numpy()
    line_w = [2.5 if (h and lf) else 0.6 for h, lf in zip(hit, leaf)]
    line_c = [_TARGET_LINE if (h and lf) else "#ffffff" for h, lf in zip(hit, leaf)]
    if was is not None:
        for i in np.flatnonzero(leaf & (hit != (was > 0))):
            line_w[i], line_c[i] = 4.0, _ADDED if hit[i] else _DROPPED
    text = [(f"r{r}" if lf and r else ("frozen" if lf else f"{human(lo)} LoRA" if lo else ""))
            for lf, r, lo in zip(leaf, rank, nodes["lora_params"])]
    custom = np.column_stack([
        nodes["id"].str.removeprefix("root.").str.replace("root", "whole model"), nodes["kind"], nodes["shape"],
        [f"{b:,}" for b in nodes["base_params"]], [f"{x:,}" for x in nodes["lora_params"]],
        [f"{t} of {n}" for t, n in zip(nodes["targeted"], nodes["targetable"])], nodes["layers"],
        [_wrap(SENTENCES.get(r, "")) if lf and roles is not None else "" for r, lf in
         zip(roles if roles is not None else leaf, leaf)]]).tolist()
    trace = dict(
        type="icicle", ids=nodes["id"].tolist(), parents=nodes["parent"].tolist(),
        labels=[lab.replace(" × ", "<br>× ").replace(" · ", "<br>") for lab in nodes["label"]],
        values=values.astype("int64").tolist(), branchvalues="total", level=level, maxdepth=maxdepth,
        text=text, texttemplate=["<b>%{label}</b> · %{text}" if lf else "<b>%{label}</b><br>%{text}" for lf in leaf],
        textfont=dict(size=12), customdata=custom,
        tiling=dict(orientation="h"), sort=False, pathbar=dict(visible=False),
        marker=dict(colors=colors, line=dict(width=line_w, color=line_c)),
        hovertemplate=("<b>%{customdata[0]}</b><br>%{customdata[1]} %{customdata[2]}<br>base %{customdata[3]}"
                       "<br>LoRA %{customdata[4]}<br>targeted modules: %{customdata[5]}"
                       "<br>stands for %{customdata[6]} layer(s)<br>%{customdata[7]}<extra></extra>"),
    )
    layout = dict(height=560, margin=dict(l=2, r=2, t=4, b=2), uniformtext=dict(minsize=11, mode="hide"),
                  clickmode="event")
    return SpecFigure([trace], layout)


def _box_text(b: Box, rank: int, lora: int) -> str:
    if not b.clickable:
        return f"{b.label}" + (f"<br><span style='font-size:10px'>{b.detail}</span>" if b.detail else "")
    state = f"r{rank} · {human(lora)}" if rank else "frozen"
    return f"<b>{b.label}</b><br>{b.detail}<br>{state}"


def diagram_figure(d: Diagram, ranks: np.ndarray, lora: np.ndarray,
                   other_ranks: np.ndarray | None = None) -> SpecFigure:
    """The layer diagram; ``ranks``/``lora`` per inventory row under the plan.

    With ``other_ranks`` (a saved plan), blocks the current plan adds are outlined green and
    blocks it drops are outlined dashed red.
    """
    shapes, click_x, click_y, click_text, click_hover = [], [], [], [], []
    flat_x, flat_y, flat_text, flat_hover, click_color = [], [], [], [], []
    by_id = {b.id: b for b in d.boxes}
    for b in d.boxes:
        rows = np.asarray(b.rows, dtype=np.int64)
        rank = int(ranks[rows].max()) if len(rows) else 0
        lo = int(lora[rows].sum()) if len(rows) else 0
        h = (_BOX_H if b.clickable else _THIN_H) / 2
        line = dict(color=_TARGET_LINE if rank else "#9ca3af", width=2.5 if rank else 1)
        if other_ranks is not None and len(rows):
            was = bool((other_ranks[rows] > 0).any())
            if rank and not was:
                line = dict(color=_ADDED, width=4)
            elif was and not rank:
                line = dict(color=_DROPPED, width=3, dash="dash")
        fill = _color(b.group, bool(rank)) if b.clickable else "#f9fafb"
        shapes.append(dict(type="rect", x0=b.x - b.w / 2, x1=b.x + b.w / 2, y0=b.y - h, y1=b.y + h,
                           fillcolor=fill, line=line, layer="below"))
        hover = f"<b>{b.label}</b> {b.detail}<br>" + _wrap(b.sentence)
        if b.clickable:
            hover += f"<br>{'rank ' + str(rank) + ', ' + f'{lo:,}' + ' LoRA parameters' if rank else 'frozen'}"
            hover += "<br><i>click to toggle</i>"
            click_x.append(b.x), click_y.append(b.y), click_text.append(_box_text(b, rank, lo))
            click_color.append("#ffffff" if rank and b.group in ("attention", "experts", "router") else "#111827")
            click_hover.append(hover)
        else:
            flat_x.append(b.x), flat_y.append(b.y), flat_text.append(_box_text(b, 0, 0)), flat_hover.append(hover)
    shapes = _edges(d, by_id) + shapes
    data = [
        dict(type="scatter", mode="markers+text", x=click_x, y=click_y, text=click_text, hovertext=click_hover,
             hoverinfo="text", textfont=dict(size=11, color=click_color), name="blocks", showlegend=False,
             marker=dict(size=34, symbol="square", color="rgba(0,0,0,0)"),
             selected=dict(marker=dict(opacity=1)), unselected=dict(marker=dict(opacity=1))),
        dict(type="scatter", mode="text", x=flat_x, y=flat_y, text=flat_text, hovertext=flat_hover,
             hoverinfo="text", textfont=dict(size=11, color="#374151"), showlegend=False),
    ]
    annotations = [dict(x=0.0, y=y + 0.12, xref="x", yref="y", text=f"<i>{t}</i>", showarrow=False,  # in the gap
                        xanchor="left", yanchor="bottom", bgcolor="#ffffff", borderpad=0,
                        font=dict(size=11, color="#6b7280")) for y, t in d.titles]
    axis = dict(visible=False, fixedrange=True)
    layout = dict(
        height=int(d.height * PX_PER_ROW) + 16, margin=dict(l=4, r=4, t=8, b=8), shapes=shapes,
        annotations=annotations, xaxis=dict(range=[0, WIDTH], **axis),
        yaxis=dict(range=[d.height, 0], **axis), plot_bgcolor="#ffffff", dragmode=False,
        hoverlabel=dict(align="left"), clickmode="event+select",
    )
    return SpecFigure(data, layout)


def _wrap(text: str, width: int = 60) -> str:
    words, lines, line = text.split(), [], ""
    for w in words:
        if len(line) + len(w) > width:
            lines.append(line)
            line = ""
        line = f"{line} {w}".strip()
    return "<br>".join([*lines, line]) if line else "<br>".join(lines)


def _edges(d: Diagram, by_id: dict[str, Box]) -> list[dict]:
    """Lines between blocks (bottom of one to top of the next) and skip paths on the right."""
    out = []
    for a_id, b_id, kind in d.edges:
        a, b = by_id[a_id], by_id[b_id]
        ha = (_BOX_H if a.clickable else _THIN_H) / 2
        hb = (_BOX_H if b.clickable else _THIN_H) / 2
        if kind == "skip":  # from the stream above the section's first row, down the right side
            xr, top = WIDTH - 0.06, a.y - 0.5
            out.append(dict(type="path", path=f"M {WIDTH / 2},{top} L {xr},{top} L {xr},{b.y} L {b.x + b.w / 2},{b.y}",
                            line=dict(color=_EDGE, width=1, dash="dot"), layer="below"))
            continue
        out.append(dict(type="line", x0=a.x, y0=a.y + ha, x1=b.x, y1=b.y - hb, line=dict(color=_EDGE, width=1.2),
                        layer="below"))
    return out


def row_status(ranks: np.ndarray, other: np.ndarray) -> np.ndarray:
    """Per inventory row: 1 the current plan adds it, -1 drops it, 0 same, against ``other``."""
    now, was = ranks > 0, other > 0
    return now.astype(np.int8) - was.astype(np.int8)
