"""Block programs: named results as straight-line NumPy code (:class:`~symloss.emit.program.Program`),
common subexpressions shared, each node the array printer cannot write as one expression emitted as
a step calling a helper of the numerics module into scratch buffers (a product or sum computed as mantissas
and powers of two: :mod:`symloss.emit.scaled`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import sympy as sp

from symloss.declare.likelihood import ClassMax
from symloss.emit.arrays import (
    WHOLE_ROW_HELPERS,
    AtMax,
    FromParts,
    LabelParts,
    SoftmaxParts,
    ZeroWeighted,
    shared_exponentials,
)
from symloss.emit.naming import KernelNaming
from symloss.emit.onehot import AtLabel
from symloss.emit.printer import KernelPrinter
from symloss.emit.program import ENTRY, POOLS, SAMPLE, SCALAR, Program, Value, parameter_power
from symloss.emit.scaled import (
    SCALED_PRIMITIVES,
    Scaled,
    ScaledSum,
    exponent_factors,
    integer_shift,
    plain_exponential,
    primitive_call,
    scaled_primitives,
    scaled_sums,
)
from symloss.emit.scaled import Weight as Weight  # re-exported: the Scaled machinery's old import path
from symloss.emit.scaled import scaled_exponential_regimes as scaled_exponential_regimes
from symloss.emit.scaled import sigmoid_powers_call as sigmoid_powers_call
from symloss.emit.scaled_regimes import OTHER_CLASSES_SOFTMAX_SUM_REGIMES as OTHER_CLASSES_SOFTMAX_SUM_REGIMES
from symloss.emit.scaled_regimes import SCALED_EXPONENTIAL_REGIMES as SCALED_EXPONENTIAL_REGIMES
from symloss.emit.scaled_regimes import SCALED_SUM_REGIMES as SCALED_SUM_REGIMES
from symloss.emit.square_ratios import AffineSquareRatio, ExpSquareRatio, square_ratios_in_two_floats
from symloss.stabilize.primitives import OtherClassesSum, logcosh, pow1p, sigmoid_powers

RESERVED = frozenset({"np", "scratch", "loss", "grad", "hess", "loss_at_label", "grad_at_label", "hess_at_label",
                      *POOLS.values()})  # names in a kernel's code


def _helper_call(name: str, kind: int | None = None, outputs: int = 1,
                 work: int = 0) -> Callable[[Program, sp.Expr, int], Value]:
    """A program step calling the numerics helper ``name`` on the node's arguments, into buffers."""

    def emit(program: Program, expr: sp.Expr, inferred: int) -> Value:
        arguments = [program.emit(a) for a in expr.args]
        return program.helper(name, arguments, inferred if kind is None else kind, outputs=outputs, work=work)

    return emit


def _primitive(program: Program, expr: sigmoid_powers | pow1p, kind: int) -> Value:
    """:func:`primitive_call` into a fresh array, its operands emitted as program values (a label's entry
    among them)."""
    call, operands = primitive_call(expr)
    return program.call(call, [program.emit(o) for o in operands], kind, outputs=0)


class OtherClassesSoftmaxSum(sp.Function):
    r""":math:`c_i \sum_{k \ne i} g_k\,p_k` (:class:`~symloss.stabilize.primitives.OtherClassesSum` of a summand
    :math:`g_k p_k`, :math:`p = \operatorname{softmax}(e)`): arguments (:math:`c`, :math:`g`, the
    :class:`~symloss.emit.arrays.SoftmaxParts` of e).  ``_other_classes_softmax_sum`` takes each
    :math:`g_k e^{d_k}` as a mantissa and a power of two and applies the power after c's mantissa, so that
    :math:`p_k = e^{-903}` (0 in float64) times :math:`c_i = -1.3 \cdot 10^{204}` is :math:`-10^{-188}`, not 0."""

    nargs = 3

    def _numpycode(self, printer: KernelPrinter) -> str:
        return "_other_classes_softmax_sum({}, {}, {})".format(*(printer._print(a) for a in self.args))


def _softmax_factor(summand: sp.Expr) -> sp.Expr | None:
    """The factor :math:`p_k` (``FromParts(_softmax, …)``, power 1) of a summand, if it has exactly one."""
    factors = [f for f in sp.Mul.make_args(summand)
               if isinstance(f, FromParts) and f.args[0] == sp.Symbol("_softmax")]
    return factors[0] if len(factors) == 1 else None


