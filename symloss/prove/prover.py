"""Claims to verdicts: proved, refuted or unknown.

The promise (DESIGN.md, "The prover's promise"):

* **refuted** — a point of the domain where the claim fails, at 30 and at 60
  digits.  The numeric search runs first, so false claims are refuted fast.
* **proved** — a symbolic strategy reduced the claim (``lhs - rhs`` to 0, or
  an expression to one of known sign) under the declared domains, *and* the
  numeric check agreed at ≥ 20 points of the domain.
* **unknown** — neither, within the time budget.  A claim that only passes
  numeric checks is "unknown (numerically consistent)", never proved.

The symbolic attempt runs in a forked child process that is killed when the
budget runs out (``simplify`` can run for minutes).  The prover works on
:func:`~symloss.declare.functions.to_elementary` forms and differentiates them itself.

Strategies are data: named predicates in declared tuples, tried in order,
cheap ones first.  Wrappers around them split finite-set variables into
cases, and turn class-vector claims into claims for symbolic K (sums
factored, Σ_k y_k = 1 substituted) or, failing that, for K = 2..5.
"""

from __future__ import annotations

import multiprocessing
import signal
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from functools import partial
from itertools import islice, product

import mpmath
import sympy as sp
from sympy.simplify.simplify import factor_sum

from symloss.declare.functions import to_elementary
from symloss.declare.loss import Claim, ClaimKind
from symloss.declare.notation import CLASS_COUNT, INDEX, REAL, Domain, Scope, Var
from symloss.prove.numeric import class_counts, evaluate, holds, sample_points, structural_symbols
from symloss.prove.workers import map_in_workers

LOW_DIGITS, HIGH_DIGITS = 30, 60
MIN_AGREEING_POINTS = 20
SAMPLED_POINTS = 40
EXPLICIT_K = (2, 3, 4, 5)
MAX_CASES = 64
PIECEWISE_FUNCTIONS = (sp.Max, sp.Min, sp.Abs, sp.Heaviside, sp.sign, sp.Piecewise)
NUMERIC_ERRORS = (ValueError, TypeError, ZeroDivisionError, ArithmeticError, KeyError, IndexError)
RESOURCE_ERRORS = (MemoryError, RecursionError)  # the point is beyond reach, not outside the domain


@dataclass(frozen=True)
class Verdict:
    """The outcome of :func:`prove`."""

    status: str  # "proved" | "refuted" | "unknown"
    method: str  # the strategy that decided it, or what was tried (unknown)
    seconds: float
    counterexample: Mapping[str, str] | None = None  # symbol name -> value as string
    detail: str = ""  # values of both sides at the counterexample; "numerically consistent"
    scope: str = ""  # "symbolic K" | "K = 2..5" | "" — what a vector claim was proved for


# --------------------------------------------------------------------------- goals


@dataclass(frozen=True)
class Goal:
    """A symbolic goal: ``expr == 0`` (relation "==") or ``expr (relation) 0``.

    ``var``/``point`` carry the hint of a sign claim (convex in var with a
    stationary point at var = point).
    """

    expr: sp.Expr
    relation: str
    domains: Mapping[sp.Basic, Domain]
    given: tuple[sp.Eq, ...] = ()
    var: sp.Basic | None = None
    point: sp.Expr | None = None

    def at(self, expr: sp.Expr, relation: str | None = None) -> Goal:
        """The same setting, another expression (and relation); no hint."""
        return replace(self, expr=expr, relation=relation or self.relation, var=None, point=None)


@dataclass(frozen=True)
class Strategy:
    """A named way of proving a goal: ``holds(goal)`` is True only on proof."""

    name: str
    holds: Callable[[Goal], bool]


def _is_zero(expr: sp.Expr) -> bool:
    return sp.sympify(expr) == 0


def _reduces_to_zero(transform: Callable[[sp.Expr], sp.Expr]) -> Callable[[Goal], bool]:
    return lambda goal: _is_zero(transform(goal.expr))


def _exp_normal(expr: sp.Expr) -> sp.Expr:
    """Every exp(c·u) as exp(u)**c with exp(-u) = 1/exp(u), then cancel:
    a rational function in a few exponentials."""
    expr = sp.expand(expr.rewrite(sp.exp), power_exp=True, mul=False, multinomial=False)

    def power(e: sp.exp) -> sp.Expr:
        coefficient, rest = e.args[0].as_coeff_Mul()
        return sp.exp(rest) ** coefficient if coefficient != 1 and rest != 1 else e

    return sp.cancel(expr.replace(lambda e: isinstance(e, sp.exp), power))


def _log_normal(expr: sp.Expr) -> sp.Expr:
    """log(a·b) = log a + log b and log(a^n) = n log a where the domain's
    assumptions allow it (never ``force=True``: that splits log(x·y) for
    negative x, y), then cancel."""
    return sp.cancel(sp.expand_log(sp.expand(expr)))


def _has_piecewise(expr: sp.Expr) -> bool:
    return expr.has(*PIECEWISE_FUNCTIONS)


# --------------------------------------------------------------------------- signs


def _known_sign(expr: sp.Expr, strict: bool) -> bool:
    """Assumptions alone decide ``expr > 0`` (strict) or ``expr >= 0``."""
    return bool(expr.is_positive if strict else expr.is_nonnegative)


def _factors_of_known_sign(expr: sp.Expr, strict: bool) -> bool:
    """expr = Π f_j with each f_j of known sign and an even number of negative ones."""
    negative, zero_possible = 0, False
    for factor in sp.Mul.make_args(sp.factor(sp.together(expr))):
        if factor.is_positive:
            continue
        if factor.is_negative:
            negative += 1
        elif factor.is_nonnegative:
            zero_possible = True
        elif factor.is_nonpositive:
            negative, zero_possible = negative + 1, True
        else:
            return False
    return negative % 2 == 0 and not (strict and zero_possible)


def _terms_of_known_sign(expr: sp.Expr, strict: bool) -> bool:
    """expr = Σ t_j with every t_j ≥ 0 (and one > 0 when strict)."""
    terms = sp.Add.make_args(sp.expand(expr))
    if not all(t.is_nonnegative for t in terms):
        return False
    return not strict or any(t.is_positive for t in terms)


