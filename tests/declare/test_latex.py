"""LaTeX of the report: escaping of declared text, long equations cut into lines, long results compacted."""

from __future__ import annotations

import sympy as sp

from symloss.declare.functions import sigmoid
from symloss.declare.latex import compact, math_lines, tex, tex_escape, visible_width


def _expand(short: sp.Expr, definitions: tuple[tuple[sp.Symbol, sp.Expr], ...]) -> sp.Expr:
    for symbol, value in reversed(definitions):
        short = short.xreplace({symbol: value})
    return short


def test_declared_text_is_escaped() -> None:
    assert tex_escape("a_b 50% R&D #1 $x {y} ~ ^ \\") == (
        r"a\_b 50\% R\&D \#1 \$x \{y\} \textasciitilde{} \textasciicircum{} \textbackslash{}"
    )


def test_long_sum_is_split_into_lines_that_fit() -> None:
    x = sp.symbols("x1:30", positive=True)
    lines = math_lines(sum(sp.log(1 + s**2) for s in x), {}, width=60)
    assert len(lines) > 1
    assert all(visible_width(line) <= 60 for line in lines)
    assert all(line.startswith(("+", "-")) for line in lines[1:])


def test_compact_names_repeated_parts_and_gives_back_the_same_expression() -> None:
    z, y, g = sp.symbols("z y gamma", real=True)
    p = y * sigmoid(z) + (1 - y) * (1 - sigmoid(z))
    expr = sp.diff((1 - p) ** g * sp.log(p), z, 2)
    short = compact(expr)
    assert short.definitions and short.operations == sp.count_ops(expr)
    assert sp.count_ops(short.expr) < short.operations / 3
    assert (short.definitions[0][1] == sigmoid(z)) and str(short.definitions[0][0]) == "_cse1"
    point = {z: sp.Rational(3, 7), y: 1, g: 2}
    assert abs(sp.N((_expand(short.expr, short.definitions) - expr).xreplace(point), 30)) < 1e-25


def test_compact_keeps_summation_indices_inside_their_sums() -> None:
    k, n = sp.symbols("k K", integer=True, positive=True)
    z = sp.IndexedBase("z")
    total = sp.Sum(sp.exp(z[k]), (k, 1, n))
    expr = sp.log(total) * total + sp.Sum(sp.exp(z[k]) * z[k], (k, 1, n)) / total
    short = compact(expr)
    for _, value in short.definitions:
        assert k not in value.free_symbols
    assert (_expand(short.expr, short.definitions) - expr).simplify() == 0


def test_compact_does_not_name_trivial_parts() -> None:
    x = sp.Symbol("x")
    short = compact(-(sp.exp(x) + 1) * sp.log(-(sp.exp(x) + 1) + 3) / (-(sp.exp(x) + 1)) ** 2)
    assert all(sp.count_ops(value) > 1 or isinstance(value, sp.Function) for _, value in short.definitions)


def test_sympy_latex_uses_declared_names() -> None:
    z = sp.Symbol("z")
    assert tex(sigmoid(z) ** 2, {z: r"\eta"}) == r"\sigma^{2}\left(\eta\right)"


def test_a_vector_named_with_a_superscript_is_braced_before_a_power() -> None:
    """An entry of log σ² squared: {\\log\\sigma^2_{k}}^{2}, not \\log\\sigma^2_{k}^{2} (a TeX error)."""
    logvar, k = sp.IndexedBase("logvar"), sp.Symbol("k")
    assert tex(logvar[k] ** 2, {logvar: r"\log\sigma^2"}) == r"{\log\sigma^2_{k}}^{2}"
    assert tex(logvar[k], {logvar: r"\mu"}) == r"\mu_{k}"
