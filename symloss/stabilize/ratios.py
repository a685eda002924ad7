r"""Stability rules for a scaled residual :math:`((x + y)/c)^2`: the square of an exact sum divided by a
square computed as the square of the ratio, and an expanded perfect square inside a sum put back together
so that the exact-sum rules apply to it.

* ``perfect_square_in_sum``: :math:`k x^2 \mp 2k xy + k y^2 = k (x \mp y)^2` for three terms of a sum, x
  and y float inputs, k a number.  Differentiation expands :math:`(\hat y - y)^2` into
  :math:`\hat y^2 - 2y\hat y + y^2`, whose every term overflows at :math:`|y| = 10^{300}` and which
  cancels where :math:`\hat y \approx y`; as a square of a difference it is carried exactly
  (``square_of_exact_sum``) and scaled (the scaling rules).
* ``square_ratio_of_exact_sum``: :math:`(x + y)^2 c^{-2} = ((x + y)/c)^2` for :math:`c > 0`, the square of
  an exact sum (:class:`~symloss.stabilize.primitives.square_of_sum`, or :math:`(x + y)^2` itself) times
  :math:`c^{-2}` (:class:`~symloss.stabilize.primitives.square_ratio_of_sum`): :math:`(x + y)^2` overflows
  for :math:`|x + y| > 1.34\cdot10^{154}` and :math:`c^2` underflows for :math:`c < 10^{-162}` although
  the ratio's square is finite; the kernel divides the exact sum (from halves where :math:`x + y` itself
  could overflow) before it squares.
* ``square_over_exact_sum``: :math:`k(x + y)^2 v^{-1}` for :math:`v > 0` and a number :math:`k > 0` as
  :class:`~symloss.stabilize.primitives.square_over_of_sum`, :math:`k(h + l)^2/v = (kh)(h/v) + k(2(l/v)h +
  (l/v)l)`: :math:`(x + y)^2` overflows where the quotient is finite (:math:`x + y = 3.7\cdot10^{267}`,
  :math:`v = 1.8\cdot10^{308}`); the kernel forms :math:`h/v` first, of the halves where :math:`x + y`
  itself could overflow, and applies k before the quotient could overflow.
* ``quotient_of_exact_sum``: :math:`c(x + y)v^{-1}` for :math:`v > 0` and a number c as
  :class:`~symloss.stabilize.primitives.quotient_of_sum`, :math:`2(c((x/2 + y/2)/v))`: :math:`x + y` overflows
  where the quotient is finite (:math:`x = -y = 1.8\cdot10^{308}`, :math:`v = 10^{174}`), and :math:`c x + c y`,
  the product expanded, is inf − inf there.
* ``quotient_by_square``: :math:`\rho\,g^{-2} = (\rho/g)/g` for :math:`g > 0` as
  :class:`~symloss.stabilize.scale_ratios.over_square`: :math:`g^2` overflows for :math:`g > 1.34\cdot10^{154}`
  and underflows (or is subnormal) for :math:`g < 1.5\cdot10^{-154}` where the quotient is normal (a Hessian's
  :math:`y/\mu^2 = 3.2\cdot10^{-198}` at :math:`\mu \approx y \approx 3.1\cdot10^{197}`; :math:`-710/\hat y^2`
  at :math:`\hat y = 1.6\cdot10^{155}`, whose :math:`\hat y^{-2}` is subnormal).  Not for a term of a sum whose
  other terms share the factor :math:`g^{-2}`: the shared rounding of :math:`g^{-2}` factors out of such a sum,
  where it may cancel, and separate quotients would not; nor for a product of an exponential (:math:`e^a`,
  :math:`x^a` for a symbolic a, :math:`(1 + t)^a`, a power of a sigmoid), which the kernel computes with its
  co-factors and divisors scaled together (:math:`e^{-1164}\cdot 3.2\cdot10^{271}/c^2` is normal where
  :math:`e^{-1164}` underflows).

None names a loss."""

from __future__ import annotations

import sympy as sp

from symloss.stabilize.engine import Rule, terms_replaced
from symloss.stabilize.exact_sums import exact_terms
from symloss.stabilize.identities import C, a, b, claim, r, t
from symloss.stabilize.identities import w as positive
from symloss.stabilize.primitives import (
    expand_primitives,
    pow1p,
    quotient_of_sum,
    sigmoid_pow,
    sigmoid_powers,
    square_of_sum,
    square_over_of_sum,
    square_ratio_of_sum,
)
from symloss.stabilize.scale_ratios import over_square


