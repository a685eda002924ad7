r"""A square ratio :math:`q = ((x + y)/c)^2` (``square_ratio_of_sum``) in two floats where it feeds an exponential
:math:`e^{K q}` or a sum :math:`A + B q` that may cancel: the emitter's nodes for the numerics helpers
``_exp_square_ratio`` and ``_affine_square_ratio`` (both through ``_square_ratio_parts``)."""

from __future__ import annotations

import sympy as sp

from symloss.emit.printer import KernelPrinter, two_floats
from symloss.stabilize.primitives import square_ratio_of_sum


def _square_ratio_operands(x: sp.Expr, y: sp.Expr, c: sp.Expr) -> tuple[str, str, list[sp.Expr]]:
    """The operands ``{a0}, {a1}, {a2}`` of a helper of :math:`((x + y)/c)^2`, a keyword ``, y_low=…`` (a constant
    y in two floats: its high part in the call) or "", and the operands' expressions."""
    if not y.is_number:
        return "{a0}, {a1}, {a2}", "", [x, y, c]
    high, low = two_floats(y).split(", ")
    return f"{{a0}}, {high}, {{a1}}", f", y_low={low}", [x, c]


class ExpSquareRatio(sp.Function):
    r""":math:`e^{K q}` for :math:`q = ((x + y)/c)^2` (``square_ratio_of_sum``) and a number K: arguments
    (K, x, y, c).  ``_exp_square_ratio`` carries q and :math:`K q` in two floats (``_square_ratio_parts``): the
    rounding of q, :math:`2^{-53} q`, is multiplied by :math:`|K| q` in :math:`e^{K q}` (770 ulp at
    :math:`q = 770`, where :math:`r e^{-q}` is :math:`2.3\cdot10^{-117}` for :math:`r = 2.7\cdot10^{217}`).
    A product with co-factors is :class:`Scaled` (a primitive of :data:`~symloss.emit.scaled.SCALED_PRIMITIVES`)."""

    nargs = 4

    def call(self) -> tuple[str, list[sp.Expr]]:
        """``_exp_square_ratio(x, y, c, k, k_low[, y_low])`` with its operands as ``{a0}`` …, and their
        expressions."""
        k, *ratio = self.args
        text, keyword, operands = _square_ratio_operands(*ratio)
        return f"_exp_square_ratio({text}, {two_floats(k)}{keyword})", operands

    def _numpycode(self, printer: KernelPrinter) -> str:
        text, operands = self.call()
        return text.format(**{f"a{i}": printer._print(o) for i, o in enumerate(operands)})


class AffineSquareRatio(sp.Function):
    r""":math:`A + B q` for :math:`q = ((x + y)/c)^2` and numbers A, B: arguments (A, B, x, y, c).
    ``_affine_square_ratio`` carries q in two floats (``_square_ratio_parts``) and :math:`A + B q_h` exactly
    (TwoProduct, TwoSum), so that :math:`1 - 2q` keeps its digits where it cancels, at :math:`q \approx 1/2`."""

    nargs = 5

    def call(self) -> tuple[str, list[sp.Expr]]:
        """``_affine_square_ratio(x, y, c, a, b, a_low, b_low[, y_low])`` with its operands as ``{a0}`` …, and
        their expressions."""
        a, b, *ratio = self.args
        text, keyword, operands = _square_ratio_operands(*ratio)
        (a_high, a_low), (b_high, b_low) = (two_floats(n).split(", ") for n in (a, b))
        return f"_affine_square_ratio({text}, {a_high}, {b_high}, {a_low}, {b_low}{keyword})", operands

    def _numpycode(self, printer: KernelPrinter) -> str:
        text, operands = self.call()
        return text.format(**{f"a{i}": printer._print(o) for i, o in enumerate(operands)})


def _square_ratio_multiple(expr: sp.Basic) -> tuple[sp.Expr, square_ratio_of_sum] | None:
    """(K, q) when ``expr`` is :math:`K q` for a nonzero number K and a ``square_ratio_of_sum`` q, else None."""
    coefficient, rest = expr.as_coeff_Mul()
    return (coefficient, rest) if isinstance(rest, square_ratio_of_sum) and coefficient != 0 else None


def _affine_parts(expr: sp.Basic) -> tuple[sp.Expr, sp.Expr, square_ratio_of_sum] | None:
    """(A, B, q) when ``expr`` is a sum :math:`A + B q` of a nonzero number A and :func:`_square_ratio_multiple`,
    else None."""
    if not isinstance(expr, sp.Add) or len(expr.args) != 2:
        return None
    number, term = sorted(expr.args, key=lambda e: not e.is_number)
    multiple = _square_ratio_multiple(term)
    return None if not number.is_number or multiple is None else (number, *multiple)


def square_ratios_in_two_floats(expr: sp.Expr) -> sp.Expr:
    r"""Every exponential :math:`e^{K q}` and sum :math:`A + B q` of a square ratio :math:`q = ((x + y)/c)^2`
    (numbers K, A, B) as :class:`ExpSquareRatio` and :class:`AffineSquareRatio`: where q feeds an exponential,
    which multiplies its rounding by :math:`|K| q`, or a sum that cancels, its helper carries q in two floats."""

    def exponential(power: sp.exp) -> ExpSquareRatio:
        k, q = _square_ratio_multiple(power.args[0])
        return ExpSquareRatio(k, *q.args)

    def affine(total: sp.Add) -> AffineSquareRatio:
        a, b, q = _affine_parts(total)
        return AffineSquareRatio(a, b, *q.args)

    expr = expr.replace(lambda e: isinstance(e, sp.exp) and _square_ratio_multiple(e.args[0]) is not None, exponential)
    return expr.replace(lambda e: _affine_parts(e) is not None, affine)
