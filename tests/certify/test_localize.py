"""The localizer: each subexpression's local error (Herbie) against its exact value given exact inputs."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import sympy as sp

from symloss.certify.localize import bits, localize_expression, shown
from symloss.stabilize.class_axis_primitives import LogSoftmax
from symloss.stabilize.exact_sum_primitives import abs_of_sum_plus

ROOT = Path(__file__).resolve().parents[2]
x, y = sp.symbols("x y", real=True)
z, labels = sp.IndexedBase("z"), sp.IndexedBase("y")
i, j, k = sp.symbols("i j k", integer=True, positive=True)


def test_textbook_softplus_loses_its_bits_at_the_log() -> None:
    # log(1 + e^x): at x = -40 the sum rounds to 1 (log then returns 0, the truth is 4.2e-18); at
    # x = 800 e^x overflows to inf, which the exponential rounds to correctly, and log returns inf
    for point in (-40.0, 800.0):
        result = localize_expression(sp.log(1 + sp.exp(x)), [{x: point}])
        worst = result.nodes[0]
        assert worst.text == "log(exp(x) + 1)"
        assert worst.max_bits > 50 and worst.losing == 1 and worst.worst == {"x": point}
        assert all(n.max_bits <= 1 for n in result.nodes[1:])  # exp and the sum are (nearly) correctly rounded
        assert result.max_bits > 50


def test_cancellation_is_localized_to_the_subtraction() -> None:
    expr = sp.Add(sp.Add(x, 1, evaluate=False), -x, evaluate=False)  # (x + 1) - x, not simplified to 1
    result = localize_expression(expr, [{x: 1e17}, {x: 3.0}])
    worst = result.nodes[0]
    assert worst.text == "-x + (x + 1)"
    assert worst.max_bits > 60 and worst.losing == 1 and worst.worst == {"x": 1e17}
    assert {n.text: n.max_bits for n in result.nodes[1:]} == {"-x": 0.0, "x + 1": 0.0}  # each correctly rounded


def test_a_product_at_moderate_values_is_within_half_an_ulp() -> None:
    points = [{x: 1.5 + 0.37 * i, y: -3.7 / (i + 1)} for i in range(40)]
    result = localize_expression(x * y, points)
    assert result.points == 40
    assert all(n.max_bits <= math.log2(1.5) for n in result.nodes)
    assert result.max_bits <= math.log2(1.5)


def _softmax(entry: sp.Symbol, classes: int) -> sp.Expr:
    """The textbook softmax of z at ``entry``: e^{z_entry} / sum_j e^{z_j}."""
    return sp.exp(z[entry]) / sp.Sum(sp.exp(z[j]), (j, 1, classes))


def test_one_minus_a_textbook_softmax_cancels_at_the_confident_class() -> None:
    # at z = (40, 0, 1) the softmax of class 1 is 1 - 2.3e-17, rounded to 1: 1 - p keeps no digit there,
    # while the softmax itself, its sum and its exponentials are (nearly) correctly rounded
    result = localize_expression(1 - _softmax(i, 3), [{z: (40.0, 0.0, 1.0)}, {z: (0.5, -0.25, 1.0)}], "grad")
    worst = result.nodes[0]
    assert worst.text == "-exp(z[i])/Sum(exp(z[j]), (j, 1, 3)) + 1"
    assert worst.max_bits > 50 and worst.losing == 1 and worst.worst == {"z": (40.0, 0.0, 1.0), "class": 1}
    assert all(n.max_bits <= 1 for n in result.nodes[1:])
    assert result.max_bits > 50 and result.points == 2


def test_a_cancellation_inside_a_class_sum_is_localized_to_the_sum() -> None:
    # the summands y_k z_k are exact, their float64 sum 1e17 + 1 - 1e17 is 0 (the truth is 1)
    expr = sp.Sum(labels[k] * z[k], (k, 1, 3))
    result = localize_expression(expr, [{z: (1e17, 1.0, -1e17), labels: (1.0, 1.0, 1.0)}])
    assert [n.text for n in result.nodes] == ["Sum(y[k]*z[k], (k, 1, 3))", "y[k]*z[k]"]
    assert result.nodes[0].max_bits > 60 and result.nodes[1].max_bits == 0.0
    assert result.max_bits > 60


def test_a_textbook_cross_entropy_loses_its_bits_at_the_log_and_the_stable_one_keeps_them() -> None:
    point = {z: (40.0, 0.0, 1.0), labels: (1.0, 0.0, 0.0)}
    textbook = localize_expression(-sp.Sum(labels[k] * sp.log(_softmax(k, 3)), (k, 1, 3)), [point], "value")
    assert textbook.nodes[0].text == "log(exp(z[k])/Sum(exp(z[j]), (j, 1, 3)))"
    assert textbook.nodes[0].max_bits > 50 and textbook.nodes[0].worst["class"] == 1
    assert textbook.max_bits > 50
    stable = localize_expression(-sp.Sum(labels[k] * LogSoftmax(z[k], k, 3), (k, 1, 3)), [point], "value")
    assert stable.max_bits <= 1 and all(n.max_bits <= 1 for n in stable.nodes)
    assert "LogSoftmax(z[k], k, 3)" in {n.text for n in stable.nodes}


def test_a_subexpression_of_two_class_indices_is_not_measured_nor_what_contains_it() -> None:
    expr = sp.exp(z[i]) + sp.Sum(z[i] * z[k], (k, 1, 3))
    result = localize_expression(expr, [{z: (1.0, 2.0, 3.0)}], "grad")
    assert [n.text for n in result.nodes] == ["exp(z[i])"] and result.nodes[0].points == 1
    assert result.points == 0


def test_a_primitive_without_an_interval_implementation_is_measured_against_its_textbook_value() -> None:
    # |x + y| + c carried exactly (TwoSum): at x = 1, y = 2^-60, c = -1 the plain sum would keep no digit
    c = sp.Symbol("c", real=True)
    result = localize_expression(abs_of_sum_plus(x, y, c), [{x: 1.0, y: 2.0**-60, c: -1.0}, {x: 3.0, y: -0.5, c: 2.0}])
    assert [n.text for n in result.nodes] == ["abs_of_sum_plus(x, y, c)"]
    assert result.nodes[0].points == 2 and result.nodes[0].max_bits <= 1 and result.max_bits <= 1


def test_a_vector_of_many_classes_is_shown_truncated() -> None:
    assert shown((1.0, 2.0)) == "(1.0, 2.0)"
    assert shown(tuple(float(n) for n in range(1000)), entries=2) == "(0.0, 1.0, … 1000 classes)"
    assert shown(None) == "None"


def test_bits_count_the_floats_between() -> None:
    one = 1.0
    assert bits([one], [one])[0] == 0.0
    assert bits([math.nextafter(one, 2.0)], [one])[0] == 1.0  # one float apart: log2(2)
    assert bits([math.nan], [one])[0] == 64.0
    assert math.isnan(bits([one], [math.nan])[0])  # an unmeasured point


def _symloss(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "symloss", *arguments], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, check=False)


def test_cli_localizes_a_loss_as_json() -> None:
    completed = _symloss("localize", "--catalog", "examples", "--points", "30", "--json", "cauchy")
    assert completed.returncode == 0, completed.stderr
    (loss,) = json.loads(completed.stdout)
    assert loss["loss"] == "cauchy"
    functions = {f["function"]: f for f in loss["functions"]}
    assert set(functions) == {"value", "grad", "hess"}
    for function in functions.values():
        assert function["points"] > 0 and 1 <= len(function["nodes"]) <= 3
        for node in function["nodes"]:
            assert set(node) >= {"subexpression", "max_bits", "mean_bits", "points_losing_over_2_bits", "worst_point"}
            assert set(node["worst_point"]) <= {"yhat", "y", "c"}
    # Cauchy's gradient is still over budget (examples/over_budget.txt: no correct digit at its worst point):
    # the bits it loses are localized to one node, which loses all of them
    assert functions["grad"]["max_bits"] > 50
    assert functions["grad"]["nodes"][0]["max_bits"] == functions["grad"]["max_bits"]


def test_cli_names_the_known_losses_for_an_unknown_one() -> None:
    completed = _symloss("localize", "--points", "0", "no_such_loss")
    assert completed.returncode == 2
    assert "no_such_loss" in completed.stderr and "smooth_l1" in completed.stderr


def test_cli_localizes_class_vector_losses() -> None:
    # softmax cross-entropy (with label smoothing) and the softmax focal loss: value, gradient and Hessian
    # measured at their grid points, each class of a vector
    completed = _symloss("localize", "--points", "0", "--json", "softmax_cross_entropy", "softmax_focal")
    assert completed.returncode == 0, completed.stderr
    losses = {loss["loss"]: {f["function"]: f for f in loss["functions"]} for loss in json.loads(completed.stdout)}
    assert set(losses) == {"softmax_cross_entropy", "softmax_focal"}
    for functions in losses.values():
        assert set(functions) == {"value", "grad", "hess"}
        for function in functions.values():
            assert function["note"] == "" and function["points"] > 100
            assert 0 <= function["max_bits"] < 64 and len(function["nodes"]) == 3
            for node in function["nodes"]:
                assert math.isfinite(node["max_bits"]) and node["points"] > 0
                assert {"z", "y"} <= set(node["worst_point"])
        assert any("class" in n["worst_point"] for n in functions["grad"]["nodes"])
    # the gradient z - y of cross-entropy is a softmax: correctly rounded but for its last bits
    assert losses["softmax_cross_entropy"]["grad"]["max_bits"] < 16
