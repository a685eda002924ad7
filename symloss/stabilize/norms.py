r"""Stability rules for differences of squared norms over a class vector (embedding distances):
two class sums of squares subtracted as one class sum of products, scaled by a power of two where the
entries are so large that the products could overflow.

* ``class_sums_as_products``: :math:`\sum_k A_k^2 - \sum_k B_k^2 = \sum_k (A_k - B_k)(A_k + B_k)`, more
  generally :math:`\sum_i c_i \sum_k f_i(k) = \sum_k \sum_i c_i f_i(k)` with the collected summand, a
  quadratic form in the entries, factored into two linear forms :math:`u_k v_k` where it factors.  With
  :math:`A = a - p`, :math:`B = a - n` (a triplet's squared distances): :math:`\sum_k (n_k - p_k)(2a_k -
  p_k - n_k)`.  Each textbook sum overflows (inf − inf = NaN) or cancels where the two distances are
  close; the collected sum has no difference of two rounded sums, and :math:`n_k - p_k` is one rounding.
* ``scaled_sum_of_products``: :math:`\sum_k u_k v_k = s\,\big(s \sum_k (u_k/s)(v_k/s)\big)` for
  :math:`s > 0`, used where the largest entry :math:`M = \max_k \max_e |e_k|` exceeds :data:`LARGE`,
  with :math:`s = 2^{\lfloor \log_2 M \rfloor}` (hypot-style): dividing by a power of two is exact (but for
  entries below :math:`2^{-1074} s`, which underflow), every scaled entry is below 2 in magnitude, so
  neither a linear form nor a product overflows; multiplied back one factor of s at a time, the sum is
  infinite only where it exceeds the float range, and its sign (all a hinge or a Heaviside step reads
  of it) is kept where it is.

Neither names a loss."""

from __future__ import annotations

import contextlib

import sympy as sp

from symloss.declare.likelihood import ClassMax
from symloss.declare.notation import REAL, REAL_VECTOR, Scope, var, vector
from symloss.stabilize.engine import Rule, terms_replaced
from symloss.stabilize.identities import VECTORS, K, a, b, claim, k, w, z
from symloss.stabilize.primitives import Primitive, expand_primitives
from symloss.stabilize.scaling import _outside_piecewise

LARGE = sp.Float("1e150", 3)
r"""The regime boundary on the largest entry :math:`M`.  Below it every product of two linear forms with
small coefficients is below :math:`\sim 10^{301}` and a sum of them finite for any practical K; above it
the products are formed from entries scaled below 2."""

_y_var, _x_var = vector("y", REAL_VECTOR), vector("x", REAL_VECTOR)
_y, _x = _y_var.symbol, _x_var.symbol
_PAIR = Scope((*VECTORS.variables, _y_var, _x_var, var("a", REAL), var("b", REAL)))


class power_of_two_below(Primitive):  # noqa: N801 - named like the other primitives
    r""":math:`2^{\lfloor \log_2 M \rfloor}` for :math:`M > 0`: a power of two s with :math:`s \le M < 2s`
    (where :math:`\log_2 M` rounds up to an integer, :math:`s` may be the next power of two, :math:`M < s`:
    any power of two near M serves as a scale)."""

    nargs = 1
    is_extended_real = True
    is_positive = True

    def textbook(self) -> sp.Expr:
        (magnitude,) = self.args
        if magnitude.is_Rational and magnitude.is_positive:  # by bit lengths: SymPy's floor of the log
            p, q = magnitude.as_numer_denom()  # factors the integer (minutes at 2**1024 - 1)
            exponent = int(p).bit_length() - int(q).bit_length()
            return sp.Integer(2) ** (exponent if 2**exponent * q <= p else exponent - 1)
        return 2 ** sp.floor(sp.log(magnitude) / sp.log(2))

    def _numpycode(self, printer: sp.printing.numpy.NumPyPrinter) -> str:
        return f"np.exp2(np.floor(np.log2({printer._print(self.args[0])})))"


class times_square(Primitive):  # noqa: N801 - named like the other primitives
    r""":math:`x s^2`, computed as :math:`(x s) s`: finite where the product is, although :math:`s^2`
    overflows (:math:`s = 2^{600}`, :math:`x = 2^{-1000}`), and 0 where x is (:math:`0 \cdot \infty` never
    formed)."""

    nargs = 2

    def textbook(self) -> sp.Expr:
        return self.args[0] * self.args[1] ** 2

    def _eval_is_extended_real(self) -> bool | None:
        return self.args[0].is_extended_real

    def _numpycode(self, printer: sp.printing.numpy.NumPyPrinter) -> str:
        x, s = (printer._print(arg) for arg in self.args)
        return f"np.multiply(np.multiply({x}, {s}), {s})"


def _entries(expr: sp.Expr) -> set[sp.Indexed]:
    """The class-vector entries ``expr`` reads."""
    return expr.atoms(sp.Indexed)


def _linear(expr: sp.Expr) -> bool:
    """Whether ``expr`` is a linear form in class-vector entries with numeric coefficients (no constant)."""
    entries = sorted(_entries(expr), key=sp.default_sort_key)
    if not entries or expr.free_symbols - {e for x in entries for e in x.free_symbols} - set(entries):
        return False
    with contextlib.suppress(sp.PolynomialError):
        poly = sp.Poly(expr, *entries)
        return poly.total_degree() == 1 and all(sum(mono) == 1 for mono in poly.monoms())
    return False


