"""Safe parsers for a user's formulas: plain text and a LaTeX subset.

Nothing here evaluates a user's string as code.  Plain text is read with
Python's :mod:`ast` module and only a whitelist of node types is accepted
(no calls but to the functions listed below, no attributes, no dunder
names); LaTeX has a tokenizer and recursive-descent parser of its own.
Both build SymPy objects directly, under limits on the input's length and
nesting and on the size of the numbers it creates (``9**9**9**9`` is an
error, not a hang).

Plain text::

    numbers 2, 0.5, 1e-8 (exact rationals)   names x, y_hat, z1   pi, E
    + - * / ** ^ (power), parentheses        y[k] (entry of a class vector)
    exp log log1p expm1 sqrt abs sign tanh cosh sinh sigmoid softplus max min
    diff(f, z)  diff(f, z, 2)  diff(f, z, y)  sum(f, k, 1, K)
    every catalog loss by name: bce_with_logits(z, y)

LaTeX: ``\\frac``, ``^``, ``_``, ``\\log``, ``\\ln``, ``\\exp``, ``e^{...}``,
``\\sigma(z)`` (the sigmoid), ``\\tanh``, ``\\cosh``, ``\\sinh``, ``\\max``,
``\\min``, ``|x|``, ``\\sqrt``, ``\\hat{y}`` (the symbol ``y_hat``), Greek
letters, ``\\cdot``, ``\\left( ... \\right)``, ``\\sum_{k=1}^{K}`` with
``y_k``, ``\\frac{\\partial}{\\partial z}``, ``\\frac{\\partial L}{\\partial z}``
with ``L = ...`` defined earlier in the input (statements are separated by
``;`` or ``\\\\``), implicit multiplication (``2z``, ``y \\log p``).

Every name gets its SymPy assumptions from the :class:`~symloss.declare.notation.Scope`
passed in (the user's assumptions); an undeclared name passed bare to a
catalog loss takes that argument's domain, an undeclared name is otherwise
real, a subscript is a class index in 1..K and a sum's upper bound a class
count.  Each name is resolved once for a whole claim (both sides), so the
same name is always the same symbol.
"""

from __future__ import annotations

import ast
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import pairwise

import sympy as sp

from symloss.declare.catalog import Catalog
from symloss.declare.functions import sigmoid, softplus
from symloss.declare.notation import CLASS_COUNT, REAL, REAL_VECTOR, Domain, Scope, Var, index, var, vector

MAX_LENGTH = 2000  # characters in one formula
MAX_DEPTH = 50  # nesting of operations
MAX_EXPONENT = 1000  # largest |integer| exponent, numerator or denominator
MAX_NUMBER_BITS = 4000  # largest numerator or denominator a formula may create (~1200 digits)
MAX_LITERAL_DIGITS = 60  # digits in one number literal
MAX_DECIMAL_EXPONENT = 300  # largest |e| in a literal like 1e-8
MAX_ROOT_BITS = 100  # largest base of a fractional power of a number
MAX_DIFF_ORDER = 6  # highest derivative order
MAX_SUM_TERMS = 1000  # longest sum with numeric bounds

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_DECIMAL = re.compile(r"(\d*\.?\d*)(?:[eE]([+-]?\d+))?")


