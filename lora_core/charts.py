"""Plotly figures for the dashboard: pure functions, no Streamlit.

Every figure takes DataFrames from the core (inventory, ``resolve_plan``) and returns a
``plotly.graph_objects.Figure``. Colours are fixed per group and per role, so attention is the
same blue on every chart; layouts keep legends horizontal under the plot so a chart still reads
at 420 px wide. Numbers are shown for people (``41.9 M``) with exact values on hover.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .numbers import human

GROUP_COLORS: dict[str, str] = {
    "attention": "#3b82f6", "linear-attention": "#6366f1", "ssm": "#ec4899", "ffn": "#f59e0b",
    "experts": "#ef4444", "router": "#a855f7", "embedding": "#10b981", "head": "#14b8a6", "other": "#9ca3af",
}
ROLE_COLORS: dict[str, str] = {
    "q": "#1d4ed8", "k": "#3b82f6", "v": "#60a5fa", "o": "#93c5fd", "qkv": "#2563eb",
    "kv": "#3b82f6", "q_a": "#1e40af", "q_b": "#1d4ed8", "kv_a": "#3b82f6", "kv_b": "#60a5fa",
    "linear-attention": "#6366f1", "ssm": "#ec4899", "gate": "#b45309", "up": "#f59e0b", "gate_up": "#d97706", "down": "#fcd34d",
    "experts": "#ef4444", "router": "#a855f7", "embedding": "#10b981", "head": "#14b8a6",
    "other": "#9ca3af",
}
ROLE_ORDER: tuple[str, ...] = tuple(ROLE_COLORS)
_BY_GROUP = ("experts", "router", "embedding", "head", "linear-attention", "ssm")
FROZEN_COLOR = "#d1d5db"
TRAINABLE_COLOR = "#2563eb"


def role_of_row(group: str, role: str) -> str:
    """The legend entry of a row: experts, router, embedding, head and the token-mixer groups
    (linear attention, SSM) by group, else the role."""
    return group if group in _BY_GROUP else role


def _layout(title: str, height: int = 380, **extra) -> dict:
    """The shared layout: left title, tight margins, horizontal legend under the plot."""
    return {**dict(
        title=dict(text=title, x=0, y=0.98, yanchor="top"), height=height, margin=dict(l=8, r=8, t=64, b=8),
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="left", x=0, font=dict(size=11)),
        hoverlabel=dict(namelength=-1),
    ), **extra}


class SpecFigure(go.Figure):
    """A figure kept as its plain JSON spec: ``to_dict()`` returns the trace and layout dicts as built.

    Plotly's object model validates and deep-copies every property, about 10 ms per figure here;
    the Targets page redraws four figures on every click, so figures are built as plain dicts and
    wrapped in this thin ``Figure`` (Streamlit accepts any ``BaseFigure`` and only calls
    ``to_dict``). :meth:`validated` gives a full, validated ``go.Figure`` (tests use it).

    ``go.Figure.__init__`` is not called: it builds an empty figure and deep-copies Plotly's default
    template into it (1.5 ms, for an object model nothing reads here). So ``data``, ``layout`` and
    the other ``Figure`` properties are absent; read :attr:`spec` or :meth:`validated` instead.
    """

    def __init__(self, data: list[dict], layout: dict) -> None:  # noqa: super-init-not-called (see above)
        self._spec = {"data": data, "layout": layout}

    @property
    def spec(self) -> dict:
        """The figure as plain dicts: ``{"data": [trace, ...], "layout": {...}}``."""
        return self._spec

    def to_dict(self) -> dict:
        return {"data": list(self._spec["data"]), "layout": dict(self._spec["layout"])}

    def to_plotly_json(self) -> dict:
        return self.to_dict()

    def validated(self) -> go.Figure:
        """The same figure through Plotly's validation (raises on an invalid property)."""
        return go.Figure(self.to_dict())


def _figure(data: list[dict], layout: dict) -> SpecFigure:
    """A figure from plain trace and layout dicts (see :class:`SpecFigure`)."""
    return SpecFigure(data, layout)


def _axis(title: str, **extra) -> dict:
    return dict(title=dict(text=title), automargin=True, **extra)


def _fixed_axis(title: str, **extra) -> dict:
    """An axis inside the figure's own margins: no ``automargin``, so Plotly draws the figure once
    instead of drawing it, growing the margins to fit the labels, and drawing it again (the Targets
    page's charts are drawn afresh on every click). Tick labels are kept short (``20M``) to fit."""
    return dict(title=dict(text=title), automargin=False, **extra)


