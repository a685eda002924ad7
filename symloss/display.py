"""Derivations and verdicts for people: terminal text and LaTeX.

The same content backs ``symloss show`` and the ``_repr_latex_`` hooks that
make derivations and verdicts render as mathematics in Jupyter.
"""

from __future__ import annotations

import sympy as sp

from symloss.derive import Derivation
from symloss.prove import Verdict


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
    render = _latex_of(derivation) if latex else _pretty
    wrt = sp.latex(loss.wrt) if latex else str(loss.wrt)
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
    rows = [
        rf"L &= {sp.latex(step.expr, symbol_names=names)} && \text{{{step.justification}}}"
        for step in derivation.chain
    ]
    wrt = sp.latex(loss.wrt, symbol_names=names)
    rows.append(rf"\frac{{\partial L}}{{\partial {wrt}}} &= {sp.latex(derivation.gradient, symbol_names=names)}")
    rows.append(rf"\frac{{\partial^2 L}}{{\partial {wrt}^2}} &= {sp.latex(derivation.hessian, symbol_names=names)}")
    return "\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}"


def _pretty(expr: sp.Expr) -> str:
    return sp.pretty(expr, use_unicode=True)


def _latex_of(derivation: Derivation):
    names = derivation.loss.scope.latex_names()
    return lambda expr: sp.latex(expr, symbol_names=names)
