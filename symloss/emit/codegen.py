r"""NumPy kernels from derivations: stable forms printed as readable Python modules.

For a loss the generator takes the declared formula, the proved gradient and
the proved Hessian (:mod:`symloss.derive.chain`), splits them over a finite label
set (one branch per label value, joined by ``np.where``), rewrites each branch
with the proved stability rules (:mod:`symloss.stabilize.rules`) and prints it.

Class vectors are printed with *array semantics*: every entry ``z[k]`` (bound
or free index) is the array ``z`` with the class axis last, a sum over the
class index is ``np.sum(…, axis=-1, keepdims=True)``, so a per-sample
quantity has shape ``(…, 1)`` and an entry-wise one ``(…, K)``.  That reading
is exact when no summand mentions the free index of the gradient, which is
checked.

The module text comes from ``templates/kernel.py.j2`` and is deterministic:
the same catalog gives the same bytes.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import itertools
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import jinja2
import sympy as sp
from sympy.printing.numpy import NumPyPrinter
from sympy.printing.str import StrPrinter

from symloss.declare.functions import sigmoid, softplus
from symloss.declare.likelihood import ClassMax, sum_out_deltas
from symloss.declare.loss import Loss
from symloss.declare.notation import LABEL_DOMAINS, Domain, Var
from symloss.derive.chain import Derivation
from symloss.emit.onehot import AtLabel, IndexFormError, at_integer_labels
from symloss.emit.program import ENTRY, POOLS, SAMPLE, LabelSelect, Naming, Program, Value
from symloss.stabilize.primitives import (
    ClassAxisPrimitive,
    CompensatedSum,
    LogSoftmax,
    LogSoftmaxRemainder,
    LogSumExp,
    OfExactSumBase,
    OtherClassesSum,
    Softmax,
    SoftmaxComplement,
    SoftmaxXLogXRatio,
    SumOthers,
    exp_minus,
    kl_div,
    log1p,
    logcosh,
    sech2,
    sigmoid_expm1,
    sigmoid_pow,
    sigmoid_powers,
)
from symloss.stabilize.rules import ProvedRule, stabilize

RESERVED = frozenset({"np", "scratch", "loss", "grad", "hess", "loss_at_label", "grad_at_label", "hess_at_label",
                      *POOLS.values()})  # names in a kernel's code
HELPERS = {Softmax: "_softmax", LogSoftmax: "_log_softmax", SoftmaxComplement: "_softmax_complement",
           LogSumExp: "_logsumexp", SoftmaxXLogXRatio: "_softmax_xlogx_ratio",
           LogSoftmaxRemainder: "_log_softmax_remainder"}


class UnsupportedExpressionError(ValueError):
    """An expression the array printer cannot read exactly."""


@dataclass(frozen=True)
class Branch:
    """One stable form, valid where the label equals ``label`` (None: everywhere)."""

    label: object | None
    expr: sp.Expr
    rules: tuple[str, ...]


@dataclass(frozen=True)
class Form:
    """A quantity (loss, gradient or Hessian) as branches over the label values."""

    textbook: sp.Expr
    branches: tuple[Branch, ...]

    @property
    def rules(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(name for b in self.branches for name in b.rules))


@dataclass(frozen=True)
class Argument:
    """One argument of a kernel: its name, whether it is a class vector, and its check."""

    name: str
    vector: bool
    check: str  # a call of the numerics module that validates it, or "" for none
    labels: bool = False  # a one-hot/soft target that also takes integer class indices


@dataclass(frozen=True)
class Option:
    """A keyword-only hyper-parameter of a kernel (``unset``: what passing None means, "" if not allowed)."""

    name: str
    default: float | None
    check: str
    unset: str = ""


@dataclass(frozen=True)
class Switch:
    """A run-time case in which a hyper-parameter has a fixed value: given as None (its declared
    ``unset`` value), or at a default of 0 that switches a term off."""

    param: Var
    value: sp.Expr
    condition: str


@dataclass(frozen=True)
class Variant:
    """The block programs used under ``condition``: the forms with each switched parameter replaced
    by its value (exact: a symbolic replacement, before stabilization) and, when the condition tests
    for integer class labels, specialized to one-hot targets (:mod:`symloss.emit.onehot`)."""

    condition: str
    rules: tuple[str, ...]
    code: Mapping[str, str]  # as :attr:`Kernel.code`


@dataclass(frozen=True)
class Kernel:
    """Everything the template needs to write one loss's module."""

    loss: Loss
    value: Form
    gradient: Form
    hessian: Form
    arguments: tuple[Argument, ...]
    options: tuple[Option, ...]
    code: Mapping[str, str]  # "value", "gradient", "hessian", "value_and_gradient" → function bodies
    variants: tuple[Variant, ...] = ()  # tested in order before the general programs of ``code``
    label_indices: bool = False  # integer class labels have programs of their own (else made one-hot rows)

    @property
    def vector(self) -> bool:
        return self.loss.output.is_vector

    @property
    def rules(self) -> tuple[str, ...]:
        own = (*self.value.rules, *self.gradient.rules, *self.hessian.rules)
        return tuple(dict.fromkeys((*own, *(name for v in self.variants for name in v.rules))))


