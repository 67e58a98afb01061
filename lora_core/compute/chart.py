"""The chart of memory per GPU against the GPU count: one line per strategy, the GPU's capacity drawn.

Built as plain trace and layout dicts (:class:`lora_core.charts.SpecFigure`), like the Targets page's
other charts: Plotly's object model (and ``add_hline`` most of all) costs milliseconds per click.
"""

from __future__ import annotations

import pandas as pd

from lora_core.charts import SpecFigure

STRATEGY_COLORS: dict[str, str] = {"single": "#111827", "ddp": "#9ca3af", "zero1": "#93c5fd", "zero2": "#3b82f6",
                                   "zero3": "#1d4ed8", "fsdp": "#f59e0b", "fsdp-sgo": "#fcd34d",
                                   "fsdp-qlora": "#ef4444"}


def _line(name: str, rows: pd.DataFrame) -> dict:
    # plain lists: a Series would be sent as a typed binary array
    return dict(type="scatter", x=rows["gpus"].tolist(), y=rows["gib"].astype(float).tolist(),
                name=rows["label"].iloc[0], mode="lines+markers",
                line=dict(color=STRATEGY_COLORS.get(name, "#6b7280")),
                hovertemplate="%{x} GPUs: %{y:.1f} GiB per GPU<extra>%{fullData.name}</extra>")


def per_gpu_chart(frame: pd.DataFrame, capacity_gib: float, gpu_label: str) -> SpecFigure:
    """``frame``: :func:`lora_core.memory.parallel.sweep_frame` (``strategy, label, gpus, gib``)."""
    data = [_line(name, rows) for name, rows in frame.groupby("strategy", sort=False)]
    # Linear GiB, cut at three times the GPU: what no count brings near the GPU is off the chart.
    top = min(max(float(frame["gib"].max()) if len(frame) else 0.0, capacity_gib) * 1.1, 3 * capacity_gib)
    capacity = dict(type="line", xref="x domain", x0=0, x1=1, yref="y", y0=capacity_gib, y1=capacity_gib,
                    line=dict(dash="dot", color="#dc2626"))
    label = dict(xref="x domain", x=0, xanchor="left", yref="y", y=capacity_gib, yanchor="bottom",
                 text=f"{gpu_label}: {capacity_gib:g} GiB", showarrow=False)
    layout = dict(title=dict(text="Memory per GPU against the GPU count (nvidia-smi)", x=0, y=0.98), height=380,
                  margin=dict(l=8, r=8, t=40, b=8),
                  legend=dict(orientation="h", y=-0.22, yanchor="top", x=0, font=dict(size=11)),
                  xaxis=dict(title=dict(text="GPUs"), type="log",
                             tickvals=[int(n) for n in sorted(frame["gpus"].unique())] if len(frame) else None),
                  yaxis=dict(title=dict(text="GiB per GPU"), range=[0, top]),
                  shapes=[capacity], annotations=[label])
    return SpecFigure(data, layout)