def _product_of_linear(summand: sp.Expr) -> tuple[sp.Expr, sp.Expr, sp.Expr] | None:
    """(c, u, v) when ``summand`` is :math:`c\\,u\\,v`, a number c and two linear forms in entries."""
    coefficient, rest = summand.as_coeff_Mul()
    factors = [f for f in sp.Mul.make_args(rest)]
    if len(factors) == 1 and factors[0].is_Pow and factors[0].exp == 2:
        factors = [factors[0].base, factors[0].base]
    if len(factors) == 2 and all(_linear(f) for f in factors):
        return coefficient, factors[0], factors[1]
    return None


def _quadratic_sums(add: sp.Basic) -> tuple[list[sp.Expr], sp.Sum] | None:
    """(the terms ``c_i Σ_k f_i(k)`` of the sum ``add`` over one index, the collected sum with its summand
    factored into two linear forms) when there are two or more such terms of quadratic summands and the
    collected summand factors; None otherwise."""
    if not isinstance(add, sp.Add):
        return None
    groups: dict[tuple, list[tuple[sp.Expr, sp.Expr]]] = {}
    for term in add.args:
        coefficient, total = term.as_coeff_Mul()
        if isinstance(total, sp.Sum) and len(total.limits) == 1 and not total.has(sp.KroneckerDelta, sp.Piecewise):
            groups.setdefault(total.limits, []).append((term, coefficient * expand_primitives(total.function)))
    for limits, members in groups.items():
        if len(members) < 2:
            continue
        summand = sp.factor(sp.expand(sp.Add(*(f for _, f in members))))
        if _product_of_linear(summand) is not None:
            return [term for term, _ in members], sp.Sum(summand, *limits)
    return None


def _collect_rewrite(expr: sp.Expr) -> sp.Expr:
    r""":math:`\sum_i c_i \sum_k f_i(k) + R \to \sum_k u_k v_k + R` where the collected summand factors."""
    return terms_replaced(expr, _quadratic_sums)


def _scalable(total: sp.Basic) -> bool:
    r"""Whether ``total`` is a class sum of a product of two linear forms in entries, each of two or more
    terms: a form that may overflow although its entries do not (:math:`n_k - p_k` at :math:`10^{308}`).  A
    product of single entries (a label times a logit, :math:`\sum_k y_k z_k`) is left to the rules that read
    it whole."""
    if not (isinstance(total, sp.Sum) and len(total.limits) == 1):
        return False
    product = _product_of_linear(total.function)
    return product is not None and all(isinstance(form, sp.Add) for form in product[1:])


def _scale_rewrite(expr: sp.Expr) -> sp.Expr:
    r""":math:`\sum_k c u_k v_k \to` Piecewise(:math:`s (s \sum_k c (u_k/s)(v_k/s))`, M > LARGE;
    :math:`\sum_k c u_k v_k`, otherwise), :math:`s = 2^{\lfloor\log_2 M\rfloor}`, the product by s taken one
    factor at a time (:class:`times_square`: :math:`s^2` overflows), each linear form divided term by term."""

    def rewrite(total: sp.Sum) -> sp.Expr:
        coefficient, u, v = _product_of_linear(total.function)
        entries = sorted(_entries(total.function), key=sp.default_sort_key)
        largest = ClassMax(sp.Max(*(sp.Abs(e) for e in entries)), *total.limits)
        scale = power_of_two_below(largest)
        scaled = sp.Sum(coefficient * sp.expand(u / scale) * sp.expand(v / scale), *total.limits)
        return sp.Piecewise((times_square(scaled, scale), largest > LARGE), (total, True))

    return _outside_piecewise(expr, _scalable, rewrite)


NORMS: tuple[Rule, ...] = (
    Rule("class_sums_as_products",
         (claim("class_sums_as_products: sum_k (z_k - y_k)^2 - sum_k (z_k - x_k)^2 = "
                "sum_k (x_k - y_k)(2 z_k - x_k - y_k)",
                sp.Sum((z[k] - _y[k]) ** 2, (k, 1, K)) - sp.Sum((z[k] - _x[k]) ** 2, (k, 1, K)),
                sp.Sum((_x[k] - _y[k]) * (2 * z[k] - _x[k] - _y[k]), (k, 1, K)), _PAIR),
          claim("class_sums_as_products, collected: a sum_k z_k^2 + b sum_k z_k y_k = sum_k (a z_k^2 + b z_k y_k)",
                a * sp.Sum(z[k] ** 2, (k, 1, K)) + b * sp.Sum(z[k] * _y[k], (k, 1, K)),
                sp.Sum(a * z[k] ** 2 + b * z[k] * _y[k], (k, 1, K)), _PAIR)),
         _collect_rewrite,
         sp.Sum((z[k] - _y[k]) ** 2, (k, 1, K)) - sp.Sum((z[k] - _x[k]) ** 2, (k, 1, K))),
    Rule("scaled_sum_of_products",
         (claim("scaled_sum_of_products: sum_k z_k y_k = w (w sum_k (z_k/w)(y_k/w)) for w > 0",
                sp.Sum(z[k] * _y[k], (k, 1, K)), w * (w * sp.Sum((z[k] / w) * (_y[k] / w), (k, 1, K))), _PAIR),),
         _scale_rewrite,
         sp.Sum((z[k] - _y[k]) * (2 * z[k] - _y[k]), (k, 1, K))),
)