class ParseError(ValueError):
    """A formula that cannot be read; ``position`` is the 0-based offset of the
    offending text in ``text``."""

    def __init__(self, message: str, position: int = 0, text: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.position = max(0, position)
        self.text = text

    @property
    def column(self) -> int:
        """1-based column of the offending text."""
        return self.position + 1

    def located(self, text: str) -> ParseError:
        """The same error, attached to the text it points into."""
        return ParseError(self.message, self.position, text)

    def __str__(self) -> str:
        if not self.text:
            return f"{self.message} (column {self.column})"
        return f"{self.message} (column {self.column})\n  {self.text}\n  {' ' * self.position}^"


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
    read: Callable[[str, _Names], sp.Expr] = _read_latex if latex else _read_text
    trial = _Names(scope or Scope(), catalog)
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
    tokens = _tokenize(text)
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


def _located(read: Callable[[str, _Names], sp.Expr], text: str, names: _Names) -> sp.Expr:
    names.text = text
    try:
        return read(text, names)
    except ParseError as error:
        raise (error if error.text else error.located(text)) from None


def _check_text(text: str, *, allow_unicode: bool) -> None:
    if not text.strip():
        raise ParseError("empty formula", 0, text)
    if len(text) > MAX_LENGTH:
        raise ParseError(f"formula longer than {MAX_LENGTH} characters", MAX_LENGTH, text)
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


# --------------------------------------------------------------------------- names


_SCALAR, _VECTOR, _INDEX, _COUNT = "scalar", "vector", "index", "count"


class _Names:
    """The symbols of one claim.

    Parsing runs twice over every formula of the claim.  The first pass
    records how each name is used (scalar, vector, index, count; loss slot
    domains); :meth:`resolved` then fixes one :class:`Var` per name, and the
    second pass builds the expressions with those symbols.
    """

    def __init__(self, scope: Scope, catalog: Catalog | None) -> None:
        self.declared = {v.name: v for v in scope.variables}
        self.catalog = catalog
        self.text = ""  # the formula being read, for error locations
        self.uses: dict[str, dict[str, tuple[int, str]]] = {}  # name -> role -> (first position, text)
        self.slot_domains: dict[str, Domain] = {}
        self.subscripts: list[tuple[str, str, int, str]] = []  # LaTeX x_s: an index if x turns out a vector
        self.vars: dict[str, Var] | None = None
        self.used: dict[str, Var] = {}
        self.extra: dict[str, Var] = {}  # loss variables left free (unset params, class count)
        self.givens: list[sp.Eq] = []
        self.definitions: dict[str, sp.Expr] = {}

    # -- the two passes
    def resolved(self) -> _Names:
        """A fresh second-pass namespace with every name's Var fixed."""
        final = _Names(Scope(tuple(self.declared.values())), self.catalog)
        for base, sub, position, text in self.subscripts:
            if _VECTOR in self.uses.get(base, {}) and not sub.isdigit():
                self.uses.setdefault(sub, {}).setdefault(_INDEX, (position, text))
        final.slot_domains = self.slot_domains
        final.uses = self.uses
        final.vars = {name: self._var(name, roles) for name, roles in self.uses.items()}
        return final

    def _var(self, name: str, roles: dict[str, tuple[int, str]]) -> Var:
        def error(message: str, role: str) -> ParseError:
            position, text = roles[role]
            return ParseError(message, position, text)

        declared = self.declared.get(name)
        domain = declared.domain if declared is not None else self.slot_domains.get(name)
        if _VECTOR in roles:
            other = sorted(set(roles) - {_VECTOR})
            if other:
                raise error(f"{name!r} is used both as a vector and as a {other[0]}", other[0])
            if domain is None or domain == REAL:
                domain = REAL_VECTOR
            if domain.vector is None:
                raise error(f"{name!r} is indexed, but its assumption ({domain.name}) is for a scalar", _VECTOR)
            return vector(name, domain)
        if domain is not None and domain.vector is not None and domain.vector != "index":
            raise error(f"{name!r} is a vector ({domain.name}); use its entries, e.g. {name}[k]", min(roles))
        if _INDEX in roles:
            if _SCALAR in roles or _COUNT in roles:
                raise error(f"{name!r} is used both as a class index and as a number", _INDEX)
            return index(name) if domain is None else var(name, domain)
        if _COUNT in roles:
            return var(name, domain or CLASS_COUNT)
        return declared if declared is not None else var(name, domain or REAL)

    def use(self, name: str, role: str, position: int) -> sp.Basic:
        """The symbol (or IndexedBase) of ``name`` used in ``role``."""
        if self.vars is None:
            self.uses.setdefault(name, {}).setdefault(role, (position, self.text))
            try:
                return self._var(name, {role: (position, self.text)}).symbol
            except ParseError:
                return sp.IndexedBase(name) if role == _VECTOR else sp.Symbol(name)
        found = self.vars.get(name) or self._var(name, {role: (position, self.text)})
        if found.is_vector != (role == _VECTOR):
            kind = "vector" if found.is_vector else "scalar"
            raise ParseError(f"{name!r} is a {kind} here and used otherwise elsewhere", position)
        self.used[name] = found
        return found.symbol

    def slot(self, name: str, domain: Domain) -> None:
        """Record that a bare name was passed to a loss argument of this domain."""
        self.slot_domains.setdefault(name, domain)

    def subscript(self, base: str, sub: str, position: int) -> None:
        self.subscripts.append((base, sub, position, self.text))

    def is_vector(self, name: str) -> bool:
        return _VECTOR in self.uses.get(name, {})

    # -- catalog losses
    def loss_slots(self, name: str) -> tuple[Var, ...] | None:
        if self.catalog is None or name not in self.catalog.names:
            return None
        loss = self.catalog.get(name)
        return (loss.output, loss.target, *loss.inputs, *loss.params)

    def apply_loss(self, name: str, arguments: Sequence[sp.Basic], position: int) -> sp.Expr:
        """``name(arguments)``: the catalog loss's formula in the user's symbols."""
        assert self.catalog is not None
        loss = self.catalog.get(name)
        try:
            expr = loss.apply(list(arguments))
        except ValueError as error:
            raise ParseError(str(error), position) from None
        slots = (loss.output, loss.target, *loss.inputs, *loss.params)
        mapping = {slot.symbol: arg for slot, arg in zip(slots, arguments, strict=False)}
        for v in loss.variables:
            if v.symbol not in mapping and v.symbol in expr.free_symbols | _bases(expr):
                self.extra.setdefault(v.name, v)
        for equality in loss.given:
            self.givens.append(equality.xreplace(mapping))
        return expr

    # -- results
    def final_scope(self) -> Scope:
        scope = Scope(tuple(self.used.values()))
        for name, v in self.extra.items():
            known = self.used.get(name)
            if known is not None and known.symbol != v.symbol:
                raise ParseError(f"{name!r} names both your variable and a parameter of a loss; pass it explicitly")
            scope = scope + Scope((v,))
        return scope

    def given(self) -> tuple[sp.Eq, ...]:
        return tuple(dict.fromkeys(g for g in self.givens if g is not sp.true))


def _bases(expr: sp.Expr) -> set[sp.Basic]:
    return {i.base for i in expr.atoms(sp.Indexed)}


# --------------------------------------------------------------------------- shared builders


def _number(value: sp.Rational, position: int) -> sp.Rational:
    if max(abs(value.p).bit_length(), value.q.bit_length()) > MAX_NUMBER_BITS:
        raise ParseError("number too large", position)
    return value


def _checked(result: sp.Expr, position: int) -> sp.Expr:
    """Reject undefined results (1/0, log(0)) and overlarge numbers."""
    if result.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        raise ParseError("undefined value (division by zero or log of 0)", position)
    if isinstance(result, sp.Rational):
        _number(result, position)
    return result


def _power(base: sp.Expr, exponent: sp.Expr, position: int) -> sp.Expr:
    """``base**exponent`` with bounded exponents and results."""
    if isinstance(exponent, sp.Rational):
        if abs(exponent.p) > MAX_EXPONENT or exponent.q > MAX_EXPONENT:
            raise ParseError(f"exponent larger than {MAX_EXPONENT}", position)
        if isinstance(base, sp.Rational):
            bits = max(abs(base.p).bit_length(), base.q.bit_length())
            if exponent.q != 1 and bits > MAX_ROOT_BITS:
                raise ParseError("root of a number too large", position)
            if bits * abs(exponent.p) > MAX_NUMBER_BITS:
                raise ParseError("power too large", position)
    return _checked(sp.Pow(base, exponent), position)


def _negate(x: sp.Expr) -> sp.Expr:
    """``-x`` in SymPy's canonical form (``Mul`` flattens; ``Expr.__neg__`` does
    not, nor does the distribution of -1 over a sum, so its terms are rebuilt)."""
    result = sp.Mul(sp.S.NegativeOne, x)
    if isinstance(result, sp.Add):
        return sp.Add(*(sp.Mul(*term.args) if isinstance(term, sp.Mul) else term for term in result.args))
    return result


def _log1p(x: sp.Expr) -> sp.Expr:
    return sp.log(1 + x)


def _expm1(x: sp.Expr) -> sp.Expr:
    return sp.exp(x) - 1


UNARY_FUNCTIONS: dict[str, Callable[[sp.Expr], sp.Expr]] = {
    "exp": sp.exp,
    "log": sp.log,
    "log1p": _log1p,
    "expm1": _expm1,
    "sqrt": sp.sqrt,
    "abs": sp.Abs,
    "sign": sp.sign,
    "tanh": sp.tanh,
    "cosh": sp.cosh,
    "sinh": sp.sinh,
    "sigmoid": sigmoid,
    "softplus": softplus,
}
VARIADIC_FUNCTIONS: dict[str, Callable[..., sp.Expr]] = {"max": sp.Max, "min": sp.Min}
SPECIAL_FORMS = ("diff", "sum")
CONSTANTS: dict[str, sp.Expr] = {"pi": sp.pi, "E": sp.E}


def _call(name: str, arguments: Sequence[sp.Expr], position: int) -> sp.Expr:
    """One of the elementary functions, applied."""
    if name in UNARY_FUNCTIONS:
        if len(arguments) != 1:
            raise ParseError(f"{name} takes one argument, got {len(arguments)}", position)
        return _checked(UNARY_FUNCTIONS[name](arguments[0]), position)
    if len(arguments) < 2:
        raise ParseError(f"{name} takes at least two arguments", position)
    try:
        result = VARIADIC_FUNCTIONS[name](*arguments)
    except (ValueError, TypeError) as error:  # SymPy: "The argument 'softplus(2)' is not comparable"
        raise ParseError(f"{name} of arguments SymPy cannot compare: {error}", position) from None
    return _checked(result, position)


def _derivative(expr: sp.Expr, variables: Sequence[tuple[sp.Basic, int]], position: int) -> sp.Expr:
    """The unevaluated derivative; the prover differentiates the elementary form."""
    for variable, order in variables:
        if not isinstance(variable, sp.Symbol | sp.Indexed):
            raise ParseError("differentiate with respect to a variable or a vector entry", position)
        if order < 1:
            raise ParseError("a derivative order must be at least 1", position)
    if sum(order for _, order in variables) > MAX_DIFF_ORDER:
        raise ParseError(f"derivative order must be at most {MAX_DIFF_ORDER}", position)
    result = sp.Derivative(expr, *variables, evaluate=False)
    if isinstance(result, sp.Derivative) and sum(n for _, n in result.variable_count) > MAX_DIFF_ORDER:
        raise ParseError(f"derivative order must be at most {MAX_DIFF_ORDER}", position)
    return result


def _sum(body: sp.Expr, k: sp.Symbol, low: sp.Expr, high: sp.Expr, position: int) -> sp.Expr:
    for bound in (low, high):
        if bound.free_symbols and not all(s.is_integer for s in bound.free_symbols):
            raise ParseError("sum bounds must be integers or class counts", position)
        if not bound.free_symbols and not bound.is_integer:
            raise ParseError("sum bounds must be integers", position)
    result = _checked(sp.Sum(body, (k, low, high)), position)
    if _terms(result) > MAX_SUM_TERMS:
        raise ParseError(f"sum of more than {MAX_SUM_TERMS} terms", position)
    return result


def _terms(expr: sp.Basic) -> int:
    """How many terms the numeric sums of ``expr`` expand to (nested sums multiply)."""
    if isinstance(expr, sp.Sum):
        inner = _terms(expr.function)
        for _, low, high in expr.limits:
            difference = high - low
            inner *= 1 if difference.free_symbols else max(int(difference) + 1, 1)
        return inner
    return max((_terms(a) for a in expr.args), default=1)


def _bound(name: str) -> sp.Symbol:
    """The symbol of a summation index (bound: integer, nothing more)."""
    return sp.Symbol(name, integer=True)


# --------------------------------------------------------------------------- plain text


_ALLOWED_NODES = (
    ast.Expression,
    ast.BinOp,
    ast.UnaryOp,
    ast.Constant,
    ast.Name,
    ast.Call,
    ast.Subscript,
    ast.Load,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.Pow,
    ast.USub,
    ast.UAdd,
)


def _read_text(text: str, names: _Names) -> sp.Expr:
    """Parse plain text: ``ast`` in eval mode, whitelisted nodes only."""
    source, origin = _translate(text)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "invalid decimal literal" and the like: still a SyntaxError below
            tree = ast.parse(source, mode="eval")
    except SyntaxError as error:
        column = (error.offset or len(source) + 1) - 1 if (error.lineno or 1) == 1 else 0
        raise ParseError(f"syntax error: {error.msg}", origin[min(max(column, 0), len(origin) - 1)]) from None
    except (RecursionError, MemoryError, ValueError):
        raise ParseError("formula too deeply nested", 0) from None
    reader = _TextReader(source, origin, names)
    reader.check(tree)
    return reader.read(tree.body, depth=0)


def _translate(text: str) -> tuple[str, list[int]]:
    """``^`` → ``**``, newlines → spaces; ``origin[i]`` is the offset in ``text``
    of character ``i`` of the result (plus one past the end)."""
    out: list[str] = []
    origin: list[int] = []
    for position, char in enumerate(text):
        piece = "**" if char == "^" else (" " if char in "\t\n\r" else char)
        out.append(piece)
        origin.extend([position] * len(piece))
    origin.append(len(text))
    return "".join(out), origin


class _TextReader:
    """Builds SymPy objects from a whitelisted ``ast`` tree."""

    def __init__(self, source: str, origin: list[int], names: _Names) -> None:
        self.source = source
        self.origin = origin
        self.names = names
        self.bound: list[dict[str, sp.Symbol]] = []

    def at(self, node: ast.AST) -> int:
        return self.origin[min(getattr(node, "col_offset", 0), len(self.origin) - 1)]

    def check(self, tree: ast.AST) -> None:
        """Reject every node type outside the grammar before building anything."""
        stack: list[tuple[ast.AST, int]] = [(tree, 0)]
        while stack:
            node, parent = stack.pop()
            position = self.at(node) if hasattr(node, "col_offset") else parent
            if not isinstance(node, _ALLOWED_NODES):
                raise ParseError(f"unsupported syntax: {_describe(node)}", position)
            if isinstance(node, ast.Call) and (node.keywords or not isinstance(node.func, ast.Name)):
                raise ParseError("only plain function calls f(a, b) are allowed", position)
            if isinstance(node, ast.Subscript) and not isinstance(node.value, ast.Name):
                raise ParseError("only a name can be indexed, as in y[k]", position)
            if isinstance(node, ast.Name) and not _NAME.fullmatch(node.id):
                raise ParseError(f"invalid name {node.id!r}", position)
            stack.extend((child, position) for child in ast.iter_child_nodes(node))

    def read(self, node: ast.AST, depth: int) -> sp.Expr:
        if depth > MAX_DEPTH:
            raise ParseError(f"formula nested deeper than {MAX_DEPTH}", self.at(node))
        position = self.at(node)
        if isinstance(node, ast.Constant):
            return self.constant(node)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.UnaryOp):
            operand = self.read(node.operand, depth + 1)
            return _negate(operand) if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.BinOp):
            return self.binary(node, depth)
        if isinstance(node, ast.Subscript):
            return self.entry(node)
        if isinstance(node, ast.Call):
            return self.call(node, depth)
        raise ParseError(f"unsupported syntax: {_describe(node)}", position)

    def constant(self, node: ast.Constant) -> sp.Expr:
        position = self.at(node)
        literal = self.source[node.col_offset : node.end_col_offset or node.col_offset]
        if type(node.value) is int:
            if len(literal) > MAX_LITERAL_DIGITS:
                raise ParseError(f"number with more than {MAX_LITERAL_DIGITS} digits", position)
            return sp.Integer(node.value)
        if type(node.value) is float:
            match = _DECIMAL.fullmatch(literal.replace("_", ""))
            if match is None or len(match.group(1)) > MAX_LITERAL_DIGITS:
                raise ParseError(f"unsupported number {literal!r}", position)
            if match.group(2) is not None and abs(int(match.group(2))) > MAX_DECIMAL_EXPONENT:
                raise ParseError(f"decimal exponent beyond ±{MAX_DECIMAL_EXPONENT}", position)
            value = Fraction(literal.replace("_", ""))
            return _number(sp.Rational(value.numerator, value.denominator), position)
        raise ParseError(f"unsupported constant {literal!r}", position)

    def name(self, node: ast.Name) -> sp.Expr:
        position = self.at(node)
        for frame in reversed(self.bound):
            if node.id in frame:
                return frame[node.id]
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        if _is_function(node.id, self.names):
            raise ParseError(f"{node.id!r} is a function; call it as {node.id}(...)", position)
        return self.names.use(node.id, _SCALAR, position)

    def binary(self, node: ast.BinOp, depth: int) -> sp.Expr:
        left = self.read(node.left, depth + 1)
        right = self.read(node.right, depth + 1)
        position = self.at(node.right) if isinstance(node.op, ast.Pow | ast.Div) else self.at(node)
        if isinstance(node.op, ast.Pow):
            return _power(left, right, position)
        if isinstance(node.op, ast.Div):
            return _checked(left / right, position)
        result = {ast.Add: left + right, ast.Sub: left + _negate(right)}.get(type(node.op))
        return _checked(left * right if result is None else result, position)

    def entry(self, node: ast.Subscript) -> sp.Expr:
        assert isinstance(node.value, ast.Name)
        base = self.names.use(node.value.id, _VECTOR, self.at(node))
        return base[self.subscript(node.slice)]

    def subscript(self, node: ast.AST) -> sp.Expr:
        if isinstance(node, ast.Constant) and type(node.value) is int:
            return sp.Integer(node.value)
        if isinstance(node, ast.Name):
            for frame in reversed(self.bound):
                if node.id in frame:
                    return frame[node.id]
            return self.names.use(node.id, _INDEX, self.at(node))
        raise ParseError("an index must be a name or an integer, as in y[k] or y[1]", self.at(node))

    def call(self, node: ast.Call, depth: int) -> sp.Expr:
        assert isinstance(node.func, ast.Name)
        name, position = node.func.id, self.at(node)
        if name == "diff":
            return self.diff(node, depth)
        if name == "sum":
            return self.sum(node, depth)
        if name in UNARY_FUNCTIONS or name in VARIADIC_FUNCTIONS:
            return _call(name, [self.read(a, depth + 1) for a in node.args], position)
        slots = self.names.loss_slots(name)
        if slots is None:
            raise ParseError(f"unknown function {name!r}", position)
        arguments = [self.loss_argument(a, slot, depth) for a, slot in zip(node.args, slots, strict=False)]
        if len(node.args) > len(slots):
            raise ParseError(f"{name} takes at most {len(slots)} arguments, got {len(node.args)}", position)
        return self.names.apply_loss(name, arguments, position)

    def loss_argument(self, node: ast.AST, slot: Var, depth: int) -> sp.Basic:
        if isinstance(node, ast.Name) and not any(node.id in frame for frame in self.bound):
            self.names.slot(node.id, slot.domain)
            if slot.is_vector:
                return self.names.use(node.id, _VECTOR, self.at(node))
        elif slot.is_vector:
            raise ParseError(f"pass a vector name for the argument {slot.name}", self.at(node))
        return self.read(node, depth + 1)

    def diff(self, node: ast.Call, depth: int) -> sp.Expr:
        position = self.at(node)
        if len(node.args) < 2:
            raise ParseError("diff needs an expression and a variable: diff(f, z)", position)
        expr = self.read(node.args[0], depth + 1)
        rest = node.args[1:]
        if len(rest) == 2 and isinstance(rest[1], ast.Constant) and type(rest[1].value) is int:
            return _derivative(expr, [(self.read(rest[0], depth + 1), rest[1].value)], position)
        return _derivative(expr, [(self.read(a, depth + 1), 1) for a in rest], position)

    def sum(self, node: ast.Call, depth: int) -> sp.Expr:
        position = self.at(node)
        if len(node.args) != 4 or not isinstance(node.args[1], ast.Name):
            raise ParseError("sum takes (expression, index, low, high), as in sum(y[k], k, 1, K)", position)
        name = node.args[1].id
        if name in CONSTANTS or _is_function(name, self.names):
            raise ParseError(f"{name!r} cannot be a summation index", self.at(node.args[1]))
        low, high = (self.bound_value(a, depth) for a in node.args[2:])
        k = _bound(name)
        self.bound.append({name: k})
        try:
            body = self.read(node.args[0], depth + 1)
        finally:
            self.bound.pop()
        return _sum(body, k, low, high, position)

    def bound_value(self, node: ast.AST, depth: int) -> sp.Expr:
        if isinstance(node, ast.Name) and node.id not in CONSTANTS:
            return self.names.use(node.id, _COUNT, self.at(node))
        return self.read(node, depth + 1)


