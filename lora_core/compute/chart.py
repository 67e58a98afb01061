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
        fig.add_trace(go.Scatter(x=rows["gpus"], y=rows["gib"], name=rows["label"].iloc[0],
                                 mode="lines+markers", line=dict(color=STRATEGY_COLORS.get(name, "#6b7280")),
                                 hovertemplate="%{x} GPUs: %{y:.1f} GiB per GPU<extra>%{fullData.name}</extra>"))
    fig.add_hline(y=capacity_gib, line=dict(dash="dot", color="#dc2626"),
                  annotation_text=f"{gpu_label}: {capacity_gib:g} GiB", annotation_position="top left")
    top = max(float(frame["gib"].max()) if len(frame) else capacity_gib, capacity_gib) * 1.1
    fig.update_layout(title=dict(text="Memory per GPU against the GPU count (nvidia-smi)", x=0), height=340,
                      margin=dict(l=8, r=8, t=64, b=8), legend=dict(orientation="h", y=1.0, yanchor="bottom", x=0),
                      xaxis=dict(title="GPUs", type="log", tickvals=sorted(frame["gpus"].unique()) if len(frame) else None),
                      yaxis=dict(title="GiB per GPU", type="log", range=None if top <= 0 else None))
    return fig
