"""The accuracy gate (symloss/certify/gate.py): what counts as over budget, and the known list."""

from __future__ import annotations

from pathlib import Path

import pytest

from symloss.certify.certificate import FunctionCertificate, KernelCertificate
from symloss.certify.gate import OverBudget, differences, known_list, over_budget, read_known
from symloss.certify.stress_grid import Sampling


def _function(name: str, *, passed: bool, max_ulp: float = 1.0, nonfinite: int = 0,
              worst_value: float = 2.25) -> FunctionCertificate:
    return FunctionCertificate(name, points=10, excluded=0, unresolved=0, max_ulp=max_ulp, max_relative_error=1e-16,
                               nonfinite=nonfinite, range_errors=0, budget_kind="ulp", budget=4.0, passed=passed,
                               worst_point=(1.5, 0.0), worst_truth=2.25, worst_value=worst_value)


def test_failed_functions_and_uncertified_losses_are_over_budget() -> None:
    certificate = KernelCertificate("loss", 10, (_function("loss", passed=True),
                                                 _function("loss_grad", passed=False, max_ulp=9.0, nonfinite=2)),
                                    passed=False)
    found = over_budget({"loss": certificate, "other": None}, {"broken": "RecursionError: too deep"},
                        {"loss": ["z", "y"]})
    assert [o.name for o in found] == ["broken.*", "loss.grad"]
    assert found[0].figure == "not certified: RecursionError: too deep"
    assert found[1].figure == "max 9 ulp (budget 4 ulp), 2 inf/NaN"
    assert found[1].worst == "worst at z=1.5, y=0.0: truth 2.25, kernel 2.25"
    assert found[1].line() == ("loss.grad  max 9 ulp (budget 4 ulp), 2 inf/NaN; "
                               "worst at z=1.5, y=0.0: truth 2.25, kernel 2.25")


def test_the_written_known_list_round_trips_through_read_known(tmp_path: Path) -> None:
    """known_list writes what was measured, worst points (an inf kernel value, a one-line reason) included;
    read_known reads back exactly that, so differences finds none, and one changed worst point is found."""
    certificate = KernelCertificate("loss", 10, (_function("loss_grad", passed=False, max_ulp=9.0, nonfinite=1,
                                                           worst_value=float("inf")),
                                                 _function("loss_hess", passed=False, max_ulp=7.0)),
                                    passed=False, sampling=Sampling(7, 100, 256, (("z", "[0, 1]"), ("y", "{0, 1}"))))
    measured = over_budget({"loss": certificate}, {"broken": "ValueError: bad\n  # line"},
                           {"loss": ["z", "y"]})
    path = tmp_path / "known.txt"
    path.write_text(known_list(measured, {"loss": certificate, "broken": None}))
    text = path.read_text()
    assert text.startswith("# The kernel functions over their accuracy budget") and "(seed 7)" in text
    assert "loss.grad  max 9 ulp (budget 4 ulp), 1 inf/NaN; worst at z=1.5, y=0.0: truth 2.25, kernel inf\n" in text
    known = read_known(path)
    assert known == {o.name: o.stated for o in measured}
    assert known["broken.*"] == "not certified: ValueError: bad line"
    assert differences(measured, known, ["loss", "broken"]) == []
    moved = [OverBudget(o.name, o.figure, o.worst.replace("z=1.5", "z=2.5")) for o in measured]
    assert any("loss.grad: the known list says" in p and "z=2.5" in p for p in differences(moved, known, ["loss"]))


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
