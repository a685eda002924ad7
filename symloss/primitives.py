r"""The vocabulary of stable forms: functions whose NumPy implementation is accurate.

A stable form (see :mod:`symloss.stable`) is the textbook expression with
some subexpressions replaced by these primitives.  Each primitive is defined
by the textbook expression it stands for (:meth:`Primitive.textbook`), so a
stable form can always be expanded back and checked; its numerical quality
comes from how the kernel template implements it (max-shifted sums,
``log1p``, the complement of a softmax summed from the other classes).

Scalar primitives: :func:`log1p`, :func:`expm1` (SymPy's C functions, which
NumPy prints natively), :class:`logcosh`, :class:`exp_minus` and :class:`sigmoid_pow`; over the class axis,
:class:`SumOthers` (the sum of the other classes' entries, for every class).

Class-axis primitives take the *entry* expression ``e`` of class ``k``
(``z[k]``, ``s[k]/temperature``) with the index and the class count:

* :class:`Softmax` — :math:`e^{e_k} / \sum_{j} e^{e_j}`
* :class:`LogSoftmax` — :math:`\log` of it
* :class:`SoftmaxComplement` — :math:`1 - \operatorname{softmax}(e)_k`
* :class:`LogSumExp` — :math:`\log \sum_k e^{e_k}` (``k`` bound)
* :class:`LogSoftmaxRemainder` — :math:`\log\operatorname{softmax}(e)_k + 1 - \operatorname{softmax}(e)_k`
"""

from __future__ import annotations

import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p

from symloss.functions import sigmoid

__all__ = [
    "LogSoftmax",
    "LogSoftmaxRemainder",
    "LogSumExp",
    "Primitive",
    "Softmax",
    "SoftmaxComplement",
    "SumOthers",
    "exp_minus",
    "expand_primitives",
    "expm1",
    "log1p",
    "logcosh",
    "sigmoid_pow",
]


class Primitive(sp.Function):
    """A function with a textbook definition and an accurate implementation."""

    def textbook(self) -> sp.Expr:
        """The expression this primitive stands for."""
        raise NotImplementedError


def _call_latex(name: str, args: tuple[sp.Expr, ...], printer: sp.printing.latex.LatexPrinter,
                exp: str | None) -> str:
    r"""``\operatorname{name}\left(a, b\right)``, raised to ``exp`` when SymPy's printer passes one."""
    call = rf"\operatorname{{{name}}}\left({', '.join(printer._print(a) for a in args)}\right)"
    return call if exp is None else f"{call}^{{{exp}}}"


class logcosh(Primitive):  # noqa: N801 - named like NumPy functions
    r""":math:`\log\cosh r`, implemented as :math:`\log(1 + 2\sinh^2(r/2))` near 0 and
    :math:`|r| + \log(1 + e^{-2|r|}) - \log 2` elsewhere (both proved in :mod:`symloss.stable`)."""

    nargs = 1

    def textbook(self) -> sp.Expr:
        return sp.log(sp.cosh(self.args[0]))

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sp.tanh(self.args[0])


class exp_minus(Primitive):  # noqa: N801 - named like NumPy functions
    r""":math:`e^{a} - t` for a variable :math:`t` (a count, a target), implemented as
    :math:`\operatorname{expm1}(a) - (t - 1)` where :math:`\tfrac12 \le t \le 2` and as
    :math:`e^{a} - t` elsewhere (the identity is proved in :mod:`symloss.stable`).

    Near :math:`t = 1` the textbook difference keeps only the absolute accuracy of
    :math:`e^{a} \approx 1`: at :math:`t = 1`, :math:`a = 10^{-300}` it gives 0.  There
    :math:`t - 1` is exact (Sterbenz's lemma: :math:`t` and 1 within a factor 2 of each other)
    and :math:`\operatorname{expm1}(a)` is accurate to its own magnitude, so only their final
    difference rounds.  Away from :math:`[\tfrac12, 2]` the textbook form is as good: where
    :math:`e^{a} \approx t` the difference is then ill-conditioned in :math:`a` itself.
    """

    nargs = 2

    def textbook(self) -> sp.Expr:
        return sp.exp(self.args[0]) - self.args[1]

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sp.exp(self.args[0]) if argindex == 1 else sp.S.NegativeOne

    def _latex(self, printer: sp.printing.latex.LatexPrinter, exp: str | None = None) -> str:
        return _call_latex(r"exp\_minus", self.args, printer, exp)


