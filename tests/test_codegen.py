"""Generated kernels: the shipped package against mpmath, finite differences and its own contract."""

from __future__ import annotations

import ast
import importlib
import tempfile
from collections.abc import Callable
from functools import cache
from pathlib import Path
from types import ModuleType

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from symloss import load_catalog
from symloss.certify import certify
from symloss.codegen import (
    flatten_indices,
    kernel_for,
    load_generated,
    render_module,
    render_package,
    stable_form,
    write_package,
)
from symloss.derive import Derivation, derive
from symloss.loss import Loss
from symloss.notation import BINARY, Domain
from symloss.notation import var as scalar_var
from symloss.stable import ProvedRule, prove_rules

CATALOG = load_catalog()
LOSSES = {loss.name: loss for loss in CATALOG.losses}
NAMES = sorted(LOSSES)
SAMPLES, CLASSES = 6, 4


def kernels(name: str) -> ModuleType:
    return importlib.import_module(f"symloss_kernels.{name}")


def draw(domain: Domain, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Moderate values of a domain (class vectors: rows of the simplex, one-hot rows, reals)."""
    if domain.vector in ("simplex", "distribution"):
        rows = rng.uniform(0.05, 1.0, shape)
        return rows / rows.sum(axis=-1, keepdims=True)
    if domain.vector == "onehot":
        return np.eye(shape[-1])[rng.integers(0, shape[-1], shape[:-1])]
    if domain.values:
        return rng.choice(np.array([float(v) for v in domain.values]), shape)
    if domain.integer:
        return rng.integers(0, 6, shape).astype(float)
    low = -3.0 if domain.low is None else float(domain.low)
    high = 3.0 if domain.high is None else float(domain.high)
    if domain.low is not None and domain.high is None:
        high = low + 3.0
    return rng.uniform(low + 0.05 * (high - low), high - 0.05 * (high - low), shape)


def arguments(loss: Loss, rng: np.random.Generator) -> tuple[list[np.ndarray], dict[str, float]]:
    """Positional arrays (output, target, inputs) and the hyper-parameters at their defaults."""
    vector_shape, scalar_shape = (SAMPLES, CLASSES), (SAMPLES,)
    arrays = [draw(v.domain, vector_shape if v.is_vector else scalar_shape, rng)
              for v in (loss.output, loss.target, *loss.inputs)]
    return arrays, {v.name: v.default for v in loss.params if v.default is not None}


def reference(loss: Loss, arrays: list[np.ndarray], params: dict[str, float]) -> list[mpmath.mpf]:
    """Each sample's loss from the declared formula at 40 digits."""
    variables = (loss.output, loss.target, *loss.inputs)
    formula = loss.formula
    if loss.classes is not None:
        formula = formula.xreplace({loss.classes.symbol: CLASSES}).doit()
    values = []
    for n in range(SAMPLES):
        point: dict[sp.Basic, object] = {s: v for s in loss.formula.free_symbols for k, v in params.items()
                                         if s.name == k}
        for var, array in zip(variables, arrays, strict=True):
            if var.is_vector:
                point.update({var.symbol[c + 1]: sp.Float(array[n, c], 30) for c in range(CLASSES)})
            else:
                point[var.symbol] = sp.Float(array[n], 30)
        values.append(mpmath.mpf(str(sp.N(formula.xreplace(point), 40))))
    return values


@pytest.mark.parametrize("name", NAMES)
def test_every_catalog_loss_has_four_functions(name: str) -> None:
    package = importlib.import_module("symloss_kernels")
    for suffix in ("", "_grad", "_hess", "_value_and_grad"):
        assert callable(getattr(package, name + suffix))


@pytest.mark.parametrize("name", NAMES)
def test_kernel_values_match_the_declared_formula(name: str) -> None:
    loss, module = LOSSES[name], kernels(name)
    rng = np.random.default_rng(7)
    arrays, params = arguments(loss, rng)
    got = getattr(module, name)(*arrays, reduction="none", **params)
    want = reference(loss, arrays, params)
    assert got.shape == (SAMPLES,)
    for computed, true in zip(got, want, strict=True):
        assert abs(computed - float(true)) <= 1e-12 * max(1.0, abs(float(true))), (name, computed, true)


def central_differences(function: Callable[[np.ndarray], object], output: np.ndarray, position: tuple[int, ...],
                        step: float = 1e-6) -> float:
    """(f(x + h e) - f(x - h e)) / 2h for the unit vector e at ``position``."""
    up, down = output.copy(), output.copy()
    up[position] += step
    down[position] -= step
    return float((np.asarray(function(up)) - np.asarray(function(down))) / (2 * step))


@pytest.mark.parametrize("name", NAMES)
def test_gradient_matches_central_differences(name: str) -> None:
    loss, module = LOSSES[name], kernels(name)
    arrays, params = arguments(loss, np.random.default_rng(11))
    output = arrays[0]
    grad = getattr(module, f"{name}_grad")(*arrays, reduction="sum", **params)
    for position in list(np.ndindex(output.shape))[:8]:
        numeric = central_differences(
            lambda x: getattr(module, name)(x, *arrays[1:], reduction="sum", **params), output, position)
        assert abs(grad[position] - numeric) <= 1e-5 * max(1.0, abs(numeric)), (name, position)


@pytest.mark.parametrize("name", NAMES)
def test_hessian_matches_differences_of_the_gradient(name: str) -> None:
    loss, module = LOSSES[name], kernels(name)
    arrays, params = arguments(loss, np.random.default_rng(13))
    output = arrays[0]
    hess = getattr(module, f"{name}_hess")(*arrays, reduction="sum", **params)
    grad = getattr(module, f"{name}_grad")
    for position in list(np.ndindex(output.shape))[:8]:
        numeric = central_differences(
            lambda x, at=position: grad(x, *arrays[1:], reduction="sum", **params)[at], output, position)
        assert abs(hess[position] - numeric) <= 1e-4 * max(1.0, abs(numeric)), (name, position)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_value_and_grad_is_the_pair_and_reductions_agree(name: str, reduction: str) -> None:
    loss, module = LOSSES[name], kernels(name)
    arrays, params = arguments(loss, np.random.default_rng(17))
    weight = np.random.default_rng(3).uniform(0.5, 2.0, SAMPLES)
    value = getattr(module, name)(*arrays, reduction=reduction, weight=weight, **params)
    grad = getattr(module, f"{name}_grad")(*arrays, reduction=reduction, weight=weight, **params)
    fused = getattr(module, f"{name}_value_and_grad")(*arrays, reduction=reduction, weight=weight, **params)
    np.testing.assert_allclose(fused[0], value, rtol=1e-13, atol=0)
    np.testing.assert_allclose(fused[1], grad, rtol=1e-13, atol=1e-300)
    per_sample = getattr(module, name)(*arrays, reduction="none", **params)
    expected = {"none": per_sample * weight, "sum": np.sum(per_sample * weight),
                "mean": np.sum(per_sample * weight) / SAMPLES}[reduction]
    np.testing.assert_allclose(value, expected, rtol=1e-13)


@pytest.mark.parametrize("name", NAMES)
def test_bad_inputs_raise_value_errors_naming_the_argument(name: str) -> None:
    loss, module = LOSSES[name], kernels(name)
    arrays, params = arguments(loss, np.random.default_rng(19))
    function = getattr(module, name)
    with pytest.raises(ValueError, match="reduction"):
        function(*arrays, reduction="average", **params)
    with pytest.raises(ValueError, match=loss.target.name):
        function(arrays[0], arrays[1][:-1], *arrays[2:], **params)
    for param in loss.params:
        if param.domain.low is not None:
            with pytest.raises(ValueError, match=param.name):
                function(*arrays, **{**params, param.name: float(param.domain.low) - 1.0})
    if loss.target.domain.values:
        wrong = arrays[1].copy()
        wrong[0] = 0.5 if 0.5 not in loss.target.domain.values else 7.0
        with pytest.raises(ValueError, match=loss.target.name):
            function(arrays[0], wrong, *arrays[2:], **params)


def test_integer_labels_equal_one_hot_labels_and_are_range_checked() -> None:
    module = kernels("softmax_cross_entropy")
    z = np.random.default_rng(0).normal(size=(5, 3))
    labels = np.array([0, 2, 1, 1, 0])
    np.testing.assert_array_equal(module.softmax_cross_entropy(z, labels, reduction="none"),
                                  module.softmax_cross_entropy(z, np.eye(3)[labels], reduction="none"))
    with pytest.raises(ValueError, match="out of range"):
        module.softmax_cross_entropy(z, np.array([0, 3, 1, 1, 0]))


def test_a_masked_logit_is_ignored_while_the_target_is_unmasked() -> None:
    module = kernels("softmax_cross_entropy")
    z = np.array([[2.0, -np.inf, 0.5]])
    loss = module.softmax_cross_entropy(z, np.array([0]), reduction="none")
    np.testing.assert_allclose(loss, module.softmax_cross_entropy(z[:, [0, 2]], np.array([0]), reduction="none"))
    grad = module.softmax_cross_entropy_grad(z, np.array([0]), reduction="none")
    assert np.all(np.isfinite(grad)) and grad[0, 1] == 0.0


def test_the_class_axis_can_be_chosen() -> None:
    module = kernels("softmax_cross_entropy")
    z = np.random.default_rng(1).normal(size=(4, 3))
    y = np.eye(3)[[0, 1, 2, 0]]
    np.testing.assert_allclose(module.softmax_cross_entropy(z.T, y.T, axis=0, reduction="none"),
                               module.softmax_cross_entropy(z, y, reduction="none"))
    np.testing.assert_allclose(module.softmax_cross_entropy_grad(z.T, y.T, axis=0),
                               module.softmax_cross_entropy_grad(z, y).T)


@settings(max_examples=60, deadline=None)
@given(st.floats(-1e300, 1e300, allow_nan=False), st.sampled_from([0.0, 1.0]))
def test_bce_with_logits_is_finite_for_every_finite_logit(z: float, y: float) -> None:
    module = kernels("bce_with_logits")
    value, grad = module.bce_with_logits_value_and_grad(np.array([z]), np.array([y]), reduction="none")
    assert np.isfinite(value).all() and np.isfinite(grad).all()
    assert value[0] >= 0.0 and -1.0 <= grad[0] <= 1.0


def test_extreme_logits_keep_their_tiny_losses() -> None:
    module = kernels("bce_with_logits")
    value = module.bce_with_logits(np.array([40.0, -700.0]), np.array([1.0, 0.0]), reduction="none")
    np.testing.assert_allclose(value, [float(mpmath.log1p(mpmath.exp(-40))), float(mpmath.log1p(mpmath.exp(-700)))],
                               rtol=1e-15)
    assert value[1] > 0.0


def test_flatten_indices_sums_out_kronecker_deltas() -> None:
    z, k, i = sp.IndexedBase("z"), sp.Symbol("k", integer=True), sp.Symbol("i", integer=True)
    count, n = sp.Symbol("K"), sp.Symbol("n", integer=True)
    assert flatten_indices(sp.Sum(z[k] * sp.KroneckerDelta(i, k), (k, 1, count)), n) == z[n]


def test_the_modules_import_only_numpy_and_their_own_package() -> None:
    package = Path(importlib.import_module("symloss_kernels").__file__).parent
    modules = sorted(package.glob("*.py"))
    assert len(modules) == len(NAMES) + 2  # one per loss, __init__ and the shared numerics
    for path in modules:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                assert [a.name for a in node.names] == ["numpy"], path.name
            elif isinstance(node, ast.ImportFrom):
                assert node.level == 1 or node.module == "numpy", path.name


def test_the_package_init_reexports_the_named_modules() -> None:
    init = render_package(["mse", "bce"])["__init__.py"]
    assert "from .bce import bce, bce_grad, bce_hess, bce_value_and_grad" in init
    assert init.index("from .bce import") < init.index("from .mse import")  # sorted: small diffs


@pytest.mark.parametrize(("name", "shape"), [("bce_with_logits", (50_000,)), ("softmax_cross_entropy", (3_000, 20)),
                                             ("vae_elbo", (4_000, 10))])
def test_large_inputs_computed_in_blocks_equal_small_calls(name: str, shape: tuple[int, ...]) -> None:
    """Inputs larger than a block go through the blockwise path; it must give what row-by-row calls give."""
    loss, module = LOSSES[name], kernels(name)
    rng = np.random.default_rng(23)
    arrays = [draw(v.domain, shape if v.is_vector or not loss.output.is_vector else shape[:-1], rng)
              for v in (loss.output, loss.target, *loss.inputs)]
    params = {v.name: v.default for v in loss.params if v.default is not None}
    value, grad = getattr(module, f"{name}_value_and_grad")(*arrays, reduction="none", **params)
    pieces = [getattr(module, f"{name}_value_and_grad")(*(a[start:start + 1000] for a in arrays), reduction="none",
                                                         **params) for start in range(0, shape[0], 1000)]
    np.testing.assert_array_equal(value, np.concatenate([p[0] for p in pieces]))
    np.testing.assert_array_equal(grad, np.concatenate([p[1] for p in pieces]))
    np.testing.assert_array_equal(getattr(module, name)(*arrays, reduction="none", **params), value)


# --------------------------------------------------------------------------- kernels built from this checkout
# Built from this checkout's declarations and engine rather than taken from the shipped package, so that
# a rule, a primitive or a declared form is tested before the package is regenerated.

CHECKOUT_CATALOG = Path(__file__).resolve().parent.parent / "derivations"


@cache
def proved_rules() -> tuple[ProvedRule, ...]:
    return prove_rules()


@cache
def built(name: str) -> tuple[Derivation, ModuleType]:
    """The derivation of ``name`` and its kernel module, generated into a fresh folder."""
    derivation = derive(load_catalog(CHECKOUT_CATALOG).get(name))
    kernel = kernel_for(derivation, proved_rules())
    folder = Path(tempfile.mkdtemp(prefix=f"symloss-test-{name}-"))
    write_package({f"{name}.py": render_module(kernel, "built by the tests"), **render_package([name])}, folder,
                  prune=False)
    return derivation, load_generated(folder, name)


def textbook(name: str, order: int, label: float, params: dict[str, float]) -> Callable[[float], mpmath.mpf]:
    """The declared formula's derivative of ``order`` at the label, in mpmath at 1000 digits (enough for
    1 - 1e-300 and e^-745 to keep their digits)."""
    loss = LOSSES[name]
    symbols = {v.name: v.symbol for v in loss.params}
    expr = sp.diff(loss.formula, loss.output.symbol, order).xreplace(
        {loss.target.symbol: sp.nsimplify(label), **{symbols[k]: sp.Rational(v) for k, v in params.items()}})
    function = sp.lambdify(loss.output.symbol, expr, modules="mpmath")

    def at(x: float) -> mpmath.mpf:
        with mpmath.workdps(1000):
            return +function(mpmath.mpf(x))

    return at


def ulps(computed: float, true: mpmath.mpf) -> float:
    """|computed - true| in units of the spacing of the rounded truth."""
    return float(abs(mpmath.mpf(computed) - true)) / float(np.spacing(abs(float(true))))


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
@pytest.mark.parametrize(("p", "y"), [(1e-300, 0.0), (1e-16, 0.0), (1 - 2.0**-53, 1.0), (0.99999999, 1.0),
                                      (0.9119300661231663, 1.0), (0.9798736680986776, 1.0), (0.7290375678620304, 1.0),
                                      (0.5, 1.0), (1e-8, 1.0), (1 - 2.0**-53, 0.0)])
def test_focal_hessian_within_4_ulp_where_the_expanded_form_failed(p: float, y: float, gamma: float) -> None:
    """The expanded Hessian gave NaN (0 * inf) at p = 1e-300 and lost every digit near p = 1 for y = 1."""
    _, module = built("focal")
    got = float(module.focal_hess(np.array([p]), np.array([y]), gamma=gamma, reduction="none")[0])
    true = textbook("focal", 2, y, {"gamma": gamma})(p)
    assert ulps(got, true) <= 4.0, (p, y, gamma, got, float(true))


@pytest.mark.parametrize("z", [1e-300, -1e-300, 1e-8, -1e-8, 1e-3, -0.5, 0.5, 3.0, -40.0, 40.0])
@pytest.mark.parametrize("y", [0.0, 1.0, 2.0, 10.0])
def test_poisson_gradient_within_4_ulp_at_small_log_rates(z: float, y: float) -> None:
    """exp(z) - y at y = 1 and z = 1e-300 used to come out as 0 (its truth is 1e-300)."""
    _, module = built("poisson_nll")
    got = float(module.poisson_nll_grad(np.array([z]), np.array([y]), reduction="none")[0])
    true = textbook("poisson_nll", 1, y, {})(z)
    assert ulps(got, true) <= 4.0, (z, y, got, float(true))


@pytest.mark.parametrize(("z", "y", "gamma"), [(3.0, 0.0, 2.0), (-3.0, 1.0, 2.0), (3.0, 1.0, 2.0), (20.0, 0.0, 2.0),
                                          (-3.0, 0.0, 2.0), (1.0, 0.0, 2.0), (-0.5, 1.0, 2.0), (3.0, 0.0, 0.5),
                                          (40.0, 0.0, 2.0), (-40.0, 1.0, 0.5), (710.0, 0.0, 2.0), (0.0, 1.0, 2.0)])
def test_focal_with_logits_within_4_ulp_where_powers_and_cancellation_cost_digits(z: float, y: float,
                                                                                 gamma: float) -> None:
    """The Hessian was 12 ulp off at z = 3 (its bracket cancels 5 against 6.1 there) and the gradient 5 ulp
    (a power of a rounded sigmoid)."""
    _, module = built("focal_with_logits")
    params = {"gamma": gamma, "alpha": 0.25}
    for order, function in ((1, module.focal_with_logits_grad), (2, module.focal_with_logits_hess)):
        got = float(function(np.array([z]), np.array([y]), reduction="none", **params)[0])
        true = textbook("focal_with_logits", order, y, params)(z)
        assert ulps(got, true) <= 4.0, (order, z, y, gamma, got, float(true))


def test_a_declared_form_keeps_its_grouping() -> None:
    """Factoring x (1 + w) + x y w into x (1 + 2 w) at y = 1 is shorter; a declared form is not refactored."""
    label = scalar_var("y", BINARY)
    x, w = sp.symbols("x w", real=True)
    expr = x * (1 + w) + x * label.symbol * w
    rules = proved_rules()
    assert [b.expr for b in stable_form(expr, label, rules, declared=True).branches] == [x * (1 + w),
                                                                                         x * (1 + w) + x * w]
    assert [b.expr for b in stable_form(expr, label, rules).branches] == [x * (w + 1), x * (2 * w + 1)]


@cache
def numerics() -> ModuleType:
    """The shared numerics module as this checkout renders it."""
    folder = Path(tempfile.mkdtemp(prefix="symloss-test-numerics-"))
    write_package(render_package([]), folder, prune=False)
    return load_generated(folder, "_numerics")


def shifted_parts(z: list[float]) -> tuple[np.ndarray, ...]:
    return numerics()._shifted(np.array([z]))


@pytest.mark.parametrize("gap", [0.0, 1e-3, 0.5, 1.0, 1.1, 2.0, 5.0, 20.0, 40.0, 300.0, 700.0, -0.1, -1.0])
def test_log_softmax_remainder_against_mpmath(gap: float) -> None:
    """log p + 1 - p for the two entries of softmax([gap, 0]): one with 1 - p from 1e-304 to 1/2, one with p tiny."""
    got = numerics()._log_softmax_remainder(shifted_parts([gap, 0.0]))[0]
    with mpmath.workdps(1000):
        logits = [mpmath.mpf(gap), mpmath.mpf(0)]
        total = sum(mpmath.exp(v) for v in logits)
        for entry, value in zip(logits, got, strict=True):
            p = mpmath.exp(entry) / total
            true = mpmath.log(p) + 1 - p
            assert abs(value - true) <= 16 * 2.0**-53 * abs(true) + 2.0**-1022, (gap, float(true), value)


def test_sum_over_the_others_never_subtracts_the_entry() -> None:
    x = np.array([[1.0, 1e-30, 2e-30, 3.0], [5.0, 0.0, 0.0, 0.0]])
    np.testing.assert_array_equal(numerics()._sum_others(x), [[3.0 + 3e-30, 4.0 + 2e-30, 4.0 + 1e-30, 1.0 + 3e-30],
                                                             [0.0, 5.0, 5.0, 5.0]])
    assert numerics()._sum_others(np.array([[1.0, 1e-300]]))[0, 0] == 1e-300  # sum(x) - x_0 would give 0


def poly1_truth(z: list[float], y: list[float], epsilon: float) -> tuple[mpmath.mpf, list, list]:
    """Poly-1's value, gradient p_i - y_i - eps p_i (y_i - p_t) and Hessian diagonal at 1000 digits."""
    with mpmath.workdps(1000):
        logits = [mpmath.mpf(v) for v in z]
        top = max(logits)
        weights = [mpmath.exp(v - top) for v in logits]
        p = [w / sum(weights) for w in weights]
        labels = [mpmath.mpf(v) for v in y]
        p_t = sum(a * b for a, b in zip(labels, p, strict=True))
        value = -sum(a * mpmath.log(b) for a, b in zip(labels, p, strict=True) if a) + epsilon * (1 - p_t)
        grad = [pi - yi - epsilon * pi * (yi - p_t) for pi, yi in zip(p, labels, strict=True)]
        hess = [pi * (1 - pi) - epsilon * pi * (yi - p_t) * (1 - 2 * pi) for pi, yi in zip(p, labels, strict=True)]
        return +value, [+g for g in grad], [+h for h in hess]


def normwise(got: np.ndarray, true: list) -> float:
    return float(max(abs(g - t) for g, t in zip(got, true, strict=True)) / max(abs(t) for t in true))


@pytest.mark.parametrize(("z", "y", "epsilon"), [
    ([299.5545866879917, -0.4454133120083229], [1.0, 0.0], -1.0),  # value, gradient, Hessian ~1e-261 came out 0
    ([380.6139358515022, 80.61393585150219, -47.637674740116196], [1.0, 0.0, 0.0], -1.0),
    ([-10.245389838734422, 85.24997077635643], [0.9661092758178711, 0.033890724182128906], 1.0),  # was 14x off
    ([-20.00416934024425, -61.50119142208297, 267.54459196867566],
     [0.8515243530273438, 0.12725353240966797, 0.02122211456298828], 1.0),
    ([134.58754237823044, 78.13114007004275], [0.9020957946777344, 0.09790420532226562], -1.0),
    ([-386.76167643217025, 306.60367390488966, -7.734505972421603], [1.0, 0.0, 0.0], 1.0),
    ([20.0, 0.0, -3.0], [1.0, 0.0, 0.0], -0.5),
    ([0.3, -0.2, 0.1], [0.25, 0.5, 0.25], -1.0),
])
def test_poly1_within_1e_13_where_it_cancelled(z: list[float], y: list[float], epsilon: float) -> None:
    _, module = built("poly1")
    logits, labels = np.array([z]), np.array([y])
    value, grad, hess = (getattr(module, f"poly1{suffix}")(logits, labels, epsilon=epsilon, reduction="none")[0]
                         for suffix in ("", "_grad", "_hess"))
    true_value, true_grad, true_hess = poly1_truth(z, y, epsilon)
    assert abs(value - true_value) <= 1e-13 * abs(true_value), (float(true_value), value)
    assert normwise(grad, true_grad) <= 1e-13, ([float(t) for t in true_grad], grad)
    assert normwise(hess, true_hess) <= 1e-13, ([float(t) for t in true_hess], hess)


@pytest.mark.parametrize("name", ["focal", "poisson_nll", "poly1"])
def test_rebuilt_kernel_is_certified_within_its_budget(name: str) -> None:
    derivation, module = built(name)
    certificate = certify(derivation, module)
    assert certificate.passed, [f.function + ": " + f.summary() for f in certificate.functions if not f.passed]
