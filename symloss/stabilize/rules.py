r"""Stability rewrites: named rules, each an identity the prover proves, applied by one engine.

A rule replaces a textbook subexpression that loses accuracy in float64 by
an equal expression in the primitives of :mod:`symloss.stabilize.primitives`, whose
kernel implementations do not.  Rules are data (:data:`RULES`): a name a
reader can search for (it is written into the kernel's docstring and the
report), the identity that justifies it as a :class:`~symloss.declare.loss.Claim`,
and the rewrite.  :func:`prove_rules` proves every claim; :func:`stabilize`
applies only rules whose claim was proved.

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
``log1p``                       :math:`\log(1 + x) = \operatorname{log1p}(x)`
``expm1``                       :math:`e^{x} - 1 = \operatorname{expm1}(x)`
``exp_minus_variable``          :math:`e^{a} - t = \operatorname{expm1}(a) - (t - 1)` for a variable t,
                                used where :math:`t - 1` is exact (:math:`\tfrac12 \le t \le 2`)
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
``sigmoid_minus_constant``      :math:`\sigma(a) - q = -(1 - q)\sigma(a)\,\mathrm{expm1}(\mathrm{logit}\,q - a)`
                                for a constant :math:`0 < q < 1`: no cancellation at the root
                                :math:`a = \operatorname{logit} q` (its argument an exact sum:
                                :math:`e^{x + y} - 1 = (e^x - 1) + e^x(e^y - 1)`)
``sigmoid_powers``              :math:`\sigma(x)^a\sigma(-x)^b = e^{-bx}/(1 + e^{-x})^{a+b}
                                = e^{ax}/(1 + e^{x})^{a+b}` (times :math:`e^{L-x} - 1`, a
                                :class:`~symloss.stabilize.primitives.sigmoid_expm1` factor absorbed), one
                                product in double-double arithmetic instead of several rounded factors
``relative_entropy_terms``      :math:`\sum_k p_k\log(p_k/q_k) = \sum_k \operatorname{kl\_div}(p_k, q_k)
                                + \sum_k (p_k - q_k)`, every term of the first sum :math:`\ge 0`, the
                                second compensated
``softmax_max_shifted``         :math:`e^{z_k}/\sum_j e^{z_j} = e^{z_k-m}/\sum_j e^{z_j-m}`
``log_softmax_max_shifted``     :math:`\log\operatorname{softmax}(z)_k = (z_k - m) - \log\sum_j e^{z_j-m}`
``logsumexp_max_shifted``       :math:`\log\sum_j e^{z_j} = m + \log\sum_j e^{z_j-m}`
``softmax_complement``          :math:`1 - \operatorname{softmax}(z)_k` summed from the other classes
``softmax_minus_target``        :math:`s - t = s(1-t) - t(1-s)`, so a confident correct class
                                gives :math:`-(1-s)` computed without cancellation
``softmax_xlogx_ratio``         :math:`p\log p/(1-p)` for :math:`p = \operatorname{softmax}(z)_k` from the
                                max-shifted parts, bounded in :math:`[-1, 0]` at every logit
``sum_over_other_classes``      :math:`c\,(\sum_k f(k) - f(i)) = c \sum_k (1 - \delta_{ki}) f(k)`, summed
                                over the other classes instead of cancelling the own entry
``log_softmax_remainder``       :math:`\log p_k + (1 - p_k) = \log(1+x) - x` at :math:`x = -(1 - p_k)`,
                                a series in :math:`u = x/(2+x)` where :math:`1 - p_k` is small
``sum_over_the_others``         :math:`\sum_j f_j - f_k = \sum_{j<k} f_j + \sum_{j>k} f_j`
==============================  ==============================================================
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sympy as sp

from symloss.declare.functions import sigmoid, softplus
from symloss.declare.loss import Claim, identity
from symloss.declare.notation import NONNEGATIVE, POSITIVE, REAL, REAL_VECTOR, Scope, index, interval, var, vector
from symloss.prove.prover import prove
from symloss.prove.verdict import Verdict
from symloss.stabilize.primitives import (
    ClassAxisPrimitive,
    CompensatedSum,
    LogSoftmax,
    LogSoftmaxRemainder,
    LogSumExp,
    OfExactSumBase,
    OtherClassesSum,
    Softmax,
    SoftmaxComplement,
    SoftmaxXLogXRatio,
    SumOthers,
    exp_minus,
    expand_primitives,
    expm1,
    kl_div,
    log1p,
    logcosh,
    logcosh_of_sum,
    sech2,
    sech2_of_sum,
    sigmoid_expm1,
    sigmoid_pow,
    sigmoid_powers,
    square_of_sum,
    tanh_of_sum,
)

Rewrite = Callable[[sp.Expr], sp.Expr]
MAX_PASSES = 8
CONSTANT_DIGITS = 40


@dataclass(frozen=True)
class Rule:
    """One stability rewrite: its searchable name, the identity behind it, the rewrite itself."""

    name: str
    claims: tuple[Claim, ...]  # each must be proved before the rule may be applied
    rewrite: Rewrite  # one pass over an expression; returns it unchanged where nothing matches
    example: sp.Expr | None = None  # an expression the rewrite changes (default: the first claim's left side)

    @property
    def sample(self) -> sp.Expr:
        """An expression this rule rewrites, for its tests."""
        return self.claims[0].lhs if self.example is None else self.example


@dataclass(frozen=True)
class ProvedRule:
    """A rule with the verdicts of its claims."""

    rule: Rule
    verdicts: tuple[Verdict, ...]

    @property
    def proved(self) -> bool:
        """Every claim proved; a rule with no claim is never proved (it would be applied on no evidence)."""
        return bool(self.verdicts) and all(v.status == "proved" for v in self.verdicts)


@dataclass(frozen=True)
class Stabilized:
    """An expression after the rewrites, and the names of the rules that changed it (in order)."""

    expr: sp.Expr
    rules: tuple[str, ...]


# --------------------------------------------------------------------------- the rules' variables

_a, _x, _r, _t, _m, _b = (var(n, d).symbol for n, d in (("a", REAL), ("x", interval("x > -1", -1)), ("r", REAL),
                                                           ("t", REAL), ("m", REAL), ("b", REAL)))
_s = var("s", interval("(0, 1)", 0, 1)).symbol
_u = var("u", NONNEGATIVE).symbol
_w = var("w", POSITIVE).symbol
_P, _Q, _C = (var(n, POSITIVE).symbol for n in ("P", "Q", "C"))
_K = var("K", interval("K >= 2", 2, low_open=False)).symbol
_k_var, _j_var = index("k"), index("j")
_z_var = vector("z", REAL_VECTOR)
_k, _j, _z = _k_var.symbol, _j_var.symbol, _z_var.symbol
_SCALARS = Scope(tuple(var(n, d) for n, d in (("a", REAL), ("x", interval("x > -1", -1)), ("r", REAL),
                                              ("t", REAL), ("m", REAL), ("b", REAL), ("s", interval("(0, 1)", 0, 1)),
                                              ("u", NONNEGATIVE), ("w", POSITIVE), ("P", POSITIVE), ("Q", POSITIVE),
                                              ("C", POSITIVE))))
_VECTORS = Scope((_z_var, _k_var, _j_var, var("K", interval("K >= 2", 2, low_open=False)), var("m", REAL),
                  var("w", POSITIVE)))
_i, _n = (var(n, NONNEGATIVE).symbol for n in ("i", "n"))  # exponents of sigmoid_powers
_POWERS_OF_A_PROBABILITY = Scope((var("s", interval("(0, 1)", 0, 1)), var("n", NONNEGATIVE), var("w", POSITIVE),
                                  var("t", REAL)))
_POWERS = Scope((var("a", REAL), var("b", REAL), var("i", NONNEGATIVE), var("n", NONNEGATIVE)))
_normalizer = sp.Sum(sp.exp(_z[_j]), (_j, 1, _K))
_shifted = sp.Sum(sp.exp(_z[_j] - _m), (_j, 1, _K))
_p_k = sp.exp(_z[_k]) / _normalizer


def _claim(statement: str, lhs: sp.Expr, rhs: sp.Expr, scope: Scope = _SCALARS) -> Claim:
    return identity(statement, lhs, rhs, scope=scope)


# --------------------------------------------------------------------------- pattern rewrites


def _pattern(lhs: sp.Expr, rhs: sp.Expr, symbols: Sequence[sp.Symbol]) -> Rewrite:
    """A rewrite from an identity: its symbols become wildcards (``Wild``), lhs → rhs."""
    wilds = {s: sp.Wild(f"w_{s.name}") for s in symbols}
    query, value = lhs.xreplace(wilds), rhs.xreplace(wilds)
    return lambda expr: expr.replace(query, value)


def _scalar_rule(name: str, lhs: sp.Expr, rhs: sp.Expr, symbols: Sequence[sp.Symbol]) -> Rule:
    """A rule from an identity between scalars; a sum on the left matches inside larger sums."""
    claim = _claim(f"{name}: {sp.sstr(lhs)} = {sp.sstr(rhs)}", lhs, expand_primitives(rhs))
    return Rule(name, (claim,), _pattern(lhs, rhs, symbols))


def _pattern(lhs: sp.Expr, rhs: sp.Expr, symbols: Sequence[sp.Symbol]) -> Rewrite:
    """lhs → rhs with ``symbols`` as wildcards, matched by structure, never by algebra.

    SymPy's ``match`` would solve ``log(x) = log(1 + w)`` with ``w = x − 1``; here a
    sum on the left must meet a sum holding each of its constant terms literally,
    and its other terms are matched one by one (the sum may hold more terms, which
    are kept).
    """
    wilds = {s: sp.Wild(f"w_{s.name}") for s in symbols}
    query, value = lhs.xreplace(wilds), rhs.xreplace(wilds)

    def matches(expr: sp.Basic) -> dict | None:
        return _structural_match(query, expr)

    def rewrite(expr: sp.Basic) -> sp.Basic:
        found = matches(expr)
        if found is None:
            return expr
        bindings, leftover = found
        return value.xreplace(bindings) + leftover

    return lambda expr: expr.replace(lambda e: matches(e) is not None, rewrite)


def _structural_match(query: sp.Expr, expr: sp.Basic) -> tuple[dict, sp.Expr] | None:
    """(wild bindings, leftover terms of a larger sum) when ``expr`` has the shape of ``query``."""
    if isinstance(query, sp.Add):
        if not isinstance(expr, sp.Add):
            return None
        remaining = list(expr.args)
        bindings: dict = {}
        for term in query.args:
            for candidate in remaining:
                found = _structural_match(term.xreplace(bindings), candidate)
                if found is not None and found[1] == 0:
                    bindings.update(found[0])
                    remaining.remove(candidate)
                    break
            else:
                return None
        return bindings, sp.Add(*remaining)
    if isinstance(query, sp.Wild):
        return {query: expr}, sp.S.Zero
    if not query.has(sp.Wild):
        return ({}, sp.S.Zero) if query == expr else None
    if type(query) is not type(expr) or len(query.args) != len(expr.args):
        return None
    if isinstance(query, sp.Mul):  # a product must match factor by factor; SymPy's match suffices there
        found = expr.match(query)
        return (found, sp.S.Zero) if found is not None and expr == query.xreplace(found) else None
    bindings = {}
    for q, e in zip(query.args, expr.args, strict=True):
        found = _structural_match(q.xreplace(bindings), e)
        if found is None or found[1] != 0:
            return None
        bindings.update(found[0])
    return bindings, sp.S.Zero


# --------------------------------------------------------------------------- class-axis rewrites


def _entry_of(summand: sp.Expr, bound: sp.Symbol, candidate: sp.Expr) -> sp.Symbol | None:
    """The index k with ``summand`` (in the bound index) equal to ``candidate`` at k, if any."""
    for indexed in candidate.atoms(sp.Indexed):
        for k in indexed.indices:
            if isinstance(k, sp.Symbol) and summand.xreplace({bound: k}) == candidate:
                return k
    return None


def _term_of(summand: sp.Expr, bound: sp.Symbol, candidate: sp.Expr) -> sp.Symbol | None:
    """The index k with ``summand`` at k equal to ``candidate`` up to expansion (−(y − 1)p is (1 − y)p)."""
    for indexed in candidate.atoms(sp.Indexed):
        for k in indexed.indices:
            if isinstance(k, sp.Symbol) and sp.expand(summand.xreplace({bound: k}) - candidate) == 0:
                return k
    return None


def _normalizer_parts(factor: sp.Expr) -> tuple[sp.Expr, sp.Symbol, sp.Expr, sp.Expr, int] | None:
    """``factor`` = (Σ_{j=1}^{K} e^{f(j)})^(-n): (f(j), j, K, low, n), else None."""
    if not (factor.is_Pow and factor.exp.is_Integer and factor.exp < 0 and isinstance(factor.base, sp.Sum)):
        return None
    total = factor.base
    if len(total.limits) != 1 or not isinstance(total.function, sp.exp):
        return None
    j, low, high = total.limits[0]
    return total.function.args[0], j, high, low, int(-factor.exp)


def _introduce_softmax(expr: sp.Expr) -> sp.Expr:
    r"""e^{n f(k)} · (Σ_j e^{f(j)})^{-n} → softmax(f)_k^n inside every product."""

    def rewrite(mul: sp.Mul) -> sp.Expr:
        factors = list(mul.args)
        for position, factor in enumerate(factors):
            parts = _normalizer_parts(factor)
            if parts is None or parts[3] != 1:
                continue
            summand, j, count, _, n = parts
            for other, candidate in enumerate(factors):
                if other == position or not isinstance(candidate, sp.exp):
                    continue
                k = _entry_of(summand, j, candidate.args[0] / n)
                if k is None:
                    continue
                rest = [f for p, f in enumerate(factors) if p not in (position, other)]
                return sp.Mul(*rest) * Softmax(candidate.args[0] / n, k, count) ** n
        return mul

    return expr.replace(lambda e: isinstance(e, sp.Mul), rewrite)


def _distribute_normalizer(expr: sp.Expr) -> sp.Expr:
    r"""(Σ_j e^{f(j)} − e^{f(k)} …) · (Σ_j e^{f(j)})^{-1} → 1 − e^{f(k)}/Σ … : a sum divided by a
    normalizer it contains is split, so that the softmax entries inside it become visible."""

    def rewrite(mul: sp.Mul) -> sp.Expr:
        factors = list(mul.args)
        for position, factor in enumerate(factors):
            parts = _normalizer_parts(factor)
            if parts is None:
                continue
            for other, candidate in enumerate(factors):
                if other != position and isinstance(candidate, sp.Add) and factor.base in candidate.args:
                    rest = [f for p, f in enumerate(factors) if p not in (position, other)]
                    split = sp.Add(*(term / factor.base for term in candidate.args))
                    return sp.Mul(*rest, split, factor.base ** (factor.exp + 1))
        return mul

    return expr.replace(lambda e: isinstance(e, sp.Mul), rewrite)


def _softmax_rewrite(expr: sp.Expr) -> sp.Expr:
    return _introduce_softmax(_distribute_normalizer(expr))


def _log_softmax_rewrite(expr: sp.Expr) -> sp.Expr:
    return expr.replace(lambda e: isinstance(e, sp.log) and isinstance(e.args[0], Softmax),
                        lambda e: LogSoftmax(*e.args[0].args))


def _logsumexp_rewrite(expr: sp.Expr) -> sp.Expr:
    def is_log_of_sum(e: sp.Basic) -> bool:
        return (isinstance(e, sp.log) and isinstance(e.args[0], sp.Sum) and len(e.args[0].limits) == 1
                and isinstance(e.args[0].function, sp.exp) and e.args[0].limits[0][1] == 1)

    def rewrite(e: sp.log) -> sp.Expr:
        total = e.args[0]
        k, _, count = total.limits[0]
        return LogSumExp(total.function.args[0], k, count)

    return expr.replace(is_log_of_sum, rewrite)


def _complement_rewrite(expr: sp.Expr) -> sp.Expr:
    r"""1 − softmax(e)_k → SoftmaxComplement(e)_k, also as two terms of a longer sum (the others kept)."""

    def is_complement(e: sp.Basic) -> bool:
        return (isinstance(e, sp.Add) and sp.S.One in e.args
                and any(isinstance(-t, Softmax) for t in e.args if t != 1))

    def rewrite(e: sp.Add) -> sp.Expr:
        term = next(t for t in e.args if t != 1 and isinstance(-t, Softmax))
        return e - 1 - term + SoftmaxComplement(*(-term).args)

    return expr.replace(is_complement, rewrite)


def _minus_target_rewrite(expr: sp.Expr) -> sp.Expr:
    r"""s + r → s(1 + r) + r(1 − s) for a softmax entry s and the rest r of a sum."""

    def is_candidate(e: sp.Basic) -> bool:
        softmaxes = [t for t in e.args if isinstance(t, Softmax)] if isinstance(e, sp.Add) else []
        rest = e - softmaxes[0] if len(softmaxes) == 1 else None
        return rest is not None and rest != 0 and not rest.has(ClassAxisPrimitive) and rest != -1

    def rewrite(e: sp.Add) -> sp.Expr:
        s = next(t for t in e.args if isinstance(t, Softmax))
        rest = e - s
        return s * (1 + rest) + rest * SoftmaxComplement(*s.args)

    return expr.replace(is_candidate, rewrite)


def _xlogx_ratio_rewrite(expr: sp.Expr) -> sp.Expr:
    r"""softmax_k · log softmax_k · (1 − softmax_k)^{-1} → SoftmaxXLogXRatio inside every product."""

    def parts(mul: sp.Mul) -> tuple[sp.Expr, ...] | None:
        factors = mul.args
        for f in factors:
            if isinstance(f, Softmax) and {LogSoftmax(*f.args), SoftmaxComplement(*f.args) ** -1} <= set(factors):
                return f.args
        return None

    def rewrite(mul: sp.Mul) -> sp.Expr:
        args = parts(mul)
        used = (Softmax(*args), LogSoftmax(*args), SoftmaxComplement(*args) ** -1)
        return sp.Mul(*(f for f in mul.args if f not in used)) * SoftmaxXLogXRatio(*args)

    return expr.replace(lambda e: isinstance(e, sp.Mul) and parts(e) is not None, rewrite)


def _other_classes_rewrite(expr: sp.Expr) -> sp.Expr:
    r"""c · (Σ_k f(k) − f(i) + r) → OtherClassesSum(c, f(k), k, K, i) + c · r for a class index i.  A weight
    with a power :math:`b^n` (n ≥ 2) takes one b into the sum, :math:`b^{n-1}\,\mathrm{OtherClassesSum}(b, …)`:
    :math:`p_i^2` of a probability below :math:`10^{-154}` is subnormal before it meets a large sum, while
    :math:`p_i (p_i S)` passes through :math:`p_i S`, between :math:`S` and the result."""

    def split(mul: sp.Mul) -> tuple[sp.Expr, sp.Sum, sp.Symbol, sp.Expr] | None:
        for factor in mul.args:
            if not isinstance(factor, sp.Add):
                continue
            for total in (t for t in factor.args if isinstance(t, sp.Sum) and len(t.limits) == 1):
                k, low, _ = total.limits[0]
                own = [(t, i) for t in factor.args for i in t.free_symbols
                       if low == 1 and i.is_integer and i.is_positive and -t == total.function.xreplace({k: i})]
                if own:
                    return mul / factor, total, own[0][1], factor - total - own[0][0]
        return None

    def rewrite(mul: sp.Mul) -> sp.Expr:
        weight, total, i, rest = split(mul)
        k, _, count = total.limits[0]
        powers = [f for f in sp.Mul.make_args(weight) if f.is_Pow and f.exp.is_Integer and f.exp >= 2]
        inner = powers[0].base if powers else weight
        return weight / inner * OtherClassesSum(inner, total.function, k, count, i) + weight * rest

    return expr.replace(lambda e: isinstance(e, sp.Mul) and split(e) is not None, rewrite)


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


# --------------------------------------------------------------------------- exact sums and cancelling terms


def _float_term(term: sp.Expr) -> bool:
    """A float the kernel holds exactly: an input (scalar or class-vector entry) or its negation."""
    return isinstance(term, sp.Symbol | sp.Indexed) or isinstance(-term, sp.Symbol | sp.Indexed)


def _constant(value: sp.Expr) -> sp.Float:
    """A real constant as a 40-digit float: an atom, which common subexpression elimination leaves
    in place for the printer to split into two floats (its value exact to 2^-130)."""
    return sp.Float(sp.N(value, CONSTANT_DIGITS), CONSTANT_DIGITS)


def exact_terms(argument: sp.Expr) -> tuple[sp.Expr, sp.Expr] | None:
    """``(x, y)`` when ``argument`` is ``x + y`` with ``x`` a float input (or its negation) and ``y``
    another one or a real constant (returned as :func:`_constant`), else None."""
    if not isinstance(argument, sp.Add) or len(argument.args) != 2:
        return None
    x, y = argument.args
    if _float_term(y) and not _float_term(x):
        x, y = y, x
    if _float_term(x) and _float_term(y):
        return x, y
    if _float_term(x) and y.is_number and y.is_extended_real and y.is_finite:
        return x, _constant(y)
    return None


def _of_exact_sum(matches: Callable[[sp.Basic], bool], primitive: type[OfExactSumBase]) -> Rewrite:
    """f(x + y) → primitive(x, y) for each subexpression ``matches`` accepts whose only argument (the
    base, for a power) is an exact two-term sum."""

    def argument(e: sp.Basic) -> sp.Expr:
        return e.base if isinstance(e, sp.Pow) else e.args[0]

    def is_candidate(e: sp.Basic) -> bool:
        return matches(e) and exact_terms(argument(e)) is not None

    return lambda expr: expr.replace(is_candidate, lambda e: primitive(*exact_terms(argument(e))))


def _sigmoid_minus_constant_rewrite(expr: sp.Expr) -> sp.Expr:
    r"""c·σ(a) + d → −(c + d)·σ(a)·expm1(logit(q) − a) with q = −d/c in (0, 1), for two terms of a sum
    (:class:`~symloss.stabilize.primitives.sigmoid_expm1`: logit q − a an exact sum, so that it vanishes
    where σ(a) = q)."""

    def pair(add: sp.Add) -> tuple[sp.Expr, sp.Expr, sp.Expr] | None:
        constants = [t for t in add.args if t.is_number]
        for term in add.args:
            factors = sp.Mul.make_args(term)
            sigmoids = [f for f in factors if isinstance(f, sigmoid)]
            scale = term / sigmoids[0] if len(sigmoids) == 1 else None
            if scale is None or not scale.is_number or not scale.is_nonzero or len(constants) != 1:
                continue
            q = -constants[0] / scale
            if q.is_positive and (1 - q).is_positive:
                return term, constants[0], sigmoids[0]
        return None

    def rewrite(add: sp.Add) -> sp.Expr:
        term, constant, s = pair(add)
        scale = term / s
        q = -constant / scale
        rest = sp.Add(*(t for t in add.args if t not in (term, constant)))
        return rest - scale * (1 - q) * sigmoid_expm1(s.args[0], _constant(sp.log(q / (1 - q))))

    return expr.replace(lambda e: isinstance(e, sp.Add) and pair(e) is not None, rewrite)


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
    amplify its error: the focal loss's Hessian).  Elsewhere σ(x)σ(−x) is left to two sigmoids (3.3 ulp at
    most on dense points), as the Hessian of the logistic loss, which the double-double product would slow."""

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
        if (a, b) == (1, 1) and not roots and not in_sum:  # two roundings stay within 3.3 ulp (bce's Hessian)
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


