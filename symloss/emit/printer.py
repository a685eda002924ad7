"""NumPy code for one expression: ``np.`` names, class vectors under array semantics
(:mod:`symloss.emit.arrays`) and the helpers of the kernels' numerics module for the stable primitives
(:mod:`symloss.stabilize.primitives`); a real constant that needs more than one float as two floats."""

from __future__ import annotations

from collections.abc import Mapping

import sympy as sp
from sympy.printing.numpy import NumPyPrinter

from symloss.declare.functions import sigmoid, softplus
from symloss.declare.likelihood import ClassMax
from symloss.emit.arrays import AtMax, FromParts, SoftmaxParts, ZeroWeighted
from symloss.stabilize.class_axis_primitives import ScaledSoftmaxProduct
from symloss.stabilize.exact_sum_primitives import half, on_halves
from symloss.stabilize.primitives import (
    CompensatedSum,
    OfExactSumBase,
    OtherClassesSum,
    SumOthers,
    exp_minus,
    exprel,
    kl_div,
    logcosh,
    pow1p,
    quotient_of_sum,
    sech2,
    sigmoid_expm1,
    sigmoid_pow,
    square_over_of_sum,
    square_ratio,
    square_ratio_of_sum,
)


class KernelPrinter(NumPyPrinter):
    """NumPy code with ``np.`` names, array semantics for class vectors and the kernels' helpers."""

    def __init__(self, names: Mapping[sp.Basic, str]) -> None:
        super().__init__({"fully_qualified_modules": True, "inline": True, "allow_unknown_functions": False})
        self.names = names

    def _module_format(self, fqn: str, register: bool = True) -> str:
        return fqn.replace("numpy.", "np.", 1)

    def _print_Symbol(self, expr: sp.Symbol) -> str:  # noqa: N802 - SymPy's dispatch names
        return self.names.get(expr, expr.name)

    _print_Dummy = _print_Symbol  # noqa: N815 - SymPy's dispatch name

    def _print_Indexed(self, expr: sp.Indexed) -> str:  # noqa: N802
        return self.names.get(expr.base, str(expr.base))

    def _print_Sum(self, expr: sp.Sum) -> str:  # noqa: N802
        return f"np.sum({self._print(expr.function)}, axis=-1, keepdims=True)"

    def _print_ScaledSoftmaxProduct(self, expr: ScaledSoftmaxProduct) -> str:  # noqa: N802
        """``_softmax_product(parts, a, b, times=(…), over=(…))``: the row's shared parts (the kernel's
        ``FromParts`` of the softmax carries them), c's factors each once per unit of its integer power,
        a negative power as divisors.  Where the softmax is a common subexpression of the function (shared
        with another use, its parts no longer in sight), the plain product ``p**a * q**b * c``."""
        carrier, complement, a, b, factor = expr.args
        if not isinstance(carrier, FromParts):
            return self._print(carrier**a * complement**b * factor)
        times, over = [], []
        for f in sp.Mul.make_args(factor):
            base, power = (f.base, f.exp) if f.is_Pow and f.exp.is_Integer else (f, sp.S.One)
            (times if power > 0 else over).extend([base] * abs(int(power)))
        listed = ["".join(f"{self._print(f)}, " for f in group) for group in (times, over)]
        return (f"_softmax_product({self._print(carrier.args[1])}, {int(a)}, {int(b)}, "
                f"times=({listed[0]}), over=({listed[1]}))")

    def _print_ClassMax(self, expr: ClassMax) -> str:  # noqa: N802
        return f"np.max({self._print(expr.function)}, axis=-1, keepdims=True)"

    def _print_sigmoid(self, expr: sigmoid) -> str:
        return f"_sigmoid({self._print(expr.args[0])})"

    def _print_softplus(self, expr: softplus) -> str:
        return f"_softplus({self._print(expr.args[0])})"

    def _print_logcosh(self, expr: logcosh) -> str:
        return f"_logcosh({self._print(expr.args[0])})"

    def _print_sech2(self, expr: sech2) -> str:
        return f"_sech2({self._print(expr.args[0])})"

    def _print_kl_div(self, expr: kl_div) -> str:
        return f"_kl_div({self._print(expr.args[0])}, {self._print(expr.args[1])})"

    def _print_OfExactSumBase(self, expr: OfExactSumBase) -> str:  # noqa: N802
        """``_f_of_sum(x, y)``; a constant ``y`` in two floats, ``_f_of_sum(x, high, low)``.  (SymPy sends a
        function to the printer of its own class or of an ancestor named ``…Base``.)"""
        x, y = expr.args
        second = two_floats(y) if y.is_number else self._print(y)
        return f"{expr.helper}({self._print(x)}, {second})"

    def _print_sigmoid_expm1(self, expr: sigmoid_expm1) -> str:
        return f"_sigmoid_expm1({self._print(expr.args[0])}, {two_floats(expr.args[1])})"

    def _print_CompensatedSum(self, expr: CompensatedSum) -> str:  # noqa: N802
        return f"_compensated_sum({self._print(expr.function)})"

    def _print_sigmoid_pow(self, expr: sigmoid_pow) -> str:
        return f"_sigmoid_pow({self._print(expr.args[0])}, {self._print(expr.args[1])})"

    def _print_pow1p(self, expr: pow1p) -> str:
        return f"_pow1p({self._print(expr.args[0])}, {self._print(expr.args[1])})"

    def _print_exp_minus(self, expr: exp_minus) -> str:
        return f"_exp_minus({self._print(expr.args[0])}, {self._print(expr.args[1])})"

    def _print_exprel(self, expr: exprel) -> str:
        return f"_exprel({self._print(expr.args[0])})"

    def _print_square_ratio(self, expr: square_ratio) -> str:
        return f"_square_ratio({self._print(expr.args[0])}, {self._print(expr.args[1])})"

    def _print_square_ratio_of_sum(self, expr: square_ratio_of_sum | square_over_of_sum | quotient_of_sum) -> str:
        """``_square_ratio_of_sum(x, y, c)`` (or ``_square_over_of_sum(x, y, v, k)``,
        ``_quotient_of_sum(x, y, c, v)``); a constant ``y`` in two floats, ``(x, high, c, y_low=low)``."""
        x, y, *rest = expr.args
        scales = ", ".join(self._print(r) for r in rest)
        if not y.is_number:
            return f"_{type(expr).__name__}({self._print(x)}, {self._print(y)}, {scales})"
        high, low = two_floats(y).split(", ")
        return f"_{type(expr).__name__}({self._print(x)}, {high}, {scales}, y_low={low})"

    _print_square_over_of_sum = _print_square_ratio_of_sum

    def _print_on_halves(self, expr: on_halves) -> str:
        return f"_on_halves({', '.join(self._print(a) for a in expr.args)})"

    def _print_half(self, expr: half) -> str:
        return f"(0.5*{self._print(expr.args[0])})"
    _print_quotient_of_sum = _print_square_ratio_of_sum

    def _print_SumOthers(self, expr: SumOthers) -> str:  # noqa: N802
        return f"_sum_others({self._print(expr.args[0])})"

    def _print_SoftmaxParts(self, expr: SoftmaxParts) -> str:  # noqa: N802
        """``_shifted(e)``, or ``_shifted(f, t)`` for an entry divided by t (shifted, then divided)."""
        return f"_shifted({', '.join(self._print(a) for a in expr.operands)})"

    def _print_FromParts(self, expr: FromParts) -> str:  # noqa: N802
        return f"{expr.args[0].name}({self._print(expr.args[1])})"

    def _print_OtherClassesSum(self, expr: OtherClassesSum) -> str:  # noqa: N802
        return f"_other_classes_sum({self._print(expr.args[0])}, {self._print(expr.args[1])})"

    def _print_Heaviside(self, expr: sp.Heaviside) -> str:  # noqa: N802
        at_zero = self._print(sp.Float(expr.args[1] if len(expr.args) > 1 else sp.S.Half))
        return f"np.heaviside({self._print(expr.args[0])}, {at_zero})"

    def _print_ZeroWeighted(self, expr: ZeroWeighted) -> str:  # noqa: N802
        return f"_zero_weighted({self._print(expr.args[0])}, {self._print(expr.args[1])})"

    def _print_AtMax(self, expr: AtMax) -> str:  # noqa: N802
        return f"_at_max({self._print(expr.args[0])}, {self._print(sp.Float(expr.args[1]))})"

    def _print_Max(self, expr: sp.Max) -> str:  # noqa: N802
        *rest, last = expr.args
        text = self._print(last)
        for arg in reversed(rest):
            text = f"np.maximum({self._print(arg)}, {text})"
        return text

    def _print_Rational(self, expr: sp.Rational) -> str:  # noqa: N802
        return f"{expr.p}/{expr.q}" if expr.q != 1 else str(expr.p)

    def _print_Half(self, expr: sp.Rational) -> str:  # noqa: N802
        return "0.5"


def two_floats(constant: sp.Expr) -> str:
    """A real constant as "high, low": its nearest float and the nearest float to the rest."""
    high = float(constant)
    return f"{high!r}, {float(sp.N(constant - sp.Rational(high), 30))!r}"
