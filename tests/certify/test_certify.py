"""Tests for symloss.certify.certificate: the stress grid, the reference, the metrics, certificates of
hand-made kernels (stable ones pass, naive and flushing ones fail), and the proved stable form as
the reference where the declared one cannot be resolved (its interval primitives against their
textbook definitions, its use, its refusal when wrong)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from functools import cache
from types import ModuleType

import kernels_for_certify as kernels
import mpmath
import numpy as np
import pytest
import sympy as sp
from checkout_kernels import built
from mpmath import iv

from symloss import load_catalog
from symloss.certify.certificate import (
    RELATIVE_BUDGET,
    SUPPORTED_PRIMITIVES,
    ULP_BUDGET,
    KernelCertificate,
    ReferenceEvaluator,
    budget_of,
    certify,
    entry_errors,
    interval_value,
    is_softmax_based,
    param_values,
    scalar_stress,
    stress_points,
)
from symloss.declare.functions import sigmoid
from symloss.derive.chain import Derivation, derive
from symloss.stabilize import primitives
from symloss.stabilize.engine import ProvedRule
from symloss.stabilize.primitives import Primitive
from symloss.stabilize.rules import prove_rules


@cache
def derivation(name: str) -> Derivation:
    return derive(load_catalog().get(name), budget=10.0)


@cache
def certificate(name: str, builder: str) -> KernelCertificate:
    return certify(derivation(name), getattr(kernels, builder)())


def by_function(cert: KernelCertificate) -> dict[str, object]:
    return {f.function: f for f in cert.functions}


# --------------------------------------------------------------------------- metrics


def test_ulp_metric_counts_spacings_of_the_rounded_truth() -> None:
    one = mpmath.mpf(1)
    assert entry_errors(1.0, one, 1.0) == (0.0, 0.0, "normal")
    ulps, _, status = entry_errors(1.0 + 2 * 2.0**-52, one, 1.0)
    assert (ulps, status) == (2.0, "normal")
    ulps, _, _ = entry_errors(np.nextafter(1.0, 0.0), one, 1.0)  # below 1 the spacing halves, measured at 1
    assert ulps == 0.5


def test_ulp_metric_zero_subnormal_overflow_and_nonfinite() -> None:
    assert entry_errors(0.0, mpmath.mpf(0), 0.0)[2] == "tiny"
    assert entry_errors(0.0, mpmath.mpf(0), 0.0)[0] == 0.0
    assert entry_errors(3 * 2.0**-1074, mpmath.mpf(0), 0.0)[0] == 3.0
    assert entry_errors(0.0, mpmath.mpf("1e-53"), 1e-53)[2] == "normal"
    assert entry_errors(0.0, mpmath.mpf("1e-53"), 1e-53)[0] > 1e15
    assert entry_errors(math.inf, mpmath.mpf("1e400"), math.inf) == (0.0, math.inf, "overflow")
    assert entry_errors(1e308, mpmath.mpf("1e400"), math.inf)[0] == math.inf
    assert entry_errors(math.nan, one := mpmath.mpf(1), float(one))[2] == "nonfinite"


# --------------------------------------------------------------------------- grid


def test_grid_is_deterministic_and_seeded() -> None:
    loss = load_catalog().get("softmax_cross_entropy")
    first, again, other = stress_points(loss), stress_points(loss), stress_points(loss, seed=1)
    assert first == again
    assert first != other


def test_grid_covers_the_stress_values_of_each_domain() -> None:
    catalog = load_catalog()
    real = scalar_stress(catalog.get("bce_with_logits").output.domain)
    assert {0.0, -1e-300, 1e-8, 710.0, -745.0, 1e4, -1e300} <= set(real)
    assert scalar_stress(catalog.get("bce_with_logits").target.domain) == (0.0, 1.0)
    unit = scalar_stress(catalog.get("bce").output.domain)
    assert 1e-300 in unit and 1 - 1e-16 in unit and 0.0 not in unit
    assert min(scalar_stress(catalog.get("gaussian_nll").inputs[0].domain)) > 0
    assert param_values(catalog.get("focal").params[0].domain) == (0.0, 0.5, 2.0)
    assert param_values(catalog.get("poly1").params[0].domain)[0] == -1.0


def test_class_vector_grid_has_large_k_masks_and_exact_soft_labels() -> None:
    loss = load_catalog().get("softmax_cross_entropy")
    points = stress_points(loss)
    sizes = {len(p[0]) for p in points}
    assert {2, 3, 10, 1000} <= sizes
    assert any(-math.inf in p[0] for p in points)
    for p in points:
        assert math.fsum(p[1]) == 1.0  # dyadic labels: the declared Σ y = 1 holds exactly
        masked = [k for k, z in enumerate(p[0]) if z == -math.inf]
        assert all(p[1][k] == 0.0 for k in masked)
    assert max(abs(z) for p in points for z in p[0] if math.isfinite(z)) > 1e4


def test_softmax_detection_is_structural() -> None:
    catalog = load_catalog()
    assert is_softmax_based(catalog.get("softmax_cross_entropy"))
    assert is_softmax_based(catalog.get("nt_xent"))
    assert not is_softmax_based(catalog.get("cross_entropy"))
    assert not is_softmax_based(catalog.get("triplet"))
    assert budget_of(catalog.get("mse")) == ("ulp", ULP_BUDGET)
    assert budget_of(catalog.get("kl_divergence")) == ("relative", RELATIVE_BUDGET)


# --------------------------------------------------------------------------- reference


def test_reference_of_bce_with_logits_is_exact_where_50_digits_are_not() -> None:
    # −log(1 − σ(100)) at 50 fixed digits keeps ~7 digits; the reference escalates
    reference = ReferenceEvaluator(derivation("bce_with_logits"))
    with mpmath.workdps(60):
        for z in (100.0, 710.0, -37.5):
            expected = z + mpmath.log1p(mpmath.exp(-mpmath.mpf(z)))  # softplus(z), y = 0
            truth = reference.truth("value", (z, 0.0, 1.0))
            assert abs(truth.values[0] - expected) <= mpmath.mpf(2) ** -70 * abs(expected)
        grad = reference.truth("grad", (700.0, 1.0, 2.0))  # −2 σ(−700) ≈ −2e-304, a normal float
        assert grad.rounded[0] == float(-2 / (1 + mpmath.exp(mpmath.mpf(700))))
        assert grad.rounded[0] < 0.0


def test_reference_of_softmax_cross_entropy_with_mask_and_entries() -> None:
    reference = ReferenceEvaluator(derivation("softmax_cross_entropy"))
    z, y = (1.0, -math.inf, 0.5), (0.0, 0.0, 1.0)
    with mpmath.workdps(60):
        e1, e3 = mpmath.exp(1), mpmath.exp(mpmath.mpf(0.5))
        value = reference.truth("value", (z, y, 0.0))
        assert float(value.values[0]) == float(mpmath.log(e1 + e3) - mpmath.mpf(0.5))
        grad = reference.truth("grad", (z, y, 0.0))
        assert grad.rounded == (float(e1 / (e1 + e3)), 0.0, float(e3 / (e1 + e3) - 1))
    smoothed = reference.truth("value", (z, y, 0.25))  # smoothing mass on a masked class: infinite
    assert not smoothed.defined


def test_reference_excludes_kinks_but_not_declared_steps() -> None:
    hinge = ReferenceEvaluator(derivation("hinge"))
    assert hinge.truth("grad", (1.0, 1.0)).kink  # 1 − f·y = 0
    assert not hinge.truth("grad", (0.5, 1.0)).kink
    assert not hinge.truth("value", (1.0, 1.0)).kink  # Max is continuous: its value is compared
    multiclass = ReferenceEvaluator(derivation("multiclass_hinge"))
    distinct = multiclass.truth("grad", ((2.0, 0.0, -1.0), (0.0, 1.0, 0.0)))
    assert not distinct.kink and distinct.rounded == (1.0, -1.0, 0.0)
    assert multiclass.truth("grad", ((0.0, 0.0, 0.0), (1.0, 0.0, 0.0))).kink  # two classes tie for the max


# --------------------------------------------------------------------------- certificates


@pytest.mark.parametrize(
    ("loss", "builder"),
    [("mse", "mse_module"), ("bce_with_logits", "bce_with_logits_module"),
     ("softmax_cross_entropy", "softmax_cross_entropy_module")],
)
def test_stable_kernels_pass(loss: str, builder: str) -> None:
    cert = certificate(loss, builder)
    assert cert.passed, [f.to_json() for f in cert.functions if not f.passed]
    own_form = [f for f in cert.functions if not f.function.endswith(")")]  # integer labels: one-hot points only
    assert all(f.nonfinite == 0 and f.points > 0 for f in cert.functions)
    assert all(f.points > 0.8 * cert.points for f in own_form)
    assert "no inf/NaN where the truth is finite" in cert.summary()


def test_naive_bce_fails_at_large_logits() -> None:
    cert = certificate("bce_with_logits", "naive_bce_with_logits_module")
    value = by_function(cert)["bce_with_logits"]
    assert not cert.passed and not value.passed
    assert value.max_ulp > 1e6 or value.nonfinite > 0
    assert abs(value.worst_point[0]) >= 20
    assert by_function(cert)["bce_with_logits_grad"].passed  # only the value is naive


def test_flushing_tiny_losses_to_zero_fails() -> None:
    cert = certificate("bce_with_logits", "flushing_bce_with_logits_module")
    value = by_function(cert)["bce_with_logits"]
    assert not value.passed
    assert value.max_relative_error >= 1.0


def test_certificate_is_deterministic_and_json() -> None:
    first = certificate("mse", "mse_module")
    again = certify(derivation("mse"), kernels.mse_module())
    assert first == again
    data = json.loads(json.dumps(first.to_json()))
    assert data["passed"] is True and data["points"] == first.points
    assert {f["function"] for f in data["functions"]} == {
        "mse", "mse_grad", "mse_hess", "mse_value_and_grad[value]", "mse_value_and_grad[grad]"}
    assert first.summary().startswith("max ") and f"over {first.points} points" in first.summary()


def test_values_the_reference_could_not_resolve_are_counted_in_the_summary() -> None:
    cert = certificate("mse", "mse_module")
    assert "not compared" not in cert.summary()  # every mse value resolves
    partial = replace(cert, functions=(replace(cert.functions[0], unresolved=3), *cert.functions[1:]))
    assert "; 3 function values not compared (the reference could not resolve them)" in partial.summary()
    assert "3 function values not compared" in partial.functions[0].summary()


# --------------------------------------------------------------------------- the proved stable form as a reference

_z, _w = sp.IndexedBase("z"), sp.IndexedBase("w")
_k, _i = sp.Symbol("k", integer=True, positive=True), sp.Symbol("i", integer=True, positive=True)
_Z, _W = (0.5, -1.25, 2.0), (0.75, -2.5, 1.5)  # three classes (dyadic, so exact as floats)
_Q = sp.Rational  # exact arguments: a function of a Float evaluates at once to its 15 digits

# every primitive with an interval implementation, at moderate arguments (dyadic, so exact)
SCALAR_SAMPLES: dict[type[Primitive], tuple[tuple[object, ...], ...]] = {  # moderate arguments, dyadic
    primitives.sigmoid_pow: ((0.75, 1.5), (-3.25, 2.0), (2.5, 0.0)),
    primitives.sigmoid_powers: ((1.25, 2, 1), (0.5, 0, 3), (0.75, 1, 2, sp.log(3)), (-2.0, 1, 1, sp.log(2))),
    primitives.sigmoid_expm1: ((0.25, sp.log(2)), (-3.5, sp.log(3))),
    primitives.exp_minus: ((0.25, 1.5), (-1.125, 0.25)),
    primitives.kl_div: ((0.375, 0.5), (2.0, 0.75), (0.5, 0.5)),
    primitives.logcosh: ((0.375,), (-4.0,)),
    primitives.sech2: ((0.375,), (-2.5,)),
    primitives.logcosh_of_sum: ((0.5, -1.25),),
    primitives.tanh_of_sum: ((0.5, -1.25), (3.0, 0.125)),
    primitives.sech2_of_sum: ((0.5, -1.25),),
    primitives.square_of_sum: ((1.5, -0.25),),
}
CLASS_SAMPLES: dict[type[Primitive], tuple[Primitive, sp.Symbol | None]] = {  # (primitive, its entry index)
    primitives.Softmax: (primitives.Softmax(_z[_k], _k, 3), _k),
    primitives.SoftmaxComplement: (primitives.SoftmaxComplement(_z[_k], _k, 3), _k),
    primitives.LogSoftmax: (primitives.LogSoftmax(_z[_k] / 2, _k, 3), _k),
    primitives.SoftmaxXLogXRatio: (primitives.SoftmaxXLogXRatio(_z[_k], _k, 3), _k),
    primitives.LogSumExp: (primitives.LogSumExp(_z[_k], _k, 3), None),
    primitives.SumOthers: (primitives.SumOthers(_w[_k] * _z[_k], _k, 3), _k),
    primitives.OtherClassesSum: (primitives.OtherClassesSum(_w[_i], _z[_k] ** 2, _k, 3, _i), _i),
}


def scalar_sample(primitive: type[Primitive], args: tuple[object, ...]) -> Primitive:
    """The primitive at exact arguments (a float as its exact rational)."""
    return primitive(*(_Q(a) if isinstance(a, float) else a for a in args))


def textbook_value(primitive: Primitive, at: dict[sp.Basic, int] | None = None) -> mpmath.mpf:
    """The primitive's textbook expression at 40 digits (class vectors ``_Z``, ``_W``), by SymPy from
    the exact arguments."""
    expr = primitive.textbook().xreplace(at or {}).doit()
    expr = expr.xreplace({base[j + 1]: _Q(v) for base, values in ((_z, _Z), (_w, _W)) for j, v in enumerate(values)})
    expr = expr.replace(sigmoid, lambda x: 1 / (1 + sp.exp(-x)))
    return mpmath.mpf(str(sp.N(expr, 40)))


def assert_encloses(interval: object, expected: mpmath.mpf) -> None:
    """The interval is narrow (50 digits) and holds the 40-digit textbook value."""
    low, high = mpmath.mpf(interval.a), mpmath.mpf(interval.b)
    scale = max(abs(expected), mpmath.mpf(1e-30))
    assert high - low <= mpmath.mpf(10) ** -40 * scale, (interval, expected)
    assert low - mpmath.mpf(10) ** -35 * scale <= expected <= high + mpmath.mpf(10) ** -35 * scale, (interval, expected)


def test_every_interval_implementation_has_a_textbook_test() -> None:
    assert set(SCALAR_SAMPLES) | set(CLASS_SAMPLES) == SUPPORTED_PRIMITIVES


@contextmanager
def fifty_digits() -> Iterator[None]:
    """mpmath's interval and plain contexts at 50 digits, as the reference starts."""
    saved = iv.dps
    iv.dps = 50
    try:
        with mpmath.workdps(50):
            yield
    finally:
        iv.dps = saved


