r"""The vocabulary of stable forms: functions whose NumPy implementation is accurate.

A stable form (see :mod:`symloss.stable`) is the textbook expression with
some subexpressions replaced by these primitives.  Each primitive is defined
by the textbook expression it stands for (:meth:`Primitive.textbook`), so a
stable form can always be expanded back and checked; its numerical quality
comes from how the kernel template implements it (max-shifted sums,
``log1p``, the complement of a softmax summed from the other classes).

Scalar primitives: :func:`log1p`, :func:`expm1` (SymPy's C functions, which
NumPy prints natively) and :class:`logcosh`.

Class-axis primitives take the *entry* expression ``e`` of class ``k``
(``z[k]``, ``s[k]/temperature``) with the index and the class count:

* :class:`Softmax` — :math:`e^{e_k} / \sum_{j} e^{e_j}`
* :class:`LogSoftmax` — :math:`\log` of it
* :class:`SoftmaxComplement` — :math:`1 - \operatorname{softmax}(e)_k`
* :class:`SoftmaxXLogXRatio` — :math:`p_k \log p_k / (1 - p_k)` for :math:`p = \operatorname{softmax}(e)`
* :class:`LogSumExp` — :math:`\log \sum_k e^{e_k}` (``k`` bound)

:class:`OtherClassesSum` — :math:`c_i \sum_{k \ne i} f(k)` — takes a weight, a summand and the
indices, and sums over the other classes without subtracting the own entry from the total.
"""

from __future__ import annotations

import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p

__all__ = [
    "LogSoftmax",
    "LogSumExp",
    "OtherClassesSum",
    "Primitive",
    "Softmax",
    "SoftmaxComplement",
    "SoftmaxXLogXRatio",
    "expand_primitives",
    "expm1",
    "log1p",
    "logcosh",
]


class Primitive(sp.Function):
    """A function with a textbook definition and an accurate implementation."""

    def textbook(self) -> sp.Expr:
        """The expression this primitive stands for."""
        raise NotImplementedError


class logcosh(Primitive):  # noqa: N801 - named like NumPy functions
    r""":math:`\log\cosh r`, implemented as :math:`\log(1 + 2\sinh^2(r/2))` near 0 and
    :math:`|r| + \log(1 + e^{-2|r|}) - \log 2` elsewhere (both proved in :mod:`symloss.stable`)."""

    nargs = 1

    def textbook(self) -> sp.Expr:
        return sp.log(sp.cosh(self.args[0]))

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sp.tanh(self.args[0])


class ClassAxisPrimitive(Primitive):
    """A primitive over the class axis: arguments (entry, index, count)."""

    nargs = 3

    @property
    def entry(self) -> sp.Expr:
        return self.args[0]

    @property
    def index(self) -> sp.Symbol:
        return self.args[1]

    @property
    def count(self) -> sp.Expr:
        return self.args[2]

    def normalizer(self) -> sp.Sum:
        r""":math:`\sum_{j=1}^{K} e^{e_j}` with a fresh summation index."""
        j = sp.Dummy("j", integer=True, positive=True)
        return sp.Sum(sp.exp(self.entry.xreplace({self.index: j})), (j, 1, self.count))


class Softmax(ClassAxisPrimitive):
    r"""Entry k of the softmax, :math:`e^{e_k}/\sum_j e^{e_j}`, computed as
    :math:`e^{e_k - m - \log\sum_j e^{e_j - m}}` with m the largest entry."""

    def textbook(self) -> sp.Expr:
        return sp.exp(self.entry) / self.normalizer()


class LogSoftmax(ClassAxisPrimitive):
    r""":math:`\log\operatorname{softmax}(e)_k = (e_k - m) - \log\sum_j e^{e_j - m}`, the sum
    computed as :math:`\log(1 + \sum_{j \ne \arg\max} e^{e_j - m})` so that the loss of a
    confident correct prediction is not lost to cancellation."""

    def textbook(self) -> sp.Expr:
        return sp.log(sp.exp(self.entry) / self.normalizer())


class SoftmaxComplement(ClassAxisPrimitive):
    r""":math:`1 - \operatorname{softmax}(e)_k = \sum_{j \ne k} e^{e_j} / \sum_j e^{e_j}`,
    summed from the other classes rather than subtracted from 1."""

    def textbook(self) -> sp.Expr:
        return 1 - sp.exp(self.entry) / self.normalizer()


class SoftmaxXLogXRatio(ClassAxisPrimitive):
    r""":math:`m(p) = p \log p / (1 - p)` for :math:`p = \operatorname{softmax}(e)_k`: the focal
    weight's ratio, bounded in :math:`[-1, 0]` (:math:`m \to 0` as :math:`p \to 0`, a masked class;
    :math:`m \to -1` as :math:`p \to 1`).  From the max-shifted parts
    :math:`x_k = e^{e_k - m}`, :math:`r = \sum_{j \ne \arg\max} x_j`:
    :math:`m = x_k\,(e_k - m - \log(1 + r)) / ((1 - x_k) + r)`, at the arg-max
    :math:`-\log(1 + r)/r`, so neither the log nor the complement is formed by cancellation and
    the limit :math:`-1` is kept when :math:`r` underflows."""

    def textbook(self) -> sp.Expr:
        p = sp.exp(self.entry) / self.normalizer()
        return p * sp.log(p) / (1 - p)


class LogSumExp(ClassAxisPrimitive):
    r""":math:`\log\sum_k e^{e_k}` (the index is bound), computed max-shifted."""

    def textbook(self) -> sp.Expr:
        return sp.log(sp.Sum(sp.exp(self.entry), (self.index, 1, self.count)))


class OtherClassesSum(Primitive):
    r""":math:`c_i \sum_{k \ne i} f(k)` with arguments (c, f(k), k, K, i): the sum over every class but
    i, computed with the entry of largest magnitude left out of the total and added back for the
    other classes, so that neither a dominant own entry (:math:`\sum_k f(k) - f(i)` would lose
    every digit to it) nor a dominant other entry cancels; 0 wherever the weight :math:`c_i` is 0
    (a class of probability 0 takes nothing from a sum it does not enter)."""

    nargs = 5

    def textbook(self) -> sp.Expr:
        weight, summand, k, count, i = self.args
        return weight * sp.Sum((1 - sp.KroneckerDelta(k, i)) * summand, (k, 1, count))


def expand_primitives(expr: sp.Expr) -> sp.Expr:
    """``expr`` with every primitive replaced by its textbook expression (innermost first)."""
    expr = expr.replace(lambda e: isinstance(e, log1p), lambda e: sp.log(1 + e.args[0]))
    expr = expr.replace(lambda e: isinstance(e, expm1), lambda e: sp.exp(e.args[0]) - 1)
    return expr.replace(lambda e: isinstance(e, Primitive), lambda e: e.textbook())
