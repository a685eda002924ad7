"""The regimes of a stable form: each Piecewise's origin (a rule, or the definition) and its conditions,
listed in the kernel's docstrings."""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path

import pytest
import sympy as sp

from symloss.declare.catalog import load_catalog
from symloss.derive.chain import derive
from symloss.emit.arrays import HELPERS
from symloss.emit.blocks import (
    OTHER_CLASSES_SOFTMAX_SUM_REGIMES,
    SCALED_EXPONENTIAL_REGIMES,
    SCALED_SUM_REGIMES,
    sigmoid_powers_call,
)
from symloss.emit.codegen import Variant, kernel_for, render_module, render_package
from symloss.emit.printer import KernelPrinter
from symloss.stabilize import exact_sum_primitives, exponentials, log_products, primitives
from symloss.stabilize.engine import ProvedRule, stabilize
from symloss.stabilize.primitives import Primitive, log1p
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
    assert "rule quotient_of_huge_square:" in gradient
    assert "1. Min(c**2, 1.0e+300*c**2/(y - yhat)**2) >= 1.0e+300" in gradient  # a huge scale: divided by c² first
    assert "3. c**2 > 1.0e+300" in gradient
    assert "5. Min(c**2, (y - yhat)**2) < 1.0e-290" in gradient  # the tiny regime: divided by the larger square
    assert "6. otherwise (default)" in gradient
    tukey = _docstring(examples_modules["tukey_biweight"], "tukey_biweight")
    assert "        definition:\n            1. c >= Abs(y - yhat)\n" in tukey
    assert "rule " not in tukey.split("Regimes")[1]


def test_a_function_without_regimes_has_no_regimes_section(proved: tuple[ProvedRule, ...]) -> None:
    module = render_module(kernel_for(derive(load_catalog().get("bce")), proved), "not certified")
    assert "Regimes" not in module


# ---------------------------------------------------------------- the switches inside the primitives' helpers


OFFERED_ELSEWHERE = (exact_sum_primitives.abs_of_sum_plus, log_products.minus_log_product,  # helpers, not re-exported
                    log_products.minus_log_ratio, exponentials.times_log1p_exp)


def _concrete(kind: type = Primitive) -> list[type]:
    """Every primitive class :mod:`symloss.stabilize.primitives` offers that stands for a function (no base class;
    those of an exact sum are defined in :mod:`symloss.stabilize.exact_sum_primitives` and offered there too), and
    those of :data:`OFFERED_ELSEWHERE`."""
    leaves = []
    for sub in kind.__subclasses__():
        if getattr(primitives, sub.__name__, None) is sub or sub in OFFERED_ELSEWHERE:
            leaves += _concrete(sub) if sub.__subclasses__() else [sub]
    return leaves


def _helper_of(kind: type) -> str:
    """The numerics helper a kernel calls for the primitive ``kind`` (read from the printed call)."""
    if kind in HELPERS:
        return HELPERS[kind]
    args = [sp.Symbol(f"a{i}", real=True) for i in range(min(kind.nargs))]
    if kind is primitives.sigmoid_powers:
        return sigmoid_powers_call(kind(args[0], 1, 2), "x").split("(")[0]
    if kind is primitives.ScaledSoftmaxProduct:  # printed from its softmax's shared parts, which a lone call lacks
        return "_softmax_product"
    if kind is primitives.sigmoid_expm1:
        args[1] = sp.log(2)
    return KernelPrinter({}).doprint(kind(*args)).split("(")[0]


def _helpers(source: str) -> dict[str, tuple[set[str], bool]]:
    """Each helper of the numerics module: the helpers it calls and whether it switches formulas itself
    (calls np.where or np.select)."""
    found = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef):
            calls = [c.func for c in ast.walk(node) if isinstance(c, ast.Call)]
            called = {f.id for f in calls if isinstance(f, ast.Name) and f.id.startswith("_")}
            switches = any(isinstance(f, ast.Attribute) and f.attr in ("where", "select") for f in calls)
            found[node.name] = (called, switches)
    return found


