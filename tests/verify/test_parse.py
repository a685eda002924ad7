"""Tests for symloss.verify.parse: the limits, hostile input, fuzzing, round trips, catalog losses by name."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symloss.declare.catalog import Catalog, load_catalog
from symloss.declare.functions import sigmoid
from symloss.declare.notation import Scope
from symloss.verify.limits import MAX_ARGUMENTS, MAX_DEPTH, MAX_LENGTH
from symloss.verify.parse import ParseError, parse
from symloss.verify.plain_text import to_text

x, y, z = (sp.Symbol(n, real=True) for n in "xyz")


def text(source: str, scope: Scope | None = None, catalog: Catalog | None = None) -> sp.Expr:
    return parse(source, scope, catalog).expr


def latex(source: str, scope: Scope | None = None, catalog: Catalog | None = None) -> sp.Expr:
    return parse(source, scope, catalog, latex=True).expr




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


def test_max_of_arguments_sympy_cannot_compare_is_a_parse_error() -> None:
    """Found by the round-trip fuzzer: SymPy's Max raised a bare ValueError."""
    with pytest.raises(ParseError, match="cannot compare") as caught:
        parse("1 + max(x, -softplus(2))")
    assert caught.value.column == 5


# ---------------------------------------------------------------- limits


REPOSITORY = Path(__file__).resolve().parents[2]
MAX_OF_199 = "max(" + ", ".join(f"x^{n}" for n in range(1, 200)) + ")"


def test_a_max_of_many_arguments_is_refused_by_its_limit_naming_the_count() -> None:
    with pytest.raises(ParseError, match=f"the max has 199 arguments; the limit is {MAX_ARGUMENTS}"):
        parse(MAX_OF_199)
    inner, outer = (", ".join(f"{name}^{n}" for n in range(1, 10)) for name in "xy")
    nested = f"min(min({inner}), {outer})"
    with pytest.raises(ParseError, match="the min has 18 arguments"):
        parse(nested)
    at_limit = "max(" + ", ".join(f"x^{n}" for n in range(1, MAX_ARGUMENTS + 1)) + ")"
    assert len(text(at_limit).args) == MAX_ARGUMENTS
    with pytest.raises(ParseError, match="the max has"):
        parse(r"\max(" + ", ".join(f"x^{{{n}}}" for n in range(1, 40)) + ")", latex=True)


def test_verify_refuses_a_max_of_199_powers_with_exit_2_within_its_budget() -> None:
    """Before the limit, reading this claim alone took over 3 minutes (SymPy compares
    a Max's arguments pairwise); now the parser refuses it at once."""
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "symloss", "verify", MAX_OF_199, "x^199", "--timeout", "5"],
                            capture_output=True, text=True, cwd=REPOSITORY, check=False, timeout=120)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "the max has 199 arguments" in result.stdout + result.stderr
    assert time.monotonic() - started < 30  # the interpreter's start-up and imports, far under the old minutes


HOSTILE_PIECES = st.sampled_from(["(", ")", "[", "]", "max(", "min(", "x", "^", "**", "9", ",", "-", "sum(",
                                  "diff(", "log(", "/", "0", r"\frac{", "}", "{", "e^{", "|"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.lists(HOSTILE_PIECES, max_size=400).map("".join),  # malformed and long
        st.integers(MAX_DEPTH - 5, 3 * MAX_DEPTH).map(lambda n: "(" * n + "x" + ")" * n),  # deeply nested
        st.integers(MAX_DEPTH - 5, 3 * MAX_DEPTH).map(lambda n: "-" * n + "x"),  # deep without brackets
        st.integers(1, 4 * MAX_ARGUMENTS).map(lambda n: "max(" + ", ".join(f"x^{k}" for k in range(n)) + ")"),
        st.integers(MAX_LENGTH - 10, MAX_LENGTH + 10).map(lambda n: ("x+" * n)[:n] + "1"),  # about the length limit
    ),
    st.booleans(),
)
def test_hostile_strings_raise_only_parse_error_within_a_bounded_time(source: str, as_latex: bool) -> None:
    with contextlib.suppress(ParseError), hang_guard(seconds=10):
        parse(source, latex=as_latex)

