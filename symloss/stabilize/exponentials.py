r"""Stability rules of exponentials whose textbook form overflows although the result does not
(Blanchard, Higham and Higham 2021 for the shifted log-sum-exp): the log of a positive constant plus
an exponential as a shifted log-sum-exp, and a power of an exponential over a power of a positive
constant plus that exponential with numerator and denominator divided by the larger of 1 and that
exponential.  None names a loss; "constant" means any expression SymPy knows is positive that holds no
exponential (a number, or a positive hyper-parameter such as a dispersion).

SymPy merges a product of exponentials of multiples of one term by itself
(:math:`e^{z} e^{-2z} \to e^{-z}`), not of unrelated exponents (:math:`e^{x} e^{y}` stays); these rules
take the overflow out of the sums and quotients that an exponential meets.

``exp_near_one``: :math:`A + B e^{a} = (A + B) + B\operatorname{expm1}(a)` for float inputs A and B (or their
negations), used where :math:`|a| < 1/2` (:data:`NEAR_ONE`), the textbook form elsewhere (both branches exact
identities).  Where :math:`A \approx -B` and a is small (:math:`z + y e^{-z}` at :math:`z = -y = -10^{-8}`) the
textbook sum cancels :math:`B e^a`, rounded, against A and keeps only :math:`B e^a`'s absolute accuracy; split,
A + B is exact where they cancel (Sterbenz) and :math:`B\operatorname{expm1}(a)` accurate to its own magnitude.
In the regime :math:`e^a \in [0.61, 1.65]`, so the split's rounding errors, at most
:math:`\varepsilon(|A + B| + |B\operatorname{expm1}(a)|)`, are within a factor 3 of the textbook sum's
:math:`\varepsilon(|A| + |B e^a|)` wherever neither cancels."""

from __future__ import annotations

from collections.abc import Callable

import sympy as sp

from symloss.stabilize.engine import Rewrite, Rule, terms_replaced
from symloss.stabilize.exact_sums import exact_terms
from symloss.stabilize.identities import C, a, claim, r, t, u, w
from symloss.stabilize.primitive_base import Primitive
from symloss.stabilize.primitives import exp_minus, expand_primitives, expm1, exprel, log1p, quotient_of_sum


def _top_down(matches: Callable[[sp.Basic], bool], rewrite: Callable[[sp.Basic], sp.Basic], *,
              factors_alone: bool = True) -> Rewrite:
    """A rewrite of the outermost subexpressions that match (a product is seen before its factors);
    without ``factors_alone`` a factor of a product that does not match is not matched by itself either
    (a quotient's denominator is rewritten with its numerator or not at all)."""

    def walk(expr: sp.Basic, in_product: bool = False) -> sp.Basic:
        if (factors_alone or not in_product) and matches(expr):
            return rewrite(expr)
        if not expr.args:
            return expr
        args = tuple(walk(arg, isinstance(expr, sp.Mul)) for arg in expr.args)
        return expr if args == expr.args else expr.func(*args)

    return walk


def _constant_plus_exp(expr: sp.Basic) -> tuple[sp.Expr, sp.Expr] | None:
    """(c, a) where ``expr`` is the sum c + e^a of one exponential and a positive rest c free of
    exponentials."""
    if not isinstance(expr, sp.Add):
        return None
    exps = [term for term in expr.args if isinstance(term, sp.exp)]
    if len(exps) != 1:
        return None
    rest = expr - exps[0]
    if rest.has(sp.exp) or not rest.is_positive:
        return None
    return rest, exps[0].args[0]


# ----------------------------------------------------------------------- log(c + e^a) as log-sum-exp


def _shifted_log_sum_exp(c: sp.Expr, a_: sp.Expr) -> sp.Expr:
    r""":math:`\log(1 + e^a) = \max(a, 0) + \operatorname{log1p}(e^{-|a|})`: the larger exponent taken out exactly,
    the rest in :math:`(0, \log 2]`.  For :math:`c \ne 1`, whose :math:`\log c` is rounded (an absolute error
    :math:`|\log c|\,2^{-53}` that an exponential of :math:`a - \log c` would make hundreds of ulp of a tail
    :math:`c\,e^{-a}` at :math:`c = 10^{-140}`), the tail is a product of an exponential of an input and c, rounded
    once: :math:`a + \operatorname{log1p}(c\,e^{-a})` where :math:`a \ge \log c`, else
    :math:`\log c + \operatorname{log1p}(e^a/c)` (each log1p's argument in :math:`(0, 1]`)."""
    if c == 1:
        return sp.Max(a_, 0) + log1p(sp.exp(-sp.Abs(a_)))
    return sp.Piecewise((a_ + log1p(c * sp.exp(-a_)), a_ >= sp.log(c)), (sp.log(c) + log1p(sp.exp(a_) / c), True))


