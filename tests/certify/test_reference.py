"""Tests for symloss.certify.reference: the declared form evaluated exactly where 50 digits are not
enough, masks, kinks, and the proved stable form as the truth where the declared one cannot be resolved."""

from __future__ import annotations

import math

import mpmath
import sympy as sp
from kernels_for_certify import derivation

from symloss.certify.reference import ReferenceEvaluator
from symloss.certify.stress_grid import stress_points
from symloss.declare.loss import Definition, Loss
from symloss.declare.notation import NONNEGATIVE, REAL, var
from symloss.derive.chain import derive
from symloss.stabilize.rules import proved_rules


def test_reference_of_bce_with_logits_is_exact_where_50_digits_are_not() -> None:
    # −log(1 − σ(100)) at 50 fixed digits keeps ~7 digits; the reference escalates
    reference = ReferenceEvaluator(derivation("bce_with_logits"))
    with mpmath.workdps(60):
        for z in (100.0, 710.0, -37.5):
            expected = z + mpmath.log1p(mpmath.exp(-mpmath.mpf(z)))  # softplus(z), y = 0
            truth = reference.truth("value", (z, 0.0, 1.0))
            assert abs(truth.values[0] - expected) <= mpmath.mpf(2) ** -70 * abs(expected)
        grad = reference.truth("grad", (700.0, 1.0, 2.0))  # −2 σ(−700) ≈ −2e-304, a normal float
        assert grad.rounded[0] == float(-2 / (1 + mpmath.exp(mpmath.mpf(700))))
        assert grad.rounded[0] < 0.0


def test_reference_of_softmax_cross_entropy_with_mask_and_entries() -> None:
    reference = ReferenceEvaluator(derivation("softmax_cross_entropy"))
    z, y = (1.0, -math.inf, 0.5), (0.0, 0.0, 1.0)
    with mpmath.workdps(60):
        e1, e3 = mpmath.exp(1), mpmath.exp(mpmath.mpf(0.5))
        value = reference.truth("value", (z, y, 0.0))
        assert float(value.values[0]) == float(mpmath.log(e1 + e3) - mpmath.mpf(0.5))
        grad = reference.truth("grad", (z, y, 0.0))
        assert grad.rounded == (float(e1 / (e1 + e3)), 0.0, float(e3 / (e1 + e3) - 1))
    smoothed = reference.truth("value", (z, y, 0.25))  # smoothing mass on a masked class: infinite
    assert not smoothed.defined


def test_reference_excludes_kinks_but_not_declared_steps() -> None:
    hinge = ReferenceEvaluator(derivation("hinge"))
    assert hinge.truth("grad", (1.0, 1.0)).kink  # 1 − f·y = 0
    assert not hinge.truth("grad", (0.5, 1.0)).kink
    assert not hinge.truth("value", (1.0, 1.0)).kink  # Max is continuous: its value is compared
    multiclass = ReferenceEvaluator(derivation("multiclass_hinge"))
    distinct = multiclass.truth("grad", ((2.0, 0.0, -1.0), (0.0, 1.0, 0.0)))
    assert not distinct.kink and distinct.rounded == (1.0, -1.0, 0.0)
    assert multiclass.truth("grad", ((0.0, 0.0, 0.0), (1.0, 0.0, 0.0))).kink  # two classes tie for the max


def test_stable_form_settles_bce_with_logits_at_huge_logits() -> None:
    """softplus(1e300) = 1e300, softplus(−1e300) ≈ e^−1e300 underflows to 0, and the gradient is σ(z) − y
    (weighted); the stable form's truth is used exactly where the declared form's is unresolved."""
    reference = ReferenceEvaluator(derivation("bce_with_logits"), proved_rules())
    points = stress_points(derivation("bce_with_logits").loss, dense=0)  # the grid: its z = ±1e300 points
    values, grads = (reference.truths(f, points) for f in ("value", "grad"))
    assert values.refusal == "" and grads.refusal == ""
    for point, value, grad in zip(points, values.values, grads.values, strict=True):
        declared = reference.truth("value", point)
        assert value.stable == (not declared.defined)
        assert value.defined and grad.defined and not grad.stable
        z, y, weight = point
        if abs(z) == 1e300:
            expected = {(1e300, 0.0): 1e300, (1e300, 1.0): 0.0, (-1e300, 0.0): 0.0, (-1e300, 1.0): weight * 1e300}
            assert value.rounded == (expected[z, y],)
            assert grad.rounded == ((1.0 if z > 0 else 0.0) if y == 0 else (-0.0 if z > 0 else -weight),)
    assert sum(v.stable for v in values.values) == 6  # z = 1e300: two labels, three weights


def test_stable_form_of_softmax_focal_where_the_declared_gradient_is_unresolved() -> None:
    """γ = 0: the gradient is p − y; at logits (−12776.8, 6304.1), p = (e^−19080.9, 1 − e^−19080.9) and
    the declared form leaves both entries unresolved at 4500 digits."""
    loss = derivation("softmax_focal").loss
    hard = ((-12776.80166386608, 6304.1149076823185), (0.9712667465209961, 0.028733253479003906), 0.0)
    easy = [((0.5, -1.25, 2.0), (0.25, 0.25, 0.5), gamma) for gamma in (0.0, 0.5, 2.0)]
    assert loss.params[0].name == "gamma"
    grads = ReferenceEvaluator(derivation("softmax_focal"), proved_rules()).truths("grad", [*easy, hard])
    assert grads.refusal == ""
    assert [t.stable for t in grads.values] == [False, False, False, True]
    assert grads.values[-1].rounded == (-hard[1][0], hard[1][0])


def test_a_max_or_min_of_an_undecided_ball_is_not_taken_for_its_larger_end() -> None:
    """max(0, |ŷ − y| − ε) at ŷ = 1e-300, y = −0.5, ε = 0.5 is 1e-300: at 50 digits |ŷ − y| − ε is the ball
    [0 ± 1e-51], which a comparison cannot order against 0, so the reference must escalate, not answer 0."""
    yhat_var, y_var, epsilon_var = var("yhat", REAL), var("y", REAL), var("epsilon", NONNEGATIVE, default=0.5)
    yhat, y, epsilon = yhat_var.symbol, y_var.symbol, epsilon_var.symbol
    loss = Loss(name="tube", title="tube", family="robust regression", output=yhat_var, target=y_var,
                params=(epsilon_var,), formula=sp.Max(0, sp.Abs(yhat - y) - epsilon), origin=Definition("a test"),
                use_case="a test", link="identity", label_format="real")
    reference = ReferenceEvaluator(derive(loss), rules=())
    assert reference.truth("value", (1e-300, -0.5, 0.5)).rounded == (1e-300,)
    folded = Loss(**{**vars(loss), "name": "folded", "formula": -sp.Min(0, epsilon - sp.Abs(yhat - y))})
    assert ReferenceEvaluator(derive(folded), rules=()).truth("value", (1e-300, -0.5, 0.5)).rounded == (1e-300,)
