"""Tests for symloss.verify.parse: the grammar, the limits, hostile input, fuzzing, round trips."""

from __future__ import annotations

import contextlib
import re
import signal
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symloss.declare.catalog import Catalog, load_catalog
from symloss.declare.functions import sigmoid, softplus
from symloss.declare.notation import BINARY, CLASS_COUNT, INDEX, POSITIVE, REAL, REAL_VECTOR, Scope, var
from symloss.verify.parse import MAX_LENGTH, ParseError, parse, parse_many, to_text

x, y, z = (sp.Symbol(n, real=True) for n in "xyz")


def text(source: str, scope: Scope | None = None, catalog: Catalog | None = None) -> sp.Expr:
    return parse(source, scope, catalog).expr


def latex(source: str, scope: Scope | None = None, catalog: Catalog | None = None) -> sp.Expr:
    return parse(source, scope, catalog, latex=True).expr


TOY_CATALOG = '''
import sympy as sp
from symloss.declare.functions import sigmoid
from symloss.declare.loss import Definition, Loss
from symloss.declare.notation import BINARY, CLASS_COUNT, NONNEGATIVE, REAL, REAL_VECTOR, SIMPLEX, index, var, vector

z = var("z")
y = var("y", BINARY)
gamma = var("gamma", NONNEGATIVE)
toy_bce = Loss(
    name="toy_bce", title="BCE on logits", family="binary", output=z, target=y,
    formula=-y.symbol * sp.log(sigmoid(z.symbol)) - (1 - y.symbol) * sp.log(1 - sigmoid(z.symbol)),
    origin=Definition(),
)
toy_focal = Loss(
    name="toy_focal", title="focal", family="binary", output=z, target=y, params=(gamma,),
    formula=-(1 - sigmoid(z.symbol)) ** gamma.symbol * sp.log(sigmoid(z.symbol)),
    origin=Definition(),
)
k, i, K = index("k"), index("i"), var("K", CLASS_COUNT)
zv, yv = vector("z", REAL_VECTOR), vector("y", SIMPLEX)
toy_ce = Loss(
    name="toy_ce", title="softmax CE", family="multiclass", output=zv, target=yv, index=i, classes=K,
    formula=-sp.Sum(yv.symbol[k.symbol] * sp.log(sp.exp(zv.symbol[k.symbol])
                    / sp.Sum(sp.exp(zv.symbol[k.symbol]), (k.symbol, 1, K.symbol))), (k.symbol, 1, K.symbol)),
    origin=Definition(), given=(sp.Eq(sp.Sum(yv.symbol[k.symbol], (k.symbol, 1, K.symbol)), 1),),
)
'''


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    folder: Path = tmp_path_factory.mktemp("toy_catalog")
    (folder / "toy.py").write_text(textwrap.dedent(TOY_CATALOG))
    return load_catalog(folder)


# ---------------------------------------------------------------- plain text grammar


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("x + 2*y", x + 2 * y),
        ("x^2 - x**3", x**2 - x**3),
        ("-x^2", -(x**2)),
        ("0.5*x", sp.Rational(1, 2) * x),
        ("1e-8", sp.Rational(1, 10**8)),
        ("2.5e3", sp.Integer(2500)),
        ("pi*E", sp.pi * sp.E),
        ("exp(x) + log(y)", sp.exp(x) + sp.log(y)),
        ("log1p(x)", sp.log(1 + x)),
        ("expm1(x)", sp.exp(x) - 1),
        ("sqrt(x)*abs(y)*sign(z)", sp.sqrt(x) * sp.Abs(y) * sp.sign(z)),
        ("tanh(x) + cosh(y) + sinh(z)", sp.tanh(x) + sp.cosh(y) + sp.sinh(z)),
        ("sigmoid(z) - softplus(z)", sigmoid(z) - softplus(z)),
        ("max(0, 1 - y*z) + min(x, y, z)", sp.Max(0, 1 - y * z) + sp.Min(x, y, z)),
        ("x/y/z", x / y / z),
        ("(x + y)*(x - y)", (x + y) * (x - y)),
    ],
)
def test_plain_text_grammar(source: str, expected: sp.Expr) -> None:
    assert text(source) == expected


