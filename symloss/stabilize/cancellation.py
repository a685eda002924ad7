r"""Stability rules against cancellation at small arguments (Goldberg 1991 for expm1/log1p): a power
or an exponential minus one, :math:`u^a - 1` and :math:`1 - e^{x}`, whose textbook form keeps only
the absolute accuracy of a value next to 1, rewritten as :math:`\operatorname{expm1}` of the exact
exponent, which is accurate to its own magnitude:

* ``power_minus_one``: :math:`c\,u^a - c = c\operatorname{expm1}(a\log u)` for :math:`u > 0` and a
  non-integer or symbolic exponent :math:`a` (:math:`\sqrt{1 + t} - 1`, Barron's
  :math:`(1 + x)^{\alpha/2} - 1`, :math:`1 - p^q` for a probability p and a small q); where
  :math:`u = 1 + t` the logarithm is :math:`\operatorname{log1p}(t)`, so that :math:`t` is not
  rounded into :math:`1 + t` first.
* ``one_minus_exp``: :math:`c - c\,e^{x} = -c\operatorname{expm1}(x)`.
* ``expm1_over_factor``: :math:`\operatorname{expm1}(d\,y)/d = y\operatorname{exprel}(d\,y)` for a
  divisor :math:`d` that is a factor of the exponent (the Box–Cox form :math:`(u^\lambda - 1)/\lambda`
  after ``power_minus_one``): where :math:`d\,y` underflows, :math:`\operatorname{expm1}(d\,y)/d` is
  0 or has lost :math:`y`'s digits, while :math:`y\operatorname{exprel}(d\,y) \to y`, the limit
  :math:`\lambda \to 0` (:math:`\log u`).

The first two apply to two terms of a sum, :math:`c\,f` and :math:`-c` (the sum may hold more terms, which
are kept), as ``scaled_one_minus_sigmoid`` does.  An integer power is left alone: it is a polynomial
whose base may be negative, where :math:`\log u` is not real.  Where the base of a power is not known
to be positive (SymPy's assumptions, with a square such as ``square_of_sum`` known nonnegative), the
rewrite is taken only where :math:`u > 0` and the textbook form is kept elsewhere: a real
:math:`u^a` with :math:`u < 0` needs an integer :math:`a` at run time, which the logarithm cannot give.
Neither rule names a loss."""

from __future__ import annotations

from collections.abc import Callable

import sympy as sp

from symloss.stabilize.engine import Rewrite, Rule
from symloss.stabilize.identities import a, b, claim, t, w, x
from symloss.stabilize.primitives import (
    expand_primitives,
    expm1,
    exprel,
    log1p,
    square_of_sum,
    square_ratio,
    square_ratio_of_sum,
)

Exponent = Callable[[sp.Expr], sp.Expr | None]  # the exact exponent of a factor f = e^exponent, or None


def _known_nonnegative(expr: sp.Expr) -> bool:
    r"""Whether ``expr`` is nonnegative wherever it is real: SymPy's assumptions, with squares
    (``square_of_sum``, ``square_ratio``, ``square_ratio_of_sum``, even powers), absolute values and
    their products, quotients and positive powers known nonnegative.  A quotient by zero is taken as
    :math:`+\infty` (a float division gives inf or NaN, never a negative number), which SymPy's
    assumptions do not."""
    if expr.is_nonnegative or isinstance(expr, square_of_sum | square_ratio | square_ratio_of_sum | sp.Abs):
        return True
    if isinstance(expr, sp.Add | sp.Mul):
        return all(_known_nonnegative(arg) for arg in expr.args)
    if isinstance(expr, sp.Pow):
        return (expr.exp.is_Integer and expr.exp % 2 == 0) or _known_nonnegative(expr.base)
    return False


def _known_positive(expr: sp.Expr) -> bool:
    """Whether ``expr`` is positive: SymPy's assumptions, or a sum of a positive number and terms
    known nonnegative (:func:`_known_nonnegative`)."""
    if expr.is_positive:
        return True
    if not isinstance(expr, sp.Add):
        return False
    numbers = [arg for arg in expr.args if arg.is_Number]
    return (len(numbers) == 1 and numbers[0].is_positive
            and all(_known_nonnegative(arg) for arg in expr.args if not arg.is_Number))


