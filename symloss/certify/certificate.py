r"""Accuracy certificates: a kernel against the declared expression, at every stress point.

Each kernel function (loss, gradient, Hessian diagonal, and both parts of the fused
value-and-gradient) is called once per block of the deterministic stress grid
(:mod:`symloss.certify.stress_grid`) and compared (:mod:`symloss.certify.comparison`) with the
truth of the *declared* expression, evaluated in interval arithmetic at the exact float inputs —
where no precision resolves it, with its proved stable form (:mod:`symloss.certify.reference`).
A point on a kink, or whose truth is undefined or unresolved, is excluded from that function's
comparison and counted.  This module holds the results (:class:`FunctionCertificate`,
:class:`KernelCertificate`, their one-line summaries and JSON) and the entry point :func:`certify`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType

import numpy as np

from symloss.certify.comparison import Tally, budget_of, compare
from symloss.certify.reference import ReferenceEvaluator
from symloss.certify.stress_grid import (
    DENSE_POINTS,
    Point,
    Sampling,
    json_number,
    json_value,
    sampling_of,
    stress_points,
)
from symloss.declare.loss import Loss
from symloss.derive.chain import Derivation
from symloss.stabilize.engine import ProvedRule

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
    whose truth is 0, subnormal or overflowing and that miss it (see the budgets in
    :mod:`symloss.certify.comparison`).  ``worst_point`` is the point furthest over the budget (the
    first of equally bad ones), ``worst_truth`` and ``worst_value`` the rounded truth and the kernel's
    value there, at the entry ``worst_entry`` of a class vector (None for a scalar output).
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
    worst_truth: float | None = None
    worst_value: float | None = None
    worst_entry: int | None = None

    def summary(self) -> str:
        """One line: the errors, the point count, the non-finite count."""
        return _summary_line((self,), self.points)

    def worst_text(self, names: Sequence[str]) -> str:
        """The worst point, coordinate by coordinate (``names``: output, target, inputs, parameters), with
        the truth and the kernel's value there, e.g. "yhat=1.5, y=0.0: truth 2.25, kernel 2.2500000000000004";
        for a class vector its worst entry, e.g. "z=(…), y=(…): entry 2 of 3: truth 0.25, kernel 0.5"
        (empty if no point was compared)."""
        if self.worst_point is None:
            return ""
        text = point_text(names, self.worst_point)
        if self.worst_truth is None or self.worst_value is None:
            return text
        if self.worst_entry is not None:
            size = next((len(v) for v in self.worst_point if isinstance(v, tuple)), None)
            text += f": entry {self.worst_entry}" + ("" if size is None else f" of {size}")
        return f"{text}: truth {self.worst_truth!r}, kernel {self.worst_value!r}"

    def to_json(self) -> dict[str, object]:
        """The certificate as JSON-able data (non-finite floats as strings)."""
        return {
            "function": self.function,
            "points": self.points,
            "excluded": self.excluded,
            "unresolved": self.unresolved,
            "max_ulp": json_number(self.max_ulp),
            "max_relative_error": json_number(self.max_relative_error),
            "nonfinite": self.nonfinite,
            "range_errors": self.range_errors,
            "budget_kind": self.budget_kind,
            "budget": self.budget,
            "passed": self.passed,
            "worst_point": json_value(self.worst_point),
            "worst_truth": json_value(self.worst_truth),
            "worst_value": json_value(self.worst_value),
            "worst_entry": self.worst_entry,
            "stable": self.stable,
            "stable_refusal": self.stable_refusal,
        }


@dataclass(frozen=True)
class KernelCertificate:
    """The certificates of every function of one loss's kernel, over ``points`` points drawn as
    ``sampling`` says."""

    loss: str
    points: int
    functions: tuple[FunctionCertificate, ...]
    passed: bool
    sampling: Sampling | None = None

    def summary(self) -> str:
        """One line for a docstring, e.g. "max 2 ulp, max rel. error 3.1e-16 over 4800 points;
        no inf/NaN where the truth is finite; sampled: 4800 points (704 on the stress grid, 4096 random
        by binade, seed 0) over yhat ∈ …; worst: mse_grad, 2 ulp at yhat=…, y=…: truth …, kernel …"."""
        line = _summary_line(self.functions, self.points)
        if self.sampling is None:
            return line
        line += f"; sampled: {self.sampling.describe()}"
        worst = self.worst()
        if worst is not None and worst.worst_point is not None:
            line += f"; worst: {worst.function}, {_worst_error(worst)} at {worst.worst_text(self.sampling.names)}"
        return line

    def worst(self) -> FunctionCertificate | None:
        """The function furthest over (or nearest to) its budget: failures first, then by error / budget."""
        if not self.functions:
            return None
        return max(self.functions, key=lambda f: (not f.passed, _error_ratio(f)))

    def to_json(self) -> dict[str, object]:
        """The certificate as JSON-able data."""
        return {
            "loss": self.loss,
            "points": self.points,
            "passed": self.passed,
            "summary": self.summary(),
            "sampling": None if self.sampling is None else {
                "seed": self.sampling.seed, "grid": self.sampling.grid, "random": self.sampling.random,
                "ranges": dict(self.sampling.ranges)},
            "functions": [f.to_json() for f in self.functions],
        }


SHOWN_ENTRIES = 10  # a longer class vector is shown by its first and last entries and its length


