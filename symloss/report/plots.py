"""The report's plots: curves of a loss and its gradient against the model output.

Sampled from the generated kernels (:func:`kernel_plots`, :func:`comparison_plots`)
or from the derived formulas at 30 digits (:func:`derived_comparison_plots`), on a
grid of :data:`PLOT_POINTS` points over the output's domain; the label takes each
of its values, inputs and parameters are held at typical values.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction
from pathlib import Path
from types import ModuleType

import mpmath
import numpy as np
import sympy as sp

from symloss.declare.functions import to_elementary
from symloss.declare.latex import tex
from symloss.declare.loss import Loss
from symloss.declare.notation import Domain, Var
from symloss.emit.codegen import load_generated
from symloss.report.inputs import Comparison, Curve, LossReport, Plot

PLOT_POINTS = 121
SIMPLICES = ("simplex", "distribution")
PLOT_CLASSES = 3


def load_kernels(folder: Path, name: str) -> ModuleType:
    """The generated kernel module ``name`` of the package in ``folder``."""
    if not (Path(folder) / f"{name}.py").is_file():
        raise FileNotFoundError(f"no generated kernel {Path(folder) / name}.py; run `symloss codegen` first")
    return load_generated(Path(folder), name)


def kernel_plots(loss: Loss, kernels: ModuleType) -> tuple[Plot, ...]:
    """The loss and its gradient against the model output, one curve per label value, from the kernels."""
    xs = _grid(loss.output.domain)
    value, gradient = getattr(kernels, loss.name), getattr(kernels, f"{loss.name}_grad")
    fixed = _fixed_values(loss, value)
    note = ", ".join(tex(sp.Eq(v.symbol, sp.nsimplify(fixed[v.name]), evaluate=False), {v.symbol: v.latex})
                     for v in (*loss.inputs, *loss.params))
    curves: dict[str, list[Curve]] = {"loss": [], "grad": []}
    for label, target in _plot_targets(loss.target):
        for key, function in (("loss", value), ("grad", gradient)):
            curves[key].append(Curve(label, _finite_points(xs, _sample(function, loss, xs, target, fixed)), True))
    output = _math_name(loss.wrt, loss)
    return (
        Plot("the loss (left)", output, "L", tuple(curves["loss"]), note),
        Plot("its gradient (right)", output, rf"\partial L / \partial {output}", tuple(curves["grad"]), note),
    )


def comparison_plots(
    comparisons: Sequence[Comparison], losses: Mapping[str, Loss], kernels_dir: Path
) -> tuple[Plot, ...]:
    """For each comparison: the gradients of its losses against a shared output axis, at the highest label."""
    plots = []
    for comparison in comparisons:
        members = [losses[name] for name in comparison.losses]
        first = members[0]
        label, target = _plot_targets(first.target)[-1]
        xs = _grid(first.output.domain)
        curves = tuple(
            Curve(f"{loss.title} ({loss.name})", _finite_points(xs, _sample(kernel, loss, xs, target,
                                                                              _fixed_values(loss, kernel))))
            for loss, kernel in ((m, getattr(load_kernels(kernels_dir, m.name), f"{m.name}_grad")) for m in members)
        )
        output = _math_name(first.wrt, first)
        plots.append(Plot(comparison.title, output, rf"\partial L / \partial {output}", curves, at=label))
    return tuple(plots)


def derived_comparison_plots(reports: Sequence[LossReport]) -> tuple[Plot, ...]:
    """For each group of :func:`shared_output_comparisons`: the derived gradients (the formulas each chapter
    proves) against a shared output axis, at the highest label, parameters held at typical values.

    This needs no generated kernel; :func:`comparison_plots` draws the same figures from the kernels.
    """
    derivations = {r.loss.name: r.derivation for r in reports}
    plots = []
    for comparison in shared_output_comparisons([r.loss for r in reports]):
        members = [derivations[name] for name in comparison.losses]
        first = members[0].loss
        label, target = _plot_targets(first.target)[-1]
        xs = _grid(first.output.domain)
        curves = tuple(
            Curve(f"{d.loss.title} ({d.loss.name})", _finite_points(xs, _sample_expr(d.gradient, d.loss, xs, target)))
            for d in members
        )
        notes = [_fixed_note(d.loss) for d in members if d.loss.params]
        output = _math_name(first.wrt, first)
        plots.append(Plot(comparison.title, output, rf"\partial L / \partial {output}", curves, ", ".join(notes),
                          "the derived gradients (the formulas proved in each chapter)", label))
    return tuple(plots)


def _fixed_note(loss: Loss) -> str:
    """LaTeX math: the typical values at which a loss's parameters are held in a comparison."""
    names = loss.scope.latex_names()
    return ", ".join(tex(sp.Eq(v.symbol, sp.nsimplify(_typical(v.domain)), evaluate=False), names)
                     for v in loss.params)


def _sample_expr(expr: sp.Expr, loss: Loss, xs: np.ndarray, target: object) -> np.ndarray:
    """A scalar loss's ``expr`` at every x of ``xs`` (30-digit mpmath, so the rounded bytes are the same on
    every machine), the label at ``target`` and the parameters at typical values; NaN where undefined."""
    fixed = {loss.target.symbol: sp.nsimplify(target)}
    fixed.update({v.symbol: sp.nsimplify(_typical(v.domain)) for v in loss.params})
    step = lambda a, *_: sp.Piecewise((1, a > 0), (0, True))  # noqa: E731 - Heaviside(0) taken as 0
    concrete = to_elementary(expr.xreplace(fixed)).replace(sp.Heaviside, step)
    function = sp.lambdify(loss.output.symbol, concrete, modules="mpmath")
    values = []
    with mpmath.workdps(30):
        for x in xs:
            try:
                value = complex(function(mpmath.mpf(float(x))))
            except (ArithmeticError, TypeError, ValueError):
                value = complex("nan")
            values.append(value.real if value.imag == 0 else float("nan"))
    return np.asarray(values, dtype=float)