def test_diff_forms_stay_unevaluated() -> None:
    assert text("diff(sigmoid(z), z)") == sp.Derivative(sigmoid(z), z, evaluate=False)
    assert text("diff(x**3, x, 2)") == sp.Derivative(x**3, (x, 2), evaluate=False)
    assert text("diff(x*y, x, y)") == sp.Derivative(x * y, x, y, evaluate=False)


def test_sum_and_indexed_names() -> None:
    formula = parse("sum(y[k]*log(p[k]), k, 1, K)")
    domains = {v.name: v.domain for v in formula.scope.variables}
    assert domains == {"y": REAL_VECTOR, "p": REAL_VECTOR, "K": CLASS_COUNT}
    assert isinstance(formula.expr, sp.Sum)
    free_index = parse("z[i] - y[i]")
    assert {v.name: v.domain for v in free_index.scope.variables}["i"] == INDEX


def test_symbols_take_their_assumptions_from_the_scope() -> None:
    scope = Scope((var("x", POSITIVE), var("y", POSITIVE)))
    expr = text("log(x*y)", scope)
    assert sp.expand_log(expr) == sp.log(sp.Symbol("x", positive=True)) + sp.log(sp.Symbol("y", positive=True))
    assert text("x", None).is_real


def test_both_sides_share_one_symbol_per_name() -> None:
    parsed = parse_many(["sum(y[k], k, 1, K)", "K*y[1]"])
    left, right = parsed.exprs
    assert left.free_symbols & right.free_symbols


def test_catalog_losses_apply_with_positional_arguments(catalog: Catalog) -> None:
    formula = parse("diff(toy_bce(t, y), t)", catalog=catalog)
    names = {v.name: v.domain for v in formula.scope.variables}
    assert names["y"] == BINARY  # a bare argument takes the loss argument's domain
    assert names["t"] == REAL
    focal = parse("toy_focal(z, 1)", catalog=catalog)
    assert "gamma" in {v.name for v in focal.scope.variables}  # an unset parameter keeps its domain
    assert text("toy_focal(z, 1, 0)", catalog=catalog) == -sp.log(sigmoid(z))


def test_vector_losses_take_vector_names_and_bring_their_given(catalog: Catalog) -> None:
    formula = parse("diff(toy_ce(s, q), s[j])", catalog=catalog)
    assert formula.given and "q" in str(formula.given[0])
    with pytest.raises(ParseError, match="vector name"):
        parse("toy_ce(2*s, q)", catalog=catalog)


@pytest.mark.parametrize(
    ("source", "message", "column"),
    [
        ("x + foo(y)", "unknown function 'foo'", 5),
        ("x + ", "syntax error", 5),
        ("exp", "is a function", 1),
        ("exp(x, y)", "one argument", 1),
        ("max(x)", "at least two", 1),
        ("x < y", "comparison", 1),
        ("x.real", "attribute", 1),
        ("x % y", "Mod", 1),
        ("x // y", "FloorDiv", 1),
        ("'s'", "constant", 1),
        ("1j", "constant", 1),
        ("True", "constant", 1),
        ("x if y else z", "conditional", 1),
        ("x[1:2]", "Slice", 3),
        ("f(x=1)", "plain function calls", 1),
        ("1/0", "undefined", 3),
        ("log(0)", "undefined", 1),
        ("x ^ 2000", "exponent", 5),
        ("diff(x, 2)", "variable", 1),
        ("diff(x, x, 9)", "order", 1),
        ("sum(y[k], k, 1, 100000)", "terms", 1),
        ("sum(y[k], k, 1/2, 3)", "integers", 1),
        ("y[k] + y", "both as a vector and as a scalar", 8),
        ("x\u00b2", "ASCII", 2),
        ("  ", "empty", 1),
    ],
)
def test_plain_text_errors_point_at_the_offending_text(source: str, message: str, column: int) -> None:
    with pytest.raises(ParseError, match=message) as caught:
        parse(source)
    assert caught.value.column == column
    assert "^" in str(caught.value)


# ---------------------------------------------------------------- hostile input