def _signed(expr: sp.Expr, strict: bool) -> bool:
    """Cheap sign reasoning: assumptions, factors, terms, on the expression and its normal forms."""
    expr = sp.sympify(expr)
    forms = (expr, sp.cancel(expr))
    return any(_known_sign(f, strict) for f in forms) or any(
        check(f, strict) for check in (_factors_of_known_sign, _terms_of_known_sign) for f in forms
    )


def _oriented(goal: Goal) -> tuple[sp.Expr, bool]:
    """``expr (relation) 0`` as ``e >= 0`` or ``e > 0``."""
    flip = goal.relation in ("<=", "<")
    return (-goal.expr if flip else goal.expr), goal.relation in (">", "<")


def _sign_by(check: Callable[[sp.Expr, bool], bool]) -> Callable[[Goal], bool]:
    def holds(goal: Goal) -> bool:
        expr, strict = _oriented(goal)
        return check(expr, strict)

    return holds


def _reparametrizations(symbol: sp.Symbol, domain: Domain) -> list[sp.Expr]:
    """Values covering an interval domain: an interior map of a positive t
    (a + t, b - t, or a + (b - a)·t/(1 + t)) and each closed endpoint."""
    if domain.is_finite_set or domain.vector or domain.integer or (domain.low is None and domain.high is None):
        return [symbol]
    t = sp.Dummy("t", positive=True)
    low, high = (None if b is None else sp.Rational(Fraction(b)) for b in (domain.low, domain.high))
    if low is not None and high is not None:
        interior = low + (high - low) * t / (1 + t)
    else:
        interior = low + t if low is not None else high - t
    ends = [b for b, is_open in ((low, domain.low_open), (high, domain.high_open)) if b is not None and not is_open]
    return [interior, *ends]


def _interval_cases(expr: sp.Expr, domains: Mapping[sp.Basic, Domain]) -> list[sp.Expr] | None:
    symbols = sorted((s for s in expr.free_symbols if s in domains), key=str)
    choices = [_reparametrizations(s, domains[s]) for s in symbols]
    if all(len(c) == 1 and c[0] == s for s, c in zip(symbols, choices, strict=True)):
        return None
    combos = list(product(*choices))
    if len(combos) > MAX_CASES:
        return None
    return [expr.xreplace(dict(zip(symbols, combo, strict=True))) for combo in combos]


def _by_interval_substitution(goal: Goal) -> bool:
    """Each bounded variable written as a map of a positive parameter (x ∈ (0, 1) as
    t/(1 + t)), closed ends as separate cases; then factors or terms of known sign."""
    expr, strict = _oriented(goal)
    cases = _interval_cases(expr, goal.domains)
    return cases is not None and all(
        _signed(case, strict) or _signed(sp.factor(sp.together(case)), strict) for case in cases
    )


def _zero_by_interval_substitution(goal: Goal) -> bool:
    """Bounded variables as maps of a positive parameter (so that 1 - p > 0 is
    visible to the assumptions), then logs expanded and cancel."""
    cases = _interval_cases(goal.expr, goal.domains)
    return cases is not None and all(_is_zero(_log_normal(case)) for case in cases)


def _monotone_from_an_end(goal: Goal) -> bool:
    """One variable v on an interval with a finite end a: f(a) (relation) 0 and f
    moves away from 0 towards the interior (f' >= 0 from a lower end, <= 0 from an
    upper end), so f (relation) 0 throughout."""
    f, strict = _oriented(goal)
    symbols = [s for s in f.free_symbols if s in goal.domains]
    if len(symbols) != 1 or _has_piecewise(f):
        return False
    (v,), domain = symbols, goal.domains[symbols[0]]
    if domain.is_finite_set or domain.vector:
        return False
    if _prove_core(goal.at(sp.denom(sp.together(f)), ">"), SIGN_STRATEGIES[:4]) is None:
        return False  # a pole inside the interval would break the argument
    slope = sp.diff(f, v)
    for end, direction in ((domain.low, slope), (domain.high, -slope)):
        start = None if end is None else f.subs(v, sp.Rational(Fraction(end)))
        if start is not None and start.is_finite and _signed(start, strict) and (
            _prove_core(goal.at(direction, ">="), SIGN_STRATEGIES[:4])
        ):
            return True
    return False


def _in_domain(point: sp.Expr, domain: Domain, goal: Goal) -> bool:
    """point ∈ domain: the same declared domain, a rational inside it, or bounds proved."""
    if domain.is_finite_set or domain.vector:
        return False
    if goal.domains.get(point) == domain:
        return True
    if point.is_Rational:
        return domain.contains(Fraction(int(point.p), int(point.q)))
    bounds = [
        (point - b, ">" if is_open else ">=") for b, is_open in ((domain.low, domain.low_open),) if b is not None
    ] + [(b - point, ">" if is_open else ">=") for b, is_open in ((domain.high, domain.high_open),) if b is not None]
    return all(_prove_core(goal.at(sp.sympify(e), r), SIGN_STRATEGIES) for e, r in bounds)


def _convex_with_stationary_point(goal: Goal) -> bool:
    """f convex in v on v's interval (f'' ≥ 0), f'(point) = 0 and point in the
    interval, so min_v f = f(point); and f(point) (relation) 0."""
    v, p = goal.var, goal.point
    if v is None or p is None or not isinstance(v, sp.Symbol):
        return False
    flip = goal.relation in ("<=", "<")
    f = -goal.expr if flip else goal.expr
    relation = {"<=": ">=", "<": ">"}.get(goal.relation, goal.relation)
    slope = sp.diff(f, v)
    return (
        _in_domain(p, goal.domains.get(v, REAL), goal)
        and _prove_core(goal.at(slope.subs(v, p), "=="), ZERO_STRATEGIES)
        and _prove_core(goal.at(f.subs(v, p), relation), SIGN_STRATEGIES)
        and _prove_core(goal.at(sp.diff(slope, v), ">="), SIGN_STRATEGIES)
    )


# --------------------------------------------------------------------------- piecewise regions


def _regions(expr: sp.Expr) -> list[tuple[sp.Expr, sp.Basic]]:
    """Max/Min/Abs/sign/Heaviside rewritten to Piecewise, folded, as
    (piece, region) pairs whose regions partition the domain."""
    folded = sp.piecewise_fold(expr.rewrite(sp.Piecewise))
    if not isinstance(folded, sp.Piecewise):
        return [(folded, sp.true)]
    regions, earlier = [], sp.false
    for piece, condition in folded.args:
        regions.append((piece, sp.And(condition, sp.Not(earlier))))
        earlier = sp.Or(earlier, condition)
    return regions


