"""Generated kernels: the shipped package against mpmath, finite differences and its own contract."""

from __future__ import annotations

import ast
import importlib
import math
import tempfile
from collections.abc import Callable
from fractions import Fraction
from functools import cache
from pathlib import Path
from types import ModuleType

import mpmath
import numpy as np
import pytest
import sympy as sp
from backends import optional_backend
from checkout_kernels import built
from hypothesis import given, settings
from hypothesis import strategies as st
from test_program import same_up_to_renaming

from symloss import load_catalog
from symloss.certify.certificate import certify
from symloss.certify.stress_grid import stress_points
from symloss.declare.loss import Definition, Loss
from symloss.declare.notation import BINARY, UNIT_CLOSED, Domain, Unset
from symloss.declare.notation import var as scalar_var
from symloss.derive.chain import derive
from symloss.emit.codegen import kernel_for, load_generated, render_module, render_package, write_package
from symloss.emit.forms import switch_choices
from symloss.pipeline import KernelBuild
from symloss.pipeline import kernels as build_kernels
from symloss.stabilize.rules import proved_rules

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


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-1e300, 1e300, allow_nan=False), min_size=2, max_size=12), st.data(),
       st.sampled_from([0.0, 0.1]))
def test_softmax_cross_entropy_is_finite_for_finite_logits_in_both_label_forms(
        logits: list[float], data: st.DataObject, smoothing: float) -> None:
    """Finite logits of any magnitude, integer labels or one-hot rows: a finite loss >= 0 and a finite
    gradient with entries in [-1, 1], equal in both forms."""
    module = kernels("softmax_cross_entropy")
    z = np.array([logits])
    label = np.array([data.draw(st.integers(0, len(logits) - 1))])
    results = [module.softmax_cross_entropy_value_and_grad(z, t, label_smoothing=smoothing, reduction="none")
               for t in (label, np.eye(len(logits))[label])]
    for value, grad in results:
        assert np.isfinite(value).all() and np.isfinite(grad).all()
        assert value[0] >= 0.0 and np.all(np.abs(grad) <= 1.0)
    (value, grad), (row_value, row_grad) = results
    assert abs(value[0] - row_value[0]) <= 1e-13 * abs(row_value[0]) + 1e-300
    assert np.max(np.abs(grad - row_grad)) <= 1e-13 * max(np.max(np.abs(row_grad)), 1e-300)


def test_extreme_logits_keep_their_tiny_losses() -> None:
    module = kernels("bce_with_logits")
    value = module.bce_with_logits(np.array([40.0, -700.0]), np.array([1.0, 0.0]), reduction="none")
    np.testing.assert_allclose(value, [float(mpmath.log1p(mpmath.exp(-40))), float(mpmath.log1p(mpmath.exp(-700)))],
                               rtol=1e-15)
    assert value[1] > 0.0


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


# --------------------------------------------------------------------------- conditioning-limited kernels

ULP_BUDGET = 4.0
REBUILT = ("log_cosh", "kl_divergence", "mse_sigmoid", "gaussian_nll")


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """These kernels generated by this checkout's engine (not the shipped package), with the shared numerics."""
    from symloss.pipeline import build_kernels, derive_all, write_kernels

    folder = tmp_path_factory.mktemp("kernels")
    build = build_kernels(derive_all(CATALOG.select(list(REBUILT)), workers=1), certify=False)
    write_kernels(build, folder)
    return folder


def ulps(computed: float, true: mpmath.mpf) -> float:
    """|computed − true| in units of the last place of the rounded truth."""
    return float(abs(mpmath.mpf(computed) - true) / mpmath.mpf(float(np.spacing(abs(float(true))))))


def sech2(r: mpmath.mpf) -> mpmath.mpf:
    return 1 / mpmath.cosh(r) ** 2


def test_log_cosh_keeps_the_residual_exact(rebuilt: Path) -> None:
    """sech²(y − ŷ) has relative condition 2|r| tanh r: the rounded residual once cost 320 ulp at r ≈ 295."""
    module = load_generated(rebuilt, "log_cosh")
    yhat = np.array([-16.878007408991344, 0.1, 1e-8, -300.0, 3.0, 1e300])
    y = np.array([277.80005983422313, 0.1 + 2**-40, -1.0, 0.30000000000000004, 20.0, -1e300])
    with mpmath.workdps(60):
        r = [mpmath.mpf(b) - mpmath.mpf(a) for a, b in zip(yhat, y, strict=True)]
        truths = {"": [mpmath.log(mpmath.cosh(x)) for x in r], "_grad": [-mpmath.tanh(x) for x in r],
                  "_hess": [sech2(x) for x in r]}
        for suffix, want in truths.items():
            got = getattr(module, f"log_cosh{suffix}")(yhat, y, reduction="none")
            for computed, true in zip(got, want, strict=True):
                if abs(true) >= np.finfo(np.float64).tiny:
                    assert ulps(computed, true) <= ULP_BUDGET, (suffix, computed, true)
                else:
                    assert abs(computed) < np.finfo(np.float64).tiny


def test_kl_divergence_of_close_distributions_is_relatively_accurate(rebuilt: Path) -> None:
    """Σ p log(p/q) of nearly equal p, q: terms of both signs once cancelled to a relative error of 3e-13.
    The second pair is not dyadic, so Σp ≠ Σq in exact arithmetic and Σ(p − q) must be summed exactly."""
    module = load_generated(rebuilt, "kl_divergence")
    rng = np.random.default_rng(5)
    logits = rng.standard_normal(10)
    q2 = np.exp(logits) / np.exp(logits).sum()
    p2 = np.exp(logits + 1e-7 * rng.standard_normal(10))
    p2 = p2 / p2.sum()
    pairs = [((0.8382024765014648, 0.16179752349853516), (0.8461532592773438, 0.15384674072265625)),
             (tuple(q2), tuple(p2)), ((0.5, 0.25, 0.25), (0.5, 0.25 + 2**-30, 0.25 - 2**-30))]
    for q, p in pairs:
        with mpmath.workdps(80):
            true = mpmath.fsum(mpmath.mpf(a) * mpmath.log(mpmath.mpf(a) / mpmath.mpf(b)) for a, b in zip(p, q,
                                                                                                        strict=True))
        got = float(module.kl_divergence(np.array([q]), np.array([p]), reduction="none")[0])
        assert abs(got - true) <= 1e-15 * abs(true), (q, p, got, true)


