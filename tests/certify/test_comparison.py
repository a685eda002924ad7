"""Tests for symloss.certify.comparison: the ulp metric of one entry against its truth, at normal,
zero, subnormal and overflowing truths and for non-finite results."""

from __future__ import annotations

import math

import mpmath
import numpy as np

from symloss.certify.comparison import entry_errors


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


def test_an_error_at_the_largest_float_is_counted_in_its_own_ulps() -> None:
    largest = float(np.finfo(np.float64).max)
    below = float(np.nextafter(largest, 0.0))
    ulps, _, status = entry_errors(below, mpmath.mpf(largest), largest)
    assert status == "normal" and ulps == 1.0  # numpy's spacing overflows there: the error would read as 0 ulp
