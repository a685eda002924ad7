r"""The softmax minus the uniform target (label smoothing's :math:`\varepsilon(s_k - 1/K)`, the term
``softmax_minus_affine_target`` leaves) as one class-axis primitive, computed from the max-shifted parts
without cancelling :math:`s_k` against :math:`1/K`.

==============================  ==============================================================
``softmax_minus_uniform``       :math:`\operatorname{softmax}(z)_k - 1/K
                                = (K e^{d_k} - \sum_j e^{d_j})/(K\sum_j e^{d_j})
                                = (K\operatorname{expm1}(d_k) - \sum_j \operatorname{expm1}(d_j))/(K\sum_j e^{d_j})`
                                for :math:`d_j = z_j - m`: the difference of nearly equal logits
                                kept where :math:`s_k \approx 1/K`
==============================  ==============================================================
"""

from __future__ import annotations

import sympy as sp

from symloss.stabilize.engine import Rule
from symloss.stabilize.identities import VECTORS, K, claim, j, k, m, z
from symloss.stabilize.primitives import Softmax, SoftmaxMinusUniform, expand_primitives, expm1

_shifted = sp.Sum(sp.exp(z[j] - m), (j, 1, K))
_softmax = sp.exp(z[k]) / sp.Sum(sp.exp(z[j]), (j, 1, K))


def _uniform_target_parts(add: sp.Basic) -> tuple[sp.Expr, Softmax] | None:
    """(the other terms, s) of ``add`` = s − 1/K + …, a softmax entry s over K classes and the term −1/K."""
    if not isinstance(add, sp.Add):
        return None
    for entry in add.args:
        if isinstance(entry, Softmax) and -1 / entry.count in add.args:
            return add - entry + 1 / entry.count, entry
    return None


def _uniform_target_rewrite(expr: sp.Expr) -> sp.Expr:
    r"""s − 1/K → SoftmaxMinusUniform(e, k, K) for a softmax entry s = softmax(e)_k, the other terms of the
    sum kept."""

    def rewrite(add: sp.Add) -> sp.Expr:
        rest, entry = _uniform_target_parts(add)
        return rest + SoftmaxMinusUniform(*entry.args)

    return expr.replace(lambda e: _uniform_target_parts(e) is not None, rewrite)


UNIFORM_TARGET: tuple[Rule, ...] = (
    Rule("softmax_minus_uniform",
         (claim("softmax_minus_uniform: softmax(z)k - 1/K = (K x_k - sum_j x_j)/(K sum_j x_j), x_j = exp(z_j - m)",
                _softmax - 1 / K, (K * sp.exp(z[k] - m) - _shifted) / (K * _shifted), VECTORS),
          claim("softmax_minus_uniform, near the uniform softmax: K x_k - sum_j x_j = K u_k - sum_j u_j, "
                "u_j = expm1(z_j - m)",
                _softmax - 1 / K,
                expand_primitives((K * expm1(z[k] - m) - sp.Sum(expm1(z[j] - m), (j, 1, K))) / (K * _shifted)),
                VECTORS)),
         _uniform_target_rewrite, Softmax(z[k], k, K) - 1 / K),
)