@pytest.mark.parametrize("primitive", [scalar_sample(p, args) for p, samples in SCALAR_SAMPLES.items()
                                       for args in samples], ids=str)
def test_scalar_interval_primitives_agree_with_their_textbook(primitive: Primitive) -> None:
    with fifty_digits():
        (value,) = interval_value(primitive, {})
        assert_encloses(value, textbook_value(primitive))


@pytest.mark.parametrize(("primitive", "entry"), list(CLASS_SAMPLES.values()), ids=str)
def test_class_axis_interval_primitives_agree_with_their_textbook(primitive: Primitive,
                                                                  entry: sp.Symbol | None) -> None:
    env = {_z: [None, *(iv.mpf(v) for v in _Z)], _w: [None, *(iv.mpf(v) for v in _W)]}
    with fifty_digits():
        values = interval_value(primitive, env, entry, 3 if entry is not None else None)
        for j, value in enumerate(values, start=1):
            assert_encloses(value, textbook_value(primitive, {entry: j} if entry is not None else None))


def test_interval_primitives_resolve_where_the_textbook_cancels() -> None:
    env = {_z: [None, iv.mpf(1e4), iv.mpf(0.0)]}
    with fifty_digits():
        top, _ = interval_value(primitives.LogSoftmax(_z[_k], _k, 2), env, _k, 2)  # −log1p(e^−1e4) ≈ −1.1e-4343
        tiny = interval_value(primitives.kl_div(_Q(0.75), _Q(0.75 * (1 + 2.0**-52))), {})[0]  # ≈ q x²/2, x ≈ 2^-52
        assert abs(top.b - top.a) <= mpmath.mpf(2) ** -64 * abs(top.a)
        assert abs(mpmath.mpf(top.a) + mpmath.exp(-mpmath.mpf(1e4))) <= mpmath.mpf(10) ** -40 * abs(top.a)
        assert tiny.a > 0 and tiny.b - tiny.a <= mpmath.mpf(2) ** -64 * tiny.a


