r"""Stability rules for squares that overflow (hypot-style scaling): a square :math:`S = r^2` (``r**2``
or :class:`~symloss.stabilize.primitives.square_of_sum`) overflows to inf for :math:`|r| > 1.34\cdot10^{154}`
although :math:`\log(1 + S k)` or :math:`\sqrt{d + S k}` is finite; the rules take the size of
:math:`|r|` out before it is squared, in a regime with an explicit boundary :data:`HUGE`.

* ``log1p_of_huge_square``: :math:`\log(1 + u^2 k) = 2\log u + \log k + \log(1 + 1/(u^2 k))` for
  :math:`u = |r| > 0`, :math:`k > 0`, used where :math:`S k > \mathrm{HUGE}`;
* ``power_of_huge_square``: :math:`(d + u^2 k)^p = u^{2p}\,k^p\,(1 + d/(u^2 k))^p` for
  :math:`u > 0`, :math:`k > 0`, :math:`d \ge 0` and a real :math:`p` (a square root, a Hessian's
  :math:`-3/2`), used where :math:`S > \mathrm{HUGE}` or :math:`S k/d > \mathrm{HUGE}`, and
  :math:`d^p (1 + u^2 k/d)^p` for :math:`d > 0`, used where :math:`d > \mathrm{HUGE}` (a huge scale
  :math:`c`, :math:`d = c^2`).

In every regime a quotient of squares (:math:`c^2/r^2`, :math:`r^2/(\nu\sigma^2)`) is computed as the
square of a ratio (:class:`~symloss.stabilize.primitives.square_ratio`, :func:`as_square_ratio`):
:math:`(c/r)^2` is finite wherever it is representable, while :math:`c^2` or :math:`r^2` alone may
overflow or underflow (:math:`c^2/r^2` gives inf/inf where both squares overflow).

Neither names a loss.  Below the boundary both keep the textbook form, its :math:`S k` written as the
square of a ratio only where k holds a square (:math:`(r/c)^2` for :math:`r^2 c^{-2}`: the same value to a
rounding or two, and no 0/0 where :math:`r` and :math:`c` are both below :math:`10^{-154}`)."""

from __future__ import annotations

import sympy as sp

from symloss.declare.notation import NONNEGATIVE, POSITIVE, REAL, Scope, var
from symloss.stabilize.engine import Rule
from symloss.stabilize.identities import C, claim, r
from symloss.stabilize.primitives import expand_primitives, log1p, square_of_sum, square_ratio
from symloss.stabilize.scale_ratios import over_square, smaller_of

HUGE = sp.Float("1e300", 3)  # printed as 1.00e+300, which Python reads as the float 1e300
r"""The regime boundary.  Above it :math:`\log(1 + 1/(Sk)) < 10^{-300}` and :math:`2\log u + \log k \ge 690`
is a sum of terms of at most :math:`\sim 1450` in magnitude, so the scaled form loses no more than a
factor 2 to cancellation; below it the textbook form is kept (its square is finite unless the other
factor is tiny, and it is the form the bundled kernels are certified with)."""

TINY = sp.Float("1e-290", 3)
r"""The lower regime boundary, for a square scale :math:`d = c^2` or a square :math:`S = r^2`: below it
the textbook form's square is subnormal or 0 (:math:`c = 5\cdot10^{-324}`: :math:`c^2 + r^2 = 0 + 0`
gives 0/0), and the quotient is divided through by the larger of d and S k instead, the smaller one
entering only as a square of a ratio at most 1 (hypot-style)."""

_u, _k, _d = (var(n, POSITIVE).symbol for n in ("u", "k", "d"))
_p = var("p", REAL).symbol
_SCOPE = Scope((var("u", POSITIVE), var("k", POSITIVE), var("d", NONNEGATIVE), var("p", REAL)))
_POSITIVE_SCOPE = Scope((var("u", POSITIVE), var("k", POSITIVE), var("d", POSITIVE), var("p", REAL)))
_d0 = var("d", NONNEGATIVE).symbol


def square_root_of(expr: sp.Expr) -> sp.Expr | None:
    """``r`` when ``expr`` is the square ``r**2`` or ``square_of_sum(x, y)`` (then ``r = x + y``)."""
    if isinstance(expr, square_of_sum):
        return expr.args[0] + expr.args[1]
    if isinstance(expr, sp.Pow) and expr.exp == 2:
        return expr.base
    return None


