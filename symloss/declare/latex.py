r"""SymPy to LaTeX for the report: escaping of declared text, and long equations split over lines.

Text that comes from a declaration (a title, a claim, a source) is plain
text and is escaped; LaTeX that SymPy produces is trusted and passed as is.
A long expression is cut at its own structure, never inside a ``\left(…\right)``
pair: between the terms of a sum, between the factors of a product, and
inside the brackets of a long factor (``\Bigl(…\Bigr)``, which may span
lines).  Widths are estimated in characters of typeset output.

>>> x, y = sp.symbols("x y")
>>> math_lines(x + y, {}, width=80)
('x + y',)
>>> tex_escape("pos_weight & 50% #1")
'pos\\_weight \\& 50\\% \\#1'
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE, precedence

from symloss.declare.functions import NAMED_FUNCTIONS, sigmoid

# Plain-text characters with a meaning in LaTeX, and the non-ASCII symbols declarations use.
TEXT_ESCAPES: Mapping[str, str] = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
    "−": "-",
    "—": "---",
    "–": "--",
    "·": r"\textperiodcentered{}",
    "“": "``",
    "”": "''",
    "’": "'",
    '"': r"\textquotedbl{}",
    "…": r"\dots{}",
    "σ": r"\(\sigma\)",
    "Σ": r"\(\Sigma\)",
    "α": r"\(\alpha\)",
    "β": r"\(\beta\)",
    "γ": r"\(\gamma\)",
    "δ": r"\(\delta\)",
    "ε": r"\(\varepsilon\)",
    "η": r"\(\eta\)",
    "θ": r"\(\theta\)",
    "λ": r"\(\lambda\)",
    "μ": r"\(\mu\)",
    "τ": r"\(\tau\)",
    "∑": r"\(\sum\)",
    "∂": r"\(\partial\)",
    "∞": r"\(\infty\)",
    "≥": r"\(\geq\)",
    "≤": r"\(\leq\)",
    "≠": r"\(\neq\)",
    "≈": r"\(\approx\)",
    "→": r"\(\to\)",
    "∈": r"\(\in\)",
    "×": r"\(\times\)",
    "±": r"\(\pm\)",
    "√": r"\(\surd\)",
    "ŷ": r"\(\hat y\)",
}

# LaTeX commands that typeset nothing (or only brackets) when estimating widths.
SILENT_COMMANDS = frozenset({"left", "right", "Bigl", "Bigr", "bigl", "bigr", "operatorname", "mathrm",
                             "mathbf", "text", "limits", "displaystyle", "mathit", "hat", "bar", "tilde"})
SPACE_COMMANDS = {"quad": 2, "qquad": 4, ",": 0, ";": 0, "!": 0, " ": 1}


def tex_escape(text: str) -> str:
    """Plain text made safe for LaTeX: special characters escaped, known symbols typeset, "quotes" curled.

    >>> tex_escape('the "Loss Functions" sheet')
    "the ``Loss Functions'' sheet"
    """
    curled = re.sub(r'"([^"]*)"', "\u201c\\1\u201d", str(text))
    return "".join(TEXT_ESCAPES.get(char, char) for char in curled)


class _Printer(LatexPrinter):
    """SymPy's LaTeX printer with the loss's typeset names, also for class vectors."""

    def __init__(self, names: Mapping[sp.Basic, str]) -> None:
        scalars = {s: n for s, n in names.items() if isinstance(s, sp.Symbol)}
        super().__init__({"symbol_names": scalars, "mul_symbol": None})
        self._vectors = {s: n for s, n in names.items() if isinstance(s, sp.IndexedBase)}

    def _print(self, expr: object, **kwargs: object) -> str:
        if isinstance(expr, NAMED_FUNCTIONS):  # their own _latex takes no exponent
            return self._print_named(expr, **kwargs)
        return super()._print(expr, **kwargs)

    def _print_named(self, expr: sp.Function, exp: str | None = None) -> str:
        name = r"\sigma" if isinstance(expr, sigmoid) else r"\operatorname{softplus}"
        power = f"^{{{exp}}}" if exp is not None else ""
        return rf"{name}{power}\left({self._print(expr.args[0])}\right)"

    def _print_IndexedBase(self, expr: sp.IndexedBase) -> str:  # noqa: N802 - SymPy's dispatch name
        return self._vectors.get(expr, self._print(expr.label))

    def _print_Indexed(self, expr: sp.Indexed) -> str:  # noqa: N802
        r""":math:`x_{k}`; braced where the name has a superscript of its own (:math:`{\log\sigma^2_{k}}^{2}`,
        not a double superscript)."""
        indices = ",".join(self._print(i) for i in expr.indices)
        name = self._print(expr.base)
        return f"{{{name}_{{{indices}}}}}" if "^" in name else f"{name}_{{{indices}}}"


def tex(expr: sp.Basic, names: Mapping[sp.Basic, str] | None = None) -> str:
    """One-line LaTeX of ``expr`` with the loss's typeset variable names."""
    return _Printer(names or {}).doprint(expr)