def _reached(helpers: dict[str, tuple[set[str], bool]], start: str) -> set[str]:
    """``start`` and every helper it calls, directly or not."""
    seen, todo = set(), [start]
    while todo:
        name = todo.pop()
        if name not in seen and name in helpers:
            seen.add(name)
            todo += helpers[name][0]
    return seen


def _unrecorded(source: str, kinds: list[type]) -> list[str]:
    """What ties the primitives' regimes to the numerics module, as the list of what breaks it: a primitive
    whose helper is missing; one whose helper switches (itself or in a helper it calls) without regimes, or
    has regimes without a switch; a helper that switches reached by no primitive with regimes."""
    helpers = _helpers(source)
    problems, covered = [], set()
    for kind in kinds:
        helper = _helper_of(kind)
        if helper not in helpers:
            problems.append(f"{kind.__name__}: no helper {helper}")
            continue
        reached = _reached(helpers, helper)
        switches = any(helpers[h][1] for h in reached)
        if switches != bool(kind.regimes):
            problems.append(f"{kind.__name__}: {helper} {'switches' if switches else 'has no switch'}, "
                            f"regimes {kind.regimes}")
        if kind.regimes:
            covered |= reached
    for regimes in (*SCALED_EXPONENTIAL_REGIMES.values(), SCALED_SUM_REGIMES,  # the emitter's scaled products, sums
                    OTHER_CLASSES_SOFTMAX_SUM_REGIMES):
        helper = regimes.call.split("(")[0]
        if helper not in helpers:
            problems.append(f"{regimes.call}: no helper {helper}")
            continue
        covered |= _reached(helpers, helper)
    problems += [f"{name} switches for no primitive" for name, (_, switches) in helpers.items()
                 if switches and name not in covered]
    return problems


def test_every_switch_in_a_primitives_helper_is_recorded_as_its_regimes() -> None:
    source = render_package([])["_numerics.py"]
    kinds = _concrete()
    assert {primitives.logcosh, primitives.sech2, primitives.kl_div, primitives.square_of_sum,
            primitives.LogSoftmaxRemainder} <= set(kinds)
    assert _unrecorded(source, kinds) == []
    for kind in kinds:
        assert kind.regime_call.startswith(f"{kind.__name__}(") or not kind.regimes
        conditions = [condition for condition, _ in kind.regimes]
        assert conditions == [] or (conditions[-1] == "otherwise" and "otherwise" not in conditions[:-1])


def test_the_tie_fails_for_an_unrecorded_switch_or_a_recorded_one_without_a_switch() -> None:
    source = render_package([])["_numerics.py"]
    kinds = _concrete()
    # a new switching helper for no primitive
    fake = source + "\n\ndef _clamped(x):\n    return np.where(x > 0.0, x, 0.0)\n"
    assert _unrecorded(fake, kinds) == ["_clamped switches for no primitive"]
    # a switch added to a helper whose primitive records none
    squared = source.replace("    return q * q\n", "    return np.where(b == 0, 0.0, q * q)\n")
    assert squared != source
    assert [p.split(":")[0] for p in _unrecorded(squared, kinds)] == ["square_ratio",
                                                                      "_square_ratio switches for no primitive"]
    # the switches of _exp_minus taken out (its body the textbook e^a - t): its regimes no longer describe it
    straight = re.sub(r"(def _exp_minus\(a, t\):\n    \"\"\".*?\"\"\"\n).*?\n\n\n", r"\1    return np.exp(a) - t\n\n\n",
                      source, count=1, flags=re.S)
    assert straight != source
    assert [p.split(":")[0] for p in _unrecorded(straight, kinds)] == ["exp_minus"]


