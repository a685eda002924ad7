"""``symloss.functions``, the declaration API's import path (users' declaration folders
import from it): the public names of :mod:`symloss.declare.functions`."""

from symloss.declare.functions import (
    NAMED_FUNCTIONS,
    sigmoid,
    softplus,
    to_elementary,
)

__all__ = [
    "NAMED_FUNCTIONS",
    "sigmoid",
    "softplus",
    "to_elementary",
]
