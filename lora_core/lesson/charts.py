"""The lesson's figures, as plain Plotly specs (:class:`lora_core.charts.SpecFigure`).

Each figure's title names its source; the numbers come from :mod:`.budget` (this model) or
:mod:`.evidence` (the sources' own).
"""

from __future__ import annotations

import pandas as pd

from ..charts import SpecFigure, human

PAPER_COLOR, MODEL_COLOR, OTHER_COLOR = "#a855f7", "#2563eb", "#9ca3af"


def _layout(title: str, height: int, **extra) -> dict:
    return dict(title=dict(text=title, x=0, y=0.98, yanchor="top"), height=height,
                margin=dict(l=8, r=8, t=64, b=8), hoverlabel=dict(namelength=-1),
                legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="left", x=0), **extra)


def budget_bars(frame: pd.DataFrame, budget: int) -> SpecFigure:
    """The rank each target set gets at ``budget`` on this model (``budget.equal_budget``'s frame),
    each bar labelled with its exact count; sets the model lacks are left empty."""
    f = frame.iloc[::-1]
    text = [f"r={r} · {human(t)}" if r else n for r, t, n in zip(f["rank"], f["trainable"], f["note"])]
    data = [dict(type="bar", orientation="h", y=list(f["label"]), x=[int(r) for r in f["rank"]], text=text,
                 textposition="auto", customdata=[int(t) for t in f["trainable"]],
                 marker=dict(color=[MODEL_COLOR if p else OTHER_COLOR for p in f["paper"]]),
                 hovertemplate="%{y}: rank %{x}, %{customdata:,} trainable<extra></extra>", name="this model")]
    return SpecFigure(data, _layout(f"This model: rank per target set at {human(budget)} parameters", 380,
                                    xaxis=dict(title=dict(text="LoRA rank"), automargin=True),
                                    yaxis=dict(automargin=True), showlegend=False))


def table5_dots(table5: pd.DataFrame) -> SpecFigure:
    """The LoRA paper's Table 5: validation accuracy by weight type at 18M parameters (GPT-3), a
    dot per column with the paper's spread (WikiSQL ±0.5, MultiNLI ±0.1) on two side-by-side axes."""
    y = [f"{w} (r={r})" for w, r in zip(table5["weights"], table5["rank"])][::-1]
    data = []
    for name, col, err, color, axis in (("WikiSQL", "wikisql", 0.5, PAPER_COLOR, "x"),
                                        ("MultiNLI", "multinli", 0.1, "#f59e0b", "x2")):
        values = list(table5[col])[::-1]
        data.append(dict(type="scatter", mode="markers+text", name=f"{name} (±{err})", x=values, y=y, xaxis=axis,
                         text=[f"{v:.1f}" for v in values], textposition="top center", cliponaxis=False,
                         error_x=dict(type="constant", value=err, color=color), marker=dict(size=10, color=color),
                         hovertemplate=f"%{{y}}: {name} %{{x:.1f}} % (±{err})<extra></extra>"))
    return SpecFigure(data, _layout("LoRA paper, Table 5: accuracy (%)", 380, showlegend=False,
                                    xaxis=dict(domain=[0, 0.46], title=dict(text="WikiSQL ±0.5"),
                                               range=[69, 75], automargin=True),
                                    xaxis2=dict(domain=[0.54, 1], title=dict(text="MultiNLI ±0.1"),
                                                range=[90.4, 92.2], automargin=True),
                                    yaxis=dict(automargin=True)))


def metamath_scatter(frame: pd.DataFrame, x: str, source: str) -> SpecFigure:
    """PEFT's MetaMathQA runs: GSM8K test accuracy against ``x`` (``trainable`` on a log axis, or
    ``memory_gb``), one point per run, labelled by method, targets and rank."""
    labels = [f"{m} {t}" + (f" r{int(r)}" if pd.notna(r) else "")
              for m, t, r in zip(frame["method"], frame["targets"], frame["rank"])]
    colors = [MODEL_COLOR if "MLP" in t else PAPER_COLOR if t == "Q,V" else OTHER_COLOR for t in frame["targets"]]
    xs = [int(v) for v in frame[x]] if x == "trainable" else [round(float(v), 2) for v in frame[x]]
    data = [dict(type="scatter", mode="markers+text", x=xs, y=[round(a, 1) for a in frame["accuracy"]],
                 text=labels, textposition="top center", textfont=dict(size=10), marker=dict(size=10, color=colors),
                 customdata=list(frame["file"]), name="runs",
                 hovertemplate="%{text}<br>%{x:,} · %{y:.1f} %<br>%{customdata}<extra></extra>")]
    axis = (dict(title=dict(text="trainable parameters (log)"), type="log", automargin=True) if x == "trainable"
            else dict(title=dict(text="peak accelerator memory (GB, accelerator_memory_max)"), automargin=True))
    title = "PEFT MetaMathQA, Llama-3.2-3B: GSM8K test accuracy (%) vs " + \
        ("trainable parameters" if x == "trainable" else "memory")
    return SpecFigure(data, _layout(title, 400, xaxis=axis, showlegend=False,
                                    yaxis=dict(title=dict(text="test accuracy (%)"), automargin=True),
                                    annotations=[dict(text=source, xref="paper", yref="paper", x=0, y=-0.01,
                                                      yanchor="top", showarrow=False, font=dict(size=9))]))