def test_kl_divergence_terms_at_zero_probabilities(rebuilt: Path) -> None:
    module = load_generated(rebuilt, "kl_divergence")
    got = module.kl_divergence(np.array([[0.5, 0.5, 0.0], [0.5, 0.5, 0.0]]), np.array([[0.5, 0.5, 0.0],
                                                                                       [0.25, 0.25, 0.5]]),
                               reduction="none")
    assert got[0] == 0.0 and got[1] == np.inf


def test_mse_sigmoid_hessian_near_its_roots(rebuilt: Path) -> None:
    """d²/dz² (σ(z) − y)² changes sign at σ(z) = 2/3 (y = 0) and 1/3 (y = 1), z = ±log 2: 3σ(z) − 2 once
    cancelled there (7 ulp at z = 0.5)."""
    module = load_generated(rebuilt, "mse_sigmoid")
    log2 = float(np.log(2.0))
    z = np.array([0.5, log2, np.nextafter(log2, 1.0), 0.69, -log2, -0.7, 3.0, -40.0, -710.0, 40.0])
    for label in (0.0, 1.0):
        got = module.mse_sigmoid_hess(z, np.full_like(z, label), reduction="none")
        with mpmath.workdps(60):
            for zi, computed in zip(z, got, strict=True):
                s = 1 / (1 + mpmath.exp(-mpmath.mpf(zi)))
                c = 1 / (1 + mpmath.exp(mpmath.mpf(zi)))  # 1 − s without cancellation
                true = 2 * s * c * (s * c + (s - label) * (c - s))
                if abs(true) >= np.finfo(np.float64).tiny:
                    assert ulps(computed, true) <= ULP_BUDGET, (label, zi, computed, true)
                else:
                    assert abs(computed) < np.finfo(np.float64).tiny, (label, zi, computed)


def mse_sigmoid_truth(z: float, label: float) -> tuple[mpmath.mpf, mpmath.mpf, mpmath.mpf]:
    """(σ(z) − y)², its derivative and second derivative at y = 0 or 1 (60 digits, 1 − σ(z) = σ(−z))."""
    with mpmath.workdps(60):
        s = 1 / (1 + mpmath.exp(-mpmath.mpf(z)))
        c = 1 / (1 + mpmath.exp(mpmath.mpf(z)))
        if label == 0:
            return s * s, 2 * s * s * c, 2 * s * s * c * (2 * c - s)
        return c * c, -2 * c * c * s, 2 * c * c * s * (2 * s - c)


def test_mse_sigmoid_on_dense_random_points(rebuilt: Path) -> None:
    """Value, gradient, Hessian and the fused pair within 3 ulp at 3000 seeded random logits in [−3, 3] and
    [−40, 40]: products of separately rounded sigmoids reached 6 ulp there (4.2 on the certifier's grid)."""
    module = load_generated(rebuilt, "mse_sigmoid")
    rng = np.random.default_rng(2024)
    z = np.concatenate([rng.uniform(-3.0, 3.0, 1500), rng.uniform(-40.0, 40.0, 1500)])
    y = rng.integers(0, 2, z.size).astype(np.float64)
    fused_loss = module.mse_sigmoid_value_and_grad(z, y, reduction="none")[0]
    fused_grad = module.mse_sigmoid_value_and_grad(z, y, reduction="sum")[1]
    results = {"loss": (module.mse_sigmoid(z, y, reduction="none"), 0),
               "grad": (module.mse_sigmoid_grad(z, y, reduction="sum"), 1),
               "hess": (module.mse_sigmoid_hess(z, y, reduction="sum"), 2),
               "fused loss": (fused_loss, 0), "fused grad": (fused_grad, 1)}
    truths = [mse_sigmoid_truth(a, b) for a, b in zip(z, y, strict=True)]
    for name, (computed, which) in results.items():
        worst = max(ulps(c, t[which]) for c, t in zip(computed, truths, strict=True))
        assert worst <= 3.0, (name, worst)


def test_sigmoid_powers_helper_against_mpmath(rebuilt: Path) -> None:
    """σ(x)^a σ(−x)^b (e^{L − x} − 1) within 1.5 ulp from the roots to the float range, the limits at ±inf;
    TwoProduct exact."""
    numerics = load_generated(rebuilt, "_numerics")
    log2 = float(np.log(2.0))
    x = np.array([0.0, 1e-300, -1e-8, 0.5, log2, np.nextafter(log2, 1.0), -log2, 0.69, 3.0, -20.0, 40.0, -100.0,
                  300.0, -700.0, 740.0, -745.0, 1e4, -1e300, np.inf, -np.inf])
    with mpmath.workdps(80):
        root = mpmath.log(2)
        for a, b, sign in ((2, 0, 0), (0, 2, 0), (2, 1, 0), (1, 3, 0), (3, 1, 1), (2, 2, -1), (1, 0, 1)):
            arguments = (float(sign * root), float(sign * root - mpmath.mpf(float(sign * root)))) if sign else ()
            with np.errstate(all="ignore"):
                got = numerics._sigmoid_powers(x, a, b, *arguments)
            for xi, computed in zip(x, got, strict=True):
                big = mpmath.mpf(1e6) if np.isinf(xi) else None
                point = mpmath.mpf(xi) if big is None else (big if xi > 0 else -big)
                s, c = 1 / (1 + mpmath.exp(-point)), 1 / (1 + mpmath.exp(point))
                # e^L e^{-x}: L + 1e300 would drop L at any sensible precision
                true = s**a * c**b * ((mpmath.exp(sign * root) * mpmath.exp(-point) - 1) if sign else 1)
                if abs(true) >= np.finfo(np.float64).tiny:
                    assert ulps(computed, true) <= 1.5, (a, b, sign, xi, computed, true)
                else:
                    assert abs(computed) < np.finfo(np.float64).tiny, (a, b, sign, xi, computed)
    rng = np.random.default_rng(8)
    p, q = rng.standard_normal(200) * 1e3, rng.standard_normal(200) * 1e-3
    high, low = numerics._two_prod(p, q)
    for h, e, a, b in zip(high, low, p, q, strict=True):
        assert Fraction(h) + Fraction(e) == Fraction(a) * Fraction(b)