@cache
def proved_rules() -> tuple[ProvedRule, ...]:
    return prove_rules()


def test_stable_form_settles_bce_with_logits_at_huge_logits() -> None:
    """softplus(1e300) = 1e300, softplus(−1e300) ≈ e^−1e300 underflows to 0, and the gradient is σ(z) − y
    (weighted); the stable form's truth is used exactly where the declared form's is unresolved."""
    reference = ReferenceEvaluator(derivation("bce_with_logits"), proved_rules())
    points = stress_points(derivation("bce_with_logits").loss)
    values, grads = (reference.truths(f, points) for f in ("value", "grad"))
    assert values.refusal == "" and grads.refusal == ""
    for point, value, grad in zip(points, values.values, grads.values, strict=True):
        declared = reference.truth("value", point)
        assert value.stable == (not declared.defined)
        assert value.defined and grad.defined and not grad.stable
        z, y, weight = point
        if abs(z) == 1e300:
            expected = {(1e300, 0.0): 1e300, (1e300, 1.0): 0.0, (-1e300, 0.0): 0.0, (-1e300, 1.0): weight * 1e300}
            assert value.rounded == (expected[z, y],)
            assert grad.rounded == ((1.0 if z > 0 else 0.0) if y == 0 else (-0.0 if z > 0 else -weight),)
    assert sum(v.stable for v in values.values) == 6  # z = 1e300: two labels, three weights


