r"""The softmax of a class vector divided by a positive scalar (a temperature), shifted before it is divided:
for :math:`\tau > 0` the largest :math:`z_j/\tau` is :math:`m/\tau` with :math:`m = \max_j z_j`, and

.. math:: \frac{z_k}{\tau} - \frac{m}{\tau} = \frac{z_k - m}{\tau},

so the kernel computes the shifted entries :math:`(z_k - m)/\tau \le 0` from the raw entries.  The textbook
order divides first: at :math:`\tau = 5\cdot 10^{-324}` every :math:`z_k/\tau` with :math:`|z_k| \ge 10^{-16}`
is :math:`\pm\infty`, the row's entries all tie at the infinite max, and the softmax is spread equally over
classes whose true shares differ by :math:`e^{-10^{300}}`.  Shifted first, each :math:`(z_k - m)/\tau` is
:math:`-\infty` exactly where its share underflows to 0, and the largest is 0.

* ``shift_before_divisor``: every softmax-type primitive (softmax, its log, its complement,
  log-sum-exp …) of an entry :math:`f(k)/\tau`, :math:`\tau` a positive factor that does not depend on the
  class, takes the entry as :class:`divided_entry` :math:`(f(k), \tau)`; its value is unchanged (the entry's
  textbook is :math:`f(k)/\tau`), the kernel's helper reads the divisor.

* ``softmax_product_scaled``: a product :math:`p_k^a (1 - p_k)^b c` of the softmax, its complement (of one
  entry) and integer powers c of positive class-free parameters (:math:`\tau^{-2}`) as one
  :class:`~symloss.stabilize.class_axis_primitives.ScaledSoftmaxProduct`, whose helper applies the powers of
  two of :math:`e^{d_k}` (or of the other classes' sum) after c's mantissas: :math:`p_k = e^{-1117}` is 0 in
  float64, :math:`p_k/\tau^2` at :math:`\tau = 5.7\cdot 10^{-225}` is :math:`2\cdot 10^{-37}`.

It names no loss (SimCLR's NT-Xent and temperature-scaled distillation are examples)."""

from __future__ import annotations

import sympy as sp

from symloss.declare.notation import REAL, Scope, var
from symloss.stabilize.class_axis_primitives import ScaledSoftmaxProduct
from symloss.stabilize.engine import Rule
from symloss.stabilize.identities import VECTORS, K, b, claim, j, k, m, w, z
from symloss.stabilize.primitive_base import Primitive
from symloss.stabilize.primitives import ClassAxisPrimitive, Softmax, SoftmaxComplement


class divided_entry(Primitive):  # noqa: N801 - named like the other primitives
    r"""The entry :math:`f(k)/\tau` of a softmax-type primitive, :math:`\tau > 0`: the kernel takes the max
    shift of :math:`f` before it divides, :math:`(f(k) - \max_j f(j))/\tau` (see the module docstring)."""

    nargs = 2

    def textbook(self) -> sp.Expr:
        return self.args[0] / self.args[1]


def _divisor(entry: sp.Expr, index: sp.Symbol) -> sp.Expr | None:
    r"""The product :math:`\tau` of the factors :math:`t^{-1}` of ``entry`` with :math:`t > 0` not depending
    on the class ``index``, if any."""
    if not isinstance(entry, sp.Mul):
        return None
    divisors = [f.base for f in entry.args
                if f.is_Pow and f.exp == -1 and f.base.is_positive and not f.base.has(index)]
    return sp.Mul(*divisors) if divisors else None


def _divided_rewrite(expr: sp.Expr) -> sp.Expr:
    """Each class-axis primitive of an entry divided by a positive class-free factor, with its entry as a
    :class:`divided_entry`."""

    def matches(e: sp.Basic) -> bool:
        return (isinstance(e, ClassAxisPrimitive) and not isinstance(e.entry, divided_entry)
                and _divisor(e.entry, e.index) is not None)

    def rewrite(e: ClassAxisPrimitive) -> sp.Expr:
        divisor = _divisor(e.entry, e.index)
        return type(e)(divided_entry(e.entry * divisor, divisor), e.index, e.count)

    return expr.replace(matches, rewrite)


def _scale_factor(factor: sp.Expr, count: sp.Expr) -> bool:
    """Whether ``factor`` is an integer power of a positive parameter, neither an integer nor the class
    ``count`` (a temperature)."""
    base, power = (factor.base, factor.exp) if factor.is_Pow else (factor, sp.S.One)
    return (isinstance(base, sp.Symbol) and bool(base.is_positive) and not base.is_integer
            and base not in count.free_symbols and power.is_Integer and power != 0)