def test_sigmoid_powers_with_co_factors_against_mpmath(rebuilt: Path) -> None:
    """c_1 c_2 σ(x)^a σ(−x)^b with the co-factors multiplied in before the powers of two: within 2 ulp where
    σ(−x) alone is subnormal (x = 745: one bit) or 0 and the co-factors bring the product back into range,
    0 where the product underflows however large the co-factors, inf where it overflows, and no overflow of
    c_1 c_2 on the way."""
    numerics = load_generated(rebuilt, "_numerics")
    x = np.array([745.0, 745.0, 900.0, -1000.0, 20.0, 2000.0, 3.0])
    c1 = np.array([-4.5e19, 1e300, 1e300, 1e300, 1e300, 1e300, 1e300])
    c2 = np.array([1.0, 1e100, 1e300, 1e300, 1e-300, 1e300, 1e10])
    with np.errstate(all="ignore"):
        got = numerics._sigmoid_powers(x, 1, 1, times=(c1, c2))
        plain = numerics._sigmoid_powers(x, 1, 1) * c1 * c2
    with mpmath.workdps(80):
        for xi, a, b, computed in zip(x, c1, c2, got, strict=True):
            point = mpmath.mpf(xi)
            true = mpmath.mpf(a) * mpmath.mpf(b) / (1 + mpmath.exp(-point)) / (1 + mpmath.exp(point))
            if abs(true) > np.finfo(np.float64).max:
                assert computed == np.inf, (xi, a, b, computed)
            elif abs(true) >= np.finfo(np.float64).tiny:
                assert ulps(computed, true) <= 2, (xi, a, b, computed, true)
            else:
                assert abs(computed) < np.finfo(np.float64).tiny, (xi, a, b, computed)
    assert not np.allclose(plain[:3], got[:3], rtol=1e-3)  # the plain product is far off there: the test can fail


def test_products_with_sigmoid_powers_pass_their_co_factors() -> None:
    """c·t²·sigmoid_powers(x, 1, 1) → the primitive with co-factors (c, t, t); other products unchanged."""
    from symloss.emit.blocks import Scaled, scaled_primitives
    from symloss.stabilize.primitives import sigmoid_powers

    x, c, t = sp.symbols("x c t")
    powers = sigmoid_powers(x, 1, 1)
    scaled = scaled_primitives(c * t**2 * powers + x * c)
    found = list(scaled.atoms(Scaled))
    assert len(found) == 1 and found[0].args[0] == powers
    assert sorted(map(str, found[0].args[1:])) == ["c", "t", "t"]
    assert scaled - found[0] == x * c


def test_sigmoid_pow_at_huge_exponents_is_a_number(rebuilt: Path) -> None:
    """σ(x)^c at c up to the largest float: 0 where c·min(x, 0) overflows (TwoProduct's error term was
    inf − inf = NaN there), e^{−c log1p(e^{−x})} at x > 0, and no NaN anywhere."""
    numerics = load_generated(rebuilt, "_numerics")
    x = np.array([-3.6e265, -1e-300, -5e-324, 0.0, 2.0, 800.0, 1e300])
    for c in (1.8779389572925e204, 1e300, float(np.finfo(np.float64).max), 126.64358390348153):
        with np.errstate(all="ignore"):
            got = numerics._sigmoid_pow(x, c)
        assert not np.any(np.isnan(got)), (c, got)
        with mpmath.workdps(60):
            for xi, computed in zip(x, got, strict=True):
                true = mpmath.exp(-mpmath.mpf(c) * mpmath.log1p(mpmath.exp(-mpmath.mpf(xi))))
                if abs(true) < np.finfo(np.float64).tiny:
                    assert abs(computed) < np.finfo(np.float64).tiny, (c, xi, computed)
                else:  # f log1p(e^{-|x|}) rounded once: (c - 64) log 2 2^-53 relative at most
                    assert ulps(computed, true) <= 1 + (c - 64) * 0.7, (c, xi, computed, true)


def test_gaussian_nll_squares_the_exact_residual(rebuilt: Path) -> None:
    """(log v + (y − ŷ)²/v)/2 at ŷ = 1e-8, y = −0.5, v = 0.5 cancels to −0.097: the rounded residual cost 5 ulp."""
    module = load_generated(rebuilt, "gaussian_nll")
    yhat, y, v = np.array([1e-8, 0.3]), np.array([-0.5, 0.1]), np.array([0.5, 0.75])
    got = module.gaussian_nll(yhat, y, v, reduction="none")
    with mpmath.workdps(60):
        for a, b, c, computed in zip(yhat, y, v, got, strict=True):
            true = (mpmath.log(c) + (mpmath.mpf(b) - mpmath.mpf(a)) ** 2 / c) / 2
            assert ulps(computed, true) <= ULP_BUDGET, (a, b, c, computed, true)


def test_two_sum_is_exact_and_the_compensated_sum_is_as_if_exact(rebuilt: Path) -> None:
    numerics = load_generated(rebuilt, "_numerics")
    rng = np.random.default_rng(3)
    x = rng.standard_normal(200) * 10.0 ** rng.integers(-20, 20, 200)
    y = rng.standard_normal(200) * 10.0 ** rng.integers(-20, 20, 200)
    high, low = numerics._two_sum(x, y)
    for a, b, h, low_part in zip(x, y, high, low, strict=True):
        assert Fraction(h) + Fraction(low_part) == Fraction(a) + Fraction(b)
    terms = np.array([[1e16, 1.0, -1e16, 3.0, 2**-30, -7.0, 1e-20]])  # math.fsum: -3 + 2^-30 + 1e-20
    assert numerics._compensated_sum(terms)[0, 0] == math.fsum(terms[0])
    assert np.sum(terms) != math.fsum(terms[0])  # the plain sum loses it: the test can fail


def test_kl_div_terms_against_mpmath(rebuilt: Path) -> None:
    """p log(p/q) − p + q ≥ 0 on both sides of the switch from Bennett's series (q/2 ≤ p ≤ 2q) to the direct form."""
    numerics = load_generated(rebuilt, "_numerics")
    q = np.array([0.3] * 9 + [1e-300, 0.5])
    p = q * np.array([1.0, 1 + 1e-9, 1 - 1e-6, 0.5, 2.0, 0.49, 2.01, 0.1, 30.0, 1e290, 0.0])
    with np.errstate(all="ignore"):  # as in the kernels: the branch not taken may divide by zero
        got = numerics._kl_div(p, q)
    with mpmath.workdps(60):
        for a, b, computed in zip(p, q, got, strict=True):
            pa, qb = mpmath.mpf(a), mpmath.mpf(b)
            true = qb if a == 0 else pa * mpmath.log(pa / qb) - pa + qb
            assert computed >= 0.0
            if true == 0:
                assert computed == 0.0
            else:
                assert ulps(computed, true) <= ULP_BUDGET, (a, b, computed, true)


# --------------------------------------------------------------------------- softmax focal at the stress points


REPO = Path(__file__).resolve().parents[2]


