"""Tests for symloss.certify: the stress grid, the reference, the metrics, and certificates
of hand-made kernels (stable ones pass, naive and flushing ones fail)."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from functools import cache

import kernels_for_certify as kernels
import mpmath
import numpy as np
import pytest

from symloss import load_catalog
from symloss.certify import (
    RELATIVE_BUDGET,
    ULP_BUDGET,
    KernelCertificate,
    ReferenceEvaluator,
    budget_of,
    certify,
    entry_errors,
    is_softmax_based,
    param_values,
    scalar_stress,
    stress_points,
)
from symloss.derive import Derivation, derive


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
    assert all(f.nonfinite == 0 and f.points > 0.8 * cert.points for f in cert.functions)
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
