"""Primitives: each expands to its textbook expression and typesets under its own name."""

from __future__ import annotations

import pytest
import sympy as sp

from symloss.stabilize.primitives import exp_minus, expand_primitives, sigmoid_expm1, sigmoid_powers, square_of_sum

x, y = sp.symbols("x y", real=True)


@pytest.mark.parametrize(
    ("expr", "latex"),
    [
        (square_of_sum(x, -y), r"\operatorname{square\_of\_sum}\left(x, - y\right)"),
        (exp_minus(x, y) ** 2, r"\operatorname{exp\_minus}\left(x, y\right)^{2}"),
        (sigmoid_expm1(x, sp.Float(sp.log(2).evalf(40), 40)), r"\operatorname{sigmoid\_expm1}\left(x, 0.693147\right)"),
        (sigmoid_powers(x, 2, 1), r"\operatorname{sigmoid\_powers}\left(x, 2, 1\right)"),
    ],
)
def test_primitives_typeset_under_their_names_with_short_constants(expr: sp.Expr, latex: str) -> None:
    assert sp.latex(expr) == latex


def test_primitives_expand_to_their_textbook_forms() -> None:
    assert expand_primitives(square_of_sum(x, -y)) == (x - y) ** 2
    assert expand_primitives(exp_minus(x, y)) == sp.exp(x) - y
