r"""A power of a softmax complement with a symbolic exponent, :math:`(1 - p_k)^a` for
:math:`p = \operatorname{softmax}(z)` (the focal weight), as :math:`e^{a\log(1 - p_k)}` with the log from the
other classes (:class:`~symloss.stabilize.primitives.LogSoftmaxComplement`): ``np.power`` of the rounded
complement is 1 wherever :math:`p_k < 2^{-54}`, a relative error :math:`2^{-53}` of the base that the power
multiplies by :math:`|a|`, where the truth :math:`e^{-a p_k(1 + \dots)}` is 0 at :math:`a = 1.8\cdot 10^{308}`."""

from __future__ import annotations

import sympy as sp

from symloss.stabilize.engine import Rule
from symloss.stabilize.identities import VECTORS, K, P, Q, a, claim, j, k, z
from symloss.stabilize.primitives import LogSoftmaxComplement, SoftmaxComplement, expand_primitives

_normalizer = sp.Sum(sp.exp(z[j]), (j, 1, K))
_p_k = sp.exp(z[k]) / _normalizer
_others = sp.Sum((1 - sp.KroneckerDelta(j, k)) * sp.exp(z[j]), (j, 1, K))


def _is_symbolic_power(expr: sp.Basic) -> bool:
    """Whether ``expr`` is SoftmaxComplement(e)^a with an exponent that is not a number."""
    return isinstance(expr, sp.Pow) and isinstance(expr.base, SoftmaxComplement) and not expr.exp.is_number


def _complement_power_rewrite(expr: sp.Expr) -> sp.Expr:
    r"""SoftmaxComplement(e)k^a → exp(a LogSoftmaxComplement(e)k) for every exponent a that is not a number."""
    return expr.replace(_is_symbolic_power, lambda e: sp.exp(e.exp * LogSoftmaxComplement(*e.base.args)))


SOFTMAX_POWERS: tuple[Rule, ...] = (
    Rule("softmax_complement_power",
         (claim("softmax_complement_power, the complement as a ratio of positive sums: 1 - softmax(z)k = "
                "sum_{j != k} exp(z_j) / sum_j exp(z_j)",
                1 - _p_k, _others / _normalizer, VECTORS),
          claim("softmax_complement_power: (o/(x + o))^a = exp(a log(o/(x + o))) for o, x > 0 (o the other classes' "
                "sum, x = exp(z_k)), so (1 - softmax(z)k)^a = exp(a log(1 - softmax(z)k))",
                (Q / (P + Q)) ** a, sp.exp(a * sp.log(Q / (P + Q)))),
          claim("softmax_complement_power, the log from the other classes: log(1 - softmax(z)k) = "
                "log sum_{j != k} exp(z_j) - log sum_j exp(z_j)",
                expand_primitives(LogSoftmaxComplement(z[k], k, K)), sp.log(_others) - sp.log(_normalizer), VECTORS),
          claim("softmax_complement_power, the kernel's form for p_k <= 1/2: log(o/(x + o)) = -log(1 + x/o), "
                "x = exp(z_k - m), o the other classes' sum",
                sp.log(Q / (P + Q)), -sp.log(1 + P / Q)),
          claim("softmax_complement_power, the kernel's form for p_k > 1/2: log(o/(1 + r)) = log o - log(1 + r), "
                "r the sum of the classes but the arg-max",
                sp.log(Q / (1 + P)), sp.log(Q) - sp.log(1 + P))),
         _complement_power_rewrite,
         SoftmaxComplement(z[k], k, K) ** a),
)
