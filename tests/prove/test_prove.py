"""Tests for symloss.prove.prover: true claims proved, false claims refuted with a real
counterexample, budgets enforced, and the known SymPy traps avoided."""

from __future__ import annotations

import os
import time
from fractions import Fraction

import mpmath
import pytest
import sympy as sp
from sympy.core.random import verify_numerically

from symloss.declare.functions import sigmoid, softplus, to_elementary
from symloss.declare.loss import Claim, ClaimKind, derivative, identity, inequality, limit, minimizer, sign
from symloss.declare.notation import (
    BINARY,
    CLASS_COUNT,
    POSITIVE,
    SIMPLEX,
    UNIT_CLOSED,
    UNIT_OPEN,
    Scope,
    index,
    var,
    vector,
)
from symloss.prove import strategies
from symloss.prove.claims import comparison
from symloss.prove.goal import Goal, Strategy
from symloss.prove.numeric import evaluate
from symloss.prove.prover import prove, prove_many
from symloss.prove.verdict import Verdict

Z, Y_BIN, Y_SOFT = var("z"), var("y", BINARY), var("y", UNIT_CLOSED)
P, Q = var("p", UNIT_OPEN), var("q", UNIT_OPEN)
R, DELTA = var("r"), var("delta", POSITIVE)
X_POS, W_POS = var("x", POSITIVE), var("w", POSITIVE)
z, p, q, r, delta = Z.symbol, P.symbol, Q.symbol, R.symbol, DELTA.symbol
x, w = sp.symbols("x w", real=True)
y, ys = Y_BIN.symbol, Y_SOFT.symbol

LOGITS, PROBS = vector("z"), vector("y", SIMPLEX)
K_, KI, KJ, KK = var("K", CLASS_COUNT), index("i"), index("j"), index("k")
zv, yv, K, i, j, k = LOGITS.symbol, PROBS.symbol, K_.symbol, KI.symbol, KJ.symbol, KK.symbol
VECTORS = Scope((LOGITS, PROBS, KI, KJ, KK, K_))
SIMPLEX_SUM = (sp.Eq(sp.Sum(yv[k], (k, 1, K)), 1),)
SOFTMAX_I = sp.exp(zv[i]) / sp.Sum(sp.exp(zv[j]), (j, 1, K))
SOFTMAX_CE = -sp.Sum(yv[k] * sp.log(sp.exp(zv[k]) / sp.Sum(sp.exp(zv[j]), (j, 1, K))), (k, 1, K))

BCE = -(y * sp.log(sigmoid(z)) + (1 - y) * sp.log(1 - sigmoid(z)))
BCE_SOFT = -(ys * sp.log(sigmoid(z)) + (1 - ys) * sp.log(1 - sigmoid(z)))
EXPECTED_LOG_LOSS = -(p * sp.log(q) + (1 - p) * sp.log(1 - q))
KL2 = p * sp.log(p / q) + (1 - p) * sp.log((1 - p) / (1 - q))
ENTROPY2 = -(p * sp.log(p) + (1 - p) * sp.log(1 - p))
HUBER = sp.Piecewise((r**2 / 2, sp.Abs(r) <= delta), (delta * (sp.Abs(r) - delta / 2), True))
EXPECTED_HINGE = p * sp.Max(0, 1 - z) + (1 - p) * sp.Max(0, 1 + z)

S_Z, S_BCE, S_SOFT = Scope((Z,)), Scope((Z, Y_BIN)), Scope((Z, Y_SOFT))
S_PQ, S_HUBER, S_PZ = Scope((P, Q)), Scope((R, DELTA)), Scope((P, Z))

