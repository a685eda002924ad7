r"""An independent truth for the kernel tests: a loss's declared expressions evaluated in plain mpmath.

This is deliberately *not* the certifier's reference (:mod:`symloss.certify.reference`, interval
arithmetic and proved stable forms): it walks the SymPy tree of ``loss.formula``,
``derivation.gradient`` or ``derivation.hessian`` itself, in ordinary mpmath floats at a fixed
precision, with class sums and class maxima as loops over :math:`k = 1 … K`.

Trust.  A value computed at 50 digits is trusted only when a 100-digit evaluation agrees with it to
:math:`2^{-60}` relative (:data:`AGREEMENT`); otherwise 400 digits are tried against 100, 800 against
400, then the digits that hold the inputs' sums exactly and resolve :math:`e^{\pm x}` against 1 (for
inputs up to about :math:`10^4`) against 200 more.  Values below :math:`2^{-1100}` (under every float64)
agree with each other, but since a value that cancels to 0 does so at every precision too low for it,
they are trusted only when the finest precision confirms them.  A point no pair of precisions agrees
on is *unresolved* (``None``).

Kinks.  Where a switch is at 0 — the argument of a ``Heaviside`` (whose value there is not declared)
or ``sign``, the difference of the two sides of a ``Piecewise`` condition, or a tie of a ``Max``,
``Min`` or class max — within :data:`KINK_TOLERANCE` relative to the magnitudes of its terms, the
value is a convention; the evaluation says so and the caller excludes the point.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import mpmath
import sympy as sp

from symloss.declare.functions import sigmoid
from symloss.declare.likelihood import ClassMax

AGREEMENT = mpmath.mpf(2) ** -60
NEGLIGIBLE = mpmath.mpf(2) ** -1100
KINK_TOLERANCE = mpmath.mpf(2) ** -40
MAX_DIGITS = 5000


class UndefinedError(ArithmeticError):
    """The expression has no real value at the point (log of a nonpositive number, 0^-1, …)."""


Value = mpmath.mpf | int | bool


@dataclass(frozen=True)
class Entry:
    """One evaluation's value, whether it met a kink, and whether it lost all digits somewhere."""

    value: mpmath.mpf
    kink: bool
    cancelled: bool


@dataclass
class _Walk:
    """One evaluation: the variables' values (a class vector as a 0-based list), whether a switch was
    met at 0 or a total cancellation happened, and memoized values of subtrees (by their bound indices)."""

    env: Mapping[sp.Basic, object]
    kink: bool = False
    cancelled: bool = False  # a sum lost (nearly) all its digits, or a log met an argument (nearly) at 1
    memo: dict[tuple[sp.Basic, tuple[int, ...]], Value] = field(default_factory=dict)


