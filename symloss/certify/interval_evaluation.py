r"""An expression compiled for evaluation in interval arithmetic (Arb balls, :mod:`symloss.certify.balls`), kinks
detected.

The reference of a certificate evaluates a function's declared expression, or its proved stable
form, at the exact float inputs in intervals (:class:`IntervalExpression`).  Class sums are
evaluated by loops over the classes, sums that do not depend on the entry :math:`i` once per
point; a stable form's class-axis primitives are evaluated for every class at once, by the
implementations of :mod:`symloss.certify.interval_primitives`.

Kinks.  Where a switch of the expression (a one-argument Heaviside, sign, a Piecewise condition)
has its argument within :data:`KINK_TOLERANCE` (relative to the sum of the magnitudes of its terms)
of 0, or where a Max or class max inside a switch argument has a tie, the value is a convention,
not mathematics: the evaluation says so (``kink``).  A Heaviside whose value at 0 is declared 0 or 1
(the argmax indicator of a class max) is not a kink by itself; SymPy's default 1/2 is no one-sided
value, so there the point is a kink.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import sympy as sp
from sympy.printing.pycode import MpmathPrinter

from symloss.certify import balls
from symloss.certify.balls import ball, maximum, midpoint, minimum, number
from symloss.certify.interval_primitives import (
    CLASS_AXIS_INTERVALS,
    SCALAR_INTERVALS,
    SUPPORTED_PRIMITIVES,
    iv_softplus,
    sums_of_others,
)
from symloss.declare.likelihood import ClassMax, sum_out_deltas
from symloss.stabilize import primitives

KINK_TOLERANCE = 2.0**-40

# --------------------------------------------------------------------------- switches


class _Step(sp.Function):
    """Heaviside(g) marked as a switch: args (g, scale) or (g, scale, value at 0)."""


class _Sign(sp.Function):
    """sign(g) marked as a switch: args (g, scale)."""


class _Side(sp.Function):
    """The side of a Piecewise condition: ±1 for the sign of g, args (g, scale)."""


class _TieMax(sp.Function):
    """Max inside a switch argument: a tie is a kink."""


class _TieMin(sp.Function):
    """Min inside a switch argument: a tie is a kink."""


class _TieClassMax(ClassMax):
    """A class max inside a switch argument: a tie is a kink."""


def _scale(g: sp.Expr) -> sp.Expr:
    """Σ|t| over the additive terms t of g: what "g is near 0" is measured against."""
    return sp.Add(*(sp.Abs(t) for t in sp.Add.make_args(g)))


def _ties_marked(g: sp.Expr) -> sp.Expr:
    return g.replace(sp.Max, _TieMax).replace(sp.Min, _TieMin).replace(
        lambda e: type(e) is ClassMax, lambda e: _TieClassMax(e.function, *e.limits))


def _switch(g: sp.Expr, *rest: sp.Expr) -> tuple[sp.Expr, ...]:
    return (_ties_marked(g), _scale(g), *rest)


def _marked(expr: sp.Expr) -> sp.Expr:
    """``expr`` with its switches marked for kink detection (see the module docstring)."""
    relations = (sp.StrictGreaterThan, sp.GreaterThan, sp.StrictLessThan, sp.LessThan)
    expr = expr.replace(sp.Heaviside, lambda g, h0=sp.S.Half: _Step(*_switch(g, *(() if h0 == sp.S.Half else (h0,)))))
    expr = expr.replace(sp.sign, lambda g: _Sign(*_switch(g)))
    return expr.replace(
        lambda e: isinstance(e, relations),
        lambda e: e.func(_Side(*_switch(e.lhs - e.rhs)), 0),
    )


# --------------------------------------------------------------------------- interval evaluation


@dataclass
class EvaluationFlags:
    """What one evaluation met: a kink (its value is a convention there)."""

    kink: bool = False


def _near_zero(g: object, scale: object) -> bool:
    return abs(midpoint(g)) <= KINK_TOLERANCE * abs(midpoint(scale))


def _tied(values: Sequence[object], largest: bool) -> bool:
    mids = sorted((midpoint(v) for v in values), reverse=largest)
    return len(mids) > 1 and abs(mids[0] - mids[1]) <= KINK_TOLERANCE * (abs(mids[0]) + abs(mids[1]))


def _namespace(flags: EvaluationFlags) -> dict[str, object]:
    """Interval versions of every function a declared expression may use; switches set
    ``flags.kink`` when their argument is (relatively) at 0."""

    def step(g: object, scale: object, h0: object = None) -> object:
        if _near_zero(g, scale):
            if h0 is None:
                flags.kink = True
                return ball(0.5)
            return ball(h0)
        return ball(1 if midpoint(g) > 0 else 0)

    def sign(g: object, scale: object) -> object:
        if _near_zero(g, scale):
            flags.kink = True
            return ball(0)
        return ball(1 if midpoint(g) > 0 else -1)

    def side(g: object, scale: object) -> int:
        if _near_zero(g, scale):
            flags.kink = True
        return 1 if midpoint(g) > 0 else -1

    def tie_max(*values: object) -> object:
        flags.kink = flags.kink or _tied(values, largest=True)
        return maximum(*values)

    def tie_min(*values: object) -> object:
        flags.kink = flags.kink or _tied(values, largest=False)
        return minimum(*values)

    return {
        "mpf": number,
        "pi": balls.pi, "e": balls.e,
        "exp": balls.exp, "log": balls.log, "log1p": balls.log1p, "expm1": balls.expm1, "sqrt": balls.sqrt,
        "cosh": balls.cosh, "sinh": balls.sinh, "tanh": balls.tanh,
        "sigmoid": lambda x: 1 / (1 + balls.exp(-x)),
        "softplus": iv_softplus,
        **{primitive.__name__: function for primitive, function in SCALAR_INTERVALS.items()},
        "fabs": abs, "Abs": abs,
        "Max": maximum, "Min": minimum, "_TieMax": tie_max, "_TieMin": tie_min,
        "_Step": step, "_Sign": sign, "_Side": side,
        "KroneckerDelta": lambda a, b: int(a == b),
    }


class _BallPrinter(MpmathPrinter):
    """SymPy's mpmath printer, with π and e as calls: a ball constant is computed at the working precision."""

    def _print_Pi(self, expr: sp.Expr) -> str:  # noqa: N802 (SymPy's printer method names)
        return "pi()"

    def _print_Exp1(self, expr: sp.Expr) -> str:  # noqa: N802
        return "e()"

    def _print_Max(self, expr: sp.Expr) -> str:  # noqa: N802
        """``Max(...)``, the ball maximum: Python's ``max`` compares balls, and an undecided comparison is
        False, so ``max(0, [0 ± 1e-51])`` would be the exact 0."""
        return f"Max({', '.join(self._print(a) for a in expr.args)})"

    def _print_Min(self, expr: sp.Expr) -> str:  # noqa: N802
        """``Min(...)``, the ball minimum (see :meth:`_print_Max`)."""
        return f"Min({', '.join(self._print(a) for a in expr.args)})"


