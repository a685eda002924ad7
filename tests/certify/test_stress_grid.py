"""Tests for symloss.certify.stress_grid: the grid is deterministic and seeded, covers the stress values
of each domain, and for class-vector losses has large K, masks and exact soft labels; softmax detection
and the budgets that follow from the output."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from symloss import load_catalog
from symloss.certify.comparison import RELATIVE_BUDGET, ULP_BUDGET, budget_of
from symloss.certify.stress_grid import (
    DENSE_POINTS,
    domain_range,
    is_softmax_based,
    param_values,
    sample_scalar,
    sampling_of,
    scalar_stress,
    special_values,
    stress_points,
)
from symloss.declare.notation import Domain


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


# --------------------------------------------------------------------------- dense sampling by binade


def _binade(x: float) -> int:
    """The binade of a nonzero float: its exponent, subnormals each their own (frexp's exponent)."""
    return math.frexp(abs(x))[1]


def test_every_binade_is_hit_with_both_signs_and_subnormals() -> None:
    rng = np.random.default_rng(0)
    real = Domain("real")
    draws = [sample_scalar(real, rng) for _ in range(40_000)]
    binades = {(_binade(x), x > 0) for x in draws if x != 0.0}
    # 2098 binades a sign (52 subnormal ones); 40k draws hit nearly all of them: a log-uniform
    # sampler of 1e-10 … 1e3 (the old one) would hit 44 a sign.
    assert len({b for b, positive in binades if positive}) > 1900
    assert len({b for b, positive in binades if not positive}) > 1900
    assert any(0 < abs(x) < 2.2250738585072014e-308 for x in draws)  # subnormals
    assert max(draws) > 1e300 and min(draws) < -1e300
    # stratified: no binade far more likely than another (expected 40000 · 7/8 / 4196 ≈ 8.3 a binade), the
    # special values (1/8 of the draws) apart
    specials = set(special_values(real))
    counts = Counter((_binade(x), x > 0) for x in draws if x not in specials)
    assert max(counts.values()) < 40
    assert specials == {0.0, 5e-324, -5e-324, 1.7976931348623157e308, -1.7976931348623157e308}
    assert all(draws.count(v) > 500 for v in specials)  # 40000 / 8 / 5 = 1000 each, expected


def test_special_values_are_the_domain_s_own() -> None:
    assert special_values(Domain("unit", 0, 1, low_open=True, high_open=True)) == [5e-324, 1 - 2**-53]
    assert special_values(Domain("p", 1, 2, low_open=True, high_open=True)) == [1 + 2**-52, 2 - 2**-52]
    assert special_values(Domain("positive", 0, None)) == [5e-324, 1.7976931348623157e308]


def test_some_random_points_have_one_input_near_another() -> None:
    loss = load_catalog().get("mse")
    points = stress_points(loss, dense=400)[-400:]
    residuals = [abs(yhat - y) / max(abs(yhat), abs(y)) for yhat, y in points if yhat != 0.0 or y != 0.0]
    assert sum(r == 0.0 for r in residuals) >= 1  # exact cancellation
    assert sum(0.0 < r < 2.0**-40 for r in residuals) >= 10  # near it, at many scales


def test_every_random_point_is_finite() -> None:
    for name in ("mse", "huber", "cross_entropy", "softmax_cross_entropy"):
        points = stress_points(load_catalog().get(name), dense=2000)[-2000:]
        flat = [x for p in points for v in p for x in (v if isinstance(v, tuple) else (v,)) if x is not None]
        assert all(math.isfinite(x) for x in flat), name  # a move near another input never overflows


def test_a_sign_is_drawn_only_where_the_domain_allows_it() -> None:
    rng = np.random.default_rng(1)
    positive = Domain("positive", 0, None)
    draws = [sample_scalar(positive, rng) for _ in range(2000)]
    assert all(x > 0 for x in draws)
    assert min(draws) < 1e-300 and max(draws) > 1e300  # c → 0⁺ and c → ∞


def test_ends_of_open_intervals_are_approached() -> None:
    rng = np.random.default_rng(2)
    power = Domain("tweedie power", 1, 2)  # p ∈ (1, 2)
    draws = [sample_scalar(power, rng) for _ in range(4000)]
    assert all(1 < x < 2 for x in draws)
    assert min(draws) - 1 < 1e-14 and 2 - max(draws) < 1e-14  # p → 1⁺ and p → 2⁻
    assert sum(x - 1 < 1e-8 for x in draws) > 100 and sum(2 - x < 1e-8 for x in draws) > 100
    assert any(1.3 < x < 1.7 for x in draws)  # and the middle
    unit = Domain("tau", 0, 1)  # τ → 0⁺
    assert min(sample_scalar(unit, rng) for _ in range(2000)) < 1e-300


def test_counts_are_sampled_by_binade_up_to_2_to_the_53() -> None:
    rng = np.random.default_rng(3)
    counts = Domain("count", 0, None, low_open=False, integer=True)
    draws = [sample_scalar(counts, rng) for _ in range(3000)]
    assert all(x == int(x) and x >= 0 for x in draws)
    assert 0.0 in draws and max(draws) > 1e15
    assert len({_binade(x) for x in draws if x}) == 54  # 1 … 2^53: frexp exponents 1 … 54


def test_every_parameter_is_varied_over_its_whole_domain() -> None:
    catalog = load_catalog()
    for name in ("focal", "huber", "poly1"):
        loss = catalog.get(name)
        points = stress_points(loss, dense=4096)
        for position, param in enumerate(loss.params, start=len(points[0]) - len(loss.params)):
            values = {p[position] for p in points} - {None}
            assert len(values) > 1000, (name, param.name)  # never only a default or a few points
            assert all(param.domain.contains(v) for v in values)
            if param.domain.high is None:
                assert max(values) > 1e300, (name, param.name)  # c → ∞
            if param.domain.low is not None:
                assert min(values) - float(param.domain.low) < 1e-300, (name, param.name)  # c → low⁺


def test_dense_sampling_is_reproducible_from_its_seed_and_counted() -> None:
    loss = load_catalog().get("huber")
    grid = stress_points(loss, dense=0)
    first, again = stress_points(loss, seed=7), stress_points(loss, seed=7)
    assert first == again and first != stress_points(loss, seed=8)
    assert len(first) == len(grid) + DENSE_POINTS
    sampling = sampling_of(loss, seed=7)
    assert sampling.seed == 7 and sampling.random == DENSE_POINTS and sampling.grid == len(grid)
    assert dict(sampling.ranges)["delta"] == domain_range(loss.params[0].domain)
    assert "seed 7" in sampling.describe() and "delta ∈" in sampling.describe()


def test_every_code_path_gets_its_own_dense_points() -> None:
    """Integer labels (one-hot targets) and an option switched off get as many random points as the rest."""
    focal = load_catalog().get("focal_with_logits")
    points = stress_points(focal, dense=300)[-600:]
    assert sum(p[-1] is None for p in points) >= 300  # alpha=None: its own 300, and some of the general ones
    softmax = load_catalog().get("softmax_cross_entropy")
    labels = [p[1] for p in stress_points(softmax, dense=300)[-600:]]
    assert sum(sorted(y) == [0.0] * (len(y) - 1) + [1.0] for y in labels) >= 300
    assert sampling_of(softmax, dense=300).random == 600
    assert "300 on each path: general, integer labels" in sampling_of(softmax, dense=300).describe()