def _input(expr: sp.Basic) -> bool:
    """A float input: a scalar symbol or a class-vector entry."""
    return isinstance(expr, sp.Symbol | sp.Indexed)


def _quadratic(term: sp.Expr) -> tuple[sp.Expr, tuple[sp.Expr, ...]] | None:
    """(k, (v, w)) when ``term`` is :math:`k v w` for float inputs v, w (v = w for :math:`k v^2`) and a
    nonzero number k; None otherwise."""
    k, rest = term.as_coeff_Mul()
    if isinstance(rest, sp.Pow) and rest.exp == 2 and _input(rest.base):
        return k, (rest.base, rest.base)
    factors = sp.Mul.make_args(rest)
    if len(factors) == 2 and all(_input(f) for f in factors):
        return k, tuple(sorted(factors, key=sp.default_sort_key))
    return None


def perfect_square(add: sp.Basic) -> tuple[tuple[sp.Expr, ...], sp.Expr] | None:
    r"""(the three terms, :math:`k (v \mp w)^2`) when the sum ``add`` holds :math:`k v^2`,
    :math:`\mp 2k v w` and :math:`k w^2` for float inputs :math:`v \ne w` and a number k; None otherwise."""
    if not isinstance(add, sp.Add):
        return None
    quadratics = {term: found for term in add.args if (found := _quadratic(term)) is not None}
    squares = {pair[0]: (term, k) for term, (k, pair) in quadratics.items() if pair[0] == pair[1]}
    for term, (k, (v, w)) in quadratics.items():
        if v == w or v not in squares or w not in squares:
            continue
        (square_v, k_v), (square_w, k_w) = squares[v], squares[w]
        if k_v == k_w and k in (2 * k_v, -2 * k_v):
            return (square_v, term, square_w), k_v * (v + sp.sign(k / k_v) * w) ** 2
    return None


def _perfect_square_rewrite(expr: sp.Expr) -> sp.Expr:
    r""":math:`k v^2 \mp 2k v w + k w^2 + R \to k (v \mp w)^2 + R` in every sum that holds such three terms."""

    return terms_replaced(expr, perfect_square)


def _scaled_exact_square(mul: sp.Basic, exponent: int) -> tuple[sp.Expr, sp.Expr, tuple[sp.Expr, ...]] | None:
    """(the square, the scale, (x, y, c)) when the product ``mul`` holds the square of an exact sum x + y
    and :math:`c^{e}` (``exponent`` e) for a positive c; None otherwise."""
    if not isinstance(mul, sp.Mul):
        return None
    squares = [f for f in mul.args if isinstance(f, square_of_sum)
               or (isinstance(f, sp.Pow) and f.exp == 2 and exact_terms(f.base) is not None)]
    scales = [f for f in mul.args if isinstance(f, sp.Pow) and f.exp == exponent and f.base.is_positive]
    if not squares or not scales:
        return None
    square, scale = squares[0], scales[0]
    x, y = square.args if isinstance(square, square_of_sum) else exact_terms(square.base)
    return square, scale, (x, y, scale.base)


def _square_ratio_rewrite(expr: sp.Expr) -> sp.Expr:
    r""":math:`S\,c^{-2}\rho \to \operatorname{square\_ratio\_of\_sum}(x, y, c)\,\rho` in every product that holds
    the square S of an exact sum x + y and :math:`c^{-2}`, c > 0."""

    def rewrite(mul: sp.Mul) -> sp.Expr:
        square, scale, arguments = _scaled_exact_square(mul, -2)
        return square_ratio_of_sum(*arguments) * mul / (square * scale)

    return expr.replace(lambda e: _scaled_exact_square(e, -2) is not None, rewrite)


