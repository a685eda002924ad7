r"""Stability rule of a difference :math:`a - b\log c` of two terms that cancel.

``difference_with_log_product``: :math:`a - b\log c` (two terms of a sum, the others kept) for float inputs
a, b and c > 0 (each an input or its negation).  Near a root of the difference the two terms are nearly
equal and their difference keeps only the absolute accuracy of :math:`\operatorname{fl}(b\log c)`: a Poisson
rate's :math:`\mu - y\log\mu` near its root, :math:`\mu = 4.596`, :math:`y = 3`, is 0.0205 from terms near
4.6, and the rounding of :math:`\log\mu` alone costs about 90 ulp of it.  With :math:`\log c = h + l` in
two floats (:math:`c = 2^e f`, :math:`f \in [\sqrt{1/2}, \sqrt 2)`, :math:`\log c = e\log 2 +
\operatorname{log1p}(f - 1)`, f − 1 exact) and :math:`b\,h = p + p'` exact (Dekker's TwoProduct),

.. math:: a - b\log c = (a - p) - (p' + b\,l),

:math:`a - p` by TwoSum, so that only the last addition rounds where the terms cancel.  The rule names no
loss."""

from __future__ import annotations

import sympy as sp

from symloss.stabilize.engine import Rule, terms_replaced
from symloss.stabilize.exact_sums import float_term
from symloss.stabilize.identities import C, a, b, claim, m, t
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


LOG_PRODUCTS: tuple[Rule, ...] = (
    Rule("difference_with_log_product",
         (claim("difference_with_log_product: a - b log C = (a - b h) - b (log C - h) for C > 0 and any h "
                "(h = fl(log C), b h in two floats)",
                a - b * sp.log(C), (a - b * t) - b * (sp.log(C) - t)),
          claim("difference_with_log_product, the log in two floats: log(2^m C) = m log 2 + log C for C > 0",
                sp.log(2**m * C), m * sp.log(2) + sp.log(C))),
         lambda expr: terms_replaced(expr, difference),
         C - b * sp.log(C)),
)
