"""Stability rules: every rule proved, each rewrite what its claim says, applied in one order."""

from __future__ import annotations

import pytest
import sympy as sp

from symloss.declare.functions import sigmoid, softplus, to_elementary
from symloss.declare.likelihood import softmax
from symloss.declare.notation import index
from symloss.stabilize.engine import ProvedRule, Rule, stabilize
from symloss.stabilize.exact_sums import exact_terms
from symloss.stabilize.logistic import LOGISTIC
from symloss.stabilize.primitives import (
    CompensatedSum,
    LogSoftmax,
    LogSoftmaxRemainder,
    OtherClassesSum,
    Softmax,
    SoftmaxComplement,
    SoftmaxXLogXRatio,
    SumOthers,
    exp_minus,
    expand_primitives,
    expm1,
    kl_div,
    log1p,
    logcosh,
    logcosh_of_sum,
    sech2,
    sech2_of_sum,
    sigmoid_expm1,
    sigmoid_pow,
    sigmoid_powers,
    square_of_sum,
    tanh_of_sum,
)
from symloss.stabilize.rules import FAMILIES, ORDER, RULES, _in_order

z, y, p = sp.symbols("z y p", real=True)


def test_every_rule_is_proved(proved: tuple[ProvedRule, ...]) -> None:
    assert [r.rule.name for r in proved if not r.proved] == []
    assert len({r.rule.name for r in proved}) == len(RULES)


def test_the_rules_of_every_family_are_applied_in_the_one_order() -> None:
    """Each family's rules, each once, in :data:`ORDER`; an order that leaves a rule out, or families that
    declare one twice, are refused."""
    assert [rule.name for rule in RULES] == list(ORDER)
    assert sorted(ORDER) == sorted(rule.name for family in FAMILIES for rule in family)
    with pytest.raises(ValueError, match="does not name each"):
        _in_order(FAMILIES, ORDER[1:])
    with pytest.raises(ValueError, match="does not name each"):
        _in_order((*FAMILIES, LOGISTIC[:1]), ORDER)


@pytest.mark.parametrize(
    ("expr", "expected", "rule"),
    [
        (sp.log(sigmoid(z)), -softplus(-z), "log_sigmoid_to_softplus"),
        (sp.log(1 - sigmoid(z)), -softplus(z), "log1m_sigmoid_to_softplus"),
        (1 - sigmoid(z), sigmoid(-z), "one_minus_sigmoid"),
        (y * (sigmoid(z) - 1), -y * sigmoid(-z), "sigmoid_minus_one"),
        (sp.log(1 - p), log1p(-p), "log1p"),
        (sp.log(sp.cosh(2 * z)), logcosh(2 * z), "logcosh"),
        (1 - sp.tanh(z) ** 2, sech2(z), "one_minus_tanh_squared"),
        (1 / sp.cosh(z) ** 2, sech2(z), "sech2"),
    ],
)
def test_scalar_rules_rewrite(proved: tuple[ProvedRule, ...], expr: sp.Expr, expected: sp.Expr, rule: str) -> None:
    result = stabilize(expr, proved)
    assert result.expr == expected
    assert rule in result.rules


def test_sigmoid_power_of_a_variable_exponent(proved: tuple[ProvedRule, ...]) -> None:
    gamma = sp.Symbol("gamma", nonnegative=True)
    assert stabilize(sigmoid(z) ** gamma * y, proved).expr == sigmoid_pow(z, gamma) * y
    assert stabilize((1 - sigmoid(z)) ** gamma, proved).expr == sigmoid_pow(-z, gamma)
    assert not stabilize(sigmoid(z) ** 2, proved).expr.has(sigmoid_pow)  # a numeric power: not this rule


def test_softplus_tail(proved: tuple[ProvedRule, ...]) -> None:
    result = stabilize(y + softplus(z) - sp.Max(z, 0), proved)
    assert result.expr == y + log1p(sp.exp(-sp.Abs(z)))
    assert "softplus_tail" in result.rules
    assert stabilize(softplus(z) - sp.Max(y, 0), proved).expr == softplus(z) - sp.Max(y, 0)  # another argument