def _relative_entropy_rewrite(expr: sp.Expr) -> sp.Expr:
    r"""Σ_k p_k log(p_k/q_k) → Σ_k kl_div(p_k, q_k) + Σ_k (p_k − q_k), the last sum compensated."""
    p, q = sp.Wild("p"), sp.Wild("q")

    def parts(total: sp.Basic) -> tuple[sp.Expr, sp.Expr] | None:
        if not isinstance(total, sp.Sum) or isinstance(total, CompensatedSum) or len(total.limits) != 1:
            return None
        found = total.function.match(p * sp.log(p / q))
        if found is None or total.function != found[p] * sp.log(found[p] / found[q]):
            return None
        return found[p], found[q]

    def rewrite(total: sp.Sum) -> sp.Expr:
        pk, qk = parts(total)
        return sp.Sum(kl_div(pk, qk), *total.limits) + CompensatedSum(pk - qk, *total.limits)

    return expr.replace(lambda e: parts(e) is not None, rewrite)


def _sigmoid_power_rewrite(expr: sp.Expr) -> sp.Expr:
    r"""σ(a)^c → sigmoid_pow(a, c) where the exponent c is not a number (numeric powers stay products)."""
    return expr.replace(lambda e: isinstance(e, sp.Pow) and isinstance(e.base, sigmoid) and not e.exp.is_number,
                        lambda e: sigmoid_pow(e.base.args[0], e.exp))


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


