"""Predict, then reveal: read a student's guess and say how far it was from the answer.

>>> parse_count("3.4M"), parse_count("3,407,872"), parse_count("2e6")
(3400000, 3407872, 2000000)
>>> how_far(6_000_000, 3_000_000)
'2.0× too high'
"""

from __future__ import annotations

import math
import re

from ..errors import InputError

_SUFFIX = {"": 1, "k": 10**3, "m": 10**6, "b": 10**9, "g": 10**9, "t": 10**12}
_COUNT_RE = re.compile(r"(?P<num>\d+(?:\.\d*)?(?:e[+-]?\d+)?)\s*(?P<suffix>[kmbgt]?)")


def parse_count(text: str) -> int:
    """A parameter count as people write it: ``3407872``, ``3,407,872``, ``3.4M``, ``2e6``, ``1.2 B``."""
    cleaned = text.strip().lower().replace(",", "").replace("_", "").replace(" ", "")
    m = _COUNT_RE.fullmatch(cleaned)
    if not m:
        raise InputError("guess", f"{text.strip()[:40]!r} is not a count; write e.g. 3.4M, 3400000 or 2e6")
    value = float(m.group("num")) * _SUFFIX[m.group("suffix")]
    if not math.isfinite(value) or value <= 0 or value > 1e15:
        raise InputError("guess", "must be a positive count below 10^15")
    return round(value)


def how_far(guess: int, truth: int) -> str:
    """How far a guessed count is from the true one, as a factor (``'2.0× too high'``)."""
    if guess == truth:
        return "exactly right"
    ratio = guess / truth if truth else math.inf
    if 0.95 <= ratio <= 1.05:
        return f"within {abs(ratio - 1) * 100:.1f} %"
    return f"{ratio:.1f}× too high" if ratio > 1 else f"{1 / ratio:.1f}× too low"


def judge_choice(guess: str, answer: str) -> str:
    """``'right'`` or ``'wrong'`` for a multiple-choice guess."""
    return "right" if guess == answer else "wrong"
