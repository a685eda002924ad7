"""Tests for symloss.prove.class_sums: claims over a class vector of symbolic length K,
proved for symbolic K (sums merged by linearity) or, failing that, for K = 2..5."""

from __future__ import annotations

import pytest
import sympy as sp

from symloss.declare.loss import derivative, identity
from symloss.declare.notation import CLASS_COUNT, POSITIVE, SIMPLEX, Scope, index, var, vector
from symloss.prove import class_sums
from symloss.prove.goal import Goal
from symloss.prove.prover import prove

LOGITS, PROBS = vector("z"), vector("y", SIMPLEX)
K_, KI, KJ, KK = var("K", CLASS_COUNT), index("i"), index("j"), index("k")
zv, yv, K, i, j, k = LOGITS.symbol, PROBS.symbol, K_.symbol, KI.symbol, KJ.symbol, KK.symbol
VECTORS = Scope((LOGITS, PROBS, KI, KJ, KK, K_))
SOFTMAX_I = sp.exp(zv[i]) / sp.Sum(sp.exp(zv[j]), (j, 1, K))


def test_a_claim_proved_only_for_explicit_k_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(class_sums, "_symbolic_k", lambda expr, given: sp.Symbol("unprovable"))
    claim = identity("softmax sums to 1", sp.Sum(sp.exp(zv[k]) / sp.Sum(sp.exp(zv[j]), (j, 1, K)), (k, 1, K)), 1,
                     scope=VECTORS)
    verdict = prove(claim)
    assert verdict.status == "proved"
    assert verdict.scope == "K = 2..5"


# --------------------------------------------------------------------------- class sums merged by linearity

GAMMA = var("gamma", POSITIVE)
gamma = GAMMA.symbol
P_K = sp.exp(zv[k]) / sp.Sum(sp.exp(zv[j]), (j, 1, K))
FOCAL_SCOPE = VECTORS + Scope((GAMMA,))


def _merged(lhs: sp.Expr, rhs: sp.Expr) -> bool:
    goal = Goal(class_sums._symbolic_k(lhs - rhs, ()), "==", FOCAL_SCOPE.domains())
    return class_sums.zero_by_merged_sums(goal)


def test_summands_written_differently_are_merged_and_cancelled() -> None:
    # (1 - p)^(gamma - 1) p = (1 - p)^gamma p / (1 - p): equal summands that SymPy keeps as different sums
    lhs = sp.Sum(yv[k] * (1 - P_K) ** (gamma - 1) * P_K, (k, 1, K)) * SOFTMAX_I
    rhs = SOFTMAX_I * sp.Sum(yv[k] * (1 - P_K) ** gamma * P_K / (1 - P_K), (k, 1, K))
    assert lhs - rhs != 0 and class_sums._symbolic_k(lhs - rhs, ()) != 0
    assert _merged(lhs, rhs)


@pytest.mark.parametrize("wrong", [
    lambda s: -s,  # a sign flipped
    lambda s: s.func(s.function.subs(gamma, gamma + 1), *s.limits),  # a wrong exponent inside the sum
    lambda s: s + SOFTMAX_I,  # an extra term outside the sum
])
def test_merged_sums_do_not_prove_a_wrong_identity(wrong: object) -> None:
    lhs = sp.Sum(yv[k] * (1 - P_K) ** (gamma - 1) * P_K, (k, 1, K))
    rhs = sp.Sum(yv[k] * (1 - P_K) ** gamma * P_K / (1 - P_K), (k, 1, K))
    assert _merged(lhs, rhs)
    assert not _merged(lhs, wrong(rhs))


def test_inner_sums_become_symbols_only_when_they_mention_no_outer_index() -> None:
    inner = sp.Sum(sp.exp(zv[j]), (j, 1, K))
    shared = sp.Sum(zv[k] / inner, (k, 1, K)) + inner
    abstracted = class_sums._closed_sums_as_symbols(shared)
    assert len(abstracted.atoms(sp.Sum)) == 1 and not abstracted.atoms(sp.Sum).pop().function.has(sp.Sum)
    dependent = sp.Sum(sp.Sum(zv[j] * zv[k], (j, 1, k)), (k, 1, K))  # the inner sum's range mentions k
    assert class_sums._closed_sums_as_symbols(dependent) == dependent


def _focal_forms() -> tuple[sp.Expr, sp.Expr, sp.Expr, sp.Expr]:
    """Softmax focal loss, its closed-form gradient and diagonal Hessian (as in derivations/multiclass.py),
    and the weight sum W = sum_k y_k w(p_k) they share."""
    p_i = SOFTMAX_I

    def m(q: sp.Expr) -> sp.Expr:
        return q * sp.log(q) / (1 - q)

    def w_(q: sp.Expr) -> sp.Expr:
        return (1 - q) ** gamma * (gamma * m(q) - 1)

    def v_(q: sp.Expr) -> sp.Expr:
        return gamma * (1 - q) ** gamma * (2 * q + (1 - gamma * q) * m(q)) / (1 - q)

    loss = -sp.Sum(yv[k] * (1 - P_K) ** gamma * sp.log(P_K), (k, 1, K))
    weights = sp.Sum(yv[k] * w_(P_K), (k, 1, K))
    gradient = yv[i] * w_(p_i) - p_i * weights
    hessian = (yv[i] * v_(p_i) * (1 - p_i) ** 2 + p_i ** 2 * (sp.Sum(yv[k] * v_(P_K), (k, 1, K)) - yv[i] * v_(p_i))
               - p_i * (1 - p_i) * weights)
    return loss, gradient, hessian, weights


def test_softmax_focal_closed_forms_are_proved_for_symbolic_k() -> None:
    loss, gradient, hessian, _ = _focal_forms()
    for of, equals in ((loss, gradient), (gradient, hessian)):
        verdict = prove(derivative("softmax focal closed form", of, zv[i], equals, scope=FOCAL_SCOPE), budget=30)
        assert verdict.status == "proved", verdict
        assert verdict.scope == "symbolic K"


@pytest.mark.parametrize("which", ["gradient", "hessian"])
def test_softmax_focal_closed_forms_with_a_sign_flipped_are_refuted(which: str) -> None:
    loss, gradient, hessian, weights = _focal_forms()
    p_i = SOFTMAX_I
    if which == "gradient":  # y_i w_i + p_i W instead of y_i w_i - p_i W
        claim = derivative("flipped", loss, zv[i], gradient + 2 * p_i * weights, scope=FOCAL_SCOPE)
    else:  # + p_i (1 - p_i) W instead of - p_i (1 - p_i) W
        claim = derivative("flipped", gradient, zv[i], hessian + 2 * p_i * (1 - p_i) * weights, scope=FOCAL_SCOPE)
    verdict = prove(claim, budget=30)
    assert verdict.status == "refuted", verdict
    assert verdict.counterexample is not None