def other_classes_softmax_sums(expr: sp.Expr) -> sp.Expr:
    r"""Every :math:`c_i \sum_{k \ne i} g_k p_k` (an ``OtherClassesSum`` whose summand has the softmax factor
    :math:`p_k`) as :class:`OtherClassesSoftmaxSum`."""

    def rewrite(total: OtherClassesSum) -> sp.Expr:
        weight, summand = total.args[:2]
        softmax = _softmax_factor(summand)
        return OtherClassesSoftmaxSum(weight, summand / softmax, softmax.args[1])

    return expr.replace(lambda e: isinstance(e, OtherClassesSum) and _softmax_factor(e.args[1]) is not None,
                        rewrite)


class SoftmaxTimes(sp.Function):
    r""":math:`p_k\,c` for the softmax :math:`p = \operatorname{softmax}(e)` and a co-factor c that depends on a
    parameter (which may be large): arguments (the :class:`~symloss.emit.arrays.SoftmaxParts` of e, c).
    ``_softmax_times`` is ``_exp_scaled`` of the shifted entries :math:`d_k` with c multiplied in and
    :math:`1 + \sum_{j \ne \arg\max} e^{d_j}` divided out, the power of two of :math:`e^{d_k}` applied last:
    :math:`p_k = e^{-903}` times :math:`c = -1.3 \cdot 10^{204}` is :math:`-10^{-188}`, not 0."""

    nargs = 2

    def _numpycode(self, printer: KernelPrinter) -> str:
        return "_softmax_times({}, {})".format(*(printer._print(a) for a in self.args))


def softmax_times(expr: sp.Expr, kinds: Mapping[sp.Basic, int]) -> sp.Expr:
    """Every product of the softmax :math:`p_k` (``FromParts(_softmax, …)``, power 1) and a co-factor that depends
    on a real parameter (:func:`_parameters`) and on an array, as :class:`SoftmaxTimes` (a co-factor of
    parameters alone, :math:`1 - \alpha` of label smoothing, stays one multiplication)."""

    def scaled(product: sp.Basic) -> bool:
        if not isinstance(product, sp.Mul) or _softmax_factor(product) is None:
            return False
        cofactor = product / _softmax_factor(product)
        return bool(_parameters(cofactor, kinds)) and bool(cofactor.atoms(sp.Indexed))

    def rewrite(product: sp.Mul) -> sp.Expr:
        softmax = _softmax_factor(product)
        return SoftmaxTimes(softmax.args[1], product / softmax)

    return expr.replace(scaled, rewrite)


def _parameters(expr: sp.Expr, kinds: Mapping[sp.Basic, int]) -> set[sp.Symbol]:
    """The real parameters of ``expr``: its free symbols that are not integers (an index, the class count), nor
    an array's name (of kind other than SCALAR, or the label of an indexed array) or a helper's name
    (``FromParts``)."""
    names = {i.base.label for i in expr.atoms(sp.Indexed)} | {f.args[0] for f in expr.atoms(FromParts)}
    return {s for s in expr.free_symbols - names
            if isinstance(s, sp.Symbol) and not s.is_integer and kinds.get(s, SCALAR) == SCALAR}


def _softmax_times(program: Program, expr: SoftmaxTimes, kind: int) -> Value:
    """``_softmax_times(parts, c)`` into a fresh array, its operands emitted as program values."""
    return program.call("_softmax_times({a0}, {a1})", [program.emit(a) for a in expr.args], kind, outputs=0)


def _scaled(program: Program, expr: Scaled | ScaledSum, kind: int) -> Value:
    """:meth:`Scaled.call` (:meth:`ScaledSum.call`) into a fresh array, its operands emitted as program values."""
    call, operands = expr.call()
    return program.call(call, [program.emit(o) for o in operands], kind, outputs=0)


def _softmax_parts(program: Program, expr: SoftmaxParts, kind: int) -> Value:
    """``_shifted(e, out=…)``, or ``_shifted(f, t, out=…)`` for an entry divided by t (shifted, then divided)."""
    return program.helper("_shifted", [program.emit(a) for a in expr.operands], ENTRY, outputs=2)


def _from_parts(program: Program, expr: FromParts, kind: int) -> Value:
    helper, parts = expr.args
    return program.helper(helper.name, [program.emit(parts)], SAMPLE if helper.name == "_logsumexp" else ENTRY)


def _at_max(program: Program, expr: AtMax, kind: int) -> Value:
    at_tie = program.emit(sp.Float(expr.args[1]))
    return program.helper("_at_max", [program.emit(expr.args[0]), at_tie], kind)


