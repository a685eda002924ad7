r"""Stability rewrites: named rules, each an identity the prover proves, applied by one engine.

A rule replaces a textbook subexpression that loses accuracy in float64 by
an equal expression in the primitives of :mod:`symloss.stabilize.primitives`, whose
kernel implementations do not.  Rules are data (:data:`RULES`): a name a
reader can search for (it is written into the kernel's docstring and the
report), the identity that justifies it as a :class:`~symloss.declare.loss.Claim`,
and the rewrite.  They are declared by family (:mod:`~symloss.stabilize.logistic`,
:mod:`~symloss.stabilize.powers`, :mod:`~symloss.stabilize.exponentials`,
:mod:`~symloss.stabilize.elementary`, :mod:`~symloss.stabilize.exact_sums`, :mod:`~symloss.stabilize.softmax`,
:mod:`~symloss.stabilize.class_sums`, :mod:`~symloss.stabilize.scaling`, :mod:`~symloss.stabilize.ratios`,
:mod:`~symloss.stabilize.series`, :mod:`~symloss.stabilize.cancellation`, :mod:`~symloss.stabilize.class_margins`,
:mod:`~symloss.stabilize.norms`, :mod:`~symloss.stabilize.scaled_softmax`, :mod:`~symloss.stabilize.linearity`,
:mod:`~symloss.stabilize.logs`, :mod:`~symloss.stabilize.log_products`)
and listed here in the order they are applied (:data:`ORDER`).
:func:`prove_rules` proves every claim; the engine
(:func:`symloss.stabilize.engine.stabilize`) applies only rules whose claim was proved.

The ``*_of_exact_sum`` rules apply where the argument is a sum of two terms that are each
a float input (or its negation) or a constant: the kernel then carries the sum exactly
(:class:`~symloss.stabilize.primitives.OfExactSumBase`) and the rule's addition formula adds the low part.

The identities (Goldberg, "What every computer scientist should know about
floating-point arithmetic", 1991, for log1p/expm1; Blanchard, Higham and
Higham, "Accurately computing the log-sum-exp and softmax functions", 2021,
for the shifted sums):

==============================  ==============================================================
``log_sigmoid_to_softplus``     :math:`\log\sigma(a) = -\operatorname{softplus}(-a)`
``log1m_sigmoid_to_softplus``   :math:`\log(1-\sigma(a)) = -\operatorname{softplus}(a)`
``one_minus_sigmoid``           :math:`1 - \sigma(a) = \sigma(-a)`
``sigmoid_minus_one``           :math:`\sigma(a) - 1 = -\sigma(-a)`
``scaled_one_minus_sigmoid``    :math:`c - c\,\sigma(a) = c\,\sigma(-a)` for two terms of a longer sum
``sigmoid_power``               :math:`\sigma(a)^{c} = e^{-c\operatorname{softplus}(-a)}
                                = e^{c\min(a,0)}\,e^{-c\log(1+e^{-|a|})}` for a variable exponent c
``softplus_tail``               :math:`\operatorname{softplus}(x) - \max(x, 0) = \operatorname{log1p}(e^{-|x|})`
``log_sum_minus_exponent``      :math:`K\log(c + e^{a}) - k a = (K - k)\log(c + e^{a}) + k\log(1 + c e^{-a})` for k
                                K or some of K's terms: :math:`\operatorname{log1p}(c e^{-a})` where
                                :math:`\log c - a < 700`, else :math:`(\log c - a) + \operatorname{log1p}(e^a/c)`
``log_of_constant_plus_exp``    :math:`\log(1 + e^{a}) = \max(a, 0) + \operatorname{log1p}(e^{-|a|})`
                                (also :math:`\operatorname{log1p}(e^a)`); for :math:`c > 0` free of exponentials,
                                :math:`\log(c + e^a) = a + \operatorname{log1p}(c e^{-a})` where
                                :math:`a \ge \log c`, else :math:`\log c + \operatorname{log1p}(e^a/c)`
``exp_over_constant_plus_exp``  :math:`e^{ma}/(c + e^{a})^{n} = e^{ma - nM}/(c\,e^{-M} + e^{a - M})^{n}`,
                                :math:`M = \max(a, 0)`, for integers :math:`0 \le m \le n`, :math:`c > 0`:
                                no overflowing quotient
``log1p``                       :math:`\log(1 + x) = \operatorname{log1p}(x)`
``log1p_difference``            :math:`\operatorname{log1p}(a) - \operatorname{log1p}(b) =
                                \operatorname{log1p}((a - b)/(1 + b))` where :math:`a \ge b`, else
                                :math:`-\operatorname{log1p}((b - a)/(1 + a))`: log1p of a nonnegative argument,
                                no cancellation of two close logarithms (:mod:`~symloss.stabilize.logs`)
``expm1``                       :math:`e^{x} - 1 = \operatorname{expm1}(x)`
``exp_minus_variable``          :math:`e^{a} - t = \operatorname{expm1}(a) - (t - 1)` for a variable t,
                                used where :math:`t - 1` is exact (:math:`\tfrac12 \le t \le 2`)
``exp_minus_over_constant_plus_exp`` :math:`(e^a - t)/(c + e^a) = e^{M - a}X/(1 + c e^{-a})` where
                                :math:`a \ge \log c`, else :math:`(1/c)X/(e^{-M} + e^{a - M}/c)`,
                                :math:`X = e^{a - M} - t e^{-M}`, :math:`M = \max(a - 700, 0)`: nothing overflows
``exp_times_shifted_sum``       :math:`e^b (A + B e^a) = e^{b + M}(A e^{-M} + B e^{a - M})` and
                                :math:`e^b (e^a - t) = e^{b + M}(e^{a - M} - t e^{-M})`, :math:`M = \max(a - 700, 0)`:
                                the factor's overflow merged into b's exponent
``exp_near_one``                :math:`A + B e^{a} = (A + B) + B\operatorname{expm1}(a)` for inputs A, B
                                where :math:`|a| < 1/2`: A + B exact where they cancel (Sterbenz), the
                                textbook form elsewhere
``logcosh``                     :math:`\log\cosh r = \operatorname{log1p}(2\sinh^2(r/2))` near 0
                                and :math:`|r| + \operatorname{log1p}(e^{-2|r|}) - \log 2` elsewhere
``one_minus_tanh_squared``      :math:`1 - \tanh^2 a = 1/\cosh^2 a`
``sech2``                       :math:`1/\cosh^2 a = 1 - \tanh^2 a` near 0 and
                                :math:`4e/(1 + e(2 + e))`, :math:`e = e^{-2|a|}`, elsewhere
``logcosh_of_exact_sum``        :math:`\log\cosh(x + y) = \log\cosh x + \log\cosh y + \log(1 + \tanh x\tanh y)`
``tanh_of_exact_sum``           :math:`\tanh(x + y) = \tanh x + \tanh y\,(1 - \tanh^2 x)/(1 + \tanh x\tanh y)`
``sech2_of_exact_sum``          :math:`\operatorname{sech}^2(x + y) = \operatorname{sech}^2 x\,(1 + c)`,
                                :math:`c = -(\tanh^2 y + \varepsilon(2 + \varepsilon))/(1 + \varepsilon)^2`,
                                :math:`\varepsilon = \tanh x\tanh y`
``square_of_exact_sum``         :math:`(x + y)^2 = x^2 + y(2x + y)`
``log1p_of_huge_square``        :math:`\log(1 + r^2 k) = 2\log|r| + \log k + \operatorname{log1p}(1/(r^2 k))`
                                for :math:`k > 0`, where :math:`r^2 k > 10^{300}` (:math:`r^2` may overflow);
                                quotients of squares as squares of ratios, :math:`c^2/r^2 = (c/r)^2`
``power_of_huge_square``        :math:`(d + r^2 k)^p = |r|^{2p} k^p (1 + d/(r^2 k))^p` for :math:`k > 0`,
                                :math:`d \ge 0`, where :math:`r^2` or :math:`r^2 k/d > 10^{300}`, and
                                :math:`d^p (1 + r^2 k/d)^p` where :math:`d > 10^{300}` (hypot-style scaling)
``quotient_of_huge_square``     :math:`P/(d + r^2 k)^n = (P/(r^2 k)^n)/(1 + d/(r^2 k))^n` in the same regimes
                                (:math:`(P/d^n)/(1 + r^2 k/d)^n` where :math:`d > 10^{300}`), the division
                                carried into P's sums: :math:`(c^2 - r^2)/r^2 = (c/r)^2 - 1`
``square_ratio_of_exact_sum``   :math:`(x + y)^2/c^2 = ((x + y)/c)^2` for :math:`c > 0`, the exact sum divided
                                before it is squared: neither :math:`(x + y)^2` nor :math:`c^2` formed
``square_over_exact_sum``       :math:`(x + y)^2/v = h(h/v) + 2(l/v)h + (l/v)l` for :math:`v > 0`,
                                :math:`h + l = x + y` exactly: no :math:`(x + y)^2` formed
``quotient_of_exact_sum``       :math:`c(x + y)/v = 2(c((x/2 + y/2)/v))` for :math:`v > 0`: no :math:`x + y`
                                to overflow, no :math:`c x + c y` to cancel as inf − inf
``abs_of_exact_sum_plus``       :math:`|x + y| + c = (|h| + c) + \operatorname{sign}(h)\,l`, :math:`h + l = x + y`
                                exactly (the halves' where x + y or the result overflows): the low part kept
                                where :math:`|x + y| - \varepsilon` cancels
``quotient_by_square``          :math:`\rho\,g^{-2} = (\rho/g)/g` for :math:`g > 0`: no :math:`g^2` to overflow or
                                underflow (not for terms of a sum that share :math:`g^{-2}`)
``difference_with_log_product`` :math:`a - b\log c = (a - p) - (p' + b\,l)`, :math:`\log c = h + l` and
                                :math:`b h = p + p'` in two floats, a − p by TwoSum: no cancellation of a
                                rounded :math:`b\log c` against a
``difference_with_log_ratio``   :math:`a - b\log(u/v) = a - b(\log u - \log v)` for exact sums u, v > 0 of two
                                floats, each log in two floats, their difference by TwoSum, then as above
``one_minus_exp_square_ratio``  :math:`c^2(1 - e^{-q}) = (x + y)^2\operatorname{exprel}(-q)` for
                                :math:`q = ((x + y)/c)^2 < 1` (q may underflow there); elsewhere
                                :math:`-c^2\operatorname{expm1}(-q)`
``affine_in_square_ratio``      :math:`(\alpha c^2 + \beta (x + y)^2)/c^2 = \alpha + \beta q` for numbers
                                :math:`\alpha, \beta`, :math:`c > 0`: no :math:`c^2` to overflow, q in two
                                floats where the sum cancels
``homogeneous_on_halves``       :math:`F\,H(x, y) = 2^d F\,H(x/2, y/2)` for H positively homogeneous of degree
                                :math:`d \in \{1, 2\}` in an exact sum's inputs (sums, max, min, \|·\|, squares):
                                the halves taken only where the plain value is not finite
``power_minus_one``             :math:`c\,u^a - c = c\operatorname{expm1}(a\log u)` for :math:`u > 0` and a
                                non-integer exponent (:math:`\operatorname{log1p}(t)` for :math:`u = 1 + t`),
                                two terms of a longer sum; the textbook form kept where u is not known positive
                                and :math:`u \le 0`
``one_minus_exp``               :math:`c - c\,e^{x} = -c\operatorname{expm1}(x)`, two terms of a longer sum
``expm1_over_factor``           :math:`c\operatorname{expm1}(d\,y)/d = c\,y\operatorname{exprel}(d\,y)` for a
                                divisor :math:`d` that is a factor of the exponent (Box–Cox: keeps
                                :math:`\log u` where :math:`\lambda\log u` underflows)
``class_sums_as_products``      :math:`\sum_k A_k^2 - \sum_k B_k^2 = \sum_k (A_k - B_k)(A_k + B_k)`: class sums
                                of quadratic summands collected into one, its summand factored into two linear
                                forms (:mod:`~symloss.stabilize.norms`): no inf − inf, no cancelling sums
``scaled_sum_of_products``      :math:`\sum_k u_k v_k = s\,(s \sum_k (u_k/s)(v_k/s))`, s a power of two near
                                the largest entry, where it exceeds :math:`10^{150}`
``sigmoid_minus_constant``      :math:`\sigma(a) - q = -(1 - q)\sigma(a)\,\mathrm{expm1}(\mathrm{logit}\,q - a)`
                                for a constant :math:`0 < q < 1`: no cancellation at the root
                                :math:`a = \operatorname{logit} q` (its argument an exact sum:
                                :math:`e^{x + y} - 1 = (e^x - 1) + e^x(e^y - 1)`)
``sigmoid_powers``              :math:`\sigma(x)^a\sigma(-x)^b = e^{-bx}/(1 + e^{-x})^{a+b}
                                = e^{ax}/(1 + e^{x})^{a+b}` (times :math:`e^{L-x} - 1`, a
                                :class:`~symloss.stabilize.primitives.sigmoid_expm1` factor absorbed), one
                                product in double-double arithmetic instead of several rounded factors
``pow1p``                       :math:`(1 + t)^a = e^{a\operatorname{log1p}(t)}` for an exponent a that is
                                not a number or a known integer, log1p and the product in double-double
``relative_entropy_terms``      :math:`\sum_k p_k\log(p_k/q_k) = \sum_k \operatorname{kl\_div}(p_k, q_k)
                                + \sum_k (p_k - q_k)`, every term of the first sum :math:`\ge 0`, the
                                second compensated
``softmax_max_shifted``         :math:`e^{z_k}/\sum_j e^{z_j} = e^{z_k-m}/\sum_j e^{z_j-m}`
``log_softmax_max_shifted``     :math:`\log\operatorname{softmax}(z)_k = (z_k - m) - \log\sum_j e^{z_j-m}`
``logsumexp_max_shifted``       :math:`\log\sum_j e^{z_j} = m + \log\sum_j e^{z_j-m}`
``softmax_complement``          :math:`1 - \operatorname{softmax}(z)_k` summed from the other classes
``softmax_minus_target``        :math:`s - t = s(1-t) - t(1-s)`, so a confident correct class
                                gives :math:`-(1-s)` computed without cancellation
``softmax_minus_uniform``       :math:`\operatorname{softmax}(z)_k - 1/K = (K\operatorname{expm1}(d_k) - \sum_j
                                \operatorname{expm1}(d_j))/(K\sum_j e^{d_j})`, :math:`d = z - m`: no cancellation
                                where the softmax is nearly uniform (:mod:`~symloss.stabilize.uniform_target`)
``softmax_xlogx_ratio``         :math:`p\log p/(1-p)` for :math:`p = \operatorname{softmax}(z)_k` from the
                                max-shifted parts, bounded in :math:`[-1, 0]` at every logit
``softmax_complement_power``    :math:`(1 - p_k)^a = e^{a\log(1 - p_k)}` for an exponent a that is not a number,
                                :math:`\log(1 - p_k) = \log\sum_{j \ne k} e^{z_j} - \log\sum_j e^{z_j}` from
                                the max-shifted parts, :math:`1 - p_k` never rounded
``sum_over_other_classes``      :math:`c\,(\sum_k f(k) - f(i)) = c \sum_k (1 - \delta_{ki}) f(k)`, summed
                                over the other classes instead of cancelling the own entry
``log_softmax_remainder``       :math:`\log p_k + (1 - p_k) = \log(1+x) - x` at :math:`x = -(1 - p_k)`,
                                a series in :math:`u = x/(2+x)` where :math:`1 - p_k` is small
``sum_over_the_others``         :math:`\sum_j f_j - f_k = \sum_{j<k} f_j + \sum_{j>k} f_j`
``log1p_remainder_series``      **approximation**, not an identity: :math:`t - \operatorname{log1p}(t)`
                                (:math:`t \ge 0`) as 15 terms of its series in :math:`u = t/(2 + t)` for
                                :math:`t < 1`, relative truncation error :math:`\le 3^{-31}/33 < 2^{-54}`
                                (:mod:`~symloss.stabilize.series`); the textbook form from :math:`t = 1` on
``expm1_remainder_series``      **approximation**, not an identity: :math:`\operatorname{expm1}(x) - x` as
                                :math:`\sum_{k=2}^{15} x^k/k!` for :math:`|x| < 1/2`, relative truncation
                                error :math:`\le 2^{-12}/16! < 2^{-54}` (:mod:`~symloss.stabilize.series`);
                                the textbook form from :math:`|x| = 1/2` on
``max_minus_class_invariant``   :math:`\max_k f(k) - c = \max_k((g(k) - c) + h(k))` for c free of k,
                                :math:`f = g + h`, g the terms of a signed entry: no cancellation of the
                                rounded max against c
``divided_before_summing``      :math:`\frac1d\sum_k w_k\max(0, \sum_i a_i) = \sum_k w_k\max(0, \sum_i a_i/d)`
                                for :math:`d > 0`: no overflowing margin where the mean is finite
``shift_before_divisor``        :math:`z_k/\tau - \max_j z_j/\tau = (z_k - \max_j z_j)/\tau` for
                                :math:`\tau > 0`: a softmax of :math:`z/\tau` shifted before it is divided
                                (:mod:`~symloss.stabilize.scaled_softmax`), finite where :math:`z/\tau` is not
``softmax_product_scaled``      :math:`p_k^a(1 - p_k)^b c` (c a power of a temperature) as one primitive
                                whose powers of two are applied after c's (:mod:`~symloss.stabilize.scaled_softmax`):
                                normal where :math:`p_k` alone underflows
``softmax_partition_of_unity``  :math:`a p + b(1 - p) = (a + b)/2 + ((b - a)/2)((1 - p) - p)` for
                                :math:`p = \operatorname{softmax}(z)_k` where a term of a cancels one of b in
                                the algebra, in the regime :math:`a b < 0` only
                                (:mod:`~symloss.stabilize.softmax_partition`)
==============================  ==============================================================
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from symloss.prove.prover import prove
from symloss.stabilize.cancellation import CANCELLATION
from symloss.stabilize.class_margins import CLASS_MARGINS
from symloss.stabilize.class_sums import CLASS_SUMS
from symloss.stabilize.elementary import ELEMENTARY
from symloss.stabilize.engine import ProvedRule, Rule
from symloss.stabilize.exact_sums import EXACT_SUMS
from symloss.stabilize.exponentials import EXPONENTIALS
from symloss.stabilize.homogeneous import HOMOGENEOUS
from symloss.stabilize.linearity import LINEARITY
from symloss.stabilize.log_products import LOG_PRODUCTS
from symloss.stabilize.logistic import LOGISTIC
from symloss.stabilize.logs import LOGS
from symloss.stabilize.norms import NORMS
from symloss.stabilize.powers import POWERS
from symloss.stabilize.ratios import RATIOS
from symloss.stabilize.scaled_softmax import SCALED_SOFTMAX
from symloss.stabilize.scaling import SCALING
from symloss.stabilize.series import SERIES
from symloss.stabilize.softmax import SOFTMAX
from symloss.stabilize.softmax_partition import SOFTMAX_PARTITION
from symloss.stabilize.softmax_powers import SOFTMAX_POWERS
from symloss.stabilize.square_ratio_exp import SQUARE_RATIO_EXP
from symloss.stabilize.uniform_target import UNIFORM_TARGET

FAMILIES: tuple[tuple[Rule, ...], ...] = (LOGISTIC, POWERS, EXPONENTIALS, ELEMENTARY, EXACT_SUMS, SOFTMAX, CLASS_SUMS,
                                                 SCALING, RATIOS, SERIES, CANCELLATION, CLASS_MARGINS, NORMS,
                                                 SCALED_SOFTMAX, LINEARITY, UNIFORM_TARGET, SOFTMAX_POWERS,
                                                 SQUARE_RATIO_EXP,
                                                 HOMOGENEOUS, SOFTMAX_PARTITION, LOGS, LOG_PRODUCTS)
ORDER: tuple[str, ...] = (  # the order the engine applies the rules in, on every pass
    "log_sigmoid_to_softplus",
    "log1m_sigmoid_to_softplus",
    "one_minus_sigmoid",
    "sigmoid_minus_one",
    "scaled_one_minus_sigmoid",
    "sigmoid_power",
    "softplus_tail",
    "log_sum_minus_exponent",  # before log_of_constant_plus_exp, which would hide its log(c + e^a)
    "log_of_constant_plus_exp",  # before log1p, which would hide log(1 + e^a) as log1p(e^a)
    "exp_over_constant_plus_exp",
    "difference_with_log_ratio",  # before log1p and log1p_difference, which split a + log(1 + x) - log(1 + y)
    "log1p",
    "log1p_remainder_series",  # after log1p, whose log1p(t) it matches
    "log1p_difference",  # after log1p, whose log1p(a) - log1p(b) it matches
    "expm1",
    "exp_minus_variable",
    "exp_minus_over_constant_plus_exp",  # after exp_minus_variable, whose exp_minus(a, t) they shift
    "exp_times_shifted_sum",
    "exp_near_one",  # after exp_minus_variable, which takes e^a - t (B = 1) as exp_minus(a, t)
    "logcosh",
    "one_minus_tanh_squared",
    "sech2",
    "logcosh_of_exact_sum",
    "tanh_of_exact_sum",
    "sech2_of_exact_sum",
    "class_sums_as_products",  # before square_of_exact_sum, which would hide the squares it collects
    "scaled_sum_of_products",
    "perfect_square_in_sum",  # before square_of_exact_sum, which carries the square it makes exactly
    "square_of_exact_sum",
    "log1p_of_huge_square",  # after log1p and square_of_exact_sum, whose forms it matches
    "power_of_huge_square",
    "quotient_of_huge_square",
    "square_ratio_of_exact_sum",  # after the scaling rules, whose forms (a square times c^-2) it would hide
    "square_over_exact_sum",  # after square_ratio_of_exact_sum, which takes a square times c^-2 first
    "quotient_of_exact_sum",
    "abs_of_exact_sum_plus",  # before homogeneous_on_halves: it takes the halves itself where x + y overflows
    "one_minus_exp_square_ratio",  # after square_ratio_of_exact_sum, whose q it reads; before one_minus_exp
    "affine_in_square_ratio",  # after square_of_exact_sum, whose square it reads
    "homogeneous_on_halves",  # after the exact-sum rules, whose residuals it would hide in its halves
    "power_minus_one",  # after the scaling rules: rewrites inside their moderate regime, not instead of it
    "one_minus_exp",
    "expm1_remainder_series",  # after expm1 and one_minus_exp, whose expm1(x) it matches
    "expm1_over_factor",  # after power_minus_one, whose expm1(λ log u)/λ it rewrites
    "sigmoid_minus_constant",
    "sigmoid_powers",
    "relative_entropy_terms",
    "softmax_max_shifted",
    "log_softmax_max_shifted",
    "class_sum_of_affine_weight",  # after log_softmax_max_shifted, whose log-softmax the split sums keep
    "logsumexp_max_shifted",
    "softmax_complement",
    "log_softmax_remainder",
    "sum_over_other_classes",  # before sum_over_the_others: a weighted sum keeps its weight's zeros
    "sum_over_the_others",
    "softmax_minus_affine_target",  # before softmax_minus_target, which then sees s - y alone
    "softmax_minus_uniform",  # after softmax_minus_affine_target, whose s - 1/K it takes; before softmax_minus_target
    "softmax_minus_target",
    "softmax_xlogx_ratio",
    "softmax_partition_of_unity",  # after the rules that make a p + b (1 - p) (softmax_minus_target, the class sums)
    "softmax_complement_power",  # before pow1p, as softmax_complement
    "max_minus_class_invariant",
    "divided_before_summing",
    "pow1p",  # the powers of 1 + t that remain (1 - softmax is summed from the other classes first)
    "shift_before_divisor",  # last: the softmax rules above read the entries it wraps
    "softmax_product_scaled",  # after the rules that make softmax and its complement
    "difference_with_log_product",
    "quotient_by_square",  # last: the rules above read the powers g^-2 it divides by
)


def _in_order(families: Sequence[Sequence[Rule]], order: Sequence[str]) -> tuple[Rule, ...]:
    """The rules of ``families`` in ``order``; every rule named once, and every name a rule."""
    by_name = {rule.name: rule for family in families for rule in family}
    if len(by_name) != sum(len(family) for family in families) or sorted(by_name) != sorted(order):
        raise ValueError(f"the rule order {list(order)} does not name each of {sorted(by_name)} once")
    return tuple(by_name[name] for name in order)


RULES: tuple[Rule, ...] = _in_order(FAMILIES, ORDER)


def prove_rules(rules: Sequence[Rule] = RULES, *, budget: float = 120.0) -> tuple[ProvedRule, ...]:
    """Every rule with the prover's verdicts on its claims.

    The budget (wall-clock seconds a claim) is far above what any claim takes on an idle machine (a few
    seconds at most), so that a loaded machine does not drop a rule and change the kernels it builds."""
    return tuple(ProvedRule(rule, tuple(prove(claim, budget=budget) for claim in rule.claims)) for rule in rules)


@cache
def proved_rules() -> tuple[ProvedRule, ...]:
    """:data:`RULES` with their verdicts, proved once per process (worker processes forked after the
    first call inherit them)."""
    return prove_rules()