def _log_sum(expr: sp.Basic) -> tuple[sp.Expr, sp.Expr] | None:
    """(c, a) where ``expr`` is log(c + e^a) or log1p(e^a) (c = 1), unless a <= log c is known (the
    sum cannot overflow: the rewrite's own log1p(e^{-|a - log c|}) is such a term)."""
    parts = None
    if isinstance(expr, sp.log):
        parts = _constant_plus_exp(expr.args[0])
    elif isinstance(expr, log1p) and isinstance(expr.args[0], sp.exp):
        parts = sp.S.One, expr.args[0].args[0]
    if parts is None or (parts[1] - sp.log(parts[0])).is_nonpositive:
        return None
    return parts


LOG_OF_CONSTANT_PLUS_EXP = Rule(
    "log_of_constant_plus_exp",
    (claim("log_of_constant_plus_exp, c = 1, a = u >= 0 (a = -u: the form itself): log(1 + e^a) = a + log(1 + e^-a)",
           sp.log(1 + sp.exp(u)), u + sp.log(1 + sp.exp(-u))),
     claim("log_of_constant_plus_exp, a >= log C: log(C + e^a) = a + log(1 + C e^(-a))",
           sp.log(C + sp.exp(a)), a + sp.log(1 + C * sp.exp(-a))),
     claim("log_of_constant_plus_exp, a < log C: log(C + e^a) = log C + log(1 + e^a/C)",
           sp.log(C + sp.exp(a)), sp.log(C) + sp.log(1 + sp.exp(a) / C))),
    _top_down(lambda e: _log_sum(e) is not None, lambda e: _shifted_log_sum_exp(*_log_sum(e))),
    sp.log(C + sp.exp(a)),
)

# ---------------------------------------------- K log(c + e^a) - k a with k a summand of K: k log(1 + c e^-a)


def _log_sum_term(term: sp.Expr) -> tuple[sp.Expr, sp.Expr, sp.Expr, sp.Expr] | None:
    """(K, the log factor, c, a) where ``term`` is K log(c + e^a) with c free of exponentials and positive."""
    logs = [f for f in sp.Mul.make_args(term) if isinstance(f, sp.log) and _constant_plus_exp(f.args[0])]
    if len(logs) != 1:
        return None
    return term / logs[0], logs[0], *_constant_plus_exp(logs[0].args[0])


TAIL_FAR = 700  # log c - a beyond which c e^{-a} may overflow: log1p of it is taken as (log c - a) + log1p(e^a/c)


class times_log1p_exp(Primitive):  # noqa: N801 - named like the other primitives
    r""":math:`k\log(1 + c e^{-a})` for c > 0 with :math:`x = c e^{-a}` a scaled exponential (rounded once) and,
    where x is below :math:`2^{-1000}` (it may be subnormal), k taken into the scaled exponential before it rounds:
    :math:`k x/\operatorname{exprel}(\operatorname{log1p}(x))` (:math:`\log(1 + x) = x/\operatorname{exprel}(\log(1 +
    x))`; the exprel of a tiny log1p is 1 to the last bit, so that x's rounding to a subnormal does not reach the
    result): :math:`y\log(1 + \theta e^{-z})` at :math:`\theta = 7.5\cdot 10^{-317}`, :math:`y = 8\cdot 10^9` is
    :math:`6\cdot 10^{-307}` to the ulp, not y times a subnormal rounded to :math:`3\cdot 10^{-8}`; 0 where k is 0."""

    regime_call = "times_log1p_exp(k, c, a)"
    regimes = (
        ("c e^-a < 2**-1000", "(k c e^-a)/exprel(log1p(c e^-a)), k c e^-a one scaled exponential"),
        ("otherwise", "k log1p(c e^-a), 0 where k = 0"),
    )

    nargs = 3

    def textbook(self) -> sp.Expr:
        k, c, a_ = self.args
        return k * sp.log(1 + c * sp.exp(-a_))

    def _eval_is_extended_real(self) -> bool | None:
        k, c, a_ = self.args
        return True if k.is_extended_real and c.is_positive and a_.is_extended_real else None

    def _numpycode(self, printer: sp.printing.numpy.NumPyPrinter) -> str:
        return f"_times_log1p_exp({', '.join(printer._print(arg) for arg in self.args)})"


