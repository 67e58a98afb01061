"""Findings and verdicts: what one serving engine does with one adapter.

A rule returns :class:`Finding` objects; :func:`verdict_of` folds them into one :class:`Verdict`,
the worst finding deciding (``refuses`` > ``differs`` > ``ignores`` > ``serves-with-flags`` >
``serves``). Every finding carries ``source``, the engine file and function it was read from
(the first line of the rule's docstring), so no verdict rests on a rule without one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["refuses", "differs", "ignores", "flag", "note"]
VerdictName = Literal["serves", "serves-with-flags", "ignores", "differs", "refuses"]
SEVERITY: dict[str, int] = {"serves": 0, "serves-with-flags": 1, "ignores": 2, "differs": 3, "refuses": 4}
_KIND_VERDICT: dict[str, VerdictName] = {"note": "serves", "flag": "serves-with-flags", "ignores": "ignores",
                                         "differs": "differs", "refuses": "refuses"}
SOURCE_RE = re.compile(r"^`?[\w/]+\.(py|rs)`? `?[\w.]+`?")


@dataclass(frozen=True)
class Finding:
    """One thing an engine does with the adapter.

    Attributes:
        kind: ``refuses``, ``differs``, ``ignores``, ``flag`` (needs a server option) or ``note``
            (how the engine serves it; changes no verdict).
        reason: what happens, in words.
        source: the engine file and function the rule was read from.
        message: the engine's own error message, for ``refuses``.
        flags: server options that make the engine accept it (``--max-lora-rank 32``).
        modules: the plan's units affected (PEFT names), for ``ignores`` and ``differs``.
        params: how many of the plan's trainable parameters are affected.
    """

    kind: Kind
    reason: str
    source: str
    message: str = ""
    flags: tuple[str, ...] = ()
    modules: tuple[str, ...] = ()
    params: int = 0


@dataclass(frozen=True)
class Verdict:
    """An engine's verdict on an adapter: the worst finding, and all of them."""

    engine: str
    version: str
    verdict: VerdictName
    findings: tuple[Finding, ...] = field(default_factory=tuple)

    @property
    def flags(self) -> list[str]:
        """Server options to pass (only meaningful when nothing is refused)."""
        return list(dict.fromkeys(f for x in self.findings for f in x.flags))

    @property
    def reasons(self) -> list[str]:
        return [x.reason for x in self.findings]

    @property
    def ignored_modules(self) -> list[str]:
        """Units whose LoRA does not take effect (``ignores`` findings)."""
        return sorted({m for x in self.findings if x.kind == "ignores" for m in x.modules})

    @property
    def ignored_params(self) -> int:
        return sum(x.params for x in self.findings if x.kind == "ignores")

    def payload(self) -> dict:
        """The CLI's ``serving.<engine>`` object."""
        return {"version": self.version, "verdict": self.verdict, "flags": self.flags,
                "reasons": self.reasons, "ignored_modules": self.ignored_modules,
                "ignored_params": self.ignored_params,
                "findings": [{"kind": x.kind, "reason": x.reason, "source": x.source, "message": x.message,
                              "flags": list(x.flags), "modules": list(x.modules), "params": x.params}
                             for x in self.findings]}


def source_of(rule: Callable) -> str:
    """The first docstring line of a rule: ``vllm/lora/peft_helper.py PEFTHelper.validate_legal``."""
    line = (rule.__doc__ or "").strip().splitlines()[0] if rule.__doc__ else ""
    if not SOURCE_RE.match(line):
        raise AssertionError(f"rule {rule.__name__} names no engine file and function: {line!r}")
    return line.rstrip(":").strip()


def verdict_of(engine: str, version: str, findings: Iterable[Finding]) -> Verdict:
    """Fold findings into a verdict: the worst one decides."""
    found = tuple(findings)
    name: VerdictName = "serves"
    for f in found:
        v = _KIND_VERDICT[f.kind]
        if SEVERITY[v] > SEVERITY[name]:
            name = v
    return Verdict(engine, version, name, found)
