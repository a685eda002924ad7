"""The report's views: the values the chapter and book templates lay out, computed from the results.

Equations are cut into lines of at most :data:`EQUATION_WIDTH` typeset characters
(:mod:`symloss.declare.latex`); a gradient or Hessian longer than
:data:`MAX_DISPLAY_LINES` lines is shown with its common subexpressions named.
Values Python marks as :class:`~markupsafe.Markup` are LaTeX; everything else is
plain text the templates escape.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import TYPE_CHECKING

import sympy as sp
from markupsafe import Markup

from symloss.declare.latex import compact, math_lines, scientific, tex, tex_escape, visible_width
from symloss.declare.loss import Claim, ClaimKind, Likelihood, Loss
from symloss.derive.chain import Derivation
from symloss.prove.examples import Reproduction
from symloss.prove.results import ClaimResult
from symloss.prove.verdict import Verdict
from symloss.report.inputs import LossReport
from symloss.stabilize.regimes import Regimes

if TYPE_CHECKING:
    from symloss.certify.certificate import FunctionCertificate

EQUATION_WIDTH = 62  # typeset characters on the right of "lhs &="
MAX_DISPLAY_LINES = 6  # a longer gradient or Hessian is shown with named common subexpressions
NAME_LETTERS = ("u", "v", "w", r"\xi")  # letters for those names; the first the loss does not use
SHOWN_ENTRIES = 4  # a longer class vector of a worst point is shown by its first and last entries and its length
SUMMARY_WIDTH = 40  # typeset characters of a gradient in the summary table (else: a reference to its chapter)
RELATIONS = {">=": r"\geq", ">": ">", "<=": r"\leq", "<": "<"}


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
        "stable": [(s.function, s.rules, _rows(s.expr, names), [_regimes_view(r, names) for r in s.regimes],
                    s.primitives) for s in report.stable],
        "certificates": report.certificates,
        "sampling": _sampling_view(report),
        "worst": [_worst_view(f, report.loss) for f in report.certificates if f.worst_point is not None],
        "examples": [_example_view(r, names) for r in report.reproductions],
        "plots": report.plots,
        "plot_note": Markup(f"${report.plots[0].note}$") if report.plots and report.plots[0].note else "",
    }


def _regimes_view(regimes: Regimes, names: Mapping[sp.Basic, str]) -> dict[str, object]:
    """One Piecewise of a stable form: the rule that made it (None: the definition) and each branch's
    condition typeset, in the order they are tested (the default branch, taken otherwise, is not one)."""
    return {"rule": regimes.rule, "conditions": [Markup(f"${c}$") for c in regimes.latex(names)]}


def _sampling_view(report: LossReport) -> dict[str, object] | None:
    """How the certificates sampled their points: the counts, the seed, each variable's range typeset."""
    sampling = report.sampling
    if sampling is None:
        return None
    latex = {v.name: v.latex for v in report.loss.variables}
    ranges = [Markup(f"${latex.get(name, tex_escape(name))}$ {tex_escape('∈')} {_with_numbers(extent)}")
              for name, extent in sampling.ranges]
    return {"points": sampling.grid + sampling.random, "grid": sampling.grid, "random": sampling.random,
            "seed": sampling.seed, "ranges": ranges}


NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[+-]?\d+)?")


def _with_numbers(text: str) -> Markup:
    """Plain text with its numbers typeset: "(0, 1.8e+308]" as "(\\(0\\), \\(1.8\\times10^{308}\\)]"."""
    parts, end = [], 0
    for number in NUMBER.finditer(text):
        parts += [tex_escape(text[end:number.start()]), rf"\({_number(number.group())}\)"]
        end = number.end()
    return Markup("".join([*parts, tex_escape(text[end:])]))


def _number(text: str) -> str:
    """A number as Python prints it (``repr`` of a float, or a range's "1.8e+308", "0", "9.01e+15")
    typeset in LaTeX math, every printed digit kept: e-notation as a power of ten, inf and nan by name."""
    if text.lstrip("-") in ("inf", "nan"):
        return scientific(float(text))
    mantissa, _, power = text.partition("e")
    return rf"{mantissa}\times10^{{{int(power)}}}" if power else mantissa


def _coordinate(latex: str, value: object) -> Markup:
    """One coordinate of a worst point, ``name = value`` in LaTeX: a float exactly (:func:`_number`), a
    class vector as its entries (a long one as its first and last entries and its length), else as text."""
    if isinstance(value, float):
        return Markup(f"${latex} = {_number(repr(value))}$")
    if not isinstance(value, tuple):
        return Markup(f"${latex}$ = {tex_escape(str(value))}")
    shown = [f"${_number(repr(float(v)))}$" for v in value]
    if len(value) > SHOWN_ENTRIES:
        shown = [*shown[:SHOWN_ENTRIES - 1], r"\dots", f"{shown[-1]}; {len(value)} entries"]
    return Markup(f"${latex}$ = ({', '.join(shown)})")


def _float(value: float | None) -> Markup:
    """A float of a certificate in LaTeX math, every digit Python prints; None as nothing."""
    return Markup("" if value is None else f"${_number(repr(value))}$")


def _worst_view(function: FunctionCertificate, loss: Loss) -> dict[str, object]:
    """A function's worst point, coordinate by coordinate, with the rounded truth and the kernel's value
    there (at a class vector's worst entry, ``entry``), typeset."""
    variables = (loss.output, loss.target, *loss.inputs, *loss.params)
    point = [_coordinate(v.latex, x) for v, x in zip(variables, function.worst_point or (), strict=False)]
    return {"function": function.function, "point": point, "entry": function.worst_entry,
            "truth": _float(function.worst_truth), "value": _float(function.worst_value)}


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