_PRINTER_SETTINGS = {"fully_qualified_modules": False, "inline": True, "allow_unknown_functions": True}


@dataclass(frozen=True)
class _Piece:
    """A compiled expression and the symbols it takes, in order."""

    function: Callable[..., object]
    arguments: tuple[sp.Basic, ...]

    def __call__(self, env: Mapping[sp.Basic, object]) -> object:
        return self.function(*(env[a] for a in self.arguments))


@dataclass(frozen=True)
class _Reduction:
    """A class sum or class max that is the same for every entry: evaluated once per point."""

    symbol: sp.Dummy
    kind: str  # "sum" | "max" | "tiemax"
    index: sp.Symbol
    low: int
    high: int
    summand: _Piece


def compile_interval(expr: sp.Expr, flags: EvaluationFlags, leading: tuple[sp.Symbol, ...] = ()) -> _Piece:
    """``expr`` compiled to a function of the ``leading`` symbols, then its other scalar symbols and its
    class vectors (each in name order), evaluated in intervals; its switches set ``flags.kink``."""
    bases = sorted(expr.atoms(sp.IndexedBase), key=str)
    labels = {b.label for b in bases}
    scalars = sorted((s for s in expr.free_symbols if isinstance(s, sp.Symbol) and s not in labels
                      and s not in leading), key=str)
    arguments = (*leading, *scalars, *bases)
    function = sp.lambdify(arguments, expr, modules=[_namespace(flags)], printer=_BallPrinter(_PRINTER_SETTINGS),
                           cse=not expr.has(sp.Sum, ClassMax), dummify=False)
    return _Piece(function, arguments)


