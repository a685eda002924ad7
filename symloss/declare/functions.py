"""Named elementary functions of loss functions, as SymPy function classes.

Each class keeps a short, readable name in printed and LaTeX output (σ(z)
rather than ``1/(1 + exp(-z))``) and knows how to rewrite itself into
``exp``/``log``.  The prover always works on that elementary rewrite
(:func:`to_elementary`), so nothing here is trusted: the derivative each class
reports is itself a claim the catalog proves (e.g. dσ/dz = σ(1 − σ)).

References: the logistic sigmoid and softplus as in Goodfellow, Bengio and
Courville, *Deep Learning* (2016), §3.10.
"""

from __future__ import annotations

import sympy as sp


class sigmoid(sp.Function):  # noqa: N801 - named as in the texts
    r"""Logistic sigmoid, :math:`\sigma(x) = 1/(1 + e^{-x})`."""

    nargs = 1

    @classmethod
    def eval(cls, x: sp.Expr) -> sp.Expr | None:
        if x.is_zero:
            return sp.S.Half
        return None

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        # dσ/dx = σ(x)(1 − σ(x)); proved as a catalog claim, not assumed.
        return self * (1 - self)

    def _eval_rewrite_as_exp(self, x: sp.Expr, **kwargs: object) -> sp.Expr:
        return 1 / (1 + sp.exp(-x))

    def _eval_is_real(self) -> bool | None:
        return self.args[0].is_real

    def _eval_is_positive(self) -> bool | None:
        return True if self.args[0].is_real else None

    def _latex(self, printer: sp.printing.latex.LatexPrinter, exp: str | None = None) -> str:
        return _with_power(rf"\sigma\left({printer._print(self.args[0])}\right)", exp)


class softplus(sp.Function):  # noqa: N801
    r"""Softplus, :math:`\operatorname{softplus}(x) = \log(1 + e^{x})`."""

    nargs = 1

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sigmoid(self.args[0])

    def _eval_rewrite_as_exp(self, x: sp.Expr, **kwargs: object) -> sp.Expr:
        return sp.log(1 + sp.exp(x))

    _eval_rewrite_as_log = _eval_rewrite_as_exp

    def _eval_is_real(self) -> bool | None:
        return self.args[0].is_real

    def _eval_is_positive(self) -> bool | None:
        return True if self.args[0].is_real else None

    def _latex(self, printer: sp.printing.latex.LatexPrinter, exp: str | None = None) -> str:
        return _with_power(rf"\operatorname{{softplus}}\left({printer._print(self.args[0])}\right)", exp)


def _with_power(call: str, exp: str | None) -> str:
    """``f(x)`` raised to ``exp`` when SymPy's printer passes one (as for ``σ(z)**2``)."""
    return call if exp is None else f"{call}^{{{exp}}}"


NAMED_FUNCTIONS: tuple[type[sp.Function], ...] = (sigmoid, softplus)


def to_elementary(expr: sp.Expr) -> sp.Expr:
    """Rewrite every named function of this module into exp/log form."""
    return expr.replace(
        lambda e: isinstance(e, NAMED_FUNCTIONS),
        lambda e: e.rewrite(sp.exp),
    )
