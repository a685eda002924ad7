r"""The reference: the true value of a kernel function at a grid point, and its float64 rounding.

The truth is the *declared* expression — ``loss.formula``, ``derivation.gradient``,
``derivation.hessian``, not the kernel's own form — evaluated at the exact float inputs; only where
no precision resolves it, its proved stable form (the second reference below).

Precision.  Fixed 50-digit arithmetic is not enough for the declared forms: at :math:`z = 100`,
:math:`-\log(1-\sigma(z))` loses 43 of its 50 digits to cancellation.  So the reference is
evaluated in interval arithmetic (Arb balls, :mod:`symloss.certify.balls`, compiled by
:mod:`symloss.certify.interval_evaluation`),
starting at 50 digits, and the precision is raised until the interval pins the value down to
:math:`2^{-64}` relative (or to below the float64 subnormal range, or beyond the float64 range).

The second reference.  Where the declared form cancels beyond every precision
(:math:`-\log(1-\sigma(z))` at :math:`z = 10^{300}` would need :math:`10^{300}` digits), the
truth is taken from its *stable form*: the declared expression rewritten by the stability rules
whose claims the prover proved (:func:`symloss.emit.forms.stable_form`, before any printing
transform), hence equal to it.  Its primitives are evaluated in intervals by implementations
written from their definitions without cancellation
(:mod:`symloss.certify.interval_primitives`); a stable form with a primitive outside
``SUPPORTED_PRIMITIVES`` is no reference.  As a guard against a wrong rewrite or implementation, a
function's stable form is used only if it agrees with the declared form at every grid entry where
both resolve (off kinks), and at one at least; otherwise it is refused, and the certificate says
so.  It is used only at points the declared form leaves unresolved and counted there (``stable``
in :class:`Truth`, and in the certificate); a point that neither form resolves is *unresolved*, never compared against a
guess.

Kinks.  A point where a switch of the expression is at 0 (see
:mod:`symloss.certify.interval_evaluation`) is on a kink: its value is a convention, and the truth
says so.

Masks.  A −inf logit (a mask) enters the reference as the limit :math:`z\to-\infty`: the
expression is evaluated at :math:`z=-10^{30}` and :math:`z=-10^{60}`; when the two disagree the
limit is infinite and the point is undefined.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import mpmath
import numpy as np
import sympy as sp

from symloss.certify.balls import ball, endpoints, working_precision
from symloss.certify.interval_evaluation import (
    EvaluationFlags,
    IntervalExpression,
    NoIntervalFormError,
    compile_interval,
)
from symloss.certify.stress_grid import Point, json_value
from symloss.declare.loss import Loss
from symloss.declare.notation import Var
from symloss.derive.chain import Derivation
from symloss.emit.forms import Form, stable_form
from symloss.stabilize.engine import ProvedRule
from symloss.stabilize.rules import proved_rules

RESOLUTION = mpmath.mpf(2) ** -64  # relative width at which a reference interval is accepted
FIRST_DIGITS, MAX_DIGITS = 50, 4500  # the reference's first and largest precision
MASK_STANDINS = (-1e30, -1e60)  # a −inf logit is the limit of these
NEGLIGIBLE = mpmath.mpf(2) ** -1100  # below every float64: the truth rounds to ±0
LARGEST = mpmath.mpf(float(np.finfo(np.float64).max))


def _reference(expr: sp.Expr, loss: Loss, size: int | None) -> IntervalExpression:
    """``expr``, a function of ``loss``'s variables, compiled for ``size`` classes."""
    if loss.classes is not None and size is not None:
        expr = expr.xreplace({loss.classes.symbol: sp.Integer(size)})
    entry = loss.index.symbol if loss.output.is_vector and loss.index is not None else None
    scalars = frozenset(v.symbol for v in (loss.output, loss.target, *loss.inputs, *loss.params) if not v.is_vector)
    return IntervalExpression(expr, entry, scalars)


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


