r"""Expressions made ready for printing with *array semantics*: every class entry :math:`z_k` (bound or
free index) read as the array ``z`` with the class axis last, a sum over the class index as a sum
over that axis.

The transforms change nothing under that reading: class indices renamed to one (:func:`flatten_indices`),
the indicator of the largest entry marked (:class:`AtMax`), the max-shifted exponentials of each class
vector shared by every softmax primitive (:class:`SoftmaxParts`, :class:`FromParts`), a label weight of 0
and any factor that is exactly 0 kept 0 against a factor that may overflow (:class:`ZeroWeighted`), the
branches of a form joined by :class:`~symloss.emit.program.LabelSelect` (or, when they mirror each other,
one branch at a signed output), and :math:`\sigma`, softplus written out as the exponentials they are computed from.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import sympy as sp

from symloss.declare.functions import sigmoid, softplus
from symloss.declare.likelihood import ClassMax, sum_out_deltas
from symloss.emit.program import LabelSelect
from symloss.stabilize.primitives import (
    ClassAxisPrimitive,
    LogSoftmax,
    LogSoftmaxComplement,
    LogSoftmaxRemainder,
    LogSumExp,
    Softmax,
    SoftmaxComplement,
    SoftmaxMinusUniform,
    SoftmaxXLogXRatio,
    log1p,
)
from symloss.stabilize.scaled_softmax import divided_entry

if TYPE_CHECKING:  # forms computes its regimes with the emitter's blocks, which import this module
    from symloss.emit.forms import Form

HELPERS = {Softmax: "_softmax", LogSoftmax: "_log_softmax", SoftmaxComplement: "_softmax_complement",
           LogSumExp: "_logsumexp", SoftmaxXLogXRatio: "_softmax_xlogx_ratio",
           LogSoftmaxRemainder: "_log_softmax_remainder",
           SoftmaxMinusUniform: "_softmax_minus_uniform",
           LogSoftmaxComplement: "_log_softmax_complement"}
WHOLE_ROW_HELPERS = frozenset({"_softmax_minus_uniform"})
"""Helpers that sum over the whole row beyond the parts' ``rest``: never evaluated on the parts taken at a
label (``_take_parts``); an entry at the label is taken from the whole row's values instead."""


class UnsupportedExpressionError(ValueError):
    """An expression the array printer cannot read exactly."""


class AtMax(sp.Function):
    r""":math:`H(f_k - \max_j f_j)` with its value at 0: the indicator of the largest entry,
    printed so that ``f`` is computed once and the largest entry gives exactly 0."""

    nargs = 2


def mark_argmax(expr: sp.Expr) -> sp.Expr:
    """Every H(f − max f) as ``AtMax(f, H(0))``, before common subexpressions are taken apart."""

    def is_argmax(e: sp.Basic) -> bool:
        return isinstance(e, sp.Heaviside) and any(
            sp.expand(e.args[0] + m - m.function) == 0 for m in e.args[0].atoms(ClassMax))

    def rewrite(e: sp.Heaviside) -> sp.Expr:
        largest = next(m for m in e.args[0].atoms(ClassMax) if sp.expand(e.args[0] + m - m.function) == 0)
        return AtMax(largest.function, e.args[1] if len(e.args) > 1 else sp.S.Half)

    return expr.replace(is_argmax, rewrite)


class SoftmaxParts(sp.Function):
    """The max-shifted exponentials of a class vector (``_shifted``): computed once, shared by every
    softmax primitive of the same entries."""

    nargs = 1

    @property
    def operands(self) -> tuple[sp.Expr, ...]:
        """The helper's arguments: the entry e, or (f, t) for an entry f/t divided by a positive t
        (:class:`~symloss.stabilize.scaled_softmax.divided_entry`: shifted, then divided)."""
        (entry,) = self.args
        return entry.args if isinstance(entry, divided_entry) else (entry,)


class FromParts(sp.Function):
    """A class-axis primitive computed from shared :class:`SoftmaxParts`; the first argument is a
    symbol naming the helper (``_softmax``, ``_log_softmax`` …)."""

    nargs = 2


def share_softmax_parts(expr: sp.Expr) -> sp.Expr:
    """Every class-axis primitive as ``FromParts(helper, SoftmaxParts(entry))``, so that common
    subexpression elimination computes the shifted exponentials of each entry array once."""
    return expr.replace(lambda e: isinstance(e, ClassAxisPrimitive),
                        lambda e: FromParts(sp.Symbol(HELPERS[type(e)]), SoftmaxParts(e.entry)))