def _per_sample(expr: sp.Basic) -> bool:
    return isinstance(expr, ClassMax | AtLabel) or (isinstance(expr, FromParts) and expr.args[0].name == "_logsumexp")


def _zero_weighted(program: Program, expr: ZeroWeighted, kind: int) -> Value:
    r"""``_zero_weighted(w, v)`` of the mark :math:`w \cdot v`, the scalar coefficient of :math:`v` (its
    factors free of the arrays, but a parameter's negative power, a division) multiplied after it, as
    :meth:`Program._mul` multiplies an unmarked product's coefficient last: where :math:`w \ne 0` the mark
    rounds as the product it wraps (:math:`(w \cdot D^{-2}) \cdot (-2c^2)`, not
    :math:`w \cdot (D^{-2} \cdot (-2c^2))`).  Only :math:`0 \cdot \infty` of the array factors is made 0;
    a coefficient that overflows itself (:math:`c^2` at :math:`c > 10^{154}`) meets the 0 as unmarked."""
    weight, value = expr.args
    factors = sp.Mul.make_args(value)
    coefficient = [f for f in factors if program.kind_of(f) == SCALAR and parameter_power(f) >= 0]
    rest = [f for f in factors if f not in coefficient]
    # a rest of reciprocals 1/b alone keeps its coefficient: c/b is a division, finite where 1/b overflows
    if not coefficient or all(isinstance(f, sp.Pow) and f.exp == -1 for f in rest):
        return program.helper("_zero_weighted", [program.emit(weight), program.emit(value)], kind)
    marked = program.emit(ZeroWeighted(weight, sp.Mul(*rest)))
    standing = sp.Dummy(marked.text)  # the marked value, as a factor of the product that multiplies it
    program.memo[standing], program.kinds[standing] = marked, marked.kind
    return program.emit(sp.Mul(*coefficient) * standing)


def _label_handlers(labels: str) -> dict[type, Callable[[Program, sp.Expr, int], Value]]:
    """Program steps reading entry-wise values at each sample's integer label ``labels``: ``_take``
    of the value, or a softmax primitive evaluated on the parts at the label alone (not on every entry)."""
    label = Value(labels, SAMPLE)

    def at_label(program: Program, expr: AtLabel, kind: int) -> Value:
        (inner,) = expr.args
        if isinstance(inner, FromParts) and inner.args[0].name not in WHOLE_ROW_HELPERS:
            helper, parts = inner.args
            return program.helper(helper.name, [program.emit(LabelParts(parts))], SAMPLE)
        return program.helper("_take", [program.emit(inner), label], SAMPLE)

    def label_parts(program: Program, expr: LabelParts, kind: int) -> Value:
        return program.helper("_take_parts", [program.emit(expr.args[0]), label], SAMPLE, outputs=2)

    return {AtLabel: at_label, LabelParts: label_parts}


HANDLERS: Mapping[type, Callable[[Program, sp.Expr, int], Value]] = {
    logcosh: _helper_call("_logcosh"),
    ZeroWeighted: _zero_weighted,
    AtMax: _at_max,
    SoftmaxParts: _softmax_parts,
    FromParts: _from_parts,
    sigmoid_powers: _primitive,
    pow1p: _primitive,
    ExpSquareRatio: _primitive,
    AffineSquareRatio: _scaled,
    Scaled: _scaled,
    ScaledSum: _scaled,
    SoftmaxTimes: _softmax_times,
}


def _parameter_powers_kept(shared: Sequence[tuple[sp.Symbol, sp.Expr]], reduced: Sequence[sp.Expr],
                           kinds: Mapping[sp.Basic, int]) -> tuple[list[tuple[sp.Symbol, sp.Expr]], list[sp.Expr]]:
    """The common subexpressions without the integer powers :math:`t^{\\pm n}` of parameters and the
    reciprocals :math:`1/v` of input variables, put back where they were used, so that a product prints them
    as multiplications or divisions by t or v (:func:`~symloss.emit.program.parameter_power`): :math:`x/v`
    rounds once and is finite where :math:`1/v` overflows at :math:`v = 2^{-1074}` (:math:`x = \\log(1 - v)`:
    :math:`x \\cdot (1/v) = -\\infty` where :math:`x/v = -1`), :math:`(x t) t` where :math:`t^2` overflows but
    the product does not; nor the primitives in :data:`SCALED_PRIMITIVES` and the :func:`plain_exponential`
    powers, so that each product takes its
    co-factors into the primitive's helper (:func:`scaled_primitives`; the helper is called once per product)."""
    inlined: dict[sp.Symbol, sp.Expr] = {}
    kept = []
    for symbol, expr in shared:
        expr = expr.xreplace(inlined)
        if (parameter_power(expr) and kinds.get(expr.base, SCALAR) == SCALAR) or _variable_reciprocal(expr, kinds) \
                or isinstance(expr, SCALED_PRIMITIVES) or plain_exponential(expr):
            inlined[symbol] = expr
        else:
            kept.append((symbol, expr))
    return kept, [e.xreplace(inlined) for e in reduced]


