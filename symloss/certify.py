r"""Accuracy certificates: a kernel against the declared expression, at every stress point.

Each kernel function (loss, gradient, Hessian diagonal, and both parts of the
fused value-and-gradient) is called once per block of a deterministic stress
grid (:func:`stress_points`) and compared with the *declared* expression —
``loss.formula``, ``derivation.gradient``, ``derivation.hessian``, never a
rewritten stable form — evaluated at the exact float inputs.

The reference.  Fixed 50-digit arithmetic is not enough for the declared
forms: at :math:`z = 100`, :math:`-\log(1-\sigma(z))` loses 43 of its 50 digits
to cancellation.  So the reference is evaluated in interval arithmetic
(``mpmath.iv``), starting at 50 digits, and the precision is raised until the
interval pins the value down to :math:`2^{-64}` relative (or to below the
float64 subnormal range, or beyond the float64 range); a point that no
precision up to :data:`MAX_DIGITS` resolves is *unresolved* and reported, never
compared against a guess.  Class sums are evaluated by loops over the classes,
sums that do not depend on the entry :math:`i` once per point.

Kinks.  Where a switch of the declared expression (a one-argument Heaviside,
sign, a Piecewise condition) has its argument within :data:`KINK_TOLERANCE`
(relative to the sum of the magnitudes of its terms) of 0, or where a Max or
class max inside a switch argument has a tie, the value is a convention, not
mathematics: that point is excluded from that function's comparison and
counted.  A Heaviside whose value at 0 is declared 0 or 1 (the argmax
indicator of a class max) is not a kink by itself; SymPy's default 1/2 is no
one-sided value, so there the point is a kink.

A −inf logit (a mask) enters the reference as the limit :math:`z\to-\infty`:
the expression is evaluated at :math:`z=-10^{30}` and :math:`z=-10^{60}`;
when the two disagree the limit is infinite and the point is undefined.

Budgets.  Elementwise losses: at most :data:`ULP_BUDGET` ulp wherever the
true value is a normal float64.  Class-vector losses: at most
:data:`RELATIVE_BUDGET` relative error, normwise over the class vector for
the gradient and the Hessian diagonal (:math:`\max_i|\tilde g_i-g_i| /
\max_i|g_i|`).  Both: no inf/NaN where the rounded truth is finite, and where
the truth is 0 or subnormal (or the whole vector is), the result must lie
within the smallest normal number :math:`2^{-1022}` of it: subnormals carry too
few digits for a ulp budget, but a result of 0 for a true value of
:math:`10^{-53}` (a normal number) still fails, and a true 0 must come out as 0
or below :math:`2^{-1022}`; where the truth overflows, the result must be the
same infinity.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import ModuleType

import mpmath
import numpy as np
import sympy as sp
from mpmath import iv
from sympy.printing.pycode import MpmathPrinter

from symloss.derive import Derivation
from symloss.likelihood import ClassMax, sum_out_deltas
from symloss.loss import Loss
from symloss.notation import Domain, Var

ULP_BUDGET = 4.0
RELATIVE_BUDGET = 1e-13
KINK_TOLERANCE = 2.0**-40
RESOLUTION = mpmath.mpf(2) ** -64  # relative width at which a reference interval is accepted
FIRST_DIGITS, MAX_DIGITS = 50, 4500  # the reference's first and largest precision
MASK_STANDINS = (-1e30, -1e60)  # a −inf logit is the limit of these
SMALLEST_NORMAL = float(np.finfo(np.float64).tiny)
SUBNORMAL_STEP = float(np.spacing(0.0))
NEGLIGIBLE = mpmath.mpf(2) ** -1100  # below every float64: the truth rounds to ±0
LARGEST = mpmath.mpf(float(np.finfo(np.float64).max))

REAL_STRESS = (0.0, 1e-300, 1e-8, 0.5, 1.0, 3.0, 20.0, 40.0, 100.0, 710.0, 745.0, 1e4, 1e300)
UNIT_STRESS = (1e-300, 1e-16, 1e-8, 0.25, 0.5, 0.75, 1 - 1e-8, 1 - 1e-16)
COUNT_STRESS = (0.0, 1.0, 2.0, 3.0, 10.0, 100.0, 1e4)
SHORT_MAGNITUDES = (1e-8, 0.5, 1.0, 1e4)  # further inputs take these, to keep the grid small
CLASS_COUNTS = (2, 3, 10)
LARGE_CLASS_COUNT = 1000
LOGIT_SCALES = (1.0, 100.0, 1e4)
RANDOM_POINTS = 32
FULL_PARAM_GRID = 4
DYADIC_TOTAL = 2**20  # soft labels are multiples of 2^-20, so they sum to exactly 1

Point = tuple[object, ...]


# --------------------------------------------------------------------------- certificates


@dataclass(frozen=True)
class FunctionCertificate:
    """The accuracy of one kernel function over a stress grid.

    ``points`` were compared; ``excluded`` were not (on a kink, truth
    undefined, or ``unresolved`` by every reference precision).  ``max_ulp``
    is componentwise, over entries whose truth is a normal float64;
    ``max_relative_error`` is componentwise for scalars and normwise over the
    class vector for class-vector outputs.  ``nonfinite`` counts entries that
    are inf/NaN where the rounded truth is finite; ``range_errors`` entries
    whose truth is 0, subnormal or overflowing and that miss it (see the
    module docstring).
    """

    function: str
    points: int
    excluded: int
    unresolved: int
    max_ulp: float
    max_relative_error: float
    nonfinite: int
    range_errors: int
    budget_kind: str  # "ulp" | "relative"
    budget: float
    passed: bool
    worst_point: Point | None

    def summary(self) -> str:
        """One line: the errors, the point count, the non-finite count."""
        return _summary_line(self.max_ulp, self.max_relative_error, self.points, self.nonfinite, self.range_errors,
                             self.unresolved)

    def to_json(self) -> dict[str, object]:
        """The certificate as JSON-able data (non-finite floats as strings)."""
        return {
            "function": self.function,
            "points": self.points,
            "excluded": self.excluded,
            "unresolved": self.unresolved,
            "max_ulp": _json_number(self.max_ulp),
            "max_relative_error": _json_number(self.max_relative_error),
            "nonfinite": self.nonfinite,
            "range_errors": self.range_errors,
            "budget_kind": self.budget_kind,
            "budget": self.budget,
            "passed": self.passed,
            "worst_point": _json_value(self.worst_point),
        }


@dataclass(frozen=True)
class KernelCertificate:
    """The certificates of every function of one loss's kernel, over ``points`` grid points."""

    loss: str
    points: int
    functions: tuple[FunctionCertificate, ...]
    passed: bool

    def summary(self) -> str:
        """One line for a docstring, e.g. "max 2 ulp, max rel. error 3.1e-16 over 412 points;
        no inf/NaN where the truth is finite"."""
        return _summary_line(
            max(f.max_ulp for f in self.functions),
            max(f.max_relative_error for f in self.functions),
            self.points,
            sum(f.nonfinite for f in self.functions),
            sum(f.range_errors for f in self.functions),
            sum(f.unresolved for f in self.functions),
        )

    def to_json(self) -> dict[str, object]:
        """The certificate as JSON-able data."""
        return {
            "loss": self.loss,
            "points": self.points,
            "passed": self.passed,
            "summary": self.summary(),
            "functions": [f.to_json() for f in self.functions],
        }