TRUE_CLAIMS = [
    derivative("sigmoid derivative", sigmoid(z), z, sigmoid(z) * (1 - sigmoid(z)), scope=S_Z),
    derivative("BCE-with-logits gradient, y in {0,1}", BCE, z, sigmoid(z) - y, scope=S_BCE),
    derivative("BCE-with-logits gradient, y in [0,1]", BCE_SOFT, z, sigmoid(z) - ys, scope=S_SOFT),
    derivative("BCE-with-logits curvature", BCE_SOFT, z, sigmoid(z) * (1 - sigmoid(z)), order=2, scope=S_SOFT),
    derivative("softplus derivative", softplus(z), z, sigmoid(z), scope=S_Z),
    derivative("MSE gradient", (x - w) ** 2, x, 2 * (x - w)),
    identity("log sigmoid = -softplus(-z)", sp.log(sigmoid(z)), -softplus(-z), scope=S_Z),
    identity("1 - sigmoid(z) = sigmoid(-z)", 1 - sigmoid(z), sigmoid(-z), scope=S_Z),
    identity("tanh = 2 sigmoid(2x) - 1", sp.tanh(x), 2 * sigmoid(2 * x) - 1),
    identity("softplus(z) - softplus(-z) = z", softplus(z) - softplus(-z), z, scope=S_Z),
    identity("Max(x, 0) + Min(x, 0) = x", sp.Max(x, 0) + sp.Min(x, 0), x),
    identity("Abs(x) = Max(x, -x)", sp.Abs(x), sp.Max(x, -x)),
    identity("Max(x, 0) = (x + |x|)/2", sp.Max(x, 0), (x + sp.Abs(x)) / 2),
    identity("Huber pieces meet at r = delta", (r**2 / 2).subs(r, delta), delta * (delta - delta / 2),
             scope=S_HUBER),
    derivative("Huber gradient (C1 pieces)", HUBER, r,
               sp.Piecewise((r, sp.Abs(r) <= delta), (delta * sp.sign(r), True)), scope=S_HUBER),
    identity("cross-entropy = entropy + KL (K = 2)", EXPECTED_LOG_LOSS, ENTROPY2 + KL2, scope=S_PQ),
    sign("KL >= 0 for K = 2 (Gibbs)", KL2, ">=", var=q, point=p, scope=S_PQ),
    sign("softplus is strictly convex", sp.diff(softplus(z), z, 2), ">", scope=S_Z),
    sign("squares are nonnegative", (x - w) ** 2, ">="),
    sign("Max(x, 0) >= 0", sp.Max(x, 0), ">="),
    inequality("log(1 + x) <= x for x > 0", sp.log(1 + X_POS.symbol), "<=", X_POS.symbol, scope=Scope((X_POS,))),
    minimizer("log loss is proper", EXPECTED_LOG_LOSS, q, p, scope=S_PQ),
    minimizer("squared error is proper", p * (1 - q) ** 2 + (1 - p) * q**2, q, p, scope=S_PQ),
    limit("sigmoid at +oo", sigmoid(z), z, sp.oo, 1, scope=S_Z),
    limit("softplus(z) - z at +oo", softplus(z) - z, z, sp.oo, 0, scope=S_Z),
    derivative("softmax CE gradient, symbolic K", SOFTMAX_CE, zv[i], SOFTMAX_I - yv[i], scope=VECTORS,
               given=SIMPLEX_SUM),
    identity("softmax sums to 1, symbolic K", sp.Sum(sp.exp(zv[k]) / sp.Sum(sp.exp(zv[j]), (j, 1, K)), (k, 1, K)),
             1, scope=VECTORS),
    derivative("logsumexp gradient is softmax", sp.log(sp.Sum(sp.exp(zv[k]), (k, 1, K))), zv[i], SOFTMAX_I,
               scope=VECTORS),
]

