r"""Stability rules of a difference :math:`a - b\log c` of two terms that cancel.

``difference_with_log_product``: :math:`a - b\log c` (two terms of a sum, the others kept) for float inputs
a, b and c > 0 (each an input or its negation).  Near a root of the difference the two terms are nearly
equal and their difference keeps only the absolute accuracy of :math:`\operatorname{fl}(b\log c)`: a Poisson
rate's :math:`\mu - y\log\mu` near its root, :math:`\mu = 4.596`, :math:`y = 3`, is 0.0205 from terms near
4.6, and the rounding of :math:`\log\mu` alone costs about 90 ulp of it.  With :math:`\log c = h + l` in
two floats (:math:`c = 2^e f`, :math:`f \in [\sqrt{1/2}, \sqrt 2)`, :math:`\log c = e\log 2 +
\operatorname{log1p}(f - 1)`, f − 1 exact) and :math:`b\,h = p + p'` exact (Dekker's TwoProduct),

.. math:: a - b\log c = (a - p) - (p' + b\,l),

:math:`a - p` by TwoSum, so that only the last addition rounds where the terms cancel.

``difference_with_log_ratio``: :math:`a - b\log(u/v)` for a, b float inputs or integers and u, v > 0 each a float
input or an exact sum :math:`x + y` of two (:func:`~symloss.stabilize.exact_sums.exact_terms`): the Hessian of the
squared log error, :math:`1 - \log((1 + \hat y)/(1 + y))`, near :math:`1 + \hat y = e(1 + y)`, where the rounding of
the quotient and of its log cost 18 ulp at :math:`\hat y = 3`, :math:`y = 1/2`.  Each sum is split exactly,
:math:`u = h + l` (TwoSum), :math:`\log u = \log h + \operatorname{log1p}(l/h)` in two floats, and
:math:`\log(u/v) = \log u - \log v` (TwoSum), then as above.  The rules name no loss."""

from __future__ import annotations

import sympy as sp

from symloss.stabilize.engine import Rule, terms_replaced
from symloss.stabilize.exact_sums import exact_terms, float_term
from symloss.stabilize.identities import C, P, Q, a, b, claim, m, t
from symloss.stabilize.primitive_base import Primitive


class minus_log_product(Primitive):  # noqa: N801 - named like the other primitives
    r""":math:`a - b\log c` for :math:`c > 0` with :math:`\log c` and its product by b carried in two floats
    (see the module docstring); a where :math:`b = 0` (:math:`0\log 0 = 0`, as a zero-weighted product)."""

    regime_call = "minus_log_product(a, b, c)"
    regimes = (
        ("b = 0", "a"),
        ("fl(a - b log c) finite", "(h + l) - p_low, h + l = a - p exactly, p + p_low = b log c in two floats"),
        ("otherwise", "fl(a - b log c)"),
    )

    nargs = 3

    def textbook(self) -> sp.Expr:
        a, b, c = self.args
        return a - b * sp.log(c)

    def _eval_is_extended_real(self) -> bool | None:
        a, b, c = self.args
        return True if a.is_extended_real and b.is_extended_real and c.is_positive else None

    def _numpycode(self, printer: sp.printing.numpy.NumPyPrinter) -> str:
        a, b, c = (printer._print(arg) for arg in self.args)
        return f"_minus_log_product({a}, {b}, {c})"


def _log_product(term: sp.Expr) -> tuple[sp.Expr, sp.Expr] | None:
    """(b, c) when ``term`` is :math:`-b\\log c` for float inputs b (or its negation) and c > 0; None otherwise."""
    logs = [f for f in sp.Mul.make_args(term) if isinstance(f, sp.log)]
    if len(logs) != 1 or not logs[0].args[0].is_positive or not float_term(logs[0].args[0]):
        return None
    b = -term / logs[0]
    return (b, logs[0].args[0]) if float_term(b) else None


def difference(add: sp.Basic) -> tuple[tuple[sp.Expr, sp.Expr], sp.Expr] | None:
    r"""((a, :math:`-b\log c`), :math:`\operatorname{minus\_log\_product}(a, b, c)`) for the first such pair of
    terms of the sum ``add`` (a a float input or its negation); None otherwise."""
    if not isinstance(add, sp.Add):
        return None
    plain = [term for term in add.args if float_term(term)]
    for term in add.args:
        if plain and (found := _log_product(term)) is not None:
            return (plain[0], term), minus_log_product(plain[0], *found)
    return None




class minus_log_ratio(Primitive):  # noqa: N801 - named like the other primitives
    r""":math:`a - b\log((x_u + y_u)/(x_v + y_v))` for :math:`x_u + y_u > 0`, :math:`x_v + y_v > 0` with each sum
    split exactly (TwoSum, :math:`h + l`), its log in two floats (:math:`\log h + l/h`: :math:`\operatorname{log1p}(l/h)
    = l/h` to within :math:`(l/h)^2/2 \le 2^{-107}`), the difference of the logs by TwoSum and the rest as
    :class:`minus_log_product` (see the module docstring); a where :math:`b = 0`."""

    regime_call = "minus_log_ratio(a, b, x_u, y_u, x_v, y_v)"
    regimes = (
        ("b = 0", "a"),
        ("fl(a - b log(u/v)) finite", "(h + l) - p_low, h + l = a - p exactly, p + p_low = b (log u - log v) in "
                                      "two floats"),
        ("otherwise", "fl(a - b (log u - log v))"),
    )

    nargs = 6

    def textbook(self) -> sp.Expr:
        a, b, x_u, y_u, x_v, y_v = self.args
        return a - b * sp.log((x_u + y_u) / (x_v + y_v))

    def _eval_is_extended_real(self) -> bool | None:
        a, b, *_ = self.args
        return True if a.is_extended_real and b.is_extended_real else None

    def _numpycode(self, printer: sp.printing.numpy.NumPyPrinter) -> str:
        return f"_minus_log_ratio({', '.join(printer._print(arg) for arg in self.args)})"