def _summary_line(max_ulp: float, max_relative: float, points: int, nonfinite: int, range_errors: int,
                  unresolved: int = 0) -> str:
    line = f"max {max_ulp:.2g} ulp, max rel. error {max_relative:.2g} over {points} points; "
    line += f"{nonfinite} inf/NaN where the truth is finite" if nonfinite else "no inf/NaN where the truth is finite"
    if range_errors:
        line += f"; {range_errors} zero/subnormal/overflow results missed"
    if unresolved:
        line += f"; {unresolved} function values not compared (the reference could not resolve them)"
    return line


def _json_number(value: float) -> float | str:
    return value if math.isfinite(value) else str(value)


def _json_value(value: object) -> object:
    if isinstance(value, tuple | list):
        return [_json_value(v) for v in value]
    if isinstance(value, float):
        return _json_number(value)
    return value


# --------------------------------------------------------------------------- stress grid


def is_class_vector(loss: Loss) -> bool:
    """Whether the loss's output is a class vector (so its budget is relative, normwise)."""
    return loss.output.is_vector


def is_softmax_based(loss: Loss) -> bool:
    r"""Whether the formula holds :math:`e^{f(z_k)} / \sum_j e^{g(z_j)}` of the output vector:
    an exp of an output entry times a negative power of a sum of exps."""
    if not loss.output.is_vector:
        return False
    base = loss.output.symbol

    def exp_of_output(e: sp.Basic) -> bool:
        return isinstance(e, sp.exp) and any(x.base == base for x in e.atoms(sp.Indexed))

    def over_sum_of_exps(e: sp.Basic) -> bool:
        return (isinstance(e, sp.Pow) and e.exp.is_negative and isinstance(e.base, sp.Sum)
                and exp_of_output(e.base.function))

    return any(
        isinstance(node, sp.Mul) and any(map(exp_of_output, node.args)) and any(map(over_sum_of_exps, node.args))
        for node in sp.preorder_traversal(loss.formula)
    )


