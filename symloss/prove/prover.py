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

This module decides: it splits finite-set variables into cases, turns class-vector
goals into goals for symbolic K or K = 2..5, and weighs the symbolic outcome against
the numeric check.  The pieces: :mod:`~symloss.prove.claims` (a claim as goals and as a
comparison), :mod:`~symloss.prove.strategies` and :mod:`~symloss.prove.class_sums` (the
symbolic strategies), :mod:`~symloss.prove.numeric_check` (the cross-check and
counterexamples), :mod:`~symloss.prove.limits` (limit claims),
:mod:`~symloss.prove.budget` (the child process) and :mod:`~symloss.prove.verdict`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from fractions import Fraction
from functools import partial
from itertools import product

import sympy as sp

from symloss.declare.loss import Claim, ClaimKind
from symloss.prove.budget import Outcome, guarded, run_with_budget
from symloss.prove.claims import Comparison, claim_goals, comparison
from symloss.prove.class_sums import vector_forms
from symloss.prove.goal import MAX_CASES, Goal
from symloss.prove.limits import prove_limit
from symloss.prove.numeric_check import HIGH_DIGITS, LOW_DIGITS, Disagreement, NumericCheck, numeric_check
from symloss.prove.strategies import SIGN_STRATEGIES, ZERO_STRATEGIES, prove_core, strategies_for
from symloss.prove.verdict import Verdict, counterexample_of, text
from symloss.prove.workers import map_in_workers

MIN_AGREEING_POINTS = 20


def _finite_cases(goal: Goal) -> list[dict[sp.Basic, sp.Expr]]:
    """Every combination of values of the finite-set variables in the goal."""
    symbols = sorted((s for s in goal.expr.free_symbols if s in goal.domains and goal.domains[s].is_finite_set),
                     key=str)
    values = [[sp.Rational(Fraction(v)) for v in goal.domains[s].values] for s in symbols]
    return [dict(zip(symbols, combo, strict=True)) for combo in product(*values)]


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
    for scope, goals in vector_forms(goal):
        methods = [prove_core(g, strategies_for(g)) for g in goals]
        if all(methods):
            return " / ".join(dict.fromkeys(m for m in methods if m)), scope
    return None


def _symbolic(claim: Claim) -> Outcome:
    """Try each alternative set of goals; all goals of a set must be proved."""
    for name, goals in claim_goals(claim):
        proofs = [_prove_goal(g) for g in goals]
        if all(proofs):
            methods = " & ".join(dict.fromkeys(p[0] for p in proofs if p))
            scope = " & ".join(sorted({p[1] for p in proofs if p and p[1]}))
            return Outcome(True, f"{name}: {methods}" if name else methods, scope)
    return Outcome(False, "no strategy succeeded")


def _refuted(d: Disagreement, c: Comparison, start: float) -> Verdict:
    sides = f"left side = {text(d.left)}, right side = {text(d.right)} (relation {c.relation})"
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
        return prove_limit(claim, budget, start)
    c = comparison(claim)
    # The numeric check runs under the budget too: one evaluation can take
    # unbounded time or memory (nested sums, towers of exponentials).
    check = run_with_budget(partial(numeric_check, claim, c), budget)
    if not isinstance(check, NumericCheck):
        return Verdict("unknown", "numeric check did not finish within the budget", time.perf_counter() - start,
                       detail="not evaluated")
    if check.disagreement is not None:
        return _refuted(check.disagreement, c, start)
    outcome = run_with_budget(partial(guarded, partial(_symbolic, claim)), budget - (time.perf_counter() - start))
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