def _exp_minus_rewrite(expr: sp.Expr) -> sp.Expr:
    r"""e^a − t → exp_minus(a, t) for a variable t (a symbol), inside any sum."""
    query = sp.exp(sp.Wild("w_a")) - sp.Wild("w_t", properties=[lambda e: isinstance(e, sp.Symbol)])

    def rewrite(e: sp.Add) -> sp.Expr:
        bindings, leftover = _structural_match(query, e)
        found = {w.name: v for w, v in bindings.items()}
        return exp_minus(found["w_a"], found["w_t"]) + leftover

    return expr.replace(lambda e: _structural_match(query, e) is not None, rewrite)


def _remainder_rewrite(expr: sp.Expr) -> sp.Expr:
    r"""LogSoftmax(e)_k + SoftmaxComplement(e)_k (or + 1 − Softmax(e)_k) → LogSoftmaxRemainder(e)_k,
    the other terms of the sum kept."""

    def parts(add: sp.Basic) -> tuple[sp.Expr, tuple[sp.Expr, ...]] | None:
        if not isinstance(add, sp.Add):
            return None
        for log_term in add.args:
            if not isinstance(log_term, LogSoftmax):
                continue
            complement = SoftmaxComplement(*log_term.args)
            if complement in add.args:
                return add - log_term - complement, log_term.args
            if sp.S.One in add.args and -Softmax(*log_term.args) in add.args:
                return add - log_term - 1 + Softmax(*log_term.args), log_term.args
        return None

    def rewrite(add: sp.Add) -> sp.Expr:
        rest, args = parts(add)
        return rest + LogSoftmaxRemainder(*args)

    return expr.replace(lambda e: parts(e) is not None, rewrite)