def test_certificate_counts_values_compared_against_the_stable_form() -> None:
    cert = certificate("bce_with_logits", "bce_with_logits_module")
    value = by_function(cert)["bce_with_logits"]
    assert (value.stable, value.unresolved, value.stable_refusal) == (6, 0, "")
    assert by_function(cert)["bce_with_logits_grad"].stable == 0  # the declared gradient resolves everywhere
    assert "12 function values compared against the proved stable form" in cert.summary()
    assert "not compared" not in cert.summary()
    assert value.to_json()["stable"] == 6 and value.to_json()["stable_refusal"] == ""


def test_a_kernel_wrong_only_where_the_declared_form_cannot_be_resolved_fails() -> None:
    cert = certificate("bce_with_logits", "huge_logit_nan_bce_with_logits_module")
    value = by_function(cert)["bce_with_logits"]
    assert not value.passed and value.nonfinite == 6
    assert value.worst_point[0] == 1e300


def _off_by_2_to_the_minus_40(proved: ProvedRule) -> ProvedRule:
    """The rule with its verdicts kept but a rewrite that is wrong by a relative 2^-40."""

    def rewrite(expr: sp.Expr) -> sp.Expr:
        rewritten = proved.rule.rewrite(expr)
        return rewritten if rewritten == expr else rewritten * (1 + sp.Rational(1, 2**40))

    return replace(proved, rule=replace(proved.rule, rewrite=rewrite))


