"""The development catalog in examples/: losses outside the bundled catalog, declared as a
user would, whose claims all come out as declared and whose worked examples reproduce.

The prover runs over every claim once per session (about 20 losses, a 20 s budget per
claim); that is the slow part of this file.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from symloss import load_catalog
from symloss.declare.catalog import Catalog
from symloss.prove.examples import format_number, reproduce_all
from symloss.prove.results import ClaimResult, prove_catalog

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
BUDGET = 20.0  # seconds per claim


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(EXAMPLES)


@pytest.fixture(scope="module")
def results(catalog: Catalog) -> list[ClaimResult]:
    return prove_catalog(catalog.losses, budget=BUDGET)


def _reference_values() -> ModuleType:
    """examples/_reference_values.py, the independent mpmath values (the loader skips it)."""
    spec = importlib.util.spec_from_file_location("examples_reference_values", EXAMPLES / "_reference_values.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_folder_loads_with_at_least_15_losses(catalog: Catalog) -> None:
    assert len(catalog) >= 15


def test_no_name_is_shared_with_the_bundled_catalog(catalog: Catalog) -> None:
    assert set(catalog.names).isdisjoint(load_catalog().names)


def test_each_loss_has_two_claims_and_a_worked_example(catalog: Catalog) -> None:
    thin = [loss.name for loss in catalog if len(loss.claims) < 2 or not loss.examples]
    assert thin == []


def test_every_claim_verdict_is_as_declared(catalog: Catalog, results: list[ClaimResult]) -> None:
    assert len(results) == sum(len(loss.claims) for loss in catalog)
    misses = [(r.loss, r.claim.statement, r.verdict.status, r.claim.expected) for r in results if not r.as_expected]
    assert misses == []


def test_the_false_claims_are_refuted_with_a_counterexample(results: list[ClaimResult]) -> None:
    refuted = [r for r in results if r.claim.expected == "refuted"]
    assert len(refuted) >= 3  # non-convexity of Geman-McClure, Cauchy, inverse Gaussian, MSLE
    assert all(r.verdict.status == "refuted" and r.verdict.counterexample for r in refuted)


def test_worked_examples_reproduce(catalog: Catalog) -> None:
    reproductions = reproduce_all(catalog.losses)
    assert len(reproductions) >= len(catalog)
    assert [(r.loss, r.example.label, r.computed_text) for r in reproductions if not r.agrees] == []


def test_every_stated_number_is_one_of_the_independent_reference_values(catalog: Catalog) -> None:
    """Each stated value is an mpmath value of _reference_values.py rounded to the stated places."""
    values = _reference_values().reference_values().values()
    unmatched = []
    for loss in catalog:
        for example in loss.examples:
            rounded = {format_number(v, example.digits) for v in values}
            if format_number(example.stated, example.digits) not in rounded:
                unmatched.append((loss.name, example.label))
    assert unmatched == []
