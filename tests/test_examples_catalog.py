"""The development catalog in examples/ and the held-out catalog in holdout/: losses outside the
bundled catalog, declared as a user would, whose claims all come out as declared and whose worked
examples reproduce.  Every check runs over both folders.

The prover runs over every claim once per folder and session (about 23 losses, a 20 s budget per
claim); that is the slow part of this file.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from symloss import load_catalog
from symloss.declare.catalog import Catalog
from symloss.prove.examples import format_number, reproduce_all
from symloss.prove.results import ClaimResult, prove_catalog

REPOSITORY = Path(__file__).resolve().parents[1]
FOLDERS = {"examples": 15, "holdout": 3}  # each catalog folder and the fewest losses it declares
BUDGET = 20.0  # seconds per claim


@pytest.fixture(scope="module", params=sorted(FOLDERS))
def folder(request: pytest.FixtureRequest) -> Path:
    return REPOSITORY / request.param


@pytest.fixture(scope="module")
def catalog(folder: Path) -> Catalog:
    return load_catalog(folder)


@pytest.fixture(scope="module")
def results(catalog: Catalog) -> list[ClaimResult]:
    return prove_catalog(catalog.losses, budget=BUDGET)


def _reference_values(folder: Path) -> ModuleType:
    """FOLDER/_reference_values.py, the independent mpmath values (the loader skips it)."""
    spec = importlib.util.spec_from_file_location(f"{folder.name}_reference_values", folder / "_reference_values.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_folder_loads_with_its_losses(folder: Path, catalog: Catalog) -> None:
    assert len(catalog) >= FOLDERS[folder.name]


def test_no_name_is_shared_with_the_bundled_catalog_or_the_other_folders(folder: Path, catalog: Catalog) -> None:
    others = [load_catalog(), *(load_catalog(REPOSITORY / name) for name in FOLDERS if name != folder.name)]
    for other in others:
        assert set(catalog.names).isdisjoint(other.names)


def test_each_loss_has_two_claims_and_a_worked_example(catalog: Catalog) -> None:
    thin = [loss.name for loss in catalog if len(loss.claims) < 2 or not loss.examples]
    assert thin == []


def test_every_claim_verdict_is_as_declared(catalog: Catalog, results: list[ClaimResult]) -> None:
    assert len(results) == sum(len(loss.claims) for loss in catalog)
    misses = [(r.loss, r.claim.statement, r.verdict.status, r.claim.expected) for r in results if not r.as_expected]
    assert misses == []


def test_the_false_claims_are_refuted_with_a_counterexample(results: list[ClaimResult]) -> None:
    refuted = [r for r in results if r.claim.expected == "refuted"]
    assert len(refuted) >= 3  # examples: non-convexity of Geman-McClure, Cauchy, ...; holdout: one a loss
    assert all(r.verdict.status == "refuted" and r.verdict.counterexample for r in refuted)


def test_worked_examples_reproduce(catalog: Catalog) -> None:
    reproductions = reproduce_all(catalog.losses)
    assert len(reproductions) >= len(catalog)
    assert [(r.loss, r.example.label, r.computed_text) for r in reproductions if not r.agrees] == []


def test_every_stated_number_is_one_of_the_independent_reference_values(folder: Path, catalog: Catalog) -> None:
    """Each stated value is an mpmath value of _reference_values.py rounded to the stated places."""
    values = _reference_values(folder).reference_values().values()
    unmatched = []
    for loss in catalog:
        for example in loss.examples:
            rounded = {format_number(v, example.digits) for v in values}
            if format_number(example.stated, example.digits) not in rounded:
                unmatched.append((loss.name, example.label))
    assert unmatched == []


def test_symloss_prove_on_the_held_out_folder_exits_0() -> None:
    """The command a user types: every claim of holdout/ as declared (exit 0), one table row a claim."""
    done = subprocess.run([sys.executable, "-m", "symloss", "prove", "--catalog", "holdout", "--quiet"],
                          capture_output=True, text=True, cwd=REPOSITORY, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = done.stdout.splitlines()[2:]  # below the header and its rule
    claims = [(loss.name, claim.statement) for loss in load_catalog(REPOSITORY / "holdout") for claim in loss.claims]
    assert len(rows) == len(claims)
    for row, (name, statement) in zip(rows, claims, strict=True):
        assert row.startswith(name) and statement in row
