"""Straight-line programs: the same values as the expressions, buffers reused but never clobbered."""

from __future__ import annotations

import importlib
import re

import numpy as np
import pytest
import sympy as sp

from symloss.declare.functions import sigmoid, softplus
from symloss.emit.arrays import mirror
from symloss.emit.blocks import HANDLERS, kernel_code
from symloss.emit.printer import KernelPrinter
from symloss.emit.program import COMMENT_WIDTH, ENTRY, SAMPLE, LabelSelect, Program, _cut
from symloss.stabilize.primitives import log1p

x, w, y = sp.symbols("x w y", real=True)
a = sp.Symbol("a", positive=True)  # a scalar option
NUMERICS = importlib.import_module("symloss_kernels._numerics")


def run(results: dict[str, sp.Expr], arrays: dict[str, np.ndarray], **scalars: float) -> dict[str, np.ndarray]:
    """Build the program of ``results`` and execute its lines with numpy buffers."""
    program = Program(KernelPrinter({}), {x: ENTRY, w: ENTRY, y: ENTRY}, HANDLERS)
    values = [program.bind(sp.Symbol(name), name, program.emit(expr)) for name, expr in results.items()]
    lines, counts = program.lines(values)
    shape = next(iter(arrays.values())).shape
    namespace = {"np": np, **vars(NUMERICS), **arrays, **scalars,
                 "entries": [np.full(shape, np.nan) for _ in range(counts.get(ENTRY, 0))],
                 "samples": [np.full(shape, np.nan) for _ in range(counts.get(SAMPLE, 0))]}
    with np.errstate(all="ignore"):
        exec("\n".join(lines), namespace)
    return {name: np.array(namespace[name]) for name in results}


def reference(expr: sp.Expr, arrays: dict[str, np.ndarray], **scalars: float) -> np.ndarray:
    textbook = expr.replace(lambda e: isinstance(e, sigmoid), lambda e: 1 / (1 + sp.exp(-e.args[0]))).replace(
        lambda e: isinstance(e, softplus), lambda e: sp.log(1 + sp.exp(e.args[0])))
    f = sp.lambdify([x, w, y, a], textbook, "numpy")
    return f(arrays["x"], arrays["w"], arrays["y"], scalars["a"])


EXPRESSIONS = [
    x * w + 3 * y - 2,
    -x / (1 + w**2) + a * sp.exp(-sp.Abs(x)),
    log1p(sp.exp(-x)) * w,
    sp.Max(x, 0) - sp.Min(w, y, a) + (x - w) ** 3,
    sp.sqrt(w**2 + 1) - 1 / x + x**-2,
    (x * w) ** 2 + sp.exp(x * w) - x * w,  # a repeated subexpression
    -x - w - y,  # only negative terms
    a / w,
    sigmoid(x) * softplus(-w) + sigmoid(-x),
]


@pytest.mark.parametrize("expr", EXPRESSIONS, ids=str)
def test_programs_compute_what_their_expressions_compute(expr: sp.Expr) -> None:
    rng = np.random.default_rng(5)
    arrays = {name: rng.uniform(0.5, 2.0, 40) for name in ("x", "w", "y")}
    got = run({"loss": expr, "grad": sp.diff(expr, x)}, arrays, a=1.5)
    np.testing.assert_allclose(got["loss"], reference(expr, arrays, a=1.5), rtol=1e-13)
    np.testing.assert_allclose(got["grad"], reference(sp.diff(expr, x), arrays, a=1.5), rtol=1e-13)


def test_buffers_are_reused_and_results_survive() -> None:
    expr = sp.exp(log1p(x**2) * w) - sp.tanh(y) * x
    program = Program(KernelPrinter({}), {x: ENTRY, w: ENTRY, y: ENTRY}, HANDLERS)
    values = [program.bind(sp.Symbol(n), n, program.emit(e)) for n, e in (("loss", expr), ("grad", expr.diff(x)))]
    lines, counts = program.lines(values)
    assert counts[ENTRY] < len(lines)  # fewer buffers than steps
    loss_buffer = re.search(r"^loss = .*out=(entries\[\d+\])", "\n".join(lines), re.MULTILINE).group(1)
    after = "\n".join(lines[next(i for i, line in enumerate(lines) if line.startswith("loss =")) + 1:])
    assert f"out={loss_buffer}" not in after  # a result's buffer is never written again


