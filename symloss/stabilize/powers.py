r"""Stability rules of powers: of the logistic function (the focal losses), σ(a)^c for a variable
exponent c as an exponential of softplus, and a product σ(x)^a σ(−x)^b (with a root factor) as one
primitive computed in double-double arithmetic; and of one plus a term, ``pow1p``.

``pow1p`` (Goldberg 1991 for log1p): :math:`(1 + t)^a = e^{a\operatorname{log1p}(t)}` for an exponent a
that is not a known integer, as the primitive :class:`~symloss.stabilize.primitives.pow1p`.
``(1 - p)**gamma`` rounds :math:`1 - p` before the power, a relative error of up to :math:`2^{-53}` that
the power multiplies by :math:`|a|`: a focal loss at :math:`p = 5.8\cdot 10^{-230}`,
:math:`\gamma = 1.8\cdot 10^{308}` gives :math:`1^\gamma = 1` where the truth is :math:`e^{-10^{79}} = 0`.
The kernel computes :math:`\operatorname{log1p}(t)` and its product by a in two floats each, so that only
the final exponential rounds.  The claims prove the identities the kernel's helper evaluates: the power
as an exponential for :math:`t > -1`; the reduction of a far argument, :math:`1 + t = 2^e f`:
:math:`\log(1 + t) = e\log 2 + \operatorname{log1p}(f - 1)`; and the series argument,
:math:`\operatorname{log1p}(d) = \log((1 + s)/(1 - s))` for :math:`s = d/(2 + d)` (whose series
:math:`2(s + s^3/3 + s^5/5 + \dots)` the kernel sums for :math:`|s| \le 0.172`; Abramowitz and Stegun
4.1.28).  An exponent that is a number stays a power (NumPy's ``sqrt`` and integer powers), and so does
an integer-valued one (a polynomial, whose base may be negative).  The rule is applied last: every other
rule first takes the powers it rewrites better (``power_minus_one`` of the ``cancellation`` family,
:math:`c\,u^a - c` as an expm1; ``softmax_complement``, :math:`1 - \operatorname{softmax}(z)_k` summed from
the other classes, which :math:`\operatorname{log1p}(-p)` of a rounded p would lose), and this one the
powers that remain."""

from __future__ import annotations

import sympy as sp

from symloss.declare.functions import sigmoid, softplus
from symloss.declare.notation import NONNEGATIVE, REAL, Scope, var
from symloss.stabilize.engine import Rewrite, Rule
from symloss.stabilize.identities import (
    POWERS,
    a,
    b,
    claim,
    i,
    n,
    u,
    w,
    x,
)
from symloss.stabilize.primitives import (
    pow1p,
    sigmoid_expm1,
    sigmoid_pow,
    sigmoid_powers,
)


def _sigmoid_power_rewrite(expr: sp.Expr) -> sp.Expr:
    r"""σ(a)^c → sigmoid_pow(a, c) where the exponent c is not a number (numeric powers stay products)."""
    return expr.replace(lambda e: isinstance(e, sp.Pow) and isinstance(e.base, sigmoid) and not e.exp.is_number,
                        lambda e: sigmoid_pow(e.base.args[0], e.exp))


def _sigmoid_factor(factor: sp.Expr) -> tuple[sp.Expr, int, int, sp.Expr | None] | None:
    """(x, a, b, root) when ``factor`` is σ(x)^a σ(-x)^b (one of them, a positive integer power) or
    σ(x)·(e^{L - x} - 1) (a :class:`~symloss.stabilize.primitives.sigmoid_expm1`, root L), x without a leading minus."""
    base, power = factor.as_base_exp()
    if isinstance(base, sigmoid_expm1) and power == 1:
        x, root = base.args
        return (x, 1, 0, root) if not x.could_extract_minus_sign() else None
    if not isinstance(base, sigmoid) or not (power.is_Integer and power > 0):
        return None
    x = base.args[0]
    return (-x, 0, int(power), None) if x.could_extract_minus_sign() else (x, int(power), 0, None)


def _sigmoid_powers_rewrite() -> Rewrite:
    r"""σ(x)^a σ(-x)^b [σ(x)(e^{L-x} - 1)] → sigmoid_powers(x, a (+1), b[, L]) for a product (or power) of
    such factors of one argument x, the other factors kept: a square (which doubles the error of a rounded
    σ), three or more factors, a root factor, or σ(x)σ(−x) in a term of a sum (where cancellation would
    amplify its error: the focal loss's Hessian), or σ(x)σ(−x) times a co-factor that is not a number (which the
    helper scales in before its powers of two).  Elsewhere σ(x)σ(−x) is left to two sigmoids (3.3 ulp at most
    on dense points), as the Hessian of the logistic loss, which the double-double product would slow."""

    def parts(e: sp.Basic, in_sum: bool) -> tuple[list[sp.Expr], tuple[sp.Expr, int, int, sp.Expr | None]] | None:
        factors = sp.Mul.make_args(e) if isinstance(e, sp.Mul) else (e,) if isinstance(e, sp.Pow) else ()
        found = [(f, _sigmoid_factor(f)) for f in factors]
        found = [(f, p) for f, p in found if p is not None]
        arguments = {p[0] for _, p in found}
        roots = [p[3] for _, p in found if p[3] is not None]
        degree = sum(p[1] + p[2] for _, p in found)
        if len(arguments) != 1 or len(roots) > 1 or degree < 2:
            return None
        x = arguments.pop()
        a, b = sum(p[1] for _, p in found), sum(p[2] for _, p in found)
        # two roundings stay within 3.3 ulp (the logistic loss's Hessian), but not with a co-factor that may be
        # huge: w σ(x)σ(−x) is 0 at x = 1164 where it is 9.8e-235 for w = 3.2e271 (the co-factor path of the helper)
        co_factors = any(not f.is_number for f in factors if _sigmoid_factor(f) is None)
        if (a, b) == (1, 1) and not roots and not in_sum and not co_factors:
            return None
        return [f for f, _ in found], (x, a, b, roots[0] if roots else None)

    def visit(e: sp.Basic, in_sum: bool = False) -> sp.Basic:  # top-down: a product is taken whole first
        found = parts(e, in_sum)
        if found is None:
            return e if e.is_Atom or not e.args else e.func(*(visit(arg, isinstance(e, sp.Add)) for arg in e.args))
        used, (x, a, b, root) = found
        rest = [visit(f) for f in sp.Mul.make_args(e) if f not in used] if isinstance(e, sp.Mul) else []
        return sp.Mul(*rest) * (sigmoid_powers(x, a, b) if root is None else sigmoid_powers(x, a, b, root))

    return visit