def test_a_stable_form_that_disagrees_with_the_declared_one_is_refused() -> None:
    rules = tuple(_off_by_2_to_the_minus_40(r) if "softplus" in r.rule.name else r for r in proved_rules())
    cert = certify(derivation("bce_with_logits"), kernels.bce_with_logits_module(), rules=rules)
    value = by_function(cert)["bce_with_logits"]
    assert value.stable_refusal.startswith("it disagrees with the declared form at")
    assert (value.stable, value.unresolved) == (0, 6)  # still counted as not compared
    assert "refused as a reference for 2 function(s)" in cert.summary()
    assert "12 function values not compared" in cert.summary()


def test_stable_form_of_softmax_focal_where_the_declared_gradient_is_unresolved() -> None:
    """γ = 0: the gradient is p − y; at logits (−12776.8, 6304.1), p = (e^−19080.9, 1 − e^−19080.9) and
    the declared form leaves both entries unresolved at 4500 digits."""
    loss = derivation("softmax_focal").loss
    hard = ((-12776.80166386608, 6304.1149076823185), (0.9712667465209961, 0.028733253479003906), 0.0)
    easy = [((0.5, -1.25, 2.0), (0.25, 0.25, 0.5), gamma) for gamma in (0.0, 0.5, 2.0)]
    assert loss.params[0].name == "gamma"
    grads = ReferenceEvaluator(derivation("softmax_focal"), proved_rules()).truths("grad", [*easy, hard])
    assert grads.refusal == ""
    assert [t.stable for t in grads.values] == [False, False, False, True]
    assert grads.values[-1].rounded == (-hard[1][0], hard[1][0])


