"""The scaling family: squares that overflow taken apart before they are squared (hypot-style regimes)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import mpmath
import numpy as np
import pytest
import sympy as sp

from symloss.declare.loss import Definition, Loss
from symloss.declare.notation import POSITIVE, REAL
from symloss.declare.notation import var as scalar_var
from symloss.derive.chain import derive
from symloss.emit.codegen import kernel_for, load_generated, render_module, render_package
from symloss.prove.prover import prove
from symloss.stabilize.identities import C, claim, r
from symloss.stabilize.primitives import expand_primitives, log1p, square_of_sum, square_ratio
from symloss.stabilize.rules import proved_rules
from symloss.stabilize.scale_ratios import over_square
from symloss.stabilize.scaling import _POSITIVE_SCOPE, _SCOPE, HUGE, SCALING, TINY, _d, _d0, _k, _p, _u, as_square_ratio

BY_NAME = {rule.name: rule for rule in SCALING}


@pytest.mark.parametrize("rule", SCALING, ids=lambda rule: rule.name)
def test_every_claim_is_proved(rule) -> None:
    assert [prove(c, budget=20.0).status for c in rule.claims] == ["proved"] * len(rule.claims)


@pytest.mark.parametrize("rule", SCALING, ids=lambda rule: rule.name)
def test_each_rewrite_changes_its_sample_into_regimes_whose_last_is_the_textbook_form(rule) -> None:
    rewritten = rule.rewrite(rule.sample)
    assert isinstance(rewritten, sp.Piecewise)
    *regimes, (textbook, otherwise) = rewritten.args
    assert otherwise == sp.true and all(scaled != textbook for scaled, _ in regimes)
    assert expand_primitives(textbook) == expand_primitives(rule.sample)
    assert any(HUGE in boundary.atoms(sp.Float) for _, boundary in regimes)
    assert rule.rewrite(rewritten) == rewritten  # the regimes are not rewritten again


def test_a_quotient_of_squares_becomes_the_square_of_a_ratio() -> None:
    """r²/(ν σ²) = (r/σ)²/ν and c²/(x − y)² = (c/(x − y))²: no square formed on its own; no square, no change."""
    x, y, c, nu, sigma = sp.symbols("x y c nu sigma", positive=True)
    assert as_square_ratio(square_of_sum(x, -y) / (nu * sigma**2)) == square_ratio(x - y, sigma) / nu
    assert as_square_ratio(c**2 / square_of_sum(x, -y)) == square_ratio(c, x - y)
    assert as_square_ratio(c**4 / x**2) == square_ratio(c**2, x)
    assert as_square_ratio(nu / x) == nu / x


FALSE_VARIANTS = [
    ("log1p with u^-1 instead of u^-2", sp.log(1 + _u**2 * _k),
     2 * sp.log(_u) + sp.log(_k) + sp.log(1 + 1 / (_u * _k))),
    ("log1p without the factor k", sp.log(1 + _u**2 * _k), 2 * sp.log(_u) + sp.log(1 + 1 / (_u**2 * _k))),
    ("power with u^p instead of u^(2p)", (_d0 + _u**2 * _k) ** _p,
     _u**_p * _k**_p * (1 + _d0 / (_u**2 * _k)) ** _p),
    ("power with d/u instead of d/u^2", (_d0 + _u**2 * _k) ** _p,
     _u ** (2 * _p) * _k**_p * (1 + _d0 / (_u * _k)) ** _p),
    ("huge d without its power", (_d + _u**2 * _k) ** _p, _d * (1 + _u**2 * _k / _d) ** _p),
    ("huge d with u^2 k d instead of u^2 k/d", (_d + _u**2 * _k) ** _p, _d**_p * (1 + _u**2 * _k * _d) ** _p),
    ("the square of a ratio squares only its numerator", expand_primitives(square_ratio(_u, _d)), _u**2 / _d),
]


@pytest.mark.parametrize(("statement", "lhs", "rhs"), FALSE_VARIANTS, ids=[v[0] for v in FALSE_VARIANTS])
def test_a_false_variant_is_never_proved(statement: str, lhs: sp.Expr, rhs: sp.Expr) -> None:
    scope = _SCOPE if _d0 in (lhs - rhs).free_symbols else _POSITIVE_SCOPE  # d >= 0, or d > 0
    assert prove(claim(statement, lhs, rhs, scope), budget=20.0).status == "refuted"


def test_each_branch_equals_the_textbook_expression_at_a_point_in_its_regime() -> None:
    """Every branch of each rewrite, expanded, agrees with the textbook form at a huge residual, a moderate one
    and a moderate one at a large scale."""
    x, y, c = sp.symbols("x y c", positive=True)
    expressions = [log1p(square_of_sum(x, -y) / c**2), log1p(square_of_sum(x, -y) / (3 * c**2)),
                   sp.sqrt(c**2 + square_of_sum(x, -y)), (c**2 + square_of_sum(x, -y)) ** sp.Rational(-3, 2),
                   (1 + square_of_sum(x, -y) / c**2) ** sp.Rational(-3, 2)]
    expressions += [c**2 * (x - y) / (c**2 + square_of_sum(y, -x)),
                    square_of_sum(x, -y) / (c**2 + square_of_sum(x, -y)),
                    c**2 * (c**2 - square_of_sum(y, -x)) / (c**2 + square_of_sum(y, -x)) ** 2,
                    (x - y) / (3 * c**2 + square_of_sum(y, -x))]
    rules = ([BY_NAME["log1p_of_huge_square"]] * 2 + [BY_NAME["power_of_huge_square"]] * 3
             + [BY_NAME["quotient_of_huge_square"]] * 4)
    for expr, rule in zip(expressions, rules, strict=True):
        rewritten = rule.rewrite(expr)
        assert rewritten != expr
        for point in ({x: sp.Integer(10) ** 200, y: -3, c: 2}, {x: 5, y: 2, c: sp.Rational(1, 3)},
                      {x: 1, y: -1, c: sp.Integer(10) ** 12}):
            (regimes,) = rewritten.atoms(sp.Piecewise)  # a quotient keeps its factors free of r outside
            for branch, _ in regimes.args:
                got = sp.N(expand_primitives(rewritten.xreplace({regimes: branch})).subs(point), 40)
                want = sp.N(expand_primitives(expr).subs(point), 40)
                assert abs(got - want) <= sp.Float(1e-30, 40) * abs(want)


def test_a_sum_with_a_square_of_unknown_sign_factor_is_left_alone() -> None:
    """log(1 + r² t) with t of unknown sign: log t may be undefined, so the rule does not apply."""
    t, r = sp.symbols("t r", real=True)
    expr = log1p(r**2 * t)
    assert BY_NAME["log1p_of_huge_square"].rewrite(expr) == expr


def _kernel_module(name: str, formula_of: object):
    """The generated kernel of ``formula_of(r, c)``, r = ŷ − y, c > 0, with the bundled rules."""
    yhat_var, y_var = scalar_var("yhat", REAL), scalar_var("y", REAL)
    c_var = scalar_var("c", POSITIVE, default=1.0)
    formula = formula_of(yhat_var.symbol - y_var.symbol, c_var.symbol)
    loss = Loss(name=name, title=name, family="robust regression", output=yhat_var, target=y_var, params=(c_var,),
                formula=formula, origin=Definition("a test"), use_case="a test", link="identity",
                label_format="real")
    kernel = kernel_for(derive(loss), proved_rules())
    folder = Path(tempfile.mkdtemp(prefix="symloss-scaling-"))
    for file, text in {**render_package([loss.name]), f"{loss.name}.py": render_module(kernel, "")}.items():
        (folder / file).write_text(text)
    return kernel, load_generated(folder, loss.name)


@pytest.fixture(scope="module")
def log_module():
    """The kernel of log(1 + (r/c)²), whose gradient is 2r/(c² + r²)."""
    kernel, module = _kernel_module("scaled_log", lambda r, c: sp.log(1 + (r / c) ** 2))
    assert "log1p_of_huge_square" in kernel.value.rules and "quotient_of_huge_square" in kernel.gradient.rules
    return module


@pytest.fixture(scope="module")
def charbonnier_module():
    """The kernel of c² (sqrt(1 + (r/c)²) − 1), whose gradient is r/sqrt(1 + (r/c)²) = c r/sqrt(c² + r²)."""
    kernel, module = _kernel_module("scaled_charbonnier", lambda r, c: c**2 * (sp.sqrt(1 + (r / c) ** 2) - 1))
    assert "power_of_huge_square" in kernel.gradient.rules
    return module


# (yhat, y, c): a huge residual, a huge scale, a tiny scale, moderate values
POINTS = ((0.0, 1e300, 1.0), (0.0, -1e200, 1.0), (1.0, 0.0, 1e200), (1.0, 0.0, 1e-200), (1.5, 0.25, 1.0),
          (-2.0, 3.0, 0.375), (1e-3, 0.0, 2.0))


def _within_4_ulp(got: np.ndarray, truths: list[mpmath.mpf]) -> None:
    assert np.all(np.isfinite(got))
    for computed, true in zip(got, truths, strict=True):
        spacing = mpmath.mpf(float(np.spacing(abs(float(true)))))
        assert abs(mpmath.mpf(float(computed)) - true) / spacing <= 4, (computed, true)


def test_the_kernel_of_log1p_of_a_square_ratio_is_within_4_ulp_at_huge_and_tiny_scales(log_module) -> None:
    yhat, y, c = (np.array(v) for v in zip(*POINTS, strict=True))
    got = np.array([log_module.scaled_log(yhat[i:i + 1], y[i:i + 1], c=float(c[i]), reduction="none")[0]
                    for i in range(len(c))])
    with mpmath.workdps(60):
        _within_4_ulp(got, [mpmath.log(1 + ((mpmath.mpf(a) - mpmath.mpf(b)) / mpmath.mpf(s)) ** 2)
                            for a, b, s in POINTS])


def test_the_kernel_of_a_power_of_a_sum_of_squares_is_within_4_ulp_at_huge_and_tiny_scales(
        charbonnier_module) -> None:
    """The gradient c r/sqrt(c² + r²): c² + r² overflows at r = 10^300 or c = 10^200, c²/r² at r = 10^200."""
    got = np.array([charbonnier_module.scaled_charbonnier_grad(np.array([a]), np.array([b]), c=s)[0]
                    for a, b, s in POINTS])
    with mpmath.workdps(60):
        truths = []
        for a, b, s in POINTS:
            r, scale = mpmath.mpf(a) - mpmath.mpf(b), mpmath.mpf(s)
            truths.append(r / mpmath.sqrt(1 + (r / scale) ** 2))
        _within_4_ulp(got, truths)


def test_the_kernel_of_a_quotient_by_a_sum_of_squares_is_within_4_ulp_at_huge_and_tiny_scales(log_module) -> None:
    """The gradient 2r/(c² + r²): c² + r² overflows at r = 10^300 or c = 10^200, and is 0 at c = 10^-200, r = 0."""
    got = np.array([log_module.scaled_log_grad(np.array([a]), np.array([b]), c=s)[0] for a, b, s in POINTS])
    with mpmath.workdps(60):
        truths = []
        for a, b, s in POINTS:
            r, scale = mpmath.mpf(a) - mpmath.mpf(b), mpmath.mpf(s)
            truths.append(2 * r / (scale**2 + r**2))
        _within_4_ulp(got, truths)


def test_a_quotient_by_a_square_alone_is_two_divisions() -> None:
    """x/c² = over_square(x, c), computed (x/c)/c, for a quotient's own monomial (``split``): c² underflows at
    c = 5e-324 where x/c² may not; a term of an expanded square keeps its textbook division."""
    x, c = sp.symbols("x c", positive=True)
    assert as_square_ratio(x / c**2, split=True) == over_square(x, c)
    assert as_square_ratio(3 * x * c**-2, split=True) == over_square(3 * x, c)
    assert as_square_ratio(x / c**2) == x / c**2
    assert expand_primitives(over_square(x, c)) == x / c**2


def test_a_false_quotient_by_a_square_is_refuted() -> None:
    """(r/C)/C = r/C (one division too few) is false and must not be proved."""
    assert prove(claim("over_square with one division", expand_primitives(over_square(r, C)), r / C),
                 budget=20.0).status == "refuted"


def test_the_quotient_rules_have_tiny_regimes_for_a_square_scale() -> None:
    """Where c² or r² is below TINY the quotient is divided through by the larger of c² and r²."""
    x, y, c = sp.symbols("x y c", positive=True)
    rewritten = BY_NAME["quotient_of_huge_square"].rewrite(square_of_sum(x, -y) / (c**2 + square_of_sum(x, -y)))
    (regimes,) = rewritten.atoms(sp.Piecewise)
    assert any(TINY in condition.atoms(sp.Float) for _, condition in regimes.args)


@pytest.fixture(scope="module")
def redescending_module():
    """The kernel of r²/(c² + r²) (Geman–McClure), whose gradient is 2 r c²/(c² + r²)²."""
    kernel, module = _kernel_module("scaled_redescending", lambda r, c: r**2 / (c**2 + r**2))
    assert "quotient_of_huge_square" in kernel.value.rules
    return module


# (yhat, y, c) where c² or r² underflows: 0/0 in the textbook form before the tiny regimes
TINY_POINTS = ((1.81096015429853e-212, -5e-324, 5e-324), (1e-165, 0.0, 1e-160), (1e-160, 0.0, 1e-165),
               (3e-200, 1e-200, 1e-150), (0.0, 0.0, 5e-324), (1.5, 0.25, 1.0))


def test_the_redescending_kernel_is_within_4_ulp_where_the_squares_underflow(redescending_module) -> None:
    module = redescending_module
    value = np.array([module.scaled_redescending(np.array([a]), np.array([b]), c=s, reduction="none")[0]
                      for a, b, s in TINY_POINTS])
    grad = np.array([module.scaled_redescending_grad(np.array([a]), np.array([b]), c=s, reduction="none")[0]
                     for a, b, s in TINY_POINTS])
    with mpmath.workdps(80):
        values, grads = [], []
        for a, b, s in TINY_POINTS:
            r, scale = mpmath.mpf(a) - mpmath.mpf(b), mpmath.mpf(s)
            values.append(r**2 / (scale**2 + r**2))
            grads.append(2 * r * scale**2 / (scale**2 + r**2) ** 2)
        _within_4_ulp(value, values)
        finite = [i for i, g in enumerate(grads) if abs(g) < mpmath.mpf(np.finfo(float).max)]
        _within_4_ulp(grad[finite], [grads[i] for i in finite])


# (yhat, y, c) where the gradient's (c² + r²)² underflows (c ≈ r ≈ 1.6e-104) or overflows (c² ≈ 1e200, r² ≈ 1e220),
# though c² and r² do not; and c² = inf where r² > 1e150 (the huge scale's regime comes first)
SQUARED_SUM_POINTS = ((-2.5419981181669243e-284, 1.5774155250142506e-104, 1.5774155250142135e-104),
                      (1e100, 0.0, 1e100), (1e110, 0.0, 1e100), (1e100, 0.0, 1e110),
                      (3.3117823611665205e+110, 3.371945127990887e+110, 1.7976931348623157e+308))


def test_the_redescending_gradient_is_within_4_ulp_where_the_squared_sum_underflows_or_overflows(
        redescending_module) -> None:
    grad = np.array([redescending_module.scaled_redescending_grad(np.array([a]), np.array([b]), c=s,
                                                                  reduction="none")[0]
                     for a, b, s in SQUARED_SUM_POINTS])
    with mpmath.workdps(80):
        truths = [2 * r * s**2 / (s**2 + r**2) ** 2 for r, s in
                  ((mpmath.mpf(a) - mpmath.mpf(b), mpmath.mpf(c)) for a, b, c in SQUARED_SUM_POINTS)]
    _within_4_ulp(grad, truths)


def test_the_bounds_of_a_quotient_by_a_power_are_its_nth_roots() -> None:
    """The regimes of c²/(c² + r²)² compare c² and r² with HUGE^(1/2) and TINY^(1/2); those of n = 1 with HUGE and
    TINY alone."""
    x, y, c = sp.symbols("x y c", positive=True)
    quotient = BY_NAME["quotient_of_huge_square"].rewrite
    (squared,) = quotient(c**2 / (c**2 + square_of_sum(x, -y)) ** 2).atoms(sp.Piecewise)
    (single,) = quotient(c**2 / (c**2 + square_of_sum(x, -y))).atoms(sp.Piecewise)
    bounds = {f for _, condition in squared.args for f in condition.atoms(sp.Float)}
    assert {sp.Float("1e150", 3), sp.Float("1e-145", 3)} <= bounds
    assert {f for _, cond in single.args for f in cond.atoms(sp.Float)} == {HUGE, TINY}


def test_a_power_in_the_denominator_of_a_square_ratio_is_divided_out_one_factor_at_a_time() -> None:
    """c²/r⁴ = ((c/r)/r)²: no r² formed, which underflows at r = 1e-170 where the quotient does not."""
    x, y, c = sp.symbols("x y c", positive=True)
    assert as_square_ratio(c**2 / (x - y) ** 4) == square_ratio(c / (x - y), x - y)
    assert as_square_ratio(c**2 / (x - y) ** 2) == square_ratio(c, x - y)


def test_the_redescending_hessian_is_within_4_ulp_where_the_residuals_square_underflows(redescending_module) -> None:
    """−2c²(c² − 3r²)/(c² + r²)³ at c = 5e-324, r = 3.5e-170: 6c²/r⁴ ≈ 9.6e31 though c² = 0 and r² = 1e-339."""
    points = ((-1.8127112698470348e-263, -3.5150512632013785e-170, 5e-324), (1e-150, 0.0, 1e-160))
    hess = np.array([redescending_module.scaled_redescending_hess(np.array([a]), np.array([b]), c=s,
                                                                  reduction="none")[0] for a, b, s in points])
    with mpmath.workdps(80):
        truths = [2 * s**2 * (s**2 - 3 * r**2) / (s**2 + r**2) ** 3 for r, s in
                  ((mpmath.mpf(a) - mpmath.mpf(b), mpmath.mpf(c)) for a, b, c in points)]
    _within_4_ulp(hess, truths)


def test_a_huge_scale_that_dominates_a_huge_square_is_divided_out_first(redescending_module) -> None:
    """r = 1.6e153, c = 8.6e307: r² > 1e300, but (c/r)² overflows, so dividing by r² gives inf/inf; the regime
    dividing by c² comes first (truth 2c²r/(c² + r²)² ≈ 2r/c², which underflows to 0)."""
    points = ((1.6e153, 1e-300, 8.6e307), (1e160, 0.0, 1e306), (1e200, 0.0, 1e300))
    grad = np.array([redescending_module.scaled_redescending_grad(np.array([a]), np.array([b]), c=s,
                                                                  reduction="none")[0] for a, b, s in points])
    value = np.array([redescending_module.scaled_redescending(np.array([a]), np.array([b]), c=s,
                                                              reduction="none")[0] for a, b, s in points])
    with mpmath.workdps(80):
        residuals = [(mpmath.mpf(a) - mpmath.mpf(b), mpmath.mpf(c)) for a, b, c in points]
        _within_4_ulp(grad, [2 * r * s**2 / (s**2 + r**2) ** 2 for r, s in residuals])
        _within_4_ulp(value, [r**2 / (s**2 + r**2) for r, s in residuals])


def test_a_huge_scale_that_dominates_a_huge_square_is_divided_out_first_in_a_power(charbonnier_module) -> None:
    """c r/sqrt(c² + r²) at r = 2e151, c = 1e307: r² > 1e300 but (c/r)² overflows; truth ≈ r."""
    points = ((2e151, 0.0, 1e307), (-3e160, 1e150, 1.7976931348623157e308))
    got = np.array([charbonnier_module.scaled_charbonnier_grad(np.array([a]), np.array([b]), c=s)[0]
                    for a, b, s in points])
    with mpmath.workdps(60):
        residuals = [(mpmath.mpf(a) - mpmath.mpf(b), mpmath.mpf(c)) for a, b, c in points]
        _within_4_ulp(got, [r / mpmath.sqrt(1 + (r / s) ** 2) for r, s in residuals])