def _linear_in(g: sp.Expr) -> tuple[sp.Symbol, sp.Expr, sp.Expr] | None:
    """g = a·x + b with a a nonzero number: (x, a, b)."""
    for x in sorted(g.free_symbols, key=str):
        a = sp.diff(g, x)
        if a.is_number and a != 0 and x not in (g - a * x).free_symbols:
            return x, a, sp.expand(g - a * x)
    return None


def _consistent(symbol: sp.Symbol, value: sp.Expr) -> bool:
    """Whether ``value`` may be a value of ``symbol`` as far as signs tell."""
    return not (
        (symbol.is_positive and value.is_nonpositive)
        or (symbol.is_nonnegative and value.is_negative)
        or (symbol.is_negative and value.is_nonnegative)
        or (symbol.is_nonpositive and value.is_positive)
    )


def _on_region(piece: sp.Expr, region: sp.Basic, holds: Callable[[sp.Expr], bool], depth: int = 0) -> bool:
    """``holds(piece)`` on the region: split on a boundary g = lhs - rhs of the
    region, linear in some x, into g = t > 0, g = 0 and g = -t < 0, solving for x."""
    if region == sp.false or holds(piece):
        return True
    atoms = sorted(region.atoms(sp.core.relational.Relational), key=sp.default_sort_key)
    if region == sp.true or not atoms or depth > 6:
        return False
    linear = _linear_in(atoms[0].lhs - atoms[0].rhs)
    if linear is None:
        return False
    x, a, b = linear
    t = sp.Dummy("t", positive=True)
    for boundary_value in (t, sp.S.Zero, -t):
        value = (boundary_value - b) / a
        if _consistent(x, value) and not _on_region(
            piece.xreplace({x: value}), region.xreplace({x: value}), holds, depth + 1
        ):
            return False
    return True


def _piece_holds(goal: Goal) -> Callable[[sp.Expr], bool]:
    """The cheap test applied to each piece: normal forms for "==", sign reasoning otherwise."""
    if goal.relation == "==":
        return lambda piece: any(_is_zero(f(piece)) for f in (sp.cancel, _log_normal, _exp_normal))
    return lambda piece: _prove_core(goal.at(piece), SIGN_STRATEGIES[:4]) is not None


def _by_regions(goal: Goal) -> bool:
    """Region by region: each piece of the folded Piecewise holds on its region."""
    if not _has_piecewise(goal.expr):
        return False
    holds = _piece_holds(goal)
    return all(_on_region(piece, region, holds) for piece, region in _regions(goal.expr))


def _closed_sums_as_symbols(expr: sp.Expr) -> sp.Expr:
    r"""Every sum inside another sum that mentions no index bound outside it (:math:`\sum_j e^{z_j}`
    inside a sum over k), and every sum equal to one of those, replaced by a symbol, equal sums (up
    to the name of their index) by the same one, positive where the summand is positive and the
    range not empty.  Sound as a generalization: an identity in the new symbols holds for every
    value they may take, so for the sums' own values too."""
    symbols: dict[sp.Basic, sp.Dummy] = {}
    canonical = sp.Dummy("j", integer=True, positive=True)

    def as_symbol(total: sp.Sum) -> sp.Expr:
        (k, low, high), = total.limits
        key = sp.Sum(total.function.xreplace({k: canonical}), (canonical, low, high))
        if key not in symbols:
            positive = bool(total.function.is_positive and (high - low + 1).is_positive)
            symbols[key] = sp.Dummy(f"sum{len(symbols)}", positive=positive or None,
                                    real=bool(total.function.is_real) or None)
        return symbols[key]

    def closed(e: sp.Basic, bound: frozenset) -> sp.Basic:
        if isinstance(e, sp.Sum) and len(e.limits) == 1:
            total = sp.Sum(closed(e.function, bound | {e.limits[0][0]}), e.limits[0])
            if bound and not (total.free_symbols & bound) and not total.function.has(sp.Sum):
                return as_symbol(total)
            return total
        if not e.args or isinstance(e, sp.Indexed):
            return e
        return e.func(*(closed(a, bound) for a in e.args))

    def known(e: sp.Basic) -> bool:
        if not (isinstance(e, sp.Sum) and len(e.limits) == 1):
            return False
        (k, low, high), = e.limits
        return sp.Sum(e.function.xreplace({k: canonical}), (canonical, low, high)) in symbols

    inner = closed(expr, frozenset())
    return inner.replace(known, as_symbol)


def _merged_sums(expr: sp.Expr) -> tuple[sp.Expr, list[sp.Expr]]:
    r"""``expr`` = R + Σ_k F(k) by linearity: each term c·Σ_k f(k) (one sum, c free of its index)
    pulled into one summand per range.  Returns (R, [F, …]), each F in one fresh index."""
    rest = sp.S.Zero
    summands: dict[tuple[sp.Expr, sp.Expr], sp.Expr] = {}
    index = sp.Dummy("k", integer=True, positive=True)
    for term in sp.Add.make_args(sp.expand(expr, power_base=False, power_exp=False, log=False)):
        sums = [f for f in sp.Mul.make_args(term) if isinstance(f, sp.Sum) and len(f.limits) == 1]
        if len(sums) != 1:
            rest += term
            continue
        (k, low, high), = sums[0].limits
        coefficient = term / sums[0]
        summands[(low, high)] = summands.get((low, high), sp.S.Zero) + coefficient * sums[0].function.xreplace(
            {k: index})
    return rest, list(summands.values())


def _zero_normal(expr: sp.Expr) -> sp.Expr:
    """Logs expanded under the assumptions; every power b^(a + n) with a symbolic a and an integer
    n written as t·b^n with one symbol t per (b, a) (SymPy would merge b^a·b^n back into b^(a + n),
    hiding b^(gamma - 1) = b^gamma / b); then cancel.  Sound as a generalization: an identity for
    every t holds for t = b^a."""
    expr = sp.expand_log(expr)
    symbols: dict[tuple[sp.Expr, sp.Expr], sp.Dummy] = {}

    def symbolic(e: sp.Basic) -> bool:
        return isinstance(e, sp.Pow) and not e.exp.is_number and e.exp.as_coeff_Add()[0].is_Integer

    def split(power: sp.Pow) -> sp.Expr:
        n, a = power.exp.as_coeff_Add()
        key = (sp.expand(power.base), a)
        if key not in symbols:
            positive = bool(power.base.is_positive and a.is_real)
            symbols[key] = sp.Dummy(f"power{len(symbols)}", positive=positive or None)
        return symbols[key] * power.base ** n

    return sp.cancel(sp.expand(expr.replace(symbolic, split)))


