r"""The vocabulary of stable forms: functions whose NumPy implementation is accurate.

A stable form (see :mod:`symloss.stabilize.rules`) is the textbook expression with
some subexpressions replaced by these primitives.  Each primitive is defined
by the textbook expression it stands for (:meth:`Primitive.textbook`), so a
stable form can always be expanded back and checked; its numerical quality
comes from how the kernel template implements it (max-shifted sums,
``log1p``, the complement of a softmax summed from the other classes).

Scalar primitives: :func:`log1p`, :func:`expm1` (SymPy's C functions, which
NumPy prints natively), :class:`logcosh`, :class:`sech2`, :class:`kl_div` and
:class:`sigmoid_expm1`,
:class:`exp_minus`, :class:`exprel`, :class:`square_ratio`, :class:`square_ratio_of_sum`, :class:`square_over_of_sum`,
:class:`quotient_of_sum`, :class:`sigmoid_pow` and
:class:`sigmoid_powers` (a product of powers of
:math:`\sigma(x)` and :math:`\sigma(-x)`); over the class axis, :class:`SumOthers` (the sum of the
other classes' entries, for every class).

Functions of an exact sum (:class:`OfExactSumBase`): :class:`logcosh_of_sum`,
:class:`tanh_of_sum`, :class:`sech2_of_sum` and :class:`square_of_sum` take the two
terms ``x, y`` of their argument separately.  Rounding ``x + y`` to a float costs
half an ulp of the sum, and a function whose relative condition number is large
(:math:`\operatorname{sech}^2 r` at :math:`|r| = 300`: :math:`2|r|\tanh r = 600`)
turns that into hundreds of ulps of the result.  The kernel splits the sum
exactly instead, :math:`x + y = h + l` with :math:`h = \mathrm{fl}(x + y)` (Knuth's
TwoSum, exact in binary floating point), and evaluates :math:`f(h + l)` by an addition
formula proved in :mod:`symloss.stabilize.rules`.  :class:`sigmoid_expm1` does the same for
:math:`L - a` with a constant :math:`L` such as :math:`\log 2`, carried in two floats.

:class:`CompensatedSum` is a sum over the class axis whose rounding errors are
added back (pairwise TwoSum), for a sum whose terms cancel.

Class-axis primitives (:mod:`~symloss.stabilize.class_axis_primitives`) take the *entry* expression ``e`` of class ``k``
(``z[k]``, ``s[k]/temperature``) with the index and the class count:

* :class:`Softmax` — :math:`e^{e_k} / \sum_{j} e^{e_j}`
* :class:`LogSoftmax` — :math:`\log` of it
* :class:`SoftmaxComplement` — :math:`1 - \operatorname{softmax}(e)_k`
* :class:`SoftmaxXLogXRatio` — :math:`p_k \log p_k / (1 - p_k)` for :math:`p = \operatorname{softmax}(e)`
* :class:`LogSumExp` — :math:`\log \sum_k e^{e_k}` (``k`` bound)
* :class:`LogSoftmaxRemainder` — :math:`\log\operatorname{softmax}(e)_k + 1 - \operatorname{softmax}(e)_k`
* :class:`SoftmaxMinusUniform` — :math:`\operatorname{softmax}(e)_k - 1/K`
* :class:`LogSoftmaxComplement` — :math:`\log(1 - \operatorname{softmax}(e)_k)` from the other classes
* :class:`ScaledSoftmaxProduct` — :math:`p_k^a (1 - p_k)^b c` with its powers of two applied last

:class:`OtherClassesSum` — :math:`c_i \sum_{k \ne i} f(k)` — takes a weight, a summand and the
indices, and sums over the other classes without subtracting the own entry from the total.
"""

from __future__ import annotations

import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p

from symloss.declare.functions import sigmoid
from symloss.stabilize.class_axis_primitives import (
    ClassAxisPrimitive,
    LogSoftmax,
    LogSoftmaxComplement,
    LogSoftmaxRemainder,
    LogSumExp,
    ScaledSoftmaxProduct,
    Softmax,
    SoftmaxComplement,
    SoftmaxMinusUniform,
    SoftmaxXLogXRatio,
)
from symloss.stabilize.exact_sum_primitives import (
    OfExactSumBase,
    logcosh_of_sum,
    on_halves,
    sech2_of_sum,
    square_of_sum,
    tanh_of_sum,
)
from symloss.stabilize.primitive_base import Primitive

