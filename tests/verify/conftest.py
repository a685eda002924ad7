"""Shared fixtures of the verify tests: a toy catalog of losses to call by name."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from symloss.declare.catalog import Catalog, load_catalog

TOY_CATALOG = '''
import sympy as sp
from symloss.declare.functions import sigmoid
from symloss.declare.loss import Definition, Loss
from symloss.declare.notation import BINARY, CLASS_COUNT, NONNEGATIVE, REAL, REAL_VECTOR, SIMPLEX, index, var, vector

z = var("z")
y = var("y", BINARY)
gamma = var("gamma", NONNEGATIVE)
toy_bce = Loss(
    name="toy_bce", title="BCE on logits", family="binary", output=z, target=y,
    formula=-y.symbol * sp.log(sigmoid(z.symbol)) - (1 - y.symbol) * sp.log(1 - sigmoid(z.symbol)),
    origin=Definition(),
)
toy_focal = Loss(
    name="toy_focal", title="focal", family="binary", output=z, target=y, params=(gamma,),
    formula=-(1 - sigmoid(z.symbol)) ** gamma.symbol * sp.log(sigmoid(z.symbol)),
    origin=Definition(),
)
k, i, K = index("k"), index("i"), var("K", CLASS_COUNT)
zv, yv = vector("z", REAL_VECTOR), vector("y", SIMPLEX)
toy_ce = Loss(
    name="toy_ce", title="softmax CE", family="multiclass", output=zv, target=yv, index=i, classes=K,
    formula=-sp.Sum(yv.symbol[k.symbol] * sp.log(sp.exp(zv.symbol[k.symbol])
                    / sp.Sum(sp.exp(zv.symbol[k.symbol]), (k.symbol, 1, K.symbol))), (k.symbol, 1, K.symbol)),
    origin=Definition(), given=(sp.Eq(sp.Sum(yv.symbol[k.symbol], (k.symbol, 1, K.symbol)), 1),),
)
'''


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    folder: Path = tmp_path_factory.mktemp("toy_catalog")
    (folder / "toy.py").write_text(textwrap.dedent(TOY_CATALOG))
    return load_catalog(folder)
