r"""Rigorous ball arithmetic for the reference: Arb (FLINT, through python-flint) behind a few names.

A ball :math:`[m \pm r]` holds the exact result of every operation on the exact numbers of its
arguments' balls: Arb rounds the midpoint and bounds the radius outward, so a ball that is narrow
pins the true value down (Johansson, "Arb: efficient arbitrary-precision midpoint-radius interval
arithmetic", IEEE Trans. Computers 66, 2017).  Where a function is undefined on some of the ball, or
the precision does not suffice, the result is NaN or of infinite radius: no value, never a wrong one.

Arb replaced ``mpmath.iv`` here because the certifier evaluates tens of thousands of balls per loss:
Arb's operations are C, an order of magnitude faster per operation, and its exponential and powers
cost the same at huge arguments (mpmath computes :math:`e^n` for an integer :math:`n` above 600 bits
by repeated squaring).  Arb's exponents are unbounded, as mpmath's are: :math:`e^{10^{300}}` is a
finite ball (at a precision above the argument's 997 bits), so a value beyond the float64 range is
still known to be beyond it.  The true values leave this module as ``mpmath.mpf`` (exactly:
:func:`endpoints`), which the comparison of :mod:`symloss.certify.comparison` reads.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import reduce

import flint
import mpmath
from flint import arb
from mpmath.libmp import dps_to_prec, from_man_exp

Ball = arb


def ball(x: object) -> arb:
    """The exact ball of a float or an integer; a decimal string's enclosing ball; a ball itself."""
    return x if isinstance(x, arb) else arb(x)


def number(value: int | str | tuple[int, int, int, int]) -> arb:
    """A number as SymPy's mpmath printer writes it — an integer, a decimal string, or a binary
    float's raw ``(sign, mantissa, exponent, bits)`` — as a ball: exact, or enclosing the decimal."""
    if isinstance(value, tuple):
        sign, mantissa, exponent, _ = value
        return arb((-mantissa if sign else mantissa, exponent))
    return arb(value)


def exp(x: object) -> arb:
    return ball(x).exp()


def log(x: object) -> arb:
    return ball(x).log()


def log1p(x: object) -> arb:
    return ball(x).log1p()


def expm1(x: object) -> arb:
    return ball(x).expm1()


def exprel(x: object) -> arb:
    """(e^x - 1)/x, 1 at 0: e^(x/2) sinh(x/2)/(x/2), the last factor Arb's sinc at i x/2 (defined at 0)."""
    half = ball(x) / 2
    return half.exp() * flint.acb(0, half).sinc().real


def sqrt(x: object) -> arb:
    return ball(x).sqrt()


def cosh(x: object) -> arb:
    return ball(x).cosh()


def sinh(x: object) -> arb:
    return ball(x).sinh()


def tanh(x: object) -> arb:
    return ball(x).tanh()


def pi() -> arb:
    """π at the working precision."""
    return arb.pi()


def e() -> arb:
    """e at the working precision."""
    return arb.const_e()


def maximum(*values: object) -> arb:
    """A ball holding max(x₁, …, xₙ) for every choice of the xᵢ in their balls."""
    return reduce(lambda a, b: a.max(b), (ball(v) for v in values))


def minimum(*values: object) -> arb:
    """A ball holding min(x₁, …, xₙ) for every choice of the xᵢ in their balls."""
    return reduce(lambda a, b: a.min(b), (ball(v) for v in values))


def midpoint(x: object) -> arb:
    """The midpoint of a ball, an exact ball (so comparisons with it are decided)."""
    return ball(x).mid()


def to_mpf(x: arb) -> mpmath.mpf:
    """An exact ball as an ``mpmath.mpf``, exactly (no rounding to mpmath's precision); NaN and the
    infinities as themselves."""
    if x.is_nan():
        return mpmath.nan
    if not x.is_finite():
        return mpmath.inf if x > 0 else -mpmath.inf
    man, exponent = x.man_exp()
    return mpmath.mp.make_mpf(from_man_exp(int(man), int(exponent)))


def endpoints(x: object) -> tuple[mpmath.mpf, mpmath.mpf]:
    """The lower and upper bound of a ball, exactly, as ``mpmath.mpf`` (NaN, NaN for a NaN ball;
    −inf, inf for a ball of infinite radius)."""
    x = ball(x)
    if x.is_nan() or x.mid().is_nan():
        return mpmath.nan, mpmath.nan
    if not x.is_finite():
        return -mpmath.inf, mpmath.inf
    return to_mpf(x.lower()), to_mpf(x.upper())


@contextmanager
def working_precision(digits: int) -> Iterator[None]:
    """Arb's and mpmath's working precision both at ``digits`` significant decimal digits."""
    saved = flint.ctx.prec
    flint.ctx.prec = dps_to_prec(digits)
    try:
        with mpmath.workdps(digits):
            yield
    finally:
        flint.ctx.prec = saved