def test_exp_minus_a_variable(proved: tuple[ProvedRule, ...]) -> None:
    result = stabilize(sp.exp(z) - y, proved)
    assert result.expr == exp_minus(z, y)
    assert result.rules == ("exp_minus_variable",)
    assert stabilize(sp.exp(z) - 1, proved).expr == expm1(z)  # a constant 1 is the expm1 rule's
    assert stabilize(sp.exp(z) - y * z, proved).expr == sp.exp(z) - y * z  # y z is no variable: e^z wins there
    assert stabilize(2 + sp.exp(z) - y, proved).expr == 2 + exp_minus(z, y)


def test_softmax_rules_on_class_vectors(proved: tuple[ProvedRule, ...]) -> None:
    zs, ys = sp.IndexedBase("z"), sp.IndexedBase("y")
    k, i, n = index("k").symbol, index("i").symbol, sp.Symbol("K", integer=True, positive=True)
    ce = -sp.Sum(ys[k] * sp.log(softmax(zs, k, n)), (k, 1, n))
    stable = stabilize(ce, proved)
    assert stable.expr == -sp.Sum(ys[k] * LogSoftmax(zs[k], k, n), (k, 1, n))
    gradient = stabilize(softmax(zs, i, n) - ys[i], proved).expr
    assert gradient == (1 - ys[i]) * Softmax(zs[i], i, n) - ys[i] * SoftmaxComplement(zs[i], i, n)
    hessian = stabilize(softmax(zs, i, n) * (1 - softmax(zs, i, n)), proved).expr
    assert hessian == Softmax(zs[i], i, n) * SoftmaxComplement(zs[i], i, n)


def test_log_softmax_remainder_and_sums_over_the_other_classes(proved: tuple[ProvedRule, ...]) -> None:
    zs, ys = sp.IndexedBase("z"), sp.IndexedBase("y")
    k, i, n = index("k").symbol, index("i").symbol, sp.Symbol("K", integer=True, positive=True)
    p_k, p_i = softmax(zs, k, n), softmax(zs, i, n)
    remainder = stabilize(ys[k] * (sp.log(p_k) + 1 - p_k), proved)
    assert remainder.expr == ys[k] * LogSoftmaxRemainder(zs[k], k, n)
    assert "log_softmax_remainder" in remainder.rules
    assert stabilize(sp.log(p_k) + 1 - p_k + ys[k], proved).expr == ys[k] + LogSoftmaxRemainder(zs[k], k, n)
    others = stabilize(sp.Sum(ys[k] * p_k, (k, 1, n)) - ys[i] * p_i, proved)
    assert others.expr == SumOthers(ys[i] * Softmax(zs[i], i, n), i, n)
    assert "sum_over_the_others" in others.rules
    # the pair may be scaled, the term written differently: (y_i - 1) p_i is -(1 - y_i) p_i
    unlabelled = SumOthers((1 - ys[i]) * Softmax(zs[i], i, n), i, n)
    assert stabilize(ys[i] + (ys[i] - 1) * p_i + sp.Sum((1 - ys[k]) * p_k, (k, 1, n)), proved).expr == (
        ys[i] + unlabelled)
    assert stabilize(ys[i] - (ys[i] - 1) * p_i - sp.Sum((1 - ys[k]) * p_k, (k, 1, n)), proved).expr == (
        ys[i] - unlabelled)
    # a term that is not the summand at an index stays a difference
    assert not stabilize(sp.Sum(ys[k] * p_k, (k, 1, n)) - ys[i], proved).expr.has(SumOthers)


def test_softmax_complement_inside_a_longer_sum(proved: tuple[ProvedRule, ...]) -> None:
    zs, i, n = sp.IndexedBase("z"), index("i").symbol, sp.Symbol("K", integer=True, positive=True)
    p_i = softmax(zs, i, n)
    assert stabilize(1 + y * p_i - p_i, proved).expr == y * Softmax(zs[i], i, n) + SoftmaxComplement(zs[i], i, n)


