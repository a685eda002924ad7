"""Stability rules of elementary functions near their cancellation points (Goldberg 1991): log(1 + x)
as log1p, e^x − 1 as expm1 (also e^a − t for a variable t), log cosh, and 1 − tanh² as sech²."""

from __future__ import annotations

import sympy as sp

from symloss.stabilize.engine import Rule, pattern, structural_match
from symloss.stabilize.identities import (
    a,
    claim,
    r,
    scalar_rule,
    t,
    u,
    w,
    x,
)
from symloss.stabilize.primitives import (
    exp_minus,
    expand_primitives,
    expm1,
    log1p,
    logcosh,
    sech2,
)


def _exp_minus_rewrite(expr: sp.Expr) -> sp.Expr:
    r"""e^a − t → exp_minus(a, t) for a variable t (a symbol), inside any sum."""
    query = sp.exp(sp.Wild("w_a")) - sp.Wild("w_t", properties=[lambda e: isinstance(e, sp.Symbol)])

    def rewrite(e: sp.Add) -> sp.Expr:
        bindings, leftover = structural_match(query, e)
        found = {w.name: v for w, v in bindings.items()}
        return exp_minus(found["w_a"], found["w_t"]) + leftover

    return expr.replace(lambda e: structural_match(query, e) is not None, rewrite)


ELEMENTARY: tuple[Rule, ...] = (
    scalar_rule("log1p", sp.log(1 + x), log1p(x), [x]),
    scalar_rule("expm1", sp.exp(a) - 1, expm1(a), [a]),
    Rule("exp_minus_variable",
         (claim("exp_minus_variable: e^a - t = expm1(a) - (t - 1)", sp.exp(a) - t,
                expand_primitives(expm1(a) - (t - 1))),),
         _exp_minus_rewrite),
    Rule("logcosh",
         (claim("logcosh_near_zero: log cosh r = log(1 + 2 sinh(r/2)^2)", sp.log(sp.cosh(r)),
                sp.log(1 + 2 * sp.sinh(r / 2) ** 2)),
          claim("logcosh_is_even: log cosh(-r) = log cosh(r)", sp.log(sp.cosh(-r)), sp.log(sp.cosh(r))),
          claim("logcosh_far_from_zero, step 1: log cosh u = log(e^u (1 + e^(-2u)) / 2)",
                sp.log(sp.cosh(u)), sp.log(sp.exp(u) * (1 + sp.exp(-2 * u)) / 2)),
          claim("logcosh_far_from_zero, step 2: log(e^u w / 2) = u + log w - log 2 for w = 1 + e^(-2u) > 0",
                sp.log(sp.exp(u) * w / 2), u + sp.log(w) - sp.log(2))),
         pattern(sp.log(sp.cosh(r)), logcosh(r), [r])),
    scalar_rule("one_minus_tanh_squared", 1 - sp.tanh(a) ** 2, 1 / sp.cosh(a) ** 2, [a]),
    Rule("sech2",
         (claim("sech2_near_zero: 1/cosh(a)^2 = 1 - tanh(a)^2", 1 / sp.cosh(a) ** 2, 1 - sp.tanh(a) ** 2),
          claim("sech2_is_even: 1/cosh(-a)^2 = 1/cosh(a)^2", 1 / sp.cosh(-a) ** 2, 1 / sp.cosh(a) ** 2),
          claim("sech2_far_from_zero: 1/cosh(u)^2 = 4e/(1 + e(2 + e)) with e = exp(-2u)", 1 / sp.cosh(u) ** 2,
                4 * sp.exp(-2 * u) / (1 + sp.exp(-2 * u) * (2 + sp.exp(-2 * u))))),
         pattern(1 / sp.cosh(a) ** 2, sech2(a), [a])),
)
