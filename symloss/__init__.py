"""symloss: derive, prove, stabilize and certify machine-learning losses."""

from symloss.declare.catalog import Catalog, CatalogError, load_catalog
from symloss.declare.loss import Claim, ClaimKind, Definition, Example, Likelihood, Loss

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
