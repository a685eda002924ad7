"""Tests for symloss.prove.examples: printed numbers recomputed, never adjusted."""

import mpmath
import pytest
import sympy as sp

from symloss.declare.functions import sigmoid
from symloss.declare.loss import Definition, Example, Loss
from symloss.declare.notation import BINARY, CLASS_COUNT, ONE_HOT, REAL, SIMPLEX, UNIT_OPEN, index, var, vector
from symloss.prove.examples import format_number, reproduce, reproduce_all

p_var, y_var, z_var = var("p", UNIT_OPEN), var("y", BINARY), var("z", REAL)
p, y, z = p_var.symbol, y_var.symbol, z_var.symbol
bce = -(y * sp.log(p) + (1 - y) * sp.log(1 - p))


def loss_with(*examples: Example) -> Loss:
    return Loss("toy_bce", "Toy", "binary", p_var, y_var, bce, Definition(), examples=examples)


@pytest.mark.parametrize(
    ("value", "digits", "text"),
    [
        (0.000128233, 6, "0.000128"),
        (mpmath.mpf("0.43888"), 4, "0.4389"),
        (mpmath.mpf("0.0010536"), 4, "0.0011"),
        ("0.00105", 4, "0.0011"),  # half away from zero
        (-0.18495, 4, "-0.1850"),
        (mpmath.mpf("-0.00001"), 3, "0.000"),  # no negative zero
        (sp.oo, 0, "inf"),
        (mpmath.inf, 3, "inf"),
        (1, 0, "1"),
    ],
)
def test_format_number_rounds_to_the_printed_decimal_places(value: object, digits: int, text: str) -> None:
    assert format_number(value, digits) == text


def test_a_correct_number_agrees() -> None:
    example = Example("churn sample 1", bce, {y: 0, p: 0.541}, 0.779, 3, "a text")
    result = reproduce(loss_with(example), example)
    assert result.agrees and result.computed_text == "0.779" and result.stated_text == "0.779"
    with mpmath.workdps(60):
        assert abs(result.computed + mpmath.log(mpmath.mpf(459) / 1000)) < mpmath.mpf(10) ** -45


def test_a_wrong_number_is_reported_with_the_true_value() -> None:
    example = Example("churn sample 3", bce, {y: 0, p: 0.312}, 0.375, 3, "a text")
    result = reproduce(loss_with(example), example)
    assert not result.agrees
    assert result.computed_text == "0.374" and result.stated_text == "0.375"


def test_decimal_inputs_are_exact() -> None:
    # 0.1 is one tenth, not the nearest double: -log(1 - 0.9) = log 10 exactly
    example = Example("p = 0.9", bce, {y: 0, p: 0.9}, 2.302585092994046, 15, "a text")
    assert reproduce(loss_with(example), example).agrees


def test_several_samples_are_reduced() -> None:
    example = Example("cost", bce, {y: [0, 1, 0, 1, 0], p: [0.541, 0.823, 0.312, 0.791, 0.458]}, 0.4389, 4, "a text",
                      reduce="mean")
    assert reproduce(loss_with(example), example).agrees
    summed = Example("total", bce, {y: [0, 1], p: 0.5}, 1.386, 3, "a text", reduce="sum")
    assert reproduce(loss_with(summed), summed).agrees


def test_a_derivative_is_computed_from_the_declaration() -> None:
    logit = -(y * sp.log(sigmoid(z)) + (1 - y) * sp.log(1 - sigmoid(z)))
    example = Example("gradient", sp.Derivative(logit, z), {y: 1, z: -2}, -0.8808, 4, "a text")
    assert reproduce(loss_with(example), example).agrees


def test_vectors_and_infinity() -> None:
    classes, k = var("K", CLASS_COUNT).symbol, index("k").symbol
    pv, yv = vector("p", SIMPLEX).symbol, vector("y", ONE_HOT).symbol
    ce = -sp.Sum(yv[k] * sp.log(pv[k]), (k, 1, classes))
    finite = Example("iris", ce, {yv: [1, 0, 0], pv: [0.742, 0.202, 0.055]}, 0.298, 3, "a text")
    infinite = Example("zero probability", ce, {yv: [0.9, 0.1], pv: [1, 0]}, sp.oo, 0, "a text")
    for example in (finite, infinite):
        assert reproduce(loss_with(example), example).agrees
    assert reproduce(loss_with(infinite), infinite).computed_text == "inf"


def test_an_undefined_value_never_agrees() -> None:
    example = Example("log of a negative", sp.log(p - 1), {p: 0.5}, 0.0, 1, "a text")
    result = reproduce(loss_with(example), example)
    assert result.computed is None and not result.agrees and result.computed_text == "undefined"


def test_reproduce_all_goes_through_every_example() -> None:
    a = Example("a", bce, {y: 1, p: 0.5}, 0.693, 3, "a text")
    b = Example("b", bce, {y: 0, p: 0.5}, 0.693, 3, "a text")
    assert [r.example.label for r in reproduce_all([loss_with(a, b)])] == ["a", "b"]


def test_samples_of_different_counts_are_rejected() -> None:
    example = Example("bad", bce, {y: [0, 1], p: [0.1, 0.2, 0.3]}, 0.1, 1, "a text", reduce="mean")
    with pytest.raises(ValueError, match="different counts"):
        reproduce(loss_with(example), example)