class ZeroWeighted(sp.Function):
    """``weight · value`` that is 0 wherever the weight is 0, even where the value is infinite or
    undefined (a masked logit, a probability of 0): a class of label weight 0 contributes nothing."""

    nargs = 2


class LabelParts(sp.Function):
    """The :class:`SoftmaxParts` of each sample's labelled entry (``_take_parts``): taken once, shared
    by every softmax primitive read at the label."""

    nargs = 1


def _unbounded(expr: sp.Expr) -> bool:
    """Whether ``expr`` may be infinite at the edge of its domain: a log, or a negative power of
    anything but a single symbol (a class count or a positive hyper-parameter)."""
    return expr.has(sp.log, LogSoftmax, LogSumExp, LogSoftmaxRemainder) or any(
        p.exp.is_negative and not isinstance(p.base, sp.Symbol) for p in expr.atoms(sp.Pow) if p.exp.is_number)


def mark_zero_weighted(expr: sp.Expr, *weights_of: sp.Basic) -> sp.Expr:
    """Every product of weight factors (bounded factors with any of ``weights_of``: the labels, or
    hyper-parameters that may be 0) and an unbounded rest as ``ZeroWeighted(weight, rest)``."""

    def rewrite(mul: sp.Mul) -> sp.Expr:
        weights = [f for f in mul.args if f.has(*weights_of) and not _unbounded(f)]
        rest = [f for f in mul.args if f not in weights]
        if not weights or not rest or not _unbounded(sp.Mul(*rest)):
            return mul
        return ZeroWeighted(sp.Mul(*weights), sp.Mul(*rest))

    return expr.replace(lambda e: isinstance(e, sp.Mul), rewrite)


def _may_overflow(expr: sp.Expr) -> bool:
    r"""Whether ``expr`` may be infinite in float64 at a float input where its exact value is finite,
    or infinite exactly at the edge of its domain: a log (:math:`\log 0 = -\infty`), an exponential
    (:math:`e^a` overflows past :math:`a > 709`; not :math:`e^{-|z|} \le 1`), a power with a symbolic
    exponent (:math:`p^{\gamma - 1}` at :math:`\gamma = 0`), a power above 1 (:math:`r^2` past
    :math:`|r| > 10^{154}`) or a negative power of anything but a number or a class count
    (:math:`1/\nu` is :math:`\infty` at :math:`\nu = 2^{-1074}`, a positive hyper-parameter's smallest
    float)."""

    def overflows(p: sp.Pow) -> bool:
        if p.base.is_number or (p.base.is_integer and p.base.is_positive):  # a constant; 1/K <= 1
            return False
        return not p.exp.is_number or p.exp.is_negative or p.exp > 1

    return (expr.has(sp.log, LogSoftmax, LogSumExp, LogSoftmaxRemainder)
            or any(not e.args[0].is_nonpositive for e in expr.atoms(sp.exp))
            or any(overflows(p) for p in expr.atoms(sp.Pow)))


def _may_be_zero(expr: sp.Expr) -> bool:
    r"""Whether ``expr`` may be 0 at a float input, and its float value is 0 only where its exact value is:
    a variable whose domain holds 0 (a label, a hyper-parameter at its domain's closed end), or the sum
    of two variables or of a variable and a constant (:math:`\hat y - y`, :math:`1 - p`: a float sum
    is 0 exactly where the exact one is).  Not a product or a power, which underflow to 0 where the exact
    value is not (:math:`r^2` at :math:`|r| < 10^{-162}`), nor :math:`p^\gamma`, 1 at :math:`\gamma = 0`."""

    def atom(e: sp.Expr) -> bool:
        return isinstance(e, sp.Symbol | sp.Indexed) or e.is_number or (-e).is_Symbol

    exact = atom(expr) or (isinstance(expr, sp.Add) and len(expr.args) == 2 and all(atom(t) for t in expr.args))
    return exact and bool(expr.free_symbols) and expr.is_zero is not False


def _bases(expr: sp.Expr) -> set[sp.Expr]:
    r"""The bases of the factors of ``expr``, each up to a constant factor (:math:`2y - 2\hat y` as
    :math:`\hat y - y`)."""
    bases = ((f.base if isinstance(f, sp.Pow) else f).as_content_primitive()[1] for f in sp.Mul.make_args(expr))
    return {-b if b.could_extract_minus_sign() else b for b in bases}


def _common_zeros(add: sp.Add) -> sp.Expr:
    r"""``add`` with the factors common to all its terms that may be exactly 0 taken out of the sum
    (:math:`2\gamma a - \gamma(\gamma - 1) b = \gamma (2a - (\gamma - 1) b)`), so that the product
    they belong to is marked whole; ``add`` itself when it has none."""
    common = set.intersection(*(set(sp.Mul.make_args(term)) for term in add.args))
    zeros = sp.Mul(*sorted((f for f in common if _may_be_zero(f)), key=sp.default_sort_key))
    return add if zeros == 1 else zeros * sp.Add(*(term / zeros for term in add.args))


