"""Expressions under array semantics: class indices flattened, Kronecker deltas summed out."""

from __future__ import annotations

import sympy as sp

from symloss.emit.arrays import flatten_indices


def test_flatten_indices_sums_out_kronecker_deltas() -> None:
    z, k, i = sp.IndexedBase("z"), sp.Symbol("k", integer=True), sp.Symbol("i", integer=True)
    count, n = sp.Symbol("K"), sp.Symbol("n", integer=True)
    assert flatten_indices(sp.Sum(z[k] * sp.KroneckerDelta(i, k), (k, 1, count)), n) == z[n]