def _square_over_rewrite(expr: sp.Expr) -> sp.Expr:
    r""":math:`\pm k\,S\,v^{-1}\rho \to \pm\operatorname{square\_over\_of\_sum}(x, y, v, k)\,\rho` in every
    product that holds the square S of an exact sum x + y and :math:`v^{-1}`, v > 0, with its number
    :math:`\pm k` (k > 0) taken into the primitive (so that :math:`k S/v` is finite where :math:`S/v` is not)."""

    def rewrite(mul: sp.Mul) -> sp.Expr:
        square, scale, arguments = _scaled_exact_square(mul, -1)
        number = abs(mul.as_coeff_Mul()[0])
        return square_over_of_sum(*arguments, number) * mul / (square * scale * number)

    return expr.replace(lambda e: _scaled_exact_square(e, -1) is not None, rewrite)


def _distributed_exact_sum(expr: sp.Basic) -> tuple[sp.Expr, tuple[sp.Expr, sp.Expr]] | None:
    r"""(the number c, (x, y)) when ``expr`` is :math:`c x + c y` (SymPy distributes a number over a sum) for
    an exact sum x + y of two float inputs, :math:`c \ne \pm 1`, y no constant; None otherwise."""
    if not (isinstance(expr, sp.Add) and len(expr.args) == 2):
        return None
    number = expr.args[0].as_coeff_Mul()[0]
    terms = exact_terms(sp.expand(expr / number)) if abs(number) != 1 else None
    return None if terms is None or terms[1].is_number else (number, terms)


def _scaled_exact_sum(expr: sp.Basic) -> tuple[sp.Expr, sp.Expr, sp.Expr, tuple[sp.Expr, sp.Expr]] | None:
    r"""(the number c, the factor :math:`x + y`, :math:`v^{-1}`, (x, y)) when ``expr`` is a product that holds
    an exact sum x + y of two float inputs and :math:`v^{-1}` for a positive v (its number c, 1 without one);
    None otherwise."""
    if not isinstance(expr, sp.Mul):
        return None
    sums = [f for f in expr.args if (terms := exact_terms(f)) is not None and not terms[1].is_number]
    scales = [f for f in expr.args if isinstance(f, sp.Pow) and f.exp == -1 and f.base.is_positive]
    if not sums or not scales:
        return None
    return expr.as_coeff_Mul()[0], sums[0], scales[0], exact_terms(sums[0])


def _quotient_rewrite(expr: sp.Expr) -> sp.Expr:
    r""":math:`c\,(x + y)\,v^{-1}\rho \to \operatorname{quotient\_of\_sum}(x, y, c, v)\,\rho` in every product
    that holds an exact sum x + y of two float inputs and :math:`v^{-1}`, v > 0; and a whole expression
    :math:`c x + c y \to \operatorname{quotient\_of\_sum}(x, y, c, 1)` (inside a larger product the rules that
    read the residual there take it: the opaque primitive would hide it from them)."""
    if (distributed := _distributed_exact_sum(expr)) is not None:
        number, (x, y) = distributed
        return quotient_of_sum(x, y, number, 1)

    def rewrite(found: sp.Mul) -> sp.Expr:
        number, exact_sum, scale, (x, y) = _scaled_exact_sum(found)
        rest = sp.Mul(*(f for f in sp.Mul.make_args(found) if f not in (scale, exact_sum))) / number
        return quotient_of_sum(x, y, number, scale.base) * rest

    return expr.replace(lambda e: _scaled_exact_sum(e) is not None, rewrite)


def _inverse_square(factor: sp.Basic) -> bool:
    """``factor`` is :math:`g^{-2}` for a positive g that is not a number."""
    return isinstance(factor, sp.Pow) and factor.exp == -2 and factor.base.is_positive and not factor.base.is_number


def _exponential(factor: sp.Basic) -> bool:
    """``factor`` is an exponential that the kernel computes with its product's other factors scaled:
    :math:`e^a`, :math:`x^a` for an exponent that is not a number, :math:`(1 + t)^a`, a power of a sigmoid."""
    symbolic_power = isinstance(factor, sp.Pow) and not factor.exp.is_number
    return symbolic_power or isinstance(factor, sp.exp | pow1p | sigmoid_pow | sigmoid_powers)


