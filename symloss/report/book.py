r"""The report: one LaTeX chapter per loss, a standalone ``.tex`` per loss, and the book; PDF through latexmk.

Everything is laid out by the Jinja2 templates in ``symloss/templates``
(``chapter.tex.j2``, ``book.tex.j2``, ``standalone.tex.j2`` and their
partials).  Their delimiters cannot collide with TeX: ``((* block *))``,
``((( variable )))``, ``((= comment =))``.  Every value a template prints
is escaped as plain text (a title such as ``pos_weight & 50%``) unless it is
LaTeX produced by SymPy or declared as LaTeX (a variable's typeset name),
which Python marks safe.  This module only turns results into those values:
equations cut into lines (:mod:`symloss.declare.latex`), curves sampled from the
generated kernels and rounded to :data:`PLOT_DIGITS` significant digits.

Determinism: the same results give the same bytes — no dates, no paths,
curves rounded, order as declared.  Proof times vary between runs, so they
are printed only when ``show_times`` is set (``symloss report``); the
committed ``generated/tex`` is rendered without them (``symloss build``).
"""

from __future__ import annotations

import inspect
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext
from fractions import Fraction
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import jinja2
import mpmath
import numpy as np
import sympy as sp
from markupsafe import Markup

from symloss.declare.functions import to_elementary
from symloss.declare.latex import compact, decimal_text, math_lines, scientific, tex, tex_escape, visible_width
from symloss.declare.loss import Claim, ClaimKind, Likelihood, Loss
from symloss.declare.notation import Domain, Var
from symloss.derive.chain import Derivation
from symloss.emit.codegen import load_generated
from symloss.emit.files import write_atomic
from symloss.prove.examples import Reproduction
from symloss.prove.results import ClaimResult
from symloss.prove.verdict import Verdict

if TYPE_CHECKING:
    from symloss.certify.certificate import FunctionCertificate

PLOT_DIGITS = 5  # significant digits of plotted coordinates: stable bytes, invisible in a figure
PLOT_POINTS = 121
EQUATION_WIDTH = 62  # typeset characters on the right of "lhs &="
MAX_DISPLAY_LINES = 6  # a longer gradient or Hessian is shown with named common subexpressions
NAME_LETTERS = ("u", "v", "w", r"\xi")  # letters for those names; the first the loss does not use
SUMMARY_WIDTH = 40  # typeset characters of a gradient in the summary table (else: a reference to its chapter)
BOOK_NAME = "book"
INSTALL_HINT = "apt-get install latexmk texlive-latex-recommended texlive-latex-extra texlive-pictures"
RELATIONS = {">=": r"\geq", ">": ">", "<=": r"\leq", "<": "<"}


class TexError(RuntimeError):
    """LaTeX is not installed, or a document did not compile."""


# ----------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class StableForm:
    """One generated function after the stability rewrites: its expression and the rules that made it."""

    function: str  # e.g. "bce_grad"
    expr: sp.Expr
    rules: tuple[str, ...]  # names of the rewrite rules applied, in order


@dataclass(frozen=True)
class Curve:
    """One sampled curve of a plot; ``label`` is plain text, or LaTeX math when ``math`` is set."""

    label: str
    points: tuple[tuple[float, float], ...]
    math: bool = False


@dataclass(frozen=True)
class Plot:
    """A plot: axis labels are LaTeX math (from declared names), the title plain text."""

    title: str
    xlabel: str
    ylabel: str
    curves: tuple[Curve, ...]
    note: str = ""  # LaTeX math: the values of the inputs and parameters held fixed
    source: str = "the generated kernels"  # plain text: what the curves were sampled from
    at: str = ""  # LaTeX math: the label value the curves are drawn at, e.g. "y = 1"


@dataclass(frozen=True)
class Comparison:
    """A figure comparing several losses on one axis (named by a declaration or by the caller)."""

    title: str
    losses: tuple[str, ...]