def _zero_by_merged_sums(goal: Goal) -> bool:
    """Closed sums as symbols; the remaining class sums merged into one summand by linearity;
    the sum-free part and the summand each cancel to 0 (then so does their total)."""
    if not goal.expr.has(sp.Sum):
        return False
    rest, summands = _merged_sums(_closed_sums_as_symbols(goal.expr))
    if rest.has(sp.Sum) or any(f.has(sp.Sum) for f in summands):
        return False
    return all(_is_zero(_zero_normal(part)) for part in (rest, *summands))


ZERO_STRATEGIES: tuple[Strategy, ...] = (
    Strategy("cancel", _reduces_to_zero(sp.cancel)),
    Strategy("expand and cancel", _reduces_to_zero(lambda e: sp.cancel(sp.expand(e)))),
    Strategy("class sums merged by linearity, inner sums as symbols, then cancel", _zero_by_merged_sums),
    Strategy("logs expanded under the domain's assumptions", _reduces_to_zero(_log_normal)),
    Strategy("exponentials as powers, cancel", _reduces_to_zero(_exp_normal)),
    Strategy("region by region (piecewise)", _by_regions),
    Strategy("interval substitution, then logs expanded", _zero_by_interval_substitution),
    Strategy("simplify", _reduces_to_zero(sp.simplify)),
)

SIGN_STRATEGIES: tuple[Strategy, ...] = (
    Strategy("sign from the domain's assumptions", _sign_by(lambda e, s: _known_sign(e, s))),
    Strategy("factors of known sign", _sign_by(_factors_of_known_sign)),
    Strategy("sum of terms of known sign", _sign_by(_terms_of_known_sign)),
    Strategy("interval substitution, then factors/terms of known sign", _by_interval_substitution),
    Strategy("convex in var (second derivative >= 0) with a stationary point at var=point",
             _convex_with_stationary_point),
    Strategy("monotone from an end of the interval where it holds", _monotone_from_an_end),
    Strategy("region by region (piecewise)", _by_regions),
    Strategy("simplify, then sign", _sign_by(lambda e, s: _signed(sp.simplify(e), s))),
)


def _prove_core(goal: Goal, strategies: Sequence[Strategy]) -> str | None:
    """The name of the first strategy that proves the goal, or None."""
    for strategy in strategies:
        if strategy.holds(goal):
            return strategy.name
    return None


def strategies_for(goal: Goal) -> tuple[Strategy, ...]:
    return ZERO_STRATEGIES if goal.relation == "==" else SIGN_STRATEGIES


# --------------------------------------------------------------------------- wrappers: cases, vectors


def _finite_cases(goal: Goal) -> list[dict[sp.Basic, sp.Expr]]:
    """Every combination of values of the finite-set variables in the goal."""
    symbols = sorted((s for s in goal.expr.free_symbols if s in goal.domains and goal.domains[s].is_finite_set),
                     key=str)
    values = [[sp.Rational(Fraction(v)) for v in goal.domains[s].values] for s in symbols]
    return [dict(zip(symbols, combo, strict=True)) for combo in product(*values)]


def _same_sum(candidate: sp.Sum, target: sp.Sum) -> bool:
    """Equal sums up to the name of the summation index."""
    if not isinstance(candidate, sp.Sum) or len(candidate.limits) != 1 or len(target.limits) != 1:
        return False
    (k, a, b), (j, c, d) = candidate.limits[0], target.limits[0]
    return (a, b) == (c, d) and candidate.function.xreplace({k: j}) == target.function


def _use_given(expr: sp.Expr, given: Sequence[sp.Eq]) -> sp.Expr:
    """Replace each sum that a given equation states (Σ_k y_k = 1) by its value."""
    for equation in given:
        if isinstance(equation.lhs, sp.Sum):
            expr = expr.replace(lambda e, eq=equation: _same_sum(e, eq.lhs), lambda e, eq=equation: eq.rhs)
    return expr


def _index_range_holds(condition: sp.Basic, counts: set[sp.Symbol]) -> bool:
    """Whether a condition such as (i >= 1) & (i <= K) holds for every class index i in 1..K."""
    extra = sp.Dummy("m", integer=True, nonnegative=True)
    for atom in condition.atoms(sp.core.relational.Relational):
        indices = sorted(atom.free_symbols - counts, key=str)
        if len(indices) != 1 or not indices[0].is_integer or not indices[0].is_positive:
            return False
        if atom.xreplace({K: indices[0] + extra for K in counts}) != sp.true:
            return False
    return condition.xreplace({a: sp.true for a in condition.atoms(sp.core.relational.Relational)}) == sp.true


def _drop_index_range(expr: sp.Expr, counts: set[sp.Symbol]) -> sp.Expr:
    """Piecewise((e, i <= K), (0, True)) → e: a class index always lies in 1..K."""
    return expr.replace(
        lambda e: isinstance(e, sp.Piecewise) and _index_range_holds(e.args[0].cond, counts),
        lambda e: e.args[0].expr,
    )


def _canonical_indices(expr: sp.Basic, names: list[sp.Dummy], depth: int = 0) -> sp.Basic:
    """Every summation index renamed by its nesting depth, so that Σ_j e^{z_j} and
    Σ_k e^{z_k} become the same term."""
    if isinstance(expr, sp.Sum) and len(expr.limits) == 1:
        (k, low, high), fresh = expr.limits[0], names[depth]
        body = _canonical_indices(expr.function.xreplace({k: fresh}), names, depth + 1)
        return sp.Sum(body, (fresh, low, high))
    if not expr.args or isinstance(expr, sp.Indexed):
        return expr
    return expr.func(*(_canonical_indices(a, names, depth) for a in expr.args))


def _entries_only(term: sp.Expr, k: sp.Symbol) -> bool:
    """Whether ``term`` depends on ``k`` only through vector entries such as z[k]: a sum of it has
    no closed form (the entries are independent unknowns), so SymPy's search for one is skipped."""
    hidden = term.replace(lambda e: isinstance(e, sp.Indexed) and k in e.free_symbols, lambda e: sp.S.One)
    return not hidden.has(k)


