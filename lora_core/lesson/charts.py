"""The lesson's figures, as plain Plotly specs (:class:`lora_core.charts.SpecFigure`).

Each figure's title names its source; the numbers come from :mod:`.budget` (this model) or
:mod:`.evidence` (the sources' own).
"""

from __future__ import annotations

import pandas as pd

from ..charts import SpecFigure
from ..numbers import human

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


def metamath_bars(frame: pd.DataFrame) -> SpecFigure:
    """PEFT's MetaMathQA runs: GSM8K test accuracy per run (one bar each, best on top), each bar
    labelled with the run's trainable parameters and peak memory, coloured by target set (blue:
    the MLP, purple: Q,V, grey: other)."""
    f = frame.sort_values("accuracy")
    labels = [f"{m} · {t}" + (f" · r{int(r)}" if pd.notna(r) else "")
              for m, t, r in zip(f["method"], f["targets"], f["rank"])]
    colors = [MODEL_COLOR if "MLP" in t else PAPER_COLOR if t == "Q,V" else OTHER_COLOR for t in f["targets"]]
    text = [f"{a:.1f} % · {human(p)} params · {g:.1f} GB" for a, p, g in zip(f["accuracy"], f["trainable"],
                                                                           f["memory_gb"])]
    data = [dict(type="bar", orientation="h", y=labels, x=[round(a, 2) for a in f["accuracy"]], text=text,
                 textposition="inside", insidetextanchor="start", marker=dict(color=colors),
                 customdata=[[int(p), round(g, 2), fl] for p, g, fl in zip(f["trainable"], f["memory_gb"], f["file"])],
                 hovertemplate="%{y}: %{x:.2f} %<br>%{customdata[0]:,} trainable · %{customdata[1]} GB peak"
                               "<br>%{customdata[2]}<extra></extra>", name="runs")]
    return SpecFigure(data, _layout("PEFT MetaMathQA on Llama-3.2-3B: GSM8K test accuracy", 40 * len(f) + 110,
                                    showlegend=False, xaxis=dict(title=dict(text="test accuracy (%)"),
                                                                 range=[0, 55], automargin=True),
                                    yaxis=dict(automargin=True)))
