"""Scaled products and sums: a primitive or a plain exponential times its co-factors (:class:`Scaled`) and a sum
whose terms may overflow (:class:`ScaledSum`), each computed by a numerics helper as mantissas and powers of two
applied last, so that an underflow or overflow of one factor or term is not multiplied by another's; the helper
calls they print and the regimes of those helpers."""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp

from symloss.emit.arrays import ZeroWeighted, mark_exact_zeros
from symloss.emit.printer import KernelPrinter, two_floats
from symloss.emit.program import MAX_PARAMETER_POWER, parameter_power
from symloss.emit.scaled_regimes import (
    SCALED_EXPONENTIAL_REGIMES,
    SCALED_SUM_REGIMES,
    ExpMinusScaled,
    ExpSumScaled,
)
from symloss.emit.square_ratios import AffineSquareRatio, ExpSquareRatio, square_ratios_in_two_floats
from symloss.stabilize.primitives import exp_minus, pow1p, sigmoid_pow, sigmoid_powers
from symloss.stabilize.regimes import PrimitiveRegimes


def sigmoid_powers_call(expr: sigmoid_powers, x: str) -> str:
    """The numerics helper's call ``_sigmoid_powers(x, a, b[, root high, root low])`` for ``expr``, its
    first argument written as ``x``."""
    _, a, b, *root = expr.args
    constants = "".join(f", {two_floats(r)}" for r in root)
    return f"_sigmoid_powers({x}, {a}, {b}{constants})"


def primitive_call(expr: sp.Expr) -> tuple[str, list[sp.Expr]]:
    """The numerics helper's call for a primitive that takes co-factors, its operands written as ``{a0}``,
    ``{a1}`` …, and the expressions those operands are: ``_sigmoid_powers(x, a, b[, root])`` of x (its
    integer powers and root are constants of the call), ``_sigmoid_pow(x, c)`` of x and c, ``_pow1p(t, a)`` of t
    and a, ``_exp_scaled(a)`` of :math:`e^a`, ``_pow_scaled(x, a)`` of :math:`x^a` (:func:`plain_exponential`)."""
    if isinstance(expr, sigmoid_powers):
        return sigmoid_powers_call(expr, "{a0}"), [expr.args[0]]
    if isinstance(expr, sigmoid_pow):
        return "_sigmoid_pow({a0}, {a1})", list(expr.args)
    if isinstance(expr, ExpSquareRatio):
        return expr.call()
    if isinstance(expr, sp.exp):
        factors = exponent_factors(expr.args[0])
        if factors:  # e^(u v): u v in two floats (TwoProduct)
            return "_exp_product_scaled({a0}, {a1})", factors
        return "_exp_scaled({a0})", [expr.args[0]]
    if isinstance(expr, sp.Pow):
        shift = integer_shift(expr.exp)
        if shift:  # x^(a + k): the exponent in two floats, a + k by TwoSum
            return "_pow_scaled({a0}, *_two_sum({a1}, {a2}))", [expr.base, expr.exp - shift, shift]
        return "_pow_scaled({a0}, {a1})", [expr.base, expr.exp]
    shift = integer_shift(expr.args[1])
    if shift:
        return "_pow1p({a0}, *_two_sum({a1}, {a2}))", [expr.args[0], expr.args[1] - shift, shift]
    return "_pow1p({a0}, {a1})", list(expr.args)


def exponent_factors(exponent: sp.Expr) -> list[sp.Expr]:
    r"""[u, v] when ``exponent`` is a product :math:`\pm u v` of two factors that are not numbers (the sign in u),
    else []: ``_exp_product_scaled`` takes :math:`u v` in two floats, exact where its rounding,
    :math:`2^{-53} |u v|`, is multiplied into :math:`e^{u v}` (:math:`e^{(2 - p) z}` at :math:`z = 460.4`,
    :math:`p = 1 + 2^{-52}`: 59.5 ulp)."""
    coefficient, rest = exponent.as_coeff_Mul()
    if abs(coefficient) != 1 or not isinstance(rest, sp.Mul) or len(rest.args) != 2 \
            or any(f.is_number for f in rest.args):
        return []
    u, v = rest.args
    return [coefficient * u, v]