def _evaluate_sums(expr: sp.Expr) -> sp.Expr:
    """``doit`` of every sum, innermost first, term by term: a term free of the index is
    multiplied by the number of terms, a term that depends on the index only through vector
    entries stays a sum, every other term (a Kronecker delta, the index itself) is SymPy's ``doit``."""

    def evaluate(total: sp.Sum) -> sp.Expr:
        if len(total.limits) != 1:
            return total.doit()
        k, low, high = total.limits[0]
        parts = []
        for term in sp.Add.make_args(sp.expand(total.function)):
            if not term.has(k):
                parts.append(term * (high - low + 1))
            elif _entries_only(term, k):
                parts.append(sp.Sum(term, (k, low, high)))
            else:
                parts.append(sp.Sum(term, (k, low, high)).doit())
        return sp.Add(*parts)

    expr = expr.replace(lambda e: isinstance(e, sp.Sum), evaluate)
    return expr.replace(lambda e: isinstance(e, sp.Derivative | sp.Product | sp.Integral), lambda e: e.doit())


def _symbolic_k(expr: sp.Expr, given: Sequence[sp.Eq]) -> sp.Expr:
    """Sums evaluated (never simplify an unevaluated derivative of a Sum), the index-range
    Piecewise dropped, sums split and factored, summation indices named canonically, the
    given sums substituted."""
    counts = class_counts(expr)
    expr = _drop_index_range(_evaluate_sums(expr), counts)
    expr = sp.expand(expr).replace(lambda e: isinstance(e, sp.Sum), factor_sum)
    names = [sp.Dummy(f"k{d}", integer=True, positive=True) for d in range(len(expr.atoms(sp.Sum)) + 1)]
    return sp.expand(_use_given(_canonical_indices(expr, names), given))


def _instantiate(goal: Goal, size: int, indices: dict[sp.Symbol, int]) -> Goal:
    """The goal for K = size and the index values, sums expanded, given equations solved."""
    bind = {K: size for K in class_counts(goal.expr)} | indices
    expr = goal.expr.xreplace({s: sp.Integer(v) for s, v in bind.items()}).doit()
    for equation in goal.given:
        concrete = equation.xreplace({K: size for K in class_counts(equation)}).doit()
        entries = sorted(concrete.atoms(sp.Indexed), key=sp.default_sort_key)
        if entries and concrete.lhs.diff(entries[-1]) != 0:
            solution = sp.solve(concrete, entries[-1], dict=True)
            expr = expr.xreplace(solution[0]) if len(solution) == 1 else expr
    return goal.at(expr)


def _explicit_k_goals(goal: Goal) -> list[Goal]:
    indices = sorted(structural_symbols(goal.expr) - class_counts(goal.expr), key=str)
    return [
        _instantiate(goal, size, dict(zip(indices, values, strict=True)))
        for size in EXPLICIT_K
        for values in product(range(1, size + 1), repeat=len(indices))
    ]


def _vector_forms(goal: Goal) -> Iterator[tuple[str, list[Goal]]]:
    """The goal as proved for symbolic K, then for K = 2..5 (explicit entries)."""
    if not class_counts(goal.expr) and not goal.expr.has(sp.Indexed):
        yield "", [goal]
        return
    if class_counts(goal.expr):
        yield "symbolic K", [replace(goal, expr=_symbolic_k(goal.expr, goal.given))]
        yield f"K = {EXPLICIT_K[0]}..{EXPLICIT_K[-1]}", _explicit_k_goals(goal)
    else:
        yield "", [replace(goal, expr=_use_given(goal.expr.doit(), goal.given))]


def _prove_goal(goal: Goal) -> tuple[str, str] | None:
    """(method, scope) of a proof of the goal, with case splits and vector forms; or None."""
    cases = _finite_cases(goal)
    if len(cases) > MAX_CASES:
        return None
    methods: list[str] = []
    scopes: set[str] = set()
    for case in cases:
        outcome = _prove_vector(replace(goal, expr=goal.expr.xreplace(case)))
        if outcome is None:
            return None
        methods.append(outcome[0])
        scopes.add(outcome[1])
    method = " / ".join(dict.fromkeys(methods))
    if cases != [{}]:
        names = ", ".join(f"{s} in {goal.domains[s].name}" for s in cases[0])
        method = f"case split over {names}: {method}"
    return method, " & ".join(sorted(s for s in scopes if s))


def _prove_vector(goal: Goal) -> tuple[str, str] | None:
    for scope, goals in _vector_forms(goal):
        methods = [_prove_core(g, strategies_for(g)) for g in goals]
        if all(methods):
            return " / ".join(dict.fromkeys(m for m in methods if m)), scope
    return None


# --------------------------------------------------------------------------- claims as goals


def _elementary(expr: sp.Expr) -> sp.Expr:
    return to_elementary(sp.sympify(expr))


def _derivative(claim: Claim) -> sp.Expr:
    """d^order lhs / d var^order, from the elementary form (never fdiff of named functions)."""
    return sp.diff(_elementary(claim.lhs), claim.var, claim.order)


@dataclass(frozen=True)
class Comparison:
    """The numeric view of a claim: ``left (relation) right`` at every point."""

    left: sp.Expr
    right: sp.Expr
    relation: str


def comparison(claim: Claim) -> Comparison:
    """What the numeric check compares, by claim kind."""
    lhs, rhs = _elementary(claim.lhs), _elementary(claim.rhs)
    if claim.kind is ClaimKind.DERIVATIVE:
        return Comparison(_derivative(claim), rhs, "==")
    if claim.kind is ClaimKind.SIGN:
        return Comparison(lhs, sp.S.Zero, claim.relation)
    if claim.kind is ClaimKind.INEQUALITY:
        return Comparison(lhs, rhs, claim.relation)
    if claim.kind is ClaimKind.MINIMIZER:
        return Comparison(lhs, lhs.subs(claim.var, _elementary(claim.point)), ">=")
    return Comparison(lhs, rhs, "==")


def _base_goal(claim: Claim, expr: sp.Expr, relation: str) -> Goal:
    return Goal(expr, relation, _domains(claim, expr), claim.given)


