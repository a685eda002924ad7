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
each branch (both of degree 2) on the halves where its square overflows.

* ``affine_in_square_ratio``: :math:`(\alpha c^2 + \beta (x + y)^2)/c^2 = \alpha + \beta q` for numbers
  :math:`\alpha, \beta` and :math:`c > 0` (a factor :math:`c^{-k}`, :math:`k > 2`, keeps :math:`c^{2 - k}`):
  :math:`c^2` and :math:`(x + y)^2` overflow where q does not (a redescending loss's curvature
  :math:`(1 - 2q)e^{-q}` at :math:`c = 1.2\cdot10^{193}`), and the kernel carries q in two floats where
  :math:`\alpha + \beta q` cancels (:math:`1 - 2q` at :math:`q \approx 1/2`; the emitter's
  ``_affine_square_ratio``).

Neither names a loss."""

from __future__ import annotations

import sympy as sp

from symloss.stabilize.engine import Rule
from symloss.stabilize.identities import C, a, b, claim, r, t
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


def _affine(total: sp.Basic, scale: sp.Expr) -> tuple[sp.Expr, sp.Expr, square_of_sum] | None:
    r"""(:math:`\alpha`, :math:`\beta`, :math:`(x + y)^2`) when ``total`` is :math:`\alpha c^2 + \beta (x + y)^2`
    for nonzero numbers :math:`\alpha, \beta`, c the ``scale`` and the square a ``square_of_sum``; None otherwise."""
    if not isinstance(total, sp.Add) or len(total.args) != 2:
        return None
    alpha = beta = square = None
    for term in total.args:
        coefficient, rest = term.as_coeff_Mul()
        if rest == scale**2:
            alpha = coefficient
        elif isinstance(rest, square_of_sum):
            beta, square = coefficient, rest
    return None if alpha is None or square is None else (alpha, beta, square)


def _affine_match(product: sp.Basic) -> tuple[sp.Expr, sp.Pow, tuple[sp.Expr, sp.Expr, square_of_sum]] | None:
    r"""(the factor :math:`\alpha c^2 + \beta (x + y)^2`, the factor :math:`c^{-k}` with :math:`k \ge 2` and
    :math:`c > 0`, :func:`_affine`'s parts) of a product, None where it has no such pair."""
    if not isinstance(product, sp.Mul):
        return None
    for power in product.args:
        if isinstance(power, sp.Pow) and power.exp.is_Integer and power.exp <= -2 and power.base.is_positive:
            for factor in product.args:
                parts = _affine(factor, power.base)
                if parts is not None:
                    return factor, power, parts
    return None


def _affine_rewrite(expr: sp.Basic) -> sp.Basic:
    r""":math:`F c^{-k}(\alpha c^2 + \beta (x + y)^2)` → :math:`F c^{2 - k}(\alpha + \beta q)`,
    :math:`q = ((x + y)/c)^2`, in every product that has such a pair (:func:`_affine_match`)."""

    def rewrite(product: sp.Mul) -> sp.Expr:
        factor, power, (alpha, beta, square) = _affine_match(product)
        others = list(product.args)
        others.remove(factor)
        others.remove(power)
        scale = power.base
        return sp.Mul(*others) * scale ** (power.exp + 2) * (alpha + beta * square_ratio_of_sum(*square.args, scale))

    return expr.replace(lambda e: _affine_match(e) is not None, rewrite)


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
    Rule("affine_in_square_ratio",
         (claim("affine_in_square_ratio: (r C^2 + t (x + y)^2)/C^2 = r + t ((x + y)/C)^2",
                (r * C**2 + t * expand_primitives(square_of_sum(a, b))) / C**2, r + t * expand_primitives(_q)),),
         _affine_rewrite,
         (C**2 - 2 * square_of_sum(a, b)) / C**2),
)
"""The rules of this module (see the module docstring)."""
