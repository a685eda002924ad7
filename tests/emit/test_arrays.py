"""Expressions under array semantics: class indices flattened, Kronecker deltas summed out; a zero
factor kept 0 against a factor that may overflow."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from checkout_kernels import built

from symloss.emit.arrays import (
    ZeroWeighted,
    _may_be_zero,
    _may_overflow,
    flatten_indices,
    mark_exact_zeros,
    prepared,
    selected,
)
from symloss.emit.blocks import kernel_code
from symloss.emit.forms import Branch, Form
from symloss.emit.printer import KernelPrinter
from symloss.emit.program import ENTRY, LabelSelect
from symloss.stabilize.primitives import log1p

P = sp.Symbol("p", positive=True)
GAMMA = sp.Symbol("gamma", nonnegative=True)
NU = sp.Symbol("nu", positive=True)
R, Z = sp.Symbol("r", real=True), sp.Symbol("z", real=True)
K = sp.Symbol("K", integer=True, positive=True)


def test_flatten_indices_sums_out_kronecker_deltas() -> None:
    z, k, i = sp.IndexedBase("z"), sp.Symbol("k", integer=True), sp.Symbol("i", integer=True)
    count, n = sp.Symbol("K"), sp.Symbol("n", integer=True)
    assert flatten_indices(sp.Sum(z[k] * sp.KroneckerDelta(i, k), (k, 1, count)), n) == z[n]


@pytest.mark.parametrize("expr", [sp.exp(Z), sp.log(P), 1 / NU, R**2, P**GAMMA, P ** (GAMMA - 1), R**2 / NU])
def test_what_may_overflow(expr: sp.Expr) -> None:
    assert _may_overflow(expr)


@pytest.mark.parametrize("expr", [1 / K, sp.sqrt(P), R, 3 * Z, GAMMA * (1 - P)])
def test_what_may_not_overflow(expr: sp.Expr) -> None:
    assert not _may_overflow(expr)


def test_what_may_be_exactly_zero() -> None:
    assert _may_be_zero(GAMMA) and _may_be_zero(R - Z) and _may_be_zero(1 - P)
    assert not _may_be_zero(NU)  # a positive parameter is never 0
    assert not _may_be_zero(P**GAMMA)  # 1, not 0, at gamma = 0 (and it may overflow)
    assert not _may_be_zero((R - Z) ** 2) and not _may_be_zero(R * Z)  # 0 by underflow where the truth is not
    assert not _may_be_zero(sp.Integer(2))


def test_a_zero_factor_is_marked_against_an_overflowing_rest() -> None:
    # focal's gamma/p * log1p(-p): 1/p is inf at p = 5e-324, gamma = 0
    assert mark_exact_zeros(GAMMA * log1p(-P) / P) == ZeroWeighted(GAMMA, log1p(-P) / P)
    assert mark_exact_zeros((R - Z) * sp.exp(Z)) == ZeroWeighted(R - Z, sp.exp(Z))
    marked = mark_exact_zeros(GAMMA * (R - Z) * sp.exp(Z))  # one weight at a time: their product may underflow
    assert marked in (ZeroWeighted(GAMMA, ZeroWeighted(R - Z, sp.exp(Z))),
                      ZeroWeighted(R - Z, ZeroWeighted(GAMMA, sp.exp(Z))))


def test_an_underflowing_square_is_no_zero_weight() -> None:
    # welsch's r^2 * (-1/c^2): r^2 is 0 at |r| = 1e-170 where (r/c)^2 at c = 5e-324 is huge, not 0
    assert not mark_exact_zeros(-((R - Z) ** 2) / NU**2).has(ZeroWeighted)


def test_nothing_is_marked_without_both_a_zero_factor_and_an_overflowing_rest() -> None:
    for expr in (NU * sp.exp(Z), R * Z, GAMMA * (1 - P), P**GAMMA * sp.log(P)):
        assert not mark_exact_zeros(expr).has(ZeroWeighted), expr


def test_a_factor_that_cancels_against_a_divisor_is_not_split_from_it() -> None:
    # 2(z - r)/((r - z)^2 k): 2(z - r) marked apart would leave (r - z)^2 to overflow at |r - z| > 1e154
    k = sp.Symbol("k", positive=True)
    assert not mark_exact_zeros((2 * Z - 2 * R) / ((R - Z) ** 2 * (k + 1))).has(ZeroWeighted)


def test_a_zero_factor_common_to_a_sum_is_marked_against_the_whole_product() -> None:
    # focal's p^(gamma-1) (2 gamma a - gamma (gamma-1) b): gamma marked in each term leaves the sum's 0
    # to meet p^-1 = inf outside it
    a, b = 1 / (1 - P), log1p(-P) / P
    marked = mark_exact_zeros(P ** (GAMMA - 1) * (2 * GAMMA * a - GAMMA * (GAMMA - 1) * b))
    assert isinstance(marked, ZeroWeighted) and marked.args[0] == GAMMA
    rest = marked.args[1].replace(lambda e: isinstance(e, ZeroWeighted), lambda e: e.args[0] * e.args[1])
    assert sp.simplify(rest - P ** (GAMMA - 1) * (2 * a - (GAMMA - 1) * b)) == 0


def test_a_weight_over_a_reciprocal_alone_stays_a_division() -> None:
    # (yhat - y)/var prints as a division, 0/var = 0; marked, 1/var = inf at var = 5e-324 times a
    # finite difference would be inf where the truth is finite
    assert mark_exact_zeros((R - Z) / NU) == (R - Z) / NU
    assert mark_exact_zeros((R - Z) * sp.exp(Z) / NU).has(ZeroWeighted)  # e^z overflows: marked


def test_an_exponential_of_a_nonpositive_argument_does_not_overflow() -> None:
    assert not _may_overflow(sp.exp(-sp.Abs(Z)))
    assert _may_overflow(sp.exp(sp.Abs(Z)))


def test_a_form_marked_whole_in_each_branch_still_mirrors() -> None:
    # focal_with_logits with alpha: (1 - alpha) h(z) and alpha h(-z) are one evaluation of h at +-z, as
    # without alpha, the weights selected by label around it (so alpha_t = 1 gives alpha=None's bits)
    y, alpha = sp.Symbol("y"), sp.Symbol("alpha", nonnegative=True)
    h = sp.exp(GAMMA * Z) * sp.log(1 + sp.exp(Z))
    branches = (Branch(0, (1 - alpha) * h, ()), Branch(1, alpha * h.subs(Z, -Z), ()))
    form = Form((1 - alpha) * h, branches)
    expr = selected(form, None, None, y, Z)
    assert isinstance(expr, ZeroWeighted) and isinstance(expr.args[0], LabelSelect)
    assert expr.args[0].args[2] == sp.Tuple(1 - alpha, alpha)
    assert len([e for e in expr.atoms(sp.exp) if e.args[0].has(GAMMA)]) == 1  # h evaluated once


def truth(expr: sp.Expr, point: dict[str, float], digits: int = 60) -> float:
    """``expr`` at the exact float ``point`` in ``digits`` digits, rounded to float64."""
    exact = {s: sp.Rational(point[s.name]) for s in expr.free_symbols}
    return float(sp.N(expr.xreplace(exact), digits))


@pytest.mark.parametrize(("function", "point"), [
    ("grad", {"p": 5.1942682e-316, "y": 0.0, "gamma": 0.0}),  # gamma * (1/p) log1p(-p): 0 * inf before
    ("hess", {"p": 5e-324, "y": 1.0, "gamma": 0.0}),
    ("hess", {"p": 5.1942682e-316, "y": 0.0, "gamma": 0.0}),  # gamma outside p^(gamma - 1) = inf: truth 1
])
def test_focal_kernel_keeps_the_zero_gamma_where_1_over_p_overflows(function: str, point: dict[str, float]) -> None:
    derivation, module = built("focal")
    expected = truth(getattr(derivation, {"grad": "gradient", "hess": "hessian"}[function]), point)
    kernel = getattr(module, f"focal_{function}")
    value = kernel(np.array([point["p"]]), np.array([point["y"]]), gamma=point["gamma"], reduction="none")[0]
    assert not math.isnan(value)
    assert value == expected or math.isclose(value, expected, rel_tol=1e-15)


def test_a_marked_sum_keeps_the_common_factors_that_elimination_takes_out() -> None:
    # focal.grad's -gamma p^gamma log1p(-p)/p + p^gamma/(1 - p): p^gamma outside the sum, as common
    # subexpression elimination groups the unmarked form; inside the mark p^gamma log1p(-p), shared with
    # the loss, underflows to 0 at p = 1e-300
    marked = prepared(-GAMMA * P**GAMMA * log1p(-P) / P + P**GAMMA / (1 - P), None, None)
    assert marked == P**GAMMA * (ZeroWeighted(GAMMA, -log1p(-P) / P) + 1 / (1 - P))
    assert prepared(P**GAMMA / (1 - P) + R, None, None) == P**GAMMA / (1 - P) + R  # unmarked: as it was


def test_the_mark_rounds_as_the_product_it_wraps() -> None:
    # geman_mcclure's (y - yhat) * -2c^2/D^2: the scalar -2c^2 multiplies last, as in the unmarked product
    # ((y - yhat) D^-2) (-2c^2), not (y - yhat) (D^-2 (-2c^2)) (an underflow or overflow more)
    y, yhat, c = sp.Symbol("y"), sp.Symbol("yhat"), sp.Symbol("c", positive=True)
    expr = ZeroWeighted(y - yhat, -2 * c**2 / (c**2 + (y - yhat) ** 2) ** 2)
    lines = [line for line in kernel_code([("grad", expr)], KernelPrinter({}), {y: ENTRY, yhat: ENTRY}, "y", False,
                                          named=False) if not line.startswith("entries")]
    marked = next(i for i, line in enumerate(lines) if "_zero_weighted(" in line)
    after = lines[marked + 1:]  # the coefficient -2c^2, a factor at a time (c, c, -2), after the mark
    assert [line.split("np.multiply(")[1].split(", ")[1] for line in after] == ["c", "c", "-2"]
    assert lines[-1].startswith("grad = np.multiply(")


def test_a_mark_over_a_reciprocal_alone_keeps_its_coefficient_a_division() -> None:
    # fair's (y - yhat) * c/(c + |y - yhat|): c/(c + |r|) is finite where 1/(c + |r|) overflows (c = 5e-324)
    y, yhat, c = sp.Symbol("y"), sp.Symbol("yhat"), sp.Symbol("c", positive=True)
    expr = ZeroWeighted(y - yhat, c / (c + sp.Abs(y - yhat)))
    lines = kernel_code([("grad", expr)], KernelPrinter({}), {y: ENTRY, yhat: ENTRY}, "y", False, named=False)
    assert lines[-1].startswith("grad = _zero_weighted(")
    assert any(line.split(" = ")[1].startswith("np.divide(c, ") for line in lines)
    assert not any("np.divide(1.0," in line for line in lines)


def test_focal_value_and_grad_is_the_gradient_where_a_shared_product_underflows() -> None:
    # p^gamma log1p(-p) = 1e-150 * -1e-300 underflows: the marked term computed from it lost gamma p^(gamma-1)
    point = {"p": 1e-300, "y": 0.0, "gamma": 0.5}
    derivation, module = built("focal")
    p, y = np.array([point["p"]]), np.array([point["y"]])
    _, grad = module.focal_value_and_grad(p, y, gamma=point["gamma"], reduction="none")
    assert math.isclose(grad[0], truth(derivation.gradient, point, 400), rel_tol=1e-15)
    assert grad[0] == module.focal_grad(p, y, gamma=point["gamma"], reduction="none")[0]
