r"""Stability rule for a square scale times one minus a Gaussian factor, :math:`c^2(1 - e^{-q})` with
:math:`q = ((x + y)/c)^2` (a ``square_ratio_of_sum``): where :math:`|x + y| < 1.5\cdot10^{-154}\,c` the ratio's
square q underflows to 0 (or a subnormal, rounded to few bits), and :math:`c^2\operatorname{expm1}(-q)` is 0 (or
inexact) although :math:`c^2 q = (x + y)^2` is a normal float (a redescending robust loss
:math:`c^2\rho(r/c)` at :math:`|r| \ll c`, c near the largest float).

* ``one_minus_exp_square_ratio``: :math:`c^2(1 - e^{-q}) = (x + y)^2\operatorname{exprel}(-q)` (with
  :math:`\operatorname{exprel}(z) = \operatorname{expm1}(z)/z`, 1 at :math:`z = 0`: :math:`1 - e^{-q} = q\,
  \operatorname{exprel}(-q)` and :math:`c^2 q = (x + y)^2`), used where :math:`q < 1`; there
  :math:`(x + y)^2 < c^2`, so the square overflows only where :math:`c^2` would, and exprel (relative
  condition number at most 1 for a negative argument) is accurate to a few ulp for every q, also where q is 0 or
  subnormal (exprel = 1 there).  Elsewhere (:math:`q \ge 1`, so q is normal) the form is kept, as
  :math:`-c^2\operatorname{expm1}(-q)`: :math:`(x + y)^2` may overflow there where :math:`c^2` does not.  A
  factor :math:`c^k`, :math:`k > 2`, keeps :math:`c^{k - 2}` outside.

The Piecewise's condition :math:`q < 1` is of degree 0 in :math:`(x, y, c)`, so ``homogeneous_on_halves`` takes
each branch (both of degree 2) on the halves where its square overflows.  It names no loss."""

from __future__ import annotations

import sympy as sp

from symloss.stabilize.engine import Rule
from symloss.stabilize.identities import C, a, b, claim
from symloss.stabilize.primitives import expand_primitives, expm1, exprel, square_of_sum, square_ratio_of_sum


def _gaussian_complement(factor: sp.Expr) -> square_ratio_of_sum | None:
    """q when ``factor`` is :math:`1 - e^{-q}` for a ``square_ratio_of_sum`` q, None otherwise."""
    if not isinstance(factor, sp.Add) or len(factor.args) != 2 or sp.S.One not in factor.args:
        return None
    (other,) = (term for term in factor.args if term != 1)
    power = -other
    if not isinstance(power, sp.exp):
        return None
    q = -power.args[0]
    return q if isinstance(q, square_ratio_of_sum) else None


def _match(product: sp.Basic) -> tuple[sp.Expr, square_ratio_of_sum, sp.Expr] | None:
    """(the factor :math:`1 - e^{-q}`, q, the factor :math:`c^k`, k an integer at least 2, with c the scale of q)
    of a product, None where it has no such pair."""
    if not isinstance(product, sp.Mul):
        return None
    for factor in product.args:
        q = _gaussian_complement(factor)
        if q is None:
            continue
        scale = q.args[2]
        for power in product.args:
            if isinstance(power, sp.Pow) and power.base == scale and power.exp.is_Integer and power.exp >= 2:
                return factor, q, power
    return None


def _rewrite(expr: sp.Basic) -> sp.Basic:
    r""":math:`F c^k (1 - e^{-q})` → :math:`\mathrm{Piecewise}((F c^{k-2}(x + y)^2\operatorname{exprel}(-q), q < 1),
    (-F c^k\operatorname{expm1}(-q), \mathrm{True}))` in every product that has such a pair (:func:`_match`): the
    co-factor F inside each branch, where ``homogeneous_on_halves`` takes it with the branch (:math:`c^2/2` is
    finite where :math:`c^2` is not)."""

    def rewrite(product: sp.Mul) -> sp.Expr:
        factor, q, power = _match(product)
        x, y, scale = q.args
        others = list(product.args)
        others.remove(factor)
        others.remove(power)
        rest = sp.Mul(*others) * scale ** (power.exp - 2)
        return sp.Piecewise((rest * square_of_sum(x, y) * exprel(-q), q < 1), (-rest * scale**2 * expm1(-q), True))

    return expr.replace(lambda e: _match(e) is not None, rewrite)


_q = square_ratio_of_sum(a, b, C)

SQUARE_RATIO_EXP: tuple[Rule, ...] = (
    Rule("one_minus_exp_square_ratio",
         (claim("one_minus_exp_square_ratio, q < 1: C^2 (1 - exp(-q)) = (x + y)^2 exprel(-q), q = ((x + y)/C)^2",
                C**2 * (1 - sp.exp(-expand_primitives(_q))),
                expand_primitives(square_of_sum(a, b) * exprel(-_q))),
          claim("one_minus_exp_square_ratio, q >= 1: C^2 (1 - exp(-q)) = -C^2 expm1(-q)",
                C**2 * (1 - sp.exp(-expand_primitives(_q))), expand_primitives(-C**2 * expm1(-_q)))),
         _rewrite,
         C**2 * (1 - sp.exp(-_q))),
)
"""The rule of this module (see the module docstring)."""
