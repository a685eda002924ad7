"""Tests for symloss.certify.interval_primitives: every interval implementation of a primitive against
its textbook definition, and its resolution where the textbook form cancels."""

from __future__ import annotations

import mpmath
import pytest
import sympy as sp

from symloss.certify.balls import ball, endpoints, working_precision
from symloss.certify.interval_evaluation import interval_value
from symloss.certify.interval_primitives import SUPPORTED_PRIMITIVES
from symloss.declare.functions import sigmoid
from symloss.stabilize import primitives
from symloss.stabilize.class_axis_primitives import ScaledSoftmaxProduct
from symloss.stabilize.exact_sum_primitives import half, on_halves
from symloss.stabilize.primitives import Primitive
from symloss.stabilize.scale_ratios import over_square, smaller_of
from symloss.stabilize.scaled_softmax import divided_entry

_z, _w = sp.IndexedBase("z"), sp.IndexedBase("w")
_k, _i = sp.Symbol("k", integer=True, positive=True), sp.Symbol("i", integer=True, positive=True)
_Z, _W = (0.5, -1.25, 2.0), (0.75, -2.5, 1.5)  # three classes (dyadic, so exact as floats)
_Q = sp.Rational  # exact arguments: a function of a Float evaluates at once to its 15 digits

# every primitive with an interval implementation, at moderate arguments (dyadic, so exact)
SCALAR_SAMPLES: dict[type[Primitive], tuple[tuple[object, ...], ...]] = {  # moderate arguments, dyadic
    primitives.sigmoid_pow: ((0.75, 1.5), (-3.25, 2.0), (2.5, 0.0)),
    primitives.sigmoid_powers: ((1.25, 2, 1), (0.5, 0, 3), (0.75, 1, 2, sp.log(3)), (-2.0, 1, 1, sp.log(2))),
    primitives.sigmoid_expm1: ((0.25, sp.log(2)), (-3.5, sp.log(3))),
    primitives.exp_minus: ((0.25, 1.5), (-1.125, 0.25)),
    primitives.exprel: ((0.375,), (-2.5,), (2.0**-60,)),
    primitives.kl_div: ((0.375, 0.5), (2.0, 0.75), (0.5, 0.5)),
    primitives.pow1p: ((0.25, 1.5), (-0.75, 2.5), (-0.375, -0.5), (3.0, 0.5)),
    primitives.logcosh: ((0.375,), (-4.0,)),
    primitives.sech2: ((0.375,), (-2.5,)),
    primitives.logcosh_of_sum: ((0.5, -1.25),),
    primitives.tanh_of_sum: ((0.5, -1.25), (3.0, 0.125)),
    primitives.sech2_of_sum: ((0.5, -1.25),),
    primitives.square_of_sum: ((1.5, -0.25),),
    primitives.square_ratio: ((1.5, -0.25), (-0.375, 2.0)),
    primitives.square_ratio_of_sum: ((1.5, -0.25, 0.75), (-0.375, 2.0, 3.0)),
    primitives.square_over_of_sum: ((1.5, -0.25, 0.75, 0.5), (-0.375, 2.0, 3.0, 3.0)),
    primitives.quotient_of_sum: ((1.5, -0.25, -1, 0.75), (-0.375, 2.0, 2, 3.0)),
    divided_entry: ((1.5, 0.75), (-0.375, 3.0)),
    half: ((1.5,), (-0.375,)),
    on_halves: ((1.5, 0.75, 2), (-0.375, -0.09375, 4)),
    over_square: ((1.5, 0.75), (-0.375, 2.0)),
    smaller_of: ((1.5, 0.75), (-0.375, 2.0)),
}
CLASS_SAMPLES: dict[type[Primitive], tuple[Primitive, sp.Symbol | None]] = {  # (primitive, its entry index)
    primitives.Softmax: (primitives.Softmax(_z[_k], _k, 3), _k),
    primitives.SoftmaxComplement: (primitives.SoftmaxComplement(_z[_k], _k, 3), _k),
    primitives.LogSoftmax: (primitives.LogSoftmax(_z[_k] / 2, _k, 3), _k),
    primitives.SoftmaxXLogXRatio: (primitives.SoftmaxXLogXRatio(_z[_k], _k, 3), _k),
    primitives.LogSumExp: (primitives.LogSumExp(_z[_k], _k, 3), None),
    primitives.LogSoftmaxComplement: (primitives.LogSoftmaxComplement(_z[_k], _k, 3), _k),
    primitives.SumOthers: (primitives.SumOthers(_w[_k] * _z[_k], _k, 3), _k),
    primitives.OtherClassesSum: (primitives.OtherClassesSum(_w[_i], _z[_k] ** 2, _k, 3, _i), _i),
    primitives.SoftmaxMinusUniform: (primitives.SoftmaxMinusUniform(_z[_k], _k, 3), _k),
    ScaledSoftmaxProduct: (ScaledSoftmaxProduct(primitives.Softmax(_z[_k] / 2, _k, 3),
                                                primitives.SoftmaxComplement(_z[_k] / 2, _k, 3), 2, 1, _Q(1, 4)), _k),
}