def numerics_module(folder: Path) -> ModuleType:
    """The shared numerics of the kernels, rendered from this checkout's template into ``folder``."""
    write_package(render_package([]), folder, prune=False)
    return load_generated(folder, "_numerics")


# --------------------------------------------------------------------------- kernels built from this checkout
# Built from this checkout's declarations and engine rather than taken from the shipped package, so that
# a rule, a primitive or a declared form is tested before the package is regenerated.


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


@pytest.mark.parametrize("gamma", [1.5, 5.0, 7.3])
def test_focal_with_logits_value_and_gradient_within_4_ulp_for_large_gamma(gamma: float) -> None:
    """sigma(a)^gamma as exp(gamma min(a, 0)) exp(...) rounded gamma a first: 245 ulp at gamma = 7.3, z = 39.5
    (e^-288 off by 288 2^-53); the exponent split n + f and an exactly summed argument keep it to a few ulp."""
    _, module = built("focal_with_logits")
    params = {"gamma": gamma, "alpha": 0.25}
    z = np.linspace(-40.0, 40.0, 81)
    for y in (0.0, 1.0):
        for order, function in ((0, module.focal_with_logits), (1, module.focal_with_logits_grad)):
            got = function(z, np.full(z.shape, y), reduction="none", **params)
            true = textbook("focal_with_logits", order, y, params)
            errors = [ulps(g, true(x)) for g, x in zip(got, z, strict=True)]
            worst = int(np.argmax(errors))
            assert errors[worst] <= 4.0, (order, y, gamma, z[worst], errors[worst])


# --------------------------------------------------------------------------- focal on logits, alpha=None
# alpha=None means no class balancing (alpha_t = 1 for both labels), as torchvision's alpha < 0.

FOCAL_FUNCTIONS = ("focal_with_logits", "focal_with_logits_grad", "focal_with_logits_hess",
                   "focal_with_logits_value_and_grad")


def unbalanced_focal(z: float, y: float, gamma: float) -> tuple[mpmath.mpf, mpmath.mpf, mpmath.mpf]:
    """-(1 - p_t)^gamma log p_t and its first two derivatives in z, at 50 digits.  With s = 2y - 1 and a = s z,
    p_t = sigma(a), 1 - p_t = sigma(-a) and -log p_t = log1p(e^-a) (no cancellation at any z); the derivatives
    by hand, with l = -log p_t: dL/dz = -s q^g (g p l + q), d2L/dz2 = p q^g (g^2 p l + (1 + 2g) q - g q l)."""
    with mpmath.workdps(50):
        s = 1 if y == 1 else -1
        a = s * mpmath.mpf(z)
        p, q, nll = 1 / (1 + mpmath.exp(-a)), 1 / (1 + mpmath.exp(a)), mpmath.log1p(mpmath.exp(-a))
        return (q**gamma * nll, -s * q**gamma * (gamma * p * nll + q),
                p * q**gamma * (gamma**2 * p * nll + (1 + 2 * gamma) * q - gamma * q * nll))


def unbalanced_focal_value(z: mpmath.mpf, y: float, gamma: float) -> mpmath.mpf:
    p = 1 / (1 + mpmath.exp(-z))
    p_t = p if y == 1 else 1 - p
    return -((1 - p_t) ** gamma) * mpmath.log(p_t)


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
@pytest.mark.parametrize("z", [-1.5, 0.5, 3.0])
@pytest.mark.parametrize("y", [0.0, 1.0])
def test_the_unbalanced_focal_reference_is_the_formula_and_its_derivatives(z: float, y: float, gamma: float) -> None:
    """The closed forms above against the textbook formula and mpmath's numerical derivatives, where
    neither cancels (at 700 the textbook 1 - p_t and the numerical derivative are 0)."""
    with mpmath.workdps(50):
        truth = unbalanced_focal(z, y, gamma)
        for order, true in enumerate(truth):
            reference = mpmath.diff(lambda x: unbalanced_focal_value(x, y, gamma), mpmath.mpf(z), order)
            assert abs(reference - true) <= mpmath.mpf(10) ** -40 * abs(true), (order, reference, true)


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
@pytest.mark.parametrize("z", [-40.0, -3.0, 0.5, 3.0, 40.0, 700.0])
@pytest.mark.parametrize("y", [0.0, 1.0])
def test_focal_with_logits_without_alpha_within_4_ulp(z: float, y: float, gamma: float) -> None:
    """alpha=None used to raise a TypeError (1 - None); each function is now the unbalanced focal loss."""
    _, module = built("focal_with_logits")
    args = (np.array([z]), np.array([y]))
    value, grad, hess, fused = (getattr(module, f)(*args, gamma=gamma, alpha=None, reduction="none")
                                for f in FOCAL_FUNCTIONS)
    truth = unbalanced_focal(z, y, gamma)
    for got, true in zip((value, grad, hess, *fused), (*truth, *truth[:2]), strict=True):
        if abs(true) >= np.finfo(float).tiny:
            assert ulps(float(got[0]), true) <= ULP_BUDGET, (z, y, gamma, float(got[0]), float(true))
        else:  # the truth is subnormal or below: absolutely right
            assert abs(float(got[0]) - true) <= np.finfo(float).tiny, (z, y, gamma, float(got[0]), float(true))