__all__ = [
    "ClassAxisPrimitive",
    "CompensatedSum",
    "LogSoftmax",
    "LogSoftmaxComplement",
    "LogSoftmaxRemainder",
    "LogSumExp",
    "OfExactSumBase",
    "OtherClassesSum",
    "Primitive",
    "ScaledSoftmaxProduct",
    "Softmax",
    "SoftmaxComplement",
    "SoftmaxMinusUniform",
    "SoftmaxXLogXRatio",
    "SumOthers",
    "exp_minus",
    "expand_primitives",
    "expm1",
    "exprel",
    "kl_div",
    "log1p",
    "logcosh",
    "logcosh_of_sum",
    "on_halves",
    "pow1p",
    "quotient_of_sum",
    "sech2",
    "sech2_of_sum",
    "sigmoid_expm1",
    "sigmoid_pow",
    "sigmoid_powers",
    "square_of_sum",
    "square_over_of_sum",
    "square_ratio",
    "square_ratio_of_sum",
    "tanh_of_sum",
]


class logcosh(Primitive):  # noqa: N801 - named like NumPy functions
    r""":math:`\log\cosh r`, implemented as :math:`\log(1 + 2\sinh^2(r/2))` near 0 and
    :math:`|r| + \log(1 + e^{-2|r|}) - \log 2` elsewhere (both proved in :mod:`symloss.stabilize.rules`)."""

    regime_call = "logcosh(r)"
    regimes = (
        ("|r| < 1", "log1p(2 sinh(|r|/2)**2)"),
        ("otherwise", "|r| + log1p(exp(-2|r|)) - log(2)"),
    )

    nargs = 1

    def textbook(self) -> sp.Expr:
        return sp.log(sp.cosh(self.args[0]))

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sp.tanh(self.args[0])


class sech2(Primitive):  # noqa: N801 - named like NumPy functions
    r""":math:`\operatorname{sech}^2 a = 1/\cosh^2 a`, implemented as :math:`1 - \tanh^2 a` for
    :math:`|a| < 5/8` and :math:`4e/(1 + e(2 + e))` with :math:`e = e^{-2|a|}` elsewhere (both proved in
    :mod:`symloss.stabilize.rules`): no :math:`\cosh a` rounded next to 1, no overflow of :math:`\cosh^2 a`."""

    regime_call = "sech2(a)"
    regimes = (
        ("|a| < 5/8", "1 - tanh(|a|)**2"),
        ("otherwise", "4e/(1 + e(2 + e)), e = exp(-2|a|)"),
    )

    nargs = 1

    def textbook(self) -> sp.Expr:
        return 1 / sp.cosh(self.args[0]) ** 2

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return -2 * sp.tanh(self.args[0]) * sech2(self.args[0])


class kl_div(Primitive):  # noqa: N801 - named as SciPy's scipy.special.kl_div
    r"""One term of the KL divergence made nonnegative, :math:`p\log(p/q) - p + q \ge 0`, computed as
    :math:`q\,h(x)` with :math:`x = (p - q)/q` and Bennett's function :math:`h(x) = (1 + x)\log(1 + x) - x`
    (a series in :math:`s = x/(2 + x)` for small :math:`|x|`, where the direct form cancels); its value
    at :math:`p = 0` is the limit :math:`q`.  :math:`p - q` is exact for :math:`q/2 \le p \le 2q`
    (Sterbenz's lemma), so a term of :math:`p \approx q` keeps every digit."""

    regime_call = "kl_div(p, q)"
    regimes = (
        ("q/2 <= p <= 2q",
         "q h(x), x = (p - q)/q exact (Sterbenz), Bennett's h(x) = (1 + x) log1p(x) - x by its "
         "series in x/(2 + x)"),
        ("p == 0", "q (the limit)"),
        ("p/q overflows or underflows", "p (log(p) - log(q)) - (p - q)"),
        ("otherwise", "p log(p/q) - (p - q)"),
    )

    nargs = 2

    def textbook(self) -> sp.Expr:
        p, q = self.args
        return p * sp.log(p / q) - p + q


