"""The norms family: two class sums of squares subtracted as one class sum of products, scaled by a power of
two where the entries are so large that the products would overflow."""

from __future__ import annotations

from pathlib import Path

import mpmath
import numpy as np
import pytest
import sympy as sp

from symloss.declare.catalog import load_catalog
from symloss.declare.likelihood import ClassMax
from symloss.emit.codegen import load_generated
from symloss.prove.prover import prove
from symloss.stabilize.identities import K, claim, k, w, z
from symloss.stabilize.norms import _PAIR, LARGE, NORMS, _x, _y, power_of_two_below, times_square
from symloss.stabilize.primitives import expand_primitives

BY_NAME = {rule.name: rule for rule in NORMS}
POINT = {z[1]: sp.Rational(7, 2), z[2]: -2, z[3]: sp.Rational(1, 3), _y[1]: 5, _y[2]: sp.Rational(-1, 4),
         _y[3]: 2, _x[1]: -3, _x[2]: sp.Rational(9, 8), _x[3]: 0}


@pytest.mark.parametrize("rule", NORMS, ids=lambda rule: rule.name)
def test_every_claim_is_proved(rule) -> None:
    assert [prove(c, budget=20.0).status for c in rule.claims] == ["proved"] * len(rule.claims)


def _at_three_classes(expr: sp.Expr) -> sp.Expr:
    return sp.nsimplify(expand_primitives(expr).subs(K, 3).doit().subs(POINT).doit())


@pytest.mark.parametrize("rule", NORMS, ids=lambda rule: rule.name)
def test_each_rewrite_changes_its_sample_into_an_equal_expression_at_three_classes(rule) -> None:
    rewritten = rule.rewrite(rule.sample)
    assert rewritten != rule.sample
    assert _at_three_classes(rewritten) == _at_three_classes(rule.sample)


def test_two_squared_distances_become_one_sum_of_products() -> None:
    """Σ(z − y)² − Σ(z − x)² + t: one sum of (x − y)(2z − x − y), the other term kept."""
    t = sp.Symbol("t", real=True)
    before = sp.Sum((z[k] - _y[k]) ** 2, (k, 1, K)) - sp.Sum((z[k] - _x[k]) ** 2, (k, 1, K)) + t
    after = BY_NAME["class_sums_as_products"].rewrite(before)
    (total,) = after.atoms(sp.Sum)
    assert after - total == t
    assert sp.expand(total.function - (_x[k] - _y[k]) * (2 * z[k] - _x[k] - _y[k])) == 0


def test_expanded_sums_are_collected_too() -> None:
    """A gradient's Heaviside reads the distances expanded: 2Σz x − 2Σz y − Σx² + Σy² is the same sum."""
    expanded = (2 * sp.Sum(z[k] * _x[k], (k, 1, K)) - 2 * sp.Sum(z[k] * _y[k], (k, 1, K))
                - sp.Sum(_x[k] ** 2, (k, 1, K)) + sp.Sum(_y[k] ** 2, (k, 1, K)))
    (total,) = BY_NAME["class_sums_as_products"].rewrite(expanded).atoms(sp.Sum)
    assert len(sp.Mul.make_args(total.function)) >= 2 and _at_three_classes(total) == _at_three_classes(expanded)


def test_what_class_sums_as_products_leaves_alone() -> None:
    rewrite = BY_NAME["class_sums_as_products"].rewrite
    for alone in (sp.Sum(z[k] ** 2, (k, 1, K)) + sp.Sum(_y[k] ** 2, (k, 1, K)),  # z² + y² does not factor
                  sp.Sum((z[k] - _y[k]) ** 2, (k, 1, K)) - w,  # one sum: nothing to collect
                  sp.Sum(z[k] ** 2, (k, 1, K)) - sp.Sum(_y[k] ** 2, (k, 1, 2))):  # other limits
        assert rewrite(alone) == alone


def test_the_scaled_sum_is_a_regime_above_the_boundary_and_is_not_scaled_again() -> None:
    rewritten = BY_NAME["scaled_sum_of_products"].rewrite(BY_NAME["scaled_sum_of_products"].sample)
    assert isinstance(rewritten, sp.Piecewise)
    (scaled, boundary), (textbook, otherwise) = rewritten.args
    assert otherwise == sp.true and LARGE in boundary.atoms(sp.Float)
    assert isinstance(scaled, times_square) and textbook == BY_NAME["scaled_sum_of_products"].sample
    assert isinstance(boundary.lhs, ClassMax)
    assert BY_NAME["scaled_sum_of_products"].rewrite(rewritten) == rewritten