def test_focal_with_logits_alpha_none_is_exactly_alpha_of_the_label() -> None:
    """alpha_t = 1: what alpha = 1 gives positives and alpha = 0 gives negatives, to the bit."""
    _, module = built("focal_with_logits")
    z = np.random.default_rng(29).normal(0.0, 20.0, 64)
    for name in FOCAL_FUNCTIONS[:3]:
        function = getattr(module, name)
        for label, alpha in ((1.0, 1.0), (0.0, 0.0)):
            y = np.full_like(z, label)
            np.testing.assert_array_equal(function(z, y, alpha=None, reduction="none"),
                                          function(z, y, alpha=alpha, reduction="none"), err_msg=name)


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
def test_focal_with_logits_without_alpha_gradient_matches_central_differences(gamma: float) -> None:
    _, module = built("focal_with_logits")
    rng = np.random.default_rng(31)
    z, y, weight = rng.uniform(-3.0, 3.0, 8), rng.choice([0.0, 1.0], 8), rng.uniform(0.5, 2.0, 8)
    options = {"gamma": gamma, "alpha": None, "weight": weight}
    for reduction in ("sum", "mean"):
        grad = module.focal_with_logits_grad(z, y, reduction=reduction, **options)
        for position in np.ndindex(z.shape):
            numeric = central_differences(
                lambda x, r=reduction: module.focal_with_logits(x, y, reduction=r, **options), z, position)
            assert abs(grad[position] - numeric) <= 1e-6 * max(1.0, abs(numeric)), (gamma, reduction, position)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_focal_with_logits_without_alpha_reduces_and_weighs(reduction: str) -> None:
    _, module = built("focal_with_logits")
    rng = np.random.default_rng(37)
    z, y, weight = rng.normal(0.0, 5.0, 9), rng.choice([0.0, 1.0], 9), rng.uniform(0.5, 2.0, 9)
    options = {"alpha": None, "reduction": reduction, "weight": weight}
    per_element = module.focal_with_logits(z, y, alpha=None, reduction="none")
    per_grad = module.focal_with_logits_grad(z, y, alpha=None, reduction="none")
    scale = {"none": 1.0, "sum": 1.0, "mean": 1.0 / z.size}[reduction]
    expected = per_element * weight if reduction == "none" else np.sum(per_element * weight) * scale
    value = module.focal_with_logits(z, y, **options)
    np.testing.assert_allclose(value, expected, rtol=1e-13)
    np.testing.assert_allclose(module.focal_with_logits_grad(z, y, **options), per_grad * weight * scale, rtol=1e-13)
    fused = module.focal_with_logits_value_and_grad(z, y, **options)
    np.testing.assert_array_equal(fused[0], value)
    np.testing.assert_array_equal(fused[1], module.focal_with_logits_grad(z, y, **options))


@pytest.mark.parametrize("alpha", [1.5, -0.25, "x", [0.5, "y"]])
@pytest.mark.parametrize("name", FOCAL_FUNCTIONS)
def test_focal_with_logits_still_rejects_a_bad_alpha(name: str, alpha: object) -> None:
    _, module = built("focal_with_logits")
    with pytest.raises(ValueError, match="alpha"):
        getattr(module, name)(np.zeros(3), np.ones(3), alpha=alpha)


@pytest.mark.parametrize("name", FOCAL_FUNCTIONS)
def test_focal_with_logits_docstrings_say_what_alpha_none_means(name: str) -> None:
    _, module = built("focal_with_logits")
    assert "``alpha=None``: no class balancing, alpha_t = 1 for both classes" in getattr(module, name).__doc__


def test_options_given_as_none_or_switched_off_get_their_own_programs() -> None:
    """One program per set of options given as None or at a default of 0, the largest set tested first;
    none without such options."""
    derivation, _ = built("focal_with_logits")
    kernel = kernel_for(derivation, proved_rules())
    assert [v.condition for v in kernel.variants] == ["alpha is None"]
    assert [o.unset != "" for o in kernel.options] == [False, True]
    z, y = scalar_var("z"), scalar_var("y", BINARY)
    a, b = (scalar_var(n, UNIT_CLOSED, default=0.5, unset=Unset(y.symbol, "unweighted")) for n in "ab")
    off = scalar_var("c", UNIT_CLOSED, default=0.0, unset=Unset(y.symbol, "unweighted"))
    toy = Loss("toy", "Toy", "binary", z, y, a.symbol * b.symbol * off.symbol * z.symbol**2, Definition(),
               params=(a, b, off))
    conditions = [" and ".join(s.condition for s in choice) for choice in switch_choices(toy)]
    assert conditions[:2] == ["a is None and b is None and c is None", "a is None and b is None and c == 0"]
    assert "c is None and c == 0" not in " ".join(conditions)  # one switch per option at a time
    assert len(conditions) == 2 * 2 * 3 - 1  # a: None or not, b: None or not, c: None, 0 or neither
    assert switch_choices(LOSSES["focal"]) == []


@pytest.mark.parametrize("name", NAMES)
def test_named_kernels_are_the_plain_kernels_renamed(name: str) -> None:
    """Every program of every catalog kernel, with its temporaries named and its blocks commented, is
    the program with ``t``/``u`` names up to a consistent renaming: not one operation changes."""
    derivation, _ = built(name)
    named, plain = (kernel_for(derivation, proved_rules(), named=flag) for flag in (True, False))
    programs = [(named.code, plain.code), *((a.code, b.code) for a, b in zip(named.variants, plain.variants,
                                                                            strict=True))]
    for mine, theirs in programs:
        for key in theirs:
            assert same_up_to_renaming(mine[key].splitlines(), theirs[key].splitlines()), (name, key)
            comments = [line for line in mine[key].splitlines() if line.startswith("# ")]
            assert comments and all(len(line) <= 108 for line in comments)  # 120 at the deepest indentation


@cache
def numerics() -> ModuleType:
    """The shared numerics module as this checkout renders it."""
    return numerics_module(Path(tempfile.mkdtemp(prefix="symloss-test-numerics-")))


@pytest.fixture(scope="module")
def focal() -> ModuleType:
    """The softmax focal kernel generated from this checkout's declaration (not the installed package)."""
    loss = load_catalog(REPO / "derivations").get("softmax_focal")
    derivation = derive(loss, budget=30.0)
    for check in (derivation.gradient_check, derivation.hessian_check):
        assert check.status == "proved" and check.scope == "symbolic K", check
        assert "declared closed form" in check.detail, check
    (kernel,) = build_kernels([derivation])
    folder = Path(tempfile.mkdtemp(prefix="symloss-focal-"))
    write_package(KernelBuild((kernel,), {}).files(["softmax_focal"]), folder, prune=False)
    return load_generated(folder, "softmax_focal")