def test_stable_forms_expand_back_to_the_textbook(proved: tuple[ProvedRule, ...]) -> None:
    zs, k, n = sp.IndexedBase("z"), index("k").symbol, sp.Symbol("K", integer=True, positive=True)
    textbook = sp.log(softmax(zs, k, n))
    back = expand_primitives(stabilize(textbook, proved).expr)
    point = {zs[1]: sp.Rational(1, 3), zs[2]: -2, zs[3]: 5}
    for entry in (1, 2, 3):
        got = back.xreplace({k: entry, n: 3}).doit().xreplace(point)
        want = textbook.xreplace({k: entry, n: 3}).doit().xreplace(point)
        assert abs(sp.N(got - want, 40)) < sp.Float("1e-35")


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_each_rewrite_does_what_its_proved_claim_says(rule: Rule) -> None:
    """The rewrite is code apart from its claim: applied to its example it must change it and give
    an expression equal to it (checked at exact points, 40 digits) — a wrong sign would show here; an
    approximation within its proved relative error."""
    before = rule.sample
    rewritten = rule.rewrite(before)
    assert rewritten != before, f"{rule.name} does not rewrite its own example"
    textbook = to_elementary(expand_primitives(before))
    difference = to_elementary(expand_primitives(rewritten)) - textbook
    for point in _points(before, seed=len(rule.name)):
        value = difference.xreplace({k: v for k, v in point.items() if not isinstance(k, sp.Indexed)}).doit()
        tolerance = sp.Float("1e-30") if rule.approximation is None else (
            rule.approximation.relative_error * abs(sp.N(textbook.xreplace(point).doit(), 40)))
        assert abs(sp.N(value.xreplace(point), 40)) < tolerance, (rule.name, point)


def _points(expr: sp.Expr, seed: int) -> list[dict]:
    """A few exact points for the free symbols of ``expr`` (class vectors with K = 3)."""
    import random

    rng = random.Random(seed)
    points = []
    for _ in range(4):
        point: dict = {}
        for count in [s for s in expr.free_symbols if s.name == "K"]:
            point[count] = 3
        labels = {base.label for base in expr.atoms(sp.IndexedBase)}  # a vector's name is no scalar
        for s in expr.free_symbols:
            if s.name == "K" or isinstance(s, sp.Indexed) or s in labels:
                continue
            if s.is_integer:
                point[s] = rng.randint(1, 3)
            elif s.name in ("s",):
                point[s] = sp.Rational(rng.randint(1, 99), 100)
            elif s.is_nonnegative or s.is_positive or s.name == "x":
                point[s] = sp.Rational(rng.randint(1, 300), 100)
            else:
                point[s] = sp.Rational(rng.randint(-300, 300), 100)
        for base in expr.atoms(sp.IndexedBase):
            for entry in (1, 2, 3):
                point[base[entry]] = sp.Rational(rng.randint(-300, 300), 100)
        points.append(point)
    return points


@pytest.mark.parametrize(
    ("expr", "expected", "rule"),
    [
        (sp.log(sp.cosh(y - z)), logcosh_of_sum(y, -z), "logcosh_of_exact_sum"),
        (sp.tanh(y - z), tanh_of_sum(y, -z), "tanh_of_exact_sum"),
        (1 / sp.cosh(y - z) ** 2, sech2_of_sum(y, -z), "sech2_of_exact_sum"),
        ((z - y) ** 2, square_of_sum(z, -y), "square_of_exact_sum"),
    ],
)
def test_functions_of_a_difference_of_inputs_keep_it_exact(proved: tuple[ProvedRule, ...], expr: sp.Expr,
                                                           expected: sp.Expr, rule: str) -> None:
    result = stabilize(expr, proved)
    assert result.expr in (expected, expected.func(*reversed(expected.args)))
    assert rule in result.rules
    assert sp.simplify(expand_primitives(result.expr) - expr) == 0


def test_an_exact_sum_needs_float_inputs(proved: tuple[ProvedRule, ...]) -> None:
    """2z is rounded before the sum: splitting z − y would not make 2z − y exact, so nothing changes."""
    assert stabilize(sp.tanh(2 * z - y), proved).expr == sp.tanh(2 * z - y)
    assert stabilize(1 / sp.cosh(2 * z) ** 2, proved).expr == sech2(2 * z)
    assert exact_terms(z + sp.Rational(1, 3)) == (z, sp.Float(sp.Rational(1, 3), 40))
    assert exact_terms(z * y + 1) is None and exact_terms(z + y + 1) is None


def test_sigmoid_minus_a_constant_vanishes_at_its_root(proved: tuple[ProvedRule, ...]) -> None:
    """3σ(z) − 2 = −σ(z)(e^{log 2 − z} − 1): zero exactly at z = log 2, no cancellation near it."""
    result = stabilize(3 * sigmoid(z) - 2, proved)
    assert "sigmoid_minus_constant" in result.rules
    (call,) = result.expr.atoms(sigmoid_expm1)
    assert abs(call.args[1] - sp.log(2)) < sp.Float("1e-39")
    assert abs(sp.N(expand_primitives(result.expr).subs(z, sp.log(2)), 50)) < sp.Float("1e-38")
    assert stabilize(3 * sigmoid(z) - 4, proved).expr == 3 * sigmoid(z) - 4  # no root: left alone


