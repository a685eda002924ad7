"""Tests for symloss.derive: chains from a likelihood, checked gradients and Hessians."""

from pathlib import Path

import pytest
import sympy as sp

from symloss import load_catalog
from symloss.derive import Derivation, derive, expand_logs, tidy, without_dirac
from symloss.functions import sigmoid
from symloss.likelihood import bernoulli, gaussian, softmax
from symloss.loss import Definition, Likelihood, Loss
from symloss.notation import BINARY, CLASS_COUNT, DISTRIBUTION, POSITIVE, REAL, SIGNED, index, var, vector

z_var, y_var = var("z", REAL), var("y", BINARY)
z, y = z_var.symbol, y_var.symbol
logistic_formula = -(y * sp.log(sigmoid(z)) + (1 - y) * sp.log(1 - sigmoid(z)))


def logistic(**changes: object) -> Loss:
    fields: dict[str, object] = dict(
        name="logistic",
        title="Logistic loss",
        family="binary",
        output=z_var,
        target=y_var,
        formula=logistic_formula,
        origin=Likelihood("Bernoulli", bernoulli(y, sigmoid(z)), y_var, link="sigmoid"),
    )
    fields.update(changes)
    return Loss(**fields)


@pytest.fixture(scope="module")
def logistic_derivation() -> Derivation:
    return derive(logistic(), budget=20)


def test_a_likelihood_chain_has_five_checked_steps(logistic_derivation: Derivation) -> None:
    chain = logistic_derivation.chain
    assert len(chain) == 5
    assert chain[0].verdict is None and chain[0].expr == bernoulli(y, sigmoid(z))
    assert chain[-1].expr == logistic_formula
    assert all(step.verdict.status == "proved" for step in chain[1:])
    assert logistic_derivation.proved


def test_the_gradient_is_sigmoid_minus_label(logistic_derivation: Derivation) -> None:
    assert sp.simplify(logistic_derivation.gradient - (sigmoid(z) - y)) == 0
    assert logistic_derivation.gradient_check.status == "proved"
    assert sp.simplify(logistic_derivation.hessian - sigmoid(z) * (1 - sigmoid(z))) == 0
    assert logistic_derivation.hessian_check.status == "proved"


def test_scale_and_shift_are_checked() -> None:
    yhat_var, t_var, sigma_var = var("yhat"), var("t"), var("sigma", POSITIVE)
    yhat, t, sigma = yhat_var.symbol, t_var.symbol, sigma_var.symbol
    origin = Likelihood("Gaussian", gaussian(t, yhat, sigma**2), t_var, scale=1 / (2 * sigma**2),
                        shift=sp.log(2 * sp.pi * sigma**2) / 2)
    loss = Loss("squares", "Squares", "regression", yhat_var, t_var, (yhat - t) ** 2, origin)
    derivation = derive(loss, budget=20)
    assert derivation.proved, [s.verdict for s in derivation.chain]
    wrong = Loss("squares", "Squares", "regression", yhat_var, t_var, (yhat - t) ** 2,
                 Likelihood("Gaussian", gaussian(t, yhat, sigma**2), t_var))
    assert derive(wrong, budget=20).chain[3].verdict.status == "refuted"


def test_a_shift_depending_on_the_output_is_rejected() -> None:
    loss = logistic(origin=Likelihood("Bernoulli", bernoulli(y, sigmoid(z)), y_var, shift=z))
    with pytest.raises(ValueError, match="depends on the output"):
        derive(loss, budget=5)


def test_the_forced_log_expansion_is_caught_when_factors_may_be_negative() -> None:
    # log(a^2) = 2 log a only for a > 0; with a real the expansion step must be refuted
    a_var = var("a", REAL)
    a = a_var.symbol
    loss = Loss("trap", "Trap", "regression", a_var, var("t", REAL), 2 * sp.log(a) ** 1,
                Likelihood("not a density", 1 / a**2, var("t", REAL)), )
    assert expand_logs(-sp.log(1 / a**2)) == 2 * sp.log(a)
    assert derive(loss, budget=10).chain[2].verdict.status == "refuted"


def test_a_definition_chain_is_the_formula() -> None:
    f_var, s_var = var("f"), var("y", SIGNED)
    f, s = f_var.symbol, s_var.symbol
    hinge = Loss("hinge_like", "Hinge", "binary", f_var, s_var, sp.Max(0, 1 - s * f), Definition("SVM"))
    derivation = derive(hinge, budget=10)
    assert len(derivation.chain) == 1 and derivation.chain[0].verdict is None
    assert "SVM" in derivation.chain[0].justification
    assert derivation.hessian == 0  # away from the kink
    assert "kinks" in derivation.hessian_check.detail
    assert derivation.gradient_check.status == "proved"


def test_vector_gradient_uses_the_given_sum() -> None:
    k, i = index("k"), index("i")
    classes = var("K", CLASS_COUNT)
    zz, yy = vector("z"), vector("y", DISTRIBUTION)
    zs, ys, kk, ii, big_k = zz.symbol, yy.symbol, k.symbol, i.symbol, classes.symbol
    formula = -sp.Sum(ys[kk] * sp.log(softmax(zs, kk, big_k)), (kk, 1, big_k))
    loss = Loss("softmax_ce", "Softmax CE", "multiclass", zz, yy, formula, Definition(), index=i, classes=classes,
                given=(sp.Eq(sp.Sum(ys[kk], (kk, 1, big_k)), 1),))
    derivation = derive(loss, budget=20)
    assert derivation.gradient_check.status == "proved"
    assert sp.simplify(derivation.gradient - (softmax(zs, ii, big_k) - ys[ii])) == 0


def test_tidy_and_without_dirac() -> None:
    x = sp.Symbol("x", real=True)
    assert tidy((x**2 - 1) / (x - 1), budget=0) == x + 1
    assert without_dirac(sp.DiracDelta(x) * x + 3) == 3


def test_softmax_focal_uses_its_declared_closed_forms_proved_for_symbolic_k() -> None:
    loss = load_catalog(Path(__file__).resolve().parents[1] / "derivations").get("softmax_focal")
    derivation = derive(loss, budget=30.0)
    assert derivation.gradient == loss.gradient_form and derivation.hessian == loss.hessian_form
    for check in (derivation.gradient_check, derivation.hessian_check):
        assert check.status == "proved" and check.scope == "symbolic K", check
        assert check.detail.startswith("the declared closed form")
