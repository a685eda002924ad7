"""The Tweedie kernels at the points where the emitter's joint exponents matter (_exp_minus_scaled,
_exp_sum_scaled): e^p (e^a - 0 y) and e^p ((2 - p) e^a + 0) where e^p overflows and e^a underflows."""

from __future__ import annotations

from pathlib import Path

import mpmath
import numpy as np
import pytest

from symloss.declare.catalog import load_catalog
from symloss.emit.codegen import load_generated

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def tweedie(tmp_path_factory: pytest.TempPathFactory) -> object:
    from symloss.pipeline import build_kernels, derive_all, write_kernels

    folder = tmp_path_factory.mktemp("kernels")
    losses = load_catalog(EXAMPLES).select(["tweedie"])
    write_kernels(build_kernels(derive_all(losses, workers=1), certify=False), folder)
    return load_generated(folder, "tweedie")


POINTS = [(-1e300, 0.0, 1.25), (-2e6, 0.0, 1.25), (-1e4, 0.0, 1.25), (-800.0, 0.0, 1.25),
          (-1.7976931348623157e308, 0.0, 2.0 - 2.0**-52),
          (1.7976931348623157e308, 0.0, 1.0 + 2.0**-52), (1.7976931348623157e308, 1.0, 1.0 + 2.0**-52),
          (3.0, 2.0, 1.5), (-1e300, 1.0, 1.25)]


@pytest.mark.parametrize(("zv", "yv", "pv"), POINTS)
def test_tweedie_derivatives_at_joint_exponents(tweedie: object, zv: float, yv: float, pv: float) -> None:
    """e^{(2-p)z} - y e^{(1-p)z} and its derivative within 4 ulp of mpmath (0, inf where the truth is beyond
    the floats), not NaN: the gradient at z = -1e300, y = 0 was e^{2.5e299} 0, the Hessian at z = -1e4 too; the
    gradient's exponent (1 - p) z + M as z - p z + M overflowed (p z) at z = -1.8e308, p = 2 - 2^-52 (inf for
    e^{-4e292}) and was inf - inf = NaN at z = 1.8e308, p = 1 + 2^-52."""
    with mpmath.workprec(3000):
        zm, ym, pm = mpmath.mpf(zv), mpmath.mpf(yv), mpmath.mpf(pv)
        truths = (mpmath.exp((2 - pm) * zm) - ym * mpmath.exp((1 - pm) * zm),
                  (2 - pm) * mpmath.exp((2 - pm) * zm) - (1 - pm) * ym * mpmath.exp((1 - pm) * zm))
        with np.errstate(all="ignore"):
            got = (tweedie.tweedie_grad(np.array([zv]), np.array([yv]), p=pv, reduction="none")[0],
                   tweedie.tweedie_hess(np.array([zv]), np.array([yv]), p=pv, reduction="none")[0])
        for value, truth in zip(got, truths, strict=True):
            if abs(truth) > mpmath.mpf(np.finfo(np.float64).max):
                assert value == (np.inf if truth > 0 else -np.inf), (value, truth)
            elif abs(truth) < mpmath.mpf(np.finfo(np.float64).tiny):
                assert abs(value) <= 4 * np.finfo(np.float64).smallest_subnormal, (value, truth)
            else:
                ulp = mpmath.mpf(float(np.spacing(abs(float(truth)))))
                assert abs(mpmath.mpf(float(value)) - truth) / ulp <= 4.0, (value, truth)