def log1p_of_exp_scaled(c: sp.Expr, a_: sp.Expr, k: sp.Expr = sp.S.One) -> sp.Expr:
    r""":math:`k\log(1 + c e^{-a})` for c > 0: :math:`\operatorname{times\_log1p\_exp}(k, c, a)` where
    :math:`\log c - a < 700` (:data:`TAIL_FAR`; :math:`c e^{-a}` a product of an exponential and its co-factor,
    rounded once: no :math:`\log c` rounded into an exponent, whose absolute error :math:`|\log c|\,2^{-53}` the
    exponential would turn into hundreds of ulp at :math:`c = 10^{-260}`; k taken into it where it is tiny), else
    :math:`k((\log c - a) + \operatorname{log1p}(e^{a}/c))`, where :math:`c e^{-a}` may overflow and
    :math:`\log c - a \ge 700` keeps the relative accuracy of its terms; for c = 1, :math:`k(\max(-a, 0) +
    \operatorname{log1p}(e^{-|a|}))` (:func:`_shifted_log_sum_exp`)."""
    if c == 1:  # log 1 exact: the shifted log-sum-exp of -a
        return k * _shifted_log_sum_exp(c, -a_)
    return sp.Piecewise((times_log1p_exp(k, c, a_), sp.log(c) - a_ < TAIL_FAR),
                        (k * (sp.log(c) - a_ + log1p(sp.exp(a_) / c)), True))


def _exponent_taken(add: sp.Basic) -> tuple[tuple[sp.Expr, sp.Expr], sp.Expr] | None:
    r"""(the terms :math:`K\log(c + e^a)` and :math:`-k a` of the sum ``add``, their replacement
    :math:`(K - k)\log(c + e^a) + k\log(1 + c e^{-a})` (:func:`log1p_of_exp_scaled`)), where k is K or a sum of
    some of K's terms (so that K - k is the others: no new cancellation) free of a's variables; None where the sum
    holds no such pair.  :math:`(y + \theta)\log(\theta + e^z) - yz` cancels :math:`yz` out of
    :math:`y\log(\theta + e^z)` (no correct digit at :math:`z = 10^{10}`, :math:`y = 10^9`, inf - inf at
    :math:`z = 1.8\cdot 10^{308}`); :math:`\theta\log(\theta + e^z) + y\log(1 + \theta e^{-z})` is a sum of a
    term at least :math:`\theta\log\theta \ge -1/e` and a nonnegative one."""
    if not isinstance(add, sp.Add):
        return None
    for term in add.args:
        found = _log_sum_term(term)
        if found is None:
            continue
        weight, log, c, a_ = found
        weights = set(sp.Add.make_args(sp.expand(weight)))
        for other in add.args:
            k = sp.expand(-other / a_)
            if other is term or k.has(*a_.free_symbols) or not set(sp.Add.make_args(k)) <= weights:
                continue
            return (term, other), (weight - k) * log + log1p_of_exp_scaled(c, a_, k)
    return None


LOG_SUM_MINUS_EXPONENT = Rule(
    "log_sum_minus_exponent",
    (claim("log_sum_minus_exponent: log(C + e^a) - a = log(1 + C e^(-a))",
           sp.log(C + sp.exp(a)) - a, sp.log(1 + C * sp.exp(-a))),
     claim("log_sum_minus_exponent, far: log(1 + C e^(-a)) = (log C - a) + log(1 + e^a/C)",
           sp.log(1 + C * sp.exp(-a)), sp.log(C) - a + sp.log(1 + sp.exp(a) / C)),
     claim("log_sum_minus_exponent, tiny: log(1 + C e^(-a)) = C e^(-a)/exprel(log(1 + C e^(-a)))",
           sp.log(1 + C * sp.exp(-a)), expand_primitives(C * sp.exp(-a) / exprel(sp.log(1 + C * sp.exp(-a)))))),
    lambda expr: terms_replaced(expr, _exponent_taken),
    (t + C) * sp.log(C + sp.exp(a)) - t * a,
)

