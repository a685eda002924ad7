"""High-precision numeric evaluation and exact sampling of claim domains.

The prover and the certifier judge a formula by its values at points of its
domain.  Points are exact rationals (:class:`~fractions.Fraction`), so the
inputs are the same at every working precision; only the arithmetic is
rounded.  Expressions are compiled once (``lambdify`` to mpmath, with the
named functions of :mod:`symloss.declare.functions` and the piecewise functions
translated) and then evaluated under ``mpmath.workdps`` — ``evalf`` with
``subs`` is orders of magnitude slower.

Class vectors (``IndexedBase``) are given as sequences, entry ``k`` at
position ``k - 1``; a symbolic class count K is instantiated from their
length and sums over ``1..K`` are expanded before compiling.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from fractions import Fraction
from functools import lru_cache

import mpmath
import sympy as sp
from sympy.concrete.expr_with_limits import ExprWithLimits

from symloss.declare.notation import (
    CLASS_COUNT,
    DISTRIBUTION,
    NONNEGATIVE,
    POSITIVE,
    REAL,
    REAL_VECTOR,
    SIMPLEX,
    Domain,
    Scope,
    interval,
)

Number = int | Fraction
Point = dict[sp.Basic, object]
Compiled = tuple[Callable[..., object], tuple[sp.Basic, ...]]

SMALLEST_K, LARGEST_K = 2, 6
ASSUMED_DOMAINS: tuple[tuple[str, Domain], ...] = (
    ("is_positive", POSITIVE),
    ("is_nonnegative", NONNEGATIVE),
    ("is_negative", interval("negative", None, 0)),
    ("is_nonpositive", interval("nonpositive", None, 0, high_open=False)),
)


def _heaviside(x: mpmath.mpf, h0: object = None) -> mpmath.mpf:
    """H(x) = 0 for x < 0, h0 at 0 (SymPy's default 1/2), 1 for x > 0."""
    if x == 0:
        return mpmath.mpf(1) / 2 if h0 is None else h0
    return mpmath.mpf(1) if x > 0 else mpmath.mpf(0)


def _softplus(x: mpmath.mpf) -> mpmath.mpf:
    """softplus(x) = log(1 + e^x), written as x + log(1 + e^-x) for x > 0."""
    return x + mpmath.log1p(mpmath.exp(-x)) if x > 0 else mpmath.log1p(mpmath.exp(x))


TRANSLATIONS: Mapping[str, Callable[..., object]] = {
    "sigmoid": lambda x: 1 / (1 + mpmath.exp(-x)),
    "softplus": _softplus,
    "Heaviside": _heaviside,
    "sign": mpmath.sign,
    "Max": max,
    "Min": min,
    "Abs": mpmath.fabs,
    "KroneckerDelta": lambda a, b: int(a == b),
}


def structural_symbols(expr: sp.Basic) -> set[sp.Symbol]:
    """Symbols that shape an expression rather than enter it as numbers:
    sum limits (the class count K) and indices (class indices i, k)."""
    return set(_structural_symbols(expr))


@lru_cache(maxsize=1024)
def _structural_symbols(expr: sp.Basic) -> frozenset[sp.Symbol]:
    """:func:`structural_symbols`, computed once per expression (every evaluation asks)."""
    found: set[sp.Symbol] = set()
    for node in sp.preorder_traversal(expr):
        if isinstance(node, sp.Sum | sp.Product):
            for limit in node.limits:
                found |= set().union(*(sp.sympify(b).free_symbols for b in limit[1:]))
        elif isinstance(node, sp.Indexed):
            found |= set().union(*(i.free_symbols for i in node.indices))
        elif isinstance(node, sp.KroneckerDelta):
            found |= node.free_symbols
    return frozenset({s for s in found if isinstance(s, sp.Symbol)} & expr.free_symbols)


def class_counts(expr: sp.Basic) -> set[sp.Symbol]:
    """Free symbols used as the upper limit of a sum or product (the class count K)."""
    return set(_class_counts(expr))


@lru_cache(maxsize=1024)
def _class_counts(expr: sp.Basic) -> frozenset[sp.Symbol]:
    return frozenset({
        limit[2]
        for node in sp.preorder_traversal(expr)
        if isinstance(node, sp.Sum | sp.Product)
        for limit in node.limits
        if isinstance(limit[2], sp.Symbol)
    } & expr.free_symbols)


def _vector_length(point: Mapping[sp.Basic, object]) -> int | None:
    lengths = {len(v) for k, v in point.items() if isinstance(k, sp.IndexedBase)}
    if len(lengths) > 1:
        raise ValueError(f"class vectors of different lengths {sorted(lengths)}")
    return lengths.pop() if lengths else None


def _bindings(expr: sp.Expr, point: Mapping[sp.Basic, object]) -> tuple[tuple[sp.Symbol, int], ...]:
    """The class counts K of ``expr``: given in the point, or the length of its vectors."""
    length = _vector_length(point)
    values = {}
    for count in sorted(class_counts(expr), key=str):
        if count in point:
            values[count] = int(Fraction(point[count]))
        elif length is not None:
            values[count] = length
        else:
            raise ValueError(f"no value for the class count {count}")
    return tuple(values.items())


def unrolled(expr: sp.Expr) -> sp.Expr:
    """Every sum with integer limits written out term by term, innermost first (what ``doit``
    gives, without its search for a closed form, which costs seconds on nested sums)."""

    def unroll(total: sp.Sum) -> sp.Expr:
        (k, low, high), = total.limits
        function = total.function
        shadowed = any(k in (limit[0] for limit in e.limits) for e in function.atoms(ExprWithLimits))
        at = (lambda n: function.subs(k, n)) if shadowed else (lambda n: function.xreplace({k: n}))  # bound k kept
        return sp.Add(*(at(sp.Integer(n)) for n in range(int(low), int(high) + 1)))

    def concrete(e: sp.Basic) -> bool:
        return isinstance(e, sp.Sum) and len(e.limits) == 1 and all(b.is_Integer for b in e.limits[0][1:])

    return expr.replace(concrete, unroll)


@lru_cache(maxsize=1024)
def compile_expr(expr: sp.Expr, counts: tuple[tuple[sp.Symbol, int], ...] = ()) -> Compiled:
    """``expr`` with the class counts bound and sums expanded, as an mpmath function.

    Returns the function and its arguments in order: scalar symbols, class
    indices (passed as ints), class vectors (passed 1-based: a list whose
    item 0 is unused).
    """
    concrete = unrolled(expr.xreplace({s: sp.Integer(v) for s, v in counts}))
    if concrete.atoms(ExprWithLimits, sp.Derivative):  # a product, a class max, a sum left by unrolled
        concrete = concrete.doit()
    bases = sorted(concrete.atoms(sp.IndexedBase), key=str)
    indices = sorted(structural_symbols(concrete), key=str)
    hidden = {b.label for b in bases} | set(indices)
    scalars = sorted((s for s in concrete.free_symbols if isinstance(s, sp.Symbol) and s not in hidden), key=str)
    arguments = (*scalars, *indices, *bases)
    # common subexpressions only without a remaining sum: elimination would take a summand out of its sum
    shared = not concrete.atoms(ExprWithLimits)
    function = sp.lambdify(arguments, concrete, modules=[dict(TRANSLATIONS), "mpmath"], dummify=True, cse=shared)
    return function, arguments


def to_mpf(value: object) -> mpmath.mpf:
    """An exact number (int, Fraction, SymPy Rational) at the working precision."""
    if isinstance(value, sp.Basic):
        value = Fraction(int(value.p), int(value.q)) if value.is_Rational else value.evalf(mpmath.mp.dps)
    if isinstance(value, Fraction):
        return mpmath.mpf(value.numerator) / value.denominator
    return mpmath.mpf(value)


def _argument(argument: sp.Basic, point: Mapping[sp.Basic, object], indices: set[sp.Basic]) -> object:
    if argument not in point:
        raise ValueError(f"no value for {argument}")
    if isinstance(argument, sp.IndexedBase):
        return [None, *(to_mpf(v) for v in point[argument])]
    if argument in indices:
        return int(Fraction(point[argument]))
    return to_mpf(point[argument])


def evaluate(expr: sp.Expr, point: Mapping[sp.Basic, object], *, digits: int = 50) -> mpmath.mpf | mpmath.mpc:
    """The value of ``expr`` at ``point``, computed with ``digits`` significant digits.

    ``point`` maps symbols to numbers and ``IndexedBase`` to sequences
    (1-based: ``seq[0]`` is entry 1).  May return an mpc (e.g. the log of a
    negative number) or raise (division by zero); callers decide what that means.

    >>> x = sp.Symbol("x")
    >>> print(mpmath.nstr(evaluate(sp.log(x), {x: Fraction(1, 2)}, digits=20), 20))
    -0.69314718055994530942
    """
    expr = sp.sympify(expr)
    function, arguments = compile_expr(expr, _bindings(expr, point))
    indices = structural_symbols(expr)
    with mpmath.workdps(digits):
        values = [_argument(a, point, indices) for a in arguments]
        return mpmath.mpmathify(function(*values))


def _weights(rng: random.Random, size: int, zeros: bool) -> list[int]:
    """Positive integer weights of spread magnitudes; some zero if ``zeros``."""
    weights = [rng.randint(1, 10 ** rng.choice((1, 3, 3, 6))) for _ in range(size)]
    if zeros and rng.random() < 0.3:
        weights = [0 if rng.random() < 0.3 else w for w in weights]
        if not any(weights):
            weights[rng.randrange(size)] = 1
    return weights


def sample_vector(domain: Domain, size: int, rng: random.Random) -> tuple[Fraction, ...]:
    """A class vector of ``size`` entries drawn jointly from a vector domain:
    simplex (positive, sum 1), distribution (nonnegative, sum 1), one-hot, real."""
    if domain.vector == "onehot":
        hot = rng.randrange(size)
        return tuple(Fraction(int(n == hot)) for n in range(size))
    if domain.vector in ("simplex", "distribution"):
        weights = _weights(rng, size, zeros=domain.vector == "distribution")
        return tuple(Fraction(w, sum(weights)) for w in weights)
    return tuple(REAL.sample(rng) for _ in range(size))


def domain_of(symbol: sp.Basic, domains: Mapping[sp.Basic, Domain]) -> Domain:
    """The declared domain, else the widest one the symbol's assumptions allow (real by default)."""
    if symbol in domains:
        return domains[symbol]
    if isinstance(symbol, sp.IndexedBase):
        return SIMPLEX if symbol.is_positive else DISTRIBUTION if symbol.is_nonnegative else REAL_VECTOR
    for fact, domain in ASSUMED_DOMAINS:
        if getattr(symbol, fact):
            return domain
    return REAL


def _sample_one(domains: Mapping[sp.Basic, Domain], symbols: Sequence[sp.Basic], rng: random.Random) -> Point:
    size = rng.randint(SMALLEST_K, LARGEST_K)
    point: Point = {}
    for s in symbols:
        domain = domain_of(s, domains)
        if isinstance(s, sp.IndexedBase):
            point[s] = sample_vector(domain, size, rng)
        elif domain == CLASS_COUNT:
            point[s] = size
        elif domain.vector == "index":
            point[s] = rng.randint(1, size)
        else:
            point[s] = domain.sample(rng)
    return point


def holds(equation: sp.Eq, point: Mapping[sp.Basic, object], *, digits: int = 30) -> bool:
    """Whether an equality holds at a point, to a relative 10^(-digits/2)."""
    if equation in (sp.true, sp.false):
        return bool(equation)
    try:
        lhs, rhs = evaluate(equation.lhs, point, digits=digits), evaluate(equation.rhs, point, digits=digits)
    except (ValueError, ZeroDivisionError, TypeError):
        return False
    return bool(abs(lhs - rhs) <= mpmath.mpf(10) ** (-digits // 2) * max(1, abs(lhs), abs(rhs)))


def sample_points(
    scope: Scope, symbols: Iterable[sp.Basic], n: int, seed: int, given: Sequence[sp.Eq] = ()
) -> list[Point]:
    """``n`` points of the domain of ``symbols`` (symbols without a declared
    domain are real), each satisfying every equation of ``given``.

    Scalars come from :meth:`Domain.sample`; class vectors of one common
    length K in 2..6 from their vector domain; class indices from 1..K; a
    class-count symbol takes the value K.  Points violating ``given`` are
    rejected (the vector domains satisfy Σ_k y_k = 1 by construction).
    """
    domains = scope.domains()
    ordered = sorted(set(symbols), key=str)
    rng = random.Random(seed)
    points: list[Point] = []
    for _ in range(50 * n):
        if len(points) == n:
            break
        point = _sample_one(domains, ordered, rng)
        if all(holds(g, point) for g in given):
            points.append(point)
    return points