def integer_shift(exponent: sp.Expr) -> sp.Integer | int:
    r"""The integer term k of an exponent :math:`a + k` whose other terms are not numbers (:math:`\gamma - 1`),
    else 0: ``_pow_scaled`` takes :math:`a + k` in two floats (TwoSum), exact where the rounded
    :math:`\gamma - 1` carries an error of up to :math:`2^{-54}` that :math:`\log x` multiplies
    (:math:`p^{\gamma - 1}` at :math:`p = 10^{-223}`: 158 ulp)."""
    terms = sp.Add.make_args(exponent)
    shift = next((t for t in terms if t.is_Integer), 0)
    return shift if len(terms) > 1 else 0


SCALED_PRIMITIVES = (sigmoid_powers, sigmoid_pow, pow1p, ExpSquareRatio)  # the primitives whose helpers take co-factors


def plain_exponential(expr: sp.Basic) -> bool:
    r"""Whether ``expr`` is :math:`e^a` or a power :math:`x^a` whose exponent is not a number nor known to be an
    integer, which a product with a co-factor computes as a :class:`Scaled` (``_exp_scaled``, ``_pow_scaled``):
    :math:`e^{-1164} \cdot 3.2 \cdot 10^{271}` is not 0, :math:`p^\gamma \cdot \infty` (a power 0 times a
    co-factor that overflowed) is 0, not NaN.  Not the exponentials of :func:`~symloss.emit.arrays.shared_exponentials`
    (:math:`e^{\min(x, 0)}`, :math:`e^{-|x|}`: a sigmoid's and a softplus's, kept as NumPy's exponential so that
    the fused BCE kernel pays nothing; a scaled sigmoid is :func:`sigmoid_powers`' part)."""
    if isinstance(expr, sp.exp):
        argument = expr.args[0]
        return not isinstance(argument, sp.Min) and not isinstance(-argument, sp.Abs)
    return isinstance(expr, sp.Pow) and not expr.exp.is_number and expr.exp.is_integer is not True


class Weight(sp.Function):
    r"""A co-factor w of :class:`Scaled` that wins when it is 0 (the weight of a
    :class:`~symloss.emit.arrays.ZeroWeighted` mark :math:`w \cdot v` whose v is the scaled product): the product
    is 0 where w = 0 although the rest is infinite or undefined."""

    nargs = 1


class Scaled(sp.Function):
    r"""A product :math:`c_1 \cdots c_n P` of a primitive P in :data:`SCALED_PRIMITIVES`
    (:math:`\operatorname{sigmoid\_powers}(x, a, b)`, :math:`\sigma(x)^c`, :math:`\operatorname{pow1p}(t, a) =
    (1 + t)^a`) or a :func:`plain_exponential` (:math:`e^a`, :math:`x^a`) and co-factors: arguments (P,
    :math:`c_1, \dots, c_n`), a co-factor :class:`Weight` one that wins when it is 0."""

    def call(self) -> tuple[str, list[sp.Expr]]:
        """The helper's call ``…, times=(c_1, …), over=(d_1, …)[, weights=(w_1, …)])`` with its operands as
        ``{a0}``, ``{a1}`` …, and the expressions those operands are (the primitive's, the co-factors, the
        divisors: a co-factor :math:`1/d` is divided by d; the weights)."""
        primitive, *factors = self.args
        call, operands = primitive_call(primitive)
        difference = _weighted_difference(primitive, factors)
        total = _spread_sum(primitive, factors)
        if difference is not None:  # e^p (e^a - w v): e^{p + a} where w = 0 (_exp_minus_scaled)
            factors.remove(difference)
            a, t = difference.args
            zeros = _weights_of(t)
            listed = "".join(f"{{a{3 + i}}}, " for i in range(len(zeros)))
            call, operands = f"_exp_minus_scaled({{a0}}, {{a1}}, {{a2}}, ({listed}))", [*operands, a, t, *zeros]
        elif total is not None:  # e^p (t_1 + ... + t_n): the terms e^p t_i where the sum is not normal
            factors.remove(total)
            text, more = sum_call(total, 1, "_exp_sum_scaled")
            call, operands = text.replace("_exp_sum_scaled(", "_exp_sum_scaled({a0}, ", 1), [*operands, *more]
        weights = [f.args[0] for f in factors if isinstance(f, Weight)]
        times = [f for f in factors if not _reciprocal(f) and not isinstance(f, Weight)]
        over = [f.base for f in factors if _reciprocal(f)]
        texts = []
        for factor in times:  # a co-factor's sum as its parts; a divisor's sum (1 + x) rounded whole
            text, more = _cofactor_call(factor, len(operands))
            texts.append(text + ", ")
            operands = [*operands, *more]
        divided = "".join(f"{{a{len(operands) + i}}}, " for i in range(len(over)))
        operands = [*operands, *over]
        weighted = "".join(f"{{a{len(operands) + i}}}, " for i in range(len(weights)))
        weighted = f", weights=({weighted})" if weights else ""
        return call[:-1] + f", times=({''.join(texts)}), over=({divided}){weighted})", [*operands, *weights]

    def _numpycode(self, printer: KernelPrinter) -> str:
        """The call printed whole, its operands as expressions (a product inside a printed ``Piecewise``)."""
        return _printed(self.call(), printer)