def point_text(names: Sequence[str], point: Point) -> str:
    """A point as "name=value, …", floats as Python prints them (``repr``: exact, inf, nan); a class
    vector longer than :data:`SHOWN_ENTRIES` as its first three and last entries and its length,
    e.g. "z=(0.1, 0.2, 0.3, …, 0.9; 1000 entries)"."""
    return ", ".join(f"{name}={_value_text(value)}" for name, value in zip(names, point, strict=False))


def _value_text(value: object) -> str:
    if not isinstance(value, tuple) or len(value) <= SHOWN_ENTRIES:
        return repr(value)
    shown = ", ".join(repr(v) for v in value[:3])
    return f"({shown}, …, {value[-1]!r}; {len(value)} entries)"


def _error_ratio(function: FunctionCertificate) -> float:
    """The function's error in its budget's metric over its budget."""
    metric = function.max_ulp if function.budget_kind == "ulp" else function.max_relative_error
    return metric / function.budget


def _error(function: FunctionCertificate) -> str:
    """The function's error in its budget's metric, e.g. "2.1 ulp" or "rel. error 3e-16"."""
    if function.budget_kind == "ulp":
        return f"{function.max_ulp:.2g} ulp"
    return f"rel. error {function.max_relative_error:.2g}"


def _worst_error(function: FunctionCertificate) -> str:
    """What goes wrong at the function's worst point: an inf/NaN or a missed zero/subnormal/overflow when
    there are any (those points are the worst), else its error (:func:`_error`)."""
    if function.nonfinite or function.range_errors:
        return "an inf/NaN or a missed zero/subnormal/overflow"
    return _error(function)


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


# --------------------------------------------------------------------------- certify


def _certificate(name: str, tally: Tally, kind: str, budget: float, refusal: str = "") -> FunctionCertificate:
    """The certificate of one function from its tally: passed if some point was compared, no result was
    inf/NaN where the truth is finite, none missed a zero/subnormal/overflowing truth, and the metric
    of ``kind`` is within ``budget``."""
    metric = tally.max_ulp if kind == "ulp" else tally.max_relative
    passed = tally.points > 0 and tally.nonfinite == 0 and tally.range_errors == 0 and metric <= budget
    worst = tally.worst
    return FunctionCertificate(
        function=name, points=tally.points, excluded=tally.excluded, unresolved=tally.unresolved,
        max_ulp=tally.max_ulp, max_relative_error=tally.max_relative, nonfinite=tally.nonfinite,
        range_errors=tally.range_errors, budget_kind=kind, budget=budget, passed=passed,
        worst_point=None if worst is None else worst.point, stable=tally.stable, stable_refusal=refusal,
        worst_truth=None if worst is None else worst.truth, worst_value=None if worst is None else worst.value,
        worst_entry=None if worst is None else worst.entry,
    )


def certify(derivation: Derivation, module: ModuleType, *, seed: int = 0, dense: int = DENSE_POINTS,
            rules: Sequence[ProvedRule] | None = None) -> KernelCertificate:
    """Certify the kernel of ``derivation.loss`` in ``module`` on the stress grid and ``dense`` random points
    over the whole domain of every input and parameter (:func:`stress_points`, seeded by ``seed``).

    Every function (``NAME``, ``NAME_grad``, ``NAME_hess`` and both parts of
    ``NAME_value_and_grad``) is called once per block of points with
    ``reduction="none"`` and compared entry by entry with the declared expression's truth, or,
    where that is unresolved, with the truth of its stable form made by the proved ``rules``
    (:meth:`~symloss.certify.reference.ReferenceEvaluator.truths`; default: the rules proved in this process).
    """
    loss = derivation.loss
    points = stress_points(loss, seed=seed, dense=dense)
    kind, budget = budget_of(loss)
    reference = ReferenceEvaluator(derivation, rules)
    truths = {f: reference.truths(f, points) for f in FUNCTIONS}
    at = {f: dict(zip(points, t.values, strict=True)) for f, t in truths.items()}
    sources = {"value": "value", "grad": "grad", "hess": "hess",
               "value_and_grad[value]": "value", "value_and_grad[grad]": "grad"}
    tallies: dict[tuple[str, str], Tally] = {}
    for block in _blocks(loss, points):
        for form, taken in label_forms(loss, block):
            outputs = _kernel_outputs(loss, module, taken, form)
            for name, source in sources.items():
                tally = tallies.setdefault((name, form), Tally())
                for row, point in enumerate(taken.points):
                    compare(tally, outputs[name][row], at[source][point], point, kind, budget)
    own = LABEL_FORMS.get(loss.target.domain.vector or "", ("rows",))[0]
    functions = tuple(_certificate(_function_name(loss.name, n, form, own), tallies[n, form], kind, budget,
                                   truths[sources[n]].refusal)
                      for form in dict.fromkeys(f for _, f in tallies) for n in sources)
    return KernelCertificate(loss.name, len(points), functions, all(f.passed for f in functions),
                             sampling_of(loss, seed=seed, dense=dense))


def _function_name(loss_name: str, function: str, form: str = "rows", own: str = "rows") -> str:
    """``NAME``, ``NAME_grad`` …, with the label form when it is not the target's own ("NAME (indices)")."""
    name = loss_name if function == "value" else f"{loss_name}_{function}"
    return name if form == own else f"{name} ({'integer labels' if form == 'indices' else 'one-hot rows'})"
