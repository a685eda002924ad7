r"""Primitives for quotients by a square scale, :math:`x/g^2`, formed without :math:`g^2`.

:math:`g^2` underflows to 0 for :math:`|g| < 1.5\cdot10^{-162}` (a subnormal scale :math:`c = 5\cdot10^{-324}`)
and overflows for :math:`|g| > 1.34\cdot10^{154}`, where :math:`x/g^2` is often representable (a robust
loss's :math:`r/c^2` at :math:`|r| \le c`).  :class:`over_square` divides twice instead."""

from __future__ import annotations

import sympy as sp

from symloss.stabilize.primitive_base import Primitive


class over_square(Primitive):  # noqa: N801 - named like the other primitives
    r""":math:`x/g^2` for :math:`g \ne 0`, computed as :math:`(x/g)/g`: two roundings, and no spurious
    overflow or underflow: for :math:`|g| \ge 1` the intermediate :math:`|x/g|` lies between :math:`|x|`
    and the result, for :math:`|g| < 1` it lies between :math:`|x|` and the result as well (both
    divisions enlarge), so :math:`x/g` is finite and nonzero wherever :math:`x` and the result are;
    :math:`x = 0` gives 0 (not :math:`0/0` where :math:`g^2` underflows)."""

    nargs = 2

    def textbook(self) -> sp.Expr:
        x, g = self.args
        return x / g**2

    def _eval_is_extended_real(self) -> bool | None:
        return self.args[0].is_extended_real if self.args[1].is_extended_real else None

    def _numpycode(self, printer: sp.printing.numpy.NumPyPrinter) -> str:
        x, g = (printer._print(arg) for arg in self.args)
        return f"np.divide(np.divide({x}, {g}), {g})"


class smaller_of(Primitive):  # noqa: N801 - named like the other primitives
    r""":math:`\min(a, b)`, elementwise (``np.minimum``): a regime condition on the smaller of a scalar
    (a parameter's square) and an array (a residual's square) as one comparison of arrays."""

    nargs = 2
    is_extended_real = True

    def textbook(self) -> sp.Expr:
        return sp.Min(*self.args)

    def _numpycode(self, printer: sp.printing.numpy.NumPyPrinter) -> str:
        a, b = (printer._print(arg) for arg in self.args)
        return f"np.minimum({a}, {b})"
