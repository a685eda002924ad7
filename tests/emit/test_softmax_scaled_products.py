"""Products of a softmax share with a co-factor that can be huge (issue 21, Poly-1's Hessian at
z = (497.2, -405.6), epsilon = 1.3e204): ``_softmax_times`` (p_k c_k) and ``_other_classes_softmax_sum``
(c_i sum over k != i of g_k p_k) carry e^{d_k} as a mantissa and a power of two, applied after the co-factor, where
the plain product rounds the share e^-903 to 0 first."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp
from checkout_kernels import built
from test_codegen import normwise, poly1_truth

from symloss.certify.localize import numerics
from symloss.emit.arrays import FromParts, SoftmaxParts
from symloss.emit.blocks import OtherClassesSoftmaxSum, SoftmaxTimes, other_classes_softmax_sums, softmax_times
from symloss.emit.program import ENTRY
from symloss.stabilize.primitives import OtherClassesSum

WORST = ([497.2333754215058, -405.63708426056644], [0.0, 1.0], 1.3337991556245677e+204)  # was 0, truth -1e-188


def _shares(z: list[float]) -> list[mpmath.mpf]:
    with mpmath.workdps(600):
        weights = [mpmath.exp(mpmath.mpf(v)) for v in z]
        return [w / sum(weights) for w in weights]


def _close(got: float, true: mpmath.mpf, ulps: float = 8.0) -> bool:
    return abs(mpmath.mpf(got) - true) <= ulps * 2.0**-52 * abs(true) + 5e-324


@pytest.mark.parametrize("seed", [0, 1])
def test_softmax_times_a_huge_co_factor_is_accurate(seed: int) -> None:
    """p_k c_k within 8 ulp of mpmath with shares down to e^-1400 and co-factors up to 1e300; the plain product
    is 0 at some of them."""
    rng = np.random.default_rng(seed)
    z = rng.uniform(-1400.0, 0.0, size=(64, 4))
    c = rng.choice([-1.0, 1.0], size=z.shape) * 10.0 ** rng.uniform(0.0, 300.0, size=z.shape)
    module = numerics()
    got = module._softmax_times(module._shifted(z), c)
    plain = module._softmax(module._shifted(z)) * c
    checked = 0
    for row in range(z.shape[0]):
        shares = _shares(list(z[row]))
        for k in range(4):
            true = shares[k] * mpmath.mpf(c[row, k])
            if abs(true) > 2.0**-1000 and abs(true) < 1e300:
                assert _close(got[row, k], true), (z[row], c[row, k], got[row, k], float(true))
                checked += 1
    assert checked > 20
    assert np.any((plain == 0) & (got != 0))


def test_other_classes_softmax_sum_at_the_underflowed_share() -> None:
    """c_i sum over k != i of y_k p_k at Poly-1's worst point: -1.03e-188 where the plain sum of y_k p_k is 0;
    0 where the weight is 0; the other class's share (p_1 about 1) as the plain helper gives it."""
    z, y, epsilon = WORST
    module = numerics()
    parts = module._shifted(np.array([z]))
    weight = np.array([[-epsilon, 3.0]])
    got = module._other_classes_softmax_sum(weight, np.array([y]), parts)
    shares = _shares(z)
    assert _close(got[0, 0], -epsilon * shares[1]), got
    assert _close(got[0, 1], 3.0 * y[0] * shares[0]), got
    assert module._other_classes_sum(weight, np.array([y]) * module._softmax(parts))[0, 0] == 0.0
    assert module._other_classes_softmax_sum(np.array([[0.0, 1.0]]), np.array([y]), parts)[0, 0] == 0.0


def test_other_classes_softmax_sum_keeps_the_others_when_the_own_share_dominates() -> None:
    """The sum over the others at the own (largest) class is taken at the others' largest power: classes of
    shares e^-800 and e^-900 at the arg-max, weight 1e300."""
    z = [0.0, -800.0, -900.0]
    module = numerics()
    got = module._other_classes_softmax_sum(np.array([[1e300, 1.0, 1.0]]), np.ones((1, 3)),
                                            module._shifted(np.array([z])))
    shares = _shares(z)
    assert _close(got[0, 0], mpmath.mpf(1e300) * (shares[1] + shares[2])), got
    assert _close(got[0, 1], shares[0] + shares[2]), got


def test_the_rewrites_take_a_parameter_and_an_array() -> None:
    """p (eps y + 1) is a SoftmaxTimes, p (1 - alpha) (parameters alone) and p y (no parameter) are not; an
    OtherClassesSum of y_k p_k is an OtherClassesSoftmaxSum."""
    k = sp.Symbol("k", integer=True)
    epsilon, alpha = sp.symbols("epsilon alpha", real=True)
    y, z = sp.IndexedBase("y"), sp.IndexedBase("z")
    kinds = {y: ENTRY, z: ENTRY}
    p = FromParts(sp.Symbol("_softmax"), SoftmaxParts(z[k]))
    assert softmax_times(p * (epsilon * y[k] + 1), kinds) == SoftmaxTimes(SoftmaxParts(z[k]), epsilon * y[k] + 1)
    assert softmax_times(p * (1 - alpha), kinds) == p * (1 - alpha)
    assert softmax_times(p * y[k], kinds) == p * y[k]
    total = OtherClassesSum(epsilon, p * y[k], k, sp.Symbol("K", integer=True), sp.Symbol("i", integer=True))
    assert other_classes_softmax_sums(total) == OtherClassesSoftmaxSum(epsilon, y[k], SoftmaxParts(z[k]))


def test_poly1_hessian_where_a_share_underflowed_before_its_huge_co_factor() -> None:
    """Poly-1's Hessian at the point that was over budget (both entries -1.03e-188, the kernel gave 0)."""
    z, y, epsilon = WORST
    _, module = built("poly1")
    hess = module.poly1_hess(np.array([z]), np.array([y]), epsilon=epsilon, reduction="none")[0]
    _, _, true_hess = poly1_truth(z, y, epsilon)
    assert normwise(hess, true_hess) <= 1e-13, ([float(t) for t in true_hess], hess)
