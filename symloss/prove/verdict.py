"""What the prover answers: a :class:`Verdict` — proved, refuted or unknown, by which
method, in what scope — and a counterexample written as text (exact values by name)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import mpmath
import sympy as sp


@dataclass(frozen=True)
class Verdict:
    """The outcome of :func:`~symloss.prove.prover.prove`."""

    status: str  # "proved" | "refuted" | "unknown"
    method: str  # the strategy that decided it, or what was tried (unknown)
    seconds: float
    counterexample: Mapping[str, str] | None = None  # symbol name -> value as string
    detail: str = ""  # values of both sides at the counterexample; "numerically consistent"
    scope: str = ""  # "symbolic K" | "K = 2..5" | "" — what a vector claim was proved for


def text(value: object) -> str:
    """A value as a verdict prints it: mpmath numbers to 20 digits, vectors as "[a, b, ...]",
    an exception as "undefined (its type)"."""
    if isinstance(value, tuple | list):
        return "[" + ", ".join(text(v) for v in value) + "]"
    if isinstance(value, Exception):
        return f"undefined ({type(value).__name__})"
    if isinstance(value, mpmath.mpf | mpmath.mpc):
        return mpmath.nstr(value, 20)
    return str(value)


def counterexample_of(point: Mapping[sp.Basic, object]) -> dict[str, str]:
    """{symbol name: exact value}; vectors as "[a, b, ...]"."""
    return {str(s): text(v) for s, v in sorted(point.items(), key=lambda item: str(item[0]))}