def _exact(term: sp.Expr) -> bool:
    """A float the kernel holds exactly: an input, its negation or an integer below 2^53."""
    return float_term(term) or (term.is_Integer and abs(term) < 2**53)


def _split(factor: sp.Expr) -> tuple[sp.Expr, sp.Expr] | None:
    """(x, y) with ``factor`` = x + y, x and y floats (an input and 0, or :func:`exact_terms`); None otherwise."""
    return (factor, sp.S.Zero) if float_term(factor) else exact_terms(factor)


def _log_ratio(term: sp.Expr) -> tuple[sp.Expr, tuple[sp.Expr, sp.Expr], tuple[sp.Expr, sp.Expr]] | None:
    r"""(b, (x_u, y_u), (x_v, y_v)) when ``term`` is :math:`-b\log(u/v)` for b exact (:func:`_exact`) and u, v > 0
    exact sums (:func:`_split`), v a proper denominator; None otherwise."""
    logs = [f for f in sp.Mul.make_args(term) if isinstance(f, sp.log)]
    if len(logs) != 1 or not logs[0].args[0].is_positive:
        return None
    b = -term / logs[0]
    factors = sp.Mul.make_args(logs[0].args[0])
    over = [f.base for f in factors if isinstance(f, sp.Pow) and f.exp == -1]
    under = [f for f in factors if not (isinstance(f, sp.Pow) and f.exp == -1)]
    if not _exact(b) or len(over) != 1 or len(under) != 1:
        return None
    u_parts, v_parts = _split(under[0]), _split(over[0])
    return None if u_parts is None or v_parts is None else (b, u_parts, v_parts)


def _log_of_exact(term: sp.Expr) -> tuple[sp.Expr, tuple[sp.Expr, sp.Expr]] | None:
    r"""(b, (x, y)) when ``term`` is :math:`b\log(x + y)` for b exact and x + y > 0 an exact sum; None otherwise."""
    logs = [f for f in sp.Mul.make_args(term) if isinstance(f, sp.log)]
    if len(logs) != 1 or not logs[0].args[0].is_positive:
        return None
    b, parts = term / logs[0], _split(logs[0].args[0])
    return (b, parts) if _exact(b) and parts is not None else None


def _ratio_terms(add: sp.Add) -> tuple[tuple[sp.Expr, ...], sp.Expr, tuple[sp.Expr, ...]] | None:
    r"""((its terms), b, (x_u, y_u, x_v, y_v)) for a term :math:`-b\log(u/v)` of the sum ``add``
    (:func:`_log_ratio`) or two terms :math:`-b\log u + b\log v`; None where it holds neither."""
    logs = {}
    for term in add.args:
        if (found := _log_ratio(term)) is not None:
            b, u_parts, v_parts = found
            return (term,), b, (*u_parts, *v_parts)
        if (found := _log_of_exact(term)) is not None:
            logs[term] = found
    for term, (b, u_parts) in logs.items():
        for other, (c, v_parts) in logs.items():
            if other is not term and c == -b:
                return (term, other), -b, (*u_parts, *v_parts)
    return None


def ratio_difference(add: sp.Basic) -> tuple[tuple[sp.Expr, ...], sp.Expr] | None:
    r"""((a, the log terms), :math:`\operatorname{minus\_log\_ratio}(a, b, x_u, y_u, x_v, y_v)`) for the first
    exact term a (:func:`_exact`) of the sum ``add`` and its term :math:`-b\log(u/v)` or terms
    :math:`-b\log u + b\log v` (:func:`_ratio_terms`); None otherwise."""
    if not isinstance(add, sp.Add):
        return None
    plain = [term for term in add.args if _exact(term)]
    found = _ratio_terms(add) if plain else None
    if found is None:
        return None
    terms, b, parts = found
    return (plain[0], *terms), minus_log_ratio(plain[0], b, *parts)


LOG_PRODUCTS: tuple[Rule, ...] = (
    Rule("difference_with_log_product",
         (claim("difference_with_log_product: a - b log C = (a - b h) - b (log C - h) for C > 0 and any h "
                "(h = fl(log C), b h in two floats)",
                a - b * sp.log(C), (a - b * t) - b * (sp.log(C) - t)),
          claim("difference_with_log_product, the log in two floats: log(2^m C) = m log 2 + log C for C > 0",
                sp.log(2**m * C), m * sp.log(2) + sp.log(C))),
         lambda expr: terms_replaced(expr, difference),
         C - b * sp.log(C)),
    Rule("difference_with_log_ratio",
         (claim("difference_with_log_ratio: a - b log(P/Q) = a - b (log P - log Q) for P, Q > 0 (each log in two "
                "floats, their difference by TwoSum)",
                a - b * sp.log(P / Q), a - b * (sp.log(P) - sp.log(Q))),),
         lambda expr: terms_replaced(expr, ratio_difference),
         t - b * sp.log((C + 1) / (P + 1))),
)
