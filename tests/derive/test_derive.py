"""Tests for symloss.derive.chain: chains from a likelihood, checked gradients and Hessians."""

import re
from pathlib import Path

import pytest
import sympy as sp

from symloss import load_catalog
from symloss.declare.functions import sigmoid
from symloss.declare.likelihood import bernoulli, gaussian, softmax
from symloss.declare.loss import Definition, Likelihood, Loss
from symloss.declare.notation import BINARY, CLASS_COUNT, DISTRIBUTION, POSITIVE, REAL, SIGNED, index, var, vector
from symloss.derive.chain import Derivation, derive, expand_logs, likelihood_chain, tidy, without_dirac

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


def test_a_likelihood_chain_of_scale_1_and_no_constant_has_four_checked_steps(
        logistic_derivation: Derivation) -> None:
    chain = logistic_derivation.chain
    assert len(chain) == 4  # nothing is dropped, so no step says a scale or a constant leaves the minimizer
    assert "minimizer" not in " ".join(step.justification for step in chain)
    assert chain[-1].justification == "the expanded form is the loss itself (scale 1, no constant)"
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
    assert derivation.chain[3].justification == "collected as a scale times the loss plus a constant"
    assert derivation.chain[4].justification == "a positive scale and an additive constant do not move the minimizer"
    assert derivation.chain[4].expr == loss.formula
    wrong = Loss("squares", "Squares", "regression", yhat_var, t_var, (yhat - t) ** 2,
                 Likelihood("Gaussian", gaussian(t, yhat, sigma**2), t_var))
    assert derive(wrong, budget=20).chain[3].verdict.status == "refuted"


def test_the_last_step_names_only_what_it_drops() -> None:
    # only a scale: half the logistic loss, whose likelihood is 2 L
    halved = logistic(formula=logistic_formula / 2,
                      origin=Likelihood("Bernoulli", bernoulli(y, sigmoid(z)), y_var, link="sigmoid", scale=2))
    chain = likelihood_chain(halved, budget=10)
    assert [s.justification for s in chain[3:]] == ["collected as a scale times the loss",
                                                    "a positive scale does not move the minimizer"]
    assert all(s.verdict.status == "proved" for s in chain[1:])
    # only a constant: a Gaussian of variance 1/2 is exp(-(t - m)^2)/sqrt(pi)
    m_var, t_var = var("m"), var("t")
    m, t = m_var.symbol, t_var.symbol
    shifted = Loss("sq", "Squares", "regression", m_var, t_var, (m - t) ** 2,
                   Likelihood("Gaussian", gaussian(t, m, sp.Rational(1, 2)), t_var, shift=sp.log(sp.pi) / 2))
    chain = likelihood_chain(shifted, budget=10)
    assert [s.justification for s in chain[3:]] == ["collected as the loss plus a constant",
                                                    "an additive constant does not move the minimizer"]
    assert all(s.verdict.status == "proved" for s in chain[1:])
    assert "log(pi)/2 does not depend on m" in chain[-1].verdict.detail


def test_no_catalog_chain_prints_a_scale_of_1_or_drops_nothing() -> None:
    for loss in load_catalog():
        if not isinstance(loss.origin, Likelihood):
            continue
        chain = likelihood_chain(loss, budget=10)
        text = " ".join(step.justification for step in chain)
        assert not re.search(r"\b1 (L|times|\*)|\b1\*", text), (loss.name, text)
        drops = loss.origin.scale != 1 or loss.origin.shift != 0
        assert ("minimizer" in text) == drops, (loss.name, text)
        assert len(chain) == 4 + drops and chain[-1].expr == loss.formula


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
    loss = load_catalog(Path(__file__).resolve().parents[2] / "derivations").get("softmax_focal")
    derivation = derive(loss, budget=30.0)
    assert derivation.gradient == loss.gradient_form and derivation.hessian == loss.hessian_form
    for check in (derivation.gradient_check, derivation.hessian_check):
        assert check.status == "proved" and check.scope == "symbolic K", check
        assert check.detail.startswith("the declared closed form")