def _product_parts(mul: sp.Mul) -> tuple[tuple[sp.Expr, ...], int, int, list[sp.Expr], list[sp.Expr]] | None:
    """(the entry's primitive arguments, a, b, the scale factors, the other factors) of a product
    softmax^a complement^b c · rest with a + b >= 1 and c a product of :func:`_scale_factor` s, else None."""
    for candidate in mul.atoms(Softmax, SoftmaxComplement):
        args = candidate.args
        powers = {Softmax: 0, SoftmaxComplement: 0}
        scale, rest = [], []
        for f in mul.args:
            base, power = (f.base, f.exp) if f.is_Pow else (f, sp.S.One)
            if isinstance(base, Softmax | SoftmaxComplement) and base.args == args and power.is_Integer \
                    and power > 0:
                powers[type(base)] += int(power)
            elif _scale_factor(f, args[2]):
                scale.append(f)
            else:
                rest.append(f)
        if scale and not any(f.has(Softmax(*args), SoftmaxComplement(*args)) for f in rest):
            return args, powers[Softmax], powers[SoftmaxComplement], scale, rest
    return None


def _product_rewrite(expr: sp.Expr) -> sp.Expr:
    """softmax(e)k^a (1 - softmax(e)k)^b c → ScaledSoftmaxProduct(…, a, b, c) inside every product."""

    def rewrite(mul: sp.Mul) -> sp.Expr:
        args, a, b, scale, rest = _product_parts(mul)
        return sp.Mul(*rest) * ScaledSoftmaxProduct(Softmax(*args), SoftmaxComplement(*args), a, b, sp.Mul(*scale))

    return expr.replace(lambda e: isinstance(e, sp.Mul) and _product_parts(e) is not None, rewrite)


def _shifted_normalizer(scale: sp.Expr) -> sp.Expr:
    return sp.Sum(sp.exp((z[j] - m) / scale), (j, 1, K))


_normalizer = sp.Sum(sp.exp(z[j] / w), (j, 1, K))
_others = sp.Sum((1 - sp.KroneckerDelta(j, k)) * sp.exp((z[j] - m) / w), (j, 1, K))
_OFFSET = VECTORS + Scope((var("b", REAL),))

SCALED_SOFTMAX: tuple[Rule, ...] = (
    Rule("shift_before_divisor",
         (claim("shift_before_divisor: softmax(z/w)k = exp((z_k - m)/w) / sum_j exp((z_j - m)/w) "
                "for w > 0 and any m",
                sp.exp(z[k] / w) / _normalizer, sp.exp((z[k] - m) / w) / _shifted_normalizer(w), VECTORS),
          claim("shift_before_divisor, its log: log softmax(z/w)k = (z_k - m)/w - log sum_j exp((z_j - m)/w)",
                sp.log(sp.exp(z[k] / w) / _normalizer), (z[k] - m) / w - sp.log(_shifted_normalizer(w)),
                VECTORS),
          claim("shift_before_divisor, log-sum-exp: log sum_j exp(z_j/w) = m/w + log sum_j exp((z_j - m)/w)",
                sp.log(_normalizer), m / w + sp.log(_shifted_normalizer(w)), VECTORS)),
         _divided_rewrite, Softmax(z[k] / w, k, K)),
    Rule("softmax_product_scaled",
         (claim("softmax_product_scaled: softmax(z/w)k (1 - softmax(z/w)k) / w^2 = x_k o_k / (S^2 w^2), "
                "x_j = exp((z_j - m)/w), o_k = sum over j != k of x_j, S = sum_j x_j",
                sp.exp(z[k] / w) / _normalizer * (1 - sp.exp(z[k] / w) / _normalizer) / w**2,
                sp.exp((z[k] - m) / w) * _others / (_shifted_normalizer(w) ** 2 * w**2), VECTORS),
          claim("softmax_product_scaled, the others' sum at the arg-max: o_k = e^b sum over j != k of x_j e^-b",
                _others, sp.exp(b) * sp.Sum((1 - sp.KroneckerDelta(j, k)) * sp.exp((z[j] - m) / w - b),
                                            (j, 1, K)), _OFFSET)),
         _product_rewrite,
         Softmax(z[k] / w, k, K) * SoftmaxComplement(z[k] / w, k, K) / w**2),
)