FALSE_CLAIMS = [
    derivative("missing chain-rule factor", sigmoid(z) ** 2, z, 2 * sigmoid(z), scope=S_Z),
    derivative("sigmoid derivative, sign error", sigmoid(z), z, sigmoid(z) * (1 + sigmoid(z)), scope=S_Z),
    derivative("BCE gradient, sign error", BCE, z, y - sigmoid(z), scope=S_BCE),
    derivative("soft BCE gradient, wrong sign of y", BCE_SOFT, z, sigmoid(z) + ys, scope=S_SOFT),
    derivative("softplus derivative is sigmoid(-z)", softplus(z), z, sigmoid(-z), scope=S_Z),
    derivative("softplus second derivative is sigmoid", softplus(z), z, sigmoid(z), order=2, scope=S_Z),
    derivative("MSE gradient missing the 2", (x - w) ** 2, x, x - w),
    derivative("log cosh gradient, sign error", sp.log(sp.cosh(x)), x, -sp.tanh(x)),
    derivative("Huber gradient without sign(r)", HUBER, r, sp.Piecewise((r, sp.Abs(r) <= delta), (delta, True)),
               scope=S_HUBER),
    identity("sqrt(x^2) = x for real x", sp.sqrt(x**2), x),
    identity("log(xw) = log x + log w for real x, w", sp.log(x * w), sp.log(x) + sp.log(w)),
    identity("Abs(x) = x", sp.Abs(x), x),
    identity("a constant difference of 1e-12", x + sp.Rational(1, 10**12), x),
    identity("a float difference of 1e-12", sp.sin(x) + sp.Float("1e-12"), sp.sin(x)),
    identity("log sigmoid = -softplus(z)", sp.log(sigmoid(z)), -softplus(z), scope=S_Z),
    identity("1 - sigmoid = sigmoid", 1 - sigmoid(z), sigmoid(z), scope=S_Z),
    identity("softplus(z) - softplus(-z) = 2z", softplus(z) - softplus(-z), 2 * z, scope=S_Z),
    identity("tanh = 2 sigmoid(x) - 1", sp.tanh(x), 2 * sigmoid(x) - 1),
    identity("exp(x + w) = exp x + exp w", sp.exp(x + w), sp.exp(x) + sp.exp(w)),
    identity("KL with a sign error", KL2, p * sp.log(q / p) + (1 - p) * sp.log((1 - p) / (1 - q)), scope=S_PQ),
    identity("entropy without its minus", ENTROPY2, p * sp.log(p) + (1 - p) * sp.log(1 - p), scope=S_PQ),
    identity("cross-entropy = entropy - KL", EXPECTED_LOG_LOSS, ENTROPY2 - KL2, scope=S_PQ),
    identity("Max(x, 0) = x/2 + |x|", sp.Max(x, 0), x / 2 + sp.Abs(x)),
    sign("x^2 - 1 >= 0", x**2 - 1, ">="),
    sign("log p >= 0 on (0, 1)", sp.log(p), ">=", scope=S_PQ),
    sign("sigmoid(z) >= 1/2", sigmoid(z) - sp.Rational(1, 2), ">=", scope=S_Z),
    sign("KL(p||q) <= 0", KL2, "<=", scope=S_PQ),
    inequality("log(1 + x) >= x for x > 0", sp.log(1 + X_POS.symbol), ">=", X_POS.symbol, scope=Scope((X_POS,))),
    minimizer("hinge is proper", EXPECTED_HINGE, z, 2 * p - 1, scope=S_PZ),
    minimizer("log loss minimized at q = 1/2", EXPECTED_LOG_LOSS, q, sp.Rational(1, 2), scope=S_PQ),
    minimizer("squared error minimized at p^2", (q - p) ** 2, q, p**2, scope=S_PQ),
    derivative("softmax CE gradient = softmax - 2y, symbolic K", SOFTMAX_CE, zv[i], SOFTMAX_I - 2 * yv[i],
               scope=VECTORS, given=SIMPLEX_SUM),
    derivative("logsumexp gradient = softmax - y", sp.log(sp.Sum(sp.exp(zv[k]), (k, 1, K))), zv[i],
               SOFTMAX_I - yv[i], scope=VECTORS),
    identity("softmax sums to 2", sp.Sum(sp.exp(zv[k]) / sp.Sum(sp.exp(zv[j]), (j, 1, K)), (k, 1, K)), 2,
             scope=VECTORS),
]

