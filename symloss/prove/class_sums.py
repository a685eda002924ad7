r"""Claims over a class vector of symbolic length K.

Two jobs for sums over the classes:

* a zero strategy: sums inside sums that mention no outer index (:math:`\sum_j e^{z_j}`)
  become symbols, the remaining class sums are merged into one summand by linearity
  (:math:`\sum_k f(k) - \sum_k g(k) = \sum_k (f(k) - g(k))`), and the sum-free part and
  the summand each cancel to 0;
* the vector forms of a goal: for symbolic K (sums evaluated term by term, the
  index-range Piecewise dropped, sums factored, summation indices named canonically,
  given sums such as :math:`\sum_k y_k = 1` substituted) and, failing that, for
  K = 2..5 with explicit entries (the given equations solved for the last entry).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from itertools import product

import sympy as sp
from sympy.simplify.simplify import factor_sum

from symloss.prove.goal import Goal, is_zero
from symloss.prove.numeric import class_counts, structural_symbols

EXPLICIT_K = (2, 3, 4, 5)


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


def zero_by_merged_sums(goal: Goal) -> bool:
    """Closed sums as symbols; the remaining class sums merged into one summand by linearity;
    the sum-free part and the summand each cancel to 0 (then so does their total)."""
    if not goal.expr.has(sp.Sum):
        return False
    rest, summands = _merged_sums(_closed_sums_as_symbols(goal.expr))
    if rest.has(sp.Sum) or any(f.has(sp.Sum) for f in summands):
        return False
    return all(is_zero(_zero_normal(part)) for part in (rest, *summands))


def _same_sum(candidate: sp.Sum, target: sp.Sum) -> bool:
    """Equal sums up to the name of the summation index."""
    if not isinstance(candidate, sp.Sum) or len(candidate.limits) != 1 or len(target.limits) != 1:
        return False
    (k, a, b), (j, c, d) = candidate.limits[0], target.limits[0]
    return (a, b) == (c, d) and candidate.function.xreplace({k: j}) == target.function


def use_given(expr: sp.Expr, given: Sequence[sp.Eq]) -> sp.Expr:
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


def drop_index_range(expr: sp.Expr, counts: set[sp.Symbol]) -> sp.Expr:
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
    expr = drop_index_range(_evaluate_sums(expr), counts)
    expr = sp.expand(expr).replace(lambda e: isinstance(e, sp.Sum), factor_sum)
    names = [sp.Dummy(f"k{d}", integer=True, positive=True) for d in range(len(expr.atoms(sp.Sum)) + 1)]
    return sp.expand(use_given(_canonical_indices(expr, names), given))


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


def vector_forms(goal: Goal) -> Iterator[tuple[str, list[Goal]]]:
    """The goal as proved for symbolic K, then for K = 2..5 (explicit entries)."""
    if not class_counts(goal.expr) and not goal.expr.has(sp.Indexed):
        yield "", [goal]
        return
    if class_counts(goal.expr):
        yield "symbolic K", [replace(goal, expr=_symbolic_k(goal.expr, goal.given))]
        yield f"K = {EXPLICIT_K[0]}..{EXPLICIT_K[-1]}", _explicit_k_goals(goal)
    else:
        yield "", [replace(goal, expr=use_given(goal.expr.doit(), goal.given))]