def test_a_docstring_lists_each_primitives_regimes_after_the_piecewise(proved: tuple[ProvedRule, ...]) -> None:
    catalog = load_catalog()
    huber = render_module(kernel_for(derive(catalog.get("huber")), proved), "not certified")
    value = _docstring(huber, "huber")
    assert ("        definition:\n"
            "            1. delta >= -y + yhat and delta >= y - yhat\n"
            "            2. otherwise (default)\n"
            "        primitive on_halves(f, f_half, 2**d) = f, in its NumPy helper:\n"
            "            1. f finite: f\n"
            "            2. otherwise: 2**d f_half, f_half = f at the scaled inputs halved (= f/2**d: f positively "
            "homogeneous of degree d in them)\n"
            "        primitive square_of_sum(x, y) = (x + y)**2, in its NumPy helper:\n"
            "            1. h**2 finite: h**2 + l(2h + l), h + l = x + y exactly (TwoSum)\n"
            "            2. otherwise: h**2 (inf: the square overflows)\n") in value
    log_cosh = render_module(kernel_for(derive(catalog.get("log_cosh")), proved), "not certified")
    hessian = _docstring(log_cosh, "log_cosh_hess")
    assert hessian.count("primitive ") == 1
    assert "primitive sech2_of_sum(x, y) = cosh(x + y)**(-2), in its NumPy helper:\n" in hessian
    assert "1. |fl(x + y)| < 2**52: sech2(h)(1 + c)" in hessian and "Paths tested" not in hessian


def test_each_switched_paths_regimes_are_listed_or_said_to_be_the_general_ones(proved: tuple[ProvedRule, ...]) -> None:
    catalog = load_catalog()
    focal = render_module(kernel_for(derive(catalog.get("focal_with_logits")), proved), "not certified")
    gradient = _docstring(focal, "focal_with_logits_grad")
    assert "    Paths tested in order before the general one above" in gradient
    assert re.search(r"\n        if alpha is None: stable form [\w, ]+; the same regimes as the general one\.\n",
                     gradient)
    # a path whose forms have regimes of their own lists them under its condition
    kernel = kernel_for(derive(catalog.get("huber")), proved)
    other = kernel_for(derive(catalog.get("log_cosh")), proved)
    switched = Variant("delta is None", other.rules, kernel.code, (other.value, other.gradient, other.hessian))
    module = render_module(dataclasses.replace(kernel, variants=(switched,)), "not certified")
    value = _docstring(module, "huber")
    assert ("        if delta is None: stable form logcosh, logcosh_of_exact_sum;\n"
            "            Regimes (the first branch whose condition holds is computed):\n"
            "                primitive logcosh_of_sum(x, y) = log(cosh(x + y)), in its NumPy helper:\n"
            "                    1. |fl(x + y)| < 2**52: ") in value
    sc = render_module(kernel_for(derive(catalog.get("softmax_cross_entropy")), proved), "not certified")
    assert ("        if y.dtype == np.int64: stable form softmax_max_shifted, softmax_minus_affine_target, "
            "softmax_minus_uniform, softmax_minus_target; the same regimes as the general one.\n"
            ) in _docstring(sc, "softmax_cross_entropy_grad")


def test_the_emitters_scaled_exponentials_are_recorded_where_a_product_makes_them() -> None:
    from symloss.emit.blocks import scaled_exponential_regimes

    y, z, p, g = sp.symbols("y z p g", positive=True)
    exp_regimes, pow_regimes = SCALED_EXPONENTIAL_REGIMES[sp.exp], SCALED_EXPONENTIAL_REGIMES[sp.Pow]
    assert scaled_exponential_regimes(y * sp.exp(-z)) == (exp_regimes,)
    assert scaled_exponential_regimes(z + y * p**g) == (pow_regimes,)
    for alone in (sp.exp(z), 2 * sp.exp(-z), p**2 * y):  # alone, times a constant, a square
        assert scaled_exponential_regimes(alone) == ()
    assert scaled_exponential_regimes(sp.exp(z) - y * z) == (SCALED_SUM_REGIMES,)  # a sum whose terms may overflow
    assert all(r.regimes[-1][0].startswith("otherwise") for r in (exp_regimes, pow_regimes))