def _signed(values: Iterable[float]) -> tuple[float, ...]:
    """Each value with both signs (−0.0 included)."""
    return tuple(v for x in values for v in (x, -x))


def scalar_stress(domain: Domain) -> tuple[float, ...]:
    """The stress values of a scalar domain: each value of a finite set; counts; the unit
    interval's 1e-300 … 1−1e-16 scaled to a bounded interval; ±0, ±1e-300 … ±1e300 otherwise
    (those inside the domain)."""
    if domain.values:
        return tuple(float(v) for v in domain.values)
    if domain.integer:
        return tuple(v for v in COUNT_STRESS if domain.contains(v))
    if domain.low is not None and domain.high is not None:
        low, high = float(domain.low), float(domain.high)
        inner = tuple(low + (high - low) * u for u in UNIT_STRESS)
        return (*((low,) if not domain.low_open else ()), *inner, *((high,) if not domain.high_open else ()))
    return tuple(v for v in _signed(REAL_STRESS) if domain.contains(v))


def param_values(domain: Domain) -> tuple[float, ...]:
    """A few representative values of a hyper-parameter's domain: a finite set's values;
    the closed ends and the quarter point of an interval; low + 0.5 and low + 2 (and the
    closed low itself, else low + 1) of a half-line."""
    if domain.values:
        return tuple(float(v) for v in domain.values)
    low = None if domain.low is None else float(domain.low)
    high = None if domain.high is None else float(domain.high)
    if low is not None and high is not None:
        ends = ((low,) if not domain.low_open else ()), ((high,) if not domain.high_open else ())
        return (*ends[0], low + (high - low) / 4, *ends[1])
    if low is not None:
        return (low if not domain.low_open else low + 1, low + 0.5, low + 2)
    if high is not None:
        return (high if not domain.high_open else high - 1, high - 0.5, high - 2)
    return (-1.0, 0.5, 2.0)


def _short(values: Sequence[float]) -> tuple[float, ...]:
    return tuple(v for v in values if abs(v) in SHORT_MAGNITUDES) or tuple(values)


