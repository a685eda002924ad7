"""Safe parsers for a user's formulas: the entry points, and the split of a claim at its relation.

Nothing here evaluates a user's string as code.  Plain text is read by
:mod:`symloss.verify.plain_text` (Python's :mod:`ast`, a whitelist of node
types), LaTeX by :mod:`symloss.verify.latex_reader` (a tokenizer and
recursive-descent parser of its own).  Both build SymPy objects directly, under
the limits of :mod:`symloss.verify.limits` on the input's length and nesting and
on the size of the numbers it creates (``9**9**9**9`` is an error, not a hang).

Every name gets its SymPy assumptions from the :class:`~symloss.declare.notation.Scope`
passed in (the user's assumptions), resolved once for a whole claim (both sides)
by :class:`~symloss.verify.names.Names`, so the same name is always the same symbol.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise

import sympy as sp

from symloss.declare.catalog import Catalog
from symloss.declare.notation import Scope
from symloss.verify.latex_reader import read_latex
from symloss.verify.latex_tokens import tokenize
from symloss.verify.limits import MAX_DEPTH, MAX_LENGTH, ParseError
from symloss.verify.names import Names
from symloss.verify.plain_text import read_text


@dataclass(frozen=True)
class Formula:
    """A parsed formula: the expression, the variables it mentions with their
    domains, and equalities that hold on those domains (Σ_k y_k = 1)."""

    expr: sp.Expr
    scope: Scope
    given: tuple[sp.Eq, ...] = ()


@dataclass(frozen=True)
class Parsed:
    """Several formulas of one claim, parsed with one shared set of names."""

    exprs: tuple[sp.Expr, ...]
    scope: Scope
    given: tuple[sp.Eq, ...] = ()


def parse(text: str, scope: Scope | None = None, catalog: Catalog | None = None, *, latex: bool = False) -> Formula:
    """Parse one formula (plain text, or LaTeX when ``latex``).

    >>> parse("diff(sigmoid(z), z)").expr
    Derivative(sigmoid(z), z)
    >>> parse(r"\\frac{1}{1 + e^{-z}}", latex=True).expr
    1/(1 + exp(-z))
    """
    parsed = parse_many([text], scope, catalog, latex=latex)
    return Formula(parsed.exprs[0], parsed.scope, parsed.given)


def parse_many(
    texts: Sequence[str], scope: Scope | None = None, catalog: Catalog | None = None, *, latex: bool = False
) -> Parsed:
    """Parse the formulas of one claim (e.g. its two sides) so that a name
    means the same symbol in all of them; LaTeX definitions (``L = ...``) made
    in one formula are visible in the later ones."""
    for text in texts:
        _check_text(text, allow_unicode=latex)
    read: Callable[[str, Names], sp.Expr] = read_latex if latex else read_text
    trial = Names(scope or Scope(), catalog)
    for text in texts:
        _located(read, text, trial)
    names = trial.resolved()
    exprs = tuple(_located(read, text, names) for text in texts)
    return Parsed(exprs, names.final_scope(), names.given())


@dataclass(frozen=True)
class Statement:
    """A claim ``lhs relation rhs`` as written, split at its relation (not yet parsed)."""

    lhs: str
    relation: str  # "=" (equality), "<=", "<", ">=" or ">"
    rhs: str


_RELATION_SPELLINGS = {
    "=": "=", "==": "=", "<=": "<=", "<": "<", ">=": ">=", ">": ">",
    r"\le": "<=", r"\leq": "<=", r"\leqslant": "<=", r"\lt": "<",
    r"\ge": ">=", r"\geq": ">=", r"\geqslant": ">=", r"\gt": ">",
}  # fmt: skip
_RELATION_COMMANDS = frozenset(k for k in _RELATION_SPELLINGS if k.startswith("\\")) | {r"\ne", r"\neq"}
_RELATION_MARK = re.compile(r"[<>=!]+")
_OPENING, _CLOSING = "([{", ")]}"


def split_relation(text: str, *, latex: bool = False) -> Statement:
    r"""Split ``LHS REL RHS`` at its one relation outside brackets.

    REL is ``=`` or ``==`` (equality), ``<=``, ``<``, ``>=`` or ``>``; in
    LaTeX also ``\le``, ``\leq``, ``\ge``, ``\geq`` (and ``\lt``, ``\gt``),
    looked for in the last statement only (earlier ones may define names,
    ``L = ...;``).  A relation inside brackets (``\sum_{k=1}``) is left to
    the formula parser.  Raises :class:`ParseError` for no relation, a chain
    (``a < b < c``) or an unknown one (``!=``, ``=<``).

    >>> split_relation("-x <= -x + 1")
    Statement(lhs='-x', relation='<=', rhs='-x + 1')
    """
    marks = _relation_marks(text, latex=latex)
    if not marks:
        raise ParseError("no relation: write LHS = RHS, or LHS <= RHS (also <, >=, >)", len(text), text)
    for start, _end, mark in marks:
        if mark not in _RELATION_SPELLINGS:
            raise ParseError(f"unknown relation {mark!r}: use =, <=, <, >= or >", start, text)
    if len(marks) > 1:
        raise ParseError("more than one relation (a chain such as a < b < c): state one comparison", marks[1][0],
                         text)
    start, end, mark = marks[0]
    return Statement(text[:start].strip(), _RELATION_SPELLINGS[mark], text[end:].strip())


def relation_position(text: str, *, latex: bool = False) -> int | None:
    """Offset of the first relation outside brackets in ``text`` (None if it has none),
    e.g. to tell a user that one side of an equality is itself a comparison."""
    marks = _relation_marks(text, latex=latex)
    return marks[0][0] if marks else None


def _relation_marks(text: str, *, latex: bool) -> list[tuple[int, int, str]]:
    _check_text(text, allow_unicode=latex)
    try:
        return _latex_relation_marks(text) if latex else _text_relation_marks(text)
    except ParseError as error:
        raise error.located(text) from None


def _text_relation_marks(text: str) -> list[tuple[int, int, str]]:
    """(start, end, mark) of each run of ``<>=!`` characters outside brackets."""
    depth, marks = 0, []
    for position, char in enumerate(text):
        depth += (char in _OPENING) - (char in _CLOSING)
        if depth == 0 and char in "<>=!" and (position == 0 or text[position - 1] not in "<>=!"):
            mark = _RELATION_MARK.match(text, position)
            marks.append((position, mark.end(), mark.group()))
    return marks


def _latex_relation_marks(text: str) -> list[tuple[int, int, str]]:
    """(start, end, mark) of each run of relation tokens outside brackets in the
    last statement; a run's spellings are joined (``<`` then ``=`` is ``<=``)."""
    tokens = tokenize(text)
    depth, marks = 0, []
    for token, following in pairwise(tokens):
        is_symbol = token.kind == "symbol"
        depth += (is_symbol and token.text in _OPENING) - (is_symbol and token.text in _CLOSING)
        if depth:
            continue
        if token.kind == "linebreak" or (is_symbol and token.text == ";"):
            marks = []
        elif (is_symbol and token.text in "<>=") or (token.kind == "command" and token.text in _RELATION_COMMANDS):
            if marks and marks[-1][1] == token.position:  # the previous token was a relation too
                start, _, mark = marks.pop()
                marks.append((start, following.position, mark + token.text))
            else:
                marks.append((token.position, following.position, token.text))
    return marks


def _located(read: Callable[[str, Names], sp.Expr], text: str, names: Names) -> sp.Expr:
    names.text = text
    try:
        return read(text, names)
    except ParseError as error:
        raise (error if error.text else error.located(text)) from None


def _check_text(text: str, *, allow_unicode: bool) -> None:
    if not text.strip():
        raise ParseError("empty formula", 0, text)
    if len(text) > MAX_LENGTH:
        raise ParseError(f"the formula has {len(text):,} characters; the limit is {MAX_LENGTH:,}", MAX_LENGTH, text)
    for position, char in enumerate(text):
        if not allow_unicode and not char.isascii():
            raise ParseError(f"unexpected character {char!r} (plain text is ASCII)", position, text)
        if not char.isprintable() and char not in "\t\n\r":
            raise ParseError(f"unexpected control character {char!r}", position, text)
    depth = 0
    for position, char in enumerate(text):
        depth += char in "([{"
        depth -= char in ")]}"
        if depth > MAX_DEPTH:
            raise ParseError(f"brackets nested deeper than {MAX_DEPTH}", position, text)