def _positive(base: sp.Expr) -> sp.Basic:
    """The condition u > 0 as a Piecewise holds it (SymPy writes 1 - p > 0 as p < 1 there)."""
    condition = base > 0
    return condition if condition in (sp.true, sp.false) else sp.Piecewise((0, condition), (1, True)).args[0].cond


def _log_of(base: sp.Expr) -> sp.Expr:
    r""":math:`\log u`, as :math:`\operatorname{log1p}(t)` where :math:`u = 1 + t` holds the term 1."""
    if isinstance(base, sp.Add) and sp.S.One in base.args:
        return log1p(base - 1)
    return sp.log(base)


def _power_exponent(factor: sp.Expr) -> sp.Expr | None:
    r""":math:`a\log u` for a power :math:`u^a` whose exponent is not known to be an integer."""
    if not isinstance(factor, sp.Pow) or factor.exp.is_integer or factor.base.is_Number:
        return None
    return factor.exp * _log_of(factor.base)


def _exp_exponent(factor: sp.Expr) -> sp.Expr | None:
    """x for an exponential :math:`e^x`."""
    return factor.args[0] if isinstance(factor, sp.exp) else None


def _minus_one_rewrite(exponent: Exponent) -> Rewrite:
    r"""c·f − c → c·expm1(X) for two terms of one sum (the others kept), f a factor of the first with
    ``exponent``\ (f) = X; a power whose base is not known positive as Piecewise((c·expm1(X), u > 0),
    (c·f − c, True)), whose second branch is not rewritten again (u > 0 is false there).  Where f is a
    Piecewise (a scaling rule's regimes) with such a factor in a branch, the −c goes into every branch,
    c·Piecewise((f_i, k_i)) − c = Piecewise((c·f_i − c, k_i)), and the branches are rewritten."""

    def matches(factor: sp.Expr, outside: frozenset) -> bool:
        """``factor`` is f (a power whose condition u > 0 is in ``outside``, a later branch of a Piecewise
        that tested it, is left), or a Piecewise with such an f as a branch."""
        if isinstance(factor, sp.Piecewise):
            return any(matches(e, outside | {c for _, c in factor.args[:i]}) for i, (e, _) in enumerate(factor.args))
        return exponent(factor) is not None and not (isinstance(factor, sp.Pow) and _positive(factor.base) in outside)

    def pair(add: sp.Basic, outside: frozenset) -> tuple[sp.Expr, sp.Expr, sp.Expr] | None:
        """(the term c·f, the factor f, the scale c) of the first such pair in the sum ``add``."""
        if not isinstance(add, sp.Add):
            return None
        for term in add.args:
            factors = sp.Mul.make_args(term)
            for i, factor in enumerate(factors):
                if not matches(factor, outside):
                    continue
                scale = sp.Mul(*factors[:i], *factors[i + 1:])  # not term/factor: 1/Piecewise goes into its branches
                if -scale in add.args:
                    return term, factor, scale
        return None

    def rewrite(add: sp.Add, outside: frozenset) -> sp.Expr:
        term, factor, scale = pair(add, outside)
        rest = sp.Add(*(arg for arg in add.args if arg not in (term, -scale)))
        if isinstance(factor, sp.Piecewise):
            return rest + sp.Piecewise(*((walk(scale * e - scale, outside | {k for _, k in factor.args[:i]}), c)
                                         for i, (e, c) in enumerate(factor.args)))
        stable = scale * expm1(exponent(factor))
        if isinstance(factor, sp.Pow) and not _known_positive(factor.base):
            stable = sp.Piecewise((stable, _positive(factor.base)), (term - scale, True))
        return rest + stable

    def walk(expr: sp.Basic, outside: frozenset = frozenset()) -> sp.Basic:
        if expr.is_Atom or not expr.args:
            return expr
        if isinstance(expr, sp.Piecewise):  # each branch where the conditions before it are false
            branches = [(walk(e, outside | {c for _, c in expr.args[:i]}), c) for i, (e, c) in enumerate(expr.args)]
            return sp.Piecewise(*branches) if tuple(branches) != tuple(tuple(b) for b in expr.args) else expr
        args = tuple(walk(arg, outside) for arg in expr.args)
        expr = expr if args == expr.args else expr.func(*args)
        return rewrite(expr, outside) if pair(expr, outside) is not None else expr

    return walk


