r"""Stability rule for a positively homogeneous function of an exact sum whose sum overflows: a piecewise-linear
function of a residual :math:`r = y - \hat y` (the pinball loss :math:`\max(\tau r, (\tau - 1) r)`, the
ε-insensitive :math:`\max(|r| - \varepsilon, 0)`, Huber's linear part :math:`\delta(|r| - \delta/2)`) is inf
where :math:`r` overflows (:math:`y = -\hat y = 1.8\cdot10^{308}`) although its value is finite.

* ``homogeneous_on_halves``: :math:`F\cdot H(v) = 2\,(F\cdot H(v/2))` for H positively homogeneous of degree 1 in
  the inputs v it scales (the residual's two inputs and the inputs added to it, such as :math:`\delta`,
  :math:`\varepsilon`) and F free of them or not (F is not scaled).  H is built from those inputs by sums,
  products with factors free of them (:math:`\tau`, a number), integer powers, :math:`|\cdot|`, max and min, and
  functions of arguments of degree 0 (:math:`e^{-(r/c)^2}` with c scaled: a robust loss :math:`c^2\rho(r/c)` is
  of degree 2 in :math:`(y, \hat y, c)`, its gradient of degree 1); each constructor
  commutes with halving (the claims), so H does by induction on its structure.  A sum of logarithms
  :math:`\sum_i k_i\log g_i` with :math:`\sum_i k_i \deg g_i = 0` is of degree 0 (:math:`2\log|r| - 2\log c`);
  a Piecewise is of the degree its branches share when every condition is invariant under the halving (both
  sides of each comparison of one degree, or one side 0: the same branch is taken at the halves).  The kernel evaluates
  :class:`~symloss.stabilize.exact_sum_primitives.on_halves`: the plain value where it is finite, twice the
  value at the halves elsewhere (the halves exact above :math:`2^{-1022}`; the halves' residual finite).

It is not expanded: :math:`\delta|r| - \delta^2/2` would overflow in :math:`\delta^2` from
:math:`\delta = 1.34\cdot10^{154}` on where the value is finite.  None names a loss."""

from __future__ import annotations

import sympy as sp

from symloss.stabilize.engine import Rule
from symloss.stabilize.exact_sum_primitives import half, on_halves
from symloss.stabilize.exact_sums import exact_terms
from symloss.stabilize.identities import C, a, b, claim, t
from symloss.stabilize.primitive_base import Primitive
from symloss.stabilize.primitives import expand_primitives, square_of_sum

_LINEAR = (sp.Add, sp.Max, sp.Min)


def _exact_terms(add: sp.Add) -> tuple[sp.Expr, sp.Expr] | None:
    """The terms of an exact sum ``add`` = x + y, or of c x + c y for a number c (SymPy distributes
    :math:`(y - \\hat y)/2`)."""
    if len(add.args) != 2:
        return None
    number = add.args[0].as_coeff_Mul()[0]  # each term divided, not the sum expanded (a product of sums)
    return exact_terms(add) or exact_terms(sp.Add(*(term / number for term in add.args)))


def _residual_inputs(expr: sp.Basic) -> frozenset[sp.Symbol]:
    """The scalar inputs of the exact sums of two float inputs in ``expr`` (a residual :math:`y - \\hat y`, or
    the two terms of a :class:`~symloss.stabilize.primitives.square_of_sum`), also those inside a primitive's
    math (:math:`((x + y)/c)^2` of a ``square_ratio_of_sum(x, y, c)``)."""
    found: set[sp.Symbol] = set()
    for node in (*sp.preorder_traversal(expr), *sp.preorder_traversal(expand_primitives(expr))):
        terms = _exact_terms(node) if isinstance(node, sp.Add) else None
        terms = node.args if isinstance(node, square_of_sum) else terms
        if terms is not None and not terms[1].is_number:
            found |= {s for term in terms for s in term.free_symbols}
    return frozenset(s for s in found if isinstance(s, sp.Symbol))