def shared_output_comparisons(losses: Sequence[Loss]) -> tuple[Comparison, ...]:
    """Comparisons proposed from the declarations: scalar-output losses with the same output domain,
    label set and link (e.g. every loss on a sigmoid logit with labels in {0, 1}), two or more per group."""
    groups: dict[tuple[str, str, str], list[Loss]] = {}
    for loss in losses:
        if not loss.output.is_vector and not loss.inputs:
            key = (loss.output.domain.name, loss.target.domain.name, loss.link)
            groups.setdefault(key, []).append(loss)
    return tuple(
        Comparison(f"Gradients with respect to the {members[0].output.description or members[0].output.name}, "
                   f"labels in {labels}, link {link}", tuple(m.name for m in members))
        for (_, labels, link), members in groups.items()
        if len(members) >= 2
    )


def _grid(domain: Domain) -> np.ndarray:
    """Plotted range of the model output: ±6 for the reals, the inside of a bounded interval
    (for probability vectors, of (0, 1): the probability of class 0)."""
    if domain.vector in SIMPLICES:
        return np.linspace(0.01, 0.99, PLOT_POINTS)
    low = None if domain.low is None else float(domain.low)
    high = None if domain.high is None else float(domain.high)
    if low is not None and high is not None:
        margin = 0.01 * (high - low)
        return np.linspace(low + margin, high - margin, PLOT_POINTS)
    if low is not None:
        return np.linspace(low + 0.01, low + 6.0, PLOT_POINTS)
    if high is not None:
        return np.linspace(high - 6.0, high - 0.01, PLOT_POINTS)
    return np.linspace(-6.0, 6.0, PLOT_POINTS)


def _plot_targets(target: Var) -> list[tuple[str, object]]:
    """(LaTeX label, value) per curve: every value of a finite label set, else one typical value."""
    domain = target.domain
    if domain.vector is not None:
        return [(rf"{target.latex} = e_{{1}}", "first class")]
    values = domain.values or (_typical(domain),)
    names = {target.symbol: target.latex}
    return [(tex(sp.Eq(target.symbol, sp.nsimplify(v), evaluate=False), names), v) for v in values]


def _typical(domain: Domain) -> float:
    """A value inside the domain for a fixed input: 0 for the reals, the middle of a bounded interval, low + 1."""
    if domain.values:
        return float(domain.values[0])
    if domain.low is not None and domain.high is not None:
        return float(Fraction(domain.low + domain.high) / 2)
    if domain.low is not None:
        return float(domain.low) + 1.0
    if domain.high is not None:
        return float(domain.high) - 1.0
    return 0.0


def _fixed_values(loss: Loss, function: Callable[..., np.ndarray]) -> dict[str, float]:
    """Values of the inputs and parameters held fixed in a plot: a kernel's default, else a typical value."""
    parameters = inspect.signature(function).parameters
    values = {v.name: _typical(v.domain) for v in (*loss.inputs, *loss.params)}
    for name in values:
        if name in parameters and isinstance(parameters[name].default, int | float):
            values[name] = float(parameters[name].default)
    return values


def _sample(function: Callable[..., np.ndarray], loss: Loss, xs: np.ndarray, target: object,
            fixed: Mapping[str, float]) -> np.ndarray:
    """``function`` at every x of ``xs``, the label and the other arguments held at ``fixed``."""
    keywords = {p.name: fixed[p.name] for p in loss.params}
    if loss.output.is_vector:
        output = np.zeros((xs.size, PLOT_CLASSES))
        output[:, 0] = xs
        if loss.output.domain.vector in SIMPLICES:  # the other classes share what class 0 leaves
            output[:, 1:] = ((1.0 - xs) / (PLOT_CLASSES - 1))[:, None]
        others = [_held_vector(v, xs.size, role) for v, role in ((loss.target, "target"),
                                                                 *((v, "input") for v in loss.inputs))]
        values = np.asarray(function(output, *others, reduction="none", **keywords), dtype=float)
        return values[:, 0] if values.ndim == 2 and values.shape[1] == PLOT_CLASSES else values.reshape(xs.size)
    inputs = [np.full_like(xs, fixed[v.name]) for v in loss.inputs]
    values = function(xs, np.full_like(xs, float(target)), *inputs, reduction="none", **keywords)
    return np.asarray(values, dtype=float).reshape(xs.size)


def _held_vector(variable: Var, samples: int, role: str) -> np.ndarray:
    """The value a plot holds a further argument of a class-vector loss at: class 0 for labels, an even
    spread for probabilities, 0 for a real target and 1 for a real input; 0 for a per-sample scalar."""
    if not variable.is_vector:
        return np.zeros(samples)
    kind = variable.domain.vector
    if kind in ("onehot", "distribution"):
        row = np.eye(PLOT_CLASSES)[0]
    elif kind == "simplex":
        row = np.full(PLOT_CLASSES, 1.0 / PLOT_CLASSES)
    else:
        row = np.full(PLOT_CLASSES, 0.0 if role == "target" else 1.0)
    return np.tile(row, (samples, 1))


def _finite_points(xs: np.ndarray, ys: np.ndarray) -> tuple[tuple[float, float], ...]:
    return tuple((float(x), float(y)) for x, y in zip(xs, ys, strict=True) if np.isfinite(y))


def _math_name(symbol: sp.Basic, loss: Loss) -> str:
    return tex(symbol, loss.scope.latex_names())