class Evaluator:
    """Plain-mpmath values of one expression, whose class vectors are ``IndexedBase`` entries and
    whose class sums run over bound integer indices (``indices``: every symbol that can be one)."""

    def __init__(self, expr: sp.Expr, indices: Sequence[sp.Symbol]) -> None:
        self.expr = expr
        self.indices = frozenset(indices) | {s for n in sp.preorder_traversal(expr) if isinstance(n, sp.Sum | ClassMax)
                                             for s in (n.limits[0][0],)}
        self._bound_in: dict[sp.Basic, tuple[sp.Symbol, ...]] = {}
        self._terms: dict[sp.Basic, tuple[sp.Expr, ...]] = {}

    def value(self, env: Mapping[sp.Basic, object], bound: Mapping[sp.Symbol, int]) -> Entry:
        """The value at the current mpmath precision, whether a kink was met and whether some digits were
        all lost (a sum cancelled to (nearly) 0, a log of (nearly) 1); raises UndefinedError."""
        walk = _Walk(env)
        result = self._eval(self.expr, walk, dict(bound))
        if isinstance(result, bool):
            raise UndefinedError("a boolean, not a number")
        result = mpmath.mpf(result)
        if not mpmath.isfinite(result):
            raise UndefinedError(f"{result}")
        return Entry(result, walk.kink, walk.cancelled)

    # ----------------------------------------------------------------------- the walk

    def _free_indices(self, node: sp.Basic) -> tuple[sp.Symbol, ...]:
        if node not in self._bound_in:
            self._bound_in[node] = tuple(sorted(node.free_symbols & self.indices, key=str))
        return self._bound_in[node]

    def _eval(self, node: sp.Basic, walk: _Walk, bound: dict[sp.Symbol, int]) -> Value:
        key = (node, tuple(bound.get(s, 0) for s in self._free_indices(node)))
        if key in walk.memo:
            return walk.memo[key]
        result = self._compute(node, walk, bound)
        walk.memo[key] = result
        return result

    def _compute(self, node: sp.Basic, walk: _Walk, bound: dict[sp.Symbol, int]) -> Value:
        def ev(e: sp.Basic) -> Value:
            return self._eval(e, walk, bound)

        if node is sp.true or node is sp.false:
            return bool(node)
        if node.is_Integer:
            return int(node)
        if node.is_Rational:
            return mpmath.mpf(int(node.p)) / int(node.q)
        if node.is_Float:
            return mpmath.mpf(node._mpf_)
        if node.is_NumberSymbol:
            return mpmath.mpf(sp.Float(node.evalf(mpmath.mp.dps + 10), mpmath.mp.dps + 10)._mpf_)
        if isinstance(node, sp.Symbol):
            if node in bound:
                return bound[node]
            return walk.env[node]
        if isinstance(node, sp.Indexed):
            (position,) = node.indices
            return walk.env[node.base][int(ev(position)) - 1]
        if isinstance(node, sp.Add):
            terms = [ev(a) for a in node.args]
            total = sum(terms[1:], terms[0])
            walk.cancelled = walk.cancelled or _lost(total, max(abs(t) for t in terms))
            return total
        if isinstance(node, sp.Mul):
            product = ev(node.args[0])
            for a in node.args[1:]:
                product = product * ev(a)
            return product
        if isinstance(node, sp.Pow):
            return _power(ev(node.base), ev(node.exp), node.exp.is_Integer)
        if isinstance(node, sp.Sum | ClassMax):
            k, low, high = node.limits[0]
            terms = [self._eval(node.function, walk, {**bound, k: j}) for j in range(int(ev(low)), int(ev(high)) + 1)]
            if isinstance(node, sp.Sum):
                return sum(terms[1:], terms[0])
            return self._extreme(terms, walk, largest=True)
        if isinstance(node, sp.Piecewise):
            for expr, condition in node.args:
                if self._holds(condition, walk, bound):
                    return ev(expr)
            raise UndefinedError("no Piecewise condition holds")
        if isinstance(node, sp.Max | sp.Min):
            return self._extreme([ev(a) for a in node.args], walk, largest=isinstance(node, sp.Max))
        if isinstance(node, sp.KroneckerDelta):
            return int(ev(node.args[0]) == ev(node.args[1]))
        if isinstance(node, sp.Heaviside):
            g = ev(node.args[0])
            if self._at_zero(node.args[0], g, walk, bound):
                if len(node.args) > 1 and node.args[1] != sp.S.Half:
                    return ev(node.args[1])
                walk.kink = True
            return mpmath.mpf(1 if g > 0 else 0)
        if isinstance(node, sp.sign):
            g = ev(node.args[0])
            if self._at_zero(node.args[0], g, walk, bound):
                walk.kink = True
            return mpmath.mpf(mpmath.sign(g))
        if isinstance(node, sp.log):
            return _Log(walk)(ev(node.args[0]))
        if isinstance(node, sp.Function) and type(node) in _ELEMENTARY:
            return _ELEMENTARY[type(node)](*(ev(a) for a in node.args))
        raise NotImplementedError(f"no mpmath evaluation of {type(node).__name__} in {node}")

    def _holds(self, condition: sp.Basic, walk: _Walk, bound: dict[sp.Symbol, int]) -> bool:
        """The truth of a Piecewise condition; a relation whose two sides (nearly) meet is a kink."""
        if condition is sp.true or condition is sp.false:
            return bool(condition)
        if isinstance(condition, sp.And):
            return all(self._holds(c, walk, bound) for c in condition.args)
        if isinstance(condition, sp.Or):
            return any(self._holds(c, walk, bound) for c in condition.args)
        if isinstance(condition, sp.Not):
            return not self._holds(condition.args[0], walk, bound)
        if isinstance(condition, sp.core.relational.Relational):
            difference = condition.lhs - condition.rhs
            g = self._eval(difference, walk, bound)
            if self._at_zero(difference, g, walk, bound):
                walk.kink = True
            return bool(_RELATIONS[type(condition)](g))
        raise NotImplementedError(f"no mpmath evaluation of the condition {condition}")

    def _at_zero(self, g_expr: sp.Expr, g: Value, walk: _Walk, bound: dict[sp.Symbol, int]) -> bool:
        """Whether the switch argument g is 0 within KINK_TOLERANCE times Σ|t| over g's additive terms t."""
        if g_expr not in self._terms:
            self._terms[g_expr] = sp.Add.make_args(g_expr)
        scale = sum(abs(self._eval(t, walk, bound)) for t in self._terms[g_expr])
        return abs(g) <= KINK_TOLERANCE * scale

    @staticmethod
    def _extreme(values: Sequence[Value], walk: _Walk, *, largest: bool) -> Value:
        """The largest (smallest) value; a tie of the two leading ones within KINK_TOLERANCE is a kink."""
        ordered = sorted(values, reverse=largest)
        if len(ordered) > 1 and abs(ordered[0] - ordered[1]) <= KINK_TOLERANCE * (abs(ordered[0]) + abs(ordered[1])):
            walk.kink = True
        return ordered[0]