def _weights_of(expr: sp.Expr) -> list[sp.Expr]:
    r"""The weights w of a product :math:`w \cdot v` that is 0 exactly where w is: a mark
    (:class:`~symloss.emit.arrays.ZeroWeighted`) or a :class:`Scaled` product's :class:`Weight` co-factors."""
    if isinstance(expr, ZeroWeighted):
        return [expr.args[0]]
    if isinstance(expr, Scaled):
        return [f.args[0] for f in expr.args[1:] if isinstance(f, Weight)]
    return []


def _weighted_difference(primitive: sp.Expr, factors: Sequence[sp.Expr]) -> exp_minus | None:
    r"""The co-factor :math:`e^a - t` of a plain :math:`e^p` (``_exp_scaled``) whose t is 0 exactly where a
    weight of it is (:func:`_weights_of`), or None: ``_exp_minus_scaled`` takes :math:`e^p e^a = e^{p + a}` there,
    beyond the reach of a co-factor's mantissa and power of two (Tweedie's gradient
    :math:`e^{(1 - p) z}(e^z - y)` at :math:`z = -10^{300}`, y = 0: :math:`e^{2.5 \cdot 10^{299}} \cdot 0`
    was NaN)."""
    if not _plain_exp_scaled(primitive):
        return None
    return next((f for f in factors if isinstance(f, exp_minus) and _weights_of(f.args[1])), None)


def _plain_exp_scaled(primitive: sp.Expr) -> bool:
    """Whether ``primitive`` is a plain :math:`e^p` that ``_exp_scaled`` computes (not :math:`e^{u v}`)."""
    return isinstance(primitive, sp.exp) and plain_exponential(primitive) and not exponent_factors(primitive.args[0])


def _spread_sum(primitive: sp.Expr, factors: Sequence[sp.Expr]) -> sp.Expr | None:
    r"""The one co-factor sum of a plain :math:`e^p` (``_exp_scaled``) whose other co-factors are values (no sum,
    no :math:`e^a - t`), or None: ``_exp_sum_scaled`` takes the terms :math:`e^p t_i` each as a mantissa and a
    power of two where the plain sum is 0, subnormal or not finite, so that a term's underflow is not multiplied
    by :math:`e^p`'s overflow (Tweedie's Hessian :math:`e^{(1 - p) z}((2 - p) e^z + (p - 1) y)` at
    :math:`z = -10^4`, y = 0: :math:`e^{2500} \cdot 0` was NaN)."""
    if not _plain_exp_scaled(primitive):
        return None
    sums = [f for f in factors if _summed(f)]
    if len(sums) != 1 or any(isinstance(f, exp_minus) for f in factors):
        return None
    return sums[0]


def _cofactor_call(factor: sp.Expr, first: int) -> tuple[str, list[sp.Expr]]:
    r"""A co-factor of :class:`Scaled` as the helper takes it, its operands numbered from ``{a<first>}``: a sum
    (:func:`_summed`) as its parts (``_sum_parts``), :math:`e^a - t` (``exp_minus``) as a mantissa and a power of
    two (``_exp_minus_parts``: :math:`e^{2500}(e^{-10000} - 0)` is :math:`e^{-7500}`, not :math:`\infty \cdot 0`),
    anything else as its value."""
    if _summed(factor):
        return sum_call(factor, first, "_sum_parts")
    if isinstance(factor, exp_minus):
        return f"_exp_minus_parts({{a{first}}}, {{a{first + 1}}})", list(factor.args)
    return f"{{a{first}}}", [factor]