class square_ratio(Primitive):  # noqa: N801
    r""":math:`(a/b)^2`, computed as the square of the rounded ratio (:math:`q = a/b`, then :math:`q\,q`):
    within 1.5 ulp wherever the result is a normal float, although :math:`a^2` or :math:`b^2` may
    overflow or underflow (:math:`a = 10^{-200}`, :math:`b = 10^{-180}`: :math:`a^2/b^2 = 0/0`, while
    :math:`(a/b)^2 = 10^{-40}`).  SymPy distributes an integer power over a quotient,
    :math:`(a/b)^2 \to a^2 b^{-2}`; this primitive keeps the ratio whole."""

    nargs = 2

    def textbook(self) -> sp.Expr:
        return (self.args[0] / self.args[1]) ** 2


class square_ratio_of_sum(Primitive):  # noqa: N801
    r""":math:`((x + y)/c)^2` for :math:`c > 0`, x a float input (or its negation) and y another one or a
    constant: the sum carried exactly (:math:`x + y = h + l`, TwoSum) and divided before it is squared,
    :math:`(h/c)^2 + (l/c)(2h/c + l/c)`, so that neither :math:`(x + y)^2` nor :math:`c^2` is formed
    (both may overflow or underflow where the quotient does not: :math:`x + y = 10^{275}`,
    :math:`c = 10^{220}`).  Where :math:`|x|` or :math:`|y| \ge 2^{1020}` the sum is taken of the halves
    (exact there), :math:`x + y = 2(x/2 + y/2)`, so that it cannot overflow either."""

    regime_call = "square_ratio_of_sum(x, y, c)"
    regimes = (
        ("max(|x|, |y|) >= 2**1020",
         "q**2 + t(2q + t) with h + l = x/2 + y/2 exactly (TwoSum), q = 2h/c, t = 2l/c; q**2 "
         "alone where it overflows"),
        ("otherwise",
         "q**2 + t(2q + t) with h + l = x + y exactly (TwoSum), q = h/c, t = l/c; q**2 alone "
         "where it overflows"),
    )

    nargs = 3

    def textbook(self) -> sp.Expr:
        x, y, c = self.args
        return ((x + y) / c) ** 2


class square_over_of_sum(Primitive):  # noqa: N801
    r""":math:`k(x + y)^2/v` for :math:`v > 0` and a number :math:`k > 0`, x a float input (or its negation)
    and y another one or a constant: the sum carried exactly (:math:`x + y = h + l`, TwoSum) and
    :math:`k(h + l)^2/v = k\,h^2/v + k\,l(2h + l)/v`, with :math:`h^2/v` formed as :math:`(kh)(h/v)` where
    :math:`h^2` could overflow (:math:`|h| > 1`) and as :math:`k\,h(h/v)` where it could underflow
    (:math:`|h| < 2^{-500}`), so that the square is not formed where the quotient is finite
    (:math:`x + y = 3.7\cdot10^{267}`, :math:`v = 1.8\cdot10^{308}`: :math:`(x + y)^2 = \infty`, the quotient
    :math:`7.8\cdot10^{226}`).  Where :math:`|x|` or :math:`|y| \ge 2^{1020}` the sum is taken of the halves
    (exact there), :math:`x + y = 2(x/2 + y/2)`, and the quotient multiplied by 4 last.  k (a loss's
    :math:`1/2`) is applied before the quotient can overflow: :math:`(x + y)^2/v` may exceed the float range
    where :math:`k(x + y)^2/v` does not."""

    regime_call = "square_over_of_sum(x, y, v, k)"
    regimes = (
        ("max(|x|, |y|) >= 2**1020",
         "4 q, q the next regimes' value at h + l = x/2 + y/2 exactly (TwoSum)"),
        ("|h| > 1", "(k h)(h/v) + k (2 (t h) + t l), t = l/v, h + l = x + y exactly (TwoSum); the first term "
                    "alone where it overflows"),
        ("|h| < 2**-500", "k h (h/v) + k (2 (t h) + t l), t = l/v"),
        ("otherwise", "k (h h)/v + k l(2h + l)/v"),
    )

    nargs = 4

    def textbook(self) -> sp.Expr:
        x, y, v, k = self.args
        return k * (x + y) ** 2 / v