def _hoisted(expr: sp.Expr, entry: sp.Symbol | None) -> tuple[sp.Expr, list[tuple[sp.Dummy, sp.Basic]]]:
    """``expr`` with every class reduction free of the entry index and of enclosing
    summation indices replaced by a symbol; the reductions, inner ones first."""
    found: dict[sp.Basic, sp.Dummy] = {}
    outside = {entry} - {None}

    def visit(node: sp.Basic, bound: frozenset[sp.Symbol]) -> sp.Basic:
        if not node.has(sp.Sum, ClassMax):
            return node
        if isinstance(node, sp.Sum | ClassMax):
            k = node.limits[0][0]
            rebuilt = node.func(visit(node.function, bound | {k}), *node.limits)
            if rebuilt.free_symbols & (bound | outside):
                return rebuilt
            if rebuilt not in found:
                found[rebuilt] = sp.Dummy(f"r{len(found)}")
            return found[rebuilt]
        return node.func(*(visit(a, bound) for a in node.args))

    return visit(expr, frozenset()), list((s, r) for r, s in found.items())


class NoIntervalFormError(ValueError):
    """A stable form the interval reference cannot evaluate (a primitive without an interval
    implementation, a class-axis primitive whose entries depend on another class index)."""


@dataclass(frozen=True)
class _ClassVector:
    """A class-axis primitive of a stable form, evaluated for every class at once: its entries
    f(1) … f(K), then ``combine`` (an implementation of :data:`CLASS_AXIS_INTERVALS`, or
    :func:`sums_of_others`), stored 1-based under ``symbol`` like a class-vector input."""

    symbol: sp.IndexedBase
    index: sp.Symbol
    count: int
    entry: _Piece
    combine: Callable[[Sequence[object]], list[object]]

    def __call__(self, env: Mapping[sp.Basic, object]) -> list[object]:
        entries = [self.entry({**env, self.index: k}) for k in range(1, self.count + 1)]
        return [None, *self.combine(entries)]


def _class_vectors(
    expr: sp.Expr, flags: EvaluationFlags, scalars: frozenset[sp.Symbol]
) -> tuple[sp.Expr, list[_ClassVector]]:
    r"""``expr`` with every class-axis primitive replaced by the entry of a :class:`_ClassVector`
    (inner ones first, so each vector's entries may use the vectors before it):
    ``P(e_k, k, K)`` → ``v[k]``, ``SumOthers(f_k, k, K)`` → ``v[k]`` with :math:`v_k = \sum_{j \ne k} f_j`,
    ``OtherClassesSum(c, f(k), k, K, i)`` → ``c·v[i]``, a LogSumExp → ``v[1]``.  The entries may use
    the scalar inputs ``scalars``, class vectors and their own index only."""
    unsupported = {type(e).__name__ for e in sp.preorder_traversal(expr)
                   if isinstance(e, primitives.Primitive) and type(e) not in SUPPORTED_PRIMITIVES}
    if unsupported:
        raise NoIntervalFormError(f"no interval implementation of {', '.join(sorted(unsupported))}")
    vectors: list[_ClassVector] = []

    def vector(entry: sp.Expr, index: sp.Expr, count: sp.Expr,
               combine: Callable[[Sequence[object]], list[object]]) -> sp.IndexedBase:
        labels = {b.label for b in entry.atoms(sp.IndexedBase)}
        strangers = {s for s in entry.free_symbols if isinstance(s, sp.Symbol)} - labels - scalars - {index}
        if not count.is_Integer or not isinstance(index, sp.Symbol) or strangers or entry.has(ClassMax):
            raise NoIntervalFormError(f"a class-axis entry {entry} over {index} = 1..{count}")
        symbol = sp.IndexedBase(f"_class_vector{len(vectors)}")
        vectors.append(_ClassVector(symbol, index, int(count), compile_interval(entry, flags, (index,)), combine))
        return symbol

    def rewrite(node: primitives.Primitive) -> sp.Expr:
        if isinstance(node, primitives.OtherClassesSum):
            weight, summand, k, count, i = node.args
            return weight * vector(summand, k, count, sums_of_others)[i]
        if isinstance(node, primitives.SumOthers):
            entry, k, count = node.args
            return vector(entry, k, count, sums_of_others)[k]
        position = 1 if isinstance(node, primitives.LogSumExp) else node.index
        return vector(node.entry, node.index, node.count, CLASS_AXIS_INTERVALS[type(node)])[position]

    vectorial = (primitives.SumOthers, primitives.OtherClassesSum, *CLASS_AXIS_INTERVALS)
    return expr.replace(lambda e: isinstance(e, vectorial), rewrite), vectors