# --------------------------------------------------------------------------- forms


def stable_form(expr: sp.Expr, label: Var, rules: Sequence[ProvedRule], *, declared: bool = False) -> Form:
    """``expr`` split over ``label``'s finite set (if it has one), each branch stabilized; a ``declared``
    closed form keeps the grouping its declaration chose (it is not refactored)."""
    values = label.domain.values if not label.is_vector and label.symbol in expr.free_symbols else ()
    if not values:
        return Form(expr, (_branch(None, expr, rules, declared),))
    return Form(expr, tuple(_branch(v, expr.subs(label.symbol, v), rules, declared) for v in values))


def _branch(label: object | None, expr: sp.Expr, rules: Sequence[ProvedRule], declared: bool = False) -> Branch:
    """The better stabilized candidate of the expression and its factored form (a declared form: itself)."""
    candidates = [expr]
    if not declared and not expr.has(sp.Sum, ClassMax, sp.Piecewise):
        # factoring exposes the 1 - σ, p - 1 … that the rules rewrite; expanding would hide them
        with contextlib.suppress(sp.PolynomialError, TypeError, ValueError):
            candidates.append(sp.factor(expr))
    stabilized = [stabilize(c, rules) for c in candidates]
    # the candidate the most rules could rewrite keeps the most of its stable structure; then the shorter
    best = min(stabilized, key=lambda s: (-len(s.rules), sp.count_ops(s.expr), sp.default_sort_key(s.expr)))
    return Branch(label, best.expr, best.rules)


# --------------------------------------------------------------------------- printing


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
        second = _two_floats(y) if y.is_number else self._print(y)
        return f"{expr.helper}({self._print(x)}, {second})"

    def _print_sigmoid_expm1(self, expr: sigmoid_expm1) -> str:
        return f"_sigmoid_expm1({self._print(expr.args[0])}, {_two_floats(expr.args[1])})"

    def _print_CompensatedSum(self, expr: CompensatedSum) -> str:  # noqa: N802
        return f"_compensated_sum({self._print(expr.function)})"

    def _print_sigmoid_pow(self, expr: sigmoid_pow) -> str:
        return f"_sigmoid_pow({self._print(expr.args[0])}, {self._print(expr.args[1])})"

    def _print_exp_minus(self, expr: exp_minus) -> str:
        return f"_exp_minus({self._print(expr.args[0])}, {self._print(expr.args[1])})"

    def _print_SumOthers(self, expr: SumOthers) -> str:  # noqa: N802
        return f"_sum_others({self._print(expr.args[0])})"

    def _print_SoftmaxParts(self, expr: SoftmaxParts) -> str:  # noqa: N802
        return f"_shifted({self._print(expr.args[0])})"

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


