"""Tests for symloss.certify.stress_grid: the grid is deterministic and seeded, covers the stress values
of each domain, and for class-vector losses has large K, masks and exact soft labels; softmax detection
and the budgets that follow from the output."""

from __future__ import annotations

import math

from symloss import load_catalog
from symloss.certify.comparison import RELATIVE_BUDGET, ULP_BUDGET, budget_of
from symloss.certify.stress_grid import is_softmax_based, param_values, scalar_stress, stress_points


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