class quotient_of_sum(Primitive):  # noqa: N801
    r""":math:`c(x + y)/v` for :math:`v > 0` and a number c, x a float input (or its negation) and y another
    one or a constant: a residual scaled, with the sum taken of the halves where :math:`|x|` or
    :math:`|y| \ge 2^{1020}` (exact there), :math:`c(x + y)/v = 2\,(c\,((x/2 + y/2)/v))`, so that
    :math:`x + y` does not overflow where the result is finite (:math:`x = -y = 1.8\cdot10^{308}`,
    :math:`v = 10^{174}`), and kept whole so that common-subexpression elimination cannot expand it into
    :math:`c x + c y` (two overflowing terms, inf − inf)."""

    regime_call = "quotient_of_sum(x, y, c, v)"
    regimes = (
        ("max(|x|, |y|) >= 2**1020", "2 (c ((x/2 + y/2)/v))"),
        ("otherwise", "c ((x + y)/v)"),
    )

    nargs = 4

    def textbook(self) -> sp.Expr:
        x, y, c, v = self.args
        return c * (x + y) / v


class exprel(Primitive):  # noqa: N801 - named as GSL's gsl_sf_exprel
    r""":math:`\operatorname{exprel}(x) = (e^x - 1)/x`, 1 at :math:`x = 0` (its limit; Abramowitz and Stegun
    4.2.1): :math:`\operatorname{expm1}(x)/x`, whose two roundings keep the relative accuracy for every
    :math:`x`, also where :math:`x` underflows to 0 or to a subnormal (:math:`\operatorname{exprel} = 1` there,
    while :math:`\operatorname{expm1}(x)/a` for :math:`x = a\,y` loses :math:`y` with :math:`x`).  From
    :math:`x > 700` on it is :math:`e^{x/2}\,(e^{x/2}/x)`, finite up to :math:`x \approx 716` where
    :math:`e^x` overflows."""

    regime_call = "exprel(x)"
    regimes = (
        ("x = 0", "1"),
        ("x = inf", "inf"),
        ("x > 700", "exp(x/2) (exp(x/2)/x)"),
        ("otherwise", "expm1(x)/x"),
    )

    nargs = 1

    def textbook(self) -> sp.Expr:
        return expm1(self.args[0]) / self.args[0]


class sigmoid_expm1(Primitive):  # noqa: N801
    r""":math:`\sigma(a)\,(e^{L - a} - 1)` for a constant :math:`L`, which vanishes at :math:`a = L`:
    :math:`\sigma(a)\operatorname{expm1}(L - a)` with :math:`L - a` an exact sum (:math:`L` in two floats)
    from :math:`a > L - 2` on, and :math:`(e^L - e^a)/(1 + e^a)` below, where that cancels little and
    :math:`e^{L - a}` would overflow as :math:`a \to -\infty`."""

    regime_call = "sigmoid_expm1(a, L)"
    regimes = (
        ("a > L - 2", "sigmoid(a) expm1(L - a), L - a an exact sum"),
        ("otherwise", "(exp(L) - exp(a))/(1 + exp(a))"),
    )

    nargs = 2

    def textbook(self) -> sp.Expr:
        a, root = self.args
        return sigmoid(a) * (sp.exp(root - a) - 1)


class sigmoid_powers(Primitive):  # noqa: N801
    r""":math:`\sigma(x)^a\,\sigma(-x)^b` for integers :math:`a, b \ge 0`, times :math:`e^{L - x} - 1` for a
    constant :math:`L` when one is given (the root factor of :class:`sigmoid_expm1`): with
    :math:`e = e^{-|x|}`, :math:`e^{-bx}/(1 + e)^{a+b}` for :math:`x \ge 0` and :math:`e^{ax}/(1 + e)^{a+b}` for
    :math:`x < 0`.  Every rounded sigmoid factor carries an ulp or more (``np.exp`` alone is off by up
    to 0.66 ulp), so a product of three or four of them exceeds 4 ulp; the kernel evaluates the
    whole product in double-double arithmetic from :math:`e^{-|x|} = 2^k(1 + \operatorname{expm1}(r))`
    (Cody and Waite's reduction, :math:`|r| \le \log 2/2`) and rounds once.  ``sigmoid_powers(-x, a, b)``
    is ``sigmoid_powers(x, b, a)``: the argument is kept without a leading minus sign, so that a loss
    whose labels mirror each other (:math:`y = 0` at :math:`z`, :math:`y = 1` at :math:`-z`) shares one form."""

    regime_call = "sigmoid_powers(x, a, b)"
    regimes = (
        ("x < 0",
         "exp(a x)/(1 + exp(x))**(a + b) in double-double (times exp(L - x) - 1 for a root L), "
         "x clipped at -1400"),
        ("otherwise",
         "exp(-b x)/(1 + exp(-x))**(a + b) in double-double (times exp(L - x) - 1 for a root "
         "L), x clipped at 1400"),
    )

    nargs = (3, 4)

    @classmethod
    def eval(cls, x: sp.Expr, a: sp.Expr, b: sp.Expr, *root: sp.Expr) -> sp.Expr | None:
        if not root and x.could_extract_minus_sign():
            return cls(-x, b, a)
        return None

    def textbook(self) -> sp.Expr:
        x, a, b, *root = self.args
        product = sigmoid(x) ** a * sigmoid(-x) ** b
        return product * (sp.exp(root[0] - x) - 1) if root else product