@dataclass(frozen=True)
class LossReport:
    """Everything one chapter shows, all computed in the same build."""

    derivation: Derivation
    claims: tuple[ClaimResult, ...]
    reproductions: tuple[Reproduction, ...] = ()
    stable: tuple[StableForm, ...] = ()
    certificates: tuple[FunctionCertificate, ...] = ()
    plots: tuple[Plot, ...] = ()

    @property
    def loss(self) -> Loss:
        return self.derivation.loss


# ----------------------------------------------------------------------------- plots from kernels


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


# ----------------------------------------------------------------------------- chapter view


@dataclass(frozen=True)
class Row:
    """One line group of an aligned display: its role, right side cut into lines, the reason and its check.

    ``where`` holds the named subexpressions of a long result (name, its definition cut into lines);
    ``operations`` is then the size of the result written out in full.
    """

    role: str  # which left side the template writes: "likelihood", "nll", "loss", or "" (continued)
    lines: tuple[Markup, ...]
    justification: str = ""
    verdict: Verdict | None = None
    where: tuple[tuple[Markup, tuple[Markup, ...]], ...] = ()
    operations: int = 0


def _rows(expr: sp.Expr, names: Mapping[sp.Basic, str]) -> tuple[Markup, ...]:
    return tuple(Markup(line) for line in math_lines(expr, names, EQUATION_WIDTH))


def _result_row(expr: sp.Expr, names: Mapping[sp.Basic, str], verdict: Verdict | None) -> Row:
    """A gradient or Hessian: written out when it fits in :data:`MAX_DISPLAY_LINES` lines, else
    with its common subexpressions named (the same expression, not a simplification of it)."""
    lines = _rows(expr, names)
    if len(lines) <= MAX_DISPLAY_LINES:
        return Row("", lines, "", verdict)
    short = compact(expr)
    letter = _free_letter(names)
    named = {**names, **{s: f"{letter}_{{{n}}}" for n, (s, _) in enumerate(short.definitions, start=1)}}
    where = tuple((Markup(named[s]), _rows(v, named)) for s, v in short.definitions)
    return Row("", _rows(short.expr, named), "", verdict, where, short.operations)


def _free_letter(names: Mapping[sp.Basic, str]) -> str:
    """The first of :data:`NAME_LETTERS` that no typeset variable name of the loss uses."""
    used = " ".join(names.values())
    for letter in NAME_LETTERS:
        if not re.search(rf"(?<![\\a-zA-Z]){re.escape(letter)}(?![a-zA-Z])", used):
            return letter
    return r"\zeta"


def chapter_view(report: LossReport) -> dict[str, object]:
    """The values the chapter template lays out, for one loss."""
    loss, derivation = report.loss, report.derivation
    names = loss.scope.latex_names()
    arguments = (loss.output, loss.target, *loss.inputs)
    return {
        "loss": loss,
        "origin": _origin_view(loss, names),
        "output": Markup(tex(loss.output.symbol, names)),
        "arguments": Markup(", ".join(tex(v.symbol, names) for v in arguments)),
        "wrt": Markup(tex(loss.wrt, names)),
        "variables": [(Markup(v.latex), v.description, v.domain.name) for v in loss.variables],
        "chain": _chain_rows(derivation, names),
        "gradient": _result_row(derivation.gradient, names, derivation.gradient_check),
        "hessian": _result_row(derivation.hessian, names, derivation.hessian_check),
        "claims": [_claim_view(result, names) for result in report.claims],
        "stable": [(s.function, s.rules, _rows(s.expr, names)) for s in report.stable],
        "certificates": report.certificates,
        "examples": [_example_view(r, names) for r in report.reproductions],
        "plots": report.plots,
        "plot_note": Markup(f"${report.plots[0].note}$") if report.plots and report.plots[0].note else "",
    }


def _origin_view(loss: Loss, names: Mapping[sp.Basic, str]) -> dict[str, object]:
    origin = loss.origin
    if isinstance(origin, Likelihood):
        return {
            "likelihood": True,
            "distribution": origin.distribution,
            "observed": Markup(origin.observed.latex),
            "link": origin.link,
            "collected": Markup(_collected(origin, names)),
            "scaled": origin.scale != 1,
            "shifted": origin.shift != 0,
        }
    return {"likelihood": False, "reference": getattr(origin, "reference", "")}