# --------------------------------------------------------- e^{m a} / (c + e^a)^n without an overflow


def _exp_quotient(expr: sp.Basic) -> tuple[sp.Expr, sp.Expr, int, int, sp.Expr] | None:
    """(c, a, m, n, rest) where ``expr`` is rest · e^{m a} / (c + e^a)^n for integers 0 <= m <= n, n >= 1,
    and rest holds no other exponential (nor a primitive of one, such as exp_minus)."""
    if not isinstance(expr, (sp.Mul, sp.Pow)):
        return None
    factors = list(sp.Mul.make_args(expr))
    for denominator in factors:
        if not (isinstance(denominator, sp.Pow) and denominator.exp.is_Integer and denominator.exp < 0):
            continue
        parts = _constant_plus_exp(denominator.base)
        if parts is None:
            continue
        c, a_ = parts
        n = int(-denominator.exp)
        others = [f for f in factors if f is not denominator]
        for numerator in others:
            if isinstance(numerator, sp.exp):
                m = numerator.args[0] / a_
                if m.is_Integer and 0 < m <= n:
                    return c, a_, int(m), n, sp.Mul(*(f for f in others if f is not numerator))
        if not any(expand_primitives(f).has(sp.exp) for f in others):  # one left would overflow alone
            return c, a_, 0, n, sp.Mul(*others)
    return None


def _shifted_quotient(c: sp.Expr, a_: sp.Expr, m: int, n: int, rest: sp.Expr) -> sp.Expr:
    r""":math:`e^{ma}/(c + e^a)^n = e^{ma - nM}/(c\,e^{-M} + e^{a - M})^n`, :math:`M = \max(a, 0)`:
    numerator and denominator divided by :math:`e^{nM}`, so that no exponential of a positive argument
    is taken (:math:`a - M = \min(a, 0)` exactly in floating point, the denominator in
    :math:`[\min(c, 1), c + 1]`) and no :math:`\log c` is rounded into an exponent."""
    top = sp.Max(a_, 0)
    return rest * sp.exp(m * a_ - n * top) / (c * sp.exp(-top) + sp.exp(a_ - top)) ** n


EXP_OVER_CONSTANT_PLUS_EXP = Rule(
    "exp_over_constant_plus_exp",
    tuple(claim(f"exp_over_constant_plus_exp, m = {m}, n = 1, a = {side}u: "
                f"e^(m a)/(C + e^a) = e^(m a - M)/(C e^(-M) + e^(a - M)), M = max(a, 0)",
                sp.exp(m * sign * u) / (C + sp.exp(sign * u)), _shifted_quotient(C, sign * u, m, 1, sp.S.One))
          for m in (0, 1) for sign, side in ((1, ""), (-1, "-"))),
    _top_down(lambda e: _exp_quotient(e) is not None, lambda e: _shifted_quotient(*_exp_quotient(e)),
              factors_alone=False),
    t * sp.exp(2 * a) / (C + sp.exp(a)) ** 3,
)

# ------------------------------------------- e^b (A + B e^a), e^b (e^a - t), (e^a - t)/(c + e^a) with e^M taken out

SHIFT_MARGIN = 700  # e^{a - M} at most e^708: no overflow; M = 0, the factor unchanged, wherever e^a is finite
SHIFT_WHOLE = 2**57  # a from which M = a: below, a - 700 rounds by at most ulp(a)/2 <= 8


def _shift(a_: sp.Expr) -> sp.Expr:
    r""":math:`M = \max(a - 700, 0)` for :math:`a < 2^{57}`, :math:`M = a` above: 0 wherever :math:`e^a` cannot
    overflow, so that nothing changes there (no t rounded into :math:`t e^{-M}`, whose error a cancellation in
    :math:`e^{a - M} - t e^{-M}` would amplify); :math:`a - M` is computed exactly in floating point (Sterbenz: M
    is 700 below a or at least a/2) and is :math:`700 + \delta` with :math:`|\delta| \le \operatorname{ulp}(a)/2
    \le 8` M's rounding below :math:`2^{57}`, so :math:`e^{a - M} \le e^{708}`; above, where the rounding of
    :math:`a - 700` reaches 16 (:math:`e^{716}` overflows) or swallows the 700, :math:`a - M = 0`."""
    return sp.Piecewise((a_, a_ >= SHIFT_WHOLE), (sp.Max(a_ - SHIFT_MARGIN, 0), True))