def _power(base: Value, exponent: Value, integer: bool) -> Value:
    """base^exponent over the reals: an integer power of any nonzero base, else of a positive base."""
    if base == 0 and exponent <= 0:
        raise UndefinedError("0 to a nonpositive power")
    if integer:
        return mpmath.mpf(base) ** int(exponent)
    if base < 0:
        raise UndefinedError("a negative base to a fractional power")
    return mpmath.power(base, exponent)


def _lost(result: Value, scale: Value) -> bool:
    """Whether ``result``, computed from numbers of magnitude ``scale``, kept fewer than 8 of the precision's bits."""
    return scale != 0 and abs(result) <= scale * mpmath.ldexp(1, 8 - mpmath.mp.prec)


class _Log:
    """log, noting an argument at (or within the last 8 bits of) 1: its digits are all lost."""

    def __init__(self, walk: _Walk) -> None:
        self.walk = walk

    def __call__(self, x: Value) -> mpmath.mpf:
        if x <= 0:
            raise UndefinedError("log of a nonpositive number")
        self.walk.cancelled = self.walk.cancelled or _lost(x - 1, 1)
        return mpmath.log(x)


_ELEMENTARY: dict[type, Callable[..., mpmath.mpf]] = {
    sp.exp: mpmath.exp,
    sp.tanh: mpmath.tanh,
    sp.cosh: mpmath.cosh,
    sp.sinh: mpmath.sinh,
    sp.sqrt: mpmath.sqrt,
    sp.Abs: abs,
    sigmoid: lambda x: 1 / (1 + mpmath.exp(-x)),
}
_RELATIONS: dict[type, Callable[[Value], bool]] = {
    sp.StrictLessThan: lambda g: g < 0, sp.LessThan: lambda g: g <= 0,
    sp.StrictGreaterThan: lambda g: g > 0, sp.GreaterThan: lambda g: g >= 0,
}


# --------------------------------------------------------------------------- trusted values


