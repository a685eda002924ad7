"""The accuracy gate (symloss/certify/gate.py): what counts as over budget, and the known list."""

from __future__ import annotations

from pathlib import Path

import pytest

from symloss.certify.certificate import FunctionCertificate, KernelCertificate
from symloss.certify.gate import OverBudget, differences, over_budget, read_known


def _function(name: str, *, passed: bool, max_ulp: float = 1.0, nonfinite: int = 0) -> FunctionCertificate:
    return FunctionCertificate(name, points=10, excluded=0, unresolved=0, max_ulp=max_ulp, max_relative_error=1e-16,
                               nonfinite=nonfinite, range_errors=0, budget_kind="ulp", budget=4.0, passed=passed,
                               worst_point=(1.5, 0.0))


def test_failed_functions_and_uncertified_losses_are_over_budget() -> None:
    certificate = KernelCertificate("loss", 10, (_function("loss", passed=True),
                                                 _function("loss_grad", passed=False, max_ulp=9.0, nonfinite=2)),
                                    passed=False)
    found = over_budget({"loss": certificate, "other": None}, {"broken": "RecursionError: too deep"},
                        {"loss": ["z", "y"]})
    assert [o.name for o in found] == ["broken.*", "loss.grad"]
    assert found[0].figure == "not certified: RecursionError: too deep"
    assert found[1].figure == "max 9 ulp (budget 4 ulp), 2 inf/NaN"
    assert found[1].worst == "worst at z=1.5, y=0.0"


def test_the_known_list_is_read_and_refused_when_malformed(tmp_path: Path) -> None:
    path = tmp_path / "known.txt"
    path.write_text("# comment\nloss.grad  max 9 ulp (budget 4 ulp)  # why\n\n")
    assert read_known(path) == {"loss.grad": "max 9 ulp (budget 4 ulp)"}
    path.write_text("loss.grad  a\nloss.grad  b\n")
    with pytest.raises(ValueError, match=r"known\.txt:2"):
        read_known(path)


def test_differences_in_both_directions_and_in_the_figure() -> None:
    measured = [OverBudget("a.grad", "max 9 ulp"), OverBudget("b.value", "max 5 ulp")]
    assert differences(measured, {"a.grad": "max 9 ulp", "b.value": "max 5 ulp"}, ["a", "b", "c"]) == []
    problems = differences(measured, {"a.grad": "max 8 ulp", "c.hess": "max 7 ulp"}, ["a", "b", "c"])
    assert any("b.value is over budget and not in the known list" in p for p in problems)
    assert any("c.hess is in the known list but within budget now" in p for p in problems)
    assert any("a.grad: the known list says 'max 8 ulp', measured 'max 9 ulp'" in p for p in problems)


def test_a_label_form_other_than_the_targets_own_is_named_and_listed() -> None:
    """Functions certified on another label form ("nt_xent (one-hot rows)") get a name the known list
    reads back: ``loss.value (one-hot rows)``, ``loss.grad (one-hot rows)``."""
    certificate = KernelCertificate("nt", 10, (_function("nt (one-hot rows)", passed=False, max_ulp=9.0),
                                               _function("nt_grad (one-hot rows)", passed=False, max_ulp=9.0)),
                                    passed=False)
    found = over_budget({"nt": certificate}, {}, {})
    assert [o.name for o in found] == ["nt.grad (one-hot rows)", "nt.value (one-hot rows)"]


def test_a_known_list_with_label_forms_is_read(tmp_path: Path) -> None:
    path = tmp_path / "known.txt"
    path.write_text("nt.grad (one-hot rows)  max 9 ulp (budget 4 ulp)\n")
    assert read_known(path) == {"nt.grad (one-hot rows)": "max 9 ulp (budget 4 ulp)"}
    path.write_text("nt grad  max 9 ulp\n")
    with pytest.raises(ValueError, match=r"known\.txt:1"):
        read_known(path)


def test_entries_of_losses_not_built_are_not_compared() -> None:
    measured = [OverBudget("a.grad", "max 9 ulp")]
    assert differences(measured, {"a.grad": "max 9 ulp", "z.value": "max 5 ulp"}, ["a"]) == []
    assert differences([], {"a.grad": "max 9 ulp"}, ["a"]) == [
        "a.grad is in the known list but within budget now: remove it"]