def _two_floats(constant: sp.Expr) -> str:
    """A real constant as "high, low": its nearest float and the nearest float to the rest."""
    high = float(constant)
    return f"{high!r}, {float(sp.N(constant - sp.Rational(high), 30))!r}"


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


def _helper_call(name: str, kind: int | None = None, outputs: int = 1,
                 work: int = 0) -> Callable[[Program, sp.Expr, int], Value]:
    """A program step calling the numerics helper ``name`` on the node's arguments, into buffers."""

    def emit(program: Program, expr: sp.Expr, inferred: int) -> Value:
        arguments = [program.emit(a) for a in expr.args]
        return program.helper(name, arguments, inferred if kind is None else kind, outputs=outputs, work=work)

    return emit


def _sigmoid_powers(program: Program, expr: sigmoid_powers, kind: int) -> Value:
    """``_sigmoid_powers(x, a, b[, root high, root low])`` into a fresh array (x emitted as a program value)."""
    x, a, b, *root = expr.args
    constants = "".join(f", {_two_floats(r)}" for r in root)
    return program.call(f"_sigmoid_powers({{a0}}, {a}, {b}{constants})", [program.emit(x)], kind, outputs=0)


def _from_parts(program: Program, expr: FromParts, kind: int) -> Value:
    helper, parts = expr.args
    return program.helper(helper.name, [program.emit(parts)], SAMPLE if helper.name == "_logsumexp" else ENTRY)


def _at_max(program: Program, expr: AtMax, kind: int) -> Value:
    at_tie = program.emit(sp.Float(expr.args[1]))
    return program.helper("_at_max", [program.emit(expr.args[0]), at_tie], kind)


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


def _prepared(expr: sp.Expr, index: sp.Symbol | None, labels: sp.IndexedBase | None,
              weights: Sequence[sp.Basic] = ()) -> sp.Expr:
    """An expression ready for printing: label weights (and factors of ``weights``) marked, class
    indices flattened."""
    weights = (*(() if labels is None else (labels,)), *weights)
    if weights:
        expr = mark_zero_weighted(expr, *weights)
    return flatten_indices(expr, index) if index is not None else expr


def selected(form: Form, index: sp.Symbol | None, labels: sp.IndexedBase | None, label: sp.Symbol,
             output: sp.Symbol | None) -> sp.Expr:
    """One expression for the whole form: the branches joined by :class:`LabelSelect` on ``label``,
    or, when they mirror each other in ``output``, one branch evaluated at ±``output``."""
    exprs = [_prepared(b.expr, index, labels) for b in form.branches]
    if len(exprs) == 1:
        return exprs[0]
    values = sp.Tuple(*(b.label for b in form.branches))
    mirrored = mirror(exprs, output) if output is not None and len(exprs) == 2 else None
    if mirrored is not None:
        (c0, c1), inner = mirrored
        signed = LabelSelect(label, values, sp.Tuple(sp.S.One, sp.S.NegativeOne)) * output
        return LabelSelect(label, values, sp.Tuple(c0, c1)) * inner.xreplace({output: signed})
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