def focal_truth(z: list[float], y: list[float], gamma: float) -> tuple[mpmath.mpf, list[mpmath.mpf], list[mpmath.mpf]]:
    """Loss, gradient and Hessian diagonal of -sum_k y_k (1 - p_k)^gamma log p_k from first principles:
    f(q) = -(1 - q)^gamma log q, dp_k/dz_i = p_k (delta_ki - p_i), at enough digits for 1 - p at the
    largest logit gap (independent of the closed forms the kernel is generated from)."""
    finite = [v for v in z if math.isfinite(v)]
    with mpmath.workdps(80 + int((max(finite) - min(finite)) / math.log(10))):
        g = mpmath.mpf(gamma)
        top = max(finite)
        total = mpmath.fsum(mpmath.exp(mpmath.mpf(v) - top) for v in finite)
        p = [mpmath.exp(mpmath.mpf(v) - top) / total if math.isfinite(v) else mpmath.mpf(0) for v in z]
        u = [mpmath.fsum(p[j] for j in range(len(z)) if j != k) for k in range(len(z))]  # 1 - p_k, no cancellation

        def d1(k: int) -> mpmath.mpf:  # f'(p_k)
            return g * u[k] ** (g - 1) * mpmath.log(p[k]) - u[k] ** g / p[k]

        def d2(k: int) -> mpmath.mpf:  # f''(p_k)
            return (-g * (g - 1) * u[k] ** (g - 2) * mpmath.log(p[k]) + 2 * g * u[k] ** (g - 1) / p[k]
                    + u[k] ** g / p[k] ** 2)

        labelled = [k for k in range(len(z)) if y[k] != 0]
        loss = -mpmath.fsum(y[k] * u[k] ** g * mpmath.log(p[k]) for k in labelled)
        grad, hess = [], []
        for i in range(len(z)):
            gap = [(1 if k == i else 0) - p[i] for k in range(len(z))]
            grad.append(mpmath.fsum(y[k] * d1(k) * p[k] * gap[k] for k in labelled))
            curvature = [d2(k) * p[k] ** 2 * gap[k] ** 2 + d1(k) * p[k] * (gap[k] ** 2 - p[i] * u[i]) for k in labelled]
            hess.append(mpmath.fsum(y[k] * c for k, c in zip(labelled, curvature, strict=True)))
        return loss, grad, hess


def assert_normwise(computed: np.ndarray, truth: list[mpmath.mpf]) -> None:
    """Within the class-vector budget (1e-13 relative, normwise for a vector); a value or vector whose
    truth is below the normal range must come out below it too; no inf/NaN."""
    assert np.all(np.isfinite(computed)), computed
    norm = max(abs(t) for t in truth)
    error = max(abs(mpmath.mpf(float(c)) - t) for c, t in zip(computed, truth, strict=True))
    smallest = np.finfo(np.float64).tiny
    if norm >= smallest:
        assert error <= 1e-13 * norm, (computed, [mpmath.nstr(t, 8) for t in truth])
    else:
        assert np.all(np.abs(computed) <= smallest), computed


FOCAL_POINTS = [  # (z, y, gamma): the stress points the raw derivative lost (inf/NaN or every digit)
    ([40.0, 0.0, -5.0], [1.0, 0.0, 0.0], 0.5),  # 1 - p = e^-40: the own-class curvature cancels naively
    ([0.0, -3000.0, -4500.0], [1.0, 0.0, 0.0], 0.5),  # 1 - p underflows: v = (1 - p)^(gamma - 1) overflows
    ([0.0, -3000.0, -4500.0], [1.0, 0.0, 0.0], 0.0),  # gamma = 0 there: 0 * inf
    ([3000.0, -2000.0, 500.0], [0.25, 0.5, 0.25], 0.5),  # soft labels at logit scale 1e4 (the arg-max labelled)
    ([3000.0, -2000.0, 500.0], [0.25, 0.5, 0.25], 2.0),
    ([1.0, -math.inf, 2.5, 0.5], [0.0, 0.0, 1.0, 0.0], 2.0),  # a masked logit
    ([1.0, -math.inf, 2.5, 0.5], [1.0, 0.0, 0.0, 0.0], 0.5),
    ([-700.0, 2.0, 1.0, -2.0, 30.0, 29.0, -50.0, 0.0, 3.0, 4.0], [0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0],
     0.5),  # K = 10, the label on the runner-up
]


@pytest.mark.parametrize(("z", "y", "gamma"), FOCAL_POINTS)
def test_softmax_focal_against_mpmath_where_the_raw_derivative_failed(focal: ModuleType, z: list[float],
                                                                     y: list[float], gamma: float) -> None:
    loss, grad, hess = focal_truth(z, y, gamma)
    args = (np.array([z]), np.array([y]))
    assert_normwise(focal.softmax_focal(*args, gamma=gamma, reduction="none"), [loss])
    assert_normwise(focal.softmax_focal_grad(*args, gamma=gamma, reduction="none")[0], grad)
    assert_normwise(focal.softmax_focal_hess(*args, gamma=gamma, reduction="none")[0], hess)


def _scale_1e4_grid_points() -> list[tuple[list[float], list[float], float]]:
    """Stress-grid points at logit scale 1e4 whose truth the certifier's interval reference leaves
    unresolved (1 - p = e^-gap needs gap / ln 10 digits), with gaps up to 1e4 to keep this test quick."""
    def spread(z: tuple[float, ...]) -> float:
        finite = [v for v in z if math.isfinite(v)]
        return max(finite) - min(finite)

    loss = load_catalog(REPO / "derivations").get("softmax_focal")
    points = [p for p in stress_points(loss, dense=0) if len(p[0]) <= 10 and 4000 < spread(p[0]) < 10_000]
    return [(list(z), list(y), gamma) for z, y, gamma in points]


@pytest.mark.parametrize(("z", "y", "gamma"), _scale_1e4_grid_points())
def test_softmax_focal_at_logit_scale_1e4_against_mpmath(focal: ModuleType, z: list[float], y: list[float],
                                                         gamma: float) -> None:
    test_softmax_focal_against_mpmath_where_the_raw_derivative_failed(focal, z, y, gamma)


def test_softmax_focal_at_a_thousand_classes(focal: ModuleType) -> None:
    rng = np.random.default_rng(5)
    z = rng.standard_normal(1000) * 30.0
    y = np.zeros(1000)
    y[int(np.argmax(z))], y[3] = 0.75, 0.25
    loss, grad, hess = focal_truth(list(z), list(y), 0.5)
    assert_normwise(np.array([focal.softmax_focal(z, y, gamma=0.5, reduction="none")]), [loss])
    assert_normwise(focal.softmax_focal_grad(z, y, gamma=0.5, reduction="none"), grad)
    assert_normwise(focal.softmax_focal_hess(z, y, gamma=0.5, reduction="none"), hess)