def _has_expm1_of(divisor: sp.Expr, factor: sp.Expr) -> bool:
    r"""Whether ``factor`` is :math:`\operatorname{expm1}(X)`, or a product with such a factor, or a Piecewise
    with such a branch, where ``divisor`` is a factor of :math:`X`."""
    if isinstance(factor, sp.Piecewise):
        return any(_has_expm1_of(divisor, branch) for branch, _ in factor.args)
    return any(isinstance(f, expm1) and divisor in sp.Mul.make_args(f.args[0]) for f in sp.Mul.make_args(factor))


def _divisor_of_exponent(product: sp.Expr) -> tuple[sp.Expr, sp.Expr] | None:
    r"""(a factor :math:`\operatorname{expm1}(X)` or a Piecewise with one as a branch, a divisor :math:`d`) of a
    product that divides by :math:`d` (a factor :math:`d^{-n}` or :math:`b^{-n}`, :math:`d = b`), :math:`d` not a
    number and a factor of :math:`X`; None where there is none."""
    if not isinstance(product, sp.Mul):
        return None
    for power in product.args:
        if not (isinstance(power, sp.Pow) and power.exp.is_negative and not power.base.is_Number):
            continue
        for divisor in (1 / power, power.base):
            for factor in product.args:
                if isinstance(factor, expm1 | sp.Piecewise) and _has_expm1_of(divisor, factor):
                    return factor, divisor
    return None


def _exprel_rewrite(expr: sp.Expr) -> sp.Expr:
    r"""c·expm1(d·y)/d → c·y·exprel(d·y) in every product that has such a pair (see
    :func:`_divisor_of_exponent`); c·Piecewise((e_i, k_i))/d = c·Piecewise((e_i/d, k_i)), each branch
    rewritten."""

    def rewrite(product: sp.Mul) -> sp.Expr:
        factor, divisor = _divisor_of_exponent(product)
        others = list(product.args)
        others.remove(factor)  # not product/factor: SymPy divides a Piecewise into its branches
        rest = sp.Mul(*others) * divisor
        if isinstance(factor, sp.Piecewise):
            return rest * sp.Piecewise(*((_exprel_rewrite(branch / divisor), condition)
                                         for branch, condition in factor.args))
        return rest * (factor.args[0] / divisor) * exprel(factor.args[0])

    return expr.replace(lambda e: _divisor_of_exponent(e) is not None, rewrite)


CANCELLATION: tuple[Rule, ...] = (
    Rule("power_minus_one",
         (claim("power_minus_one: c u^a - c = c expm1(a log u) for u > 0", t * w**a - t,
                expand_primitives(t * expm1(a * sp.log(w)))),
          claim("power_minus_one, u = 1 + x, x > -1: (1 + x)^a - 1 = expm1(a log1p(x))", (1 + x) ** a - 1,
                expand_primitives(expm1(a * log1p(x))))),
         _minus_one_rewrite(_power_exponent),
         (1 + w) ** a - 1),
    Rule("one_minus_exp",
         (claim("one_minus_exp: c - c e^a = -c expm1(a)", t - t * sp.exp(a), expand_primitives(-t * expm1(a))),),
         _minus_one_rewrite(_exp_exponent),
         t - t * sp.exp(a)),
    Rule("expm1_over_factor",
         (claim("expm1_over_factor: c expm1(a y)/a = c y exprel(a y)", t * expm1(a * b) / a,
                expand_primitives(t * b * exprel(a * b))),),
         _exprel_rewrite),
)