def _bennett_series_form(x: sp.Expr) -> sp.Expr:
    """(1 + s) log((1 + s)/(1 - s)) − 2s over 1 − s, s = x/(2 + x): Bennett's function in the variable
    of the atanh series log((1 + s)/(1 − s)) = 2(s + s³/3 + s⁵/5 + …)."""
    s = x / (2 + x)
    return ((1 + s) * sp.log((1 + s) / (1 - s)) - 2 * s) / (1 - s)


_tanh_x, _tanh_b = sp.tanh(_a), sp.tanh(_b)
_eps = _tanh_x * _tanh_b
_sech2_correction = -(_tanh_b**2 + _eps * (2 + _eps)) / (1 + _eps) ** 2


def _others_rewrite(expr: sp.Expr) -> sp.Expr:
    r"""c Σ_{j=1}^{K} f(j) − c f(k) → c SumOthers(f(k), k, K) for two terms of one sum (the others kept)."""

    def parts(add: sp.Basic) -> tuple[sp.Expr, sp.Expr] | None:
        if not isinstance(add, sp.Add):
            return None
        for scaled in add.args:
            scale, total = scaled.as_independent(sp.Sum, as_Add=False)
            if not isinstance(total, sp.Sum) or len(total.limits) != 1 or total.limits[0][1] != 1:
                continue
            j, _, count = total.limits[0]
            for term in add.args:
                k = _term_of(total.function, j, -term / scale) if term is not scaled else None
                if k is not None:
                    return add - scaled - term, scale * SumOthers(total.function.xreplace({j: k}), k, count)
        return None

    def rewrite(add: sp.Add) -> sp.Expr:
        rest, others = parts(add)
        return rest + others

    return expr.replace(lambda e: parts(e) is not None, rewrite)


