r"""The class-axis primitives (see :mod:`symloss.stabilize.primitives`): functions of the softmax of an entry
expression ``e`` of class ``k`` (``z[k]``, ``s[k]/temperature``), with its index and the class count, computed by
the kernel from the shared max-shifted parts of the row (``_shifted``: :math:`m = \max e`, :math:`x_j = e^{e_j - m}`,
the sum of the others)."""

from __future__ import annotations

import sympy as sp

from symloss.stabilize.primitive_base import Primitive


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

    regime_call = "SoftmaxXLogXRatio(e, k, K)"
    regimes = (
        ("x_k == 0, x_k = exp(e_k - m), m = max(e)", "0 (the limit p -> 0: a masked class)"),
        ("(1 - x_k) + r == 0, r = sum of x_j over j != argmax", "-1 (the limit p -> 1)"),
        ("otherwise", "x_k (e_k - m - log1p(r))/((1 - x_k) + r)"),
    )

    def textbook(self) -> sp.Expr:
        p = sp.exp(self.entry) / self.normalizer()
        return p * sp.log(p) / (1 - p)


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

    regime_call = "LogSoftmaxRemainder(e, k, K)"
    regimes = (
        ("q <= 1/2, q = 1 - softmax(e)_k from the other classes",
         "-x**2/(2 + x) + 2 sum_{n=1}^{17} u**(2n+1)/(2n+1), x = -q, u = x/(2 + x)"),
        ("otherwise", "log_softmax(e)_k + q"),
    )

    def textbook(self) -> sp.Expr:
        p = sp.exp(self.entry) / self.normalizer()
        return sp.log(p) + 1 - p


class LogSumExp(ClassAxisPrimitive):
    r""":math:`\log\sum_k e^{e_k}` (the index is bound), computed max-shifted."""

    def textbook(self) -> sp.Expr:
        return sp.log(sp.Sum(sp.exp(self.entry), (self.index, 1, self.count)))


class SoftmaxMinusUniform(ClassAxisPrimitive):
    r""":math:`\operatorname{softmax}(e)_k - 1/K`, the softmax minus the uniform target, without cancelling
    :math:`s_k` against :math:`1/K` (at logits of :math:`10^{-19}`, :math:`s_k = 1/K + (e_k - \bar e)/K`
    to first order, and the rounded :math:`s_k` keeps no digit of the difference).  With the max-shifted
    parts :math:`d_j = e_j - m`, :math:`x_j = e^{d_j}`, :math:`S = \sum_j x_j`:
    :math:`s_k - 1/K = (K x_k - S)/(K S)` and :math:`K x_k - S = \sum_j (x_k - x_j) = K u_k - \sum_j u_j`
    for :math:`u_j = \operatorname{expm1}(d_j) = x_j - 1` (the K ones cancel exactly, in the algebra).
    The numerator's rounding error is about :math:`2^{-53}(K|u_k| + \sum_j |u_j|)` in the expm1 form and
    :math:`2^{-53}(K x_k + S)` in the exponential form; the first is the smaller exactly where
    :math:`x_k + S/K > 1` (every :math:`x_j` near 1, the logits close together), and the kernel takes it
    there.  Both are O(K)."""

    regime_call = "SoftmaxMinusUniform(e, k, K)"
    regimes = (
        ("x_k + S/K > 1, x_j = exp(e_j - m), S = sum_j x_j, m = max(e)",
         "(K expm1(e_k - m) - sum_j expm1(e_j - m))/(K S)"),
        ("otherwise", "(K x_k - S)/(K S)"),
    )

    def textbook(self) -> sp.Expr:
        return sp.exp(self.entry) / self.normalizer() - 1 / self.count