def _shifted_exponents_inlined(shared: Sequence[tuple[sp.Symbol, sp.Expr]], reduced: Sequence[sp.Expr]
                               ) -> tuple[list[tuple[sp.Symbol, sp.Expr]], list[sp.Expr]]:
    r"""The common subexpressions and results with each :func:`plain_exponential` power :math:`x^t` (and
    :math:`\operatorname{pow1p}(x, t)`) whose exponent is a shared :math:`t = a + k` (k an integer,
    :func:`integer_shift`) written :math:`x^{a + k}`, so that ``_pow_scaled`` (``_pow1p``) takes :math:`a + k`
    in two floats, and each plain :math:`e^{\pm t}` of a shared product :math:`t = u v`
    (:func:`exponent_factors`) written :math:`e^{\pm u v}`, so that ``_exp_product_scaled`` takes :math:`u v` in
    two floats (Tweedie's loss :math:`e^{-(p - 1) z}` beside its gradient's exponent :math:`-(p - 1) z - M`,
    which shares :math:`(p - 1) z`); t stays shared for its other uses."""
    shifts = {symbol: expr for symbol, expr in shared if integer_shift(expr)}
    products = {symbol: expr for symbol, expr in shared if isinstance(expr, sp.Mul) and exponent_factors(expr)}

    def shared_product(e: sp.Basic) -> bool:
        return isinstance(e, sp.exp) and plain_exponential(e) and e.args[0].as_coeff_Mul()[1] in products

    def inlined(expr: sp.Expr) -> sp.Expr:
        expr = expr.replace(lambda e: isinstance(e, pow1p) and e.args[1] in shifts,
                            lambda e: pow1p(e.args[0], shifts[e.args[1]]))
        expr = expr.replace(shared_product, lambda e: sp.exp(e.args[0].xreplace(products)))
        return expr.replace(lambda e: isinstance(e, sp.Pow) and e.exp in shifts and plain_exponential(e),
                            lambda e: sp.Pow(e.base, shifts[e.exp]))

    return [(symbol, inlined(expr)) for symbol, expr in shared], [inlined(e) for e in reduced]


def _variable_reciprocal(expr: sp.Expr, kinds: Mapping[sp.Basic, int]) -> bool:
    """Whether ``expr`` is :math:`1/v` for an input variable v holding one number per entry."""
    return isinstance(expr, sp.Pow) and expr.exp == -1 and isinstance(expr.base, sp.Symbol) \
        and kinds.get(expr.base) == ENTRY


def kernel_code(results: Sequence[tuple[str, sp.Expr]], printer: KernelPrinter, kinds: Mapping[sp.Basic, int],
                first: str, vector: bool, labels: str = "", *, named: bool = True) -> list[str]:
    """Lines computing each named result, common subexpressions shared (``t0, t1, …``), as a
    :class:`~symloss.emit.program.Program` writing into the scratch buffers ``entries`` and ``samples``;
    ``labels`` names the integer class labels that :class:`~symloss.emit.onehot.AtLabel` reads at;
    ``named``: temporaries named by :class:`KernelNaming` and each block headed by its formula."""
    prepared = [softmax_times(other_classes_softmax_sums(shared_exponentials(square_ratios_in_two_floats(e))), kinds)
                for _, e in results]
    shared, reduced = sp.cse(prepared, symbols=sp.numbered_symbols("t"), optimizations="basic", order="canonical")
    shared, reduced = _parameter_powers_kept(shared, reduced, kinds)
    shared, reduced = _shifted_exponents_inlined(shared, reduced)
    shared = [(symbol, scaled_sums(scaled_primitives(expr))) for symbol, expr in shared]
    reduced = [scaled_sums(scaled_primitives(expr)) for expr in reduced]
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
