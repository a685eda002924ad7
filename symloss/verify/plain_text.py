"""The plain-text reader, and the printer that writes an expression back in plain text.

The text is read with Python's :mod:`ast` module (``^`` is read as ``**``) and
only a whitelist of node types is accepted: no calls but to the grammar's
functions, no attributes, no dunder names; nothing is evaluated as code.  The
grammar::

    numbers 2, 0.5, 1e-8 (exact rationals)   names x, y_hat, z1   pi, E
    + - * / ** ^ (power), parentheses        y[k] (entry of a class vector)
    exp log log1p expm1 sqrt abs sign tanh cosh sinh sigmoid softplus max min
    diff(f, z)  diff(f, z, 2)  diff(f, z, y)  sum(f, k, 1, K)
    every catalog loss by name: bce_with_logits(z, y)

:func:`to_text` is its inverse: reading its output gives back the same expression.
"""

from __future__ import annotations

import ast
import re
import warnings
from fractions import Fraction

import sympy as sp

from symloss.declare.functions import sigmoid, softplus
from symloss.declare.notation import Var
from symloss.verify.builders import (
    CONSTANTS,
    SPECIAL_FORMS,
    UNARY_FUNCTIONS,
    VARIADIC_FUNCTIONS,
    apply_function,
    bound_index,
    checked,
    checked_number,
    checked_power,
    checked_sum,
    derivative,
    negate,
)
from symloss.verify.limits import MAX_DECIMAL_EXPONENT, MAX_DEPTH, MAX_LITERAL_DIGITS, ParseError
from symloss.verify.names import AS_COUNT, AS_INDEX, AS_SCALAR, AS_VECTOR, NAME, Names

_DECIMAL = re.compile(r"(\d*\.?\d*)(?:[eE]([+-]?\d+))?")


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


def read_text(text: str, names: Names) -> sp.Expr:
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

    def __init__(self, source: str, origin: list[int], names: Names) -> None:
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
            if isinstance(node, ast.Name) and not NAME.fullmatch(node.id):
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
            return negate(operand) if isinstance(node.op, ast.USub) else operand
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
            return checked_number(sp.Rational(value.numerator, value.denominator), position)
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
        return self.names.use(node.id, AS_SCALAR, position)

    def binary(self, node: ast.BinOp, depth: int) -> sp.Expr:
        left = self.read(node.left, depth + 1)
        right = self.read(node.right, depth + 1)
        position = self.at(node.right) if isinstance(node.op, ast.Pow | ast.Div) else self.at(node)
        if isinstance(node.op, ast.Pow):
            return checked_power(left, right, position)
        if isinstance(node.op, ast.Div):
            return checked(left / right, position)
        result = {ast.Add: left + right, ast.Sub: left + negate(right)}.get(type(node.op))
        return checked(left * right if result is None else result, position)

    def entry(self, node: ast.Subscript) -> sp.Expr:
        assert isinstance(node.value, ast.Name)
        base = self.names.use(node.value.id, AS_VECTOR, self.at(node))
        return base[self.subscript(node.slice)]

    def subscript(self, node: ast.AST) -> sp.Expr:
        if isinstance(node, ast.Constant) and type(node.value) is int:
            return sp.Integer(node.value)
        if isinstance(node, ast.Name):
            for frame in reversed(self.bound):
                if node.id in frame:
                    return frame[node.id]
            return self.names.use(node.id, AS_INDEX, self.at(node))
        raise ParseError("an index must be a name or an integer, as in y[k] or y[1]", self.at(node))

    def call(self, node: ast.Call, depth: int) -> sp.Expr:
        assert isinstance(node.func, ast.Name)
        name, position = node.func.id, self.at(node)
        if name == "diff":
            return self.diff(node, depth)
        if name == "sum":
            return self.sum(node, depth)
        if name in UNARY_FUNCTIONS or name in VARIADIC_FUNCTIONS:
            return apply_function(name, [self.read(a, depth + 1) for a in node.args], position)
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
                return self.names.use(node.id, AS_VECTOR, self.at(node))
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
            return derivative(expr, [(self.read(rest[0], depth + 1), rest[1].value)], position)
        return derivative(expr, [(self.read(a, depth + 1), 1) for a in rest], position)

    def sum(self, node: ast.Call, depth: int) -> sp.Expr:
        position = self.at(node)
        if len(node.args) != 4 or not isinstance(node.args[1], ast.Name):
            raise ParseError("sum takes (expression, index, low, high), as in sum(y[k], k, 1, K)", position)
        name = node.args[1].id
        if name in CONSTANTS or _is_function(name, self.names):
            raise ParseError(f"{name!r} cannot be a summation index", self.at(node.args[1]))
        low, high = (self.bound_value(a, depth) for a in node.args[2:])
        k = bound_index(name)
        self.bound.append({name: k})
        try:
            body = self.read(node.args[0], depth + 1)
        finally:
            self.bound.pop()
        return checked_sum(body, k, low, high, position)

    def bound_value(self, node: ast.AST, depth: int) -> sp.Expr:
        if isinstance(node, ast.Name) and node.id not in CONSTANTS:
            return self.names.use(node.id, AS_COUNT, self.at(node))
        return self.read(node, depth + 1)


def _is_function(name: str, names: Names) -> bool:
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


# --------------------------------------------------------------------------- printing


def to_text(expr: sp.Basic) -> str:
    """The plain-text form of an expression of the grammar; parsing it gives
    back the same expression.

    >>> from symloss.verify.parse import parse
    >>> to_text(parse("diff(sigmoid(z), z) - y/2").expr)
    '(-1/2)*y + diff(sigmoid(z), z)'
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
