"""The one markdown-table writer of the memory validation tables (docs/memory.md, docs/parallel.md).

Each table names its columns as ``(header, align, cell)``: ``align`` is ``"l"`` or ``"r"`` and ``cell``
turns a row (a ``DataFrame.itertuples()`` tuple) into its text; :func:`ratio_cell` and
:func:`held_out_cell` are the two cells every validation table shares.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

Column = tuple[str, str, Callable[[Any], str]]


def ratio_cell(row: Any) -> str:
    """``"0.97"``, or ``"1.39 ✗"`` outside the case's band."""
    return f"{row.ratio:.2f}{'' if row.within else ' ✗'}"


def held_out_cell(row: Any) -> str:
    return "yes" if row.holdout else ""


def markdown_table(table: pd.DataFrame, columns: Sequence[Column]) -> str:
    """A header, an alignment line and one line per row of ``table``."""
    lines = ["| " + " | ".join(h for h, _, _ in columns) + " |",
             "|" + "|".join("---:" if a == "r" else "---" for _, a, _ in columns) + "|"]
    lines += ["| " + " | ".join(cell(r) for _, _, cell in columns) + " |" for r in table.itertuples()]
    return "\n".join(lines)