def kernel_code(results: Sequence[tuple[str, sp.Expr]], printer: KernelPrinter, kinds: Mapping[sp.Basic, int],
                first: str, vector: bool, labels: str = "", *, named: bool = True) -> list[str]:
    """Lines computing each named result, common subexpressions shared (``t0, t1, …``), as a
    :class:`~symloss.emit.program.Program` writing into the scratch buffers ``entries`` and ``samples``;
    ``labels`` names the integer class labels that :class:`~symloss.emit.onehot.AtLabel` reads at;
    ``named``: temporaries named by :class:`KernelNaming` and each block headed by its formula."""
    shared, reduced = sp.cse([shared_exponentials(e) for _, e in results], symbols=sp.numbered_symbols("t"),
                             optimizations="basic", order="canonical")
    handlers = {**HANDLERS, **_label_handlers(labels)} if labels else HANDLERS
    reserved = RESERVED | {"K"} | set(printer.names.values())
    program = Program(printer, dict(kinds), handlers, per_sample=_per_sample, naming=KernelNaming(dict(shared)),
                      reserved=frozenset(reserved))
    for symbol, expr in shared:
        program.define(symbol, printer.doprint(symbol), expr)
    values = [program.define(sp.Symbol(name), name, expr) for (name, _), expr in zip(results, reduced, strict=True)]
    lines, counts = program.lines(values, named=named)
    sample_shape = f"{first}.shape[:-1] + (1,)" if vector else f"{first}.shape"
    shapes = {ENTRY: f"{first}.shape", SAMPLE: sample_shape}
    pools = [f'{POOLS[kind]} = _buffers(scratch, "{POOLS[kind]}", {shapes[kind]}, {n})'
             for kind, n in sorted(counts.items())]
    return pools + lines


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


def _per_sample(expr: sp.Basic) -> bool:
    return isinstance(expr, ClassMax | AtLabel) or (isinstance(expr, FromParts) and expr.args[0].name == "_logsumexp")


class LabelParts(sp.Function):
    """The :class:`SoftmaxParts` of each sample's labelled entry (``_take_parts``): taken once, shared
    by every softmax primitive read at the label."""

    nargs = 1


def _label_handlers(labels: str) -> dict[type, Callable[[Program, sp.Expr, int], Value]]:
    """Program steps reading entry-wise values at each sample's integer label ``labels``: ``_take``
    of the value, or a softmax primitive evaluated on the parts at the label alone (not on every entry)."""
    label = Value(labels, SAMPLE)

    def at_label(program: Program, expr: AtLabel, kind: int) -> Value:
        (inner,) = expr.args
        if isinstance(inner, FromParts):
            helper, parts = inner.args
            return program.helper(helper.name, [program.emit(LabelParts(parts))], SAMPLE)
        return program.helper("_take", [program.emit(inner), label], SAMPLE)

    def label_parts(program: Program, expr: LabelParts, kind: int) -> Value:
        return program.helper("_take_parts", [program.emit(expr.args[0]), label], SAMPLE, outputs=2)

    return {AtLabel: at_label, LabelParts: label_parts}


HANDLERS: Mapping[type, Callable[[Program, sp.Expr, int], Value]] = {
    logcosh: _helper_call("_logcosh"),
    ZeroWeighted: _helper_call("_zero_weighted"),
    AtMax: _at_max,
    SoftmaxParts: _helper_call("_shifted", ENTRY, outputs=2),
    FromParts: _from_parts,
    sigmoid_powers: _sigmoid_powers,
}


def folded_exponentials(expr: sp.Expr, definitions: Mapping[sp.Basic, sp.Expr]) -> sp.Expr:
    r"""The inverse of :func:`shared_exponentials`, for reading: :math:`\max(x, 0) + \operatorname{log1p}(t)`
    as :math:`\operatorname{softplus}(x)` and :math:`e^{\min(x, 0)}/(1 + t)` as :math:`\sigma(x)` where
    :math:`t = e^{-|x|}` (written out, or a common subexpression ``definitions`` gives as that)."""

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
    sigmoid that :func:`shared_exponentials` wrote out read back as such; formulas printed by
    :class:`FormulaPrinter`.  ``definitions``: each common subexpression's expression."""

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


# --------------------------------------------------------------------------- arguments


def argument_check(name: str, domain: Domain, *, output: bool) -> str:
    """The validation call for an array argument with ``domain`` ("" when any real is fine)."""
    if domain.values:
        values = ", ".join(str(v) for v in domain.values)
        return f"_check_in_set({name!r}, {name}, ({values},))"
    if domain.vector in ("simplex", "distribution", "onehot"):
        return f"_check_between({name!r}, {name}, 0.0, 1.0)"
    if domain.vector is not None or (domain.low is None and domain.high is None):
        return ""
    if output and domain.low == 0 and domain.high == 1:  # a probability: 0 and 1 allowed (infinite loss)
        return f"_check_between({name!r}, {name}, 0.0, 1.0)"
    return _interval_check(name, domain)