# --------------------------------------------------------------------------- every code path of a kernel


def wrapped(module: ModuleType, wrong: Callable[[tuple, dict], bool]) -> ModuleType:
    """``module`` with every function's result doubled where ``wrong(args, kwargs)`` holds."""
    fake = ModuleType(f"{module.__name__}_wrapped")

    def spoiled(function: Callable) -> Callable:
        def call(*args: object, **kwargs: object) -> object:
            result = function(*args, **kwargs)
            if not wrong(args, kwargs):
                return result
            return tuple(2.0 * r for r in result) if isinstance(result, tuple) else 2.0 * result
        return call

    for name in module.__all__:
        setattr(fake, name, spoiled(getattr(module, name)))
    return fake


def test_integer_labels_are_certified_beside_one_hot_rows() -> None:
    """A target that takes class indices or rows is certified in both forms (the kernel has programs
    of its own for indices), on the points whose target is one-hot; a kernel wrong only for indices fails."""
    derivation_, module = built("softmax_cross_entropy")
    functions = by_function(certify(derivation_, module))
    indexed = functions["softmax_cross_entropy_grad (integer labels)"]
    assert indexed.passed and indexed.points >= 60
    assert functions["softmax_cross_entropy_grad"].points > indexed.points  # soft labels are rows only
    spoiled = certify(derivation_, wrapped(module, lambda args, _: np.asarray(args[1]).dtype == np.int64))
    failed = {f.function for f in spoiled.functions if not f.passed}
    assert not spoiled.passed and "softmax_cross_entropy (integer labels)" in failed
    assert "softmax_cross_entropy" not in failed


def test_an_option_given_as_none_is_certified_at_the_value_it_declares() -> None:
    """alpha=None (no class balancing) is on the grid, its truth the formulas at alpha = y; a kernel
    wrong only there fails."""
    derivation_, module = built("focal_with_logits")
    assert any(p[-1] is None for p in stress_points(derivation_.loss))
    assert certify(derivation_, module).passed
    spoiled = certify(derivation_, wrapped(module, lambda _, kwargs: kwargs.get("alpha", 0.25) is None))
    assert not spoiled.passed