def resolved(x: object) -> mpmath.mpf | None:
    """The value a ball pins down (its midpoint, when it is narrower than :data:`RESOLUTION` relative,
    negligible, or beyond the float64 range), or None (see the module docstring)."""
    lo, hi = endpoints(x)
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


def correctly_rounded(value: mpmath.mpf) -> float:
    """``value`` correctly rounded to float64 (through a 30-digit decimal string, which Python rounds;
    ±inf beyond twice the largest float, ±0 below every float)."""
    if abs(value) > 2 * LARGEST or abs(value) < NEGLIGIBLE:  # far outside: no digits to print
        return math.copysign(math.inf if abs(value) > 1 else 0.0, float(mpmath.sign(value)))
    return float(mpmath.nstr(value, 30))


class ReferenceEvaluator:
    """Truths of the declared value, gradient and Hessian of a derivation at grid points, and,
    where the declared form cannot be resolved, of its proved stable form (see the module
    docstring).  ``rules`` are the proved rules that make the stable forms (default: proved here,
    once per process, when a stable form is first needed)."""

    def __init__(self, derivation: Derivation, rules: Sequence[ProvedRule] | None = None) -> None:
        self.loss = derivation.loss
        self.expressions = {"value": self.loss.formula, "grad": derivation.gradient, "hess": derivation.hessian}
        self.rules = rules
        self._compiled: dict[tuple[str, int | None], IntervalExpression] = {}
        self._stable: dict[tuple[str, int | None, float | None], IntervalExpression | None] = {}
        self._forms: dict[str, Form] = {}

    def _reference(self, function: str, size: int | None) -> IntervalExpression:
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

    def _stable_reference(self, function: str, size: int | None, label: float | None) -> IntervalExpression | None:
        if function not in self._forms:
            rules = self.rules if self.rules is not None else proved_rules()
            self._forms[function] = stable_form(self.expressions[function], self.loss.target, rules)
        branches = [b for b in self._forms[function].branches if b.label is None or float(b.label) == label]
        if len(branches) != 1:
            return None
        try:
            return _reference(branches[0].expr, self.loss, size)
        except NoIntervalFormError:
            return None

    def _truth(self, reference: IntervalExpression, function: str, point: Point) -> Truth:
        entries = _size(self.loss, point) if function != "value" else None
        standins = MASK_STANDINS if _masked(point) else (None,)
        results = [self._resolve(reference, point, entries, s) for s in standins]
        values, kink = results[0]
        if len(results) > 1:
            other = results[1][0]
            values = [v if v is not None and w is not None and _agree(v, w) else None for v, w in zip(values, other,
                                                                                                       strict=True)]
            kink = kink or results[1][1]
        rounded = tuple(correctly_rounded(v) if v is not None else math.nan for v in values)
        return Truth(tuple(values), rounded, kink)

    def _resolve(self, reference: IntervalExpression, point: Point, entries: int | None,
                 standin: float | None) -> tuple[list[mpmath.mpf | None], bool]:
        values: list[mpmath.mpf | None] = []
        kink = False
        for digits in precisions(point):
            with working_precision(digits):
                try:
                    intervals, kink = reference.evaluate(self._env(point, standin), entries)
                    values = [resolved(x) for x in intervals]
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
            env[variable.symbol] = compile_interval(sp.sympify(variable.unset.value), EvaluationFlags())(env)
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
            return f"it disagrees with the declared form at {json_value(point)}"
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
        return correctly_rounded(a) == correctly_rounded(b)
    return _agree(a, b, widths=2)


def _interval_value(variable: Var, value: object, standin: float | None) -> object:
    def exact(x: float) -> object:
        return ball(standin if x == -math.inf and standin is not None else x)

    if variable.is_vector:
        return [None, *(exact(x) for x in value)]
    return exact(value)


def precisions(point: Point) -> tuple[int, ...]:
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
