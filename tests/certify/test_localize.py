"""The localizer: each subexpression's local error (Herbie) against its exact value given exact inputs."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import sympy as sp

from symloss.certify.localize import bits, localize_expression

ROOT = Path(__file__).resolve().parents[2]
x, y = sp.symbols("x y", real=True)


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
    # the textbook Cauchy gradient overflows in c²·r (issue 21): localized to that product, 64 bits
    assert functions["grad"]["max_bits"] == 64.0
    assert functions["grad"]["nodes"][0]["max_bits"] == 64.0


def test_cli_names_the_known_losses_for_an_unknown_one() -> None:
    completed = _symloss("localize", "--points", "0", "no_such_loss")
    assert completed.returncode == 2
    assert "no_such_loss" in completed.stderr and "smooth_l1" in completed.stderr