@dataclass(frozen=True)
class Resolved:
    """A trusted value of every entry (``None``: unresolved by any pair of precisions) and whether the
    point is on a kink of the function."""

    values: tuple[mpmath.mpf, ...] | None
    kink: bool


def _agree(a: mpmath.mpf, b: mpmath.mpf) -> bool:
    """Within 2^-60 relative of each other, or both negligible (below every float64)."""
    largest = max(abs(a), abs(b))
    return largest < NEGLIGIBLE or abs(a - b) <= AGREEMENT * largest


def precisions(numbers: Sequence[float]) -> list[tuple[int, int]]:
    r"""The pairs of digits to compare, in order: (50, 100), (100, 400), (400, 800), and (n, n + 200) with n
    the digits that hold the inputs' sums and the squares of their ratios exactly (twice the span of their
    binary exponents, and 1's: welsch's :math:`1 - e^{-(r/c)^2}` at r = 7e-115, c = 5e307 is 2e-844, which
    every precision below 844 digits cancels to 0) and resolve :math:`e^{\pm x}` against 1
    (60 + max|x| / ln 10), when that is above 800 and at most :data:`MAX_DIGITS`."""
    finite = [abs(x) for x in numbers if math.isfinite(x) and x != 0.0]
    exponents = [0, *(math.frexp(x)[1] for x in finite)]
    span = 60 + math.ceil((2 * (max(exponents) - min(exponents)) + 53) * math.log10(2))
    needed = max(span, 60 + math.ceil(max(finite, default=0.0) / math.log(10)))
    if needed > MAX_DIGITS:
        needed = span  # e^{±x} is out of reach; the exact sums still are
    return [(50, 100), (100, 400), (400, 800), *([(needed, needed + 200)] if needed > 800 else [])]


def resolve(entries: Callable[[], list[Entry]], numbers: Sequence[float]) -> Resolved:
    """Evaluate ``entries`` (at the current mpmath precision) at the pairs of :func:`precisions` of the
    point's ``numbers`` until a pair agrees on every entry; the finer value is kept.  A value that cancels
    to 0 does so at every precision below the one that resolves it (and a term of a sum that does is
    masked by the others), so a pair with a negligible entry or a total cancellation is trusted only when
    the finest precision agrees with it too."""
    cached: dict[int, list[Entry] | None] = {}

    def at(digits: int) -> list[Entry] | None:
        if digits not in cached:
            with mpmath.workdps(digits):
                try:
                    cached[digits] = entries()
                except (UndefinedError, ZeroDivisionError, ValueError, OverflowError):
                    cached[digits] = None
        return cached[digits]

    def agree(first: list[Entry] | None, second: list[Entry] | None) -> bool:
        return (first is not None and second is not None
                and all(_agree(a.value, b.value) for a, b in zip(first, second, strict=True)))

    pairs = precisions(numbers)
    finest = pairs[-1][1]
    kink = False
    for coarse, fine in pairs:
        first, second = at(coarse), at(fine)
        if not agree(first, second):
            continue
        kink = any(e.kink for e in (*first, *second))
        suspect = any(e.cancelled or abs(e.value) < NEGLIGIBLE for e in (*first, *second))
        if suspect and not agree(second, at(finest)):
            continue
        return Resolved(tuple(+e.value for e in second), kink)
    return Resolved(None, kink)


def to_float(value: mpmath.mpf) -> float:
    """The float64 nearest ``value`` (±inf beyond the range, ±0 below 2^-1100): through a 40-digit decimal,
    which Python's float() rounds correctly."""
    if abs(value) < NEGLIGIBLE:
        return math.copysign(0.0, float(mpmath.sign(value)) or 1.0)
    if abs(value) > mpmath.mpf(2) ** 1025:
        return math.copysign(math.inf, float(mpmath.sign(value)))
    return float(mpmath.nstr(value, 40, min_fixed=1, max_fixed=0))
