"""Derivations and verdicts for people: terminal text and LaTeX.

The same content backs ``symloss show`` and the ``_repr_latex_`` hooks that
make derivations and verdicts render as mathematics in Jupyter.
"""

from __future__ import annotations

import sympy as sp
from sympy.printing.pretty.pretty import PrettyPrinter
from sympy.printing.pretty.stringpict import prettyForm

from symloss.declare.latex import tex
from symloss.declare.likelihood import ClassMax
from symloss.derive.chain import Derivation
from symloss.prove.verdict import Verdict


def verdict_text(verdict: Verdict | None) -> str:
    """``proved (cancel, 0.03 s)``, or the counterexample of a refutation."""
    if verdict is None:
        return "definition"
    text = f"{verdict.status} ({verdict.method}, {verdict.seconds:.2f} s)"
    if verdict.counterexample:
        point = ", ".join(f"{name} = {value}" for name, value in verdict.counterexample.items())
        text += f"; counterexample {point}"
    return text


def derivation_text(derivation: Derivation, *, latex: bool = False) -> str:
    """The chain, gradient and Hessian of a derivation, one block each."""
    loss = derivation.loss
    names = loss.scope.latex_names()
    render = (lambda expr: tex(expr, names)) if latex else pretty
    wrt = tex(loss.wrt, names) if latex else str(loss.wrt)
    blocks = [f"{loss.title} ({loss.name})", ""]
    for number, step in enumerate(derivation.chain, start=1):
        blocks += [f"[{number}] {step.justification} -- {verdict_text(step.verdict)}", render(step.expr), ""]
    blocks += [f"gradient d/d{wrt} -- {verdict_text(derivation.gradient_check)}", render(derivation.gradient), ""]
    blocks += [f"Hessian d2/d{wrt}2 -- {verdict_text(derivation.hessian_check)}", render(derivation.hessian)]
    return "\n".join(blocks)


def derivation_latex(derivation: Derivation) -> str:
    """An ``aligned`` block: the chain, then gradient and Hessian."""
    loss = derivation.loss
    names = loss.scope.latex_names()
    rows = [rf"L &= {tex(step.expr, names)} && \text{{{step.justification}}}" for step in derivation.chain]
    wrt = tex(loss.wrt, names)
    rows.append(rf"\frac{{\partial L}}{{\partial {wrt}}} &= {tex(derivation.gradient, names)}")
    rows.append(rf"\frac{{\partial^2 L}}{{\partial {wrt}^2}} &= {tex(derivation.hessian, names)}")
    return "\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}"


class _Pretty(PrettyPrinter):
    r"""SymPy's pretty printer with :math:`\max`, :math:`\min` and the class max written as
    mathematics (SymPy falls back to ``Max(0, -f*y + 1)``, the plain string, for them)."""

    def _print_Max(self, expr: sp.Max) -> prettyForm:  # noqa: N802 - SymPy's dispatch name
        return self._lattice("max", expr)

    def _print_Min(self, expr: sp.Min) -> prettyForm:  # noqa: N802
        return self._lattice("min", expr)

    def _lattice(self, name: str, expr: sp.Max | sp.Min) -> prettyForm:
        """``max(a, b)``; a power is written after the brackets, ``max(0, x)²``, as the LaTeX has it."""
        form = self._helper_print_function(expr.func, expr.args, func_name=name)
        form.binding = prettyForm.ATOM
        return form

    def _print_ClassMax(self, expr: ClassMax) -> prettyForm:  # noqa: N802
        r""":math:`\max_{k=1}^{K} (f)`: the bounds below and above ``max``, like a sum's."""
        k, low, high = expr.limits[0]
        upper = self._print(high)
        operator = prettyForm(*prettyForm("max").below(self._print(sp.Eq(k, low, evaluate=False))))
        operator = prettyForm(*operator.above(upper))
        operator.baseline = upper.height()
        body = prettyForm(*self._print(expr.function).parens())
        result = prettyForm(*operator.right(body))
        result.binding = prettyForm.MUL
        return result


def pretty(expr: sp.Basic) -> str:
    """Unicode pretty text of ``expr``, with max and min as mathematics."""
    return _Pretty({"use_unicode": True}).doprint(expr)