@dataclass(frozen=True)
class _Token:
    """A piece of an equation between two places where a line may break."""

    text: str
    continuation: str = ""  # written before the token when it starts a new line (e.g. \times)


def math_lines(expr: sp.Basic, names: Mapping[sp.Basic, str] | None, width: int) -> tuple[str, ...]:
    """LaTeX of ``expr`` cut into lines of at most ``width`` typeset characters (where the structure allows)."""
    printer = _Printer(names or {})
    tokens = _tokens(sp.sympify(expr), printer, width)
    lines: list[str] = []
    current = ""
    for token in tokens:
        if current and visible_width(current + " " + token.text) > width:
            lines.append(current)
            current = (token.continuation + " " + token.text).strip()
        else:
            current = (current + " " + token.text).strip()
    lines.append(current)
    return tuple(lines)


def _tokens(expr: sp.Basic, printer: _Printer, width: int) -> list[_Token]:
    text = printer.doprint(expr)
    if visible_width(text) <= width:
        return [_Token(text)]
    if isinstance(expr, sp.Add):
        return _sum_tokens(expr, printer, width)
    if isinstance(expr, sp.Mul):
        return _product_tokens(expr, printer, width)
    if isinstance(expr, sp.Pow) and isinstance(expr.base, sp.Add | sp.Mul) and not expr.exp.is_negative:
        return _bracketed("", _tokens(expr.base, printer, width), rf"\Bigr)^{{{printer.doprint(expr.exp)}}}")
    if isinstance(expr, sp.log):
        return _bracketed(r"\log", _tokens(expr.args[0], printer, width), r"\Bigr)")
    if isinstance(expr, sp.Sum) and len(expr.limits) == 1:
        k, low, high = expr.limits[0]
        head = rf"\sum_{{{printer.doprint(k)}={printer.doprint(low)}}}^{{{printer.doprint(high)}}}"
        return _bracketed(head, _tokens(expr.function, printer, width), r"\Bigr)")
    return [_Token(text)]


def _bracketed(head: str, inner: list[_Token], close: str) -> list[_Token]:
    """``head\\Bigl( inner \\Bigr)``, breakable inside the brackets."""
    if not inner:
        return [_Token(head + r"\Bigl(" + close)]
    first, *rest = inner
    tokens = [_Token(head + r"\Bigl(" + first.text, first.continuation), *rest]
    last = tokens[-1]
    tokens[-1] = _Token(last.text + close, last.continuation)
    return tokens


def _sum_tokens(expr: sp.Add, printer: _Printer, width: int) -> list[_Token]:
    tokens: list[_Token] = []
    for position, term in enumerate(printer._as_ordered_terms(expr)):
        negative = term.could_extract_minus_sign()
        pieces = _tokens(-term if negative else term, printer, width)
        sign = "-" if negative else ("+" if position else "")
        first = pieces[0]
        pieces[0] = _Token(f"{sign} {first.text}".strip(), first.continuation)
        tokens.extend(pieces)
    return tokens


def _product_tokens(expr: sp.Mul, printer: _Printer, width: int) -> list[_Token]:
    coefficient, factors = expr.as_coeff_mul()
    sign = ""
    if coefficient.is_negative:
        sign, coefficient = "-", -coefficient
    numerator = [f for f in factors if not (isinstance(f, sp.Pow) and f.exp.is_negative)]
    denominator = [1 / f for f in factors if isinstance(f, sp.Pow) and f.exp.is_negative]
    if coefficient != 1:
        numerator.insert(0, coefficient)
    tokens: list[_Token] = []
    if denominator:
        tokens.append(_Token(rf"\frac{{1}}{{{printer.doprint(sp.Mul(*denominator))}}}"))
    for factor in numerator:
        if _needs_brackets(factor):
            pieces = _tokens(factor, printer, width)
            if len(pieces) == 1:
                pieces = [_Token(rf"\left({pieces[0].text}\right)")]
            else:
                pieces = _bracketed("", pieces, r"\Bigr)")
        else:
            pieces = _tokens(factor, printer, width)
        if tokens:
            pieces[0] = _Token(pieces[0].text, r"\times")
        tokens.extend(pieces)
    if sign:
        tokens[0] = _Token(f"- {tokens[0].text}", tokens[0].continuation)
    return tokens


def _needs_brackets(factor: sp.Basic) -> bool:
    return precedence(factor) < PRECEDENCE["Mul"]


def visible_width(latex: str) -> float:
    r"""Estimated typeset width of ``latex`` in characters (a fraction is as wide as its wider part).

    >>> visible_width(r"\frac{a + b}{c}")
    4.0
    """
    width = 0.0
    position = 0
    while position < len(latex):
        char = latex[position]
        if latex.startswith(r"\frac", position) or latex.startswith(r"\dfrac", position):
            position = latex.index("{", position)
            numerator, position = _group(latex, position)
            denominator, position = _group(latex, position)
            width += max(visible_width(numerator), visible_width(denominator))
            continue
        if char == "\\":
            end = position + 1
            while end < len(latex) and latex[end].isalpha():
                end += 1
            name = latex[position + 1:end] or latex[end:end + 1]
            position = max(end, position + 2) if not latex[position + 1:end] else end
            if name in SILENT_COMMANDS:
                continue
            width += SPACE_COMMANDS.get(name, len(name) if name in ("log", "exp", "max", "min", "sum") else 1)
            continue
        if char in "^_":
            group, position = _group(latex, position + 1)
            width += 0.7 * visible_width(group)
            continue
        if char in "+-=<>":
            width += 2  # a binary operator with its spacing
        elif char not in "{} ":
            width += 1
        position += 1
    return width