@pytest.mark.parametrize("z", [[2.0, 1.0, 0.1], [40.0, 0.0, -5.0], [0.0, -3000.0, -4500.0], [1.0, -math.inf, 2.5]])
def test_softmax_focal_with_gamma_zero_is_softmax_cross_entropy(focal: ModuleType, z: list[float]) -> None:
    """gamma = 0 against -log p_c, p - y and p (1 - p) computed in mpmath (not from the focal formula)."""
    y = [1.0] + [0.0] * (len(z) - 1)
    finite = [v for v in z if math.isfinite(v)]
    with mpmath.workdps(80 + int((max(finite) - min(finite)) / math.log(10))):
        shifted = [mpmath.mpf(v) - max(finite) if math.isfinite(v) else -mpmath.inf for v in z]
        log_total = mpmath.log(mpmath.fsum(mpmath.exp(s) for s in shifted))
        p = [mpmath.exp(s - log_total) for s in shifted]
        others = [mpmath.fsum(p[j] for j in range(len(z)) if j != i) for i in range(len(z))]
        ce = log_total - shifted[0]
        ce_grad = [p[i] - y[i] for i in range(len(z))]
        ce_hess = [p[i] * others[i] for i in range(len(z))]
    args = (np.array([z]), np.array([0]))
    assert_normwise(focal.softmax_focal(*args, gamma=0.0, reduction="none"), [ce])
    assert_normwise(focal.softmax_focal_grad(*args, gamma=0.0, reduction="none")[0], ce_grad)
    assert_normwise(focal.softmax_focal_hess(*args, gamma=0.0, reduction="none")[0], ce_hess)


def test_softmax_xlogx_ratio_keeps_its_limits(tmp_path: Path) -> None:
    numerics = numerics_module(tmp_path)
    z = np.array([[0.0, -800.0, -np.inf], [1.0, 0.5, -2.0]])
    with np.errstate(invalid="ignore"):  # as in the kernels: 0 * -inf at the mask is discarded
        ratio = numerics._softmax_xlogx_ratio(numerics._shifted(z))
    assert ratio[0, 0] == -1.0  # p -> 1: 1 - p underflows, the limit is kept
    assert ratio[0, 2] == 0.0  # a masked class: p log p -> 0
    with mpmath.workdps(50):
        for k, v in enumerate(z[1]):
            q = mpmath.exp(v) / mpmath.fsum(mpmath.exp(x) for x in z[1])
            assert abs(ratio[1, k] - q * mpmath.log(q) / (1 - q)) <= 4e-16 * abs(q * mpmath.log(q) / (1 - q))


def test_other_classes_sum_neither_cancels_nor_spreads_an_infinite_entry(tmp_path: Path) -> None:
    numerics = numerics_module(tmp_path)
    a = np.array([[1e20, 1.0, 2.0], [np.inf, 1.0, 2.0], [np.nan, 1.0, 2.0]])
    weight = np.array([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    with np.errstate(invalid="ignore"):  # as in the kernels: the NaN of the masked-off entries is discarded
        got = numerics._other_classes_sum(weight, a)
    np.testing.assert_array_equal(got[0], [3.0, 1e20 + 2.0, 1e20 + 1.0])  # the 3 is not lost against 1e20
    np.testing.assert_array_equal(got[1:], [[3.0, 0.0, 0.0], [3.0, 0.0, 0.0]])


# --------------------------------------------------------------------------- PyTorch, when installed


def _torch_cases(torch: ModuleType) -> dict[str, tuple[Callable, dict, Callable]]:
    """Loss name → (how to draw its inputs, its options, the same loss in PyTorch with reduction "mean")."""
    functional = torch.nn.functional
    rng = np.random.default_rng(31)
    shape, classes = (7, 5), 5

    def logits_and_bits() -> tuple[np.ndarray, ...]:
        return rng.normal(0.0, 3.0, shape), rng.integers(0, 2, shape).astype(float)

    def regression() -> tuple[np.ndarray, ...]:
        return rng.normal(0.0, 2.0, shape), rng.normal(0.0, 2.0, shape)

    def simplex(rows: int) -> np.ndarray:
        e = np.exp(rng.normal(0.0, 1.0, (rows, classes)))
        return e / e.sum(axis=-1, keepdims=True)

    def per_sample_kl(q: object, p: object) -> object:
        return functional.kl_div(torch.log(q), p, reduction="none").sum(dim=-1).mean()

    return {
        "bce_with_logits": (logits_and_bits, {"pos_weight": 2.5},
                            lambda z, y: functional.binary_cross_entropy_with_logits(
                                z, y, pos_weight=torch.tensor(2.5, dtype=torch.float64))),
        "bce": (lambda: (rng.uniform(0.05, 0.95, shape), logits_and_bits()[1]), {}, functional.binary_cross_entropy),
        "softmax_cross_entropy": (lambda: (rng.normal(0.0, 3.0, (9, classes)), rng.integers(0, classes, 9)),
                                  {"label_smoothing": 0.1},
                                  lambda z, y: functional.cross_entropy(z, y, label_smoothing=0.1)),
        "mse": (regression, {}, functional.mse_loss),
        "huber": (regression, {"delta": 1.5}, lambda a, b: functional.huber_loss(a, b, delta=1.5)),
        "smooth_l1": (regression, {"beta": 0.7}, lambda a, b: functional.smooth_l1_loss(a, b, beta=0.7)),
        "poisson_nll": (lambda: (rng.normal(0.0, 1.0, shape), rng.integers(0, 6, shape).astype(float)), {},
                        lambda z, y: functional.poisson_nll_loss(z, y, log_input=True, full=False)),
        "gaussian_nll": (lambda: (*regression(), rng.uniform(0.2, 3.0, shape)), {},
                         lambda a, b, v: functional.gaussian_nll_loss(a, b, v, full=False)),
        "kl_divergence": (lambda: (simplex(6), simplex(6)), {}, per_sample_kl),
    }


@pytest.mark.parametrize("name", ["bce_with_logits", "bce", "softmax_cross_entropy", "mse", "huber", "smooth_l1",
                                  "poisson_nll", "gaussian_nll", "kl_divergence"])
def test_kernels_agree_with_pytorch_at_moderate_inputs(name: str) -> None:
    torch = optional_backend("torch")
    draw_inputs, options, reference = _torch_cases(torch)[name]
    arrays = draw_inputs()
    module = kernels(name)
    value, grad = getattr(module, f"{name}_value_and_grad")(*arrays, **options)
    tensors = [torch.tensor(a) for a in arrays]
    tensors[0].requires_grad_(True)
    expected = reference(*tensors)
    expected.backward()
    np.testing.assert_allclose(value, expected.item(), rtol=1e-12)
    np.testing.assert_allclose(grad, tensors[0].grad.numpy(), rtol=1e-10, atol=1e-15)


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
    # on the stress grid: the random points over the whole domain find all three over budget
    # (derivations/over_budget.txt)
    certificate = certify(derivation, module, dense=0)
    assert certificate.passed, [f.function + ": " + f.summary() for f in certificate.functions if not f.passed]


# --------------------------------------------------------------------------- integer class labels


def one_hot_agreement(name: str, labels: np.ndarray, logits: np.ndarray, **params: float) -> dict[str, float]:
    """The normwise relative difference of each function of ``name``'s kernel between integer labels and the
    same labels as one-hot rows (infinite entries must agree exactly)."""
    _, module = built(name)
    rows = np.eye(logits.shape[-1])[labels]
    differences = {}
    for suffix in ("", "_grad", "_hess"):
        function = getattr(module, f"{name}{suffix}")
        at_indices, at_rows = (function(logits, t, reduction="none", **params) for t in (labels, rows))
        assert np.array_equal(np.isinf(at_indices), np.isinf(at_rows)), suffix
        assert not np.isnan(at_indices).any(), suffix
        finite = np.isfinite(at_rows)
        scale = np.max(np.abs(at_rows[finite]), initial=0.0) or 1.0
        differences[suffix] = float(np.max(np.abs(at_indices[finite] - at_rows[finite]), initial=0.0) / scale)
    value, grad = getattr(module, f"{name}_value_and_grad")(logits, labels, **params)
    assert value == getattr(module, name)(logits, labels, **params)
    assert np.array_equal(grad, getattr(module, f"{name}_grad")(logits, labels, **params))
    return differences


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.9])
@pytest.mark.parametrize("classes", [2, 10, 1000])
def test_integer_labels_agree_with_one_hot_rows(classes: int, smoothing: float) -> None:
    """The index programs (one entry per sample at the label) compute what the one-hot rows compute,
    masked classes included (-inf off the label)."""
    rng = np.random.default_rng(classes)
    logits = 5.0 * rng.standard_normal((64, classes))
    labels = rng.integers(0, classes, 64)
    logits[::5, 0] = -np.inf
    labels[::5] = np.maximum(labels[::5], 1)
    for name, difference in one_hot_agreement("softmax_cross_entropy", labels, logits,
                                              label_smoothing=smoothing).items():
        assert difference <= 1e-13, (name, difference)