def _collected(origin: Likelihood, names: Mapping[sp.Basic, str]) -> str:
    r"""The negative log-likelihood as :math:`s\,L + c` typeset, SymPy dropping a scale of 1 and a constant of 0."""
    loss = sp.Dummy("L")
    return tex(origin.scale * loss + origin.shift, {**names, loss: "L"})


def _chain_rows(derivation: Derivation, names: Mapping[sp.Basic, str]) -> list[Row]:
    """The chain as display rows; a step equal to the next one is folded into it."""
    steps = derivation.chain
    likelihood = isinstance(derivation.loss.origin, Likelihood)
    rows = []
    for position, step in enumerate(steps):
        following = steps[position + 1] if position + 1 < len(steps) else None
        if following is not None and following.expr == step.expr:
            continue
        if likelihood and position < 2:
            role = ("likelihood", "nll")[position]
        else:
            role = "loss" if following is None or position == 0 else ""
        rows.append(Row(role, _rows(step.expr, names), step.justification, step.verdict))
    return rows


def _claim_view(result: ClaimResult, names: Mapping[sp.Basic, str]) -> dict[str, object]:
    claim = result.claim
    names = {**names, **claim.scope.latex_names()}
    lhs, relation, rhs = _claim_sides(claim, names)
    counterexample = result.verdict.counterexample or {}
    return {
        "statement": claim.statement,
        "kind": claim.kind.value,
        "lhs": lhs,
        "relation": Markup(relation),
        "rhs": rhs,
        "inline": len(lhs) == 1 and len(rhs) == 1 and visible_width(lhs[0] + rhs[0]) <= EQUATION_WIDTH,
        "verdict": result.verdict,
        "counterexample": [_assignment(name, value, names) for name, value in sorted(counterexample.items())],
        "expected": claim.expected,
        "as_expected": result.as_expected,
        "note": claim.note,
    }


def _assignment(name: str, value: str, names: Mapping[sp.Basic, str]) -> Markup:
    """``name = value`` of a counterexample, typeset: decimals as the prover printed them, fractions as fractions."""
    typeset = {str(symbol): latex for symbol, latex in names.items()}
    lhs = typeset.get(name, tex_escape(name))
    text = value.strip()
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return Markup(f"{lhs} = {text}")
    try:
        number = sp.sympify(text, rational=True)
    except (sp.SympifyError, TypeError, ValueError):
        number = None
    if isinstance(number, sp.Rational) and _terminates(number):
        return Markup(f"{lhs} = {_exact_decimal(number)}")
    if isinstance(number, sp.Basic) and number.is_number:
        return Markup(f"{lhs} = {tex(number)}")
    return Markup(f"{lhs} = \\text{{{tex_escape(text)}}}")


def _terminates(number: sp.Rational) -> bool:
    """Whether ``number`` has a finite decimal expansion (its denominator divides a power of ten)."""
    q = int(number.q)
    for prime in (2, 5):
        while q % prime == 0:
            q //= prime
    return q == 1


def _exact_decimal(number: sp.Rational) -> str:
    """A terminating rational as its exact decimal: 934489/1000000 is 0.934489."""
    with localcontext() as context:
        context.prec = 60
        return format((Decimal(int(number.p)) / Decimal(int(number.q))).normalize(), "f")


def _claim_sides(claim: Claim, names: Mapping[sp.Basic, str]) -> tuple[tuple[Markup, ...], str, tuple[Markup, ...]]:
    """The claim as formulas: left side (with its operator), relation, right side."""
    lhs = _rows(claim.lhs, names)
    rhs = _rows(claim.rhs, names)
    if claim.kind is ClaimKind.DERIVATIVE:
        order = "" if claim.order == 1 else f"^{{{claim.order}}}"
        return _prefixed(rf"\frac{{\partial{order}}}{{\partial {tex(claim.var, names)}{order}}}", lhs), "=", rhs
    if claim.kind is ClaimKind.LIMIT:
        return _prefixed(rf"\lim_{{{tex(claim.var, names)} \to {tex(claim.point, names)}}}", lhs), "=", rhs
    if claim.kind is ClaimKind.MINIMIZER:
        prefix = rf"\operatorname*{{arg\,min}}_{{{tex(claim.var, names)}}}"
        return _prefixed(prefix, lhs), "=", _rows(claim.point, names)
    if claim.kind is ClaimKind.SIGN:
        return lhs, RELATIONS[claim.relation], (Markup("0"),)
    return lhs, "=" if claim.kind is ClaimKind.IDENTITY else RELATIONS[claim.relation], rhs