def _group(latex: str, position: int) -> tuple[str, int]:
    """The braced group (or single character) at ``position`` and the position after it."""
    if latex[position] != "{":
        if latex[position] == "\\":
            end = position + 1
            while end < len(latex) and latex[end].isalpha():
                end += 1
            return latex[position:end], end
        return latex[position], position + 1
    depth = 0
    for end in range(position, len(latex)):
        depth += {"{": 1, "}": -1}.get(latex[end], 0)
        if depth == 0:
            return latex[position + 1:end], end + 1
    raise ValueError(f"unbalanced braces in {latex!r}")


@dataclass(frozen=True)
class Compact:
    """An expression written with named common subexpressions (SymPy's ``cse``), not simplified.

    ``expr`` uses the symbols of ``definitions``; substituting each definition back, last to first,
    gives an expression equal to the original.  ``operations`` counts the operations of the original.
    """

    expr: sp.Expr
    definitions: tuple[tuple[sp.Symbol, sp.Expr], ...]
    operations: int


def compact(expr: sp.Expr, prefix: str = "_cse") -> Compact:
    r"""``expr`` with its repeated subexpressions named ``{prefix}1, {prefix}2, …`` in order of use.

    Subexpressions that use a summation index are left inside their sum, and a name whose definition
    is a bare symbol, a number or a single operation on names (``-u_3``, ``\gamma + 1``) is written
    out again: such names cost the reader more than they save.

    >>> x = sp.Symbol("x")
    >>> c = compact(sp.exp(x) * sp.log(sp.exp(x) + 1) / (sp.exp(x) + 1))
    >>> [(str(s), str(v)) for s, v in c.definitions], c.expr
    ([('_cse1', 'exp(x)')], _cse1*log(_cse1 + 1)/(_cse1 + 1))
    """
    bound = tuple(sorted({v for s in expr.atoms(sp.Sum) for v in s.variables}, key=str))
    replacements, (reduced,) = sp.cse(expr, symbols=sp.numbered_symbols("_tmp"), ignore=bound)
    kept: list[tuple[sp.Symbol, sp.Expr]] = []
    inline: dict[sp.Symbol, sp.Expr] = {}
    for symbol, value in replacements:
        value = value.xreplace(inline)
        if _worth_naming(value, {s for s, _ in kept}):
            kept.append((symbol, value))
        else:
            inline[symbol] = value
    renamed = {symbol: sp.Symbol(f"{prefix}{number}") for number, (symbol, _) in enumerate(kept, start=1)}
    definitions = tuple((renamed[s], v.xreplace(renamed)) for s, v in kept)
    return Compact(reduced.xreplace(inline).xreplace(renamed), definitions, int(sp.count_ops(expr)))


def _worth_naming(value: sp.Expr, names: set[sp.Symbol]) -> bool:
    """Whether a subexpression deserves a name: a function call, or more than one operation on names."""
    if value.is_Atom:
        return False
    if isinstance(value, sp.Function | sp.Sum):
        return True
    operations = sp.count_ops(value.xreplace({n: sp.Symbol("t") for n in names}))
    return operations > 1 or any(isinstance(a, sp.Function | sp.Sum) for a in value.args)


def decimal_text(value: float, digits: int) -> str:
    """``value`` with ``digits`` significant digits, in plain decimal or e-notation pgfplots reads.

    >>> decimal_text(1234.5678, 4), decimal_text(-0.000012345, 3), decimal_text(0.0, 4)
    ('1235', '-1.23e-5', '0')
    """
    if value == 0:
        return "0"
    rounded = Decimal(format(value, f".{digits}g")).normalize()
    exponent = rounded.adjusted()
    if -4 <= exponent < digits:
        return format(rounded, "f")
    mantissa, power = format(rounded, "e").split("e")
    return f"{mantissa}e{int(power)}"


def scientific(value: float, digits: int = 2) -> str:
    r"""A number for a table cell in math mode: ``2.3\times10^{-16}``, or plain when moderate.

    >>> scientific(2.34e-16), scientific(3.0), scientific(0.0), scientific(float("inf"))
    ('2.3\\times10^{-16}', '3', '0', '\\infty')
    """
    if value == 0:
        return "0"
    if math.isinf(value):
        return r"\infty" if value > 0 else r"-\infty"
    if math.isnan(value):
        return r"\text{NaN}"
    text = decimal_text(value, digits)
    if "e" not in text:
        return text
    mantissa, power = text.split("e")
    return rf"{mantissa}\times10^{{{power}}}"
