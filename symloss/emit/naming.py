r"""Names and comments of a kernel's temporaries: each named after the function applied and its
argument (``e_neg_abs_z`` for :math:`e^{-|z|}`), and each block headed by its formula in the code's
names (:class:`FormulaPrinter`), the exponentials of :math:`\sigma` and softplus read back as such."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import sympy as sp
from sympy.printing.str import StrPrinter

from symloss.declare.functions import sigmoid, softplus
from symloss.declare.likelihood import ClassMax
from symloss.emit.arrays import AtMax, FromParts, LabelParts, SoftmaxParts, ZeroWeighted
from symloss.emit.onehot import AtLabel
from symloss.emit.program import LabelSelect, Naming
from symloss.stabilize.primitives import log1p


def folded_exponentials(expr: sp.Expr, definitions: Mapping[sp.Basic, sp.Expr]) -> sp.Expr:
    r"""The inverse of :func:`~symloss.emit.arrays.shared_exponentials`, for reading:
    :math:`\max(x, 0) + \operatorname{log1p}(t)` as :math:`\operatorname{softplus}(x)` and
    :math:`e^{\min(x, 0)}/(1 + t)` as :math:`\sigma(x)` where :math:`t = e^{-|x|}` (written out, or a
    common subexpression ``definitions`` gives as that)."""

    def is_tail(t: sp.Expr, x: sp.Expr) -> bool:
        return sp.exp(-sp.Abs(x, evaluate=False)) in (t, definitions.get(t))

    def fold_add(e: sp.Add) -> sp.Expr:
        terms = list(e.args)
        for m in [a for a in terms if isinstance(a, sp.Max) and len(a.args) == 2 and sp.S.Zero in a.args]:
            (x,) = (a for a in m.args if a != 0)
            log = next((a for a in terms if isinstance(a, log1p) and is_tail(a.args[0], x)), None)
            if log is not None and m in terms:
                terms = [a for a in terms if a not in (m, log)] + [softplus(x)]
        return sp.Add(*terms, evaluate=False) if len(terms) > 1 else terms[0]

    def fold_mul(e: sp.Mul) -> sp.Expr:
        factors = list(e.args)
        for f in [a for a in factors if isinstance(a, sp.exp) and isinstance(a.args[0], sp.Min)]:
            low = f.args[0]
            if len(low.args) != 2 or sp.S.Zero not in low.args:
                continue
            (x,) = (a for a in low.args if a != 0)
            d = next((a for a in factors if isinstance(a, sp.Pow) and a.exp == -1 and isinstance(a.base, sp.Add)
                      and sp.S.One in a.base.args and len(a.base.args) == 2
                      and is_tail(a.base - 1, x)), None)
            if d is not None:
                factors = [a for a in factors if a not in (f, d)] + [sigmoid(x)]
        return sp.Mul(*factors, evaluate=False) if len(factors) > 1 else factors[0]

    expr = expr.replace(lambda e: isinstance(e, sp.Mul), fold_mul)
    return expr.replace(lambda e: isinstance(e, sp.Add), fold_add)


class FormulaPrinter(StrPrinter):
    """A block's formula as its comment reads it: the code's names, array semantics (``z`` for
    :math:`z_k`, ``sum(…)`` over the class axis) and the helpers by what they compute."""

    def __init__(self, names: Mapping[sp.Basic, str]) -> None:
        super().__init__()
        self._names = names

    def doprint(self, expr: sp.Basic) -> str:
        """``expr`` with each entry :math:`z_k` read as the array ``z`` (SymPy prints an Indexed itself)."""
        return super().doprint(expr.replace(lambda e: isinstance(e, sp.Indexed),
                                            lambda e: sp.Symbol(self._names.get(e.base, str(e.base)))))

    def _print_Symbol(self, expr: sp.Symbol) -> str:  # noqa: N802
        return self._names.get(expr, expr.name)

    _print_Dummy = _print_Symbol  # noqa: N815

    def _print_ZeroWeighted(self, expr: ZeroWeighted) -> str:  # noqa: N802
        return f"zero_weighted({self._print(expr.args[0])}, {self._print(expr.args[1])})"

    def _print_Sum(self, expr: sp.Sum) -> str:  # noqa: N802
        return f"sum({self._print(expr.function)})"

    def _print_ClassMax(self, expr: ClassMax) -> str:  # noqa: N802
        return f"max({self._print(expr.function)})"

    def _print_LabelSelect(self, expr: LabelSelect) -> str:  # noqa: N802
        label, values, choices = expr.args
        pairs = ", ".join(f"{self._print(v)}: {self._print(c)}" for v, c in zip(values, choices, strict=True))
        return f"{{{pairs}}}[{self._print(label)}]"

    def _print_FromParts(self, expr: FromParts) -> str:  # noqa: N802
        helper, parts = expr.args
        return f"{helper.name.lstrip('_')}({self._print(parts.args[0] if isinstance(parts, SoftmaxParts) else parts)})"

    def _print_SoftmaxParts(self, expr: SoftmaxParts) -> str:  # noqa: N802
        return f"shifted({self._print(expr.args[0])})"

    def _print_AtLabel(self, expr: AtLabel) -> str:  # noqa: N802
        return f"({self._print(expr.args[0])})[label]"

    def _print_AtMax(self, expr: AtMax) -> str:  # noqa: N802
        return f"argmax({self._print(expr.args[0])})"


FUNCTION_NAMES = {sp.exp: "e", sp.Abs: "abs", sigmoid: "sig", SoftmaxParts: "shifted", LabelParts: "label_parts",
                  AtLabel: "at_label"}


HELPER_NAMES = {"_logsumexp": "lse"}


NAME_LENGTH = 24  # the longest temporary name; a longer one is left ``u…``


@dataclass(frozen=True)
class KernelNaming(Naming):
    """Temporaries named after the function applied and its argument (``e_neg_abs_z`` for
    :math:`e^{-|z|}`, ``softplus_z``, ``sign_y`` for the ±1 chosen by the label), the softplus and
    sigmoid that :func:`~symloss.emit.arrays.shared_exponentials` wrote out read back as such; formulas
    printed by :class:`FormulaPrinter`.  ``definitions``: each common subexpression's expression."""

    definitions: Mapping[sp.Basic, sp.Expr]

    def name(self, expr: sp.Basic, names: Mapping[sp.Basic, str]) -> str | None:
        name = self._name(folded_exponentials(expr, self.definitions), names)
        return name if name is not None and len(name) <= NAME_LENGTH else None

    def _name(self, expr: sp.Basic, names: Mapping[sp.Basic, str]) -> str | None:
        if isinstance(expr, sp.Indexed):
            return names.get(expr.base)
        if isinstance(expr, sp.Symbol):
            return names.get(expr, expr.name)
        if expr.is_Integer and expr >= 0:
            return str(expr)
        if isinstance(expr, sp.Mul) and expr.could_extract_minus_sign():
            inner = self._name(-expr, names)
            return None if inner is None else f"neg_{inner}"
        if isinstance(expr, sp.Pow):
            base = self._name(expr.base, names)
            ending = {2: "{}_sq", sp.S.Half: "sqrt_{}", -1: "inv_{}"}.get(expr.exp)
            return None if base is None or ending is None else ending.format(base)
        if isinstance(expr, LabelSelect):
            label, _, choices = expr.args
            sign = set(choices) == {sp.S.One, sp.S.NegativeOne}
            inner = self._name(label, names)
            return None if inner is None else f"{'sign' if sign else 'by'}_{inner}"
        if isinstance(expr, sp.Mul) and len(expr.args) == 2 and any(isinstance(a, LabelSelect) for a in expr.args):
            select, other = sorted(expr.args, key=lambda a: not isinstance(a, LabelSelect))
            inner = self._name(other, names)
            return f"{inner}_signed" if inner is not None and set(select.args[2]) == {1, -1} else None
        if isinstance(expr, FromParts):  # named after the entries the parts are of
            helper, parts = expr.args
            parts = self.definitions.get(parts, parts)
            inner = self._name(parts.args[0], names) if isinstance(parts, SoftmaxParts) else None
            return None if inner is None else f"{HELPER_NAMES.get(helper.name, helper.name.lstrip('_'))}_{inner}"
        if isinstance(expr, (sp.Max, sp.Min)) and len(expr.args) == 2:
            parts = [self._name(a, names) for a in sorted(expr.args, key=lambda a: a.is_number)]  # max_x_0
            return None if None in parts else "_".join([type(expr).__name__.lower(), *parts])
        if isinstance(expr, sp.Function) and len(expr.args) == 1:
            inner = self._name(expr.args[0], names)
            prefix = FUNCTION_NAMES.get(type(expr), type(expr).__name__.lower())
            return None if inner is None else f"{prefix}_{inner}"
        return None

    def describe(self, expr: sp.Basic, names: Mapping[sp.Basic, str]) -> str:
        return FormulaPrinter(names).doprint(folded_exponentials(expr, self.definitions))