PAYLOADS = [
    "__import__('os').system('touch /tmp/pwned')",
    "().__class__.__base__.__subclasses__()",
    "x.__class__",
    "__builtins__",
    "lambda: 1",
    "[c for c in ().__class__.__base__.__subclasses__()]",
    "{x: 1 for x in range(3)}",
    "exec('import os')",
    "eval('1')",
    "open('/etc/passwd').read()",
    "getattr(x, '__class__')",
    "9**9**9**9",
    "10**10**10",
    "2**(2**(2**20))",
    "1e999999999",
    "9" * 100,
    "(" * 60 + "x" + ")" * 60,
    "-" * 1500 + "x",
    "x" * (MAX_LENGTH + 1),
    "f'{x}'",
    "(x := 1)",
    "*x",
    "x @ y",
    "not x",
    "~x",
    "x and y",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_hostile_input_is_a_parse_error(payload: str) -> None:
    with pytest.raises(ParseError):
        parse(payload)


@pytest.mark.parametrize(
    "payload",
    [r"\input{/etc/passwd}", r"\def\x{1}", r"x^{9^{9^{9^{9}}}}", "{" * 60 + "x" + "}" * 60, r"\frac{" * 60],
)
def test_hostile_latex_is_a_parse_error(payload: str) -> None:
    with pytest.raises(ParseError):
        parse(payload, latex=True)


# ---------------------------------------------------------------- LaTeX


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (r"\frac{1}{1 + e^{-z}}", 1 / (1 + sp.exp(-z))),
        (r"-[y\log\sigma(z) + (1-y)\log(1-\sigma(z))]", -y * sp.log(sigmoid(z)) - (1 - y) * sp.log(1 - sigmoid(z))),
        (r"2z + y\log x", 2 * z + y * sp.log(x)),
        (r"|x - y| \cdot \sqrt{x^2}", sp.Abs(x - y) * sp.Abs(x)),
        (r"\max(0, 1 - y \cdot z)", sp.Max(0, 1 - y * z)),
        (r"\tanh(x)\cosh(y) + \ln x", sp.tanh(x) * sp.cosh(y) + sp.log(x)),
        (r"\exp\left(x\right) \times 3", 3 * sp.exp(x)),
        (r"\operatorname{softplus}(z)", softplus(z)),
        (r"\sqrt[3]{x}", sp.cbrt(x)),
        (r"\frac{\partial}{\partial z} \sigma(z)", sp.Derivative(sigmoid(z), z, evaluate=False)),
        (r"e", sp.E),
        (r"\pi x", sp.pi * x),
    ],
)
def test_latex_grammar(source: str, expected: sp.Expr) -> None:
    assert latex(source) == expected


def test_latex_names_hats_greek_and_subscripts() -> None:
    expr = latex(r"(1 - \hat{y})^\gamma + p_t + y_{true} + \epsilon")
    names = {s.name for s in expr.free_symbols}
    assert names == {"y_hat", "gamma", "p_t", "y_true", "epsilon"}


def test_latex_sums_index_their_vectors() -> None:
    formula = parse(r"-\sum_{k=1}^{K} y_k \log \hat{y}_k", latex=True)
    assert {v.name: v.domain for v in formula.scope.variables} == {
        "K": CLASS_COUNT,
        "y": REAL_VECTOR,
        "y_hat": REAL_VECTOR,
    }
    softmax = parse(r"\frac{e^{z_i}}{\sum_j e^{z_j}}", latex=True)
    assert {v.name for v in softmax.scope.variables} == {"z", "i", "K"}


def test_latex_partial_of_a_defined_name() -> None:
    expr = latex(r"L = -y\log\sigma(z) - (1-y)\log(1-\sigma(z)); \frac{\partial L}{\partial z}")
    assert expr == sp.Derivative(-y * sp.log(sigmoid(z)) - (1 - y) * sp.log(1 - sigmoid(z)), z, evaluate=False)
    second = latex(r"\mathcal{L} = z^3 \\ \frac{\partial^2 \mathcal{L}}{\partial z^2}")
    assert second == sp.Derivative(z**3, (z, 2), evaluate=False)


def test_latex_definitions_carry_over_to_the_other_side() -> None:
    _left, right = parse_many([r"L = z^2", r"\frac{\partial L}{\partial z}"], latex=True).exprs
    assert right == sp.Derivative(z**2, z, evaluate=False)