FALSE_LIMITS = [
    limit("sigmoid at +oo is 0", sigmoid(z), z, sp.oo, 0, scope=S_Z),
    limit("sigmoid at -oo is 1/2", sigmoid(z), z, -sp.oo, sp.Rational(1, 2), scope=S_Z),
    limit("softplus(z) - z at +oo is 1", softplus(z) - z, z, sp.oo, 1, scope=S_Z),
]


def _symbols_by_name(claim: Claim) -> dict[str, sp.Basic]:
    c = comparison(claim)
    found = {}
    for e in (c.left, c.right, to_elementary(claim.lhs)):
        found |= {str(s): s for s in e.free_symbols if isinstance(s, sp.Symbol)}
        found |= {str(b): b for b in e.atoms(sp.IndexedBase)}
    found |= {str(s): s for s in claim.scope.domains()}
    return found


def _parse(text: str) -> object:
    if text.startswith("["):
        return tuple(Fraction(part) for part in text.strip("[]").split(","))
    return Fraction(text)


def _point(claim: Claim, verdict: Verdict) -> dict[sp.Basic, object]:
    names = _symbols_by_name(claim)
    return {names[name]: _parse(value) for name, value in verdict.counterexample.items()}


def _separates(left: object, right: object, relation: str) -> bool:
    real = [isinstance(v, mpmath.mpf) or (isinstance(v, mpmath.mpc) and v.imag == 0) for v in (left, right)]
    if not all(real):
        return any(real)
    a, b = (mpmath.re(v) for v in (left, right))
    gap = {"==": abs(a - b), ">=": b - a, ">": b - a, "<=": a - b, "<": a - b}[relation]
    return gap > mpmath.mpf(10) ** -20 * max(1, abs(a), abs(b))


def _value_or_error(expr: sp.Expr, point: dict) -> object:
    try:
        return evaluate(expr, point, digits=40)
    except (ValueError, ZeroDivisionError):
        return None


@pytest.mark.parametrize("claim", TRUE_CLAIMS, ids=lambda c: c.statement)
def test_true_claims_are_proved(claim: Claim) -> None:
    verdict = prove(claim, budget=20)
    assert verdict.status == "proved", verdict
    assert verdict.method and verdict.counterexample is None


@pytest.mark.parametrize("claim", FALSE_CLAIMS, ids=lambda c: c.statement)
def test_false_claims_are_refuted_at_a_separating_point(claim: Claim) -> None:
    verdict = prove(claim, budget=20)
    assert verdict.status == "refuted", verdict
    c = comparison(claim)
    point = _point(claim, verdict)
    assert _separates(_value_or_error(c.left, point), _value_or_error(c.right, point), c.relation)


@pytest.mark.parametrize("claim", FALSE_LIMITS, ids=lambda c: c.statement)
def test_false_limits_are_refuted_close_to_the_point(claim: Claim) -> None:
    verdict = prove(claim, budget=20)
    assert verdict.status == "refuted", verdict
    point = _point(claim, verdict)
    near, claimed = evaluate(to_elementary(claim.lhs), point, digits=40), evaluate(claim.rhs, point, digits=40)
    assert abs(near - claimed) > mpmath.mpf("1e-3")


def test_there_are_at_least_thirty_false_claims() -> None:
    assert len(FALSE_CLAIMS) + len(FALSE_LIMITS) >= 30


def test_log_of_product_trap() -> None:
    """expand_log(force=True) and verify_numerically (complex points) both pass
    log(xw) = log x + log w for all x, w; on the reals it is false."""
    false_identity = sp.log(x * w) - sp.log(x) - sp.log(w)
    assert sp.expand_log(false_identity, force=True) == 0
    assert verify_numerically(sp.log(x * w), sp.log(x) + sp.log(w))
    real = prove(identity("split log, real", sp.log(x * w), sp.log(x) + sp.log(w)))
    assert real.status == "refuted"
    assert Fraction(real.counterexample["x"]) < 0 and Fraction(real.counterexample["w"]) < 0
    xp, wp = X_POS.symbol, W_POS.symbol
    positive = identity("split log, positive", sp.log(xp * wp), sp.log(xp) + sp.log(wp), scope=Scope((X_POS, W_POS)))
    assert prove(positive).status == "proved"