def _interval_check(name: str, domain: Domain) -> str:
    """The interval check of the variable ``name``."""
    low = "None" if domain.low is None else repr(float(domain.low))
    high = "None" if domain.high is None else repr(float(domain.high))
    return (f"_check_interval({name!r}, {name}, {low}, {high}, low_open={domain.low_open}, "
            f"high_open={domain.high_open}, integer={domain.integer})")


def arguments_of(loss: Loss) -> tuple[Argument, ...]:
    """The kernel's positional arguments: output, target, further inputs."""
    slots = ((loss.output, True), (loss.target, False), *((v, False) for v in loss.inputs))
    def takes_indices(v: Var) -> bool:
        return v.is_vector and v.domain.vector in LABEL_DOMAINS and v is loss.target

    # class labels are checked where they are read (``_class_labels``), as indices or as rows
    return tuple(Argument(v.name, v.is_vector, "" if takes_indices(v) else
                          argument_check(v.name, v.domain, output=is_output), labels=takes_indices(v))
                 for v, is_output in slots)


def options_of(loss: Loss) -> tuple[Option, ...]:
    """The kernel's keyword-only hyper-parameters with their defaults, checks (of the float64 number
    ``_as_number`` made of the value, which names a value that is no number, an array or NaN) and, for
    those that accept None, what None means."""
    return tuple(Option(v.name, v.default, _interval_check(v.name, v.domain)
                        if not v.domain.values else argument_check(v.name, v.domain, output=False),
                        _unset_text(v)) for v in loss.params)


def _unset_text(param: Var) -> str:
    """The docstring sentence saying what ``param=None`` means ("" when None is not accepted)."""
    if param.unset is None:
        return ""
    return f"``{param.name}=None``: {param.unset.meaning} (the formulas with {param.name} = {param.unset.value})."


# --------------------------------------------------------------------------- kernels


def forms_of(derivation: Derivation, rules: Sequence[ProvedRule], switches: Sequence[Switch] = ()) -> tuple[Form, ...]:
    """The stable value, gradient and Hessian, with each switched parameter replaced by its value
    (exact: a symbolic replacement, before the split over the label)."""
    loss = derivation.loss
    values = {switch.param.symbol: switch.value for switch in switches}

    def form(expr: sp.Expr, declared: bool) -> Form:
        return stable_form(expr.xreplace(values), loss.target, rules, declared=declared)

    return (form(derivation.computed_value, derivation.value is not None),
            form(derivation.gradient, derivation.gradient == loss.gradient_form),
            form(derivation.hessian, derivation.hessian == loss.hessian_form))


def switches_of(loss: Loss) -> tuple[Switch, ...]:
    """The run-time cases of fixed hyper-parameters: each option given as None (where it may be) and
    each option at a default of 0 (a term switched off, whose work the general program would still do)."""
    nullable = [Switch(v, v.unset.value, f"{v.name} is None") for v in loss.nullable]
    off = [Switch(v, sp.S.Zero, f"{v.name} == 0") for v in loss.params if v.default == 0]
    return (*nullable, *off)


def switch_choices(loss: Loss) -> list[tuple[Switch, ...]]:
    """Every non-empty set of switches of distinct parameters, the largest first (the order the kernel
    tests them in)."""
    switches = switches_of(loss)
    return [c for size in range(len(switches), 0, -1) for c in itertools.combinations(switches, size)
            if len({s.param.name for s in c}) == size]