def test_the_index_program_reads_one_entry_per_sample() -> None:
    """Softmax cross-entropy at integer labels: no one-hot rows, no class sum beyond the shared softmax
    parts (the loss is -log softmax(z)_c, read at the label), and the input is never written."""
    derivation, module = built("softmax_cross_entropy")
    kernel = kernel_for(derivation, proved_rules())
    assert kernel.label_indices
    conditions = [v.condition for v in kernel.variants]
    assert conditions == ["y.dtype == np.int64 and label_smoothing == 0", "y.dtype == np.int64",
                          "label_smoothing == 0"]
    code = kernel.variants[0].code["value_and_gradient"]
    assert "np.sum" not in code and "_take_parts" in code and "_put(" in code
    assert "_label_rows" not in render_module(kernel, "")
    logits = np.array([[2.0, -1.0, 0.5], [0.0, 3.0, -np.inf]])
    before = logits.copy()
    module.softmax_cross_entropy_value_and_grad(logits, np.array([0, 1]))
    assert np.array_equal(logits, before)


def test_a_sum_over_the_other_classes_keeps_its_one_hot_rows() -> None:
    """Multi-margin's sum over k != c would become the whole sum minus the label's term (cancellation):
    integer labels are made one-hot rows there instead."""
    derivation, _ = built("multi_margin")
    kernel = kernel_for(derivation, proved_rules())
    assert not kernel.label_indices
    assert "_label_rows" in render_module(kernel, "")


# --------------------------------------------------------------------------- shared numerics


@pytest.mark.parametrize(("values", "choices", "labels", "expected"), [
    ((0, 1), (1.0, -1.0), [0.0, 1.0, 1.0], [1.0, -1.0, -1.0]),  # 1 + y (-2): exact at both labels
    ((0, 1), (1.0, 0.1), [0.0, 1.0], [1.0, 0.1]),  # 1 + (0.1 - 1) is not 0.1: the blend
    ((0, 1), (0.3, 0.3), [1.0, 0.0], [0.3, 0.3]),
    ((-1, 1), (0.3, -2.9), [-1.0, 1.0], [0.3, -2.9]),
    ((-1, 1), (2.0, 0.5), [1.0, -1.0], [0.5, 2.0]),
])
def test_label_selection_is_exact_on_every_path(values: tuple[int, int], choices: tuple[float, float],
                                                 labels: list[float], expected: list[float]) -> None:
    labels_array = np.array(labels)
    got = numerics()._by_label(labels_array, values, choices, out=np.empty(len(labels)), work=np.empty(len(labels)))
    assert got.tolist() == expected
    assert labels_array.tolist() == labels  # the labels are not written


def test_softmax_parts_read_the_max_at_the_arg_max() -> None:
    parts = numerics()._shifted(np.array([[1.0, 3.0, 3.0], [np.nan, 0.0, 1.0], [-np.inf, 2.0, -np.inf]]))
    top, d, x, rest = parts
    assert top[0, 0] == 3.0 and np.isnan(top[1, 0]) and top[2, 0] == 2.0
    assert x[0].tolist() == [math.exp(-2.0), 1.0, 1.0]  # the first of a tie is the arg-max, exactly 1
    assert rest[0, 0] == math.exp(-2.0) + 1.0 and rest[2, 0] == 0.0
    assert d[2].tolist() == [-np.inf, 0.0, -np.inf]


@pytest.mark.parametrize("gamma", [np.array([1.0, 2.0]), float("nan"), "two", "2.0"])
def test_an_option_must_be_one_number(gamma: object) -> None:
    _, module = built("focal_with_logits")
    with pytest.raises(ValueError, match="gamma"):
        module.focal_with_logits(np.array([0.5, 1.0]), np.array([1.0, 0.0]), gamma=gamma)


def test_sigmoid_and_softplus_share_their_exponential() -> None:
    """BCE on logits: the loss softplus(s z) and the gradient sigma(s z) take e^{-|s z|} from one np.exp."""
    derivation, _ = built("bce_with_logits")
    code = kernel_for(derivation, proved_rules()).code["value_and_gradient"]
    assert code.count("np.exp(") == 2  # e^{-|x|}, shared, and e^{min(x, 0)} of the sigmoid's numerator


def test_no_stability_rule_is_called_needed_only_of_a_kernel_within_budget() -> None:
    """A kernel no rule rewrote says "none needed" only when its certificate passed; otherwise "none"."""
    derivation, _ = built("hinge")
    kernel = kernel_for(derivation, proved_rules())
    assert not kernel.rules
    assert "Stability rules applied: none needed." in render_module(kernel, "within budget", within_budget=True)
    for verdict in (False, None):
        text = render_module(kernel, "OVER BUDGET", within_budget=verdict)
        assert "Stability rules applied: none." in text and "none needed" not in text