def _param_grid(loss: Loss) -> list[tuple[float, ...]]:
    """Every combination of :func:`param_values` when there are at most
    :data:`FULL_PARAM_GRID`; else each parameter over its values with the others at their
    middle value (the middle combination first)."""
    columns = [param_values(p.domain) for p in loss.params]
    full = list(itertools.product(*columns))
    if len(full) <= FULL_PARAM_GRID:
        return full
    middle = tuple(c[len(c) // 2] for c in columns)
    varied = [(*middle[:n], v, *middle[n + 1:]) for n, c in enumerate(columns) for v in c]
    return list(dict.fromkeys([middle, *varied]))


def stress_points(loss: Loss, *, seed: int = 0) -> list[Point]:
    """The deterministic stress grid of ``loss``: argument tuples (output, target, *inputs,
    *params), class vectors as tuples of floats (one-hot targets as 0.0/1.0 vectors).

    Elementwise losses: the output over :func:`scalar_stress` of its domain, crossed with
    the target's values, the further inputs' (shortened) values and every combination of
    :func:`param_values`.  Class-vector losses: K in 2, 3, 10 with logit scales 1, 100,
    1e4 and target classes first and last, the target's logit random, largest and smallest;
    soft and extreme labels; two points at K = 1000; masks (a −inf logit off the target)
    for softmax-based losses.  Then :data:`RANDOM_POINTS` seeded random points.
    """
    rng = np.random.default_rng(seed)
    grid = _vector_grid(loss, rng) if is_class_vector(loss) else _scalar_grid(loss)
    return grid + [_random_point(loss, rng) for _ in range(RANDOM_POINTS)]


def _scalar_grid(loss: Loss) -> list[Point]:
    columns = [scalar_stress(loss.output.domain), scalar_stress(loss.target.domain)]
    columns += [_short(scalar_stress(v.domain)) for v in loss.inputs]
    return [(*args, *params) for params in _param_grid(loss) for args in itertools.product(*columns)]


def _vector_grid(loss: Loss, rng: np.random.Generator) -> list[Point]:
    params = _param_grid(loss)
    points: list[Point] = []
    for size, scale, cls, pattern in itertools.product(CLASS_COUNTS, LOGIT_SCALES, (0, -1), ("random", "max", "min")):
        for combo in params:
            points.append(_vector_point(loss, rng, size, scale, cls % size, pattern, combo, soft=pattern == "random"))
    for scale, pattern in ((1.0, "random"), (1e4, "max")):
        points.append(_vector_point(loss, rng, LARGE_CLASS_COUNT, scale, 0, pattern, params[0], soft=False))
    if is_softmax_based(loss) and loss.output.domain.vector == "real":
        for size, scale in itertools.product((2, 3, 10), (1.0, 1e4)):
            point = _vector_point(loss, rng, size, scale, 0, "random", params[0], soft=False)
            logits = list(point[0])
            logits[size - 1] = -math.inf
            points.append((tuple(logits), *point[1:]))
    return points


def _vector_point(
    loss: Loss, rng: np.random.Generator, size: int, scale: float, cls: int, pattern: str,
    params: tuple[float, ...], *, soft: bool,
) -> Point:
    """One point of a class-vector loss: every vector variable drawn for its domain, the
    target class ``cls`` one-hot (or soft, if ``soft`` and the domain allows it), the output's
    entry ``cls`` random, the largest (by 3 scales) or the smallest."""
    values: list[object] = []
    for role, variable in enumerate((loss.output, loss.target, *loss.inputs)):
        if not variable.is_vector:
            values.append(_short(scalar_stress(variable.domain))[int(rng.integers(4)) % 4])
            continue
        values.append(_class_vector(variable.domain, rng, size, scale, cls, pattern if role == 0 else "random", soft))
    return (*values, *params)


def _class_vector(
    domain: Domain, rng: np.random.Generator, size: int, scale: float, cls: int, pattern: str, soft: bool
) -> tuple[float, ...]:
    kind = domain.vector
    if kind == "onehot" or (kind == "distribution" and not soft):
        return tuple(float(k == cls) for k in range(size))
    if kind in ("simplex", "distribution"):
        if kind == "simplex" and pattern == "max":
            return tuple(1.0 if k == cls else 1e-300 for k in range(size))
        low = 1 if kind == "simplex" else 0
        weights = rng.integers(low, DYADIC_TOTAL // (2 * size) + 1, size)
        weights[cls] += DYADIC_TOTAL - int(weights.sum())
        return tuple(float(w) / DYADIC_TOTAL for w in weights)
    entries = rng.standard_normal(size)
    if pattern == "max":
        entries[cls] = entries.max() + 3
    elif pattern == "min":
        entries[cls] = entries.min() - 3
    return tuple(float(e) * scale for e in entries)


def _random_point(loss: Loss, rng: np.random.Generator) -> Point:
    """A seeded random point: log-uniform magnitudes for real inputs, uniform in bounded
    intervals, random classes, sizes and scales for class vectors; params from their values."""
    params = tuple(float(rng.choice(param_values(p.domain))) for p in loss.params)
    if is_class_vector(loss):
        size = int(rng.choice(CLASS_COUNTS))
        scale = float(rng.choice(LOGIT_SCALES))
        return _vector_point(loss, rng, size, scale, int(rng.integers(size)), "random", params, soft=True)
    variables = (loss.output, loss.target, *loss.inputs)
    return (*(_random_scalar(v.domain, rng) for v in variables), *params)


def _random_scalar(domain: Domain, rng: np.random.Generator) -> float:
    if domain.values:
        return float(rng.choice([float(v) for v in domain.values]))
    if domain.integer:
        return float(rng.integers(int(domain.low or 0), int(domain.low or 0) + 50))
    if domain.low is not None and domain.high is not None:
        return float(domain.low) + (float(domain.high) - float(domain.low)) * float(rng.uniform(0.001, 0.999))
    magnitude = 10.0 ** float(rng.uniform(-10, 3))
    for candidate in (magnitude * float(rng.choice((-1.0, 1.0))), magnitude, -magnitude):
        if domain.contains(candidate):
            return candidate
    raise ValueError(f"cannot sample the domain {domain.name}")


# --------------------------------------------------------------------------- reference: switches


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


# --------------------------------------------------------------------------- reference: interval evaluation


@dataclass
class _Flags:
    """What one evaluation met: a kink (its value is a convention there)."""

    kink: bool = False


def _mid(x: object) -> mpmath.mpf:
    return x.mid if isinstance(x, iv.mpf) else mpmath.mpf(x)


def _near_zero(g: object, scale: object) -> bool:
    return abs(_mid(g)) <= KINK_TOLERANCE * abs(_mid(scale))


def _interval_max(*values: object) -> iv.mpf:
    items = [iv.mpf(v) for v in values]
    return iv.mpf([max(v.a for v in items), max(v.b for v in items)])


def _interval_min(*values: object) -> iv.mpf:
    items = [iv.mpf(v) for v in values]
    return iv.mpf([min(v.a for v in items), min(v.b for v in items)])


def _tied(values: Sequence[object], largest: bool) -> bool:
    mids = sorted((_mid(v) for v in values), reverse=largest)
    return len(mids) > 1 and abs(mids[0] - mids[1]) <= KINK_TOLERANCE * (abs(mids[0]) + abs(mids[1]))


def _namespace(flags: _Flags) -> dict[str, object]:
    """Interval versions of every function a declared expression may use; switches set
    ``flags.kink`` when their argument is (relatively) at 0."""

    def step(g: object, scale: object, h0: object = None) -> object:
        if _near_zero(g, scale):
            if h0 is None:
                flags.kink = True
                return iv.mpf(0.5)
            return iv.mpf(h0)
        return iv.mpf(1 if _mid(g) > 0 else 0)

    def sign(g: object, scale: object) -> object:
        if _near_zero(g, scale):
            flags.kink = True
            return iv.mpf(0)
        return iv.mpf(1 if _mid(g) > 0 else -1)

    def side(g: object, scale: object) -> int:
        if _near_zero(g, scale):
            flags.kink = True
        return 1 if _mid(g) > 0 else -1

    def tie_max(*values: object) -> object:
        flags.kink = flags.kink or _tied(values, largest=True)
        return _interval_max(*values)

    def tie_min(*values: object) -> object:
        flags.kink = flags.kink or _tied(values, largest=False)
        return _interval_min(*values)

    def softplus(x: object) -> object:  # log(1 + e^x) = x + log(1 + e^-x); as in symloss.numeric
        return x + iv.log1p(iv.exp(-x)) if _mid(x) > 0 else iv.log1p(iv.exp(x))

    return {
        "mpf": lambda v: iv.mpf(mpmath.mpf(v)),
        "pi": iv.pi, "E": iv.e, "e": iv.e,
        "exp": iv.exp, "log": iv.log, "log1p": iv.log1p, "expm1": iv.expm1, "sqrt": iv.sqrt,
        "cosh": lambda x: (iv.exp(x) + iv.exp(-x)) / 2,
        "sinh": lambda x: (iv.exp(x) - iv.exp(-x)) / 2,
        "tanh": lambda x: 1 - 2 / (iv.exp(2 * x) + 1),
        "sigmoid": lambda x: 1 / (1 + iv.exp(-x)),
        "softplus": softplus,
        "fabs": abs, "Abs": abs,
        "Max": _interval_max, "Min": _interval_min, "_TieMax": tie_max, "_TieMin": tie_min,
        "_Step": step, "_Sign": sign, "_Side": side,
        "KroneckerDelta": lambda a, b: int(a == b),
    }


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


def _compile(expr: sp.Expr, flags: _Flags, leading: tuple[sp.Symbol, ...] = ()) -> _Piece:
    bases = sorted(expr.atoms(sp.IndexedBase), key=str)
    labels = {b.label for b in bases}
    scalars = sorted((s for s in expr.free_symbols if isinstance(s, sp.Symbol) and s not in labels
                      and s not in leading), key=str)
    arguments = (*leading, *scalars, *bases)
    function = sp.lambdify(arguments, expr, modules=[_namespace(flags)], printer=MpmathPrinter(_PRINTER_SETTINGS),
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


class _Reference:
    """The declared expression of one function at a concrete class count, compiled for
    interval evaluation: entry-independent reductions first, then the entry expression."""

    def __init__(self, expr: sp.Expr, loss: Loss, size: int | None) -> None:
        self.entry = loss.index.symbol if loss.output.is_vector and loss.index is not None else None
        if loss.classes is not None and size is not None:
            expr = expr.xreplace({loss.classes.symbol: sp.Integer(size)})
        expr = _marked(sum_out_deltas(sp.sympify(expr)))
        self.flags = _Flags()
        body, reductions = _hoisted(expr, self.entry)
        self.reductions = [self._reduction(symbol, r) for symbol, r in reductions]
        leading = (self.entry,) if self.entry is not None and body.has(self.entry) else ()
        self.body = _compile(body, self.flags, leading)
        self.per_entry = bool(leading)

    def _reduction(self, symbol: sp.Dummy, node: sp.Basic) -> _Reduction:
        k, low, high = node.limits[0]
        kind = "sum" if isinstance(node, sp.Sum) else "tiemax" if isinstance(node, _TieClassMax) else "max"
        return _Reduction(symbol, kind, k, int(low), int(high), _compile(node.function, self.flags, (k,)))

    def evaluate(self, env: dict[sp.Basic, object], entries: int | None) -> tuple[list[object], bool]:
        """The intervals (one per entry of a class vector, else one) and whether a kink was met."""
        self.flags.kink = False
        for r in self.reductions:
            terms = [r.summand({**env, r.index: k}) for k in range(r.low, r.high + 1)]
            if r.kind == "sum":
                env[r.symbol] = sum(terms[1:], terms[0])
            else:
                self.flags.kink = self.flags.kink or (r.kind == "tiemax" and _tied(terms, largest=True))
                env[r.symbol] = _interval_max(*terms)
        if entries is None:
            return [self.body(env)], self.flags.kink
        if not self.per_entry:
            return [self.body(env)] * entries, self.flags.kink
        return [self.body({**env, self.entry: i}) for i in range(1, entries + 1)], self.flags.kink


@dataclass(frozen=True)
class Truth:
    """The reference at one point: per entry, the true value (None where undefined) and
    its float64 rounding; ``kink`` if the point is on a kink of the function."""

    values: tuple[mpmath.mpf | None, ...]
    rounded: tuple[float, ...]
    kink: bool

    @property
    def defined(self) -> bool:
        return all(v is not None for v in self.values)


def _resolved(x: object) -> mpmath.mpf | None:
    """The value an interval pins down, or None (see the module docstring)."""
    if not isinstance(x, iv.mpf):
        x = iv.mpf(x)
    lo, hi = mpmath.mpf(x.a), mpmath.mpf(x.b)
    if mpmath.isnan(lo) or mpmath.isnan(hi):
        return None
    if lo > LARGEST or hi < -LARGEST:
        return lo if lo > LARGEST else hi
    if not (mpmath.isfinite(lo) and mpmath.isfinite(hi)):
        return None
    if lo == hi or max(abs(lo), abs(hi)) < NEGLIGIBLE:
        return (lo + hi) / 2
    if lo * hi > 0 and hi - lo <= RESOLUTION * min(abs(lo), abs(hi)):
        return (lo + hi) / 2
    return None


def _round(value: mpmath.mpf) -> float:
    """Correct rounding to float64 (through a 30-digit decimal string, which Python rounds)."""
    if abs(value) > 2 * LARGEST or abs(value) < NEGLIGIBLE:  # far outside: no digits to print
        return math.copysign(math.inf if abs(value) > 1 else 0.0, float(mpmath.sign(value)))
    return float(mpmath.nstr(value, 30))


# --------------------------------------------------------------------------- the kernel under test


FUNCTIONS = ("value", "grad", "hess")


@dataclass(frozen=True)
class _Block:
    """Points sharing a class count and hyper-parameters: one kernel call."""

    size: int | None
    params: tuple[float, ...]
    points: tuple[Point, ...]


def _blocks(loss: Loss, points: Sequence[Point]) -> list[_Block]:
    n_args = 2 + len(loss.inputs)
    groups: dict[tuple[int | None, tuple[float, ...]], list[Point]] = {}
    for p in points:
        size = len(p[0]) if loss.output.is_vector else None
        groups.setdefault((size, tuple(p[n_args:])), []).append(p)
    return [_Block(size, params, tuple(g)) for (size, params), g in groups.items()]


def _arrays(loss: Loss, block: _Block) -> list[np.ndarray]:
    """The kernel's positional arrays: class axis last, one-hot targets as 0-based class indices."""
    arrays = []
    for position, variable in enumerate((loss.output, loss.target, *loss.inputs)):
        column = [p[position] for p in block.points]
        if variable.is_vector and variable.domain.vector == "onehot":
            arrays.append(np.array([int(np.argmax(v)) for v in column], dtype=np.int64))
        else:
            arrays.append(np.array(column, dtype=np.float64))
    return arrays


def _kernel_outputs(loss: Loss, module: ModuleType, block: _Block) -> dict[str, np.ndarray]:
    """Every function of the kernel on one block, vectorized, with reduction="none"."""
    args = _arrays(loss, block)
    kwargs = {p.name: v for p, v in zip(loss.params, block.params, strict=True)}
    name = loss.name
    calls = {"value": name, "grad": f"{name}_grad", "hess": f"{name}_hess", "value_and_grad": f"{name}_value_and_grad"}
    missing = [f for f in calls.values() if not callable(getattr(module, f, None))]
    if missing:
        raise ValueError(f"kernel module {module.__name__} lacks {', '.join(missing)}")
    with np.errstate(all="ignore"):  # overflow to inf is judged against the truth, not warned about
        out = {key: getattr(module, f)(*args, reduction="none", **kwargs) for key, f in calls.items()}
    fused_value, fused_grad = out.pop("value_and_grad")
    out["value_and_grad[value]"], out["value_and_grad[grad]"] = fused_value, fused_grad
    return {key: np.asarray(value, dtype=np.float64) for key, value in out.items()}


# --------------------------------------------------------------------------- comparison


@dataclass
class _Tally:
    """Running metrics of one function over the points compared so far."""

    points: int = 0
    excluded: int = 0
    unresolved: int = 0
    max_ulp: float = 0.0
    max_relative: float = 0.0
    nonfinite: int = 0
    range_errors: int = 0
    worst: tuple[float, Point] | None = field(default=None)

    def note(self, badness: float, point: Point) -> None:
        if self.worst is None or badness > self.worst[0]:
            self.worst = (badness, point)


def entry_errors(computed: float, true: mpmath.mpf, rounded: float) -> tuple[float, float, str]:
    """(ulps, absolute error, status) of one computed entry against its truth.

    ``ulps`` is :math:`|c - t| / \\mathrm{ulp}(\\mathrm{fl}(t))` (numpy's spacing of the
    rounded truth) and the status "normal" where the rounded truth is a normal float64;
    "tiny" where it is 0 or subnormal (ulps then in steps of 2^-1074); "overflow" where it is
    infinite (ulps 0 if the result is that infinity, else inf); "nonfinite" for an inf/NaN
    result against a finite truth.
    """
    if math.isinf(rounded):
        return (0.0 if computed == rounded else math.inf), math.inf, "overflow"
    if not math.isfinite(computed):
        return math.inf, math.inf, "nonfinite"
    error = float(abs(mpmath.mpf(computed) - true))
    if abs(rounded) >= SMALLEST_NORMAL:
        return error / float(np.spacing(abs(rounded))), error, "normal"
    return error / SUBNORMAL_STEP, error, "tiny"


def _compare(tally: _Tally, computed: np.ndarray, truth: Truth, point: Point, kind: str, budget: float) -> None:
    """Add one point (a scalar or a class vector) to the tally."""
    if truth.kink or not truth.defined:
        tally.excluded += 1
        tally.unresolved += int(not truth.defined and not truth.kink and None in truth.values)
        return
    tally.points += 1
    errors = [entry_errors(float(c), t, r) for c, t, r in zip(np.ravel(computed), truth.values, truth.rounded,
                                                            strict=True)]
    statuses = [s for _, _, s in errors]
    tally.nonfinite += statuses.count("nonfinite")
    normal_ulps = [u for u, _, s in errors if s == "normal"]
    tally.max_ulp = max([tally.max_ulp, *normal_ulps])
    norm = max(abs(r) for r in truth.rounded)
    misses = sum(1 for u, e, s in errors if (s == "overflow" and u > 0) or (s == "tiny" and e > SMALLEST_NORMAL))
    if norm >= SMALLEST_NORMAL and math.isfinite(norm):
        relative = max(e for _, e, s in errors if s != "overflow") / norm if statuses.count("overflow") < len(
            statuses) else 0.0
        tally.max_relative = max(tally.max_relative, relative)
        if len(errors) > 1 and kind == "relative":
            misses = 0  # a class vector with a normal norm is judged normwise
    else:
        relative = 0.0
    tally.range_errors += misses
    badness = math.inf if "nonfinite" in statuses or misses else (max(normal_ulps, default=0.0) if kind == "ulp"
                                                                  else relative / budget * ULP_BUDGET)
    tally.note(badness, point)


def _certificate(name: str, tally: _Tally, kind: str, budget: float) -> FunctionCertificate:
    metric = tally.max_ulp if kind == "ulp" else tally.max_relative
    passed = tally.points > 0 and tally.nonfinite == 0 and tally.range_errors == 0 and metric <= budget
    return FunctionCertificate(
        function=name, points=tally.points, excluded=tally.excluded, unresolved=tally.unresolved,
        max_ulp=tally.max_ulp, max_relative_error=tally.max_relative, nonfinite=tally.nonfinite,
        range_errors=tally.range_errors, budget_kind=kind, budget=budget, passed=passed,
        worst_point=tally.worst[1] if tally.worst is not None else None,
    )


# --------------------------------------------------------------------------- reference at the grid


class ReferenceEvaluator:
    """Truths of the declared value, gradient and Hessian of a derivation at grid points."""

    def __init__(self, derivation: Derivation) -> None:
        self.loss = derivation.loss
        self.expressions = {"value": self.loss.formula, "grad": derivation.gradient, "hess": derivation.hessian}
        self._compiled: dict[tuple[str, int | None], _Reference] = {}

    def _reference(self, function: str, size: int | None) -> _Reference:
        key = (function, size)
        if key not in self._compiled:
            self._compiled[key] = _Reference(self.expressions[function], self.loss, size)
        return self._compiled[key]

    def truth(self, function: str, point: Point) -> Truth:
        """The true value of ``function`` ("value", "grad" or "hess") at ``point``."""
        loss = self.loss
        size = len(point[0]) if loss.output.is_vector else None
        entries = size if function != "value" and loss.output.is_vector else None
        reference = self._reference(function, size)
        standins = MASK_STANDINS if _masked(point) else (None,)
        results = [self._resolve(reference, point, entries, s) for s in standins]
        values, kink = results[0]
        if len(results) > 1:
            other = results[1][0]
            values = [v if v is not None and w is not None and _agree(v, w) else None for v, w in zip(values, other,
                                                                                                       strict=True)]
            kink = kink or results[1][1]
        rounded = tuple(_round(v) if v is not None else math.nan for v in values)
        return Truth(tuple(values), rounded, kink)

    def _resolve(self, reference: _Reference, point: Point, entries: int | None,
                 standin: float | None) -> tuple[list[mpmath.mpf | None], bool]:
        values: list[mpmath.mpf | None] = []
        kink = False
        for digits in _precisions(point):
            with _precision(digits):
                try:
                    intervals, kink = reference.evaluate(self._env(point, standin), entries)
                    values = [_resolved(x) for x in intervals]
                except (ValueError, ZeroDivisionError, ArithmeticError, TypeError):
                    values = [None] * (entries or 1)
            if all(v is not None for v in values):
                break
        return values, kink

    def _env(self, point: Point, standin: float | None) -> dict[sp.Basic, object]:
        loss = self.loss
        env: dict[sp.Basic, object] = {}
        for variable, value in zip((loss.output, loss.target, *loss.inputs, *loss.params), point, strict=True):
            env[variable.symbol] = _interval_value(variable, value, standin)
        return env


def _interval_value(variable: Var, value: object, standin: float | None) -> object:
    def exact(x: float) -> iv.mpf:
        return iv.mpf(standin if x == -math.inf and standin is not None else x)

    if variable.is_vector:
        return [None, *(exact(x) for x in value)]
    return exact(value)


@contextmanager
def _precision(digits: int) -> Iterator[None]:
    """mpmath's interval and plain contexts both at ``digits`` significant digits."""
    saved = iv.dps
    iv.dps = digits
    try:
        with mpmath.workdps(digits):
            yield
    finally:
        iv.dps = saved


def _precisions(point: Point) -> tuple[int, ...]:
    """The digits to try: 50, then enough to resolve e^{±x} against 1 for the largest finite
    input x (x / ln 10 digits, at least 400; 400 when that exceeds :data:`MAX_DIGITS`, which
    still settles values far below the float64 range)."""
    magnitude = max((abs(x) for x in _flat(point) if math.isfinite(x)), default=0.0)
    needed = max(400, 60 + math.ceil(magnitude / math.log(10)))
    return (FIRST_DIGITS, needed if needed <= MAX_DIGITS else 400)


def _masked(point: Point) -> bool:
    return any(x == -math.inf for x in _flat(point))


def _flat(point: Point) -> list[float]:
    return [x for v in point for x in (v if isinstance(v, tuple) else (v,))]


def _agree(a: mpmath.mpf, b: mpmath.mpf) -> bool:
    return abs(a - b) <= RESOLUTION * max(abs(a), abs(b)) or max(abs(a), abs(b)) < NEGLIGIBLE


# --------------------------------------------------------------------------- certify


def budget_of(loss: Loss) -> tuple[str, float]:
    """("ulp", 4) for an elementwise loss, ("relative", 1e-13) for a class-vector loss."""
    return ("relative", RELATIVE_BUDGET) if is_class_vector(loss) else ("ulp", ULP_BUDGET)


def certify(derivation: Derivation, module: ModuleType, *, seed: int = 0) -> KernelCertificate:
    """Certify the kernel of ``derivation.loss`` in ``module`` on :func:`stress_points`.

    Every function (``NAME``, ``NAME_grad``, ``NAME_hess`` and both parts of
    ``NAME_value_and_grad``) is called once per block of points with
    ``reduction="none"`` and compared entry by entry with the declared expression's truth.
    """
    loss = derivation.loss
    points = stress_points(loss, seed=seed)
    kind, budget = budget_of(loss)
    reference = ReferenceEvaluator(derivation)
    sources = {"value": "value", "grad": "grad", "hess": "hess",
               "value_and_grad[value]": "value", "value_and_grad[grad]": "grad"}
    tallies = {name: _Tally() for name in sources}
    for block in _blocks(loss, points):
        outputs = _kernel_outputs(loss, module, block)
        truths = {f: [reference.truth(f, p) for p in block.points] for f in FUNCTIONS}
        for name, source in sources.items():
            for row, point in enumerate(block.points):
                _compare(tallies[name], outputs[name][row], truths[source][row], point, kind, budget)
    functions = tuple(_certificate(_function_name(loss.name, n), tallies[n], kind, budget) for n in sources)
    return KernelCertificate(loss.name, len(points), functions, all(f.passed for f in functions))


def _function_name(loss_name: str, function: str) -> str:
    return loss_name if function == "value" else f"{loss_name}_{function}"