def _linear_in_exp(expr: sp.Basic) -> tuple[sp.Expr, sp.Expr, sp.Expr] | None:
    """(a, A, B) where ``expr`` is a sum A + B e^a (B e^a expanded out of any product of the sum's terms) with A
    and B nonzero and free of exponentials, B free of a's variables; not e^a - t for a symbol t, which
    exp_minus_variable makes exp_minus(a, t) (shifted then as exp_minus)."""
    if not isinstance(expr, sp.Add):
        return None
    exps = {e for e in expr.atoms(sp.exp)}
    if len(exps) != 1:
        return None
    (power,) = exps
    standing = sp.Dummy("E")
    polynomial = sp.expand(expr.xreplace({power: standing}))
    if expand_primitives(polynomial).has(sp.exp) or sp.degree(polynomial, standing) != 1:
        return None
    low, high = polynomial.subs(standing, 0), polynomial.coeff(standing, 1)
    if low == 0 or high == 0 or (high == 1 and (-low).is_Symbol) or high.free_symbols & power.free_symbols:
        return None  # B holding a's variable (z e^z + y): B e^{a - M} overflows where z e^{-z} does not
    return power.args[0], low, high


def _variable_ratio(low: sp.Expr, high: sp.Expr) -> sp.Expr | None:
    """t = -A/B where it is a variable (a symbol) times a power of two (exact in floating point: 2e^a - 2y is
    2(e^a - y), y - 2e^a is -2(e^a - y/2)), so that A + B e^a is B exp_minus(a, t) and keeps its digits near
    e^a = t; else None."""
    ratio = -low / high
    number, rest = ratio.as_coeff_Mul()
    if not rest.is_Symbol or not number.is_Rational:
        return None
    numerator, denominator = abs(number.p), number.q
    powers_of_two = all(n & (n - 1) == 0 for n in (numerator, denominator))
    return ratio if powers_of_two else None


def _exp_minus_parts(expr: sp.Basic) -> tuple[sp.Expr, sp.Expr] | None:
    """(a, t) where ``expr`` is exp_minus(a, t) with t free of exponentials (not already shifted)."""
    if isinstance(expr, exp_minus) and not expand_primitives(expr.args[1]).has(sp.exp):
        return expr.args[0], expr.args[1]
    return None


def _shifted_factor(expr: sp.Basic) -> tuple[sp.Expr, sp.Expr] | None:
    r"""(M, F) with ``expr`` = :math:`e^M F`: for :math:`A + B e^a`, :math:`F = A e^{-M} + B e^{a - M}` (or
    :math:`B \operatorname{exp\_minus}(a - M, t e^{-M})` for a variable :math:`t = -A/B`, :func:`_variable_ratio`); for
    :math:`\operatorname{exp\_minus}(a, t)`, :math:`F = \operatorname{exp\_minus}(a - M, t e^{-M})`
    (:math:`M = \max(a - 700, 0)`, :func:`_shift`); None for any other factor."""
    linear = _linear_in_exp(expr)
    if linear is not None:
        a_, low, high = linear
        top = _shift(a_)
        ratio = _variable_ratio(low, high)
        if ratio is not None:
            return top, high * exp_minus(a_ - top, ratio * sp.exp(-top))
        return top, low * sp.exp(-top) + high * sp.exp(a_ - top)
    parts = _exp_minus_parts(expr)
    if parts is not None:
        a_, t_ = parts
        top = _shift(a_)
        return top, exp_minus(a_ - top, t_ * sp.exp(-top))
    return None


def _exp_times_sum(expr: sp.Basic) -> tuple[sp.Expr, sp.Expr, sp.Expr, sp.Expr] | None:
    """(rest, b, M, F) where ``expr`` is rest · e^b · S with S = e^M F (:func:`_shifted_factor`, its
    exponential's argument a not known to be at most 700) and e^b the product's one other exponential (a product of
    several, such as a sum of exponentials put over one denominator, is left as it is)."""
    if not isinstance(expr, sp.Mul):
        return None
    factors = list(expr.args)
    powers = [f for f in factors if isinstance(f, sp.exp)]
    if len(powers) != 1:
        return None
    (power,) = powers
    for factor in factors:
        shifted = _shifted_factor(factor)
        if shifted is not None and shifted[0] != 0:  # M = 0 where a <= 700 is known: nothing to take out
            others = [f for f in factors if f is not factor and f is not power]
            return sp.Mul(*others), power.args[0], *shifted
    return None


