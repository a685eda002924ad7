"""Stability rules of the logistic function and softplus (Goldberg 1991 for log1p): log σ and
log(1 − σ) as softplus, 1 − σ(a) as σ(−a) (also scaled, as two terms of a longer sum), and the tail of
softplus as log1p of an exponential."""

from __future__ import annotations

import sympy as sp

from symloss.declare.functions import sigmoid, softplus
from symloss.stabilize.engine import Rule
from symloss.stabilize.identities import (
    a,
    claim,
    scalar_rule,
    t,
    u,
)
from symloss.stabilize.primitives import (
    log1p,
)


def _scaled_complement_rewrite(expr: sp.Expr) -> sp.Expr:
    r"""c − c·σ(a) → c·σ(−a) and c·σ(a) − c → −c·σ(−a) for two terms of one sum."""

    def pair(add: sp.Add) -> tuple[sp.Expr, sp.Expr, sp.Expr] | None:
        terms = add.args
        for term in terms:
            sigmoids = [f for f in sp.Mul.make_args(term) if isinstance(f, sigmoid)]
            if len(sigmoids) != 1:
                continue
            scale = term / sigmoids[0]
            if scale != 1 and -scale in terms:
                return term, -scale, sigmoids[0]
        return None

    def rewrite(add: sp.Add) -> sp.Expr:
        term, constant, s = pair(add)
        rest = sp.Add(*(t for t in add.args if t not in (term, constant)))
        return rest + constant * sigmoid(-s.args[0])  # (−c)σ(a) + c = c(1 − σ(a)) = c σ(−a)

    return expr.replace(lambda e: isinstance(e, sp.Add) and pair(e) is not None, rewrite)


def _softplus_tail_rewrite(expr: sp.Expr) -> sp.Expr:
    r"""softplus(x) − max(x, 0) → log1p(e^{−|x|}) for two terms of one sum (the others kept)."""

    def part(add: sp.Basic) -> sp.Expr | None:
        if not isinstance(add, sp.Add):
            return None
        return next((t.args[0] for t in add.args if isinstance(t, softplus) and -sp.Max(t.args[0], 0) in add.args),
                    None)

    def rewrite(add: sp.Add) -> sp.Expr:
        x = part(add)
        return add - softplus(x) + sp.Max(x, 0) + log1p(sp.exp(-sp.Abs(x)))

    return expr.replace(lambda e: part(e) is not None, rewrite)


LOGISTIC: tuple[Rule, ...] = (
    scalar_rule("log_sigmoid_to_softplus", sp.log(sigmoid(a)), -softplus(-a), [a]),
    scalar_rule("log1m_sigmoid_to_softplus", sp.log(1 - sigmoid(a)), -softplus(a), [a]),
    scalar_rule("one_minus_sigmoid", 1 - sigmoid(a), sigmoid(-a), [a]),
    scalar_rule("sigmoid_minus_one", sigmoid(a) - 1, -sigmoid(-a), [a]),
    Rule("scaled_one_minus_sigmoid",
         (claim("scaled_one_minus_sigmoid: c - c sigma(a) = c sigma(-a)", t - t * sigmoid(a), t * sigmoid(-a)),),
         _scaled_complement_rewrite),
    Rule("softplus_tail",
         (claim("softplus_tail for x = u >= 0: softplus(u) - max(u, 0) = softplus(u) - u = log(1 + e^(-u))",
                softplus(u) - u, sp.log(1 + sp.exp(-u))),
          claim("softplus_tail for x = -u <= 0: softplus(-u) - max(-u, 0) = softplus(-u) = log(1 + e^(-u))",
                softplus(-u), sp.log(1 + sp.exp(-u)))),
         _softplus_tail_rewrite, softplus(a) - sp.Max(a, 0)),
)
