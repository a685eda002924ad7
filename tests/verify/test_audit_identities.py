"""An audit's identity claim is read within its budget (symloss/verify/audit_identities.py through
symloss/verify/claim.py's read_within, the budgeted reader of verify): a claim slow to read gives the
verdict unknown within the budget, and every other claim is still judged."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import symloss.verify.audit_identities as audit_module
from symloss.declare.catalog import Catalog
from symloss.verify.audit import run_audit

VALUE = '[[claim]]\nid = "v"\nsource = "s"\nkind = "value"\nexpr = "sigmoid(0)"\nat = {}\nstated = 0.5\ndigits = 1\n'


def _identity(ident: str, lhs: str, rhs: str, extra: str = "") -> str:
    return f'[[claim]]\nid = "{ident}"\nsource = "s"\nkind = "identity"\nlhs = "{lhs}"\nrhs = "{rhs}"\n{extra}\n'


def _audit(tmp_path: Path, text: str, catalog: Catalog) -> dict[str, tuple[str, str]]:
    path = tmp_path / "claims.toml"
    path.write_text(text)
    result = run_audit(path, catalog)
    assert not result.error, result.error
    return {o.id: (o.verdict, o.message) for o in result.outcomes}


def test_an_identity_slow_to_read_is_unknown_within_its_budget(
    tmp_path: Path, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reader slower than the budget (the budgeted child is forked, so it runs the patched reader)."""
    read = audit_module.parse_identity

    def slow_parse_identity(*args: object, **kwargs: object) -> object:
        time.sleep(30)
        return read(*args, **kwargs)

    monkeypatch.setattr(audit_module, "parse_identity", slow_parse_identity)
    start = time.perf_counter()
    outcomes = _audit(tmp_path, _identity("slow", "sigmoid(-z)", "1 - sigmoid(z)", "budget = 2") + VALUE, catalog)
    elapsed = time.perf_counter() - start
    assert elapsed < 2 + 3, elapsed
    verdict, message = outcomes["slow"]
    assert verdict == "unknown" and "timed out after 2 s while reading the claim" in message, message
    assert outcomes["v"][0] == "correct"


def test_true_false_and_malformed_identities_are_still_judged_through_the_budgeted_reader(
    tmp_path: Path, catalog: Catalog
) -> None:
    text = (_identity("true", "sigmoid(-z)", "1 - sigmoid(z)") + _identity("false", "log(x*y)", "log(x) + log(y)")
            + _identity("bad", "x +", "x") + _identity("bad-assume", "x", "x", 'assume = ["x >> 0"]') + VALUE)
    outcomes = _audit(tmp_path, text, catalog)
    assert outcomes["true"][0] == "correct", outcomes["true"]
    assert outcomes["false"][0] == "wrong", outcomes["false"]
    assert outcomes["bad"][0] == "error" and "claim 'bad': field 'lhs'" in outcomes["bad"][1]
    assert outcomes["bad-assume"][0] == "error" and "field 'assume'" in outcomes["bad-assume"][1]
    assert outcomes["v"][0] == "correct"


def test_the_reading_time_comes_out_of_the_proof_budget(
    tmp_path: Path, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading took 1.5 s of a 2 s budget: the prover is given what is left, not the whole budget again."""
    read = audit_module.parse_identity
    given: list[float] = []

    def slowish_parse_identity(*args: object, **kwargs: object) -> object:
        time.sleep(1.5)
        return read(*args, **kwargs)

    def recording_prove(claim: object, budget: float) -> object:
        given.append(budget)
        return prove(claim, budget=budget)

    prove = audit_module.prove
    monkeypatch.setattr(audit_module, "parse_identity", slowish_parse_identity)
    monkeypatch.setattr(audit_module, "prove", recording_prove)
    _audit(tmp_path, _identity("t", "sigmoid(-z)", "1 - sigmoid(z)", "budget = 2"), catalog)
    assert len(given) == 1 and 0 < given[0] < 0.5, given
