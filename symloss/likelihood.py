"""``symloss.likelihood``, the declaration API's import path (users' declaration folders
import from it): the public names of :mod:`symloss.declare.likelihood`."""

from symloss.declare.likelihood import (
    ClassMax,
    bernoulli,
    categorical,
    entrywise,
    exponential_family,
    gaussian,
    index,
    laplace,
    logsumexp,
    one_hot,
    poisson,
    smoothed,
    softmax,
    sum_out_deltas,
)

__all__ = [
    "ClassMax",
    "bernoulli",
    "categorical",
    "entrywise",
    "exponential_family",
    "gaussian",
    "index",
    "laplace",
    "logsumexp",
    "one_hot",
    "poisson",
    "smoothed",
    "softmax",
    "sum_out_deltas",
]