def _divisor(factor: sp.Expr) -> bool:
    r"""Whether ``factor`` is the reciprocal :math:`1/t` of a variable.  A weight over such divisors
    alone, :math:`w/t`, is printed as a division, and :math:`0/t = 0` at every float :math:`t \ne 0`
    (the reciprocal, :math:`\infty` at :math:`t = 2^{-1074}`, is never formed): it is left unmarked."""
    return isinstance(factor, sp.Pow) and factor.exp == -1 and isinstance(factor.base, sp.Symbol | sp.Indexed)


def _marked_product(mul: sp.Mul) -> sp.Expr | None:
    """``mul`` as :func:`mark_exact_zeros` marks it (its sums' common zero factors taken out), or None
    when it has no weight against a rest that may overflow."""
    factored = sp.Mul(*(_common_zeros(f) if isinstance(f, sp.Add) else f for f in mul.args))
    factors = sp.Mul.make_args(factored)
    divisors = set().union(*(_bases(p.base) for p in factored.atoms(sp.Pow) if p.exp.is_negative))
    weights = [f for f in factors if _may_be_zero(f) and not _bases(f) & divisors]
    rest = [f for f in factors if f not in weights]
    if not weights or all(_divisor(f) for f in rest) or not _may_overflow(sp.Mul(*rest)):
        return None
    marked = mark_exact_zeros(sp.Mul(*rest))
    for weight in weights:  # one at a time: a product of weights may underflow to 0
        marked = ZeroWeighted(weight, marked)
    return marked


def mark_exact_zeros(expr: sp.Expr) -> sp.Expr:
    r"""Every product of factors that may be exactly 0 (:func:`_may_be_zero`: the weights) and a rest
    that may overflow (:func:`_may_overflow`) as ``ZeroWeighted(weight, rest)``, one weight after the
    other, outermost product first: 0 wherever a weight is 0.  In exact arithmetic :math:`0 \cdot v = 0`
    for every finite :math:`v`, however large its float64 value (:math:`\infty`) is; where :math:`v` is
    itself infinite or undefined (:math:`0 \cdot \log 0`) the product is undefined and 0 is the
    convention of a label weight of 0 (a class that contributes nothing).  Only a NaN of
    ``weight · rest`` where the weight is 0 changes.  A weight common to the terms of a sum factor is
    taken out of the sum and marked against the whole product (:math:`\gamma` of
    :math:`p^{\gamma - 1}(2\gamma a - \gamma(\gamma - 1) b)`: marked in each term, the sum's 0 would
    meet :math:`p^{-1} = \infty` outside it).  A factor whose base divides the rest
    (:math:`r \cdot 1/(r^2 k)`) is left in it, to cancel there rather than overflow; a reciprocal of a
    variable that is all the rest is a division (:func:`_divisor`), left unmarked.  A product left unmarked keeps
    its grouping."""
    if isinstance(expr, sp.Mul):
        marked = _marked_product(expr)
        if marked is not None:
            return marked
    if expr.is_Atom or not expr.args:
        return expr
    return expr.func(*(mark_exact_zeros(a) for a in expr.args))


def flatten_indices(expr: sp.Expr, index: sp.Symbol) -> sp.Expr:
    """Every class index (free or bound) renamed to ``index``; Kronecker deltas of two
    indices summed out.  Under array semantics this changes nothing but lets common
    subexpressions of sums and entries be shared."""

    expr = sum_out_deltas(expr)
    mapping: dict[sp.Basic, sp.Basic] = {}
    for e in expr.atoms(sp.Indexed):
        for i in e.indices:
            if isinstance(i, sp.Symbol):
                mapping[i] = index
    for e in expr.atoms(sp.Sum, ClassMax):
        for limit in e.limits:
            mapping[limit[0]] = index
    for e in expr.atoms(ClassAxisPrimitive):
        mapping[e.index] = index
    return share_softmax_parts(mark_argmax(expr.xreplace(mapping)))


def check_array_semantics(expr: sp.Expr, free: sp.Symbol | None) -> None:
    """Raise when a sum's summand mentions the free class index (an outer product)."""
    expr = sum_out_deltas(expr)
    if expr.has(sp.KroneckerDelta):
        raise UnsupportedExpressionError(f"a Kronecker delta outside a sum over its index remains in {expr}")
    if free is None:
        return
    for total in expr.atoms(sp.Sum, ClassMax):
        bound = total.limits[0][0]
        if bound != free and free in total.function.free_symbols:
            raise UnsupportedExpressionError(f"the summand of {total} mentions the free index {free}")