def _goals(claim: Claim) -> list[tuple[str, list[Goal]]]:
    """Alternative sets of goals that each prove the claim, with a name for each set."""
    lhs, rhs = _elementary(claim.lhs), _elementary(claim.rhs)
    if claim.kind in (ClaimKind.IDENTITY, ClaimKind.DERIVATIVE):
        left = _derivative(claim) if claim.kind is ClaimKind.DERIVATIVE else lhs
        return [("", [_base_goal(claim, left - rhs, "==")])]
    if claim.kind in (ClaimKind.SIGN, ClaimKind.INEQUALITY):
        expr = lhs - rhs if claim.kind is ClaimKind.INEQUALITY else lhs
        goal = _base_goal(claim, expr, claim.relation)
        hint = claim.point if claim.point is None else _elementary(claim.point)
        return [("", [replace(goal, var=claim.var, point=hint)])]
    return _minimizer_goals(claim, lhs)


def _minimizer_goals(claim: Claim, f: sp.Expr) -> list[tuple[str, list[Goal]]]:
    """Global: f convex in var and stationary at the point, which lies in var's
    interval.  Local: f'(point) = 0 and f''(point) > 0."""
    v, p = claim.var, _elementary(claim.point)
    slope, curvature = sp.diff(f, v), sp.diff(f, v, 2)
    base = _base_goal(claim, f, ">=")
    stationary = base.at(slope.subs(v, p), "==")
    peak = base.at(curvature.subs(v, p), ">")
    local = ("stationary at var=point with second derivative > 0 there", [stationary, peak])
    if not (isinstance(v, sp.Symbol) and _in_domain(p, base.domains.get(v, REAL), base)):
        return [local]
    return [("convex in var with a stationary point at var=point", [stationary, base.at(curvature, ">=")]), local]


def _domains(claim: Claim, expr: sp.Expr) -> dict[sp.Basic, Domain]:
    """Declared domains, plus class index and class count for undeclared structural symbols."""
    domains = dict(claim.scope.domains())
    counts = class_counts(expr)
    for s in structural_symbols(expr) - set(domains):
        domains[s] = CLASS_COUNT if s in counts else INDEX
    return domains


# --------------------------------------------------------------------------- symbolic attempt (child process)


@dataclass(frozen=True)
class Outcome:
    """What the child process reports back."""

    proved: bool
    method: str
    scope: str = ""
    value: sp.Expr | None = None


def _symbolic(claim: Claim) -> Outcome:
    """Try each alternative set of goals; all goals of a set must be proved."""
    for name, goals in _goals(claim):
        proofs = [_prove_goal(g) for g in goals]
        if all(proofs):
            methods = " & ".join(dict.fromkeys(p[0] for p in proofs if p))
            scope = " & ".join(sorted({p[1] for p in proofs if p and p[1]}))
            return Outcome(True, f"{name}: {methods}" if name else methods, scope)
    return Outcome(False, "no strategy succeeded")


def _symbolic_limit(claim: Claim) -> Outcome:
    """sympy.limit, then a zero proof of limit - rhs."""
    f, rhs = _elementary(claim.lhs), _elementary(claim.rhs)
    direction = "+" if claim.point.is_infinite else "+-"
    value = sp.limit(f, claim.var, claim.point, dir=direction)
    if value.has(sp.Limit, sp.AccumBounds) or value is sp.nan:
        return Outcome(False, f"sympy.limit gave {value}")
    if value == rhs:
        return Outcome(True, "sympy.limit", value=value)
    method = _prove_core(_base_goal(claim, value - rhs, "=="), ZERO_STRATEGIES)
    return Outcome(method is not None, f"sympy.limit, then {method}" if method else "sympy.limit", value=value)


def _guarded(task: Callable[[], Outcome]) -> Outcome:
    """The task's outcome; a SymPy exception (StopIteration, RecursionError, ...) is "not proved"."""
    try:
        return task()
    except Exception as error:  # any SymPy failure means "not proved"
        return Outcome(False, f"{type(error).__name__} in SymPy")


def _child(task: Callable[[], object], sender: object) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it kills this child
    try:
        result = task()
    except Exception:  # reported to the parent as no answer
        result = None
    sender.send(result)


def run_with_budget(task: Callable[[], object], seconds: float) -> object | None:
    """Run ``task`` in a forked child and return its (picklable) result; None if it
    raised, died, or has not answered within ``seconds`` (the child is then killed)."""
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(task, sender), daemon=True)
    process.start()
    sender.close()
    try:
        if receiver.poll(max(seconds, 0.0)):
            return receiver.recv()
        return None
    except EOFError:
        return None
    finally:
        if process.is_alive():
            process.kill()
        process.join()
        receiver.close()


# --------------------------------------------------------------------------- numeric check (parent)


@dataclass(frozen=True)
class Disagreement:
    point: dict[sp.Basic, object]
    left: object
    right: object
    exact: bool = False  # both sides exactly equal where a strict relation is claimed


@dataclass(frozen=True)
class NumericCheck:
    agreeing: int
    disagreement: Disagreement | None = None


@dataclass(frozen=True)
class Unevaluable:
    """A value too large to compute here (e.g. exp(exp(exp(30))) exhausts memory).

    Not an undefined value: a point where either side is unevaluable judges
    nothing (neither agreement nor disagreement)."""

    reason: str


def _value(expr: sp.Expr, point: Mapping[sp.Basic, object], digits: int) -> object:
    try:
        return evaluate(expr, point, digits=digits)
    except NUMERIC_ERRORS as error:
        return error
    except RESOURCE_ERRORS as error:
        return Unevaluable(type(error).__name__)


def _finite_real(value: object) -> bool:
    if isinstance(value, mpmath.mpc) and value.imag == 0:
        value = value.real
    return isinstance(value, mpmath.mpf) and bool(mpmath.isfinite(value))


def _real(value: object) -> mpmath.mpf:
    return value.real if isinstance(value, mpmath.mpc) else value


