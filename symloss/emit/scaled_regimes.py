"""The regimes of the helpers the emitter makes (not primitives of the stable form): a plain exponential or
power with its co-factors (``_exp_scaled``, ``_exp_product_scaled``, ``_pow_scaled``), a square ratio in two
floats, a co-factor :math:`e^a - t` as a mantissa and a power of two (``_exp_minus_parts``), a sum whose terms
may overflow (``_scaled_sum``) and the softmax's other classes' sum."""

from __future__ import annotations

import sympy as sp

from symloss.emit.square_ratios import AffineSquareRatio, ExpSquareRatio
from symloss.stabilize.primitives import exp_minus
from symloss.stabilize.regimes import PrimitiveRegimes

_EXPONENT_BOUND = "800 + 745 (n + m), n co-factors and m divisors"  # _exp_bound in the numerics template
_SQUARE_RATIO_IN_TWO_FLOATS = ("2**-400 < q < 2**400", "q = ((x + y)/c)**2 in two floats: TwoSum of x + y, the "
                                                        "ratio's remainder and its square by TwoProduct")
_SQUARE_RATIO_ROUNDED = ("otherwise", "q = square_ratio_of_sum(x, y, c), its low part 0")
class ExpMinusScaled:
    r"""The kind of a plain :math:`e^p` times a co-factor :math:`e^a - w v` whose t has a weight w
    (``_exp_minus_scaled``: :math:`e^{p + a}` where w = 0)."""


class ExpSumScaled:
    r"""The kind of a plain :math:`e^p` times one co-factor sum (``_exp_sum_scaled``: the terms :math:`e^p t_i`
    where the plain sum is not a normal float)."""


SCALED_EXPONENTIAL_REGIMES = {
    ExpSquareRatio: PrimitiveRegimes("_exp_square_ratio(x, y, c, K, times=(c...), over=(d...))", (
        _SQUARE_RATIO_IN_TWO_FLOATS, _SQUARE_RATIO_ROUNDED), "exp(K*((x + y)/c)**2)*c/d; K q in two floats, then "
                                                              "as _exp_scaled"),
    AffineSquareRatio: PrimitiveRegimes("_affine_square_ratio(x, y, c, A, B)", (
        _SQUARE_RATIO_IN_TWO_FLOATS, _SQUARE_RATIO_ROUNDED), "A + B*((x + y)/c)**2; A + B q by TwoProduct and "
                                                              "TwoSum, the low parts added last"),
    sp.exp: PrimitiveRegimes("_exp_scaled(a, times=(c...), over=(d...))", (
        (f"|a| <= {_EXPONENT_BOUND}", "2^k (1 + r) by Cody and Waite's reduction (a = u v, _exp_product_scaled: "
                                      "u v in two floats by TwoProduct), the co-factors' mantissas multiplied in, "
                                      "every power of two applied last"),
        ("otherwise", "exp(a) times the co-factors: 0 or inf whatever they are (a 0 times an infinite co-factor "
                      "is 0)")), "exp(a)*c/d"),
    sp.Pow: PrimitiveRegimes("_pow_scaled(x, a, times=(c...), over=(d...))", (
        ("x < 0", "x**a (real only for an integer a) times the co-factors"),
        ("a = 0 or x = 1", "1 times the co-factors"),
        (f"|a log x| <= {_EXPONENT_BOUND}", "exp(h + l), h + l = a log x in two floats (an exponent a + k, k an "
                                            "integer, as a + k in two floats), as _exp_scaled"),
        ("otherwise (x = 0 or not finite included)", "exp(a log x) times the co-factors: 0 or inf whatever they "
                                                     "are")), "x**a*c/d"),
    ExpMinusScaled: PrimitiveRegimes("_exp_minus_scaled(p, a, t, (w...), times=(c...), over=(d...))", (
        ("a weight w of t = w v is 0", "e^(p + a) times the co-factors, p + a in two floats"),
        ("otherwise", "_exp_scaled(p) with the co-factor _exp_minus_parts(a, t)")), "exp(p)*(exp(a) - t)*c/d"),
    ExpSumScaled: PrimitiveRegimes("_exp_sum_scaled(p, t_1 + ... + t_n, times=(c...), over=(d...))", (
        ("the plain sum is a normal float", "_exp_scaled(p) with the co-factor _sum_parts(t_1 + ... + t_n)"),
        ("otherwise", "the terms exp(p) t_i c/d each as m 2^e with p among its exponents (_scaled_sum), a term 0 "
                      "below the others")), "exp(p)*(t_1 + ... + t_n)*c/d"),
    exp_minus: PrimitiveRegimes("_exp_minus_parts(a, t)", (  # a co-factor e^a - t of a scaled product
        ("a > -700 or a not finite", "np.frexp(_exp_minus(a, t))"),
        ("-1e6 <= a <= -700", "e^a = 2^k (1 + r) by Cody and Waite's reduction, (1 + r) - t 2^-k as m 2^e, k added "
                              "to e; -t as m 2^e where t 2^-k overflows")), "exp(a) - t as m*2**e"),
}

SCALED_SUM_REGIMES = PrimitiveRegimes("_scaled_sum(t_1, ..., t_n)", (
    ("the plain sum is finite", "the plain sum"),
    ("otherwise", "each term c_1...c_n exp(z_1 + ...)/(d_1...d_m) as m 2^e (np.frexp; exp(z) by Cody and Waite's "
                  "reduction for |z| <= 1e6, else 2^(z/log 2)), the terms added at the largest e (a term 2^60 below "
                  "it dropped), 2^e applied last: inf where the sum overflows; a co-factor's sum passes m and e "
                  "to the power's scale")), "t_1 + ... + t_n")


OTHER_CLASSES_SOFTMAX_SUM_REGIMES = PrimitiveRegimes("_other_classes_softmax_sum(c, g, parts)", (
    ("c_i == 0", "0"),
    ("the scaled sum and the plain one are finite", "each g_k e^{d_k} as a mantissa and 2^{n_k} (shares below e^-3000 "
                                                    "0), the others' sum at their largest power, c's mantissa "
                                                    "multiplied in, the powers applied last"),
    ("otherwise", "the plain sum, c_i times the sum over k != i of g_k p_k")), "c_i*Sum(g_k*p_k, k != i)")
