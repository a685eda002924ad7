"""Worked examples: the numbers a text printed, recomputed from the declaration.

An :class:`~symloss.declare.loss.Example` names an expression (the loss, its
gradient, a softmax entry …), the values of its variables, and the number
the text printed with its count of decimal places.  :func:`reproduce`
evaluates the *declared* expression at 50 significant digits — not the
text's arithmetic, not its ``+ 1e-8`` inside a log — rounds it to the
printed decimal places and compares.  A printed number that does not
reproduce is reported as it was printed, beside the true value; it is
never adjusted.

Values in ``Example.at``: a number per scalar variable and a sequence per
class vector (entry k at position k − 1).  With ``reduce`` ("mean" or
"sum") the example has several samples: every value is then a list with
one entry per sample (a list of sequences for a class vector), and a
single number is shared by all samples.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import mpmath
import sympy as sp

from symloss.declare.loss import Example, Loss
from symloss.prove.numeric import evaluate

DIGITS = 50


@dataclass(frozen=True)
class Reproduction:
    """One worked example recomputed."""

    loss: str
    example: Example
    computed: mpmath.mpf | None  # high-precision value of the declared expression (None if undefined)
    computed_text: str  # rounded to example.digits decimal places ("inf" for infinity)
    agrees: bool  # round(computed, digits) == stated, as the text printed it

    @property
    def stated_text(self) -> str:
        """The number as the text printed it."""
        return format_number(self.example.stated, self.example.digits)


def reproduce(loss: Loss, example: Example) -> Reproduction:
    """Evaluate ``example.quantity`` at ``example.at`` and compare with the printed number."""
    samples = _samples(example)
    values = [_value(example.quantity, point) for point in samples]
    if any(v is None for v in values):
        computed = None
    elif example.reduce == "sum":
        computed = mpmath.fsum(values)
    elif example.reduce == "mean":
        with mpmath.workdps(DIGITS):
            computed = mpmath.fsum(values) / len(values)
    else:
        computed = values[0]
    text = "undefined" if computed is None else format_number(computed, example.digits)
    agrees = computed is not None and text == format_number(example.stated, example.digits)
    return Reproduction(loss.name, example, computed, text, agrees)


def reproduce_all(losses: Sequence[Loss]) -> list[Reproduction]:
    """Every example of every loss, in declaration order."""
    return [reproduce(loss, example) for loss in losses for example in loss.examples]


def format_number(value: object, digits: int) -> str:
    """``value`` rounded half away from zero to ``digits`` decimal places; "inf"/"-inf" for infinities."""
    if isinstance(value, sp.Basic):
        if value in (sp.oo, sp.zoo):
            return "inf"
        if value == -sp.oo:
            return "-inf"
        value = value.evalf(DIGITS)
    if isinstance(value, mpmath.mpf | float) and mpmath.isinf(value):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, mpmath.mpf):
        exact = Decimal(mpmath.nstr(value, DIGITS, min_fixed=-mpmath.inf, max_fixed=mpmath.inf))
    else:
        exact = Decimal(str(value))
    rounded = exact.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    if rounded == 0:
        rounded = abs(rounded)  # no "-0.000"
    return f"{rounded:.{digits}f}"


def _samples(example: Example) -> list[dict[sp.Basic, object]]:
    """The points of the example: one, or one per sample when it is reduced."""
    if example.reduce is None:
        return [{s: _exact(v) for s, v in example.at.items()}]
    sizes = {len(v) for s, v in example.at.items() if _per_sample(s, v)}
    if len(sizes) != 1:
        raise ValueError(f"example {example.label!r}: samples of different counts {sorted(sizes)}")
    (n,) = sizes
    return [
        {s: _exact(v[m] if _per_sample(s, v) else v) for s, v in example.at.items()}
        for m in range(n)
    ]


def _per_sample(symbol: sp.Basic, value: object) -> bool:
    if not isinstance(value, list | tuple):
        return False
    if isinstance(symbol, sp.IndexedBase):
        return bool(value) and isinstance(value[0], list | tuple)
    return True


def _exact(value: object) -> object:
    """Printed decimals as exact fractions (0.1 is one tenth, not the nearest double)."""
    if isinstance(value, list | tuple):
        return tuple(_exact(v) for v in value)
    if isinstance(value, float):
        return Fraction(str(value))
    if isinstance(value, str):
        return Fraction(value)
    return value


def _value(expr: sp.Expr, point: Mapping[sp.Basic, object]) -> mpmath.mpf | None:
    """The real value at the point; ±inf kept; None when undefined or complex."""
    try:
        value = evaluate(expr, point, digits=DIGITS)
    except (ValueError, ZeroDivisionError, TypeError, ArithmeticError):
        return None
    if isinstance(value, mpmath.mpc):
        if value.imag != 0:
            return None
        value = value.real
    if mpmath.isnan(value):
        return None
    return value