def test_latex_catalog_loss_by_name(catalog: Catalog) -> None:
    expr = latex(r"\frac{\partial}{\partial z} \operatorname{toy\_bce}(z, y)", catalog=catalog)
    assert isinstance(expr, sp.Derivative)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (r"\frac{\partial L}{\partial z}", "undefined name"),
        (r"\foo(x)", "unsupported command"),
        (r"x +", "unexpected"),
        (r"(x", r"expected '\)'"),
        (r"\frac{1}{0}", "undefined"),
        (r"x ? y", "unexpected character"),
        (r"\frac{\partial^2}{\partial z} z", "orders"),
    ],
)
def test_latex_errors(source: str, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse(source, latex=True)


def test_latex_error_column_points_at_the_command() -> None:
    with pytest.raises(ParseError) as caught:
        parse(r"x + \foo", latex=True)
    assert caught.value.column == 5


# ---------------------------------------------------------------- fuzzing


class HangError(Exception):
    """Raised by :func:`hang_guard` when one parse runs far too long."""


@contextlib.contextmanager
def hang_guard(seconds: int = 20) -> Iterator[None]:
    """Fail (instead of hanging the suite) if the block runs longer than ``seconds``:
    a guard against hangs, not a speed requirement."""

    def alarm(signum: int, frame: object) -> None:
        raise HangError(f"parsing took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


PLAIN_ALPHABET = "xyzk0123456789.+-*/^()[], eE_abdfgilmnopqrstuvw"
LATEX_ALPHABET = "xyzk0129.+-*/^_()[]{}|, =;\\eE"
LATEX_WORDS = [r"\frac", r"\log", r"\sigma", r"\sum", r"\partial", r"\left(", r"\right)", r"\hat", r"\cdot",
               r"\sqrt", r"\max", r"\exp", r"\gamma", "^{", "_{", "}", "{", "e^{"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=PLAIN_ALPHABET, max_size=40))
def test_random_plain_text_never_crashes(source: str) -> None:
    with contextlib.suppress(ParseError), hang_guard():
        parse(source)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.sampled_from(LATEX_WORDS), st.text(alphabet=LATEX_ALPHABET, max_size=3)), max_size=15))
def test_random_latex_never_crashes(pieces: list[str]) -> None:
    with contextlib.suppress(ParseError), hang_guard():
        parse("".join(pieces), latex=True)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=30))
def test_random_unicode_never_crashes(source: str) -> None:
    for as_latex in (False, True):
        with contextlib.suppress(ParseError), hang_guard():
            parse(source, latex=as_latex)


LEAVES = st.sampled_from(["x", "y", "z", "p", "2", "3", "0.5", "1e-3", "pi", "E", "y[1]", "w[i]"])
UNARY = ["exp", "log", "log1p", "expm1", "sqrt", "abs", "sign", "tanh", "cosh", "sinh", "sigmoid", "softplus"]


def _compose(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, st.sampled_from(["+", "-", "*", "/", "^"]), children).map(lambda t: f"({''.join(t)})"),
        st.tuples(st.sampled_from(UNARY), children).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(st.sampled_from(["max", "min"]), children, children).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
        children.map(lambda c: f"-{c}"),
        children.map(lambda c: f"diff({c}, x)"),
        children.map(lambda c: f"diff({c}, z, 2)"),
        children.map(lambda c: f"sum({c}*q[k], k, 1, K)"),
    )


VALID = st.recursive(LEAVES, _compose, max_leaves=8)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(VALID)
def test_printed_expressions_parse_back_unchanged(source: str) -> None:
    try:
        expr = text(source)
    except ParseError:
        return  # e.g. log(0) or 0**(-1): rejected, nothing to print
    assert text(to_text(expr)) == expr


def test_to_text_rejects_what_the_grammar_cannot_say() -> None:
    with pytest.raises(ValueError, match="no plain-text form"):
        to_text(sp.Heaviside(x))



@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=PLAIN_ALPHABET + "'\"._:=!@#$%&<>{}|~`;\\", max_size=60))
def test_random_text_raises_only_the_documented_parse_error(source: str) -> None:
    """Python-ish noise: either a formula or a ParseError (a ValueError) with a position."""
    try:
        with hang_guard():
            parse(source)
    except ParseError as error:
        assert 0 <= error.position <= len(source) and str(error)


# ---------------------------------------------------------------- LaTeX round trip against plain text


