"""The regimes of a stable form: each Piecewise's origin (a rule, or the definition) and its conditions,
listed in the kernel's docstrings."""

from __future__ import annotations

from pathlib import Path

import pytest
import sympy as sp

from symloss.declare.catalog import load_catalog
from symloss.derive.chain import derive
from symloss.emit.codegen import kernel_for, render_module
from symloss.stabilize.engine import ProvedRule, stabilize
from symloss.stabilize.primitives import log1p
from symloss.stabilize.regimes import DEFAULT, regimes_of
from symloss.stabilize.scaling import HUGE

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
x, y, c = sp.symbols("x y c", positive=True)
r = sp.Symbol("r", real=True)


def test_a_rules_piecewise_yields_its_rule_and_boundary(proved: tuple[ProvedRule, ...]) -> None:
    stabilized = stabilize(sp.log(1 + (x - y) ** 2 / c**2), proved)
    (regimes,) = regimes_of(stabilized)
    assert regimes.rule == "log1p_of_huge_square" and regimes.origin == "rule log1p_of_huge_square"
    (condition,) = regimes.conditions
    assert HUGE in condition.atoms(sp.Float)
    boundary, default = regimes.text()
    assert boundary.endswith("> 1.0e+300") and "(x - y)**2" in boundary and default == DEFAULT
    (latex,) = regimes.latex({x: r"\hat{y}"})
    assert r"10^{300}" in latex and r"\hat{y}" in latex


def test_a_form_without_piecewise_has_no_regimes(proved: tuple[ProvedRule, ...]) -> None:
    stabilized = stabilize(sp.log(1 + x), proved)
    assert stabilized.rules == ("log1p",) and regimes_of(stabilized) == ()


def test_the_definitions_piecewise_is_the_definitions(proved: tuple[ProvedRule, ...]) -> None:
    """Huber's |r| <= c, untouched by the rules, is the definition's; so is a condition a rule rewrote
    (log(1 + r²) > c becoming log1p(r²) > c): the rule changed how it is computed, not where the boundary is."""
    huber = sp.Piecewise((r**2 / 2, sp.Abs(r) <= c), (c * (sp.Abs(r) - c / 2), True))
    (regimes,) = regimes_of(stabilize(huber, proved))
    assert regimes.rule is None and regimes.conditions == ((sp.Abs(r) <= c).canonical,)
    rewritten = stabilize(sp.Piecewise((r, sp.log(1 + r**2) > c), (0, True)), proved)
    assert "log1p" in rewritten.rules
    (regimes,) = regimes_of(rewritten)
    assert regimes.rule is None and regimes.origin == "definition"
    assert regimes.conditions[0].has(log1p) and regimes.text() == ("c < log(r**2 + 1)", DEFAULT)


def _docstring(module: str, function: str) -> str:
    return module.split(f"def {function}(")[1].split('"""')[1]


@pytest.fixture(scope="module")
def examples_modules(proved: tuple[ProvedRule, ...]) -> dict[str, str]:
    catalog = load_catalog(EXAMPLES)
    return {name: render_module(kernel_for(derive(catalog.get(name)), proved), "not certified")
            for name in ("cauchy", "tukey_biweight")}


def test_a_kernels_docstring_lists_each_functions_regimes(examples_modules: dict[str, str]) -> None:
    cauchy = examples_modules["cauchy"]
    value = _docstring(cauchy, "cauchy")
    assert ("    Regimes (the first branch whose condition holds is computed):\n"
            "        rule log1p_of_huge_square:\n"
            "            1. (-y + yhat)**2/c**2 > 1.0e+300\n"
            "            2. otherwise (default)\n") in value
    gradient = _docstring(cauchy, "cauchy_grad")
    assert "rule quotient_of_huge_square:" in gradient and "2. c**2 > 1.0e+300" in gradient
    assert "3. otherwise (default)" in gradient
    tukey = _docstring(examples_modules["tukey_biweight"], "tukey_biweight")
    assert "        definition:\n            1. c >= Abs(y - yhat)\n" in tukey
    assert "rule " not in tukey.split("Regimes")[1]


def test_a_function_without_regimes_has_no_regimes_section(proved: tuple[ProvedRule, ...]) -> None:
    module = render_module(kernel_for(derive(load_catalog().get("bce")), proved), "not certified")
    assert "Regimes" not in module