def _half_power(factor: sp.Expr) -> tuple[sp.Expr, int] | None:
    """(g, n) when ``factor`` is an even integer power :math:`g^{2n}` (``square_of_sum(x, y)`` to an
    integer power e is :math:`(x + y)^{2e}`); None otherwise."""
    base, exponent = factor.as_base_exp()
    if not exponent.is_Integer:
        return None
    if isinstance(base, square_of_sum):
        return base.args[0] + base.args[1], int(exponent)
    return (base, int(exponent) // 2) if exponent % 2 == 0 else None


def as_square_ratio(monomial: sp.Expr, *, split: bool = False) -> sp.Expr:
    r"""``monomial`` with its even powers (and the even part of its odd ones,
    :math:`g^{2n \pm 1} = g^{2n} g^{\pm 1}`) gathered into one :class:`square_ratio`:
    :math:`\prod_i g_i^{2n_i} \cdot \rho = (N/D)^2 \rho` with :math:`N = \prod_{n_i > 0} g_i^{n_i}`,
    :math:`D = \prod_{n_i < 0} g_i^{-n_i}`, computed as the square of the ratio :math:`N/D`, so that
    neither :math:`N^2` nor :math:`D^2` is formed (an identity wherever :math:`D \ne 0`); with no numerator and
    ``split``, :math:`\rho/D^2` is :class:`~symloss.stabilize.scale_ratios.over_square`, :math:`(\rho/D)/D`
    (a quotient's own monomial, :math:`r/c^2`; not a term of an expanded square, :math:`-2\alpha y\hat y/r^2`,
    whose sum cancels to a ratio that the textbook division keeps: Barron's Hessian).  A power of a root in
    D is divided out one factor at a time, :math:`c^2/r^4 = ((c/r)/r)^2`: :math:`r^2` alone may underflow
    where the quotient does not."""
    numerator, denominator, rest = [], [], []
    for factor in sp.Mul.make_args(monomial):
        found = _half_power(factor)
        base, exponent = factor.as_base_exp()
        if found is None and exponent.is_Integer and abs(exponent) > 1:  # g^(2n ± 1) = g^(2n) g^(±1)
            sign = 1 if exponent > 0 else -1
            found = (base, (int(exponent) - sign) // 2)
            rest.append(base**sign)
        if found is None:
            rest.append(factor)
        else:
            root, n = found
            (numerator if n > 0 else denominator).append(root ** abs(n))
    for root in [g for g in numerator if g in denominator]:  # (r/r)^2 = 1
        numerator.remove(root)
        denominator.remove(root)
    if split and not numerator and denominator:  # x/D^2 as (x/D)/D: D^2 may underflow or overflow where x/D^2 does not
        return over_square(sp.Mul(*rest), sp.Mul(*denominator))
    if not numerator or not denominator:  # no quotient of squares: a square alone is computed as it was
        return sp.Mul(*(g**2 for g in numerator), *(g**-2 for g in denominator), *rest)
    last = next((g.base for g in denominator if g.is_Pow and g.exp > 1), None)
    if last is not None:  # (N/g^m)^2 as ((N/g^(m-1))/g)^2: c/r^2 as (c/r)/r, r^2 may underflow (r = 1e-170)
        return square_ratio(sp.Mul(*numerator) / (sp.Mul(*denominator) / last), last) * sp.Mul(*rest)
    return square_ratio(sp.Mul(*numerator), sp.Mul(*denominator)) * sp.Mul(*rest)


def scaled_square(expr: sp.Expr) -> tuple[sp.Expr, sp.Expr, sp.Expr] | None:
    """(S, r, k) when ``expr`` is :math:`S k`, a square :math:`S = r^2` times a positive factor ``k``
    (possibly 1)."""
    for factor in sp.Mul.make_args(expr):
        root = square_root_of(factor)
        if root is not None:
            k = expr / factor
            return (factor, root, k) if k.is_positive else None
    return None


def _log1p_rewrite(expr: sp.Expr) -> sp.Expr:
    r"""log1p(S k) → Piecewise((2 log|r| + log k + log1p(1/(S k)), S k > HUGE), (log1p(S k), True)), with
    :math:`1/(S k)`, the condition's :math:`S k` and, where k holds a square (:math:`c^{-2}`), the textbook
    branch's :math:`S k` computed as squares of ratios (:func:`as_square_ratio`)."""

    def rewrite(e: log1p) -> sp.Expr:
        argument = e.args[0]
        _, root, k = scaled_square(argument)
        scaled = 2 * sp.log(sp.Abs(root)) + sp.expand_log(sp.log(k)) + log1p(as_square_ratio(1 / argument))
        big = as_square_ratio(argument)
        return sp.Piecewise((scaled, big > HUGE), (log1p(big) if _has_square(k) else e, True))

    return _outside_piecewise(expr, lambda e: isinstance(e, log1p) and scaled_square(e.args[0]) is not None,
                              rewrite)


def _has_square(k: sp.Expr) -> bool:
    """Whether the factor ``k`` holds an even power (:math:`c^{-2}`), whose square may overflow or underflow."""
    return any(_half_power(factor) is not None for factor in sp.Mul.make_args(k))


def _huge_term(expr: sp.Basic) -> tuple[sp.Expr, sp.Expr, sp.Expr, sp.Expr] | None:
    r"""(S, r, k, d) when ``expr`` is a sum :math:`d + S k` with :math:`d \ge 0` and one scaled square."""
    if not isinstance(expr, sp.Add):
        return None
    for term in expr.args:
        found = scaled_square(term)
        if found is not None:
            rest = expr - term
            if rest.is_nonnegative:
                return (*found, rest)
    return None


def _power_rewrite(expr: sp.Expr) -> sp.Expr:
    r"""(d + S k)^p → Piecewise((|r|^{2p} k^p (1 + d/(S k))^p, S > HUGE or S k/d > HUGE),
    (d^p (1 + S k/d)^p, d > HUGE), ((d + S k)^p, True)) for a non-integer exponent p (an integer power
    of a sum is left to the quotient it stands in); the ratios d/(S k) and S k/d, and S k itself where
    k holds a square (:math:`c^{-2}`), computed as squares of ratios (:func:`as_square_ratio`).  The
    second regime only where d is a square (:math:`c^2`): a product such as :math:`\nu\sigma^2` may
    overflow in :math:`\sigma^2` although d itself is moderate, and would then be taken for huge.  For a square
    d the second form comes first where d dominates a huge S k (:func:`_huge_scale`)."""

    def matches(e: sp.Basic) -> bool:
        return (isinstance(e, sp.Pow) and e.exp.is_Rational and not e.exp.is_Integer
                and _huge_term(e.base) is not None)

    def rewrite(e: sp.Pow) -> sp.Expr:
        square, root, k, d = _huge_term(e.base)
        p = e.exp  # a negative power as the reciprocal of a positive one: SymPy would write |r|^-3 as |r|/r^4
        by_square = sp.Abs(root) ** (2 * abs(p)) * k ** abs(p) * (1 + as_square_ratio(d / (square * k))) ** abs(p)
        by_rest = d ** abs(p) * (1 + as_square_ratio(square * k / d)) ** abs(p)
        textbook = (d + as_square_ratio(square * k)) ** p if _has_square(k) else e
        dominant = sp.Or(square > HUGE, as_square_ratio(square * k / d) > HUGE)
        regimes = [*_huge_scale(by_rest if p > 0 else 1 / by_rest, square, k, d),
                   (by_square if p > 0 else 1 / by_square, dominant)]
        if _half_power(d) is not None:
            regimes += _scale_regimes(by_square if p > 0 else 1 / by_square, by_rest if p > 0 else 1 / by_rest,
                                      square, k, d)
        return sp.Piecewise(*regimes, (textbook, True))

    return _outside_piecewise(expr, matches, rewrite)


def _bounds(n: int) -> tuple[sp.Float, sp.Float]:
    r"""(:math:`\mathrm{HUGE}^{1/n}`, :math:`\mathrm{TINY}^{1/n}`): the boundaries for a sum :math:`d + S k`
    taken to the power n in the textbook form, :math:`(d + S k)^n` finite and normal only where d and S are
    within them (:math:`(c^2 + r^2)^2` underflows at :math:`c = r = 10^{-104}`, overflows at
    :math:`r = 10^{100}`); :data:`HUGE` and :data:`TINY` themselves for n = 1."""
    return sp.Float(HUGE ** sp.Rational(1, n), 3), sp.Float(TINY ** sp.Rational(1, n), 3)


def _huge_scale(by_rest: sp.Expr, square: sp.Expr, k: sp.Expr, d: sp.Expr,
                n: int = 1) -> list[tuple[sp.Expr, sp.Basic]]:
    r"""The regime before that of a huge S k, for a square scale :math:`d = c^2` (none otherwise): ``by_rest``
    (divided through by d) where :math:`d \ge \mathrm{HUGE}^{1/n}` and :math:`d \ge S k`.  A huge S k's regime
    divides by S k and forms :math:`d/(S k) = (c/r)^2`, which overflows where c is huger still
    (:math:`r = 1.6\cdot10^{153}`, :math:`c = 8.6\cdot10^{307}`: :math:`(c/r)^2 = \infty`, and
    :math:`\infty/\infty` is NaN), while :math:`S k/d \le 1` here."""
    if _half_power(d) is None:
        return []
    huge, _ = _bounds(n)  # one comparison, min(d, H d/(S k)) >= H: d alone may be a scalar, S an array
    return [(by_rest, smaller_of(d, huge * as_square_ratio(d / (square * k))) >= huge)]


def _scale_regimes(by_square: sp.Expr, by_rest: sp.Expr, square: sp.Expr, k: sp.Expr,
                   d: sp.Expr, n: int = 1) -> list[tuple[sp.Expr, sp.Basic]]:
    r"""The regimes after the first (a huge S k) for a square scale :math:`d = c^2` whose textbook sum is taken
    to the power n: ``by_rest`` (divided through by d) where :math:`d > \mathrm{HUGE}^{1/n}`, then for n > 1
    ``by_square`` where :math:`S > \mathrm{HUGE}^{1/n}`; where d or S is
    below :math:`\mathrm{TINY}^{1/n}` (:func:`_bounds`), ``by_square`` (divided through by S k) if
    :math:`S k/d > 1` and ``by_rest`` otherwise, so that the ratio of the smaller to the larger, at most 1, is
    the only square formed of the two."""
    huge, tiny_bound = _bounds(n)
    tiny = smaller_of(d, square) < tiny_bound  # one comparison: d alone may be a scalar, S an array
    square_huge = [(by_square, square > huge)] if n > 1 else []  # n = 1: the first regime's S > HUGE
    return [(by_rest, d > huge), *square_huge, (by_square, sp.And(tiny, as_square_ratio(square * k / d) > 1)),
            (by_rest, tiny)]


def _divided(numerator: sp.Expr, square: sp.Expr, root: sp.Expr, k: sp.Expr, d: sp.Expr | None, n: int) -> sp.Expr:
    r"""``numerator``:math:`/D^n` for :math:`D = S k` (``d`` None) or :math:`D = d`, the division carried
    into each of the numerator's sums that holds the square S, one per power (:math:`(c^2 - S)/S =
    (c/r)^2 - 1`), and the rest a monomial, S written :math:`r^2` (with ``root`` oriented as the
    numerator's factor, so that SymPy cancels it), whose quotients of squares are squares of ratios."""
    factors = []
    for factor in sp.Mul.make_args(numerator):
        if n > 0 and isinstance(factor, sp.Add) and factor.has(square):
            factor = sp.Add(*(as_square_ratio(term / (square * k if d is None else d)) for term in factor.args))
            n -= 1
        factors.append(factor)
    return as_square_ratio(sp.Mul(*factors) / (root**2 * k if d is None else d) ** n, split=True)


def _quotient_rewrite(expr: sp.Expr) -> sp.Expr:
    r"""P (d + S k)^{-n} → Piecewise((P/(S k)^n · (1 + d/(S k))^{-n}, S > HUGE or S k/d > HUGE),
    (P/d^n · (1 + S k/d)^{-n}, d > HUGE), (P (d + S k)^{-n}, True)) for an integer n ≥ 1 (the second regime
    only where d is a square, :math:`c^2`, see :func:`_power_rewrite`): numerator and
    denominator divided through by the larger of d and S k, so that neither overflows (:math:`r/(c^2 + r^2)`
    at :math:`r = 10^{200}`), S written :math:`r^2` with r oriented as the numerator's factor so that SymPy
    cancels it; for a square d the second form comes first where d dominates a huge S k (:func:`_huge_scale`)."""

    def quotient(e: sp.Basic) -> tuple[sp.Expr, sp.Expr, int] | None:
        if not isinstance(e, sp.Mul):
            return None
        for factor in e.args:
            base, exponent = factor.as_base_exp()
            if exponent.is_Integer and exponent < 0 and _huge_term(base) is not None:
                return e / factor, base, -int(exponent)
        return None

    def rewrite(e: sp.Mul) -> sp.Expr:
        numerator, base, n = quotient(e)
        square, root, k, d = _huge_term(base)
        # factors free of r stay outside the regimes, multiplied last as in the textbook kernel (-(ν + 1) r/B
        # computes r/B first; (ν + 1) r first would overflow at a huge ν)
        # (an even power such as c^2 goes inside, where it enters the squares of ratios)
        factors = sp.Mul.make_args(numerator)
        outside = sp.Mul(*(f for f in factors if not f.free_symbols & root.free_symbols and _half_power(f) is None))
        numerator = numerator / outside
        e = numerator * base**-n
        root = next((f for f in sp.Mul.make_args(numerator) if sp.expand(f + root) == 0), root)
        by_square = _divided(numerator, square, root, k, None, n) / (1 + as_square_ratio(d / (square * k))) ** n
        by_rest = _divided(numerator, square, root, k, d, n) / (1 + as_square_ratio(square * k / d)) ** n
        regimes = [*_huge_scale(by_rest, square, k, d, n),
                   (by_square, sp.Or(square > HUGE, as_square_ratio(square * k / d) > HUGE))]
        if _half_power(d) is not None:
            regimes += _scale_regimes(by_square, by_rest, square, k, d, n)
        return outside * sp.Piecewise(*regimes, (e, True))

    return _outside_piecewise(expr, lambda e: quotient(e) is not None, rewrite)


def _outside_piecewise(expr: sp.Expr, matches, rewrite) -> sp.Expr:
    """``expr`` with ``rewrite`` applied to each match that is not already inside a Piecewise (the
    rewrites' own Piecewise keeps the textbook form as its second branch, never rewritten again)."""
    if isinstance(expr, sp.Piecewise) or expr.is_Atom or not expr.args:
        return expr
    if matches(expr):
        return rewrite(expr)
    return expr.func(*(_outside_piecewise(a, matches, rewrite) for a in expr.args))


_RATIO = claim("a quotient of squares as the square of the ratio: (r/C)^2 = r^2/C^2 for C > 0",
               expand_primitives(square_ratio(r, C)), r**2 / C**2)

_OVER_SQUARE = claim("a quotient by a square in two divisions: (r/C)/C = r/C^2 for C > 0",
                     (r / C) / C, expand_primitives(over_square(r, C)))

_POWER_CLAIMS = (  # (d + S k)^p for a real p: a square root, a Hessian's -3/2, a quotient's -n
    claim("power_of_huge_square: (d + u^2 k)^p = u^(2p) k^p (1 + d/(u^2 k))^p for u, k > 0, d >= 0",
          (_d0 + _u**2 * _k) ** _p, _u ** (2 * _p) * _k**_p * (1 + _d0 / (_u**2 * _k)) ** _p, _SCOPE),
    claim("power_of_huge_square, huge d: (d + u^2 k)^p = d^p (1 + u^2 k/d)^p for u, k, d > 0",
          (_d + _u**2 * _k) ** _p, _d**_p * (1 + _u**2 * _k / _d) ** _p, _POSITIVE_SCOPE),
    _RATIO, _OVER_SQUARE)

SCALING: tuple[Rule, ...] = (
    Rule("log1p_of_huge_square",
         (claim("log1p_of_huge_square: log(1 + u^2 k) = 2 log u + log k + log(1 + 1/(u^2 k)) for u, k > 0",
                sp.log(1 + _u**2 * _k), 2 * sp.log(_u) + sp.log(_k) + sp.log(1 + 1 / (_u**2 * _k)), _SCOPE),
          claim("log1p_of_huge_square, u = |r|: |r|^2 = r^2", sp.Abs(r) ** 2, r**2), _RATIO),
         _log1p_rewrite, log1p(square_of_sum(_u, -_k) / _d**2)),
    Rule("power_of_huge_square", _POWER_CLAIMS, _power_rewrite, sp.sqrt(_d**2 + square_of_sum(_u, -_k))),
    Rule("quotient_of_huge_square", _POWER_CLAIMS, _quotient_rewrite,
         _u * (_d**2 - square_of_sum(_u, -_k)) / (_d**2 + square_of_sum(_u, -_k)) ** 2),
)