def _latex_pairs(children: st.SearchStrategy[tuple[str, str]]) -> st.SearchStrategy[tuple[str, str]]:
    """(LaTeX, plain text) pairs of the same expression, built together."""
    functions = [(r"\log", "log"), (r"\exp", "exp"), (r"\tanh", "tanh"), (r"\cosh", "cosh"), (r"\sigma", "sigmoid"),
                 (r"\ln", "log")]
    return st.one_of(
        st.tuples(children, children).map(
            lambda t: (f"\\left({t[0][0]} + {t[1][0]}\\right)", f"({t[0][1]} + {t[1][1]})")),
        st.tuples(children, children).map(lambda t: (f"({t[0][0]} - {t[1][0]})", f"({t[0][1]} - {t[1][1]})")),
        st.tuples(children, children).map(lambda t: (f"({t[0][0]} \\cdot {t[1][0]})", f"({t[0][1]} * {t[1][1]})")),
        st.tuples(children, children).map(
            lambda t: (f"\\frac{{{t[0][0]}}}{{{t[1][0]}}}", f"(({t[0][1]})/({t[1][1]}))")),
        st.tuples(children, st.sampled_from(["2", "3", "{-1}"])).map(
            lambda t: (f"({t[0][0]})^{t[1]}", f"(({t[0][1]})^({t[1].strip('{}')}))")),
        children.map(lambda c: (f"e^{{{c[0]}}}", f"exp({c[1]})")),
        children.map(lambda c: (f"|{c[0]}|", f"abs({c[1]})")),
        children.map(lambda c: (f"\\sqrt{{{c[0]}}}", f"sqrt({c[1]})")),
        st.tuples(st.sampled_from(functions), children).map(
            lambda t: (f"{t[0][0]}({t[1][0]})", f"{t[0][1]}({t[1][1]})")),
        st.tuples(st.sampled_from([(r"\max", "max"), (r"\min", "min")]), children, children).map(
            lambda t: (f"{t[0][0]}({t[1][0]}, {t[2][0]})", f"{t[0][1]}({t[1][1]}, {t[2][1]})")),
        # an operator (∂/∂x, d/dz, Σ) takes the whole term after it, as in print: (∂/∂x f)·g needs its parentheses
        children.map(lambda c: (f"(\\frac{{\\partial}}{{\\partial x}}\\left({c[0]}\\right))", f"diff({c[1]}, x)")),
        children.map(lambda c: (f"(\\frac{{d^2}}{{dz^2}}\\left({c[0]}\\right))", f"diff({c[1]}, z, 2)")),
        children.map(lambda c: (f"(\\sum_{{k=1}}^{{K}} q_k ({c[0]}))", f"sum(q[k]*({c[1]}), k, 1, K)")),
    )


LATEX_LEAVES = st.sampled_from([("x", "x"), ("y", "y"), ("z", "z"), ("2", "2"), ("0.5", "0.5"), (r"\pi", "pi"),
                                (r"\hat{y}", "y_hat"), (r"\gamma", "gamma"), (r"\Delta", "Delta"), ("e", "E"),
                                ("x_1", "x_1")])
LATEX_VALID = st.recursive(LATEX_LEAVES, _latex_pairs, max_leaves=8)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(LATEX_VALID)
def test_random_latex_means_the_same_as_its_plain_text(pair: tuple[str, str]) -> None:
    source, plain = pair
    try:
        with hang_guard():
            expected = text(plain)
    except ParseError:
        return  # e.g. 1/0: the LaTeX must then be rejected too
    assert latex(source) == expected, (source, plain)


# ---------------------------------------------------------------- further grammar


def test_every_catalog_loss_parses_by_name_with_positional_arguments() -> None:
    """name(output, target, inputs..., params...) with each slot's own name is the declared formula."""
    bundled = load_catalog()
    for loss in bundled:
        slots = (loss.output, loss.target, *loss.inputs, *loss.params)
        call = f"{loss.name}({', '.join(v.name for v in slots)})"
        formula = parse(call, catalog=bundled)
        assert formula.expr == loss.formula, call
        domains = {v.name: v.domain for v in formula.scope.variables}
        assert all(domains[v.name] == v.domain for v in slots), call
        escaped = (v.name.replace("_", "\\_") for v in slots)
        arguments = ", ".join(name if len(name) == 1 else rf"\mathrm{{{name}}}" for name in escaped)
        assert latex(rf"\operatorname{{{loss.name}}}({arguments})", catalog=bundled) == loss.formula, arguments


