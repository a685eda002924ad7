"""Stable forms: the branches over the label, each stabilized, a declared form kept as declared."""

from __future__ import annotations

import sympy as sp

from symloss.declare.notation import BINARY
from symloss.declare.notation import var as scalar_var
from symloss.emit.forms import stable_form
from symloss.stabilize.rules import proved_rules


def test_a_declared_form_keeps_its_grouping() -> None:
    """Factoring x (1 + w) + x y w into x (1 + 2 w) at y = 1 is shorter; a declared form is not refactored."""
    label = scalar_var("y", BINARY)
    x, w = sp.symbols("x w", real=True)
    expr = x * (1 + w) + x * label.symbol * w
    rules = proved_rules()
    assert [b.expr for b in stable_form(expr, label, rules, declared=True).branches] == [x * (1 + w),
                                                                                         x * (1 + w) + x * w]
    assert [b.expr for b in stable_form(expr, label, rules).branches] == [x * (w + 1), x * (2 * w + 1)]