class CompensatedSum(sp.Sum):
    r""":math:`\sum_k f(k)` over the class axis with the rounding errors of the summation added back
    (each pairwise addition split by TwoSum, the errors summed; Ogita, Rump and Oishi, "Accurate sum
    and dot product", SIAM J. Sci. Comput. 26, 2005): as accurate as a sum in twice the precision,
    for terms that cancel."""


class exp_minus(Primitive):  # noqa: N801 - named like NumPy functions
    r""":math:`e^{a} - t` for a variable :math:`t` (a count, a target), implemented from
    :math:`e^{a} = 2^k (s + s_\ell)` in two floats (about :math:`2^{-64}` relative) as
    :math:`2^k((s - t 2^{-k}) + s_\ell)` where :math:`t 2^{-k} \in [\tfrac14, 4]` or :math:`a > 709`, for
    :math:`-700 < a \le 1500`, and as :math:`e^{a} - t` elsewhere (the identity is proved in
    :mod:`symloss.stabilize.rules`).

    Near :math:`e^a = t` the textbook difference keeps only the absolute accuracy of the rounded
    :math:`e^{a}`: at :math:`t = 1`, :math:`a = 10^{-300}` it gives 0, at :math:`a = 3`, :math:`t = 20` it is
    off by 17 ulp.  There :math:`s - t 2^{-k}` is exact (Sterbenz's lemma: within a factor 2 of each other,
    :math:`t 2^{-k}` exact) and :math:`s + s_\ell` carries 11 bits beyond a double, so only the final sum rounds
    while the cancellation is below :math:`2^{10}`.  Away from that range :math:`e^a` and t are a factor 2.8
    apart or more and the textbook form is as good; for :math:`a > 709` the scaled form is finite where
    :math:`e^a` is not.
    """

    regime_call = "exp_minus(a, t)"
    regimes = (
        ("-700 < a <= 1500 and (1/4 <= t 2^-k <= 4 or a > 709), e^a = 2^k (s + s_low)",
         "2^k ((s - t 2^-k) + s_low), e^a in two floats, s - t 2^-k exact where they are close (Sterbenz)"),
        ("otherwise", "exp(a) - t"),
    )

    nargs = 2

    def textbook(self) -> sp.Expr:
        return sp.exp(self.args[0]) - self.args[1]

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sp.exp(self.args[0]) if argindex == 1 else sp.S.NegativeOne


class sigmoid_pow(Primitive):  # noqa: N801 - named like NumPy functions
    r""":math:`\sigma(a)^{c}` for an exponent c that is a variable (a focusing parameter), implemented as
    :math:`e^{c\min(a, 0)}\, e^{-c \log(1 + e^{-|a|})}`, which is
    :math:`e^{-c\operatorname{softplus}(-a)}` (both identities proved in :mod:`symloss.stabilize.rules`).

    A power of the rounded :math:`\sigma(a)` multiplies its error (about 1.5 ulp) by c, and a
    subnormal :math:`\sigma(-710)` has lost bits before it is raised.  Below :math:`c = 8` the kernel
    splits :math:`c = n + f` (n an integer, :math:`0 \le f < 1`): :math:`\sigma(a)^n` is one
    double-double product (:class:`sigmoid_powers`) and :math:`\sigma(a)^f` the exponential of an
    exactly summed argument whose only rounding is that of :math:`f\log(1 + e^{-|a|}) < \log 2`; from
    :math:`c = 8` on the whole exponent :math:`c\min(a, 0) - c\log(1 + e^{-|a|})` is carried in two floats
    and rounded once by the exponential.
    """

    regime_call = "sigmoid_pow(a, c)"
    regimes = (
        ("c >= 8", "exp(h)(1 + l), h + l = c min(a, 0) - c log1p(exp(-|a|)) in two floats (double-double "
         "exp(-|a|), log1p and products), exp(h) of the rounding where h < -(800 + 745 (n + m)), n co-factors and "
         "m divisors taken in before the powers of two"),
        ("c an integer n < 8", "sigmoid_powers(a, n, 0) (1 for n = 0)"),
        ("otherwise",
         "exp(h)(1 + l) sigmoid_powers(a, n, 0), n = floor(c), f = c - n, h + l = f "
         "min(a, 0) - f log1p(exp(-|a|)) summed exactly (f min(a, 0) split by TwoProduct where "
         "|min(a, 0)| < 2**900, f |min(a, 0)| < 2**1000 and f < 2**900)"),
    )

    nargs = 2

    def textbook(self) -> sp.Expr:
        return sigmoid(self.args[0]) ** self.args[1]


