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
from symloss.stabilize.engine import ProvedRule
from symloss.stabilize.identities import claim
from symloss.stabilize.primitives import expand_primitives, log1p, square_of_sum
from symloss.stabilize.rules import prove_rules
from symloss.stabilize.scaling import _SCOPE, HUGE, SCALING, _d0, _k, _p, _u

BY_NAME = {rule.name: rule for rule in SCALING}


@pytest.mark.parametrize("rule", SCALING, ids=lambda rule: rule.name)
def test_every_claim_is_proved(rule) -> None:
    assert [prove(c, budget=20.0).status for c in rule.claims] == ["proved"] * len(rule.claims)


@pytest.mark.parametrize("rule", SCALING, ids=lambda rule: rule.name)
def test_each_rewrite_changes_its_sample_into_a_regime_that_keeps_the_textbook_form(rule) -> None:
    rewritten = rule.rewrite(rule.sample)
    assert isinstance(rewritten, sp.Piecewise)
    (scaled, boundary), (textbook, otherwise) = rewritten.args
    assert textbook == rule.sample and otherwise == sp.true and scaled != textbook
    assert HUGE in boundary.args
    assert rule.rewrite(rewritten) == rewritten  # the textbook branch is not rewritten again


FALSE_VARIANTS = [
    ("log1p with u^-1 instead of u^-2", sp.log(1 + _u**2 * _k),
     2 * sp.log(_u) + sp.log(_k) + sp.log(1 + 1 / (_u * _k))),
    ("log1p without the factor k", sp.log(1 + _u**2 * _k), 2 * sp.log(_u) + sp.log(1 + 1 / (_u**2 * _k))),
    ("power with u^p instead of u^(2p)", (_d0 + _u**2 * _k) ** _p,
     _u**_p * _k**_p * (1 + _d0 / (_u**2 * _k)) ** _p),
    ("power with d/u instead of d/u^2", (_d0 + _u**2 * _k) ** _p,
     _u ** (2 * _p) * _k**_p * (1 + _d0 / (_u * _k)) ** _p),
]


@pytest.mark.parametrize(("statement", "lhs", "rhs"), FALSE_VARIANTS, ids=[v[0] for v in FALSE_VARIANTS])
def test_a_false_variant_is_never_proved(statement: str, lhs: sp.Expr, rhs: sp.Expr) -> None:
    assert prove(claim(statement, lhs, rhs, _SCOPE), budget=20.0).status == "refuted"


def test_each_branch_equals_the_textbook_expression_at_a_point_in_its_regime() -> None:
    """Both branches of each rewrite, expanded, agree with the textbook form at a huge and a moderate residual."""
    x, y, c = sp.symbols("x y c", positive=True)
    expressions = [log1p(square_of_sum(x, -y) / c**2), sp.sqrt(c**2 + square_of_sum(x, -y)),
                   (1 + square_of_sum(x, -y) / c**2) ** sp.Rational(-3, 2)]
    rules = [BY_NAME["log1p_of_huge_square"], BY_NAME["power_of_huge_square"], BY_NAME["power_of_huge_square"]]
    for expr, rule in zip(expressions, rules, strict=True):
        rewritten = rule.rewrite(expr)
        assert rewritten != expr
        for point in ({x: sp.Integer(10) ** 200, y: -3, c: 2}, {x: 5, y: 2, c: sp.Rational(1, 3)}):
            for branch, _ in rewritten.args:
                got = sp.N(expand_primitives(branch).subs(point), 40)
                want = sp.N(expand_primitives(expr).subs(point), 40)
                assert abs(got - want) <= sp.Float(1e-30, 40) * abs(want)


def test_a_sum_with_a_square_of_unknown_sign_factor_is_left_alone() -> None:
    """log(1 + r² t) with t of unknown sign: log t may be undefined, so the rule does not apply."""
    t, r = sp.symbols("t r", real=True)
    expr = log1p(r**2 * t)
    assert BY_NAME["log1p_of_huge_square"].rewrite(expr) == expr


@pytest.fixture(scope="module")
def cauchy_module():
    """The kernel of c²/2 · log(1 + (r/c)²), r = ŷ − y, with the bundled rules."""
    yhat_var, y_var = scalar_var("yhat", REAL), scalar_var("y", REAL)
    c_var = scalar_var("c", POSITIVE, default=1.0)
    r, c = yhat_var.symbol - y_var.symbol, c_var.symbol
    loss = Loss(name="scaled_cauchy", title="log(1 + (r/c)^2)", family="robust regression", output=yhat_var,
                target=y_var, params=(c_var,), formula=c**2 / 2 * sp.log(1 + (r / c) ** 2),
                origin=Definition("a test"), use_case="a test", link="identity", label_format="real")
    rules: tuple[ProvedRule, ...] = prove_rules()
    kernel = kernel_for(derive(loss), rules)
    assert "log1p_of_huge_square" in kernel.value.rules
    folder = Path(tempfile.mkdtemp(prefix="symloss-scaling-"))
    for name, text in {**render_package([loss.name]), f"{loss.name}.py": render_module(kernel, "")}.items():
        (folder / name).write_text(text)
    return load_generated(folder, loss.name)


def test_the_kernel_of_log1p_of_a_square_is_finite_and_accurate_at_a_huge_residual(cauchy_module) -> None:
    yhat = np.array([0.0, 0.0, 1.5, -2.0, 1e-3])
    y = np.array([1e300, -1e200, 0.25, 3.0, 0.0])
    got = cauchy_module.scaled_cauchy(yhat, y, c=1.0, reduction="none")
    assert np.all(np.isfinite(got))
    with mpmath.workdps(60):
        for computed, a, b in zip(got, yhat, y, strict=True):
            true = mpmath.log(1 + (mpmath.mpf(a) - mpmath.mpf(b)) ** 2) / 2
            spacing = mpmath.mpf(float(np.spacing(abs(float(true)))))
            assert abs(mpmath.mpf(float(computed)) - true) / spacing <= 4
