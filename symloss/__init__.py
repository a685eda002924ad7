"""symloss: derive, prove, stabilize and certify machine-learning losses.

The names below are imported on first use (PEP 562), so ``import symloss`` is
cheap: the command line (:mod:`symloss.__main__`) can catch a Ctrl-C before
SymPy has loaded.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from symloss.declare.catalog import Catalog, CatalogError, load_catalog
    from symloss.declare.loss import Claim, ClaimKind, Definition, Example, Likelihood, Loss

_HOMES = {
    "Catalog": "symloss.declare.catalog",
    "CatalogError": "symloss.declare.catalog",
    "load_catalog": "symloss.declare.catalog",
    "Claim": "symloss.declare.loss",
    "ClaimKind": "symloss.declare.loss",
    "Definition": "symloss.declare.loss",
    "Example": "symloss.declare.loss",
    "Likelihood": "symloss.declare.loss",
    "Loss": "symloss.declare.loss",
}

__all__ = [
    "Catalog",
    "CatalogError",
    "Claim",
    "ClaimKind",
    "Definition",
    "Example",
    "Likelihood",
    "Loss",
    "load_catalog",
]


def __getattr__(name: str) -> object:
    """``symloss.Loss`` and the other names of ``__all__``, imported from their module on first use."""
    if name not in _HOMES:
        raise AttributeError(f"module 'symloss' has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOMES[name]), name)
    globals()[name] = value
    return value
