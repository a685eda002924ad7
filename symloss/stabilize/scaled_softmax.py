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

It names no loss (SimCLR's NT-Xent and temperature-scaled distillation are examples)."""

from __future__ import annotations

import sympy as sp

from symloss.stabilize.engine import Rule
from symloss.stabilize.identities import VECTORS, K, claim, j, k, m, w, z
from symloss.stabilize.primitive_base import Primitive
from symloss.stabilize.primitives import ClassAxisPrimitive, Softmax


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


def _shifted_normalizer(scale: sp.Expr) -> sp.Expr:
    return sp.Sum(sp.exp((z[j] - m) / scale), (j, 1, K))


_normalizer = sp.Sum(sp.exp(z[j] / w), (j, 1, K))

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
)
