"""Tests for symloss.prove.numeric_check: points beyond reach judge nothing, and the
check itself runs under the budget."""

from __future__ import annotations

import time
from fractions import Fraction

import sympy as sp

from symloss.declare.loss import identity
from symloss.declare.notation import CLASS_COUNT, Scope, var, vector
from symloss.prove.numeric import evaluate
from symloss.prove.prover import prove

x = sp.Symbol("x", real=True)
K_ = var("K", CLASS_COUNT)


def test_towers_of_exponentials_neither_crash_nor_refute_a_true_claim() -> None:
    """exp(exp(exp(x))) exhausts memory at some sampled points; such a point
    judges nothing (regression: a MemoryError escaped from the numeric check)."""
    scope = Scope((var("x"),))
    tower = sp.exp(sp.exp(sp.exp(x)))
    assert prove(identity("log of a tower", sp.log(tower), sp.exp(sp.exp(x)), scope=scope), budget=10).status == (
        "proved"
    )
    false = prove(identity("tower is 1", tower, sp.Integer(1), scope=scope), budget=10)
    assert false.status == "refuted"
    wrong = prove(identity("off by one", sp.log(tower), sp.exp(sp.exp(x)) + 1, scope=scope), budget=10)
    assert wrong.status == "refuted"
    point = {x: Fraction(wrong.counterexample["x"])}
    assert abs(evaluate(sp.log(tower), point, digits=60) - evaluate(sp.exp(sp.exp(x)) + 1, point, digits=60)) > 0.5


def test_the_numeric_check_runs_under_the_budget() -> None:
    """A claim whose every evaluation takes ~10^9 steps ends as unknown at the
    budget (regression: the numeric check ran unbudgeted in the parent)."""
    yv_real = vector("y")
    a, b, c = (sp.Symbol(n, integer=True) for n in "abc")
    body = yv_real.symbol[a] * yv_real.symbol[b] * yv_real.symbol[c]
    huge = sp.Sum(sp.Sum(sp.Sum(body, (a, 1, 1000)), (b, 1, 1000)), (c, 1, 1000))
    claim = identity("a billion terms", huge, sp.Integer(1), scope=Scope((yv_real, K_)))
    start = time.perf_counter()
    verdict = prove(claim, budget=1.0)
    assert time.perf_counter() - start < 30  # a hang guard, not a speed requirement
    assert verdict.status == "unknown" and "budget" in verdict.method


