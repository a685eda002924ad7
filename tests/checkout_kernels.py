"""Kernels generated from this checkout's declarations and engine (not the shipped package), so that a
rule, a primitive, a declared form or a certifier change is tested before the package is regenerated."""

from __future__ import annotations

import tempfile
from functools import cache
from pathlib import Path
from types import ModuleType

from symloss import load_catalog
from symloss.derive.chain import Derivation, derive
from symloss.emit.codegen import kernel_for, load_generated, render_module, render_package, write_package
from symloss.stabilize.rules import proved_rules

CHECKOUT_CATALOG = Path(__file__).resolve().parent.parent / "derivations"


@cache
def built(name: str) -> tuple[Derivation, ModuleType]:
    """The derivation of ``name`` and its kernel module, generated into a fresh folder."""
    derivation = derive(load_catalog(CHECKOUT_CATALOG).get(name))
    kernel = kernel_for(derivation, proved_rules())
    folder = Path(tempfile.mkdtemp(prefix=f"symloss-test-{name}-"))
    write_package({f"{name}.py": render_module(kernel, "built by the tests"), **render_package([name])}, folder,
                  prune=False)
    return derivation, load_generated(folder, name)
