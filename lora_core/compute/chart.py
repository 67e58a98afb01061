"""The chart of memory per GPU against the GPU count: one line per strategy, the GPU's capacity drawn."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

STRATEGY_COLORS: dict[str, str] = {"single": "#111827", "ddp": "#9ca3af", "zero1": "#93c5fd", "zero2": "#3b82f6",
                                   "zero3": "#1d4ed8", "fsdp": "#f59e0b", "fsdp-sgo": "#fcd34d",
                                   "fsdp-qlora": "#ef4444"}


def per_gpu_chart(frame: pd.DataFrame, capacity_gib: float, gpu_label: str) -> go.Figure:
    """``frame``: :func:`lora_core.memory.parallel.sweep_frame` (``strategy, label, gpus, gib``)."""
    fig = go.Figure()
    for name, rows in frame.groupby("strategy", sort=False):
        # plain lists: a Series would be sent as a typed binary array
        fig.add_trace(go.Scatter(x=rows["gpus"].tolist(), y=rows["gib"].astype(float).tolist(), name=rows["label"].iloc[0],
                                 mode="lines+markers", line=dict(color=STRATEGY_COLORS.get(name, "#6b7280")),
                                 hovertemplate="%{x} GPUs: %{y:.1f} GiB per GPU<extra>%{fullData.name}</extra>"))
    fig.add_hline(y=capacity_gib, line=dict(dash="dot", color="#dc2626"),
                  annotation_text=f"{gpu_label}: {capacity_gib:g} GiB", annotation_position="top left")
    # Linear GiB, cut at three times the GPU: what no count brings near the GPU is off the chart.
    top = min(max(float(frame["gib"].max()) if len(frame) else 0.0, capacity_gib) * 1.1, 3 * capacity_gib)
    fig.update_layout(title=dict(text="Memory per GPU against the GPU count (nvidia-smi)", x=0, y=0.98), height=380,
                      margin=dict(l=8, r=8, t=40, b=8),
                      legend=dict(orientation="h", y=-0.22, yanchor="top", x=0, font=dict(size=11)),
                      xaxis=dict(title="GPUs", type="log",
                                 tickvals=[int(n) for n in sorted(frame["gpus"].unique())] if len(frame) else None),
                      yaxis=dict(title="GiB per GPU", range=[0, top]))
    return fig
