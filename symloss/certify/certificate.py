r"""Accuracy certificates: a kernel against the declared expression, at every stress point.

Each kernel function (loss, gradient, Hessian diagonal, and both parts of the
fused value-and-gradient) is called once per block of a deterministic stress
grid (:func:`stress_points`) and compared with the *declared* expression —
``loss.formula``, ``derivation.gradient``, ``derivation.hessian``, not the
kernel's own form — evaluated at the exact float inputs; only where no
precision resolves it, with its proved stable form (the second reference below).

The reference.  Fixed 50-digit arithmetic is not enough for the declared
forms: at :math:`z = 100`, :math:`-\log(1-\sigma(z))` loses 43 of its 50 digits
to cancellation.  So the reference is evaluated in interval arithmetic
(``mpmath.iv``), starting at 50 digits, and the precision is raised until the
interval pins the value down to :math:`2^{-64}` relative (or to below the
float64 subnormal range, or beyond the float64 range).  Class sums are evaluated
by loops over the classes, sums that do not depend on the entry :math:`i` once
per point.

The second reference.  Where the declared form cancels beyond every precision
(:math:`-\log(1-\sigma(z))` at :math:`z = 10^{300}` would need :math:`10^{300}`
digits), the truth is taken from its *stable form*: the declared expression
rewritten by the stability rules whose claims the prover proved
(:func:`symloss.emit.forms.stable_form`, before any printing transform), hence equal
to it.  Its primitives are evaluated in intervals by implementations written
from their definitions without cancellation (:data:`SCALAR_INTERVALS`,
:data:`CLASS_AXIS_INTERVALS`, each tested against its ``textbook()``); a stable
form with a primitive outside :data:`SUPPORTED_PRIMITIVES` is no reference.  As a
guard against a wrong rewrite or implementation, a function's stable form is used
only if it agrees with the declared form at every grid entry where both resolve
(off kinks), and at one at least; otherwise it is refused, and the certificate says
so.  It is used only at points the declared form leaves unresolved and counted
there (``stable`` in :class:`FunctionCertificate`); a point that neither form
resolves is *unresolved* and reported, never compared against a guess.

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
from functools import cache
from types import ModuleType

import mpmath
import numpy as np
import sympy as sp
from mpmath import iv
from sympy.printing.pycode import MpmathPrinter

from symloss.declare.likelihood import ClassMax, sum_out_deltas
from symloss.declare.loss import Loss
from symloss.declare.notation import Domain, Var
from symloss.derive.chain import Derivation
from symloss.emit.forms import Form, stable_form
from symloss.stabilize import primitives
from symloss.stabilize.engine import ProvedRule
from symloss.stabilize.rules import prove_rules

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
    undefined, or ``unresolved`` by every reference precision of the declared form and of its
    stable form).  ``stable`` of the compared points took their truth from the proved stable form,
    the declared form leaving them unresolved; ``stable_refusal`` says why the stable form was not
    used ("" if it was, or was not needed).  ``max_ulp``
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
    stable: int = 0
    stable_refusal: str = ""

    def summary(self) -> str:
        """One line: the errors, the point count, the non-finite count."""
        return _summary_line((self,), self.points)

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
            "stable": self.stable,
            "stable_refusal": self.stable_refusal,
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
        return _summary_line(self.functions, self.points)

    def to_json(self) -> dict[str, object]:
        """The certificate as JSON-able data."""
        return {
            "loss": self.loss,
            "points": self.points,
            "passed": self.passed,
            "summary": self.summary(),
            "functions": [f.to_json() for f in self.functions],
        }


def _summary_line(functions: Sequence[FunctionCertificate], points: int) -> str:
    """The errors, the point count and the counts of misses, stable-form truths and unresolved
    values over ``functions``."""
    nonfinite, range_errors = sum(f.nonfinite for f in functions), sum(f.range_errors for f in functions)
    stable, unresolved = sum(f.stable for f in functions), sum(f.unresolved for f in functions)
    refused = sum(bool(f.stable_refusal) for f in functions)
    line = (f"max {max(f.max_ulp for f in functions):.2g} ulp, "
            f"max rel. error {max(f.max_relative_error for f in functions):.2g} over {points} points; ")
    line += f"{nonfinite} inf/NaN where the truth is finite" if nonfinite else "no inf/NaN where the truth is finite"
    if range_errors:
        line += f"; {range_errors} zero/subnormal/overflow results missed"
    if stable:
        line += (f"; {stable} function values compared against the proved stable form "
                 "(the declared form could not resolve them)")
    if unresolved:
        line += f"; {unresolved} function values not compared (the reference could not resolve them)"
    if refused:
        line += f"; the stable form was refused as a reference for {refused} function(s)"
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


def _param_grid(loss: Loss) -> list[tuple[float | None, ...]]:
    """Every combination of :func:`param_values` (and None for an option that accepts it) when there
    are at most :data:`FULL_PARAM_GRID`; else each parameter over its values with the others at their
    middle value (the middle combination first)."""
    values = [param_values(p.domain) for p in loss.params]
    columns = [(*v, None) if p.unset is not None else v for p, v in zip(loss.params, values, strict=True)]
    full = list(itertools.product(*columns))
    if len(full) <= FULL_PARAM_GRID:
        return full
    middle = tuple(v[len(v) // 2] for v in values)
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


# --------------------------------------------------------------------------- reference: primitives in intervals
#
# Each function below is the primitive's defining expression (its ``textbook()``) regrouped by an
# identity that holds for every real argument, so that no two nearly equal intervals are
# subtracted; which identity is used never depends on the argument, or only through a choice
# between identities that all hold there (softplus's, the shift of a softmax).  tests/test_certify.py
# checks each against
# ``textbook()``.  A primitive missing here has no interval implementation: a stable form using it
# is never a reference.


def _iv_softplus(x: object) -> object:
    """log(1 + e^x) = x + log1p(e^-x) = log1p(e^x)."""
    return x + iv.log1p(iv.exp(-x)) if _mid(x) > 0 else iv.log1p(iv.exp(x))


def _iv_sinh(x: object) -> object:
    """sinh x = (expm1(x) − expm1(−x))/2: the two terms have opposite signs, nothing cancels."""
    return (iv.expm1(x) - iv.expm1(-x)) / 2


def _iv_logcosh(x: object) -> object:
    """log cosh x = log1p(2 sinh²(x/2))."""
    return iv.log1p(2 * _iv_sinh(x / 2) ** 2)


def _iv_sech2(x: object) -> object:
    """1/cosh² x = 1/(1 + 2 sinh²(x/2))²."""
    return 1 / (1 + 2 * _iv_sinh(x / 2) ** 2) ** 2


def _iv_tanh(x: object) -> object:
    """tanh x = expm1(2x)/(expm1(2x) + 2), the denominator at least 1."""
    e = iv.expm1(2 * x)
    return e / (e + 2)


def _iv_sigmoid_pow(a: object, c: object) -> object:
    """σ(a)^c = e^{−c softplus(−a)}."""
    return iv.exp(-c * _iv_softplus(-a))


def _iv_sigmoid_powers(x: object, a: object, b: object, *root: object) -> object:
    """σ(x)^a σ(−x)^b (e^{L−x} − 1) = e^{−a softplus(−x) − b softplus(x)} expm1(L − x)."""
    product = iv.exp(-a * _iv_softplus(-x) - b * _iv_softplus(x))
    return product * iv.expm1(root[0] - x) if root else product


def _iv_sigmoid_expm1(a: object, root: object) -> object:
    """σ(a)(e^{L−a} − 1) = expm1(L − a)/(1 + e^−a)."""
    return iv.expm1(root - a) / (1 + iv.exp(-a))


def _iv_exp_minus(a: object, t: object) -> object:
    """e^a − t = expm1(a) − (t − 1), t − 1 exact for a float t."""
    return iv.expm1(a) - (t - 1)


def _iv_kl_div(p: object, q: object) -> object:
    """p log(p/q) − p + q = q h(x), x = (p − q)/q, h(x) = (1 + x) log1p(x) − x (undefined at p = 0,
    as the textbook form is)."""
    x = (p - q) / q
    return q * ((1 + x) * iv.log1p(x) - x)


SCALAR_INTERVALS: Mapping[type[primitives.Primitive], Callable[..., object]] = {
    primitives.sigmoid_pow: _iv_sigmoid_pow,
    primitives.sigmoid_powers: _iv_sigmoid_powers,
    primitives.sigmoid_expm1: _iv_sigmoid_expm1,
    primitives.exp_minus: _iv_exp_minus,
    primitives.kl_div: _iv_kl_div,
    primitives.logcosh: _iv_logcosh,
    primitives.sech2: _iv_sech2,
    primitives.logcosh_of_sum: lambda x, y: _iv_logcosh(x + y),  # the sum is exact in intervals
    primitives.tanh_of_sum: lambda x, y: _iv_tanh(x + y),
    primitives.sech2_of_sum: lambda x, y: _iv_sech2(x + y),
    primitives.square_of_sum: lambda x, y: (x + y) ** 2,
}
"""Interval implementations of the scalar primitives, by class (printed under the class name)."""


def _others(terms: Sequence[object]) -> list[object]:
    r""":math:`\sum_{j \ne k} t_j` for every k, from prefix and suffix sums (the own term is never
    subtracted from the total)."""
    before, after = [iv.mpf(0)], [iv.mpf(0)]
    for t in terms[:-1]:
        before.append(before[-1] + t)
    for t in reversed(terms[1:]):
        after.append(after[-1] + t)
    return [b + a for b, a in zip(before, reversed(after), strict=True)]


def _softmax_parts(entries: Sequence[object]) -> tuple[int, list[object], list[object]]:
    r"""(a, :math:`x`, :math:`o`): a the largest entry by midpoint (any shift is an identity),
    :math:`x_k = e^{e_k - e_a}` and :math:`o_k = \sum_{j \ne k} x_j > 0`.  Then
    :math:`\operatorname{softmax}_k = x_k/(x_k + o_k)` and :math:`\log\operatorname{softmax}_k =
    -\operatorname{log1p}(o_k/x_k)`: sums of positive terms, quotients and a log1p, nothing cancels."""
    top = max(range(len(entries)), key=lambda j: _mid(entries[j]))
    shifted = [iv.exp(e - entries[top]) for e in entries]
    return top, shifted, _others(shifted)


def _per_class(entry: Callable[[object, object], object]) -> Callable[[Sequence[object]], list[object]]:
    """The class-axis primitive whose entry k is ``entry(x_k, o_k)`` (see :func:`_softmax_parts`)."""

    def evaluate(entries: Sequence[object]) -> list[object]:
        _, x, o = _softmax_parts(entries)
        return [entry(xk, ok) for xk, ok in zip(x, o, strict=True)]

    return evaluate


def _iv_logsumexp(entries: Sequence[object]) -> list[object]:
    """log Σ_j e^{e_j} = e_a + log1p(o_a) (x_a = 1), the same for every class."""
    top, _, o = _softmax_parts(entries)
    return [entries[top] + iv.log1p(o[top])] * len(entries)


CLASS_AXIS_INTERVALS: Mapping[type[primitives.ClassAxisPrimitive], Callable[[Sequence[object]], list[object]]] = {
    primitives.Softmax: _per_class(lambda x, o: x / (x + o)),
    primitives.SoftmaxComplement: _per_class(lambda x, o: o / (x + o)),
    primitives.LogSoftmax: _per_class(lambda x, o: -iv.log1p(o / x)),
    primitives.SoftmaxXLogXRatio: _per_class(lambda x, o: -iv.log1p(o / x) / (o / x)),  # o/x = (1 − p)/p
    primitives.LogSumExp: _iv_logsumexp,
}
"""Interval implementations of the class-axis primitives: the entries e_1 … e_K → the value for
every class (a primitives.LogSumExp, whose index is bound, gives its one value K times).  LogSoftmaxRemainder
has none: its cancellation-free form is a series whose remainder would need a rigorous bound."""

SUPPORTED_PRIMITIVES = frozenset({*SCALAR_INTERVALS, *CLASS_AXIS_INTERVALS, primitives.SumOthers,
                                  primitives.OtherClassesSum})
"""The primitives a stable form may use to serve as a reference."""


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

    return {
        "mpf": lambda v: iv.mpf(mpmath.mpf(v)),
        "pi": iv.pi, "E": iv.e, "e": iv.e,
        "exp": iv.exp, "log": iv.log, "log1p": iv.log1p, "expm1": iv.expm1, "sqrt": iv.sqrt,
        "cosh": lambda x: (iv.exp(x) + iv.exp(-x)) / 2,
        "sinh": lambda x: (iv.exp(x) - iv.exp(-x)) / 2,
        "tanh": lambda x: 1 - 2 / (iv.exp(2 * x) + 1),  # resolves at huge |x|, where _iv_tanh's expm1 overflows
        "sigmoid": lambda x: 1 / (1 + iv.exp(-x)),
        "softplus": _iv_softplus,
        **{primitive.__name__: function for primitive, function in SCALAR_INTERVALS.items()},
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


class NoIntervalFormError(ValueError):
    """A stable form the interval reference cannot evaluate (a primitive without an interval
    implementation, a class-axis primitive whose entries depend on another class index)."""


@dataclass(frozen=True)
class _ClassVector:
    """A class-axis primitive of a stable form, evaluated for every class at once: its entries
    f(1) … f(K), then ``combine`` (an implementation of :data:`CLASS_AXIS_INTERVALS`, or
    :func:`_others`), stored 1-based under ``symbol`` like a class-vector input."""

    symbol: sp.IndexedBase
    index: sp.Symbol
    count: int
    entry: _Piece
    combine: Callable[[Sequence[object]], list[object]]

    def __call__(self, env: Mapping[sp.Basic, object]) -> list[object]:
        entries = [self.entry({**env, self.index: k}) for k in range(1, self.count + 1)]
        return [None, *self.combine(entries)]


def _class_vectors(expr: sp.Expr, flags: _Flags, scalars: frozenset[sp.Symbol]) -> tuple[sp.Expr, list[_ClassVector]]:
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
        vectors.append(_ClassVector(symbol, index, int(count), _compile(entry, flags, (index,)), combine))
        return symbol

    def rewrite(node: primitives.Primitive) -> sp.Expr:
        if isinstance(node, primitives.OtherClassesSum):
            weight, summand, k, count, i = node.args
            return weight * vector(summand, k, count, _others)[i]
        if isinstance(node, primitives.SumOthers):
            entry, k, count = node.args
            return vector(entry, k, count, _others)[k]
        position = 1 if isinstance(node, primitives.LogSumExp) else node.index
        return vector(node.entry, node.index, node.count, CLASS_AXIS_INTERVALS[type(node)])[position]

    vectorial = (primitives.SumOthers, primitives.OtherClassesSum, *CLASS_AXIS_INTERVALS)
    return expr.replace(lambda e: isinstance(e, vectorial), rewrite), vectors


class _Reference:
    """An expression of one function (declared, or a proved stable form) at a concrete class count,
    compiled for interval evaluation: class-axis primitives first (a stable form's), then
    entry-independent reductions, then the entry expression."""

    def __init__(self, expr: sp.Expr, entry: sp.Symbol | None, scalars: frozenset[sp.Symbol]) -> None:
        self.entry = entry
        expr = _marked(sum_out_deltas(sp.sympify(expr)))
        self.flags = _Flags()
        expr, self.vectors = _class_vectors(expr, self.flags, scalars)
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
        for v in self.vectors:
            env[v.symbol] = v(env)
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


def _reference(expr: sp.Expr, loss: Loss, size: int | None) -> _Reference:
    """``expr``, a function of ``loss``'s variables, compiled for ``size`` classes."""
    if loss.classes is not None and size is not None:
        expr = expr.xreplace({loss.classes.symbol: sp.Integer(size)})
    entry = loss.index.symbol if loss.output.is_vector and loss.index is not None else None
    scalars = frozenset(v.symbol for v in (loss.output, loss.target, *loss.inputs, *loss.params) if not v.is_vector)
    return _Reference(expr, entry, scalars)


def interval_value(expr: sp.Expr, env: Mapping[sp.Basic, object], entry: sp.Symbol | None = None,
                   entries: int | None = None) -> list[object]:
    """``expr`` (with primitives, a fixed class count) in interval arithmetic at the current
    ``iv.dps``, as the reference evaluates it: ``env`` gives every scalar symbol an interval and every
    class vector a 1-based list (index 0 unused); one interval, or one per ``entry`` = 1 … ``entries``."""
    scalars = frozenset(s for s in env if isinstance(s, sp.Symbol))
    return _Reference(expr, entry, scalars).evaluate(dict(env), entries)[0]


@dataclass(frozen=True)
class Truth:
    """The reference at one point: per entry, the true value (None where undefined) and
    its float64 rounding; ``kink`` if the point is on a kink of the function."""

    values: tuple[mpmath.mpf | None, ...]
    rounded: tuple[float, ...]
    kink: bool
    stable: bool = False  # some entry is the proved stable form's (the declared form left it unresolved)

    @property
    def defined(self) -> bool:
        return all(v is not None for v in self.values)


@dataclass(frozen=True)
class Truths:
    """The truths of one function over the grid, and why its stable form was refused ("" if it
    was used or not needed)."""

    values: tuple[Truth, ...]
    refusal: str = ""


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


LABEL_FORMS = {"onehot": ("indices", "rows"), "distribution": ("rows", "indices")}  # the first as the kernel's own


def label_forms(loss: Loss, block: _Block) -> list[tuple[str, _Block]]:
    """The forms the block's class labels are given to the kernel in, each with the points it takes:
    "rows" (one-hot or soft, every point) and, for a target that also accepts them, "indices" (0-based
    class indices, the points whose target is one-hot)."""
    forms = LABEL_FORMS.get(loss.target.domain.vector or "", ("rows",))
    if forms == ("rows",):
        return [("rows", block)]
    one_hot = tuple(p for p in block.points if sorted(p[1]) == [0.0] * (len(p[1]) - 1) + [1.0])
    subsets = {"rows": block, "indices": _Block(block.size, block.params, one_hot)}
    return [(form, subsets[form]) for form in forms if subsets[form].points]


def _arrays(loss: Loss, block: _Block, form: str) -> list[np.ndarray]:
    """The kernel's positional arrays: class axis last, one-hot targets as rows or as 0-based class indices."""
    arrays = []
    for position, variable in enumerate((loss.output, loss.target, *loss.inputs)):
        column = [p[position] for p in block.points]
        if variable is loss.target and variable.is_vector and form == "indices":
            arrays.append(np.array([int(np.argmax(v)) for v in column], dtype=np.int64))
        else:
            arrays.append(np.array(column, dtype=np.float64))
    return arrays


def _kernel_outputs(loss: Loss, module: ModuleType, block: _Block, form: str = "rows") -> dict[str, np.ndarray]:
    """Every function of the kernel on one block, vectorized, with reduction="none", the labels in ``form``."""
    args = _arrays(loss, block, form)
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
    stable: int = 0
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
    tally.stable += truth.stable
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


def _certificate(name: str, tally: _Tally, kind: str, budget: float, refusal: str = "") -> FunctionCertificate:
    metric = tally.max_ulp if kind == "ulp" else tally.max_relative
    passed = tally.points > 0 and tally.nonfinite == 0 and tally.range_errors == 0 and metric <= budget
    return FunctionCertificate(
        function=name, points=tally.points, excluded=tally.excluded, unresolved=tally.unresolved,
        max_ulp=tally.max_ulp, max_relative_error=tally.max_relative, nonfinite=tally.nonfinite,
        range_errors=tally.range_errors, budget_kind=kind, budget=budget, passed=passed,
        worst_point=tally.worst[1] if tally.worst is not None else None,
        stable=tally.stable, stable_refusal=refusal,
    )


# --------------------------------------------------------------------------- reference at the grid


class ReferenceEvaluator:
    """Truths of the declared value, gradient and Hessian of a derivation at grid points, and,
    where the declared form cannot be resolved, of its proved stable form (see the module
    docstring).  ``rules`` are the proved rules that make the stable forms (default: proved here,
    once per process, when a stable form is first needed)."""

    def __init__(self, derivation: Derivation, rules: Sequence[ProvedRule] | None = None) -> None:
        self.loss = derivation.loss
        self.expressions = {"value": self.loss.formula, "grad": derivation.gradient, "hess": derivation.hessian}
        self.rules = rules
        self._compiled: dict[tuple[str, int | None], _Reference] = {}
        self._stable: dict[tuple[str, int | None, float | None], _Reference | None] = {}
        self._forms: dict[str, Form] = {}

    def _reference(self, function: str, size: int | None) -> _Reference:
        key = (function, size)
        if key not in self._compiled:
            self._compiled[key] = _reference(self.expressions[function], self.loss, size)
        return self._compiled[key]

    def truth(self, function: str, point: Point) -> Truth:
        """The true value of ``function`` ("value", "grad" or "hess") at ``point``, from the declared form."""
        return self._truth(self._reference(function, _size(self.loss, point)), function, point)

    def truths(self, function: str, points: Sequence[Point]) -> Truths:
        """The truths of ``function`` at ``points``: the declared form's, and at the points the declared
        form leaves unresolved the proved stable form's, provided the stable form agrees with the
        declared one wherever both resolve (and somewhere does); else the declared form's alone, with
        the reason the stable form was refused."""
        declared = [self.truth(function, p) for p in points]
        if not any(map(_unresolved, declared)):
            return Truths(tuple(declared))
        stable = [None if d.kink else self.stable_truth(function, p) for p, d in zip(points, declared, strict=True)]
        refusal = _refusal(points, declared, stable)
        if refusal:
            return Truths(tuple(declared), refusal)
        return Truths(tuple(_merged(d, s) if _unresolved(d) else d for d, s in zip(declared, stable, strict=True)))

    def stable_truth(self, function: str, point: Point) -> Truth | None:
        """The truth of ``function`` at ``point`` from its proved stable form (the branch of the
        point's label), or None where the stable form has no interval implementation."""
        size = _size(self.loss, point)
        label = float(point[1]) if not self.loss.target.is_vector else None
        key = (function, size, label)
        if key not in self._stable:
            self._stable[key] = self._stable_reference(function, size, label)
        reference = self._stable[key]
        return None if reference is None else self._truth(reference, function, point)

    def _stable_reference(self, function: str, size: int | None, label: float | None) -> _Reference | None:
        if function not in self._forms:
            rules = self.rules if self.rules is not None else _proved_rules()
            self._forms[function] = stable_form(self.expressions[function], self.loss.target, rules)
        branches = [b for b in self._forms[function].branches if b.label is None or float(b.label) == label]
        if len(branches) != 1:
            return None
        try:
            return _reference(branches[0].expr, self.loss, size)
        except NoIntervalFormError:
            return None

    def _truth(self, reference: _Reference, function: str, point: Point) -> Truth:
        entries = _size(self.loss, point) if function != "value" else None
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
        """The point's values as intervals; an option given as None takes the value it declares for
        None (an expression of the other variables, e.g. alpha = y: no class balancing)."""
        loss = self.loss
        env: dict[sp.Basic, object] = {}
        unset = []
        for variable, value in zip((loss.output, loss.target, *loss.inputs, *loss.params), point, strict=True):
            if value is None and variable.unset is not None:
                unset.append(variable)
            else:
                env[variable.symbol] = _interval_value(variable, value, standin)
        for variable in unset:
            env[variable.symbol] = _compile(sp.sympify(variable.unset.value), _Flags())(env)
        return env


def _size(loss: Loss, point: Point) -> int | None:
    return len(point[0]) if loss.output.is_vector else None


def _unresolved(truth: Truth) -> bool:
    """Whether the reference left ``truth`` undecided (not on a kink, some entry unknown)."""
    return not truth.defined and not truth.kink


def _refusal(points: Sequence[Point], declared: Sequence[Truth], stable: Sequence[Truth | None]) -> str:
    """Why the stable form may not stand in for the declared one ("" if it may): it must agree with
    the declared form at every entry both resolve (off kinks), and there must be such an entry."""
    checked = 0
    for point, d, s in zip(points, declared, stable, strict=True):
        if s is None or s.kink:
            continue
        pairs = [(v, w) for v, w in zip(d.values, s.values, strict=True) if v is not None and w is not None]
        if not all(_consistent(v, w) for v, w in pairs):
            return f"it disagrees with the declared form at {_json_value(point)}"
        checked += len(pairs)
    return "" if checked else "no value where both forms resolve to check it against"


def _merged(declared: Truth, stable: Truth | None) -> Truth:
    """The declared truth with its unresolved entries taken from the stable one, when that resolves
    all of them off a kink; else the declared truth unchanged."""
    if stable is None or stable.kink:
        return declared
    values = tuple(v if v is not None else w for v, w in zip(declared.values, stable.values, strict=True))
    if any(v is None for v in values):
        return declared
    rounded = tuple(r if v is not None else q for v, r, q in zip(declared.values, declared.rounded, stable.rounded,
                                                                 strict=True))
    return Truth(values, rounded, kink=False, stable=True)


def _consistent(a: mpmath.mpf, b: mpmath.mpf) -> bool:
    """Whether two resolved values (each the midpoint of an interval of relative width at most
    :data:`RESOLUTION`) can be the same number: within both widths, both negligible, or beyond the
    float64 range on the same side."""
    if max(abs(a), abs(b)) > LARGEST:
        return _round(a) == _round(b)
    return _agree(a, b, widths=2)


@cache
def _proved_rules() -> tuple[ProvedRule, ...]:
    """The stability rules with their verdicts, proved once per process."""
    return prove_rules()


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
    """Every number of the point (an option given as None is none)."""
    return [x for v in point for x in (v if isinstance(v, tuple) else (v,)) if x is not None]


def _agree(a: mpmath.mpf, b: mpmath.mpf, widths: int = 1) -> bool:
    """Whether ``a`` and ``b`` lie within ``widths`` resolutions of each other, or are both negligible."""
    return abs(a - b) <= widths * RESOLUTION * max(abs(a), abs(b)) or max(abs(a), abs(b)) < NEGLIGIBLE


# --------------------------------------------------------------------------- certify


def budget_of(loss: Loss) -> tuple[str, float]:
    """("ulp", 4) for an elementwise loss, ("relative", 1e-13) for a class-vector loss."""
    return ("relative", RELATIVE_BUDGET) if is_class_vector(loss) else ("ulp", ULP_BUDGET)


def certify(derivation: Derivation, module: ModuleType, *, seed: int = 0,
            rules: Sequence[ProvedRule] | None = None) -> KernelCertificate:
    """Certify the kernel of ``derivation.loss`` in ``module`` on :func:`stress_points`.

    Every function (``NAME``, ``NAME_grad``, ``NAME_hess`` and both parts of
    ``NAME_value_and_grad``) is called once per block of points with
    ``reduction="none"`` and compared entry by entry with the declared expression's truth, or,
    where that is unresolved, with the truth of its stable form made by the proved ``rules``
    (:meth:`ReferenceEvaluator.truths`; default: the rules proved in this process).
    """
    loss = derivation.loss
    points = stress_points(loss, seed=seed)
    kind, budget = budget_of(loss)
    reference = ReferenceEvaluator(derivation, rules)
    truths = {f: reference.truths(f, points) for f in FUNCTIONS}
    at = {f: dict(zip(points, t.values, strict=True)) for f, t in truths.items()}
    sources = {"value": "value", "grad": "grad", "hess": "hess",
               "value_and_grad[value]": "value", "value_and_grad[grad]": "grad"}
    tallies: dict[tuple[str, str], _Tally] = {}
    for block in _blocks(loss, points):
        for form, taken in label_forms(loss, block):
            outputs = _kernel_outputs(loss, module, taken, form)
            for name, source in sources.items():
                tally = tallies.setdefault((name, form), _Tally())
                for row, point in enumerate(taken.points):
                    _compare(tally, outputs[name][row], at[source][point], point, kind, budget)
    own = LABEL_FORMS.get(loss.target.domain.vector or "", ("rows",))[0]
    functions = tuple(_certificate(_function_name(loss.name, n, form, own), tallies[n, form], kind, budget,
                                   truths[sources[n]].refusal)
                      for form in dict.fromkeys(f for _, f in tallies) for n in sources)
    return KernelCertificate(loss.name, len(points), functions, all(f.passed for f in functions))


def _function_name(loss_name: str, function: str, form: str = "rows", own: str = "rows") -> str:
    """``NAME``, ``NAME_grad`` …, with the label form when it is not the target's own ("NAME (indices)")."""
    name = loss_name if function == "value" else f"{loss_name}_{function}"
    return name if form == own else f"{name} ({'integer labels' if form == 'indices' else 'one-hot rows'})"
