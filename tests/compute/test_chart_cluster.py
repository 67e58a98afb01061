"""The memory-per-GPU chart is a valid Plotly figure: one line per strategy of the sweep, the GPU's
capacity drawn at its GiB."""

from __future__ import annotations

import pandas as pd

from lora_core.compute.chart import per_gpu_chart


def test_chart_has_a_line_per_strategy_and_the_capacity() -> None:
    frame = pd.DataFrame({"strategy": ["ddp", "ddp", "zero3", "zero3"], "label": ["DDP", "DDP", "ZeRO-3", "ZeRO-3"],
                          "gpus": [1, 2, 1, 2], "gib": [90.0, 90.0, 90.0, 45.0]})
    fig = per_gpu_chart(frame, 80.0, "H100 80GB").validated()
    assert [t.name for t in fig.data] == ["DDP", "ZeRO-3"]
    assert list(fig.data[1].y) == [90.0, 45.0]
    assert fig.layout.shapes[0].y0 == fig.layout.shapes[0].y1 == 80.0
    assert "80 GiB" in fig.layout.annotations[0].text
