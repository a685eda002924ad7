r"""The stability primitives in interval arithmetic (Arb balls, :mod:`symloss.certify.balls`), written from their
definitions without cancellation.

Each function below is the primitive's defining expression (its ``textbook()``) regrouped by an
identity that holds for every real argument, so that no two nearly equal intervals are
subtracted; which identity is used never depends on the argument, or only through a choice
between identities that all hold there (softplus's, the shift of a softmax).
tests/certify/test_interval_primitives.py checks each against ``textbook()``.  A primitive missing
here has no interval implementation: a stable form using it is never a reference
(:data:`SUPPORTED_PRIMITIVES`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from symloss.certify.balls import ball, exp, expm1, exprel, log1p, midpoint, minimum
from symloss.stabilize import primitives
from symloss.stabilize.class_axis_primitives import ScaledSoftmaxProduct
from symloss.stabilize.exact_sum_primitives import half, on_halves
from symloss.stabilize.scale_ratios import over_square, smaller_of
from symloss.stabilize.scaled_softmax import divided_entry


def iv_softplus(x: object) -> object:
    """log(1 + e^x) = x + log1p(e^-x) = log1p(e^x)."""
    return x + log1p(exp(-x)) if midpoint(x) > 0 else log1p(exp(x))


def _iv_sinh(x: object) -> object:
    """sinh x = (expm1(x) − expm1(−x))/2: the two terms have opposite signs, nothing cancels."""
    return (expm1(x) - expm1(-x)) / 2


def _iv_logcosh(x: object) -> object:
    """log cosh x = log1p(2 sinh²(x/2))."""
    return log1p(2 * _iv_sinh(x / 2) ** 2)


def _iv_sech2(x: object) -> object:
    """1/cosh² x = 1/(1 + 2 sinh²(x/2))²."""
    return 1 / (1 + 2 * _iv_sinh(x / 2) ** 2) ** 2


def _iv_tanh(x: object) -> object:
    """tanh x = expm1(2x)/(expm1(2x) + 2), the denominator at least 1."""
    e = expm1(2 * x)
    return e / (e + 2)


def _iv_sigmoid_pow(a: object, c: object) -> object:
    """σ(a)^c = e^{−c softplus(−a)}."""
    return exp(-c * iv_softplus(-a))


def _iv_sigmoid_powers(x: object, a: object, b: object, *root: object) -> object:
    """σ(x)^a σ(−x)^b (e^{L−x} − 1) = e^{−a softplus(−x) − b softplus(x)} expm1(L − x)."""
    product = exp(-a * iv_softplus(-x) - b * iv_softplus(x))
    return product * expm1(root[0] - x) if root else product


def _iv_sigmoid_expm1(a: object, root: object) -> object:
    """σ(a)(e^{L−a} − 1) = expm1(L − a)/(1 + e^−a)."""
    return expm1(root - a) / (1 + exp(-a))


def _iv_exp_minus(a: object, t: object) -> object:
    """e^a − t = expm1(a) − (t − 1), t − 1 exact for a float t."""
    return expm1(a) - (t - 1)


def _iv_pow1p(t: object, a: object) -> object:
    """(1 + t)^a = e^{a log1p(t)} for t > −1/2; (1 + t)^a itself below (1 + t = 0 included, where log1p
    is −∞), 1 + t exact for a float t in [−1, −1/2] (Sterbenz)."""
    return exp(a * log1p(t)) if midpoint(t) > -0.5 else (1 + ball(t)) ** a


def _iv_kl_div(p: object, q: object) -> object:
    """p log(p/q) − p + q = q h(x), x = (p − q)/q, h(x) = (1 + x) log1p(x) − x (undefined at p = 0,
    as the textbook form is)."""
    x = (p - q) / q
    return q * ((1 + x) * log1p(x) - x)


SCALAR_INTERVALS: Mapping[type[primitives.Primitive], Callable[..., object]] = {
    primitives.sigmoid_pow: _iv_sigmoid_pow,
    primitives.sigmoid_powers: _iv_sigmoid_powers,
    primitives.sigmoid_expm1: _iv_sigmoid_expm1,
    primitives.exp_minus: _iv_exp_minus,
    primitives.exprel: exprel,
    primitives.kl_div: _iv_kl_div,
    primitives.pow1p: _iv_pow1p,
    primitives.logcosh: _iv_logcosh,
    primitives.sech2: _iv_sech2,
    primitives.logcosh_of_sum: lambda x, y: _iv_logcosh(x + y),  # the sum is exact in intervals
    primitives.tanh_of_sum: lambda x, y: _iv_tanh(x + y),
    primitives.sech2_of_sum: lambda x, y: _iv_sech2(x + y),
    primitives.square_of_sum: lambda x, y: (x + y) ** 2,
    primitives.square_ratio: lambda a, b: (a / b) ** 2,
    primitives.square_ratio_of_sum: lambda x, y, c: ((x + y) / c) ** 2,
    primitives.square_over_of_sum: lambda x, y, v, k: k * (x + y) ** 2 / v,
    primitives.quotient_of_sum: lambda x, y, c, v: c * (x + y) / v,
    divided_entry: lambda f, t: f / t,
    # p^a q^b c of the softmax and complement vectors' entries (evaluated first): a product, nothing cancels
    ScaledSoftmaxProduct: lambda p, q, a, b, c: p**a * q**b * c,
    over_square: lambda x, g: x / g**2,
    smaller_of: minimum,
    half: lambda x: x / 2,
    on_halves: lambda plain, halved, scale: plain,  # its textbook value: the halves are an identity
}
"""Interval implementations of the scalar primitives, by class (printed under the class name)."""


def sums_of_others(terms: Sequence[object]) -> list[object]:
    r""":math:`\sum_{j \ne k} t_j` for every k, from prefix and suffix sums (the own term is never
    subtracted from the total)."""
    before, after = [ball(0)], [ball(0)]
    for t in terms[:-1]:
        before.append(before[-1] + t)
    for t in reversed(terms[1:]):
        after.append(after[-1] + t)
    return [b + a for b, a in zip(before, reversed(after), strict=True)]


def _softmax_parts(entries: Sequence[object]) -> tuple[int, list[object], list[object]]:
    r"""(a, :math:`x`, :math:`o`): a the largest entry by midpoint (any shift is an identity),
    :math:`x_k = e^{e_k - e_a}` and :math:`o_k = \sum_{j \ne k} x_j > 0`.  Then
    :math:`\operatorname{softmax}_k = x_k/(x_k + o_k)` and :math:`\log\operatorname{softmax}_k =
    -\operatorname{log1p}(o_k/x_k)`: sums of positive terms, quotients and a log1p, nothing cancels."""
    top = max(range(len(entries)), key=lambda j: midpoint(entries[j]))
    shifted = [exp(e - entries[top]) for e in entries]
    return top, shifted, sums_of_others(shifted)


def _per_class(entry: Callable[[object, object], object]) -> Callable[[Sequence[object]], list[object]]:
    """The class-axis primitive whose entry k is ``entry(x_k, o_k)`` (see :func:`_softmax_parts`)."""

    def evaluate(entries: Sequence[object]) -> list[object]:
        _, x, o = _softmax_parts(entries)
        return [entry(xk, ok) for xk, ok in zip(x, o, strict=True)]

    return evaluate


def _iv_logsumexp(entries: Sequence[object]) -> list[object]:
    """log Σ_j e^{e_j} = e_a + log1p(o_a) (x_a = 1), the same for every class."""
    top, _, o = _softmax_parts(entries)
    return [entries[top] + log1p(o[top])] * len(entries)


def _iv_softmax_minus_uniform(entries: Sequence[object]) -> list[object]:
    r"""softmax_k − 1/K = Σ_j (x_k − x_j)/(K Σ_j x_j) with :math:`x_k - x_j = x_j\operatorname{expm1}(e_k - e_j)`:
    each difference from the exact difference of two entries (O(K²), for the reference alone)."""
    _, x, o = _softmax_parts(entries)
    count = len(entries)
    return [sum((xj * expm1(ek - ej) for xj, ej in zip(x, entries, strict=True)), ball(0)) / (count * (xk + ok))
            for ek, xk, ok in zip(entries, x, o, strict=True)]


CLASS_AXIS_INTERVALS: Mapping[type[primitives.ClassAxisPrimitive], Callable[[Sequence[object]], list[object]]] = {
    primitives.Softmax: _per_class(lambda x, o: x / (x + o)),
    primitives.SoftmaxComplement: _per_class(lambda x, o: o / (x + o)),
    primitives.LogSoftmax: _per_class(lambda x, o: -log1p(o / x)),
    primitives.SoftmaxXLogXRatio: _per_class(lambda x, o: -log1p(o / x) / (o / x)),  # o/x = (1 − p)/p
    primitives.LogSumExp: _iv_logsumexp,
    primitives.SoftmaxMinusUniform: _iv_softmax_minus_uniform,
    primitives.LogSoftmaxComplement: _per_class(lambda x, o: -log1p(x / o)),  # log(o/(x + o))
}
"""Interval implementations of the class-axis primitives: the entries e_1 … e_K → the value for
every class (a primitives.LogSumExp, whose index is bound, gives its one value K times).  LogSoftmaxRemainder
has none: its cancellation-free form is a series whose remainder would need a rigorous bound."""

SUPPORTED_PRIMITIVES = frozenset({*SCALAR_INTERVALS, *CLASS_AXIS_INTERVALS, primitives.SumOthers,
                                  primitives.OtherClassesSum})
"""The primitives a stable form may use to serve as a reference."""
