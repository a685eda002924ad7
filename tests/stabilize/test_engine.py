"""The rule engine: a rule is applied only when every claim behind it is proved, by structure only."""

from __future__ import annotations

from dataclasses import replace

import sympy as sp

from symloss.declare.functions import sigmoid
from symloss.declare.loss import identity
from symloss.prove.verdict import Verdict
from symloss.stabilize.engine import ProvedRule, Rule, pattern, stabilize
from symloss.stabilize.primitives import logcosh
from symloss.stabilize.rules import prove_rules

z, y, p = sp.symbols("z y p", real=True)


def test_a_rule_without_claims_is_never_proved(proved: tuple[ProvedRule, ...]) -> None:
    """No claim, no evidence: such a rule is not applied."""
    empty = ProvedRule(replace(proved[0].rule, claims=()), ())
    assert not empty.proved
    assert stabilize(sp.log(sigmoid(z)), (empty,)).expr == sp.log(sigmoid(z))


def test_rules_match_by_structure_not_by_algebra(proved: tuple[ProvedRule, ...]) -> None:
    # SymPy's match would read log(p) as log(1 + (p - 1)) and "stabilize" it into log1p(p - 1)
    assert stabilize(sp.log(p), proved).expr == sp.log(p)
    assert stabilize(sp.log(sp.cosh(z)), proved).expr == logcosh(z)


def test_sums_keep_their_other_terms(proved: tuple[ProvedRule, ...]) -> None:
    assert stabilize(1 + y - sigmoid(z), proved).expr == y + sigmoid(-z)


def test_an_unproved_rule_is_not_applied(proved: tuple[ProvedRule, ...]) -> None:
    doubted = tuple(
        replace(r, verdicts=(Verdict("unknown", "not tried", 0.0),))
        if r.rule.name in ("one_minus_sigmoid", "scaled_one_minus_sigmoid") else r
        for r in proved
    )
    assert stabilize(1 - sigmoid(z), doubted).expr == 1 - sigmoid(z)


def test_a_false_rule_is_refuted_and_never_applied() -> None:
    wrong = Rule("sigmoid_is_odd", (identity("sigma(-a) = -sigma(a)", sigmoid(-z), -sigmoid(z)),),
                 pattern(sigmoid(-z), -sigmoid(z), [z]))
    (checked,) = prove_rules((wrong,))
    assert not checked.proved and checked.verdicts[0].status == "refuted"
    assert stabilize(sigmoid(-y), (checked,)).expr == sigmoid(-y)


def test_a_rewrite_that_only_rebuilds_is_neither_kept_nor_named(proved: tuple[ProvedRule, ...]) -> None:
    """Rebuilding 2·(z − y) node by node lets SymPy distribute it; that is no rule's rewrite."""
    rebuilding = replace(proved[0], rule=replace(proved[0].rule, name="rebuilds",
                                                 rewrite=lambda e: e.func(*e.args) if e.args else e))
    factored = sp.Mul(2, z - y, evaluate=False)
    assert rebuilding.rule.rewrite(factored) != factored  # the rebuild does change the tree
    result = stabilize(factored, (rebuilding,))
    assert result.expr == factored and result.rules == ()
    assert stabilize(1 - sigmoid(z), proved).rules == ("one_minus_sigmoid",)  # a real rewrite is named