def _is_function(name: str, names: _Names) -> bool:
    return (
        name in UNARY_FUNCTIONS
        or name in VARIADIC_FUNCTIONS
        or name in SPECIAL_FORMS
        or names.loss_slots(name) is not None
    )


def _describe(node: ast.AST) -> str:
    kinds = {
        ast.Attribute: "attribute access",
        ast.Lambda: "lambda",
        ast.ListComp: "comprehension",
        ast.GeneratorExp: "comprehension",
        ast.SetComp: "comprehension",
        ast.DictComp: "comprehension",
        ast.Compare: "comparison",
        ast.BoolOp: "boolean operator",
        ast.IfExp: "conditional expression",
        ast.Starred: "starred argument",
    }
    return kinds.get(type(node), type(node).__name__)


# --------------------------------------------------------------------------- LaTeX

_LATEX_TOKEN = re.compile(
    r"""
    (?P<space>\s+|\\[,;:!\ ]|\\q?quad\b|~|\\(?:left|right|big|Big|bigg|Bigg)[lr]?(?![A-Za-z])\.?
       |\\displaystyle\b|\\limits\b)
   |(?P<word>\\(?:operatorname|mathrm|text|textrm|textit|mathit)\s*\{\s*(?:[A-Za-z0-9]|\\?_)+\s*\})
   |(?P<brace>\\[{}])
   |(?P<linebreak>\\\\)
   |(?P<command>\\[A-Za-z]+)
   |(?P<number>\d+(?:\.\d+)?|\.\d+)
   |(?P<letter>[A-Za-z])
   |(?P<symbol>[-+*/^_=(){}\[\]|,;<>'])
    """,
    re.VERBOSE,
)