def _degree(expr: sp.Basic, scaled: frozenset[sp.Symbol], unscaled: set[sp.Symbol]) -> int | None:
    """The degree of positive homogeneity of ``expr`` in the ``scaled`` inputs when its structure shows one
    (sums, max and min of terms of one degree, products, :math:`|\\cdot|`, the square of an exact sum of
    degree-1 terms; anything free of them has degree 0), None otherwise.  A sum, max or min that mixes
    degrees 1 and 0 adds the inputs of its degree-0 terms to ``unscaled`` (scaling them too may make it
    homogeneous)."""
    if not expr.free_symbols & scaled:
        return 0
    if isinstance(expr, sp.Symbol):
        return 1
    if isinstance(expr, sp.Abs):
        return _degree(expr.args[0], scaled, unscaled)
    if isinstance(expr, sp.Pow) and expr.exp.is_Integer:  # (x/2)^n = x^n/2^n
        degree = _degree(expr.base, scaled, unscaled)
        return None if degree is None else int(expr.exp) * degree
    if isinstance(expr, Primitive) and not isinstance(expr, square_of_sum):  # its math, e.g. ((x + y)/c)^2
        return _degree(expr.textbook(), scaled, unscaled)
    if isinstance(expr, sp.Piecewise):
        return _piecewise_degree(expr, scaled, unscaled)
    if isinstance(expr, sp.Function) and not isinstance(expr, (*_LINEAR, square_of_sum)):
        return _function_degree(expr, scaled, unscaled)
    if isinstance(expr, square_of_sum):
        return 2 if [_degree(term, scaled, unscaled) for term in expr.args] == [1, 1] else None
    if isinstance(expr, sp.Mul):
        degrees = [_degree(f, scaled, unscaled) for f in expr.args]
        return None if None in degrees else sum(degrees)
    if isinstance(expr, sp.Add) and any(isinstance(term.as_coeff_Mul()[1], sp.log) for term in expr.args):
        return _log_sum_degree(expr, scaled, unscaled)
    if isinstance(expr, _LINEAR):
        terms = [term for term in expr.args if term != 0]
        degrees = [_degree(term, scaled, unscaled) for term in terms]
        if None in degrees or len(set(degrees)) != 1:
            if set(degrees) == {0, 1}:
                unscaled |= {s for term, d in zip(terms, degrees, strict=True) if d == 0
                             for s in term.free_symbols if isinstance(s, sp.Symbol)}
            return None
        return degrees[0]
    return None


def _function_degree(expr: sp.Function, scaled: frozenset[sp.Symbol], unscaled: set[sp.Symbol]) -> int | None:
    """0 for a function (exp, log, a square root) of arguments of degree 0 in the ``scaled`` inputs
    (:math:`f(u(x/2)) = f(u(x))`), None otherwise; an argument of another degree adds its inputs that are not
    scaled to ``unscaled`` (:math:`e^{-(r/c)^2}` is of degree 0 once c is scaled with the residual)."""
    degrees = [_degree(arg, scaled, unscaled) for arg in expr.args]
    if degrees == [0] * len(degrees):
        return 0
    unscaled |= {s for arg in expr.args for s in arg.free_symbols if isinstance(s, sp.Symbol) and s not in scaled}
    return None


def _piecewise_degree(expr: sp.Piecewise, scaled: frozenset[sp.Symbol], unscaled: set[sp.Symbol]) -> int | None:
    r"""The degree d shared by the branches of ``expr`` when each condition is invariant under the halving
    (:func:`_invariant`), None otherwise.  Sound: at the halves every condition has the truth value it has at
    the inputs, so the same branch is taken, and that branch is :math:`B(x/2) = B(x)/2^d`; the Piecewise is
    then :math:`P(x/2) = P(x)/2^d` (a condition such as :math:`|r| < c` with c scaled is invariant; one such as
    :math:`r^2 > 10^{300}` is not, and the Piecewise is not taken)."""
    degrees = {_degree(branch, scaled, unscaled) for branch, _ in expr.args}
    if len(degrees) != 1 or None in degrees:
        return None
    if not all(_invariant(condition, scaled, unscaled) for _, condition in expr.args):
        return None
    return degrees.pop()


def _invariant(condition: sp.Basic, scaled: frozenset[sp.Symbol], unscaled: set[sp.Symbol]) -> bool:
    r"""Whether ``condition`` has one truth value at the inputs and at their halves: True or False; And, Or, Not
    of such; a comparison :math:`u \lessgtr v` whose sides are of one degree d (:math:`u(x/2) = u(x)/2^d`,
    :math:`v(x/2) = v(x)/2^d`, and dividing both sides by :math:`2^d > 0` keeps the order) or one side 0 (the
    sign of the other is kept).  A side of degree 0 with inputs that are not scaled adds them to ``unscaled``
    (:math:`|r| < c` is invariant once c is scaled too)."""
    if condition in (sp.true, sp.false):
        return True
    if isinstance(condition, (sp.And, sp.Or, sp.Not)):
        return all(_invariant(arg, scaled, unscaled) for arg in condition.args)
    if not isinstance(condition, sp.core.relational.Relational):
        return False
    sides = (condition.lhs, condition.rhs)
    degrees = [_degree(side, scaled, unscaled) for side in sides]
    if None in degrees:
        return False
    if degrees[0] == degrees[1] or any(side == 0 for side in sides):
        return True
    unscaled |= {s for side, d in zip(sides, degrees, strict=True) if d == 0
                 for s in side.free_symbols if isinstance(s, sp.Symbol)}
    return False


