r"""The comparison: a kernel's outputs against the truth, point by point, and the budgets they are judged by.

Per entry: the error in ulps of the rounded truth and the absolute error; per point, the
relative error (componentwise for scalars, normwise over the class vector for class-vector
outputs), inf/NaN results where the truth is finite, and misses of a truth that is 0, subnormal or
overflowing; over the points, the largest of each and the worst point, with the rounded truth and the
kernel's value at its worst entry (:class:`Worst`).

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

import math
from dataclasses import dataclass, field

import mpmath
import numpy as np

from symloss.certify.reference import Truth
from symloss.certify.stress_grid import Point, is_class_vector
from symloss.declare.loss import Loss

ULP_BUDGET = 4.0
RELATIVE_BUDGET = 1e-13
SMALLEST_NORMAL = float(np.finfo(np.float64).tiny)
SUBNORMAL_STEP = float(np.spacing(0.0))
LARGEST = float(np.finfo(np.float64).max)
LARGEST_ULP = 2.0**971  # the spacing of the floats just below LARGEST


@dataclass(frozen=True)
class Worst:
    """The worst point so far: how far over the budget (``badness``, in ulps of the budget's scale, inf for
    an inf/NaN or a missed zero/subnormal/overflow), where (``point``), and at its worst entry the rounded
    truth and the kernel's value.  ``entry`` is that entry's index in a class vector, None for a scalar:
    the first inf/NaN or miss, else the entry with the most ulps (an ulp budget) or the largest absolute
    error (a relative budget, which is normwise over the vector)."""

    badness: float
    point: Point
    truth: float
    value: float
    entry: int | None = None


@dataclass
class Tally:
    """Running metrics of one function over the points compared so far."""

    points: int = 0
    excluded: int = 0
    unresolved: int = 0
    stable: int = 0
    max_ulp: float = 0.0
    max_relative: float = 0.0
    nonfinite: int = 0
    range_errors: int = 0
    worst: Worst | None = field(default=None)

    def note(self, worst: Worst) -> None:
        """Keep ``worst`` if it is worse than the worst so far (the first of equally bad points stays)."""
        if self.worst is None or worst.badness > self.worst.badness:
            self.worst = worst


def ulp(rounded: float) -> float:
    """The spacing of float64 at a finite ``rounded`` (numpy's, but 2^971 at the largest float, where
    numpy's spacing overflows to inf)."""
    return LARGEST_ULP if abs(rounded) == LARGEST else float(np.spacing(abs(rounded)))


def entry_errors(computed: float, true: mpmath.mpf, rounded: float) -> tuple[float, float, str]:
    """(ulps, absolute error, status) of one computed entry against its truth.

    ``ulps`` is :math:`|c - t| / \\mathrm{ulp}(\\mathrm{fl}(t))` (:func:`ulp` of the
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
        return error / ulp(rounded), error, "normal"
    return error / SUBNORMAL_STEP, error, "tiny"


def compare(tally: Tally, computed: np.ndarray, truth: Truth, point: Point, kind: str, budget: float) -> None:
    """Add one point (a scalar or a class vector) to the tally."""
    if truth.kink or not truth.defined:
        tally.excluded += 1
        tally.unresolved += int(not truth.defined and not truth.kink and None in truth.values)
        return
    tally.points += 1
    tally.stable += truth.stable
    values = [float(c) for c in np.ravel(computed)]
    errors = [entry_errors(c, t, r) for c, t, r in zip(values, truth.values, truth.rounded, strict=True)]
    statuses = [s for _, _, s in errors]
    tally.nonfinite += statuses.count("nonfinite")
    normal_ulps = [u for u, _, s in errors if s == "normal"]
    tally.max_ulp = max([tally.max_ulp, *normal_ulps])
    norm = max(abs(r) for r in truth.rounded)
    missed = [(s == "overflow" and u > 0) or (s == "tiny" and e > SMALLEST_NORMAL) for u, e, s in errors]
    if norm >= SMALLEST_NORMAL and math.isfinite(norm):
        relative = max(e for _, e, s in errors if s != "overflow") / norm if statuses.count("overflow") < len(
            statuses) else 0.0
        tally.max_relative = max(tally.max_relative, relative)
        if len(errors) > 1 and kind == "relative":
            missed = [False] * len(errors)  # a class vector with a normal norm is judged normwise
    else:
        relative = 0.0
    tally.range_errors += sum(missed)
    failed = [s == "nonfinite" or m for (_, _, s), m in zip(errors, missed, strict=True)]
    badness = math.inf if any(failed) else (max(normal_ulps, default=0.0) if kind == "ulp"
                                            else relative / budget * ULP_BUDGET)
    entry = _worst_entry(errors, failed, kind)
    tally.note(Worst(badness, point, float(truth.rounded[entry]), values[entry], entry if np.ndim(computed) else None))


def _worst_entry(errors: list[tuple[float, float, str]], failed: list[bool], kind: str) -> int:
    """The index of the entry that makes a point bad (see :class:`Worst`): the first inf/NaN or miss, else
    the most ulps off (``kind`` "ulp", entries whose truth is normal) or the largest absolute error."""
    if any(failed):
        return failed.index(True)
    if kind == "ulp" and any(s == "normal" for _, _, s in errors):
        return max(range(len(errors)), key=lambda i: errors[i][0] if errors[i][2] == "normal" else -1.0)
    return max(range(len(errors)), key=lambda i: errors[i][1] if errors[i][2] != "overflow" else -1.0)


def budget_of(loss: Loss) -> tuple[str, float]:
    """("ulp", 4) for an elementwise loss, ("relative", 1e-13) for a class-vector loss."""
    return ("relative", RELATIVE_BUDGET) if is_class_vector(loss) else ("ulp", ULP_BUDGET)