GREEK = frozenset(
    (
        "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda", "mu",
        "nu", "xi", "omicron", "rho", "sigma", "tau", "upsilon", "phi", "chi", "psi", "omega",
        "Gamma", "Delta", "Theta", "Lambda", "Xi", "Sigma", "Phi", "Psi", "Omega",
    )
)
_GREEK_ALIASES = {"varepsilon": "epsilon", "vartheta": "theta", "varphi": "phi", "varrho": "rho"}
_LATEX_FUNCTIONS = {
    "log": "log",
    "ln": "log",
    "exp": "exp",
    "tanh": "tanh",
    "cosh": "cosh",
    "sinh": "sinh",
    "max": "max",
    "min": "min",
}
_ACCENTS = {"hat": "_hat", "widehat": "_hat", "tilde": "_tilde", "widetilde": "_tilde", "bar": "_bar"}
_FONTS = ("mathbf", "boldsymbol", "vec", "mathcal", "mathbb", "bm")
_TIMES = ("*", r"\cdot", r"\times")
_FRACTIONS = (r"\frac", r"\dfrac", r"\tfrac")


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    position: int


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        match = _LATEX_TOKEN.match(text, position)
        if match is None:
            raise ParseError(f"unexpected character {text[position]!r}", position)
        kind = match.lastgroup or ""
        value = match.group()
        if kind == "brace":
            kind, value = "symbol", "(" if value == r"\{" else ")"
        elif kind == "word":
            value = re.sub(r"\s|\\", "", value[value.index("{") + 1 : -1])
        if kind != "space":
            tokens.append(_Token(kind, value, position))
        position = match.end()
    tokens.append(_Token("end", "", len(text)))
    return tokens


