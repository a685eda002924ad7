"""The symbolic strategies, as data: named predicates in two declared tuples, tried in
order, cheap ones first.

``ZERO_STRATEGIES`` prove ``expr == 0``: cancel, expand, class sums merged by linearity,
logs expanded under the domain's assumptions (never ``force=True``), exponentials as
powers, region by region for piecewise functions, interval substitution, simplify.

``SIGN_STRATEGIES`` prove ``expr >= 0`` or ``expr > 0``: the domain's assumptions,
factors or terms of known sign, bounded variables as maps of a positive parameter
(x ∈ (0, 1) as t/(1 + t)), convexity with a stationary point (f'' ≥ 0 and f'(p) = 0, so
min f = f(p)), monotonicity from an end of the interval, region by region.

Several strategies prove subgoals (f'(p) = 0, f'' ≥ 0, a denominator > 0) with the
tuples themselves, so they live beside them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction
from itertools import product

import sympy as sp

from symloss.declare.notation import REAL, Domain
from symloss.prove.class_sums import zero_by_merged_sums
from symloss.prove.goal import MAX_CASES, Goal, Strategy, is_zero

PIECEWISE_FUNCTIONS = (sp.Max, sp.Min, sp.Abs, sp.Heaviside, sp.sign, sp.Piecewise)


def _reduces_to_zero(transform: Callable[[sp.Expr], sp.Expr]) -> Callable[[Goal], bool]:
    return lambda goal: is_zero(transform(goal.expr))


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
    return cases is not None and all(is_zero(_log_normal(case)) for case in cases)


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
    if prove_core(goal.at(sp.denom(sp.together(f)), ">"), SIGN_STRATEGIES[:4]) is None:
        return False  # a pole inside the interval would break the argument
    slope = sp.diff(f, v)
    for end, direction in ((domain.low, slope), (domain.high, -slope)):
        start = None if end is None else f.subs(v, sp.Rational(Fraction(end)))
        if start is not None and start.is_finite and _signed(start, strict) and (
            prove_core(goal.at(direction, ">="), SIGN_STRATEGIES[:4])
        ):
            return True
    return False


def in_domain(point: sp.Expr, domain: Domain, goal: Goal) -> bool:
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
    return all(prove_core(goal.at(sp.sympify(e), r), SIGN_STRATEGIES) for e, r in bounds)


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
        in_domain(p, goal.domains.get(v, REAL), goal)
        and prove_core(goal.at(slope.subs(v, p), "=="), ZERO_STRATEGIES)
        and prove_core(goal.at(f.subs(v, p), relation), SIGN_STRATEGIES)
        and prove_core(goal.at(sp.diff(slope, v), ">="), SIGN_STRATEGIES)
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
        return lambda piece: any(is_zero(f(piece)) for f in (sp.cancel, _log_normal, _exp_normal))
    return lambda piece: prove_core(goal.at(piece), SIGN_STRATEGIES[:4]) is not None


def _by_regions(goal: Goal) -> bool:
    """Region by region: each piece of the folded Piecewise holds on its region."""
    if not _has_piecewise(goal.expr):
        return False
    holds = _piece_holds(goal)
    return all(_on_region(piece, region, holds) for piece, region in _regions(goal.expr))


ZERO_STRATEGIES: tuple[Strategy, ...] = (
    Strategy("cancel", _reduces_to_zero(sp.cancel)),
    Strategy("expand and cancel", _reduces_to_zero(lambda e: sp.cancel(sp.expand(e)))),
    Strategy("class sums merged by linearity, inner sums as symbols, then cancel", zero_by_merged_sums),
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


def prove_core(goal: Goal, strategies: Sequence[Strategy]) -> str | None:
    """The name of the first strategy that proves the goal, or None."""
    for strategy in strategies:
        if strategy.holds(goal):
            return strategy.name
    return None


def strategies_for(goal: Goal) -> tuple[Strategy, ...]:
    return ZERO_STRATEGIES if goal.relation == "==" else SIGN_STRATEGIES