def test_a_sum_of_products_of_single_entries_is_not_scaled() -> None:
    """Σ_k y_k z_k (a label's dot product with the logits) is read whole by the class-margin rules."""
    for alone in (sp.Sum(_y[k] * z[k], (k, 1, K)), sp.Sum(z[k] ** 2, (k, 1, K)),
                  sp.Sum(_y[k] * (z[k] - _x[k]), (k, 1, K))):
        assert BY_NAME["scaled_sum_of_products"].rewrite(alone) == alone


def test_power_of_two_below_is_a_power_of_two_near_its_argument() -> None:
    for value in (sp.Integer(3), sp.Integer(10) ** 150, sp.Integer(2) ** 600, sp.Integer(2) ** 1024 - 1,
                  sp.Rational(7, 8), sp.Rational(1, 3), sp.Integer(1)):
        scale = power_of_two_below(value).textbook()
        assert scale <= value < 2 * scale and sp.log(scale, 2).is_Integer


FALSE_VARIANTS = [
    ("a difference of squares with the sum halved", sp.Sum((z[k] - _y[k]) ** 2, (k, 1, K))
     - sp.Sum((z[k] - _x[k]) ** 2, (k, 1, K)), sp.Sum((_x[k] - _y[k]) * (z[k] - _x[k] - _y[k]), (k, 1, K))),
    ("a scale taken out once instead of twice", sp.Sum(z[k] * _y[k], (k, 1, K)),
     w * sp.Sum((z[k] / w) * (_y[k] / w), (k, 1, K))),
]


@pytest.mark.parametrize(("statement", "lhs", "rhs"), FALSE_VARIANTS, ids=[v[0] for v in FALSE_VARIANTS])
def test_a_false_variant_is_never_proved(statement: str, lhs: sp.Expr, rhs: sp.Expr) -> None:
    assert prove(claim(statement, lhs, rhs, _PAIR), budget=20.0).status != "proved"


# ------------------------------------------------------------------------------ kernels


@pytest.fixture(scope="module")
def kernels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled triplet kernel generated by this checkout's engine."""
    from symloss.pipeline import build_kernels, derive_all, write_kernels

    folder = tmp_path_factory.mktemp("kernels")
    write_kernels(build_kernels(derive_all(load_catalog().select(["triplet"]), workers=1), certify=False), folder)
    return folder


A = np.array([1.0230043506278333e+306, -5.286796304300118e+306, -1.3624002606901162e+306])
POS = np.array([4.4878833464827077e+306, -4.3029672426049553e+306, -1.0078929207905406e+307])
NEG = np.array([-8.750935832068537e+306, -9.42316338903131e+305, 7.37789933265529e+306])


def _truth(a: np.ndarray, pos: np.ndarray, neg: np.ndarray, margin: float) -> mpmath.mpf:
    with mpmath.workdps(80):
        exact = [[mpmath.mpf(float(v)) for v in row] for row in (a, pos, neg)]
        to_pos = sum((x - p) ** 2 for x, p in zip(exact[0], exact[1], strict=True))
        to_neg = sum((x - n) ** 2 for x, n in zip(exact[0], exact[2], strict=True))
        return max(mpmath.mpf(0), to_pos - to_neg + mpmath.mpf(margin))


def test_triplet_is_exactly_zero_where_the_squared_distances_overflow(kernels: Path) -> None:
    """At entries of 1e306 both squared distances overflow: inf − inf was NaN where the truth is 0, and the
    gradient NaN where it is 0."""
    module = load_generated(kernels, "triplet")
    assert _truth(A, POS, NEG, 5e-324) == 0
    assert module.triplet(A, POS, NEG, margin=5e-324, reduction="none") == 0.0
    np.testing.assert_array_equal(module.triplet_grad(A, POS, NEG, margin=5e-324, reduction="none"), 0.0)


def test_triplet_is_accurate_where_positive_at_huge_entries(kernels: Path) -> None:
    """The anchor and negative swapped: the loss is positive, about 1e614 exactly, so inf; at entries of 1e150
    (scaled: the largest is above 1e150) finite and within a few ulp."""
    module = load_generated(kernels, "triplet")
    assert module.triplet(A, NEG, POS, margin=1.0, reduction="none") == np.inf
    small = 1e-156
    got = module.triplet(A * small, NEG * small, POS * small, margin=1.0, reduction="none")
    truth = _truth(A * small, NEG * small, POS * small, 1.0)
    assert truth > 1e300 and abs(mpmath.mpf(float(got)) - truth) / truth < 1e-15
    grad = module.triplet_grad(A * small, NEG * small, POS * small, margin=1.0, reduction="none")
    np.testing.assert_allclose(grad, 2 * (POS * small - NEG * small), rtol=1e-15)
