r"""Primitives of an exact sum (see :mod:`symloss.stabilize.primitives`): :math:`f(x + y)` with the terms
:math:`x, y` of the argument taken separately, so that the kernel splits the sum exactly (TwoSum) and
evaluates :math:`f(h + l)` by an addition formula proved in :mod:`symloss.stabilize.rules`."""

from __future__ import annotations

import sympy as sp

from symloss.stabilize.primitive_base import Primitive


class OfExactSumBase(Primitive):
    r""":math:`f(x + y)` with the sum :math:`x + y` carried exactly (see the module docstring):
    arguments ``(x, y)``; the kernel's helper is named by :attr:`helper`."""

    nargs = 2
    helper = ""

    def function(self, argument: sp.Expr) -> sp.Expr:
        """The textbook :math:`f` at ``argument``."""
        raise NotImplementedError

    def textbook(self) -> sp.Expr:
        return self.function(self.args[0] + self.args[1])


class logcosh_of_sum(OfExactSumBase):  # noqa: N801
    r""":math:`\log\cosh(h + l) = \log\cosh h + \log\cosh l + \log(1 + \tanh h \tanh l)`."""

    regime_call = "logcosh_of_sum(x, y)"
    regimes = (
        ("|fl(x + y)| < 2**52", "logcosh(h) + (logcosh(l) + log1p(tanh(h) tanh(l))), h + l = x + y exactly (TwoSum)"),
        ("otherwise", "logcosh(h), h = fl(x + y) (l would move it by less than an ulp)"),
    )

    helper = "_logcosh_of_sum"

    def function(self, argument: sp.Expr) -> sp.Expr:
        return sp.log(sp.cosh(argument))


class tanh_of_sum(OfExactSumBase):  # noqa: N801
    r""":math:`\tanh(h + l) = \tanh h + \tanh l\,(1 - \tanh^2 h)/(1 + \tanh h \tanh l)`."""

    regime_call = "tanh_of_sum(x, y)"
    regimes = (
        ("|fl(x + y)| < 2**52", "tanh(h) + tanh(l) sech2(h)/(1 + tanh(h) tanh(l)), h + l = x + y exactly (TwoSum)"),
        ("otherwise", "tanh(h), h = fl(x + y) (l would move it by less than an ulp)"),
    )

    helper = "_tanh_of_sum"

    def function(self, argument: sp.Expr) -> sp.Expr:
        return sp.tanh(argument)


class sech2_of_sum(OfExactSumBase):  # noqa: N801
    r""":math:`\operatorname{sech}^2(h + l) = \operatorname{sech}^2 h\,(1 + c)` with
    :math:`c = -(\tanh^2 l + \varepsilon(2 + \varepsilon))/(1 + \varepsilon)^2`,
    :math:`\varepsilon = \tanh h \tanh l`."""

    regime_call = "sech2_of_sum(x, y)"
    regimes = (
        ("|fl(x + y)| < 2**52",
         "sech2(h)(1 + c), c = -(tanh(l)**2 + e(2 + e))/(1 + e)**2, e = tanh(h) tanh(l), h + l "
         "= x + y exactly (TwoSum)"),
        ("otherwise", "sech2(h), h = fl(x + y) (l would move it by less than an ulp)"),
    )

    helper = "_sech2_of_sum"

    def function(self, argument: sp.Expr) -> sp.Expr:
        return 1 / sp.cosh(argument) ** 2


class square_of_sum(OfExactSumBase):  # noqa: N801
    r""":math:`(h + l)^2 = h^2 + l(2h + l)`: the square of a residual :math:`y - \hat y` with its
    rounding error (doubled by the square) added back."""

    regime_call = "square_of_sum(x, y)"
    regimes = (
        ("h**2 finite", "h**2 + l(2h + l), h + l = x + y exactly (TwoSum)"),
        ("otherwise", "h**2 (inf: the square overflows)"),
    )

    helper = "_square_of_sum"

    def function(self, argument: sp.Expr) -> sp.Expr:
        return argument**2


class abs_of_sum_plus(Primitive):  # noqa: N801
    r""":math:`|x + y| + c` with :math:`x + y = h + l` carried exactly (TwoSum):
    :math:`|h + l| + c = (|h| + c) + \operatorname{sign}(h)\,l` (:math:`h + l` has the sign of
    :math:`h = \operatorname{fl}(x + y)`), so that :math:`|x + y| - \varepsilon` keeps the low part where it
    cancels (Sterbenz: :math:`|h| - \varepsilon` exact).  Where :math:`x + y` or :math:`|x + y| + c` overflows
    the halves are taken, :math:`2((|h'| + c/2) + \operatorname{sign}(h')\,l')` with :math:`h' + l' = x/2 + y/2`:
    :math:`\hat y = 4.9\cdot10^{260}`, :math:`y = -\varepsilon = -1.8\cdot10^{308}` gives
    :math:`4.9\cdot10^{260}`, not 0."""

    regime_call = "abs_of_sum_plus(x, y, c)"
    regimes = (
        ("fl(x + y) and fl(|x + y| + c) finite", "(|h| + c) + sign(h) l, h + l = x + y exactly (TwoSum)"),
        ("otherwise", "2 ((|h| + c/2) + sign(h) l), h + l = x/2 + y/2 exactly"),
    )

    nargs = 3

    def textbook(self) -> sp.Expr:
        x, y, c = self.args
        return sp.Abs(x + y) + c

    def _eval_is_extended_real(self) -> bool | None:
        return True if all(arg.is_extended_real for arg in self.args) else None

    def _numpycode(self, printer: sp.printing.numpy.NumPyPrinter) -> str:
        x, y, c = (printer._print(arg) for arg in self.args)
        return f"_abs_of_sum_plus({x}, {y}, {c})"


class on_halves(Primitive):  # noqa: N801
    r""":math:`f` where its plain value ``plain`` is finite, else :math:`2^d f_{1/2}` (``scale`` :math:`2^d`) with
    ``halved`` = :math:`f_{1/2}` the same expression at the scaled inputs halved: for :math:`f = F\cdot H`, H
    positively homogeneous of degree d in those inputs, :math:`f_{1/2} = F\cdot H(x/2) = f/2^d` (proved by
    :mod:`symloss.stabilize.homogeneous`), and the halves of float inputs are exact above :math:`2^{-1022}`.
    A residual :math:`y - \hat y` that overflows (:math:`y = -\hat y = 1.8\cdot10^{308}`) makes
    :math:`\max(\tau r, (\tau - 1) r)` inf although it is finite; the halves' residual does not overflow."""

    regime_call = "on_halves(f, f_half, 2**d)"
    regimes = (
        ("f finite", "f"),
        ("otherwise", "2**d f_half, f_half = f at the scaled inputs halved (= f/2**d: f positively homogeneous "
                      "of degree d in them)"),
    )

    nargs = 3

    def textbook(self) -> sp.Expr:
        return self.args[0]


class half(Primitive):  # noqa: N801
    r""":math:`x/2` kept opaque, so that common-subexpression elimination does not undo the halves of
    :class:`on_halves` (:math:`|y/2 - \hat y/2| = |y - \hat y|/2` would overflow again)."""

    nargs = 1

    def textbook(self) -> sp.Expr:
        return self.args[0] / 2