def kernel_for(derivation: Derivation, rules: Sequence[ProvedRule], *, named: bool = True) -> Kernel:
    """The stable forms and printed code of one loss's kernel, with a variant for each set of
    switched options and, for class labels given as integers, programs specialized to one-hot targets;
    ``named``: temporaries named and blocks commented (:meth:`~symloss.emit.program.Program.lines`)."""
    loss = derivation.loss
    target = loss.target
    value, gradient, hessian = forms_of(derivation, rules)
    choices = {choice: forms_of(derivation, rules, choice) for choice in switch_choices(loss)}
    index = sp.Symbol("k", integer=True, positive=True) if loss.output.is_vector else None
    names = {v.symbol: v.name for v in (*loss.variables,) if not isinstance(v.symbol, sp.IndexedBase)}
    names.update({v.symbol: v.name for v in loss.variables if isinstance(v.symbol, sp.IndexedBase)})
    printer = KernelPrinter(names)
    for form in (value, gradient, hessian, *(f for forms in choices.values() for f in forms)):
        for branch in form.branches:
            check_array_semantics(branch.expr, loss.index.symbol if loss.index is not None else None)
    clashes = sorted(v.name for v in loss.variables if v.name in RESERVED or re.fullmatch(r"[tu]\d+", v.name))
    if clashes:
        raise UnsupportedExpressionError(f"{loss.name}: the names {clashes} are taken by the kernel's own code")
    labels = target.symbol if target.is_vector else None
    output = None if loss.output.is_vector else loss.output.symbol
    kinds = array_kinds(loss)
    first = loss.output.name

    def rows(*results: tuple[str, Form]) -> str:
        return "\n".join(kernel_code([(name, selected(form, index, labels, target.symbol, output))
                                      for name, form in results], printer, kinds, first, loss.output.is_vector,
                                     named=named))

    def indices(*results: tuple[str, Form]) -> str:
        return "\n".join(index_kernel_code(results, loss, index, printer, kinds, named=named))

    def programs(value: Form, gradient: Form, hessian: Form, code: Callable[..., str] = rows) -> dict[str, str]:
        return {"value": code(("loss", value)), "gradient": code(("grad", gradient)),
                "hessian": code(("hess", hessian)),
                "value_and_gradient": code(("loss", value), ("grad", gradient))}

    variants = []
    takes_indices = loss.classes is not None and any(a.labels for a in arguments_of(loss))
    if takes_indices:
        try:
            label_test = f"{target.name}.dtype == np.int64"
            for choice, forms in (*choices.items(), ((), (value, gradient, hessian))):
                condition = " and ".join((label_test, *(s.condition for s in choice)))
                variants.append(Variant(condition, _rules(forms), programs(*forms, code=indices)))
        except IndexFormError:  # integer labels then become one-hot rows, block by block
            variants, takes_indices = [], False
    variants += [Variant(" and ".join(s.condition for s in choice), _rules(forms), programs(*forms))
                 for choice, forms in choices.items()]
    return Kernel(loss, value, gradient, hessian, arguments_of(loss), options_of(loss),
                  programs(value, gradient, hessian), tuple(variants), takes_indices)


def index_kernel_code(results: Sequence[tuple[str, Form]], loss: Loss, index: sp.Symbol, printer: KernelPrinter,
                      kinds: Mapping[sp.Basic, int], *, named: bool = True) -> list[str]:
    """The lines of a block program for integer class labels (:mod:`symloss.emit.onehot`): each result at
    the entries off the label and, for an entry-wise result that depends on it, at the label, written
    into the label's entries last.  A factor of hyper-parameters that may be 0 times an unbounded
    quantity counts as 0 there (the label weight it stands for)."""
    target = loss.target
    params = [v.symbol for v in loss.params]
    specialized: list[tuple[str, sp.Expr]] = []
    at_labels: list[str] = []
    for name, form in results:
        (branch,) = form.branches
        split = at_integer_labels(branch.expr, target.symbol, loss.index.symbol, loss.classes.symbol)
        specialized.append((name, _prepared(split.elsewhere, index, None, params)))
        if split.at_label is not None:
            specialized.append((f"{name}_at_label", _prepared(split.at_label, index, None, params)))
            at_labels.append(name)
    lines = kernel_code(specialized, printer, kinds, loss.output.name, vector=True, labels=target.name, named=named)
    bare = {name for name, expr in specialized if isinstance(expr, sp.Symbol | sp.Indexed)}

    def written(name: str) -> str:  # the label entries are written in place: an argument itself is copied first
        array = f"np.copy({name})" if name in bare else f"_full({name}, {loss.output.name}.shape)"
        return f"{name} = _put({array}, {target.name}, {name}_at_label)"

    return lines + [written(name) for name in at_labels]