def _prefixed(prefix: str, lines: tuple[Markup, ...]) -> tuple[Markup, ...]:
    """An operator written before a formula; brackets around it when the formula is a sum or spans lines."""
    if len(lines) == 1:
        return (Markup(rf"{prefix} \left[{lines[0]}\right]"),)
    return (Markup(rf"{prefix} \Bigl[{lines[0]}"), *lines[1:-1], Markup(rf"{lines[-1]}\Bigr]"))


def _example_view(reproduction: Reproduction, names: Mapping[sp.Basic, str]) -> dict[str, object]:
    example = reproduction.example
    inputs = [Markup(tex(sp.Eq(symbol, _input_value(value), evaluate=False), names))
              for symbol, value in example.at.items()]
    return {
        "label": example.label,
        "inputs": inputs,
        "reduce": example.reduce or "",
        "source": example.source,
        "stated": reproduction.stated_text,
        "computed": reproduction.computed_text,
        "agrees": reproduction.agrees,
    }


def _input_value(value: object) -> sp.Basic:
    """A value of ``Example.at`` as SymPy: numbers as printed (0.1 stays 0.1), lists as tuples."""
    if isinstance(value, list | tuple):
        return sp.Tuple(*(_input_value(v) for v in value))
    if isinstance(value, float):
        return sp.Integer(int(value)) if value.is_integer() else sp.Float(repr(value), len(repr(value)))
    return sp.sympify(value)


# ----------------------------------------------------------------------------- book view


def book_view(reports: Sequence[LossReport]) -> dict[str, object]:
    """The summary tables across losses: use case, link, label format, gradient; the choice table; the proofs."""
    summary = []
    for report in reports:
        loss = report.loss
        names = loss.scope.latex_names()
        gradient = math_lines(report.derivation.gradient, names, SUMMARY_WIDTH)
        fits = len(gradient) == 1 and visible_width(gradient[0]) <= SUMMARY_WIDTH and "begin" not in gradient[0]
        summary.append({
            "loss": loss,
            "wrt": Markup(tex(loss.wrt, names)),
            "gradient": Markup(gradient[0]) if fits else None,
        })
    families: dict[str, list[Loss]] = {}
    for report in reports:
        families.setdefault(report.loss.family, []).append(report.loss)
    return {"summary": summary, "families": families}


# ----------------------------------------------------------------------------- rendering


def environment() -> jinja2.Environment:
    """The Jinja2 environment of the report templates: TeX-safe delimiters, plain text escaped."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("symloss.report", "templates"),
        block_start_string="((*",
        block_end_string="*))",
        variable_start_string="(((",
        variable_end_string=")))",
        comment_start_string="((=",
        comment_end_string="=))",
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        autoescape=True,
        finalize=_finalize,
    )
    env.filters["coordinates"] = _coordinates
    env.filters["label"] = _label
    env.filters["indefinite"] = _indefinite
    env.filters["sci"] = lambda value: Markup(scientific(float(value)))
    env.filters["seconds"] = lambda value: f"{value:.2f} s"
    return env


def _finalize(value: object) -> Markup:
    """Everything a template prints is plain text unless Python marked it as LaTeX.

    The result is marked safe, so Jinja2's own (HTML) autoescaping leaves it alone;
    autoescaping is on only so that macro output counts as already escaped."""
    if isinstance(value, Markup):
        return value
    return Markup(tex_escape(str(value)))


def _indefinite(noun: str) -> str:
    """``noun`` with its indefinite article: "a Bernoulli", "an exponential"."""
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


def _label(name: str) -> Markup:
    """The cross-reference key of a loss's chapter (names are Python identifiers: safe in a label)."""
    if not name.isidentifier():
        raise ValueError(f"cannot label {name!r}")
    return Markup(f"chap:{name}")


