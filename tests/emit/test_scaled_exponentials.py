"""Plain exponentials and powers with co-factors: a product c·e^a or c·x^a (x^a's exponent not a number) is
emitted as ``_exp_scaled(a, times=(c,))`` / ``_pow_scaled(x, a, times=(c,))``, whose helper applies the
power of two of e^a last (after each co-factor's mantissa), so that e^{-1164}·3.2e271 = 9.8e-235 is not 0
and p^γ·∞ (a power 0 times a co-factor that overflowed) is 0, not NaN; e^a alone stays ``np.exp``; and
w·σ(x)σ(−x) is one ``sigmoid_powers(x, 1, 1)`` with its co-factor w (the weighted BCE Hessian)."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp
from checkout_kernels import built
from ulps import ulps

from symloss.certify.localize import numerics
from symloss.declare.functions import sigmoid
from symloss.emit.blocks import Scaled, plain_exponential, scaled_primitives
from symloss.stabilize.engine import stabilize
from symloss.stabilize.primitives import expand_primitives, sigmoid_powers
from symloss.stabilize.rules import proved_rules

ULP_BUDGET = 4.0


def _product(power: mpmath.mpf, times: list[float]) -> mpmath.mpf:
    for c in times:
        power *= mpmath.mpf(c)
    return power


@pytest.mark.parametrize("seed", [0, 1])
def test_scaled_exp_and_pow_are_within_budget(seed: int) -> None:
    """Within 4 ulp of mpmath on 600 random points each, the power from e^-1500 to e^1500 and two co-factors
    of magnitude 1e-300 .. 1e300 (so that the product spans underflow, subnormals, normals, overflow); the plain
    NumPy product is off by more than 4 ulp at many of them (checked, so that the test can fail)."""
    rng = np.random.default_rng(seed)
    count = 600
    a = rng.uniform(-1500, 1500, count)
    x = 10.0 ** rng.uniform(-300, 300, count)
    exponent = a / np.log(x)
    c1 = rng.choice([-1.0, 1.0], count) * 10.0 ** rng.uniform(-300, 300, count)
    c2 = 10.0 ** rng.uniform(-300, 300, count)
    with np.errstate(all="ignore"):
        got_exp = numerics()._exp_scaled(a, times=(c1,), over=(c2,))
        got_pow = numerics()._pow_scaled(x, exponent, times=(c1, c2))
        plain = np.exp(a) * c1 / c2
    with mpmath.workprec(400):
        exp_truths = [_product(mpmath.exp(mpmath.mpf(v)), [c, 1 / mpmath.mpf(d)])
                      for v, c, d in zip(a, c1, c2, strict=True)]
        pow_truths = [_product(mpmath.mpf(b) ** mpmath.mpf(e), [c, d])
                      for b, e, c, d in zip(x, exponent, c1, c2, strict=True)]
    for got, truths in ((got_exp, exp_truths), (got_pow, pow_truths)):
        errors = [ulps(g, t) for g, t in zip(got, truths, strict=True)]
        worst = int(np.argmax(errors))
        assert errors[worst] <= ULP_BUDGET, (worst, got[worst], float(truths[worst]), errors[worst])
    assert sum(ulps(p, t) > ULP_BUDGET for p, t in zip(plain, exp_truths, strict=True)) > 50


@pytest.mark.parametrize(
    ("x", "a", "times"),
    [
        (0.9999999999999999, 1.7976931348623157e308, [1e300]),  # focal: p^γ = e^{-2e292}, below every reach
        (0.5, 1100.0, [1e300]),  # the power underflows alone; the product is 7.4e-32
        (1e300, 1.1, [1e-300]),  # the power overflows alone; the product is 1e30
        (1e-310, 0.5, [1.0]),  # a subnormal base
        (1.0000000000000002, 3e15, [1.0]),  # log x = 2^-52 exactly: a log x rounds once
        (0.0, 2.5, [3.0]),  # 0^a = 0
        (0.0, 0.0, [3.0]),  # 0^0 = 1, as np.power
        (-2.0, 3.0, [1.0]),  # a negative base: np.power (an integer exponent)
    ],
)
def test_scaled_pow_at_edges(x: float, a: float, times: list[float]) -> None:
    with np.errstate(all="ignore"):
        got = numerics()._pow_scaled(np.array([x]), a, times=tuple(np.array([c]) for c in times))[0]
    with mpmath.workprec(400):
        truth = _product(mpmath.mpf(1) if a == 0 else mpmath.mpf(x) ** mpmath.mpf(a), times)
    assert ulps(got, mpmath.mpf(truth)) <= ULP_BUDGET, (x, a, times, got, float(truth))


def test_scaled_limits() -> None:
    """e^-2000·inf is 0 (the power is below every co-factor's reach); e^3·inf stays inf; e^NaN is NaN; the focal
    loss's p^γ·(−inf) at p = 1 − 2^-53, γ = 1.8e308 is −0, not NaN (np.power(p, γ)·(−inf) is)."""
    with np.errstate(all="ignore"):
        got = numerics()._exp_scaled(np.array([-2000.0, 3.0, np.nan, np.inf]),
                                     times=(np.array([np.inf, np.inf, 1.0, 1.0]),))
        power = numerics()._pow_scaled(np.array([0.9999999999999999]), 1.7976931348623157e308,
                                       times=(np.array([-np.inf]),))
        plain = np.power(0.9999999999999999, 1.7976931348623157e308) * -np.inf
    np.testing.assert_array_equal(got, [0.0, np.inf, np.nan, np.inf])
    assert power[0] == 0.0 and np.signbit(power[0]) and np.isnan(plain)


def test_products_of_plain_exponentials_pass_their_co_factors() -> None:
    """c·e^x → Scaled(e^x, c), (γx − 1/p)·p^γ → Scaled(p^γ, γx − 1/p), p^γ/q² → Scaled(p^γ, 1/q, 1/q); a
    constant co-factor, an integer power, e^x alone and the sigmoid's exponentials e^{min(x, 0)}, e^{-|x|}
    (the fused BCE kernel) are left to NumPy."""
    x, c, p, g, q = sp.symbols("x c p g q")
    sigmoid_form = c * sp.exp(sp.Min(x, 0)) / (1 + sp.exp(-sp.Abs(x, evaluate=False)))
    scaled = scaled_primitives(c * sp.exp(x) + (g * x - 1 / p) * p**g + p**g / q**2 + 2 * sp.exp(x) + c * p**2
                               + sigmoid_form + sp.exp(g))
    found = sorted((str(f.args[0]), sorted(map(str, f.args[1:]))) for f in scaled.atoms(Scaled))
    assert found == [("exp(x)", ["c"]), ("p**g", ["1/q", "1/q"]), ("p**g", ["g*x - 1/p"])]
    assert not plain_exponential(sp.exp(sp.Min(x, 0))) and not plain_exponential(p**2)
    assert not plain_exponential(p ** sp.Symbol("n", integer=True)) and plain_exponential(p**g)
    assert "_pow_scaled({a0}, {a1}, times=({a2}, " in Scaled(p**g, c).call()[0]


def _hessian_at(name: str, **point: float) -> float:
    _, module = built(name)
    hessian = getattr(module, f"{name}_hess")
    target = point.pop("target")
    first = next(iter(point))
    inputs = np.array([point.pop(first)])
    with np.errstate(all="ignore"):
        return float(hessian(inputs, np.array([target]), **point, reduction="none")[0])


def test_weighted_bce_hessian_does_not_underflow() -> None:
    """bce_with_logits's Hessian w σ(z)σ(−z) at z = −1164, y = 1, w = 3.23e271 is 9.8e-235 (the kernel gave 0:
    e^{-1164} underflowed before w multiplied it)."""
    z, w = -1163.9971658784377, 3.2325428183567012e271
    with mpmath.workprec(400):
        s = 1 / (1 + mpmath.exp(-mpmath.mpf(z)))
        truth = mpmath.mpf(w) * s * (1 - s)
    got = _hessian_at("bce_with_logits", z=z, target=1.0, pos_weight=w)
    assert ulps(got, truth) <= ULP_BUDGET, (got, float(truth))


def test_focal_gradient_is_zero_not_nan() -> None:
    """focal's gradient at p = 1 − 2^-53, y = 0, γ = 1.8e308: p^γ = 0 times γ·(−log1p(−p)/p) = inf is 0 (was NaN)."""
    _, module = built("focal")
    with np.errstate(all="ignore"):
        got = module.focal_grad(np.array([0.9999999999999999]), np.array([0.0]), gamma=1.7976931348623157e308,
                                reduction="none")[0]
    assert got == 0.0


def test_a_power_below_every_reach_times_an_infinite_co_factor_is_zero() -> None:
    """_times_scaled: σ(x)σ(−x) at x = 4.46e228 (clipped by the helper, its q not 0 but 2^scale q = 2^-3000,
    below 2^(-1074 - 1024) for one co-factor) times −inf is −0, not −inf; at x = 3 (in reach) times inf it is inf;
    at x = 1500 (2^-2164) times inf it is 0."""
    with np.errstate(all="ignore"):
        got = numerics()._sigmoid_powers(np.array([4.46e228, 3.0, 1500.0]), 1, 1,
                                         times=(np.array([-np.inf, np.inf, np.inf]),))
    np.testing.assert_array_equal(got, [0.0, np.inf, 0.0])
    assert np.signbit(got[0])


def test_focal_with_logits_hessian_is_zero_not_infinite() -> None:
    """focal_with_logits's Hessian at z = −4.46e228, y = 1, γ = 1.95e106, α = 5e-324: σ(z)σ(−z) (e^{-4.46e228})
    times a co-factor −γ·z that overflowed is 0 (the kernel gave −inf)."""
    _, module = built("focal_with_logits")
    with np.errstate(all="ignore"):
        got = module.focal_with_logits_hess(np.array([-4.4644002150484746e228]), np.array([1.0]),
                                            gamma=1.950199483718843e106, alpha=5e-324, reduction="none")[0]
    assert got == 0.0


def test_weighted_logistic_hessian_is_one_sigmoid_powers() -> None:
    """w·σ(z)σ(−z) (a co-factor that is not a number) → w·sigmoid_powers(z, 1, 1), equal to it at sample points;
    σ(z)σ(−z) alone and 3σ(z)σ(−z) stay two sigmoids; a false variant w·σ(z)σ(z) is not the same primitive."""
    z, w = sp.symbols("z w", real=True)
    result = stabilize(w * sigmoid(z) * sigmoid(-z), proved_rules())
    assert result.expr == w * sigmoid_powers(z, 1, 1) and "sigmoid_powers" in result.rules
    for point in (sp.Rational(-7, 3), sp.Rational(9, 2)):
        difference = expand_primitives(result.expr).subs({z: point, w: 3}) - 3 * sigmoid(point) * sigmoid(-point)
        assert abs(sp.N(difference, 50)) < sp.Float("1e-40")
        wrong = expand_primitives(result.expr).subs({z: point, w: 3}) - 3 * sigmoid(point) ** 2
        assert abs(sp.N(wrong, 50)) > sp.Float("1e-3")
    assert stabilize(sigmoid(z) * sigmoid(-z), proved_rules()).expr == sigmoid(z) * sigmoid(-z)
    assert stabilize(3 * sigmoid(z) * sigmoid(-z), proved_rules()).expr == 3 * sigmoid(z) * sigmoid(-z)