def _merged(rest: sp.Expr, b_: sp.Expr, top: sp.Expr, factor: sp.Expr) -> sp.Expr:
    r""":math:`e^b S = e^{b + M} F`: the factor's overflow moved into one exponent with b's, so that
    :math:`e^{-1420} (y - 2 e^{710})` is :math:`e^{-1410}(y e^{-10} - 2 e^{700})`, not :math:`0 \cdot \infty`; b's
    common factors taken out (:math:`z - p z = (1 - p) z`), so that :math:`b + M` at :math:`M = z = 1.8 \cdot 10^{308}`,
    p = 1 + 2^-52 is :math:`z - 4 \cdot 10^{292}`, not :math:`(M + z) - p z = \infty - \infty`, and at
    :math:`z = -1.8 \cdot 10^{308}`, p = 2 - 2^-52 it is finite, not :math:`z - p z = z + \infty` (the emitter takes
    the exponent's shared product :math:`(p - 1) z` back into a lone :math:`e^{-(p - 1) z}`, in two floats)."""
    return rest * sp.exp(sp.factor_terms(b_) + top) * factor


EXP_TIMES_SHIFTED_SUM = Rule(
    "exp_times_shifted_sum",
    (claim("exp_times_shifted_sum: e^r (t + w e^a) = e^(r + u) (t e^(-u) + w e^(a - u))",
           sp.exp(r) * (t + w * sp.exp(a)), sp.exp(r + u) * (t * sp.exp(-u) + w * sp.exp(a - u))),
     claim("exp_times_shifted_sum, exp_minus: e^r (e^a - t) = e^(r + u) (e^(a - u) - t e^(-u))",
           sp.exp(r) * (sp.exp(a) - t), sp.exp(r + u) * (sp.exp(a - u) - t * sp.exp(-u)))),
    _top_down(lambda e: _exp_times_sum(e) is not None, lambda e: _merged(*_exp_times_sum(e))),
    sp.exp(-2 * a) * (t - 2 * sp.exp(a)),
)


def _exp_minus_quotient(expr: sp.Basic) -> tuple[sp.Expr, sp.Expr, sp.Expr, sp.Expr] | None:
    """(rest, a, t, c) where ``expr`` is rest · exp_minus(a, t)/(c + e^a), rest free of exponentials."""
    if not isinstance(expr, sp.Mul):
        return None
    factors = list(expr.args)
    for numerator in factors:
        parts = _exp_minus_parts(numerator)
        if parts is None:
            continue
        for denominator in factors:
            if not (isinstance(denominator, sp.Pow) and denominator.exp == -1):
                continue
            sum_parts = _constant_plus_exp(denominator.base)
            if sum_parts is None or sum_parts[1] != parts[0]:
                continue
            rest = [f for f in factors if f is not numerator and f is not denominator]
            if not any(expand_primitives(f).has(sp.exp) for f in rest):
                return sp.Mul(*rest), parts[0], parts[1], sum_parts[0]
    return None


def _shifted_exp_minus_quotient(rest: sp.Expr, a_: sp.Expr, t_: sp.Expr, c: sp.Expr) -> sp.Expr:
    r""":math:`(e^a - t)/(c + e^a)` with :math:`X = \operatorname{exp\_minus}(a - M, t e^{-M}) = e^{-M}(e^a - t)`,
    :math:`M = \max(a - 700, 0)` (:func:`_shift`), the denominator divided by its larger term, so that it lies in
    :math:`[1, 2]` and no partial quotient overflows: :math:`e^{M - a} X/(1 + c e^{-a})` where :math:`a \ge \log c`
    (:math:`e^{M - a}` times X and c taken as co-factors of one scaled exponential), else
    :math:`(1/c) X/(e^{-M} + e^{a - M}/c)` (a co-factor c of the quotient cancels it).
    :math:`\theta(e^z - y)/(\theta + e^z)` at :math:`\theta = 5\cdot 10^{-324}`, :math:`z = -10^{187}` is
    :math:`-y`, where :math:`(e^z - y)/(\theta + e^z)` alone overflows."""
    top = _shift(a_)
    difference = exp_minus(a_ - top, t_ * sp.exp(-top))
    return sp.Piecewise((rest * sp.exp(top - a_) * difference / (1 + c * sp.exp(-a_)), a_ >= sp.log(c)),
                        (rest / c * difference / (sp.exp(-top) + sp.exp(a_ - top) / c), True))