def prepared(expr: sp.Expr, index: sp.Symbol | None, labels: sp.IndexedBase | None,
              weights: Sequence[sp.Basic] = ()) -> sp.Expr:
    r"""An expression ready for printing: label weights (and factors of ``weights``) marked, then every
    other exact zero (:func:`mark_exact_zeros`), class indices flattened.  An expression with exact zeros
    is marked in its ``factor_terms`` form, the grouping common subexpression elimination gives the
    unmarked one (:math:`p^\gamma (\gamma a + b)`: marked in the expanded form, the term
    :math:`\gamma p^\gamma a` hides :math:`p^\gamma` from it and rounds otherwise)."""
    weights = (*(() if labels is None else (labels,)), *weights)
    if weights:
        expr = mark_zero_weighted(expr, *weights)
    if mark_exact_zeros(expr) != expr:
        expr = mark_exact_zeros(sp.factor_terms(expr))
    return flatten_indices(expr, index) if index is not None else expr


def selected(form: Form, index: sp.Symbol | None, labels: sp.IndexedBase | None, label: sp.Symbol,
             output: sp.Symbol | None) -> sp.Expr:
    """One expression for the whole form: the branches joined by :class:`LabelSelect` on ``label``,
    or, when they mirror each other in ``output``, one branch evaluated at ±``output``."""
    exprs = [prepared(b.expr, index, labels) for b in form.branches]
    if len(exprs) == 1:
        return exprs[0]
    values = sp.Tuple(*(b.label for b in form.branches))
    # a branch marked whole, w·h as ZeroWeighted(w, h), mirrors by its h, the weights selected by label
    weights, bodies = zip(*((e.args if isinstance(e, ZeroWeighted) else (sp.S.One, e)) for e in exprs), strict=True)
    mirrored = mirror(bodies, output) if output is not None and len(exprs) == 2 else None
    if mirrored is not None:
        (c0, c1), inner = mirrored
        signed = LabelSelect(label, values, sp.Tuple(sp.S.One, sp.S.NegativeOne)) * output
        product = LabelSelect(label, values, sp.Tuple(c0, c1)) * inner.xreplace({output: signed})
        if weights == (sp.S.One, sp.S.One):
            return product
        return ZeroWeighted(LabelSelect(label, values, sp.Tuple(*weights)), product)
    return LabelSelect(label, values, sp.Tuple(*exprs))


def mirror(exprs: Sequence[sp.Expr], output: sp.Symbol) -> tuple[tuple[sp.Expr, sp.Expr], sp.Expr] | None:
    r"""``((c_0, c_1), h)`` with ``exprs[0] = c_0 h(x)`` and ``exprs[1] = c_1 h(-x)`` (x the output, the
    c free of it), or None.  The second branch is then the first at the negated output, so one
    evaluation at :math:`s x` (:math:`s = \pm 1` by label, an exact negation) gives both: the
    identity is checked structurally, ``h.subs(x, -x)`` being the second branch's factor."""
    (c0, h0), (c1, h1) = (e.as_independent(output, as_Add=False) for e in exprs)
    if not h0.has(output) or h0.subs(output, -output) != h1:
        return None
    return (c0, c1), h0


def shared_exponentials(expr: sp.Expr) -> sp.Expr:
    r""":math:`\sigma(x)` and :math:`\operatorname{softplus}(x)` as the exponentials a kernel computes them
    from, :math:`e^{\min(x, 0)}/(1 + e^{-|x|})` and :math:`\max(x, 0) + \operatorname{log1p}(e^{-|x|})` (no
    overflow, and the tail :math:`e^{x}` kept for :math:`x \ll 0`), so that common subexpression
    elimination computes :math:`e^{-|x|}` once for both (the loss and the gradient of BCE on logits)."""

    def tail(x: sp.Expr) -> sp.Expr:
        return sp.exp(-sp.Abs(x, evaluate=False))

    def sigmoid_form(e: sigmoid) -> sp.Expr:
        return sp.exp(sp.Min(e.args[0], 0)) / (1 + tail(e.args[0]))

    def softplus_form(e: softplus) -> sp.Expr:
        return sp.Max(e.args[0], 0) + log1p(tail(e.args[0]))

    expr = expr.replace(lambda e: isinstance(e, sigmoid), sigmoid_form)
    return expr.replace(lambda e: isinstance(e, softplus), softplus_form)