def test_a_helper_never_writes_over_what_it_reads() -> None:
    program = Program(KernelPrinter({}), {x: ENTRY}, HANDLERS)
    value = program.helper("_softplus", [program.emit(-x)], ENTRY, work=1)  # -x dies here: its buffer is free
    first, last = program.lines([value])[0]
    argument_buffer = re.search(r"out=(entries\[\d\])", first).group(1)
    assert re.fullmatch(r"\w+ = _softplus\(\w+, out=entries\[\d\], work=entries\[\d\]\)", last)
    assert argument_buffer not in last


def test_label_selection_is_exact_for_finite_scalar_choices() -> None:
    labels = np.array([0.0, 1.0, 1.0, 0.0])
    out = NUMERICS._by_label(labels, (0, 1), (0.1, 0.7), out=np.empty(4), work=np.empty(4))
    assert out.tolist() == [0.1, 0.7, 0.7, 0.1]
    out = NUMERICS._by_label(np.array([-1.0, 1.0]), (-1, 1), (0.3, -2.9), out=np.empty(2), work=np.empty(2))
    assert out.tolist() == [0.3, -2.9]
    arrays = NUMERICS._by_label(labels, (0, 1), (np.full(4, np.inf), np.arange(4.0)), out=np.empty(4))
    assert arrays.tolist() == [np.inf, 1.0, 2.0, np.inf]


def test_mirrored_branches_are_one_branch_at_the_signed_output() -> None:
    branches = [softplus(x), a * softplus(-x)]
    (c0, c1), inner = mirror(branches, x)
    assert (c0, c1, inner) == (1, a, softplus(x))
    assert mirror([softplus(x), softplus(x)], x) is None  # not mirrored
    assert mirror([sp.log(x), sp.log(1 - x)], x) is None  # p-space branches: 1 - x is no negation
    merged = LabelSelect(y, sp.Tuple(0, 1), sp.Tuple(c0, c1)) * inner.xreplace({x: LabelSelect(
        y, sp.Tuple(0, 1), sp.Tuple(1, -1)) * x})

    def at(label: int) -> sp.Expr:
        return merged.replace(lambda e: isinstance(e, LabelSelect), lambda e: e.args[2][e.args[1].index(label)])

    assert at(0) == branches[0] and at(1) == branches[1]


IDENTIFIER = re.compile(r"\b[A-Za-z_]\w*")


def same_up_to_renaming(named: list[str], plain: list[str]) -> bool:
    """Whether ``named`` without its comments is ``plain`` with the names the lines assign renamed one
    to one (alpha-equivalence): the same statements, character for character, in the same order."""
    statements = [line for line in named if not line.lstrip().startswith("#")]
    if len(statements) != len(plain):
        return False
    assigned = {m.group(1) for line in plain if (m := re.match(r"\s*(\w+) =", line))}
    forward: dict[str, str] = {}
    backward: dict[str, str] = {}
    for mine, theirs in zip(statements, plain, strict=True):
        if IDENTIFIER.split(mine) != IDENTIFIER.split(theirs):  # the code between the names
            return False
        for a, b in zip(IDENTIFIER.findall(mine), IDENTIFIER.findall(theirs), strict=False):
            if forward.setdefault(a, b) != b or backward.setdefault(b, a) != a:
                return False
            if a != b and b not in assigned:  # only the program's own names may differ
                return False
    return True


def test_the_renaming_check_refutes_what_is_no_renaming() -> None:
    plain = ["u0 = np.exp(x, out=entries[0])", "loss = np.add(u0, x, out=entries[0])"]
    assert same_up_to_renaming(["# loss = exp(x) + x", "e_x = np.exp(x, out=entries[0])",
                                "loss = np.add(e_x, x, out=entries[0])"], plain)
    assert not same_up_to_renaming(["e_x = np.exp(x, out=entries[0])", "loss = np.add(x, e_x, out=entries[0])"],
                                   plain)  # operands swapped
    assert not same_up_to_renaming(["x = np.exp(x, out=entries[0])", "loss = np.add(x, x, out=entries[0])"],
                                   plain)  # two names made one
    assert not same_up_to_renaming(["u0 = np.exp(w, out=entries[0])", "loss = np.add(u0, w, out=entries[0])"],
                                   plain)  # an argument renamed
    assert not same_up_to_renaming(["u0 = np.exp(x, out=entries[1])", "loss = np.add(u0, x, out=entries[0])"],
                                   plain)  # another buffer


def lines_of(results: dict[str, sp.Expr], *, named: bool, names: dict[sp.Basic, str] | None = None) -> list[str]:
    printer = KernelPrinter(names if names is not None else {s: s.name for s in (x, w, y, a)})
    return kernel_code(list(results.items()), printer, {x: ENTRY, w: ENTRY, y: ENTRY}, "x", False, named=named)