@pytest.mark.parametrize(
    ("lhs", "rhs"), [(sp.Max(x, 0) + sp.Min(x, 0), x), (sp.Abs(x), sp.Max(x, -x))], ids=["max+min", "abs-max"]
)
def test_equals_is_not_trusted_for_piecewise_identities(lhs: sp.Expr, rhs: sp.Expr) -> None:
    """Expr.equals does not confirm these true identities; region splitting does."""
    assert lhs.equals(rhs) is not True
    verdict = prove(identity("piecewise", lhs, rhs))
    assert verdict.status == "proved"
    assert "region" in verdict.method


def test_symbolic_k_softmax_gradient_does_not_crash_and_says_symbolic_k() -> None:
    claim = TRUE_CLAIMS[[c.statement for c in TRUE_CLAIMS].index("softmax CE gradient, symbolic K")]
    verdict = prove(claim)
    assert verdict.status == "proved"
    assert verdict.scope == "symbolic K"


def _sleeping_strategy(pid_file: str) -> Strategy:
    def holds(goal: Goal) -> bool:
        with open(pid_file, "w") as handle:
            handle.write(str(os.getpid()))
        time.sleep(60)
        return True

    return Strategy("sleep", holds)


def test_budget_is_enforced_and_the_child_is_killed(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    pid_file = str(tmp_path / "pid")
    monkeypatch.setattr(strategies, "ZERO_STRATEGIES", (_sleeping_strategy(pid_file),))
    start = time.perf_counter()
    verdict = prove(TRUE_CLAIMS[0], budget=0.5)
    assert time.perf_counter() - start < 5
    assert verdict.status == "unknown"
    assert "budget exhausted" in verdict.method
    assert verdict.detail == "numerically consistent"
    with open(pid_file) as handle:
        child = int(handle.read())
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)


def test_numerically_consistent_is_never_proved(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(strategies, "ZERO_STRATEGIES", ())
    verdict = prove(TRUE_CLAIMS[0])
    assert verdict.status == "unknown"
    assert verdict.detail == "numerically consistent"


def test_a_symbolic_proof_that_the_numbers_contradict_is_refuted(monkeypatch: pytest.MonkeyPatch) -> None:
    """A (buggy) strategy that proves everything cannot make a false claim proved."""
    monkeypatch.setattr(strategies, "ZERO_STRATEGIES", (Strategy("accept anything", lambda goal: True),))
    assert prove(FALSE_CLAIMS[0]).status == "refuted"


def test_sympy_errors_mean_not_proved(monkeypatch: pytest.MonkeyPatch) -> None:
    def fails(goal: Goal) -> bool:
        raise StopIteration

    monkeypatch.setattr(strategies, "ZERO_STRATEGIES", (Strategy("raises", fails),))
    verdict = prove(TRUE_CLAIMS[0])
    assert verdict.status == "unknown"


def test_bce_gradient_is_fast() -> None:
    verdict = prove(TRUE_CLAIMS[1])
    assert verdict.status == "proved"
    assert verdict.method.startswith("case split over y")


def test_prove_many_keeps_the_input_order() -> None:
    claims = [TRUE_CLAIMS[0], FALSE_CLAIMS[0], TRUE_CLAIMS[6], FALSE_CLAIMS[9]]
    verdicts = prove_many(claims, budget=10, workers=2)
    assert [v.status for v in verdicts] == ["proved", "refuted", "proved", "refuted"]


def test_claim_kinds_are_all_covered() -> None:
    kinds = {c.kind for c in TRUE_CLAIMS} & {c.kind for c in FALSE_CLAIMS + FALSE_LIMITS}
    assert kinds == set(ClaimKind)