def _by_square(mul: sp.Basic) -> tuple[sp.Expr, sp.Expr] | None:
    r"""(g, :math:`\rho`) when ``mul`` is a product :math:`\rho\,g^{-2}` (its first such factor) for a positive g
    and a factor :math:`\rho` that is not a number and does not hold g (bce's Hessian
    :math:`t(p^2 - 2p + 1)p^{-2}` divided twice is 0 at :math:`p = 1 - 2\cdot10^{-9}`, where the factored
    :math:`t(1 - p)^2/p^2` is exact), with no exponential factor (:func:`_exponential`) and no class
    vector (the emitter reads a class axis' entries and sums where the primitive would hide them); None otherwise."""
    if not isinstance(mul, sp.Mul) or any(_exponential(f) for f in mul.args) or mul.has(sp.Indexed, sp.Sum):
        return None
    squares = [f for f in mul.args if _inverse_square(f)]
    rest = mul / squares[0] if squares else None
    if rest is None or rest.is_number or rest.has(squares[0].base):
        return None
    return squares[0].base, rest


def _quotient_by_square_rewrite(expr: sp.Expr) -> sp.Expr:
    r""":math:`\rho\,g^{-2} \to \operatorname{over\_square}(\rho, g)` in every product that holds
    :math:`g^{-2}` for a positive g, except a term of a sum whose other terms hold :math:`g^{-2}` as well."""
    shared = set()
    for add in expr.atoms(sp.Add):
        found = {term: _by_square(term) for term in add.args}
        bases = [f[0] for f in found.values() if f is not None]
        shared |= {term for term, f in found.items() if f is not None and bases.count(f[0]) > 1}

    def rewrite(mul: sp.Mul) -> sp.Expr:
        g, rest = _by_square(mul)
        return over_square(rest, g)

    return expr.replace(lambda e: e not in shared and _by_square(e) is not None, rewrite)


RESTORING = frozenset({"perfect_square_in_sum"})
"""Rules that put back a structure an expansion took apart rather than replace a textbook form: a candidate
form is not preferred for them (a factored form expands its numerator, and would otherwise count its own
expansion undone as one more rule applied)."""

RATIOS: tuple[Rule, ...] = (
    Rule("perfect_square_in_sum",
         (claim("perfect_square_in_sum: k x^2 - 2 k x y + k y^2 = k (x - y)^2",
                t * a**2 - 2 * t * a * b + t * b**2, t * (a - b) ** 2),
          claim("perfect_square_in_sum: k x^2 + 2 k x y + k y^2 = k (x + y)^2",
                t * a**2 + 2 * t * a * b + t * b**2, t * (a + b) ** 2)),
         _perfect_square_rewrite,
         C**2 + 3 * a**2 - 6 * a * b + 3 * b**2),
    Rule("square_ratio_of_exact_sum",
         (claim("square_ratio_of_exact_sum: (x + y)^2/c^2 = ((x + y)/c)^2 for c > 0",
                expand_primitives(square_of_sum(a, b)) / C**2, expand_primitives(square_ratio_of_sum(a, b, C))),),
         _square_ratio_rewrite,
         -square_of_sum(a, -b) / C**2),
    Rule("square_over_exact_sum",
         (claim("square_over_exact_sum: k (h + l)^2/v = (k h)(h/v) + k (2 (l/v) h + (l/v) l) for v > 0",
                positive * expand_primitives(square_of_sum(a, b)) / C,
                (positive * a) * (a / C) + positive * (2 * (b / C) * a + (b / C) * b)),
          claim("square_over_exact_sum: k (h + l)^2/v = k (h h + l (2h + l))/v for v > 0",
                positive * expand_primitives(square_of_sum(a, b)) / C, positive * (a * a + b * (2 * a + b)) / C),
          claim("square_over_exact_sum: k (x + y)^2/v = 4 k (x/2 + y/2)^2/v (the halves' sum)",
                positive * expand_primitives(square_of_sum(a, b)) / C, 4 * (positive * (a / 2 + b / 2) ** 2 / C))),
         _square_over_rewrite,
         square_of_sum(a, -b) / (2 * C)),
    Rule("quotient_of_exact_sum",
         (claim("quotient_of_exact_sum: c (x + y)/v = 2 (c ((x/2 + y/2)/v)) for v > 0",
                t * (a + b) / C, 2 * (t * ((a / 2 + b / 2) / C))),),
         _quotient_rewrite,
         (a - b) / C),
    Rule("quotient_by_square",
         (claim("quotient_by_square: r g^-2 = (r/g)/g for g > 0", r * C**-2, (r / C) / C),),
         _quotient_by_square_rewrite,
         (a - b) * C**-2),
)