class pow1p(Primitive):  # noqa: N801 - named like NumPy functions
    r""":math:`(1 + t)^a` for :math:`t > -1` and an exponent a that is not a known integer, implemented as
    :math:`e^{a\operatorname{log1p}(t)}` (proved in :mod:`symloss.stabilize.powers`) with
    :math:`\operatorname{log1p}(t)` and its product by a carried in two floats (double-double).

    ``np.power(1 + t, a)`` rounds :math:`1 + t` first, a relative error up to :math:`2^{-53}` of the base
    that the power multiplies by :math:`|a|`: at :math:`t = -5.8\cdot 10^{-230}`,
    :math:`a = 1.8\cdot 10^{308}` the base is 1 and the power 1, where the truth is
    :math:`e^{-10^{79}} = 0`.  ``exp(a * log1p(t))`` in float64 still rounds the product, an absolute
    error up to :math:`|a\log(1 + t)|\,2^{-53}` in the exponent (hundreds of ulps near the float range's
    ends); the double-double product leaves only the rounding of the exponential.  Where
    :math:`1 + t < 0` the kernel gives ``np.power(1 + t, a)`` (a real power there needs an integer a)."""

    regime_call = "pow1p(t, a)"
    regimes = (
        ("t < -1", "(1 + t)**a (real only for an integer a)"),
        ("a = 0 or t = 0", "1"),
        ("|a log1p(t)| <= 800", "exp(h + l), h + l = a log1p(t) in two floats, rounded once by the exponential"),
        ("otherwise", "exp(a log1p(t)) (0 or inf)"),
    )

    nargs = 2

    def textbook(self) -> sp.Expr:
        return (1 + self.args[0]) ** self.args[1]

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        t, a = self.args
        return a * pow1p(t, a - 1) if argindex == 1 else pow1p(t, a) * log1p(t)


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


class OtherClassesSum(Primitive):
    r""":math:`c_i \sum_{k \ne i} f(k)` with arguments (c, f(k), k, K, i): the sum over every class but
    i, computed with the entry of largest magnitude left out of the total and added back for the
    other classes, so that neither a dominant own entry (:math:`\sum_k f(k) - f(i)` would lose
    every digit to it) nor a dominant other entry cancels; 0 wherever the weight :math:`c_i` is 0
    (a class of probability 0 takes nothing from a sum it does not enter)."""

    regime_call = "OtherClassesSum(c, f, k, K, i)"
    regimes = (
        ("c_i == 0", "0"),
        ("otherwise",
         "c_i (the sum without the entry of largest magnitude, that entry added back for the "
         "other classes)"),
    )

    nargs = 5

    def textbook(self) -> sp.Expr:
        weight, summand, k, count, i = self.args
        return weight * sp.Sum((1 - sp.KroneckerDelta(k, i)) * summand, (k, 1, count))


def expand_primitives(expr: sp.Expr) -> sp.Expr:
    """``expr`` with every primitive replaced by its textbook expression (innermost first)."""
    expr = expr.replace(lambda e: isinstance(e, log1p), lambda e: sp.log(1 + e.args[0]))
    expr = expr.replace(lambda e: isinstance(e, expm1), lambda e: sp.exp(e.args[0]) - 1)
    expr = expr.replace(lambda e: isinstance(e, CompensatedSum), lambda e: sp.Sum(*e.args))
    return expr.replace(lambda e: isinstance(e, Primitive), lambda e: e.textbook())