EXP_MINUS_OVER_CONSTANT_PLUS_EXP = Rule(
    "exp_minus_over_constant_plus_exp",
    (claim("exp_minus_over_constant_plus_exp, a >= log C: (e^a - t)/(C + e^a) = "
           "e^(u - a) (e^(a - u) - t e^(-u))/(1 + C e^(-a))",
           (sp.exp(a) - t) / (C + sp.exp(a)),
           sp.exp(u - a) * (sp.exp(a - u) - t * sp.exp(-u)) / (1 + C * sp.exp(-a))),
     claim("exp_minus_over_constant_plus_exp, a < log C: (e^a - t)/(C + e^a) = "
           "(e^(a - u) - t e^(-u))/(C (e^(-u) + e^(a - u)/C))",
           (sp.exp(a) - t) / (C + sp.exp(a)),
           (sp.exp(a - u) - t * sp.exp(-u)) / (C * (sp.exp(-u) + sp.exp(a - u) / C)))),
    _top_down(lambda e: _exp_minus_quotient(e) is not None,
              lambda e: _shifted_exp_minus_quotient(*_exp_minus_quotient(e)), factors_alone=False),
    C * exp_minus(a, t) / (C + sp.exp(a)),
)

NEAR_ONE = sp.Rational(1, 2)  # T: the split is used where |a| < T, e^a within [0.61, 1.65]


def _input_plus_input_times_exp(add: sp.Basic) -> tuple[sp.Expr, sp.Expr, sp.Expr, sp.Expr] | None:
    """(A, B, a, the term B e^a) where the sum ``add`` holds A and B e^a with A, B float inputs (or their
    negations; A + B then one rounding, exact where they cancel) and A + B not identically 0 (c - c e^a is
    one_minus_exp's)."""
    if not isinstance(add, sp.Add):
        return None
    for term in add.args:
        powers = [f for f in sp.Mul.make_args(term) if isinstance(f, sp.exp)]
        if len(powers) != 1:
            continue
        weight = term / powers[0]
        for other in add.args:
            if (other is not term and other + weight != 0 and not (other.is_number or weight.is_number)
                    and exact_terms(other + weight) is not None):
                return other, weight, powers[0].args[0], term
    return None


def _split_at_one(expr: sp.Basic) -> sp.Basic:
    r""":math:`A + B e^a \to` Piecewise(((A + B) + B expm1(a), :math:`|a| < T`), (:math:`A + B e^a`, True)) for
    inputs A, B (:func:`_input_plus_input_times_exp`), the sum's other terms kept, A + B kept whole
    (:class:`~symloss.stabilize.primitives.quotient_of_sum` with c = v = 1); outside any Piecewise (the
    textbook branch is never rewritten again)."""
    if isinstance(expr, sp.Piecewise) or not expr.args:
        return expr
    found = _input_plus_input_times_exp(expr)
    if found is None:
        return expr.func(*(_split_at_one(arg) for arg in expr.args))
    low, high, exponent, term = found
    rest = sp.Add(*(arg for arg in expr.args if arg is not term and arg is not low))
    split = sp.Piecewise((quotient_of_sum(low, high, 1, 1) + high * expm1(exponent), sp.Abs(exponent) < NEAR_ONE),
                         (low + term, True))
    return split + _split_at_one(rest)


EXP_NEAR_ONE = Rule(
    "exp_near_one",
    (claim("exp_near_one: t + r e^a = (t + r) + r expm1(a)", t + r * sp.exp(a),
           expand_primitives(quotient_of_sum(t, r, 1, 1) + r * expm1(a))),),
    _split_at_one,
    t + r * sp.exp(a),
)

EXPONENTIALS: tuple[Rule, ...] = (EXP_NEAR_ONE, LOG_SUM_MINUS_EXPONENT, LOG_OF_CONSTANT_PLUS_EXP,
                                  EXP_OVER_CONSTANT_PLUS_EXP, EXP_MINUS_OVER_CONSTANT_PLUS_EXP, EXP_TIMES_SHIFTED_SUM)
