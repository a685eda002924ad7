"""pow1p with co-factors, as sigmoid_powers takes them: the emitter passes a product's other factors into
``_pow1p(t, a, times=(…))``, whose helper adds their powers of two to the exponential's and multiplies their
mantissas in after, so that c·(1 + t)^a is within 4 ulp of mpmath where the power alone underflows or
overflows, 0 where the product underflows and inf where it overflows, and a power 0 times an overflowed
co-factor is 0 (the focal loss's gradient at p = 1 − 7e-16, γ = 1.8e308 was inf·0 = NaN)."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp
from checkout_kernels import built
from ulps import ulps

from symloss.certify.localize import numerics
from symloss.emit.blocks import Scaled, scaled_primitives
from symloss.emit.printer import KernelPrinter
from symloss.stabilize.primitives import pow1p

ULP_BUDGET = 4.0
HUGE = np.finfo(np.float64).max


def _truth(t: float, a: float, times: list[float]) -> mpmath.mpf:
    with mpmath.workprec(400):
        value = mpmath.exp(mpmath.mpf(a) * mpmath.log1p(mpmath.mpf(t)))
        for c in times:
            value *= mpmath.mpf(c)
        return value


def _points(seed: int, count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """t in (-1, 1e300), a such that a log1p(t) spreads over ±1500 (the power from e^-1500 to e^1500, far
    beyond the float range both ways), two co-factors of either sign and magnitude 1e-300 .. 1e300, so that
    the product spans underflow, the subnormal range, normal values and overflow."""
    rng = np.random.default_rng(seed)
    t = np.where(rng.integers(2, size=count) == 0, -1 + 10.0 ** rng.uniform(-16, 0, count),
                 10.0 ** rng.uniform(-300, 300, count))
    log = np.log1p(t)
    a = rng.uniform(-1500, 1500, count) / log
    c1 = rng.choice([-1.0, 1.0], count) * 10.0 ** rng.uniform(-300, 300, count)
    c2 = rng.choice([-1.0, 1.0], count) * 10.0 ** rng.uniform(-300, 300, count)
    return t, a, c1, c2


@pytest.mark.parametrize(("seed", "divide"), [(0, False), (1, True)])
def test_pow1p_with_co_factors_is_within_budget(seed: int, divide: bool) -> None:
    """Within 4 ulp of mpmath on 800 random points, of which many have a power out of the float range
    but a product in it (the plain product is 0, inf or NaN there: checked, so that the test can fail);
    the second co-factor passed as a divisor (``over``) in one run."""
    t, a, c1, c2 = _points(seed, 800)
    with np.errstate(all="ignore"):
        scaled = {"times": (c1,), "over": (c2,)} if divide else {"times": (c1, c2)}
        got = numerics()._pow1p(t, a, **scaled)
        c2 = 1 / np.array([mpmath.mpf(c) for c in c2]) if divide else c2
        plain = numerics()._pow1p(t, a) * c1 * np.array(c2, dtype=np.float64)
    truths = [_truth(*point[:2], list(point[2:])) for point in zip(t, a, c1, c2, strict=True)]
    errors = [ulps(g, true) for g, true in zip(got, truths, strict=True)]
    worst = int(np.argmax(errors))
    assert errors[worst] <= ULP_BUDGET, (t[worst], a[worst], c1[worst], c2[worst], got[worst], errors[worst])
    rescued = [ulps(p, true) > ULP_BUDGET for p, true in zip(plain, truths, strict=True)]
    assert sum(rescued) > 50


@pytest.mark.parametrize(
    ("t", "a", "times"),
    [
        (-0.5, 1100.0, [1e300]),  # the power 2^-1100 underflows alone; the product is 7.4e-32
        (-0.5, 1074.5, [1.0]),  # a subnormal power, no scaling: as without co-factors
        (-0.5, 1070.0, [0.75]),  # a subnormal product of a normal power, one rounding into the subnormals
        (1.0, 1100.0, [1e-300]),  # the power overflows alone; the product is 1.3e31
        (1e300, 3.5, [1e-300, 1e-300, 1e-300]),  # no partial product underflows
        (-0.9999999999999993, 10.0, [1.7976931348623157e308, 2.0]),  # c_1 c_2 overflows, the product does not
        (0.0, 1e308, [1e300, 1e10]),  # the exact case 1 (t = 0) scaled: inf
        (-5.846111229619924e-230, 1.7976931348623157e308, [2.0]),  # 1 - p rounds to 1: the truth is 0
        (-0.5, 3000.0, [HUGE, HUGE]),  # below every co-factor's reach: 0
        (-0.5, -3000.0, [5e-324, 5e-324]),  # above it: inf
    ],
)
def test_pow1p_with_co_factors_at_edges(t: float, a: float, times: list[float]) -> None:
    with np.errstate(all="ignore"):
        got = numerics()._pow1p(np.array([t]), a, times=tuple(np.array([c]) for c in times))[0]
    assert ulps(got, _truth(t, a, times)) <= ULP_BUDGET, (t, a, times, got, float(_truth(t, a, times)))


def test_a_vanishing_power_times_an_overflowed_co_factor_is_zero() -> None:
    """A co-factor that overflowed to ±inf (γX − 1/p at γ = 1.8e308) times a power that is 0 beyond every
    co-factor's reach (|a log1p(t)| > 800 + 745 n) is a signed 0; times a power in reach it is ±inf (the
    rounded co-factor cannot tell more); NaN stays NaN; a 0 co-factor times a power that overflows stays NaN
    (inf·0, as np.multiply)."""
    t = np.array([-0.9999999999999993, -0.9999999999999993, -0.5, -0.5, 1.0])
    c = np.array([np.inf, -np.inf, np.inf, np.nan, 0.0])
    a = np.array([1.7976931348623157e308, 1.7976931348623157e308, 2.0, 3000.0, 3000.0])
    with np.errstate(all="ignore"):
        got = numerics()._pow1p(t, a, times=(c,))
    np.testing.assert_array_equal(got, [0.0, -0.0, np.inf, np.nan, np.nan])
    assert np.signbit(got[1]) and not np.signbit(got[0])
    with np.errstate(all="ignore"):  # a co-factor 0 is no vanishing power: 0 inf stays NaN
        got = numerics()._pow1p(np.array([-0.5]), 2.0, times=(np.array([0.0]), np.array([np.inf])))
    assert np.isnan(got[0])


def test_the_shared_co_factor_helper_scales_exactly() -> None:
    """_times_scaled (used by _sigmoid_powers and _pow1p): 2^scale q c_1 c_2 with one rounding per factor,
    where the plain product overflows (1e300·1e100) or underflows (2^-1100 alone) on the way."""
    q, scale = np.array([0.5, -0.25, 0.75]), np.array([-1100, 0, 0], dtype=np.int32)
    c1, c2 = np.array([4.5e19, -1e300, 1e300]), np.array([1e100, 1e-300, 1e100])
    with np.errstate(all="ignore"):
        got = numerics()._times_scaled(q, scale, (c1, c2))
    with mpmath.workprec(400):
        truths = [mpmath.ldexp(mpmath.mpf(v), int(e)) * mpmath.mpf(a) * mpmath.mpf(b)
                  for v, e, a, b in zip(q, scale, c1, c2, strict=True)]
    assert all(ulps(g, true) <= 2 for g, true in zip(got, truths, strict=True)), (got, truths)
    assert got[2] == np.inf


def test_products_with_pow1p_pass_their_co_factors() -> None:
    """c·t²·pow1p(x, a) → Scaled(pow1p(x, a), c, t, t); a sum is one co-factor; b^-2 and 1/c two divisors and
    one (``over=``); other products unchanged."""
    x, c, t, a, g = sp.symbols("x c t a g")
    power = pow1p(x, a)
    scaled = scaled_primitives(c * t**2 * power + (g * x - 1 / c) * pow1p(-x, g) / (x + 1) ** 2 / t + x * c)
    found = sorted(scaled.atoms(Scaled), key=str)
    assert len(found) == 2
    by_primitive = {f.args[0]: sorted(map(str, f.args[1:])) for f in found}
    assert by_primitive == {power: ["c", "t", "t"],
                            pow1p(-x, g): sorted(map(str, [g * x - 1 / c, 1 / (x + 1), 1 / (x + 1), 1 / t]))}
    call, operands = next(f for f in found if f.args[0] == pow1p(-x, g)).call()
    # the sum co-factor as its parts (_sum_parts: the plain sum, then each term's factors and divisors)
    assert call == ("_pow1p({a0}, {a1}, times=(_sum_parts({a2}, ((({a3}, ), (), ({a4}, ), ()), (({a5}, {a6}, ), (), "
                    "(), ()), )), ), over=({a7}, {a8}, {a9}, ))")
    assert operands[:3] == [-x, g, g * x - 1 / c] and sorted(map(str, operands[7:])) == ["t", "x + 1", "x + 1"]
    assert scaled - sum(found) == x * c


def test_focal_gradient_and_hessian_at_the_overflowing_co_factor() -> None:
    """focal.grad, focal.hess and value_and_grad at p = 0.9999999999999993, y = 1, γ = 1.8e308: the truth
    is 0 ((1 − p)^γ = (7e-16)^γ), where γ·(−log p/(p − 1)) − 1/p overflowed to inf and the kernels gave
    inf·0 = NaN; and at a moderate point within 4 ulp of mpmath (the co-factor path changes nothing there)."""
    _, kernel = built("focal")
    p, y = np.array([0.9999999999999993, 0.3]), np.array([1.0, 1.0])
    gamma = 1.7976931348623157e308
    with np.errstate(all="ignore"):
        grad = kernel.focal_grad(p, y, gamma=gamma, reduction="none")
        hess = kernel.focal_hess(p, y, gamma=gamma, reduction="none")
        _, both = kernel.focal_value_and_grad(p, y, gamma=gamma, reduction="none")
    for values in (grad, hess, both):
        assert values[0] == 0.0 and values[1] == 0.0, values
    p, gamma = np.array([0.3]), 2.5
    grad = kernel.focal_grad(p, np.array([1.0]), gamma=gamma, reduction="none")[0]
    with mpmath.workprec(300):
        q, g = mpmath.mpf(0.3), mpmath.mpf(gamma)
        true = mpmath.diff(lambda s: -(1 - s) ** g * mpmath.log(s), q)
    assert ulps(grad, true) <= ULP_BUDGET, (grad, float(true))


def test_a_scaled_primitive_inside_a_printed_piecewise_is_its_helper_call() -> None:
    """A product with pow1p in a branch of a Piecewise (printed whole, not as program steps: barron's
    gradient) prints as the helper's call with its co-factors, and evaluates as the helper does."""
    x, a, c = sp.symbols("x a c")
    branch = scaled_primitives(sp.Piecewise((c * pow1p(x, a), x > 0), (x, True)))
    text = KernelPrinter({}).doprint(branch)
    assert "_pow1p(x, a, times=(c, ), over=())" in text, text
    module = numerics()
    with np.errstate(all="ignore"):
        got = eval(text, {"np": np, "_pow1p": module._pow1p},  # the printer's code, not a user's
                   {"x": np.array([1.0, -2.0]), "a": 1100.0, "c": np.array([1e-300, 3.0])})
    assert ulps(got[0], _truth(1.0, 1100.0, [1e-300])) <= ULP_BUDGET and got[1] == -2.0
