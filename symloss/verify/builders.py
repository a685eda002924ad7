"""The SymPy objects both readers build, each checked against the limits as it is made.

Numbers stay exact (rationals) and bounded; ``1/0`` and ``log(0)`` are errors;
derivatives stay unevaluated (the prover differentiates the elementary form); a
sum is ``Sum(body, (k, low, high))`` with integer bounds.  The function tables
say which elementary functions the grammar knows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sympy as sp

from symloss.declare.functions import sigmoid, softplus
from symloss.verify.limits import (
    MAX_ARGUMENTS,
    MAX_DIFF_ORDER,
    MAX_EXPONENT,
    MAX_NUMBER_BITS,
    MAX_ROOT_BITS,
    MAX_SUM_TERMS,
    ParseError,
)


def checked_number(value: sp.Rational, position: int) -> sp.Rational:
    bits = max(abs(value.p).bit_length(), value.q.bit_length())
    if bits > MAX_NUMBER_BITS:
        raise ParseError(f"number too large: {bits:,} bits; the limit is {MAX_NUMBER_BITS:,}", position)
    return value


def checked(result: sp.Expr, position: int) -> sp.Expr:
    """Reject undefined results (1/0, log(0)) and overlarge numbers."""
    if result.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        raise ParseError("undefined value (division by zero or log of 0)", position)
    if isinstance(result, sp.Rational):
        checked_number(result, position)
    return result


def checked_power(base: sp.Expr, exponent: sp.Expr, position: int) -> sp.Expr:
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
    return checked(sp.Pow(base, exponent), position)


def negate(x: sp.Expr) -> sp.Expr:
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


def apply_function(name: str, arguments: Sequence[sp.Expr], position: int) -> sp.Expr:
    """One of the elementary functions, applied; a ``max`` or ``min`` takes at most
    :data:`MAX_ARGUMENTS` arguments, counting those of a nested one of its kind (SymPy
    flattens ``max(max(a, b), c)`` to ``max(a, b, c)`` and compares all pairs)."""
    if name in UNARY_FUNCTIONS:
        if len(arguments) != 1:
            raise ParseError(f"{name} takes one argument, got {len(arguments)}", position)
        return checked(UNARY_FUNCTIONS[name](arguments[0]), position)
    if len(arguments) < 2:
        raise ParseError(f"{name} takes at least two arguments", position)
    function = VARIADIC_FUNCTIONS[name]
    count = sum(len(a.args) if isinstance(a, function) else 1 for a in arguments)
    if count > MAX_ARGUMENTS:
        raise ParseError(f"the {name} has {count:,} arguments; the limit is {MAX_ARGUMENTS:,}", position)
    try:
        result = function(*arguments)
    except (ValueError, TypeError) as error:  # SymPy: "The argument 'softplus(2)' is not comparable"
        raise ParseError(f"{name} of arguments SymPy cannot compare: {error}", position) from None
    return checked(result, position)


def derivative(expr: sp.Expr, variables: Sequence[tuple[sp.Basic, int]], position: int) -> sp.Expr:
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


def checked_sum(body: sp.Expr, k: sp.Symbol, low: sp.Expr, high: sp.Expr, position: int) -> sp.Expr:
    for bound in (low, high):
        if bound.free_symbols and not all(s.is_integer for s in bound.free_symbols):
            raise ParseError("sum bounds must be integers or class counts", position)
        if not bound.free_symbols and not bound.is_integer:
            raise ParseError("sum bounds must be integers", position)
    result = checked(sp.Sum(body, (k, low, high)), position)
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


def bound_index(name: str) -> sp.Symbol:
    """The symbol of a summation index (bound: integer, nothing more)."""
    return sp.Symbol(name, integer=True)
