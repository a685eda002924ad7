"""Tests for symloss.prove.results: proving a set of losses and judging the outcome."""

import sympy as sp

import symloss.declare.loss as decl
from symloss.declare import notation as n
from symloss.declare.functions import sigmoid
from symloss.prove.results import ClaimResult, prove_catalog, summary_exit_code
from symloss.prove.verdict import Verdict

z = n.var("z")
y = n.var("y", n.BINARY)


def toy(name: str, *claims: decl.Claim) -> decl.Loss:
    formula = -y.symbol * sp.log(sigmoid(z.symbol)) - (1 - y.symbol) * sp.log(1 - sigmoid(z.symbol))
    return decl.Loss(name, name, "binary", z, y, formula, decl.Definition(), claims=claims)


def test_every_claim_gets_a_verdict_in_declaration_order_with_one_progress_line_per_loss() -> None:
    true = decl.derivative("gradient", toy("a").formula, z.symbol, sigmoid(z.symbol) - y.symbol)
    false = decl.derivative("wrong gradient", toy("a").formula, z.symbol, y.symbol - sigmoid(z.symbol))
    designed_false = decl.identity("1 - sigma(z) = sigma(z)", 1 - sigmoid(z.symbol), sigmoid(z.symbol),
                                   expected="refuted")
    lines: list[str] = []
    results = prove_catalog([toy("a", true, false), toy("b", designed_false)], budget=10, progress=lines.append)
    assert [(r.loss, r.claim.statement, r.verdict.status) for r in results] == [
        ("a", "gradient", "proved"),
        ("a", "wrong gradient", "refuted"),
        ("b", "1 - sigma(z) = sigma(z)", "refuted"),
    ]
    assert [r.as_expected for r in results] == [True, False, True]
    assert lines == ["a: 1/2 claims as expected", "b: 1/1 claims as expected"]
    assert summary_exit_code(results) == 1
    record = results[1].to_json()
    assert set(record) == {"loss", "claim", "kind", "verdict", "expected", "method", "seconds", "counterexample"}
    assert record["expected"] == "proved" and record["counterexample"]


def _result(status: str, expected: str) -> ClaimResult:
    claim = decl.identity(f"{status}/{expected}", 0, 0, expected=expected)
    return ClaimResult("toy", claim, Verdict(status, "test", 0.0))


def test_exit_code_is_zero_when_all_as_expected_three_for_unknown_only_else_one() -> None:
    assert summary_exit_code([_result("proved", "proved"), _result("refuted", "refuted")]) == 0
    assert summary_exit_code([_result("proved", "proved"), _result("unknown", "proved")]) == 3
    assert summary_exit_code([_result("unknown", "proved"), _result("refuted", "proved")]) == 1
    assert summary_exit_code([_result("proved", "refuted")]) == 1