class sigmoid_pow(Primitive):  # noqa: N801 - named like NumPy functions
    r""":math:`\sigma(a)^{c}` for an exponent c that is a variable (a focusing parameter), implemented as
    :math:`e^{c\min(a, 0)}\, e^{-c \log(1 + e^{-|a|})}`, which is
    :math:`e^{-c\operatorname{softplus}(-a)}` (both identities proved in :mod:`symloss.stable`).

    A power of the rounded :math:`\sigma(a)` multiplies its error (about 1.5 ulp) by c, and a
    subnormal :math:`\sigma(-710)` has lost bits before it is raised; here the first factor has an
    exact argument when :math:`c\,a` is exact, and the second an argument below :math:`c \log 2` whose
    rounding is a fraction of an ulp.
    """

    nargs = 2

    def textbook(self) -> sp.Expr:
        return sigmoid(self.args[0]) ** self.args[1]

    def _latex(self, printer: sp.printing.latex.LatexPrinter, exp: str | None = None) -> str:
        return _call_latex(r"sigmoid\_pow", self.args, printer, exp)


class SumOthers(Primitive):
    r""":math:`\sum_{j \ne k} f_j` for every class k: arguments (entry :math:`f_k`, index k, count K).

    Computed as the sum of the entries before k plus the sum of those after it (cumulative sums
    from both ends), never as :math:`\sum_j f_j - f_k`, which keeps only the absolute accuracy of
    the total when :math:`f_k` dominates it (a soft label's weight on a class of probability
    :math:`1 - 10^{-40}`).
    """

    nargs = 3

    def textbook(self) -> sp.Expr:
        entry, k, count = self.args
        j = sp.Dummy("j", integer=True, positive=True)
        return sp.Sum((1 - sp.KroneckerDelta(j, k)) * entry.xreplace({k: j}), (j, 1, count))


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


class LogSoftmaxRemainder(ClassAxisPrimitive):
    r""":math:`\log p_k + 1 - p_k = \log(1 - q) + q` for :math:`p = \operatorname{softmax}(e)` and
    :math:`q = 1 - p_k` (summed from the other classes): the log beyond its first-order term,
    :math:`-q^2/2 - q^3/3 - \dots`, which ``log(p) + q`` loses to cancellation as :math:`p_k \to 1`.

    For :math:`q \le 1/2` it is the series of :math:`\log(1 + x) - x` at :math:`x = -q`:
    :math:`-x^2/(2 + x) + 2\sum_{n \ge 1} u^{2n+1}/(2n+1)` with :math:`u = x/(2 + x)`
    (Abramowitz and Stegun, *Handbook of Mathematical Functions*, 4.1.27, for
    :math:`\log(1 + x) = \log((1 + u)/(1 - u))`), whose terms all have the sign of x; seventeen
    terms leave a relative remainder below :math:`|u|^{35}/(37(1 + u)) < 10^{-18}` (:math:`|u| \le 1/3`).
    For larger q, where :math:`-\log p_k > \log 2` and ``log_softmax + q`` loses at most a factor
    6.2 to cancellation, that sum.
    """

    def textbook(self) -> sp.Expr:
        p = sp.exp(self.entry) / self.normalizer()
        return sp.log(p) + 1 - p


class LogSumExp(ClassAxisPrimitive):
    r""":math:`\log\sum_k e^{e_k}` (the index is bound), computed max-shifted."""

    def textbook(self) -> sp.Expr:
        return sp.log(sp.Sum(sp.exp(self.entry), (self.index, 1, self.count)))


def expand_primitives(expr: sp.Expr) -> sp.Expr:
    """``expr`` with every primitive replaced by its textbook expression (innermost first)."""
    expr = expr.replace(lambda e: isinstance(e, log1p), lambda e: sp.log(1 + e.args[0]))
    expr = expr.replace(lambda e: isinstance(e, expm1), lambda e: sp.exp(e.args[0]) - 1)
    return expr.replace(lambda e: isinstance(e, Primitive), lambda e: e.textbook())