def _coordinates(points: Sequence[tuple[float, float]]) -> Markup:
    """pgfplots coordinates, rounded to PLOT_DIGITS significant digits so the bytes are stable."""
    return Markup(" ".join(f"({decimal_text(x, PLOT_DIGITS)},{decimal_text(y, PLOT_DIGITS)})" for x, y in points))


def render_chapter(report: LossReport, *, show_times: bool = True) -> str:
    """The standalone document of one loss (the same chapter as in the book)."""
    template = environment().get_template("standalone.tex.j2")
    return template.render(chapter=chapter_view(report), show_times=show_times)


def render_book(
    reports: Sequence[LossReport], *, comparisons: Sequence[Plot] | None = None, show_times: bool = True,
    title: str = "Loss functions, derived and verified",
) -> str:
    """The book: front matter, summary tables, one chapter per loss, comparisons, the index of proofs.

    ``comparisons`` defaults to :func:`derived_comparison_plots` of ``reports``; pass the figures of
    :func:`comparison_plots` to draw them from the generated kernels instead, or ``()`` for none.
    """
    if comparisons is None:
        comparisons = derived_comparison_plots(reports)
    template = environment().get_template("book.tex.j2")
    return template.render(
        title=title,
        chapters=[chapter_view(r) for r in reports],
        book=book_view(reports),
        comparisons=comparisons,
        show_times=show_times,
    )


def render_reports(
    reports: Sequence[LossReport], out_dir: Path, *, comparisons: Sequence[Plot] | None = None,
    show_times: bool = True, title: str = "Loss functions, derived and verified",
) -> list[Path]:
    """Write ``NAME.tex`` per loss and ``book.tex`` into ``out_dir``; returns the paths, book last."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for report in reports:
        path = out_dir / f"{report.loss.name}.tex"
        write_atomic(path, render_chapter(report, show_times=show_times))
        paths.append(path)
    book = out_dir / f"{BOOK_NAME}.tex"
    write_atomic(book, render_book(reports, comparisons=comparisons, show_times=show_times, title=title))
    paths.append(book)
    return paths


# ----------------------------------------------------------------------------- PDF


def tex_available() -> bool:
    """Whether latexmk and pdflatex are on the PATH."""
    return shutil.which("latexmk") is not None and shutil.which("pdflatex") is not None


def build_pdf(tex_path: Path) -> Path:
    """Compile ``tex_path`` with latexmk (pdflatex, as many runs as references need); returns the PDF.

    LaTeX writes under the job name ``STEM-partial`` and the finished PDF is
    renamed to ``STEM.pdf`` in one step, so a build killed at any moment leaves
    ``STEM.pdf`` whole: the old one or the new one.  Raises :class:`TexError`
    naming the packages to install when TeX is missing, or quoting the first
    LaTeX errors when the document does not compile.
    """
    if not tex_available():
        raise TexError(f"latexmk and pdflatex are needed for the PDF; install them with: {INSTALL_HINT}")
    tex_path = Path(tex_path).resolve()
    job = f"{tex_path.stem}-partial"
    command = ["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "-file-line-error", "-quiet",
               f"-jobname={job}", tex_path.name]
    completed = subprocess.run(command, cwd=tex_path.parent, capture_output=True, text=True, check=False)
    partial, pdf = tex_path.with_name(f"{job}.pdf"), tex_path.with_suffix(".pdf")
    if completed.returncode != 0 or not partial.is_file():
        log = tex_path.with_name(f"{job}.log")
        text = log.read_text(encoding="utf-8", errors="replace") if log.is_file() else completed.stdout
        errors = [line for line in text.splitlines() if line.startswith("!") or re.match(r"^\S+:\d+: ", line)]
        raise TexError(f"LaTeX failed on {tex_path.name}:\n" + "\n".join(errors[:20] or text.splitlines()[-20:]))
    os.replace(partial, pdf)
    return pdf