def _violated(left: object, right: object, relation: str, digits: int) -> bool | None:
    """True if ``left (relation) right`` fails beyond 10^(-digits/2)·max(1, |left|, |right|);
    None if the point cannot judge (neither side finite and real, or a side unevaluable)."""
    if isinstance(left, Unevaluable) or isinstance(right, Unevaluable):
        return None
    finite = _finite_real(left), _finite_real(right)
    if not all(finite):
        return True if any(finite) else None
    with mpmath.workdps(digits):
        a, b = _real(left), _real(right)
        tolerance = mpmath.mpf(10) ** (-(digits // 2)) * max(1, abs(a), abs(b))
        gap = {"==": abs(a - b), ">=": b - a, ">": b - a, "<=": a - b, "<": a - b}[relation]
        return bool(gap > tolerance)


def _sampled_symbols(c: Comparison, domains: Mapping[sp.Basic, Domain]) -> set[sp.Basic]:
    exprs = (c.left, c.right)
    symbols = set().union(*(e.free_symbols for e in exprs)) | set().union(*(e.atoms(sp.IndexedBase) for e in exprs))
    labels = {b.label for e in exprs for b in e.atoms(sp.IndexedBase)}
    symbols = {s for s in symbols if not isinstance(s, sp.Indexed) and s not in labels}
    return {s for s in symbols if domains.get(s) == CLASS_COUNT or s not in set().union(*map(class_counts, exprs))}


def _scope_for(claim: Claim, expr: sp.Expr) -> Scope:
    domains = _domains(claim, expr)
    return Scope(tuple(Var(s, d, str(s)) for s, d in domains.items()))


def _near_point(claim: Claim, points: list[dict]) -> list[dict]:
    """Minimizer: the points again with var just beside the claimed minimizer."""
    domain = claim.scope.domains().get(claim.var, REAL)
    if not isinstance(claim.var, sp.Symbol) or domain.is_finite_set:
        return []
    near = []
    for point in points:
        at = _value(_elementary(claim.point), point, HIGH_DIGITS)
        if not _finite_real(at):
            continue
        centre = Fraction(str(mpmath.nstr(_real(at), 40, min_fixed=-mpmath.inf, max_fixed=mpmath.inf)))
        for step in (Fraction(1, 10), Fraction(-1, 10), Fraction(1, 1000), Fraction(-1, 1000)):
            if domain.contains(centre + step):
                near.append({**point, claim.var: centre + step})
    return near


def numeric_check(claim: Claim, c: Comparison, *, n: int = SAMPLED_POINTS, seed: int = 0) -> NumericCheck:
    """Compare both sides at sampled points at 30 digits; a disagreement is
    kept only if it is confirmed at 60 digits."""
    scope = _scope_for(claim, c.left - c.right)
    points = sample_points(scope, _sampled_symbols(c, scope.domains()), n, seed, claim.given)
    if claim.kind is ClaimKind.MINIMIZER:
        points = _near_point(claim, points) + points
    agreeing = 0
    for point in points:
        verdict = _violated(_value(c.left, point, LOW_DIGITS), _value(c.right, point, LOW_DIGITS), c.relation,
                            LOW_DIGITS)
        if verdict:
            left, right = _value(c.left, point, HIGH_DIGITS), _value(c.right, point, HIGH_DIGITS)
            if _violated(left, right, c.relation, HIGH_DIGITS):
                return NumericCheck(agreeing, Disagreement(point, left, right))
        elif verdict is False:
            agreeing += 1
    if c.relation in ("<", ">"):
        return NumericCheck(agreeing, _touching(claim, c, scope))
    return NumericCheck(agreeing)


TOUCHING_CANDIDATES = (0, 1, -1)  # exact values tried for each variable, with the closed ends of its domain
MAX_TOUCHING_POINTS = 64


def _touching(claim: Claim, c: Comparison, scope: Scope) -> Disagreement | None:
    """A point where a strict ``left < right`` (or ``>``) fails by equality.

    Sampled points almost never hit the isolated points where both sides
    touch (exp(x) = x + 1 only at x = 0), so each scalar variable also takes
    0, 1, -1 and the closed ends of its interval; a point counts only if
    left - right is exactly zero there (SymPy, exact rationals) and both
    sides are finite reals at 60 digits.
    """
    domains = scope.domains()
    symbols = sorted(_sampled_symbols(c, domains), key=str)
    if any(isinstance(s, sp.IndexedBase) or domains.get(s, REAL).vector is not None for s in symbols):
        return None
    choices = []
    for s in symbols:
        domain = domains.get(s, REAL)
        ends = [e for e, is_open in ((domain.low, domain.low_open), (domain.high, domain.high_open))
                if e is not None and not is_open]
        choices.append([Fraction(v) for v in dict.fromkeys((*TOUCHING_CANDIDATES, *ends)) if domain.contains(v)])
    difference = c.left - c.right
    for values in islice(product(*choices), MAX_TOUCHING_POINTS):
        point = dict(zip(symbols, values, strict=True))
        if not all(holds(g, point) for g in claim.given):
            continue
        exact = difference.xreplace({s: sp.Rational(v.numerator, v.denominator) for s, v in point.items()})
        if exact.is_zero is not True:
            continue
        left, right = _value(c.left, point, HIGH_DIGITS), _value(c.right, point, HIGH_DIGITS)
        if _finite_real(left) and _finite_real(right):
            return Disagreement(point, left, right, exact=True)
    return None


# --------------------------------------------------------------------------- verdicts


def _text(value: object) -> str:
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_text(v) for v in value) + "]"
    if isinstance(value, Exception):
        return f"undefined ({type(value).__name__})"
    if isinstance(value, mpmath.mpf | mpmath.mpc):
        return mpmath.nstr(value, 20)
    return str(value)


def counterexample_of(point: Mapping[sp.Basic, object]) -> dict[str, str]:
    """{symbol name: exact value}; vectors as "[a, b, ...]"."""
    return {str(s): _text(v) for s, v in sorted(point.items(), key=lambda item: str(item[0]))}


def _refuted(d: Disagreement, c: Comparison, start: float) -> Verdict:
    sides = f"left side = {_text(d.left)}, right side = {_text(d.right)} (relation {c.relation})"
    confirmed = "equal exactly" if d.exact else f"confirmed at {LOW_DIGITS} and {HIGH_DIGITS} digits"
    detail = f"{sides}, {confirmed}"
    return Verdict("refuted", "numeric counterexample", time.perf_counter() - start, counterexample_of(d.point), detail)


def _tried(claim: Claim) -> str:
    if claim.kind is ClaimKind.LIMIT:
        return "sympy.limit"
    if claim.kind in (ClaimKind.IDENTITY, ClaimKind.DERIVATIVE):
        return ", ".join(s.name for s in ZERO_STRATEGIES)
    return ", ".join(s.name for s in SIGN_STRATEGIES)


def prove(claim: Claim, *, budget: float = 20.0) -> Verdict:
    """Prove, refute, or give up on ``claim`` within ``budget`` seconds.

    Numeric falsification first (cheap); then the symbolic strategies in a
    child process killed at the budget; a symbolic proof counts only if at
    least 20 sampled points agreed numerically.
    """
    start = time.perf_counter()
    if claim.kind is ClaimKind.LIMIT:
        return _prove_limit(claim, budget, start)
    c = comparison(claim)
    # The numeric check runs under the budget too: one evaluation can take
    # unbounded time or memory (nested sums, towers of exponentials).
    check = run_with_budget(partial(numeric_check, claim, c), budget)
    if not isinstance(check, NumericCheck):
        return Verdict("unknown", "numeric check did not finish within the budget", time.perf_counter() - start,
                       detail="not evaluated")
    if check.disagreement is not None:
        return _refuted(check.disagreement, c, start)
    outcome = run_with_budget(partial(_guarded, partial(_symbolic, claim)), budget - (time.perf_counter() - start))
    return _decide(claim, check, outcome, start)


def _decide(claim: Claim, check: NumericCheck, outcome: Outcome | None, start: float) -> Verdict:
    seconds = time.perf_counter() - start
    consistent = "numerically consistent" if check.agreeing >= MIN_AGREEING_POINTS else (
        f"only {check.agreeing} sampled points could be evaluated"
    )
    if outcome is not None and outcome.proved:
        if check.agreeing >= MIN_AGREEING_POINTS:
            return Verdict("proved", outcome.method, seconds, detail=f"{check.agreeing} points agree",
                           scope=outcome.scope)
        return Verdict("unknown", f"{outcome.method} (numeric cross-check incomplete)", seconds, detail=consistent)
    why = "budget exhausted" if outcome is None else outcome.method
    return Verdict("unknown", f"tried {_tried(claim)}: {why}", seconds, detail=consistent)


# --------------------------------------------------------------------------- limits


def _approach(point: sp.Expr) -> list[tuple[sp.Expr, ...]]:
    """Sequences of values tending to the point (one per side for a finite point)."""
    if point == sp.oo:
        return [(sp.Integer(10) ** 3, sp.Integer(10) ** 6, sp.Integer(10) ** 9)]
    if point == -sp.oo:
        return [(-sp.Integer(10) ** 3, -sp.Integer(10) ** 6, -sp.Integer(10) ** 9)]
    steps = [sp.Integer(10) ** -n for n in (3, 6, 9)]
    return [tuple(point + s for s in steps), tuple(point - s for s in steps)]


def _limit_points(claim: Claim, f: sp.Expr) -> list[dict]:
    others = Comparison(f, sp.S.Zero, "==")
    scope = _scope_for(claim, f)
    symbols = _sampled_symbols(others, scope.domains()) - {claim.var}
    return sample_points(scope, symbols, 5, 0, claim.given)


def _approach_gaps(f: sp.Expr, claim: Claim, target: sp.Expr, point: dict) -> list[object]:
    """|f(v) - target| along each approach sequence (last value of each)."""
    gaps = []
    for sequence in _approach(claim.point):
        values = [_value(f, {**point, claim.var: v}, LOW_DIGITS) for v in sequence]
        goal = _value(target, point, LOW_DIGITS)
        gaps.append([abs(_real(v) - _real(goal)) if _finite_real(v) and _finite_real(goal) else None
                     for v in values])
    return gaps


def _approaches(gaps: list[list[object]], scale: object) -> bool:
    """Each sequence ends within 10^-3 of the target, or its gaps shrink."""
    return all(
        g[-1] is not None and (g[-1] <= mpmath.mpf("1e-3") * max(1, abs(scale)) or g[-1] < g[0]) for g in gaps
    )


def _prove_limit(claim: Claim, budget: float, start: float) -> Verdict:
    """sympy.limit under the budget; proved when it equals the claim and the values
    approaching the point confirm it; refuted when the limit differs from the claim at a
    point of the other variables (two precisions) and the values approach the limit."""
    f, rhs = _elementary(claim.lhs), _elementary(claim.rhs)
    remaining = budget - (time.perf_counter() - start)
    outcome = run_with_budget(partial(_guarded, partial(_symbolic_limit, claim)), remaining)
    points = _limit_points(claim, f)
    seconds = time.perf_counter() - start
    if outcome is None or outcome.value is None:
        return Verdict("unknown", f"tried sympy.limit: {'budget exhausted' if outcome is None else outcome.method}",
                       seconds)
    for point in points:
        claimed, computed = _value(rhs, point, LOW_DIGITS), _value(outcome.value, point, LOW_DIGITS)
        if _violated(computed, claimed, "==", LOW_DIGITS) and _violated(
            _value(outcome.value, point, HIGH_DIGITS), _value(rhs, point, HIGH_DIGITS), "==", HIGH_DIGITS
        ) and _approaches(_approach_gaps(f, claim, outcome.value, point), computed):
            last = _approach(claim.point)[0][-1]
            near = _value(f, {**point, claim.var: last}, LOW_DIGITS)
            detail = (f"limit is {outcome.value} = {_text(computed)}, claimed {_text(claimed)}; "
                      f"at {claim.var} = {last} the expression is {_text(near)}")
            return Verdict("refuted", "sympy.limit, confirmed numerically approaching the point",
                           time.perf_counter() - start, counterexample_of({**point, claim.var: last}), detail)
    if outcome.proved and points and all(
        _approaches(_approach_gaps(f, claim, rhs, p), _value(rhs, p, LOW_DIGITS)) for p in points
    ):
        return Verdict("proved", f"{outcome.method}; values approaching the point agree",
                       time.perf_counter() - start)
    return Verdict("unknown", f"tried {outcome.method}", time.perf_counter() - start,
                   detail="limit and approach values inconclusive")


# --------------------------------------------------------------------------- many claims


def prove_many(claims: Sequence[Claim], budget: float = 20.0, workers: int = 2) -> list[Verdict]:
    """Prove claims in parallel worker processes; verdicts in input order."""
    return list(iter_prove(claims, budget=budget, workers=workers))


def iter_prove(claims: Sequence[Claim], budget: float = 20.0, workers: int = 2) -> Iterator[Verdict]:
    """Verdicts of ``claims`` in input order, each yielded as soon as it and
    all before it are decided (claims run in parallel worker processes)."""
    claims = list(claims)
    if workers <= 1 or len(claims) <= 1:
        yield from (prove(c, budget=budget) for c in claims)
        return
    yield from map_in_workers(partial(prove, budget=budget), claims, workers)