# --------------------------------------------------------------------------- the rule list

RULES: tuple[Rule, ...] = (
    _scalar_rule("log_sigmoid_to_softplus", sp.log(sigmoid(_a)), -softplus(-_a), [_a]),
    _scalar_rule("log1m_sigmoid_to_softplus", sp.log(1 - sigmoid(_a)), -softplus(_a), [_a]),
    _scalar_rule("one_minus_sigmoid", 1 - sigmoid(_a), sigmoid(-_a), [_a]),
    _scalar_rule("sigmoid_minus_one", sigmoid(_a) - 1, -sigmoid(-_a), [_a]),
    Rule("scaled_one_minus_sigmoid",
         (_claim("scaled_one_minus_sigmoid: c - c sigma(a) = c sigma(-a)", _t - _t * sigmoid(_a), _t * sigmoid(-_a)),),
         _scaled_complement_rewrite),
    Rule("sigmoid_power",
         (_claim("sigmoid_power: sigma(a)^c = exp(-c softplus(-a))", sigmoid(_a) ** _u, sp.exp(-_u * softplus(-_a))),
          _claim("sigmoid_power, for a < 0: softplus(-a) = -a + softplus(a)", softplus(-_a), -_a + softplus(_a)),
          _claim("sigmoid_power, the kernel's form for a >= 0: sigma(u)^c = exp(-c log(1 + e^(-u)))",
                 sigmoid(_u) ** _w, sp.exp(-_w * sp.log(1 + sp.exp(-_u)))),
          _claim("sigmoid_power, the kernel's form for a < 0: sigma(-w)^c = exp(-c w) exp(-c log(1 + e^(-w)))",
                 sigmoid(-_w) ** _u, sp.exp(-_u * _w) * sp.exp(-_u * sp.log(1 + sp.exp(-_w)))),
          _claim("sigmoid_power, the kernel's split of the exponent c = n + f: sigma(a)^c = sigma(a)^n sigma(a)^f",
                 sigmoid(_a) ** (_n + _u), sigmoid(_a) ** _n * sigmoid(_a) ** _u,
                 Scope((var("a", REAL), var("n", NONNEGATIVE), var("u", NONNEGATIVE))))),
         _sigmoid_power_rewrite),
    Rule("softplus_tail",
         (_claim("softplus_tail for x = u >= 0: softplus(u) - max(u, 0) = softplus(u) - u = log(1 + e^(-u))",
                 softplus(_u) - _u, sp.log(1 + sp.exp(-_u))),
          _claim("softplus_tail for x = -u <= 0: softplus(-u) - max(-u, 0) = softplus(-u) = log(1 + e^(-u))",
                 softplus(-_u), sp.log(1 + sp.exp(-_u)))),
         _softplus_tail_rewrite, softplus(_a) - sp.Max(_a, 0)),
    _scalar_rule("log1p", sp.log(1 + _x), log1p(_x), [_x]),
    _scalar_rule("expm1", sp.exp(_a) - 1, expm1(_a), [_a]),
    Rule("exp_minus_variable",
         (_claim("exp_minus_variable: e^a - t = expm1(a) - (t - 1)", sp.exp(_a) - _t,
                 expand_primitives(expm1(_a) - (_t - 1))),),
         _exp_minus_rewrite),
    Rule("logcosh",
         (_claim("logcosh_near_zero: log cosh r = log(1 + 2 sinh(r/2)^2)", sp.log(sp.cosh(_r)),
                 sp.log(1 + 2 * sp.sinh(_r / 2) ** 2)),
          _claim("logcosh_is_even: log cosh(-r) = log cosh(r)", sp.log(sp.cosh(-_r)), sp.log(sp.cosh(_r))),
          _claim("logcosh_far_from_zero, step 1: log cosh u = log(e^u (1 + e^(-2u)) / 2)",
                 sp.log(sp.cosh(_u)), sp.log(sp.exp(_u) * (1 + sp.exp(-2 * _u)) / 2)),
          _claim("logcosh_far_from_zero, step 2: log(e^u w / 2) = u + log w - log 2 for w = 1 + e^(-2u) > 0",
                 sp.log(sp.exp(_u) * _w / 2), _u + sp.log(_w) - sp.log(2))),
         _pattern(sp.log(sp.cosh(_r)), logcosh(_r), [_r])),
    _scalar_rule("one_minus_tanh_squared", 1 - sp.tanh(_a) ** 2, 1 / sp.cosh(_a) ** 2, [_a]),
    Rule("sech2",
         (_claim("sech2_near_zero: 1/cosh(a)^2 = 1 - tanh(a)^2", 1 / sp.cosh(_a) ** 2, 1 - sp.tanh(_a) ** 2),
          _claim("sech2_is_even: 1/cosh(-a)^2 = 1/cosh(a)^2", 1 / sp.cosh(-_a) ** 2, 1 / sp.cosh(_a) ** 2),
          _claim("sech2_far_from_zero: 1/cosh(u)^2 = 4e/(1 + e(2 + e)) with e = exp(-2u)", 1 / sp.cosh(_u) ** 2,
                 4 * sp.exp(-2 * _u) / (1 + sp.exp(-2 * _u) * (2 + sp.exp(-2 * _u))))),
         _pattern(1 / sp.cosh(_a) ** 2, sech2(_a), [_a])),
    Rule("logcosh_of_exact_sum",
         (_claim("logcosh_of_exact_sum, step 1: cosh(x + y) = cosh x cosh y (1 + tanh x tanh y)",
                 sp.cosh(_a + _b), sp.cosh(_a) * sp.cosh(_b) * (1 + _eps)),
          _claim("logcosh_of_exact_sum, step 2: log(A B C) = log A + log B + log C for A, B, C > 0 (C = 1 + tanh x "
                 "tanh y = cosh(x + y)/(cosh x cosh y) > 0 by step 1)",
                 sp.log(_P * _Q * _C), sp.log(_P) + sp.log(_Q) + sp.log(_C))),
         _of_exact_sum(lambda e: isinstance(e, logcosh), logcosh_of_sum),
         logcosh(_a - _b)),
    Rule("tanh_of_exact_sum",
         (_claim("tanh_of_exact_sum: tanh(x + y) = tanh x + tanh y (1 - tanh(x)^2)/(1 + tanh x tanh y)",
                 sp.tanh(_a + _b), _tanh_x + _tanh_b * (1 - _tanh_x**2) / (1 + _eps)),),
         _of_exact_sum(lambda e: isinstance(e, sp.tanh), tanh_of_sum),
         sp.tanh(_a - _b)),
    Rule("sech2_of_exact_sum",
         (_claim("sech2_of_exact_sum: sech(x + y)^2 = sech(x)^2 (1 + c), c = -(tanh(y)^2 + e (2 + e))/(1 + e)^2, "
                 "e = tanh x tanh y", 1 / sp.cosh(_a + _b) ** 2, (1 + _sech2_correction) / sp.cosh(_a) ** 2),),
         _of_exact_sum(lambda e: isinstance(e, sech2), sech2_of_sum),
         sech2(_a - _b)),
    Rule("square_of_exact_sum",
         (_claim("square_of_exact_sum: (x + y)^2 = x^2 + y (2x + y)", (_a + _b) ** 2, _a**2 + _b * (2 * _a + _b)),),
         _of_exact_sum(lambda e: isinstance(e, sp.Pow) and e.exp == 2, square_of_sum),
         (_a - _b) ** 2),
    Rule("sigmoid_minus_constant",
         (_claim("sigmoid_minus_constant: sigma(a) - q = -(1 - q) sigma(a) expm1(log(q/(1 - q)) - a), 0 < q < 1",
                 sigmoid(_a) - _s, -(1 - _s) * sigmoid(_a) * (sp.exp(sp.log(_s / (1 - _s)) - _a) - 1)),
          _claim("sigmoid_minus_constant, expm1 of the exact sum: exp(x + y) - 1 = (exp(x) - 1) + exp(x) (exp(y) - 1)",
                 sp.exp(_a + _b) - 1, (sp.exp(_a) - 1) + sp.exp(_a) * (sp.exp(_b) - 1)),
          _claim("sigmoid_minus_constant, below the root: sigma(a) (exp(L - a) - 1) = (exp(L) - exp(a))/(1 + exp(a))",
                 sigmoid(_a) * (sp.exp(_b - _a) - 1), (sp.exp(_b) - sp.exp(_a)) / (1 + sp.exp(_a)))),
         _sigmoid_minus_constant_rewrite,
         3 * sigmoid(_a) - 2),
    Rule("sigmoid_powers",
         (_claim("sigmoid_powers, x >= 0: sigma(x)^a sigma(-x)^b = exp(-b x)/(1 + exp(-x))^(a + b)",
                 sigmoid(_a) ** _i * sigmoid(-_a) ** _n, sp.exp(-_n * _a) / (1 + sp.exp(-_a)) ** (_i + _n), _POWERS),
          _claim("sigmoid_powers, x < 0: sigma(x)^a sigma(-x)^b = exp(a x)/(1 + exp(x))^(a + b)",
                 sigmoid(_a) ** _i * sigmoid(-_a) ** _n, sp.exp(_i * _a) / (1 + sp.exp(_a)) ** (_i + _n), _POWERS),
          _claim("sigmoid_powers, x < 0 with a root: exp(a x) (exp(L - x) - 1) = exp((a - 1) x) (exp(L) - exp(x))",
                 sp.exp(_i * _a) * (sp.exp(_b - _a) - 1), sp.exp((_i - 1) * _a) * (sp.exp(_b) - sp.exp(_a)), _POWERS),
          _claim("sigmoid_powers, the reduced exponential: exp(x) = 2^k exp(x - k log 2) (Cody and Waite)",
                 sp.exp(_a), 2**_b * sp.exp(_a - _b * sp.log(2)))),
         _sigmoid_powers_rewrite(),
         3 * sigmoid(_a) ** 2 * sigmoid(-_a)),
    Rule("relative_entropy_terms",
         (_claim("relative_entropy_terms: p log(p/q) = (p log(p/q) - p + q) + (p - q), summed term by term",
                 _P * sp.log(_P / _Q), expand_primitives(kl_div(_P, _Q)) + (_P - _Q)),
          _claim("relative_entropy_terms, kl_div: p log(p/q) - p + q = q h((p - q)/q), h(x) = (1 + x) log(1 + x) - x",
                 expand_primitives(kl_div(_P, _Q)), _Q * ((_P / _Q) * sp.log(_P / _Q) - (_P - _Q) / _Q)),
          _claim("relative_entropy_terms, Bennett's h in s = x/(2 + x): (1 + x) log(1 + x) - x = "
                 "((1 + s) log((1 + s)/(1 - s)) - 2s)/(1 - s)", (1 + _x) * sp.log(1 + _x) - _x,
                 _bennett_series_form(_x))),
         _relative_entropy_rewrite,
         sp.Sum(_z[_k] * sp.log(_z[_k] / _m), (_k, 1, _K))),
    Rule("softmax_max_shifted",
         (_claim("softmax_max_shifted", sp.exp(_z[_k]) / _normalizer, sp.exp(_z[_k] - _m) / _shifted, _VECTORS),),
         _softmax_rewrite),
    Rule("log_softmax_max_shifted",
         (_claim("log_softmax_max_shifted", sp.log(sp.exp(_z[_k]) / _normalizer), _z[_k] - _m - sp.log(_shifted),
                 _VECTORS),),
         _log_softmax_rewrite, sp.log(Softmax(_z[_k], _k, _K))),
    Rule("logsumexp_max_shifted",
         (_claim("logsumexp_max_shifted", sp.log(_normalizer), _m + sp.log(_shifted), _VECTORS),),
         _logsumexp_rewrite),
    Rule("softmax_complement",
         (_claim("softmax_complement: 1 - softmax(z)_k = sum over j != k of exp(z_j) / sum_j exp(z_j)",
                 1 - sp.exp(_z[_k]) / _normalizer,
                 sp.Sum((1 - sp.KroneckerDelta(_j, _k)) * sp.exp(_z[_j]), (_j, 1, _K)) / _normalizer, _VECTORS),),
         _complement_rewrite, 1 - Softmax(_z[_k], _k, _K)),
    Rule("log_softmax_remainder",
         (_claim("log_softmax_remainder: log softmax(z)_k + 1 - softmax(z)_k is the textbook of the primitive",
                 sp.log(sp.exp(_z[_k]) / _normalizer) + 1 - sp.exp(_z[_k]) / _normalizer,
                 expand_primitives(LogSoftmaxRemainder(_z[_k], _k, _K)), _VECTORS),
          _claim("log_softmax_remainder, its series: log(1 + x) = log((1 + u)/(1 - u)) for u = x/(2 + x)",
                 sp.log(1 + _x), sp.log((1 + _x / (2 + _x)) / (1 - _x / (2 + _x)))),
          _claim("log_softmax_remainder, its leading term: 2u - x = -x^2/(2 + x) for u = x/(2 + x)",
                 2 * _x / (2 + _x) - _x, -(_x**2) / (2 + _x))),
         _remainder_rewrite, LogSoftmax(_z[_k], _k, _K) + 1 - Softmax(_z[_k], _k, _K)),
    # before sum_over_the_others: a weighted sum over the other classes keeps its weight's zeros (0, not 0·inf)
    Rule("sum_over_other_classes",
         (_claim("sum_over_other_classes: w (sum_k z_k - z_j) = w sum_k (1 - delta_kj) z_k",
                 _w * (sp.Sum(_z[_k], (_k, 1, _K)) - _z[_j]),
                 _w * sp.Sum((1 - sp.KroneckerDelta(_k, _j)) * _z[_k], (_k, 1, _K)), _VECTORS),
          _claim("sum_over_other_classes, one factor of the weight inside: (b^n w) S = b^(n-1) w ((b) S)",
                 _s**_n * _w * _t, _s**(_n - 1) * _w * (_s * _t), _POWERS_OF_A_PROBABILITY)),
         _other_classes_rewrite),
    Rule("sum_over_the_others",
         (_claim("sum_over_the_others: sum_j f_j - f_k = sum_{j<k} f_j + sum_{j>k} f_j",
                 sp.Sum(sp.exp(_z[_j]), (_j, 1, _K)) - sp.exp(_z[_k]),
                 sp.Sum(sp.exp(_z[_j]), (_j, 1, _k - 1)) + sp.Sum(sp.exp(_z[_j]), (_j, _k + 1, _K)), _VECTORS),),
         _others_rewrite),
    Rule("softmax_minus_target",
         (_claim("softmax_minus_target: s - t = s(1 - t) - t(1 - s)", _s - _t, _s * (1 - _t) - _t * (1 - _s)),),
         _minus_target_rewrite, Softmax(_z[_k], _k, _K) - _t),
    Rule("softmax_xlogx_ratio",
         (_claim("softmax_xlogx_ratio: p log p / (1 - p) = x (z_k - m - log sum_j x_j) / (sum_j x_j - x), "
                 "p = softmax(z)_k, x_j = exp(z_j - m)",
                 _p_k * sp.log(_p_k) / (1 - _p_k),
                 sp.exp(_z[_k] - _m) * (_z[_k] - _m - sp.log(_shifted)) / (_shifted - sp.exp(_z[_k] - _m)),
                 _VECTORS),),
         _xlogx_ratio_rewrite,
         Softmax(_z[_k], _k, _K) * LogSoftmax(_z[_k], _k, _K) / SoftmaxComplement(_z[_k], _k, _K)),
)


def prove_rules(rules: Sequence[Rule] = RULES, *, budget: float = 20.0) -> tuple[ProvedRule, ...]:
    """Every rule with the prover's verdicts on its claims."""
    return tuple(ProvedRule(rule, tuple(prove(claim, budget=budget) for claim in rule.claims)) for rule in rules)


def stabilize(expr: sp.Expr, rules: Sequence[ProvedRule]) -> Stabilized:
    """``expr`` with the proved rules applied, in order, until nothing changes."""
    applied: list[str] = []
    for _ in range(MAX_PASSES):
        before = expr
        for proved in rules:
            if not proved.proved:
                continue
            rewritten = proved.rule.rewrite(expr)
            if rewritten != expr:
                expr = rewritten
                if proved.rule.name not in applied:
                    applied.append(proved.rule.name)
        if expr == before:
            break
    return Stabilized(expr, tuple(applied))