def scalar_sample(primitive: type[Primitive], args: tuple[object, ...]) -> Primitive:
    """The primitive at exact arguments (a float as its exact rational)."""
    return primitive(*(_Q(a) if isinstance(a, float) else a for a in args))


def textbook_value(primitive: Primitive, at: dict[sp.Basic, int] | None = None) -> mpmath.mpf:
    """The primitive's textbook expression at 40 digits (class vectors ``_Z``, ``_W``), by SymPy from
    the exact arguments."""
    expr = primitive.textbook().xreplace(at or {}).doit()
    expr = expr.xreplace({base[j + 1]: _Q(v) for base, values in ((_z, _Z), (_w, _W)) for j, v in enumerate(values)})
    expr = expr.replace(sigmoid, lambda x: 1 / (1 + sp.exp(-x)))
    return mpmath.mpf(str(sp.N(expr, 40)))


def assert_encloses(interval: object, expected: mpmath.mpf) -> None:
    """The interval is narrow (50 digits) and holds the 40-digit textbook value."""
    low, high = endpoints(interval)
    scale = max(abs(expected), mpmath.mpf(1e-30))
    assert high - low <= mpmath.mpf(10) ** -40 * scale, (interval, expected)
    assert low - mpmath.mpf(10) ** -35 * scale <= expected <= high + mpmath.mpf(10) ** -35 * scale, (interval, expected)


def test_every_interval_implementation_has_a_textbook_test() -> None:
    assert set(SCALAR_SAMPLES) | set(CLASS_SAMPLES) == SUPPORTED_PRIMITIVES


@pytest.mark.parametrize("primitive", [scalar_sample(p, args) for p, samples in SCALAR_SAMPLES.items()
                                       for args in samples], ids=str)
def test_scalar_interval_primitives_agree_with_their_textbook(primitive: Primitive) -> None:
    with working_precision(50):
        (value,) = interval_value(primitive, {})
        assert_encloses(value, textbook_value(primitive))


@pytest.mark.parametrize(("primitive", "entry"), list(CLASS_SAMPLES.values()), ids=str)
def test_class_axis_interval_primitives_agree_with_their_textbook(primitive: Primitive,
                                                                  entry: sp.Symbol | None) -> None:
    env = {_z: [None, *(ball(v) for v in _Z)], _w: [None, *(ball(v) for v in _W)]}
    with working_precision(50):
        values = interval_value(primitive, env, entry, 3 if entry is not None else None)
        for j, value in enumerate(values, start=1):
            assert_encloses(value, textbook_value(primitive, {entry: j} if entry is not None else None))


def test_interval_primitives_resolve_where_the_textbook_cancels() -> None:
    env = {_z: [None, ball(1e4), ball(0.0)]}
    with working_precision(50):
        top, _ = interval_value(primitives.LogSoftmax(_z[_k], _k, 2), env, _k, 2)  # −log1p(e^−1e4) ≈ −1.1e-4343
        tiny = interval_value(primitives.kl_div(_Q(0.75), _Q(0.75 * (1 + 2.0**-52))), {})[0]  # ≈ q x²/2, x ≈ 2^-52
        (top_low, top_high), (tiny_low, tiny_high) = endpoints(top), endpoints(tiny)
        assert abs(top_high - top_low) <= mpmath.mpf(2) ** -64 * abs(top_low)
        assert abs(top_low + mpmath.exp(-mpmath.mpf(1e4))) <= mpmath.mpf(10) ** -40 * abs(top_low)
        assert tiny_low > 0 and tiny_high - tiny_low <= mpmath.mpf(2) ** -64 * tiny_low