class LogSoftmaxComplement(ClassAxisPrimitive):
    r""":math:`\log(1 - \operatorname{softmax}(e)_k) = \log\sum_{j \ne k} e^{e_j} - \log\sum_j e^{e_j}`, never
    forming :math:`1 - p_k`, which rounds to 1 where :math:`p_k < 2^{-54}`, so that a power
    :math:`(1 - p_k)^\gamma = e^{\gamma\log(1 - p_k)}` keeps :math:`e^{-\gamma p_k}` (0, not 1, at
    :math:`\gamma = 1.8\cdot 10^{308}`).  From the max-shifted parts :math:`x_k = e^{e_k - m}`,
    :math:`r = \sum_{j \ne \arg\max} x_j` and the other classes' sum :math:`o = (1 - x_k) + r`:
    :math:`-\operatorname{log1p}(x_k/o)` where :math:`p_k \le 1/2`, :math:`\log o - \operatorname{log1p}(r)`
    above; at most 0 (:math:`-\infty` only in the limit :math:`p_k \to 1`)."""

    regime_call = "LogSoftmaxComplement(e, k, K)"
    regimes = (
        ("x_k <= o, x_k = exp(e_k - m), o = (1 - x_k) + r, r = sum of x_j over j != argmax",
         "-log1p(x_k/o) (p_k <= 1/2)"),
        ("o == 0 (the other classes underflow)", "-DBL_MAX (a finite log 0: exp(0 * it) = 1)"),
        ("otherwise", "log(o) - log1p(r) (p_k > 1/2)"),
    )

    def textbook(self) -> sp.Expr:
        return sp.log(1 - sp.exp(self.entry) / self.normalizer())

    def _eval_is_extended_real(self) -> bool:
        return True

    def _eval_is_extended_nonpositive(self) -> bool:
        return True


class ScaledSoftmaxProduct(Primitive):
    r""":math:`p_k^a (1 - p_k)^b c` for :math:`p = \operatorname{softmax}(e)`, integers :math:`a, b \ge 0` and a
    co-factor :math:`c > 0` free of the class (a power of a temperature, :math:`\tau^{-2}`): arguments
    (``Softmax(e, k, K)``, ``SoftmaxComplement(e, k, K)``, a, b, c), the two class-axis primitives standing for
    the shared max-shifted parts of the row.  With :math:`d_j = e_j - m`, :math:`x_j = e^{d_j}`,
    :math:`S = \sum_j x_j` and the other classes' sum :math:`o_k = \sum_{j \ne k} x_j`, the value is
    :math:`x_k^a o_k^b c / S^{a+b}`, where :math:`S \in [1, K]` but :math:`x_k` (off the arg-max) or
    :math:`o_k` (at the arg-max) may be far below the smallest float while the product with c is not
    (:math:`p_k = e^{-1117}` at :math:`\tau = 5.7\cdot 10^{-225}`, :math:`p_k/\tau^2 = 2\cdot 10^{-37}`).  The
    kernel carries each of them as a mantissa and a power of two (:math:`x_k = 2^n e^r` by Cody and Waite's
    reduction; at the arg-max :math:`o_k = e^{d_2} \sum_{j \ne k} e^{d_j - d_2}`, :math:`d_2` the largest
    other entry) and applies the powers of two after c's mantissas (``_times_scaled``): no partial product
    underflows or overflows before the whole does."""

    nargs = 5
    regime_call = "ScaledSoftmaxProduct(p, q, a, b, c)"
    regimes = (
        ("k = argmax(e), p = softmax(e)_k, q = 1 - p",
         "2^(b n2) (1 + expm1(r2))^b R^b c / S^(a+b), e^(d2) = 2^n2 e^r2, d2 the largest other entry, "
         "R = sum over j != k of e^(d_j - d2), S = sum_j e^(d_j)"),
        ("otherwise", "2^(a n) (1 + expm1(r))^a o_k^b c / S^(a+b), e^(d_k) = 2^n e^r, o_k = (1 - e^(d_k)) + S - 1"),
    )

    def textbook(self) -> sp.Expr:
        softmax, complement, a, b, factor = (e.textbook() if isinstance(e, Primitive) else e for e in self.args)
        return softmax**a * complement**b * factor
