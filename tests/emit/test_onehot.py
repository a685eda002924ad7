"""Formulas specialized to integer class labels: exact one-hot substitution, entries at the label."""

from __future__ import annotations

import pytest
import sympy as sp

from symloss.emit.onehot import AtLabel, IndexFormError, at_integer_labels
from symloss.stabilize.primitives import LogSoftmax, Softmax

k, j = sp.symbols("k j", integer=True, positive=True)
K = sp.Symbol("K", integer=True, positive=True)
y, z, p = sp.IndexedBase("y"), sp.IndexedBase("z"), sp.IndexedBase("p")
eps = sp.Symbol("epsilon", nonnegative=True)


def test_a_label_weighted_sum_is_the_entry_at_the_label() -> None:
    split = at_integer_labels(-sp.Sum(y[k] * sp.log(p[k]), (k, 1, K)), y, k, K)
    assert split.elsewhere == -sp.log(AtLabel(p[k]))  # the entry at the label, then its log
    assert split.at_label is None


def test_smoothed_weights_keep_their_grouping_at_the_label() -> None:
    """(1 - eps) f_c, not f_c - eps f_c: no cancellation near eps = 1, and a zero weight stays a factor."""
    weight = (1 - eps) * y[k] + eps / K
    split = at_integer_labels(-sp.Sum(weight * LogSoftmax(z[k], k, K), (k, 1, K)), y, k, K)
    at_label = AtLabel(LogSoftmax(z[k], k, K))
    assert split.elsewhere.coeff(at_label) in (eps - 1, -(1 - eps))
    assert split.elsewhere.has(sp.Sum) and not split.elsewhere.has(y)


def test_an_entrywise_quantity_splits_at_the_label() -> None:
    """softmax(z)_k - y_k: softmax off the label, softmax at the label minus 1 there."""
    split = at_integer_labels(Softmax(z[k], k, K) - y[k], y, k, K)
    assert split.elsewhere == Softmax(z[k], k, K)
    assert sp.simplify(split.at_label - (AtLabel(Softmax(z[k], k, K)) - 1)) == 0


def test_entries_of_other_arrays_at_the_label_are_read_there() -> None:
    split = at_integer_labels(sp.Sum(y[j] * z[j], (j, 1, K)) * z[k], y, k, K)
    assert split.elsewhere == AtLabel(z[k]) * z[k]
    assert split.at_label is None


@pytest.mark.parametrize("expr", [
    sp.Sum(sp.exp(y[j]) * z[j], (j, 1, K)),  # a label entry inside a function: no delta to sum out
    sp.Sum(y[j], (j, 1, k)),  # a partial sum: the label may lie outside it
    sp.Sum((1 - y[j]) * sp.Max(0, z[j] + 1), (j, 1, K)),  # the sum over the others as the whole minus the label's
])
def test_a_label_that_cannot_be_read_one_entry_per_sample_is_refused(expr: sp.Expr) -> None:
    with pytest.raises(IndexFormError):
        at_integer_labels(expr, y, k, K)