def _log_sum_degree(expr: sp.Add, scaled: frozenset[sp.Symbol], unscaled: set[sp.Symbol]) -> int | None:
    r"""0 for a sum :math:`\sum_i k_i \log g_i + G` with :math:`g_i` of degree :math:`d_i`,
    :math:`\sum_i k_i d_i = 0` and G of degree 0: :math:`\log g_i(x/2) = \log g_i(x) - d_i \log 2`, so the
    sum at the halves is the sum less :math:`(\sum_i k_i d_i)\log 2` (:math:`2\log|r| - 2\log c` with c
    scaled); None otherwise, the inputs of a logarithm's argument of degree 0 that are not scaled added to
    ``unscaled`` (:math:`\log c` next to :math:`\log|r|`)."""
    weight, rest = sp.S.Zero, []
    for term in expr.args:
        number, factor = term.as_coeff_Mul()
        if not isinstance(factor, sp.log):
            rest.append(term)
            continue
        degree = _degree(factor.args[0], scaled, unscaled)
        if degree is None:
            return None
        weight += number * degree
        if degree == 0:
            unscaled |= {s for s in factor.free_symbols if isinstance(s, sp.Symbol) and s not in scaled}
    others = [_degree(term, scaled, unscaled) for term in rest]
    return 0 if weight == 0 and all(d == 0 for d in others) else None


def _homogeneous_inputs(expr: sp.Basic) -> tuple[frozenset[sp.Symbol], int] | None:
    """(the inputs, the degree 1 or 2) in which ``expr`` is positively homogeneous: the inputs of its residuals,
    and those added to them where a sum mixes them; None when there is none such."""
    scaled = _residual_inputs(expr)
    while scaled:
        added: set[sp.Symbol] = set()
        degree = _degree(expr, scaled, added)
        if degree in (1, 2):
            return scaled, degree
        if degree is not None or not added - scaled:
            return None
        scaled = scaled | added
    return None


def _useful(expr: sp.Basic) -> bool:
    """More than a residual, its absolute value or its square, or a number :math:`|c| \\ge 1` times one: those
    overflow with the value; and more than a number times another primitive (``square_ratio_of_sum``), whose
    own form is the stable one."""
    number, rest = expr.as_coeff_Mul()
    rest = rest.args[0] if isinstance(rest, sp.Abs) else rest
    if isinstance(rest, Primitive) and not isinstance(rest, square_of_sum):
        return False
    bare = isinstance(rest, square_of_sum) or (isinstance(rest, sp.Add) and _exact_terms(rest) is not None)
    return not (bare and abs(number) >= 1)


def _halved(expr: sp.Expr, scaled: frozenset[sp.Symbol]) -> sp.Expr:
    """``expr`` at the ``scaled`` inputs halved (each as an opaque :class:`half`)."""
    return expr.xreplace({s: half(s) for s in scaled})


def _wrapped(expr: sp.Basic) -> sp.Expr | None:
    r""":math:`\operatorname{on\_halves}(F H, F H_{1/2}, 2^d)` for a product ``expr`` :math:`F H` with a factor H
    that is positively homogeneous of degree :math:`d \in \{1, 2\}`, or for such an H itself (F = 1: a product
    taken whole, :math:`r \rho'(r/c)` with c scaled with the residual, when no factor of it is one: see
    :func:`_wrapped_whole`), unless
    ``expr`` is no more than a residual, its absolute value or square (:func:`_useful`), or H is that and F a
    function of it (no gain); None otherwise."""
    if not isinstance(expr, sp.Expr) or not _useful(expr):
        return None
    factors = sp.Mul.make_args(expr)
    splits = [(f, sp.Mul(*(g for g in factors if g is not f))) for f in factors]
    for factor, rest in splits:
        if not isinstance(factor, (*_LINEAR, sp.Abs, sp.Mul, square_of_sum)):
            continue
        if (found := _homogeneous_inputs(factor)) is not None:
            scaled, degree = found
            if not _useful(factor) and rest.free_symbols & scaled:  # F r with F a function of r: no gain
                continue
            return on_halves(expr, expr.xreplace({factor: _halved(factor, scaled)}), 2**degree)
    return _wrapped_whole(factors)


