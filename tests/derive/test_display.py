"""Tests for symloss.derive.display: the text of ``symloss show`` and the LaTeX of a derivation."""

import sympy as sp

from symloss import load_catalog
from symloss.declare.likelihood import ClassMax
from symloss.declare.notation import CLASS_COUNT, index, var, vector
from symloss.derive.chain import derive
from symloss.derive.display import derivation_latex, derivation_text, pretty


def test_max_and_min_are_printed_as_mathematics() -> None:
    x, y = sp.symbols("x y")
    assert pretty(sp.Max(0, x)) == "max(0, x)"
    assert pretty(sp.Min(x, y)) == "min(x, y)"
    assert "max(0, x)" in pretty(2 * y * sp.Max(0, x))
    squared = pretty(sp.Max(0, x) ** 2).splitlines()
    assert squared[-1].rstrip() == "max(0, x)" and squared[0].strip() == "2"  # the power after the brackets


def test_the_class_max_is_printed_with_its_bounds() -> None:
    k, big_k, z = index("k").symbol, var("K", CLASS_COUNT).symbol, vector("z").symbol
    lines = pretty(ClassMax(z[k] + 1, (k, 1, big_k))).splitlines()
    assert "ClassMax" not in "".join(lines)
    assert [line.strip() for line in lines] == ["K", "max (z[k] + 1)", "k = 1"]


def test_show_of_the_margin_losses_has_no_raw_max() -> None:
    catalog = load_catalog()
    for name in ("hinge", "squared_hinge", "multiclass_hinge"):
        derivation = derive(catalog.get(name), budget=10)
        text = derivation_text(derivation)
        assert "Max(" not in text and "ClassMax" not in text, name
        assert "max(" in text or "max (" in text, name
        assert r"\max" in derivation_text(derivation, latex=True) and r"\max" in derivation_latex(derivation)