def _one_plus(expr: sp.Basic) -> bool:
    """Whether ``expr`` is a power (1 + t)^a: its base a sum holding the term 1, its exponent neither a
    number nor known to be an integer."""
    return (isinstance(expr, sp.Pow) and isinstance(expr.base, sp.Add) and sp.S.One in expr.base.args
            and not expr.exp.is_number and expr.exp.is_integer is not True)


def _pow1p_rewrite(expr: sp.Expr) -> sp.Expr:
    r"""(1 + t)^a → pow1p(t, a) for every such power (see :func:`_one_plus`)."""
    return expr.replace(_one_plus, lambda e: pow1p(e.base - 1, e.exp))


POWERS: tuple[Rule, ...] = (
    Rule("sigmoid_power",
         (claim("sigmoid_power: sigma(a)^c = exp(-c softplus(-a))", sigmoid(a) ** u, sp.exp(-u * softplus(-a))),
          claim("sigmoid_power, for a < 0: softplus(-a) = -a + softplus(a)", softplus(-a), -a + softplus(a)),
          claim("sigmoid_power, the kernel's form for a >= 0: sigma(u)^c = exp(-c log(1 + e^(-u)))",
                sigmoid(u) ** w, sp.exp(-w * sp.log(1 + sp.exp(-u)))),
          claim("sigmoid_power, the kernel's form for a < 0: sigma(-w)^c = exp(-c w) exp(-c log(1 + e^(-w)))",
                sigmoid(-w) ** u, sp.exp(-u * w) * sp.exp(-u * sp.log(1 + sp.exp(-w)))),
          claim("sigmoid_power, the kernel's split of the exponent c = n + f: sigma(a)^c = sigma(a)^n sigma(a)^f",
                sigmoid(a) ** (n + u), sigmoid(a) ** n * sigmoid(a) ** u,
                Scope((var("a", REAL), var("n", NONNEGATIVE), var("u", NONNEGATIVE))))),
         _sigmoid_power_rewrite),
    Rule("sigmoid_powers",
         (claim("sigmoid_powers, x >= 0: sigma(x)^a sigma(-x)^b = exp(-b x)/(1 + exp(-x))^(a + b)",
                sigmoid(a) ** i * sigmoid(-a) ** n, sp.exp(-n * a) / (1 + sp.exp(-a)) ** (i + n), POWERS),
          claim("sigmoid_powers, x < 0: sigma(x)^a sigma(-x)^b = exp(a x)/(1 + exp(x))^(a + b)",
                sigmoid(a) ** i * sigmoid(-a) ** n, sp.exp(i * a) / (1 + sp.exp(a)) ** (i + n), POWERS),
          claim("sigmoid_powers, x < 0 with a root: exp(a x) (exp(L - x) - 1) = exp((a - 1) x) (exp(L) - exp(x))",
                sp.exp(i * a) * (sp.exp(b - a) - 1), sp.exp((i - 1) * a) * (sp.exp(b) - sp.exp(a)), POWERS),
          claim("sigmoid_powers, the reduced exponential: exp(x) = 2^k exp(x - k log 2) (Cody and Waite)",
                sp.exp(a), 2**b * sp.exp(a - b * sp.log(2)))),
         _sigmoid_powers_rewrite(),
         3 * sigmoid(a) ** 2 * sigmoid(-a)),
    Rule("pow1p",
         (claim("pow1p: (1 + x)^a = exp(a log(1 + x)) for x > -1", (1 + x) ** a, sp.exp(a * sp.log(1 + x))),
          claim("pow1p, the reduction 1 + t = 2^b w: log(2^b w) = b log 2 + log(1 + (w - 1))",
                sp.log(2**b * w), b * sp.log(2) + sp.log(1 + (w - 1))),
          claim("pow1p, the series argument: log(1 + x) = log((1 + s)/(1 - s)), s = x/(2 + x)",
                sp.log(1 + x), sp.log((1 + x / (2 + x)) / (1 - x / (2 + x))))),
         _pow1p_rewrite,
         -((1 - x) ** a) * sp.log(x)),
)