@pytest.mark.parametrize("expr", EXPRESSIONS, ids=str)
def test_named_programs_are_the_plain_programs_renamed(expr: sp.Expr) -> None:
    results = {"loss": expr, "grad": sp.diff(expr, x)}
    named, plain = lines_of(results, named=True), lines_of(results, named=False)
    assert same_up_to_renaming(named, plain)
    assert not any(line.startswith("#") for line in plain)
    assert [line for line in named if line.startswith("# ")][-2:][0].startswith("# loss = ")


def test_temporaries_are_named_after_the_function_and_its_argument() -> None:
    code = "\n".join(lines_of({"loss": softplus(-x) * w, "grad": -sigmoid(-x) * w}, named=True))
    assert "# t0 = -x" not in code and "neg_x = np.negative(x" in code  # a common subexpression named too
    assert "e_neg_abs_neg_x = np.exp(" in code and "softplus_neg_x = np.add(" in code
    assert "# loss = w*softplus(neg_x)" in code
    assert "# grad = -w*sigmoid(neg_x)" in code
    assert not re.search(r"\bt\d+\b", code)


def test_names_never_shadow_arguments_helpers_or_builtins() -> None:
    taken = sp.Symbol("abs_x", real=True)  # an argument with the name Abs(x) would get
    names = {x: "x", w: "w", y: "y", a: "a", taken: "abs_x"}
    lines = lines_of({"loss": sp.Abs(x) * w + sp.exp(-sp.Abs(x)), "grad": sp.Max(x, w)}, named=True, names=names)
    assigned = [line.split(" = ")[0] for line in lines if not line.startswith(("#", "entries = "))]
    assert "t0 = np.abs(x, out=entries[0])" in lines  # abs_x is taken
    assert "abs_x" not in assigned and len(assigned) == len(set(assigned))
    assert not {"max", "min", "abs", "np", "x", "w", "entries"} & set(assigned)
    assert same_up_to_renaming(lines, lines_of({"loss": sp.Abs(x) * w + sp.exp(-sp.Abs(x)), "grad": sp.Max(x, w)},
                                               named=False, names=names))


def test_named_programs_compute_the_same_bits() -> None:
    rng = np.random.default_rng(7)
    arrays = {name: rng.uniform(-30.0, 30.0, 64) for name in ("x", "w", "y")}
    for expr in EXPRESSIONS:
        results = {"loss": expr, "grad": sp.diff(expr, x)}
        outputs = []
        for named in (True, False):
            namespace = {"np": np, **vars(NUMERICS), **arrays, "a": 1.5, "scratch": {}}
            with np.errstate(all="ignore"):
                exec("\n".join(lines_of(results, named=named)), namespace)
            outputs.append([np.array(namespace[n]) for n in results])
        for mine, theirs in zip(*outputs, strict=True):
            assert mine.tobytes() == theirs.tobytes()


def test_long_formulas_are_cut_within_the_comment_width() -> None:
    text = "loss = " + " + ".join(f"exp(x{i})*w" for i in range(40))
    cut = _cut(text)
    assert len(cut) <= COMMENT_WIDTH and cut.endswith(" ...") and text.startswith(cut[:-4].rstrip())
    assert _cut("loss = x + w") == "loss = x + w"
    expr = sum(sp.exp(x * i) * w ** i for i in range(1, 30))
    assert all(len(line) <= COMMENT_WIDTH + 2 for line in lines_of({"loss": expr}, named=True) if line.startswith("#"))


def test_a_parameter_divides_instead_of_multiplying_by_its_overflowing_reciprocal() -> None:
    """x/a and x/a^2 at a = 2^-1074: 1/a overflows to inf, so x·(1/a) would be 0·inf = NaN at x = 0
    and x·a^-2 inf where the exact quotient is finite; the program divides, once per power."""
    arrays = {"x": np.array([0.0, 1e-300, -3e-310]), "w": np.ones(3), "y": np.ones(3)}
    tiny = 5e-324
    got = run({"once": x / a, "twice": x * a**-2}, arrays, a=tiny)
    np.testing.assert_array_equal(got["once"], arrays["x"] / tiny)
    np.testing.assert_array_equal(got["twice"], arrays["x"] / tiny / tiny)
    assert got["once"][0] == 0 and np.isinf(got["twice"][1])


def test_common_subexpressions_keep_divisions_by_a_parameter() -> None:
    lines = kernel_code([("loss", x / a), ("grad", w / a + y * a**-2)], KernelPrinter({}), {x: ENTRY, w: ENTRY,
                                                                                              y: ENTRY}, "x", False)
    code = "\n".join(lines)
    assert "**(-" not in code and "np.divide" in code