def test_products_of_sigmoid_powers_become_one_primitive(proved: tuple[ProvedRule, ...]) -> None:
    """The value, gradient and Hessian of (σ(z) − y)² at y = 0 and 1: each a single sigmoid_powers (the
    root factor of 3σ − 2 absorbed), equal to the textbook; σ(z)σ(−z) alone is left to two sigmoids."""
    log2 = sp.log(2)
    cases = [(sigmoid(z) ** 2, sigmoid_powers(z, 2, 0), None), ((sigmoid(z) - 1) ** 2, sigmoid_powers(z, 0, 2), None),
             (2 * sigmoid(z) ** 2 * (1 - sigmoid(z)), 2 * sigmoid_powers(z, 2, 1), None),
             (2 * sigmoid(z) ** 2 * (sigmoid(z) - 1) * (3 * sigmoid(z) - 2), 2 * sigmoid_powers(z, 3, 1, log2), log2)]
    for expr, expected, root in cases:
        result = stabilize(expr, proved)
        assert "sigmoid_powers" in result.rules, expr
        if root is None:
            assert result.expr == expected
        else:
            (call,) = result.expr.atoms(sigmoid_powers)
            assert abs(call.args[3] - root) < sp.Float("1e-39")
            assert result.expr == expected.xreplace({root: call.args[3]})
        for point in (sp.Rational(-7, 3), sp.Rational(1, 5), sp.Rational(9, 2)):
            difference = expand_primitives(result.expr - expr).subs(z, point)
            assert abs(sp.N(difference, 50)) < sp.Float("1e-36"), (expr, point)
    assert stabilize(sigmoid(z) * sigmoid(-z), proved).expr == sigmoid(z) * sigmoid(-z)
    assert stabilize(sigmoid(z) * sigmoid(y), proved).expr == sigmoid(z) * sigmoid(y)  # two arguments
    assert sigmoid_powers(-z, 2, 1) == sigmoid_powers(z, 1, 2)  # mirrored labels share one form


def test_relative_entropy_splits_into_nonnegative_terms_and_a_compensated_sum(proved: tuple[ProvedRule, ...]) -> None:
    ps, qs, k = sp.IndexedBase("p"), sp.IndexedBase("q"), index("k").symbol
    n = sp.Symbol("K", integer=True, positive=True)
    result = stabilize(sp.Sum(ps[k] * sp.log(ps[k] / qs[k]), (k, 1, n)), proved)
    assert result.expr == sp.Sum(kl_div(ps[k], qs[k]), (k, 1, n)) + CompensatedSum(ps[k] - qs[k], (k, 1, n))
    assert "relative_entropy_terms" in result.rules


def test_focal_weight_and_other_classes_sum_rules(proved: tuple[ProvedRule, ...]) -> None:
    zs, ys = sp.IndexedBase("z"), sp.IndexedBase("y")
    k, i, n = index("k").symbol, index("i").symbol, sp.Symbol("K", integer=True, positive=True)
    q = softmax(zs, i, n)
    ratio = stabilize(q * sp.log(q) / (1 - q), proved)
    assert ratio.expr == SoftmaxXLogXRatio(zs[i], i, n) and "softmax_xlogx_ratio" in ratio.rules
    others = stabilize(q ** 2 * (sp.Sum(ys[k] * zs[k], (k, 1, n)) - ys[i] * zs[i]), proved)
    # one factor of the square inside: p (p S) passes through p S, where p^2 alone may be subnormal
    assert others.expr == Softmax(zs[i], i, n) * OtherClassesSum(Softmax(zs[i], i, n), ys[k] * zs[k], k, n, i)
    # not the own entry of the sum (another class's entry, or the entry of another vector): left alone
    j = index("j").symbol
    assert not stabilize(q * (sp.Sum(ys[k], (k, 1, n)) - zs[i]), proved).expr.has(OtherClassesSum)
    assert not stabilize(q * (sp.Sum(ys[k], (k, 1, n)) - ys[i] * zs[j]), proved).expr.has(OtherClassesSum)