def _printed(call: tuple[str, list[sp.Expr]], printer: KernelPrinter) -> str:
    """A helper's call (text with operands ``{a0}`` …, their expressions) printed whole."""
    text, operands = call
    return text.format(**{f"a{i}": printer._print(o) for i, o in enumerate(operands)})


class ScaledSum(sp.Function):
    r"""A sum :math:`t_1 + \dots + t_n` (its one argument) whose terms are products of factors, exponentials
    :math:`e^z` and divisors, which may overflow where the sum does not (:math:`e^z - yz` at :math:`z = 710`,
    :math:`y = 10^{308}`: :math:`\infty - \infty` where the sum is :math:`-7.1 \cdot 10^{310}`, rounded to
    :math:`-\infty`; at :math:`z = y = 5.4 \cdot 10^{160}` it is :math:`+\infty`): ``_scaled_sum`` takes the
    plain sum where it is finite and, elsewhere, each term as a mantissa and a power of two (the exponent of
    :math:`e^z` from z), the terms added at the largest power, which is applied last."""

    def call(self) -> tuple[str, list[sp.Expr]]:
        """``_scaled_sum(plain, terms)`` with its operands as ``{a0}`` …, and their expressions."""
        return sum_call(self.args[0], 0, "_scaled_sum")

    def _numpycode(self, printer: KernelPrinter) -> str:
        return _printed(self.call(), printer)


def _term(term: sp.Expr) -> tuple[list[sp.Expr], list[sp.Expr], list[sp.Expr], list[sp.Expr]]:
    r"""A term of a :class:`ScaledSum` as (factors, exponents, divisors, weights), :math:`c_1 \cdots c_n
    e^{z_1 + \dots} / (d_1 \cdots d_m)`, 0 where a weight is 0: an integer power :math:`b^{\pm n}`
    (:math:`n \le 4`) as n factors or divisors b, :math:`e^z` as its exponent, a mark :math:`w \cdot v`
    (:class:`~symloss.emit.arrays.ZeroWeighted`) as w, a weight, and v's factors, a :class:`Scaled`
    :math:`e^z c/d` (its co-factors values) as its exponent, co-factors, divisors and weights (not its value,
    which may have underflowed where the term times another power does not)."""
    parts: tuple[list[sp.Expr], list[sp.Expr], list[sp.Expr], list[sp.Expr]] = ([], [], [], [])
    for factor in sp.Mul.make_args(term):
        if isinstance(factor, ZeroWeighted):
            weight, value = factor.args
            parts[0].append(weight)
            parts[3].append(weight)
            for group, more in zip(parts, _term(value), strict=True):
                group.extend(more)
        elif isinstance(factor, Scaled) and _plain_exp_scaled(factor.args[0]) \
                and not any(_summed(f) or isinstance(f, exp_minus) for f in factor.args[1:]):
            parts[1].append(factor.args[0].args[0])  # a Scaled e^z c/d, weighted by w: its exponent and co-factors
            for cofactor in factor.args[1:]:
                weight = cofactor.args[0] if isinstance(cofactor, Weight) else None
                parts[2 if _reciprocal(cofactor) else 0].append(
                    cofactor.base if _reciprocal(cofactor) else cofactor if weight is None else weight)
                parts[3].extend([] if weight is None else [weight])
        elif isinstance(factor, sp.exp):
            parts[1].append(factor.args[0])
        elif isinstance(factor, sp.Pow) and factor.exp.is_Integer and 0 < abs(factor.exp) <= MAX_PARAMETER_POWER:
            parts[0 if factor.exp > 0 else 2].extend([factor.base] * abs(int(factor.exp)))
        else:
            parts[0].append(factor)
    return parts


def sum_call(total: sp.Expr, first: int, helper: str) -> tuple[str, list[sp.Expr]]:
    """``helper(plain, ((factors, exponents, divisors, weights), …))`` of the sum ``total`` (a
    :class:`ScaledSum`'s argument, a co-factor's sum), its operands numbered from ``{a<first>}``: the plain sum
    and each term's parts (:func:`_term`)."""
    total = total.args[0] if isinstance(total, ScaledSum) else total
    operands = [total]
    terms = []
    for term in sp.Add.make_args(total):
        groups = []
        for group in _term(term):
            groups.append("(" + "".join(f"{{a{first + len(operands) + i}}}, " for i in range(len(group))) + ")")
            operands.extend(group)
        terms.append("(" + ", ".join(groups) + "), ")
    return f"{helper}({{a{first}}}, ({''.join(terms)}))", operands


