"""The base of the stability primitives (:mod:`symloss.stabilize.primitives`): a function with a textbook
definition, an accurate implementation and the regimes of its NumPy helper, typeset under its own name."""

from __future__ import annotations

import sympy as sp


class Primitive(sp.Function):
    """A function with a textbook definition and an accurate implementation."""

    #: Where the kernel's NumPy helper switches formulas: (condition, method) in plain text, in the order
    #: the helper tests them, the last condition "otherwise"; empty for a helper without a switch.
    regimes: tuple[tuple[str, str], ...] = ()
    #: The primitive with its arguments named as :attr:`regimes` names them, e.g. "sech2(a)".
    regime_call = ""

    def textbook(self) -> sp.Expr:
        """The expression this primitive stands for."""
        raise NotImplementedError

    def _latex(self, printer: sp.printing.latex.LatexPrinter, exp: str | None = None) -> str:
        """``\\operatorname{name}(a, b)`` with the class's name; a constant argument to six digits."""
        args = tuple(sp.Float(a, 6) if isinstance(a, sp.Float) else a for a in self.args)
        return _call_latex(type(self).__name__.replace("_", r"\_"), args, printer, exp)


def _call_latex(name: str, args: tuple[sp.Expr, ...], printer: sp.printing.latex.LatexPrinter,
                exp: str | None) -> str:
    r"""``\operatorname{name}\left(a, b\right)``, raised to ``exp`` when SymPy's printer passes one."""
    call = rf"\operatorname{{{name}}}\left({', '.join(printer._print(a) for a in args)}\right)"
    return call if exp is None else f"{call}^{{{exp}}}"