# Margins that hold the title and a one-row legend on top, and the axis labels, without growing.
_FIXED_MARGIN = dict(l=64, r=12, t=72, b=44)


def _sum_by(keys: list[np.ndarray], values: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Sum ``values`` per distinct combination of ``keys`` (sorted), without pandas' groupby cost."""
    codes, uniques = zip(*(np.unique(k, return_inverse=True)[::-1] for k in keys)) if keys else ((), ())
    combined = np.zeros(len(values), np.int64)
    for code, uniq in zip(codes, uniques):
        combined = combined * len(uniq) + code
    found, inverse = np.unique(combined, return_inverse=True)
    sums = np.zeros(len(found), np.int64)
    np.add.at(sums, inverse, values.astype(np.int64))
    out, rest = [], found
    for uniq in reversed(uniques):
        out.append(uniq[rest % len(uniq)])
        rest = rest // len(uniq)
    return out[::-1], sums


_GROUP_LEGENDS = ("experts", "router", "embedding", "head")


def _legend(resolved: pd.DataFrame) -> np.ndarray:
    """:func:`role_of_row` for every row, vectorised."""
    group = resolved["group"].to_numpy(dtype=object)
    return np.where(np.isin(group, _GROUP_LEGENDS), group, resolved["role"].to_numpy(dtype=object))


def per_layer_by_role(resolved: pd.DataFrame) -> pd.DataFrame:
    """Trainable LoRA parameters per (layer, role) from ``resolve_plan`` rows with a layer.

    Columns: ``layer``, ``role`` (legend entry), ``lora_params``.
    """
    rows = resolved[resolved["layer"].notna()]
    (layer, role), sums = _sum_by([rows["layer"].to_numpy(np.int64), _legend(rows).astype(str)],
                                  rows["lora_params"].to_numpy())
    return pd.DataFrame({"layer": layer, "role": role, "lora_params": sums})


def by_role(resolved: pd.DataFrame) -> pd.DataFrame:
    """Trainable LoRA parameters and wrapped modules per legend role, largest first.

    Columns: ``role``, ``lora_params``, ``modules``.
    """
    legend = _legend(resolved).astype(str)
    (role,), sums = _sum_by([legend], resolved["lora_params"].to_numpy())
    (_,), modules = _sum_by([legend], np.ones(len(legend), np.int64))
    out = pd.DataFrame({"role": role, "lora_params": sums, "modules": modules})
    return out.sort_values("lora_params", ascending=False, ignore_index=True)


def _hover(label: str) -> str:
    """A bar's hover: the label and its exact value, formatted by Plotly in the browser."""
    return f"{label}<br>%{{y:,}} parameters<extra>%{{fullData.name}}</extra>"


def _role_key(role: str) -> int:
    return ROLE_ORDER.index(role) if role in ROLE_ORDER else len(ROLE_ORDER)


def layer_bars(per_layer: pd.DataFrame, num_layers: int) -> go.Figure:
    """Stacked bars: trainable LoRA parameters per layer, one colour per role."""
    data = []
    for role in sorted(per_layer["role"].unique(), key=_role_key):
        part = per_layer[per_layer["role"] == role]
        y = part["lora_params"].tolist()
        data.append(dict(type="bar", x=part["layer"].tolist(), y=y, name=role,
                         marker=dict(color=ROLE_COLORS.get(role, ROLE_COLORS["other"])),
                         hovertemplate=_hover("layer %{x}")))
    return _figure(data, _layout(
        "Trainable parameters per layer", barmode="stack",
        margin=_FIXED_MARGIN, xaxis=_fixed_axis("layer index", range=[-0.5, max(num_layers, 1) - 0.5]),
        yaxis=_fixed_axis("trainable parameters", rangemode="tozero", tickformat="~s")))


def role_share(roles: pd.DataFrame) -> go.Figure:
    """Donut: each role's share of the trainable LoRA parameters."""
    values = roles["lora_params"].tolist()
    data = [dict(type="pie", labels=roles["role"].tolist(), values=values, hole=0.55, sort=False,
                 marker=dict(colors=[ROLE_COLORS.get(r, ROLE_COLORS["other"]) for r in roles["role"]]),
                 textinfo="percent", textposition="inside",
                 hovertemplate="%{label}: %{value:,} parameters (%{percent})<extra></extra>")]
    layout = _layout("Share by role")
    layout["legend"] = dict(orientation="h", yanchor="top", y=-0.02, xanchor="left", x=0, font=dict(size=11))
    layout["margin"] = dict(l=8, r=8, t=40, b=64)  # room for the legend below: no second drawing
    return _figure(data, layout)


def trainable_vs_frozen(trainable: int, frozen: int) -> go.Figure:
    """Two bars on a log axis: trainable vs frozen parameters (a 0.1 % share stays visible)."""
    data = [dict(type="bar", y=["frozen", "trainable"], x=[frozen, trainable], orientation="h",
                 marker=dict(color=[FROZEN_COLOR, TRAINABLE_COLOR]),
                 text=[human(frozen), human(trainable)], textposition="auto", showlegend=False,
                 hovertemplate="%{y}: %{x:,} parameters<extra></extra>")]
    layout = _layout("Trainable vs frozen", height=240, xaxis=_fixed_axis("parameters (log)", type="log", dtick=1,
                                                                         tickformat="~s"),
                     yaxis=_fixed_axis(""))
    layout["margin"] = dict(l=72, r=12, t=40, b=44)
    return _figure(data, layout)


def compare_bars(breakdown: pd.DataFrame) -> go.Figure:
    """Grouped bars: trainable parameters per role (x), one bar per plan (colour).

    ``breakdown`` columns: ``plan``, ``role``, ``lora_params``.
    """
    data = []
    for plan, part in breakdown.groupby("plan", sort=False):
        y = part["lora_params"].tolist()
        data.append(dict(type="bar", x=part["role"].tolist(), y=y, name=str(plan), hovertemplate=_hover("%{x}")))
    return _figure(data, _layout("Trainable parameters by role", barmode="group", showlegend=True, xaxis=_axis("role"),
                                 yaxis=_axis("trainable parameters (count)", rangemode="tozero")))


def tint(hex_color: str, amount: float = 0.65) -> str:
    """``hex_color`` mixed with white: ``('#3b82f6', 0.65) -> '#c4dafc'`` (roughly)."""
    rgb = [int(hex_color[i:i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(c + (255 - c) * amount):02x}" for c in rgb)


COMPONENT_COLORS: dict[str, str] = {
    "base_weights": "#9ca3af", "quantization_constants": "#6b7280", "lora_weights": "#2563eb",
    "lora_grads": "#60a5fa", "optimizer_states": "#a855f7", "dora_extra": "#14b8a6", "activations": "#f59e0b",
    "peak_transients": "#ef4444", "previous_step": "#ec4899",
}


def memory_bar(components: pd.DataFrame, gpu_sizes: tuple[int, ...]) -> go.Figure:
    """One horizontal bar of training memory stacked by component, with GPU sizes as dashed lines;
    each legend entry carries its size, so the chart reads without hovering (the Targets page
    draws it as a static picture).

    ``components`` columns: ``component``, ``bytes``, ``gib`` (``MemoryEstimate.as_frame()``).
    """
    data = [dict(type="bar", y=["memory"], x=[row.gib], orientation="h", customdata=[row.bytes],
                 name=f"{row.component.replace('_', ' ')} {row.gib:.1f} GiB",
                 marker=dict(color=COMPONENT_COLORS.get(row.component, GROUP_COLORS["other"])),
                 hovertemplate="%{fullData.name}: %{x:.2f} GiB (%{customdata:,} bytes)<extra></extra>")
            for row in components.itertuples(index=False) if row.bytes > 0]
    total = float(components["gib"].sum())
    shapes = [dict(type="line", x0=gb, x1=gb, y0=-0.5, y1=0.5, line=dict(dash="dot", width=1, color="#374151"))
              for gb in gpu_sizes if gb <= max(total * 1.15, gpu_sizes[0])]
    notes = [dict(x=gb, y=0.5, text=f"{gb} GB", showarrow=False, yanchor="bottom", font=dict(size=10))
             for gb in gpu_sizes if gb <= max(total * 1.15, gpu_sizes[0])]
    return _figure(data, _layout("Training memory by component", height=240, barmode="stack",
                                 margin=dict(l=12, r=12, t=92, b=44),
                                 xaxis=_fixed_axis("GPU memory (GiB)", rangemode="tozero"),
                                 yaxis=dict(showticklabels=False), shapes=shapes, annotations=notes))