def _summed(factor: sp.Expr) -> bool:
    r"""Whether a co-factor of :class:`Scaled` is a sum (of terms that are not all numbers) that
    ``_times_scaled`` takes as a mantissa and a power of two (``_sum_parts``): its terms may overflow where the
    sum times the power does not (:math:`-\gamma \log p/(p - 1) - 1/p` at :math:`\gamma = 1.2 \cdot 10^{306}`,
    :math:`p = 1.8 \cdot 10^{-304}`)."""
    return isinstance(factor, ScaledSum) or (isinstance(factor, sp.Add) and not factor.is_number)


def _exponential_sum(expr: sp.Basic) -> bool:
    """Whether ``expr`` is a sum with a term that has a :func:`plain_exponential` :math:`e^z` factor and another
    term that is not a number: a :class:`ScaledSum`."""
    if not isinstance(expr, sp.Add):
        return False
    terms = [t for t in expr.args if not t.is_number]
    return len(terms) > 1 and any(isinstance(f, sp.exp) and plain_exponential(f)
                                  for t in terms for f in sp.Mul.make_args(t))


def scaled_sums(expr: sp.Expr) -> sp.Expr:
    """Every sum with an exponential term (:func:`_exponential_sum`) as a :class:`ScaledSum`."""
    return expr.replace(_exponential_sum, ScaledSum)


def scaled_primitives(expr: sp.Expr) -> sp.Expr:
    r"""Every product with a factor P in :data:`SCALED_PRIMITIVES` (or a :func:`plain_exponential` P and a
    co-factor that is not a number) as :class:`Scaled` of that factor and the others (the first such factor;
    another one is a co-factor): the helper multiplies each co-factor's mantissa
    in and adds its power of two to its own before it applies them, so that a value that underflows on its own
    (:math:`\sigma(745)\sigma(-745)`, one bit; :math:`(1 + t)^a = 2^{-1100}`) is not rounded to a subnormal or
    0 before a large co-factor scales it back up, a power that overflows is scaled down by a small co-factor,
    no partial product of the co-factors overflows, and a power 0 times an overflowed co-factor is 0, not
    :math:`\infty \cdot 0`.  A sum is one co-factor: :math:`(\gamma X - 1/p)\operatorname{pow1p}(-p, \gamma)`
    passes :math:`\gamma X - 1/p` rounded whole.  A mark :math:`w \cdot v`
    (:class:`~symloss.emit.arrays.ZeroWeighted`) of such a product v takes w in as a :class:`Weight`, so that
    a vanishing w scales the product before its powers of two are applied
    (:math:`\gamma p^{\gamma - 1} = 1` at :math:`\gamma = p = 2^{-1074}`, where :math:`p^{\gamma - 1}`
    alone overflows and :math:`\gamma \cdot \infty = \infty`)."""

    def scaled(product: sp.Mul) -> sp.Expr:
        primitive = next((f for f in product.args if isinstance(f, SCALED_PRIMITIVES)), None) \
            or next(f for f in product.args if plain_exponential(f))
        others = list(product.args)
        others.remove(primitive)
        # a parameter's power t^n as n factors t (t^2 overflows at t = 1e200 where t's mantissa does not), an
        # integer power b^-n as n divisors 1/b (c^-2 overflows at c = 1e-200, 1/b at b = 1e-310)
        factors = [f.base for f in others for _ in range(max(parameter_power(f), 0))]
        factors += [1 / f.base for f in others for _ in range(_divisions(f))]
        return Scaled(primitive, *factors, *(f for f in others if parameter_power(f) <= 0 and not _divisions(f)))

    def weighted(mark: ZeroWeighted) -> Scaled:
        weight, value = mark.args
        return Scaled(*(value.args if isinstance(value, Scaled) else (value,)), Weight(weight))

    return expr.replace(_scalable, scaled).replace(_weighted_scaled, weighted)