def _wrapped_whole(factors: tuple[sp.Expr, ...]) -> sp.Expr | None:
    r"""A product taken whole, :math:`s^{k-1}\operatorname{on\_halves}(s\,G, (s\,G)_{1/2}, 2^d)` for
    :math:`s^k G` (:math:`c^2\rho(r/c) = c\,(c\,\rho(r/c))`, d the degree of :math:`s\,G`): each power
    :math:`s^k, k > 1`, of an input keeps one s inside, the rest outside, since a power in on_halves'
    arguments is printed as such and :math:`c^2` overflows where :math:`c\,(c\,x)` did not.  None for a single
    factor, a product that holds an on_halves (already made), a negative power of an input
    (:math:`c^{-2}` would underflow) or a Piecewise homogeneous alone (its branches are taken one by one: the
    halves are inexact below :math:`2^{-1022}`, and :math:`\delta(|r| - \delta/2)` keeps its outer
    :math:`\delta` whole where Huber's Piecewise taken whole would halve it), or when :math:`s\,G` is not
    homogeneous of degree 1 or 2."""
    powers = [f for f in factors if f.is_Pow and f.base.is_Symbol and f.exp.is_Integer and abs(f.exp) > 1]
    if len(factors) < 2 or any(f.exp < 0 for f in powers) or any(isinstance(f, on_halves) for f in factors):
        return None
    if any(isinstance(f, sp.Piecewise) and _homogeneous_inputs(f) for f in factors):
        return None  # its branches are taken one by one, with fewer inputs halved
    outer = sp.Mul(*(f.base ** (f.exp - 1) for f in powers))
    inner = sp.Mul(*factors) / outer
    if (found := _homogeneous_inputs(inner)) is None:
        return None
    scaled, degree = found
    return outer * on_halves(inner, _halved(inner, scaled), 2**degree)


def _on_halves_rewrite(expr: sp.Basic) -> sp.Basic:
    r"""The outermost products and sums :math:`F\cdot H` (see :func:`_wrapped`) as
    :math:`\operatorname{on\_halves}`; conditions and primitives (an ``on_halves`` already made) are kept."""
    if isinstance(expr, Primitive | sp.logic.boolalg.Boolean) or not expr.args:
        return expr
    if (wrapped := _wrapped(expr)) is not None:
        return wrapped
    args = tuple(_on_halves_rewrite(arg) for arg in expr.args)
    return expr if args == expr.args else expr.func(*args)


HOMOGENEOUS: tuple[Rule, ...] = (
    Rule("homogeneous_on_halves",
         (claim("homogeneous_on_halves: F H = 2 (F (H/2)) for a factor F that is not scaled",
                t * (a + b), 2 * (t * (a / 2 + b / 2))),
          claim("homogeneous_on_halves: |x + y| = 2 |x/2 + y/2|", sp.Abs(a + b), 2 * sp.Abs(a / 2 + b / 2)),
          claim("homogeneous_on_halves: max(x, y) = 2 max(x/2, y/2)", sp.Max(a, b), 2 * sp.Max(a / 2, b / 2)),
          claim("homogeneous_on_halves: min(x, y) = 2 min(x/2, y/2)", sp.Min(a, b), 2 * sp.Min(a / 2, b / 2)),
          claim("homogeneous_on_halves: (x + y)^2 = 4 (x/2 + y/2)^2 (degree 2)",
                expand_primitives(square_of_sum(a, b)), 4 * expand_primitives(square_of_sum(a / 2, b / 2))),
          claim("homogeneous_on_halves: an integer power, C^-2 = (C/2)^-2/4 for C > 0", C**-2, (C / 2) ** -2 / 4),
          claim("homogeneous_on_halves: a function of a ratio of degree 0, exp(-((x + y)/C)^2) at the halves",
                sp.exp(-(((a + b) / C) ** 2)), sp.exp(-(((a / 2 + b / 2) / (C / 2)) ** 2))),
          claim("homogeneous_on_halves: a sum of logarithms of total degree 0, 2 log|x + y| - 2 log C at the halves",
                2 * sp.log(sp.Abs(a + b)) - 2 * sp.log(C), 2 * sp.log(sp.Abs(a / 2 + b / 2)) - 2 * sp.log(C / 2)),
          claim("homogeneous_on_halves: a Piecewise with conditions invariant under the halving (|x + y| < C)",
                sp.Piecewise((sp.Abs(a + b) ** 2, sp.Abs(a + b) < C), (C * sp.Abs(a + b), True)),
                4 * sp.Piecewise((sp.Abs(a / 2 + b / 2) ** 2, sp.Abs(a / 2 + b / 2) < C / 2),
                                 (C / 2 * sp.Abs(a / 2 + b / 2), True)))),
         _on_halves_rewrite,
         -C * (C / 2 - sp.Abs(a - b))),
)
"""The rule of this module (see the module docstring)."""