def _rules(forms: Sequence[Form]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(name for form in forms for name in form.rules))


def array_kinds(loss: Loss) -> dict[sp.Basic, int]:
    """The kind of each array argument: class vectors hold entries; in a class-vector kernel a
    per-sample input (shape with a class axis of 1) holds samples, in an elementwise one entries."""
    per_sample = SAMPLE if loss.output.is_vector else ENTRY
    return {v.symbol: ENTRY if v.is_vector else per_sample for v in (loss.output, loss.target, *loss.inputs)}


def uses_class_count(code: str) -> bool:
    """Whether printed code mentions the class count ``K``."""
    return re.search(r"\bK\b", code) is not None


# --------------------------------------------------------------------------- modules


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("symloss.emit", "templates"),
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # Python source, not markup
    )


def render_module(kernel: Kernel, certificate: str) -> str:
    """The Python source of one loss's kernel module."""
    loss = kernel.loss
    origin = getattr(loss.origin, "reference", "") or getattr(loss.origin, "distribution", "")
    env = _environment()
    template = env.get_template("kernel.py.j2")
    context = dict(kernel=kernel, certificate=certificate, indent=_indent, origin=origin or "definition",
                   uses_class_count=uses_class_count, formula=sp.sstr(loss.formula),
                   gradient=sp.sstr(kernel.gradient.textbook), hessian=sp.sstr(kernel.hessian.textbook))
    # rendered once to see which shared helpers the module calls, then with exactly those imported
    called = set(re.findall(r"\b(_\w+)\(", template.render(**context, helpers=[])))
    return template.render(**context, helpers=sorted(called & _numerics_helpers(env)))


def _numerics_helpers(env: jinja2.Environment) -> set[str]:
    """The names the shared numerics module defines."""
    source, _, _ = env.loader.get_source(env, "kernels_numerics.py.j2")
    return set(re.findall(r"^def (_\w+)\(", source, flags=re.MULTILINE))


def render_package(names: Sequence[str]) -> Mapping[str, str]:
    """File name → source of the package's ``__init__`` (re-exporting ``names``, sorted) and shared numerics."""
    env = _environment()
    names = sorted(names)
    return {
        "__init__.py": env.get_template("kernels_init.py.j2").render(names=names),
        "_numerics.py": env.get_template("kernels_numerics.py.j2").render(),
    }


def _indent(text: str, spaces: int = 8) -> str:
    pad = " " * spaces
    return "\n".join(pad + line if line else line for line in text.splitlines())


def load_generated(folder: Path, name: str) -> ModuleType:
    """Module ``name`` of a generated kernel package in ``folder``, imported under a private package
    name (so that it never shadows an installed ``symloss_kernels``)."""
    package = f"_symloss_generated_{hashlib.sha1(str(folder.resolve()).encode()).hexdigest()[:12]}"
    if package not in sys.modules:
        module = ModuleType(package)
        module.__path__ = [str(folder)]
        sys.modules[package] = module
    return importlib.import_module(f"{package}.{name}")


def write_package(files: Mapping[str, str], out_dir: Path, *, prune: bool) -> list[Path]:
    """Write the modules (sorted by name) into ``out_dir``; with ``prune``, modules of losses
    no longer in ``files`` are removed (for a whole catalog, not for a selection)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob("*.py") if prune else ():
        if stale.name not in files:
            stale.unlink()
    paths = []
    for name in sorted(files):
        path = out_dir / name
        path.write_text(files[name], encoding="utf-8")
        paths.append(path)
    return paths