def _weighted_scaled(expr: sp.Basic) -> bool:
    r"""Whether ``expr`` is a mark :math:`w \cdot v` (:class:`~symloss.emit.arrays.ZeroWeighted`) of a
    :class:`Scaled` product v, or of a primitive of :data:`SCALED_PRIMITIVES` or a :func:`plain_exponential`
    alone (w its one co-factor: :math:`r e^{-q}` at :math:`r = 2.7\cdot10^{217}`, :math:`q = 770` is
    :math:`2.3\cdot10^{-117}`, where :math:`e^{-q}` alone is 0)."""
    if not isinstance(expr, ZeroWeighted):
        return False
    value = expr.args[1]
    return isinstance(value, (Scaled, *SCALED_PRIMITIVES)) or plain_exponential(value)


def scaled_exponential_regimes(expr: sp.Expr) -> tuple[PrimitiveRegimes, ...]:
    """The regimes of the helpers that compute the :func:`plain_exponential` products of ``expr`` with their
    co-factors (:class:`Scaled`), the sums whose terms may overflow (:class:`ScaledSum`, a co-factor's sum) and
    the co-factors :math:`e^a - t` taken as a mantissa and a power of two (``_exp_minus_parts``), each helper once:
    they are not primitives of the stable form, the emitter makes them."""
    emitted = scaled_sums(scaled_primitives(square_ratios_in_two_floats(expr)))
    scaled = emitted.atoms(Scaled)
    kinds = {type(s.args[0]) for s in scaled if plain_exponential(s.args[0])}
    kinds |= {type(e) for e in emitted.atoms(ExpSquareRatio, AffineSquareRatio)}
    if ExpSquareRatio in kinds:  # _exp_square_ratio's exponential is _exp_scaled's
        kinds.add(sp.exp)
    if emitted.atoms(ScaledSum) or any(_summed(f) for s in scaled for f in s.args[1:]):
        kinds.add(ScaledSum)
    if any(isinstance(f, exp_minus) for s in scaled for f in s.args[1:]):
        kinds.add(exp_minus)
    marked = scaled_sums(scaled_primitives(square_ratios_in_two_floats(mark_exact_zeros(expr)))).atoms(Scaled)
    if any(_weighted_difference(s.args[0], s.args[1:]) is not None for s in marked):
        kinds.add(ExpMinusScaled)
    if any(_spread_sum(s.args[0], s.args[1:]) is not None for s in scaled):
        kinds.add(ExpSumScaled)
    return tuple(regimes for kind, regimes in {**SCALED_EXPONENTIAL_REGIMES, ScaledSum: SCALED_SUM_REGIMES}.items()
                 if kind in kinds)


def _scalable(expr: sp.Basic) -> bool:
    r"""Whether ``expr`` is a product of a primitive in :data:`SCALED_PRIMITIVES`, or of a
    :func:`plain_exponential` and a co-factor that is not a number (a constant alone is one rounding), or of a
    power :math:`x^{a + k}` (:func:`integer_shift`) and any co-factor: ``_pow_scaled`` takes :math:`a + k` in
    two floats (:math:`-p^{q - 1}` at :math:`p = 2.2 \cdot 10^{-267}`, :math:`q = 1.7 \cdot 10^{-7}`: the rounded
    :math:`q - 1` times :math:`\log p = -614` was 210 ulp)."""
    if not isinstance(expr, sp.Mul):
        return False
    if any(isinstance(f, SCALED_PRIMITIVES) for f in expr.args):
        return True
    exponential = next((f for f in expr.args if plain_exponential(f)), None)
    return exponential is not None and (_shifted_power(exponential)
                                        or any(not f.is_number for f in expr.args if f is not exponential))


def _shifted_power(expr: sp.Expr) -> bool:
    """Whether ``expr`` is a power whose exponent has an integer shift (:func:`integer_shift`)."""
    return isinstance(expr, sp.Pow) and bool(integer_shift(expr.exp))


def _divisions(expr: sp.Expr) -> int:
    """n for a power :math:`b^{-n}`, :math:`0 < n \\le 4` (divided into a scaled primitive n times), else 0."""
    if isinstance(expr, sp.Pow) and expr.exp.is_Integer and -MAX_PARAMETER_POWER <= expr.exp < 0:
        return int(-expr.exp)
    return 0


def _reciprocal(expr: sp.Expr) -> bool:
    """Whether a co-factor of :class:`Scaled` is a divisor :math:`1/d`."""
    return isinstance(expr, sp.Pow) and expr.exp == -1