def test_catalog_losses_take_expressions_and_numbers_positionally() -> None:
    bundled = load_catalog()
    assert text("bce_with_logits(2*t, 1, 1)", catalog=bundled) == -sp.log(sigmoid(2 * sp.Symbol("t", real=True)))
    assert text("hinge(f, -1)", catalog=bundled) == sp.Max(0, 1 + sp.Symbol("f", real=True))
    with pytest.raises(ParseError, match="at most 2 arguments") as caught:
        parse("hinge(f, y, 1)", catalog=bundled)
    assert caught.value.column == 1
    with pytest.raises(ParseError, match="needs at least 2"):
        parse("bce(p)", catalog=bundled)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (r"\frac{d}{dz} z^2", sp.Derivative(z**2, z, evaluate=False)),
        (r"\frac{d^2}{dz^2} z^3", sp.Derivative(z**3, (z, 2), evaluate=False)),
        (r"\frac{\mathrm{d}}{\mathrm{d}x} x^2", sp.Derivative(x**2, x, evaluate=False)),
        (r"L = z^3; \frac{dL}{dz}", sp.Derivative(z**3, z, evaluate=False)),
        (r"\frac{\partial^2}{\partial x \partial y} x^2 y", sp.Derivative(x**2 * y, x, y, evaluate=False)),
        (r"\frac{d + x}{2}", (sp.Symbol("d", real=True) + x) / 2),
        (r"\min(x, y)", sp.Min(x, y)),
        (r"\left| x - y \right|", sp.Abs(x - y)),
        (r"e^z + e^{-z}", sp.exp(z) + sp.exp(-z)),
        (r"\sigma(z)\cdot\sigma(-z)", sigmoid(z) * sigmoid(-z)),
        (r"\cosh(x) - \sinh x", sp.cosh(x) - sp.sinh(x)),
        (r"\Delta + \varepsilon + \theta", sum(sp.Symbol(n, real=True) for n in ("Delta", "epsilon", "theta"))),
        (r"\hat{y} - \tilde{y} + \bar{y}", sum(sp.Symbol(n, real=True) for n in ("y_hat", "-y_tilde", "y_bar"))
         if False else sp.Symbol("y_hat", real=True) - sp.Symbol("y_tilde", real=True) + sp.Symbol("y_bar", real=True)),
    ],
)
def test_latex_more_constructs(source: str, expected: sp.Expr) -> None:
    assert latex(source) == expected


def test_latex_sum_with_hatted_vector_entries_and_the_definition_in_the_same_input() -> None:
    formula = parse(r"L = -\sum_{k=1}^{K} y_k \log \hat{y}_k; \frac{\partial L}{\partial \hat{y}_1}", latex=True)
    assert isinstance(formula.expr, sp.Derivative)
    assert {v.name for v in formula.scope.variables} == {"y", "y_hat", "K"}


def test_nested_numeric_sums_are_bounded_by_their_total_terms() -> None:
    assert isinstance(text("sum(sum(y[j]*y[k], j, 1, 10), k, 1, 100)"), sp.Sum)
    with pytest.raises(ParseError, match="terms"):
        parse("sum(sum(sum(y[k]*y[j]*y[i], i, 1, 1000), j, 1, 1000), k, 1, 1000)")


def test_nested_sums_print_and_parse_back() -> None:
    expr = text("sum(sum(x[j]*y[k], j, 1, K), k, 1, K)")
    assert text(to_text(expr)) == expr


@pytest.mark.parametrize(
    ("source", "message", "column"),
    [
        (r"\frac{1}{x} + \foo", "unsupported command", 15),
        (r"\log_2 x", "unexpected '_'", 5),
        (r"\frac{dL}{dz}", "undefined name", 8),
        (r"\sum_{1}^{K} y_k", "summation index", 7),
        (r"x + (y", "expected ')'", 7),
        (r"\frac{\partial^9}{\partial z^9} z", "at most 6", 16),
    ],
)
def test_latex_errors_point_at_the_offending_position(source: str, message: str, column: int) -> None:
    with pytest.raises(ParseError, match=re.escape(message)) as caught:
        parse(source, latex=True)
    assert caught.value.column == column, str(caught.value)


def test_max_of_arguments_sympy_cannot_compare_is_a_parse_error() -> None:
    """Found by the round-trip fuzzer: SymPy's Max raised a bare ValueError."""
    with pytest.raises(ParseError, match="cannot compare") as caught:
        parse("1 + max(x, -softplus(2))")
    assert caught.value.column == 5