class IntervalExpression:
    """An expression of one function (declared, or a proved stable form) at a concrete class count,
    compiled for interval evaluation: class-axis primitives first (a stable form's), then
    entry-independent reductions, then the entry expression."""

    def __init__(self, expr: sp.Expr, entry: sp.Symbol | None, scalars: frozenset[sp.Symbol]) -> None:
        self.entry = entry
        expr = _marked(sum_out_deltas(sp.sympify(expr)))
        self.flags = EvaluationFlags()
        expr, self.vectors = _class_vectors(expr, self.flags, scalars)
        body, reductions = _hoisted(expr, self.entry)
        self.reductions = [self._reduction(symbol, r) for symbol, r in reductions]
        leading = (self.entry,) if self.entry is not None and body.has(self.entry) else ()
        self.body = compile_interval(body, self.flags, leading)
        self.per_entry = bool(leading)

    def _reduction(self, symbol: sp.Dummy, node: sp.Basic) -> _Reduction:
        k, low, high = node.limits[0]
        kind = "sum" if isinstance(node, sp.Sum) else "tiemax" if isinstance(node, _TieClassMax) else "max"
        return _Reduction(symbol, kind, k, int(low), int(high), compile_interval(node.function, self.flags, (k,)))

    def evaluate(self, env: dict[sp.Basic, object], entries: int | None) -> tuple[list[object], bool]:
        """The intervals (one per entry of a class vector, else one) and whether a kink was met."""
        self.flags.kink = False
        for v in self.vectors:
            env[v.symbol] = v(env)
        for r in self.reductions:
            terms = [r.summand({**env, r.index: k}) for k in range(r.low, r.high + 1)]
            if r.kind == "sum":
                env[r.symbol] = sum(terms[1:], terms[0])
            else:
                self.flags.kink = self.flags.kink or (r.kind == "tiemax" and _tied(terms, largest=True))
                env[r.symbol] = maximum(*terms)
        if entries is None:
            return [self.body(env)], self.flags.kink
        if not self.per_entry:
            return [self.body(env)] * entries, self.flags.kink
        return [self.body({**env, self.entry: i}) for i in range(1, entries + 1)], self.flags.kink


def interval_value(expr: sp.Expr, env: Mapping[sp.Basic, object], entry: sp.Symbol | None = None,
                   entries: int | None = None) -> list[object]:
    """``expr`` (with primitives, a fixed class count) in interval arithmetic at the working precision
    (:func:`symloss.certify.balls.working_precision`), as the reference evaluates it: ``env`` gives every
    scalar symbol an interval and every class vector a 1-based list (index 0 unused); one interval, or one
    per ``entry`` = 1 … ``entries``."""
    scalars = frozenset(s for s in env if isinstance(s, sp.Symbol))
    return IntervalExpression(expr, entry, scalars).evaluate(dict(env), entries)[0]
