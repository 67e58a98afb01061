"""Numbers for people, the one formatter of the app and the CLI: counts, byte sizes and shares."""

from __future__ import annotations

import math

_UNITS = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k"))


def human(n: float, *, one_decimal: bool = False) -> str:
    """A count for people: ``41_943_040 -> '41.9 M'``, ``8_030_261_248 -> '8.03 B'``, ``512 -> '512'``.

    ``one_decimal``: one decimal below a billion and thousands as ``K``, the CLI's aligned
    columns (``124_439_808 -> '124.4 M'``, ``294_912 -> '294.9 K'``).
    """
    for scale, unit in _UNITS:
        if abs(n) >= scale:
            v = n / scale
            if one_decimal and scale < 1e9:
                return f"{v:.1f} {unit.upper()}"
            return f"{v:.3g} {unit}" if abs(v) < 100 else f"{v:.0f} {unit}"
    return f"{n:,.0f}"


def human_bytes(n: float) -> str:
    """A size for people: ``83_886_080 -> '80.0 MiB'``."""
    for scale, unit in ((2**40, "TiB"), (2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n:,.0f} B"


def human_pct(share: float) -> str:
    """A share for people: ``0.0052 -> '0.52 %'``, ``0.000012 -> '0.0012 %'``."""
    pct = share * 100
    if pct == 0:
        return "0 %"
    digits = max(2, 1 - math.floor(math.log10(abs(pct)))) if abs(pct) < 1 else 2
    return f"{pct:.{min(digits, 6)}f} %"