def _read_latex(text: str, names: _Names) -> sp.Expr:
    """Parse LaTeX: statements ``NAME = expr`` separated by ``;`` or ``\\\\``;
    the value is the last statement's expression."""
    return _LatexReader(_tokenize(text), names).statements()


class _LatexReader:
    """Recursive descent over LaTeX tokens."""

    def __init__(self, tokens: list[_Token], names: _Names) -> None:
        self.tokens = tokens
        self.index = 0
        self.names = names
        self.bound: list[dict[str, sp.Symbol]] = []
        self.in_bars = 0
        self.depth = 0

    # -- token helpers
    @property
    def token(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def accept(self, *texts: str) -> bool:
        if self.token.kind in ("symbol", "command", "linebreak") and self.token.text in texts:
            self.index += 1
            return True
        return False

    def expect(self, text: str) -> None:
        if not self.accept(text):
            found = self.token.text or "the end"
            raise ParseError(f"expected {text!r}, found {found!r}", self.token.position)

    def nested(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ParseError(f"formula nested deeper than {MAX_DEPTH}", self.token.position)

    # -- statements
    def statements(self) -> sp.Expr:
        value = self.statement()
        while self.accept(";", "\\\\"):
            if self.token.kind == "end":
                break
            value = self.statement()
        if self.token.kind != "end":
            raise ParseError(f"unexpected {self.token.text!r}", self.token.position)
        return value

    def statement(self) -> sp.Expr:
        start = self.index
        try:
            name = self.defined_name()
        except ParseError:
            name = None
        if name is not None and self.accept("="):
            value = self.expression()
            self.names.definitions[name] = value
            return value
        self.index = start
        return self.expression()

    def defined_name(self) -> str | None:
        """A name that can be defined or passed bare: y, \\hat{y}, \\gamma, \\text{lr}."""
        token = self.token
        if token.kind == "letter" and token.text != "e":
            self.advance()
            return token.text
        if token.kind == "command" and (token.text[1:] in _ACCENTS or token.text[1:] in _FONTS):
            return self.decorated_name()
        if token.kind == "command" and (token.text[1:] in GREEK or token.text[1:] in _GREEK_ALIASES):
            self.advance()
            return _GREEK_ALIASES.get(token.text[1:], token.text[1:])
        if token.kind == "word":
            self.advance()
            return token.text
        return None

    def bare_name(self) -> str | None:
        """A lone name argument (followed by ',' or ')'), else None with nothing consumed."""
        start = self.index
        try:
            name = self.defined_name()
        except ParseError:
            name = None
        if name is not None and self.token.text in (",", ")", "]") and name not in self.names.definitions:
            return name
        self.index = start
        return None

    # -- expressions
    def expression(self) -> sp.Expr:
        self.nested()
        value = self.term()
        while self.token.text in ("+", "-") and self.token.kind == "symbol":
            sign = self.advance()
            right = self.term()
            value = _checked(value + (right if sign.text == "+" else _negate(right)), sign.position)
        self.depth -= 1
        return value

    def term(self) -> sp.Expr:
        value = self.unary()
        while True:
            token = self.token
            if self.accept(*_TIMES):
                value = _checked(value * self.unary(), token.position)
            elif self.accept("/"):
                value = _checked(value / self.unary(), token.position)
            elif self.starts_factor():
                value = _checked(value * self.power(), token.position)
            else:
                return value

    def unary(self) -> sp.Expr:
        self.nested()
        if self.accept("-"):
            value = _negate(self.unary())
        elif self.accept("+"):
            value = self.unary()
        else:
            value = self.power()
        self.depth -= 1
        return value

    def starts_factor(self) -> bool:
        token = self.token
        if token.kind in ("number", "letter", "word"):
            return True
        if token.kind == "command":
            return token.text not in _TIMES
        if token.kind == "symbol":
            return token.text in "([{" or (token.text == "|" and not self.in_bars)
        return False

    def power(self) -> sp.Expr:
        token = self.token
        if token.kind == "letter" and token.text == "e" and self.tokens[self.index + 1].text == "^":
            self.index += 2
            return _checked(sp.exp(self.exponent()), token.position)
        base = self.atom()
        if self.accept("^"):
            return _power(base, self.exponent(), token.position)
        return base

    def exponent(self) -> sp.Expr:
        self.nested()
        if self.accept("{"):
            value = self.expression()
            self.expect("}")
        elif self.accept("-"):
            value = _negate(self.single())
        else:
            value = self.single()
        self.depth -= 1
        return value

    def single(self) -> sp.Expr:
        """One token as an exponent or subscript-free argument: x^2, e^z."""
        token = self.token
        if token.kind in ("number", "letter") or token.text[1:] in GREEK or token.text[1:] in _GREEK_ALIASES:
            return self.atom(subscripts=False)
        raise ParseError("expected an exponent: a number, a letter or {...}", token.position)

    def atom(self, subscripts: bool = True) -> sp.Expr:
        self.nested()
        value = self._atom(subscripts)
        self.depth -= 1
        return value

    def _atom(self, subscripts: bool) -> sp.Expr:
        token = self.token
        if token.kind == "number":
            self.advance()
            if len(token.text) > MAX_LITERAL_DIGITS:
                raise ParseError(f"number with more than {MAX_LITERAL_DIGITS} digits", token.position)
            value = Fraction(token.text)
            return sp.Rational(value.numerator, value.denominator)
        if token.kind == "letter":
            self.advance()
            if token.text == "e":
                return sp.E
            return self.named(token.text, token.position, subscripts)
        if token.kind == "word":
            self.advance()
            return self.word(token)
        if token.kind == "symbol":
            return self.group()
        if token.kind == "command":
            return self.command()
        raise ParseError(f"unexpected {token.text or 'end of formula'!r}", token.position)

    def group(self) -> sp.Expr:
        token = self.advance()
        closing = {"(": ")", "[": "]", "{": "}"}.get(token.text)
        if closing is not None:
            value = self.expression()
            self.expect(closing)
            return value
        if token.text == "|":
            self.in_bars += 1
            value = self.expression()
            self.in_bars -= 1
            self.expect("|")
            return _checked(sp.Abs(value), token.position)
        raise ParseError(f"unexpected {token.text!r}", token.position)

    def command(self) -> sp.Expr:
        token = self.token
        name = token.text[1:]
        if token.text in _FRACTIONS:
            self.advance()
            return self.fraction(token.position)
        if name == "sqrt":
            self.advance()
            return self.root(token.position)
        if name == "sum":
            self.advance()
            return self.summation(token.position)
        if name in _LATEX_FUNCTIONS:
            self.advance()
            return self.function(_LATEX_FUNCTIONS[name], token.position)
        if name == "sigma" and self.tokens[self.index + 1].text in ("(", "["):
            self.advance()
            return self.function("sigmoid", token.position)
        if name == "pi":
            self.advance()
            return sp.pi
        if name in _ACCENTS or name in _FONTS:
            position = token.position
            return self.named(self.decorated_name(), position, True)
        if name in GREEK or name in _GREEK_ALIASES:
            self.advance()
            return self.named(_GREEK_ALIASES.get(name, name), token.position, True)
        raise ParseError(f"unsupported command {token.text}", token.position)

    def decorated_name(self) -> str:
        """``\\hat{y}`` → ``y_hat``; ``\\mathbf{y}`` → ``y``; ``\\mathcal{L}`` → ``L``."""
        token = self.advance()
        braced = self.accept("{")
        inner = self.token
        if inner.kind == "letter":
            base = inner.text
        elif inner.kind == "command" and (inner.text[1:] in GREEK or inner.text[1:] in _GREEK_ALIASES):
            base = _GREEK_ALIASES.get(inner.text[1:], inner.text[1:])
        else:
            raise ParseError(f"{token.text} needs a letter", inner.position)
        self.advance()
        if braced:
            self.expect("}")
        return base + _ACCENTS.get(token.text[1:], "")

    def named(self, base: str, position: int, subscripts: bool) -> sp.Expr:
        """A name, with its subscript: ``y_k`` (an entry of y if y is a vector,
        else the symbol y_k) or ``y_{true}`` (the symbol y_true)."""
        sub = self.subscript_text() if subscripts and self.accept("_") else None
        if sub is None:
            return self.plain(base, position)
        bound = next((frame[sub] for frame in reversed(self.bound) if sub in frame), None)
        if bound is not None or ((sub.isdigit() or len(sub) == 1) and self.names.is_vector(base)):
            entry = bound if bound is not None else self.index_value(sub, position)
            return self.names.use(base, _VECTOR, position)[entry]
        if len(sub) == 1 or sub.isdigit():
            self.names.subscript(base, sub, position)
        return self.plain(f"{base}_{sub}", position)

    def index_value(self, sub: str, position: int) -> sp.Expr:
        return sp.Integer(int(sub)) if sub.isdigit() else self.names.use(sub, _INDEX, position)

    def subscript_text(self) -> str:
        token = self.token
        if token.kind in ("letter", "number", "word"):
            self.advance()
            return token.text
        if token.kind == "command" and token.text[1:] in GREEK:
            self.advance()
            return token.text[1:]
        self.expect("{")
        parts: list[str] = []
        while self.token.kind in ("letter", "number", "word") or self.token.text[1:] in GREEK:
            parts.append(self.advance().text.lstrip("\\"))
        self.expect("}")
        if not parts:
            raise ParseError("empty subscript", token.position)
        return "".join(parts)

    def plain(self, name: str, position: int) -> sp.Expr:
        for frame in reversed(self.bound):
            if name in frame:
                return frame[name]
        if name in self.names.definitions:
            return self.names.definitions[name]
        if not _NAME.fullmatch(name):
            raise ParseError(f"invalid name {name!r}", position)
        return self.names.use(name, _SCALAR, position)

    def word(self, token: _Token) -> sp.Expr:
        """``\\operatorname{softplus}(z)``, ``\\text{bce\\_with\\_logits}(z, y)`` or a
        multi-letter symbol ``\\mathrm{lr}``."""
        name = token.text
        if name in UNARY_FUNCTIONS or name in VARIADIC_FUNCTIONS:
            return self.function(name, token.position)
        slots = self.names.loss_slots(name)
        if slots is not None:
            return self.loss(name, slots, token.position)
        return self.plain(name, token.position)

    def arguments(self) -> list[tuple[sp.Expr, _Token]]:
        """``(a, b, ...)``: each argument with its first token."""
        closing = {"(": ")", "[": "]"}.get(self.token.text)
        if self.token.kind != "symbol" or closing is None:
            raise ParseError("expected '(' and the arguments", self.token.position)
        self.advance()
        values = []
        while True:
            first = self.token
            values.append((self.expression(), first))
            if not self.accept(","):
                break
        self.expect(closing)
        return values

    def function(self, name: str, position: int) -> sp.Expr:
        if self.token.kind == "symbol" and self.token.text in ("(", "["):
            arguments = [value for value, _ in self.arguments()]
        elif name in VARIADIC_FUNCTIONS:
            raise ParseError(f"{name} needs its arguments in parentheses", self.token.position)
        else:
            arguments = [self.power()]
        return _call(name, arguments, position)

    def loss(self, name: str, slots: tuple[Var, ...], position: int) -> sp.Expr:
        closing = {"(": ")", "[": "]"}.get(self.token.text)
        if self.token.kind != "symbol" or closing is None:
            raise ParseError("expected '(' and the arguments", self.token.position)
        self.advance()
        values: list[sp.Basic] = []
        while True:
            first = self.token
            slot = slots[min(len(values), len(slots) - 1)]
            bare = self.bare_name()
            if bare is not None:
                self.names.slot(bare, slot.domain)
                values.append(self.names.use(bare, _VECTOR if slot.is_vector else _SCALAR, first.position))
            elif slot.is_vector:
                raise ParseError(f"pass a vector name for the argument {slot.name}", first.position)
            else:
                values.append(self.expression())
            if not self.accept(","):
                break
        self.expect(closing)
        if len(values) > len(slots):
            raise ParseError(f"{name} takes at most {len(slots)} arguments, got {len(values)}", position)
        return self.names.apply_loss(name, values, position)

    def fraction(self, position: int) -> sp.Expr:
        if self.token.text == "{" and self.tokens[self.index + 1].text == r"\partial":
            return self.partial(position)
        if self.total_derivative_ahead():
            return self.partial(position, total=True)
        numerator = self.braced()
        denominator = self.braced()
        return _checked(numerator / denominator, position)

    def is_d(self, offset: int = 0) -> bool:
        """Whether the token at ``offset`` is the differential d (``d`` or ``\\mathrm{d}``)."""
        token = self.tokens[min(self.index + offset, len(self.tokens) - 1)]
        return token.kind in ("letter", "word") and token.text == "d"

    def accept_d(self) -> bool:
        if self.is_d():
            self.index += 1
            return True
        return False

    def total_derivative_ahead(self) -> bool:
        r"""``\frac{d}{dz}``, ``\frac{d^2}{dz^2}``, ``\frac{dL}{dz}``: a numerator of
        d, an optional order and an optional name; a denominator starting with d
        and a variable.  Anything else is an ordinary fraction."""
        start = self.index
        try:
            if not (self.accept("{") and self.accept_d()):
                return False
            if self.token.text == "^":
                self.partial_order()
            if not self.accept("}") and (self.defined_name() is None or not self.accept("}")):
                return False
            return self.accept("{") and self.accept_d() and self.token.kind in ("letter", "command", "word")
        except ParseError:
            return False
        finally:
            self.index = start

    def braced(self) -> sp.Expr:
        if self.accept("{"):
            value = self.expression()
            self.expect("}")
            return value
        return self.single()

    def partial(self, position: int, total: bool = False) -> sp.Expr:
        r"""``\frac{\partial^n L}{\partial z^n}`` or ``\frac{\partial}{\partial z} f``;
        with ``total``, the same with d for ∂ (``\frac{d}{dz} f``)."""

        def differential() -> bool:
            return self.accept_d() if total else self.accept(r"\partial")

        self.expect("{")
        if not differential():
            raise ParseError("expected ∂ or d", self.token.position)
        order = self.partial_order()
        target: sp.Expr | None = None
        if not self.accept("}"):
            name_token = self.token
            name = self.defined_name()
            if name is None or name not in self.names.definitions:
                raise ParseError("∂ of an undefined name: define it first, as in 'L = ...; ...'", name_token.position)
            target = self.names.definitions[name]
            self.expect("}")
        self.expect("{")
        variables: list[tuple[sp.Basic, int]] = []
        while differential():
            variable = self.atom()
            variables.append((variable, self.partial_order()))
        self.expect("}")
        if not variables:
            raise ParseError("expected ∂ and a variable in the denominator", position)
        if sum(n for _, n in variables) != order:
            raise ParseError("the orders of ∂ above and below differ", position)
        body = target if target is not None else self.term()
        return _derivative(body, variables, position)

    def partial_order(self) -> int:
        if not self.accept("^"):
            return 1
        token = self.token
        braced = self.accept("{")
        number = self.advance()
        if number.kind != "number" or not number.text.isdigit():
            raise ParseError("a derivative order must be a whole number", number.position)
        if braced:
            self.expect("}")
        if int(number.text) > MAX_DIFF_ORDER:
            raise ParseError(f"derivative order must be at most {MAX_DIFF_ORDER}", token.position)
        return int(number.text)

    def root(self, position: int) -> sp.Expr:
        degree: sp.Expr = sp.Integer(2)
        if self.accept("["):
            degree = self.expression()
            self.expect("]")
        if degree == 0:
            raise ParseError("a root of degree 0", position)
        return _power(self.braced(), 1 / degree, position)

    def summation(self, position: int) -> sp.Expr:
        r"""``\sum_{k=1}^{K} body`` (``\sum_k body`` sums k over 1..K)."""
        low: sp.Expr = sp.Integer(1)
        high: sp.Expr | None = None
        self.expect("_")
        braced = self.accept("{")
        name_token = self.advance()
        if name_token.kind != "letter":
            raise ParseError("expected the summation index, as in \\sum_{k=1}^{K}", name_token.position)
        if braced:
            if self.accept("="):
                low = self.expression()
            self.expect("}")
        if self.accept("^"):
            high = self.sum_bound()
        if high is None:
            high = self.names.use("K", _COUNT, position)
        k = _bound(name_token.text)
        self.bound.append({name_token.text: k})
        try:
            body = self.term()
        finally:
            self.bound.pop()
        return _sum(body, k, low, high, position)

    def sum_bound(self) -> sp.Expr:
        braced = self.accept("{")
        token = self.token
        if token.kind == "letter" and (not braced or self.tokens[self.index + 1].text == "}"):
            self.advance()
            value = self.names.use(token.text, _COUNT, token.position)
        else:
            value = self.expression() if braced else self.single()
        if braced:
            self.expect("}")
        return value


# --------------------------------------------------------------------------- printing


def to_text(expr: sp.Basic) -> str:
    """The plain-text form of an expression of the grammar; parsing it gives
    back the same expression.

    >>> to_text(parse("diff(sigmoid(z), z) - y/2").expr)
    'diff(sigmoid(z), z) + (-1/2)*y'
    """
    return _Printer().show(expr)


class _Printer:
    _FUNCTIONS: tuple[tuple[type, str], ...] = (
        (sp.exp, "exp"),
        (sp.log, "log"),
        (sp.Abs, "abs"),
        (sp.sign, "sign"),
        (sp.tanh, "tanh"),
        (sp.cosh, "cosh"),
        (sp.sinh, "sinh"),
        (sigmoid, "sigmoid"),
        (softplus, "softplus"),
        (sp.Max, "max"),
        (sp.Min, "min"),
    )

    def show(self, expr: sp.Basic) -> str:
        if isinstance(expr, sp.Integer):
            return str(expr.p) if expr.p >= 0 else f"({expr.p})"
        if isinstance(expr, sp.Rational):
            return f"({expr.p}/{expr.q})"
        if expr is sp.pi:
            return "pi"
        if expr is sp.E:
            return "E"
        if expr is sp.I:
            return "(-1)**(1/2)"
        if isinstance(expr, sp.Symbol):
            return expr.name
        if isinstance(expr, sp.Indexed):
            return f"{expr.base.label}[{', '.join(self.show(i) for i in expr.indices)}]"
        if isinstance(expr, sp.Add):
            return " + ".join(self.show(a) for a in expr.args)
        if isinstance(expr, sp.Mul):
            return "*".join(f"({self.show(a)})" if isinstance(a, sp.Add) else self.show(a) for a in expr.args)
        if isinstance(expr, sp.Pow):
            return f"{self.operand(expr.base)}**{self.operand(expr.exp)}"
        if isinstance(expr, sp.Derivative):
            variables = [self.show(v) for v, n in expr.variable_count for _ in range(n)]
            return f"diff({', '.join([self.show(expr.expr), *variables])})"
        if isinstance(expr, sp.Sum):  # Sum(f, (j, ...), (k, ...)): j inner, k outer
            text = self.show(expr.function)
            for k, low, high in expr.limits:
                text = f"sum({text}, {k.name}, {self.show(low)}, {self.show(high)})"
            return text
        for kind, name in self._FUNCTIONS:
            if isinstance(expr, kind):
                return f"{name}({', '.join(self.show(a) for a in expr.args)})"
        raise ValueError(f"no plain-text form for {type(expr).__name__}: {expr}")

    def operand(self, expr: sp.Basic) -> str:
        text = self.show(expr)
        return f"({text})" if isinstance(expr, sp.Add | sp.Mul | sp.Pow) else text
