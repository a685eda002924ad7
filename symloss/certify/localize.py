r"""Where a kernel loses its bits: the local error of every subexpression (Herbie's localization).

Local error (Panchekha et al., "Automatically improving accuracy for floating point expressions",
PLDI 2015).  For a node :math:`f(c_1, \dots, c_n)` of an expression at a point, let :math:`\hat c_i`
be the children's exact values correctly rounded to float64.  The node's local error is the distance
between :math:`\mathrm{fl}(f)(\hat c_1, \dots, \hat c_n)` — the operation alone, in float64 as the
kernel computes it — and :math:`\mathrm{round}(f(c_1, \dots, c_n))`, in bits:
:math:`\log_2(1 + u)` with :math:`u` the number of float64 values between the two (64 for a NaN
against a number).  A correctly rounded operation (+, ×, √) has local error 0 wherever its inputs are
float64; the node with the largest local error over the sample points is where the bits are lost,
whatever its inputs did.

Exact values are Arb balls (:mod:`symloss.certify.balls`), each node computed from its children's
balls by the compiled interval evaluator (:mod:`symloss.certify.interval_evaluation`), at the
reference's precisions (:func:`symloss.certify.reference.precisions`) until every node resolves
(:func:`symloss.certify.reference.resolved`).  A node whose value, or a child's, is unresolved, or
that sits on a kink, is not measured at that point.  The float64 operation is the kernel's: the node
printed by the kernels' printer (:class:`symloss.emit.printer.KernelPrinter`), calling the helpers of
the generated numerics module for the stable primitives; a numeric child (a constant) stays inside
the operation, as the kernel prints it.  A Piecewise or a relation is measured as one opaque operation
of its variables.

Class-vector losses.  A node whose value depends on a class index (an entry :math:`z_k`, a class-axis
primitive such as :math:`\operatorname{softmax}(z)_i`, an expression of them) is a vector of one value
per class, and each class's local error is measured; the node's error at a point is its worst class's
(shown with the worst point as ``class``, 1-based).  The float64 operation is the kernel's on its rows
of classes (a class-axis primitive from the shared max-shifted parts, :func:`symloss.emit.arrays.share_softmax_parts`).
A class reduction (a sum, a max over the classes) is one operation over its summands: its float64
version sums (or takes the largest of) the correctly rounded exact summands, as the kernel's
``np.sum`` does, so a cancellation inside a class sum is found at the sum.  A node depending on two
class indices is not measured.  The class count is fixed per point (the points are grouped by it).

The expressions localized are the kernel's stable forms (:func:`symloss.emit.forms.forms_of`: the
value, gradient and Hessian, per label branch, per switched option) at the certification points
(:func:`symloss.certify.stress_grid.stress_points`).  The function's own error is the form evaluated
node by node in float64 against its exact value (the kernel's code may order a sum differently), for
a gradient or Hessian of a class-vector loss its worst entry's.  This module reports; it changes nothing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from types import ModuleType

import numpy as np
import sympy as sp

from symloss.certify.balls import ball, working_precision
from symloss.certify.interval_evaluation import IntervalExpression, NoIntervalFormError
from symloss.certify.interval_primitives import SUPPORTED_PRIMITIVES
from symloss.certify.reference import correctly_rounded, precisions, resolved
from symloss.certify.stress_grid import DENSE_POINTS, Point, is_class_vector, json_value, stress_points
from symloss.declare.likelihood import ClassMax
from symloss.declare.loss import Loss
from symloss.declare.notation import Var
from symloss.derive.chain import Derivation
from symloss.emit.arrays import share_softmax_parts
from symloss.emit.blocks import sigmoid_powers_call
from symloss.emit.codegen import render_package
from symloss.emit.forms import Switch, forms_of, switches_of
from symloss.emit.printer import KernelPrinter
from symloss.stabilize.class_axis_primitives import ClassAxisPrimitive, LogSumExp
from symloss.stabilize.engine import ProvedRule
from symloss.stabilize.primitive_base import Primitive
from symloss.stabilize.primitives import OtherClassesSum, SumOthers, sigmoid_powers
from symloss.stabilize.rules import proved_rules

LOSING_BITS = 2.0  # a node "loses bits" at a point where its local error exceeds this
TOP = 3  # nodes reported per function
SHOWN_CHARACTERS = 80  # a longer subexpression is shown truncated
SHOWN_ENTRIES = 10  # a longer class vector of a worst point is shown truncated in the table
FUNCTIONS = ("value", "grad", "hess")
_OPAQUE = (sp.Piecewise, sp.Rel, sp.logic.boolalg.Boolean)


@dataclass(frozen=True)
class NodeError:
    """The local error of one subexpression over the points where it was measured: its largest and
    mean in bits, the number of points where it exceeds :data:`LOSING_BITS`, and a worst point
    (variable name → value)."""

    text: str
    max_bits: float
    mean_bits: float
    losing: int
    points: int
    worst: Mapping[str, object]

    def to_json(self) -> dict[str, object]:
        return {"subexpression": self.text, "max_bits": self.max_bits, "mean_bits": self.mean_bits,
                "points_losing_over_2_bits": self.losing, "points": self.points,
                "worst_point": {k: json_value(v) for k, v in self.worst.items()}}


@dataclass(frozen=True)
class Localization:
    """An expression's (or a kernel function's) float64 error over the points — the largest, in bits,
    of the form evaluated node by node — and its nodes by local error, the worst first (``note``:
    why it was not localized, "" if it was)."""

    function: str
    max_bits: float
    points: int
    nodes: tuple[NodeError, ...]
    note: str = ""

    def to_json(self, top: int = TOP) -> dict[str, object]:
        return {"function": self.function, "max_bits": self.max_bits, "points": self.points,
                "nodes": [n.to_json() for n in self.nodes[:top]], "note": self.note}


@dataclass
class _Node:
    """A subexpression: its float64 operation and its exact operation on its ``children`` (scalar children
    as the ``dummies``, class-vector children as the 1-based ``vectors``); ``index``: the class index its
    value depends on (a vector of one value per class), None for a scalar."""

    expr: sp.Expr
    children: tuple[sp.Expr, ...]
    exact: IntervalExpression
    placeholders: tuple[sp.Basic, ...]  # per child, the Dummy or IndexedBase that stands for it
    index: sp.Symbol | None
    floating: object  # the compiled float64 operation of the children's values


class _OperationPrinter(KernelPrinter):
    """The kernels' printer, with the primitives the kernels emit as program steps
    (:data:`symloss.emit.blocks.HANDLERS`) printed as the same helper calls."""

    def __init__(self) -> None:
        super().__init__({})

    def _print_sigmoid_powers(self, expr: sigmoid_powers) -> str:
        return sigmoid_powers_call(expr, self._print(expr.args[0]))


@cache
def numerics() -> ModuleType:
    """The generated kernels' numerics module (rendered from its template, as the kernels import it)."""
    module = ModuleType("_symloss_localize_numerics")
    exec(compile(render_package([])["_numerics.py"], module.__name__, "exec"), module.__dict__)
    return module


def _opaque(expr: sp.Expr) -> bool:
    """Whether ``expr`` is measured as one operation of its leaves (see the module docstring)."""
    return isinstance(expr, _OPAQUE)


def _leaf(expr: sp.Expr) -> bool:
    """A variable: a scalar symbol or a class vector's entry ``z[k]``."""
    return isinstance(expr, sp.Indexed) or (expr.is_Atom and not expr.is_number)


@cache
def _free_indices(expr: sp.Expr) -> frozenset[sp.Symbol]:
    """The class indices ``expr``'s value depends on: those of its entries ``z[k]``, less those a class
    reduction (Sum, ClassMax, LogSumExp, the other classes' sum of OtherClassesSum) binds; a class-axis
    primitive's index and the entry of OtherClassesSum are free."""
    if isinstance(expr, sp.Indexed):
        return frozenset(i for i in expr.indices if isinstance(i, sp.Symbol))
    if expr.is_Atom:
        return frozenset()
    if isinstance(expr, sp.Sum | ClassMax):
        return _free_indices(expr.function) - {expr.limits[0][0]}
    if isinstance(expr, LogSumExp):
        return _free_indices(expr.entry) - {expr.index}
    if isinstance(expr, OtherClassesSum):
        weight, summand, k, _, i = expr.args
        return _free_indices(weight) | (_free_indices(summand) - {k}) | {i}
    if isinstance(expr, ClassAxisPrimitive | SumOthers):
        return _free_indices(expr.args[0]) | {expr.args[1]}
    return frozenset().union(*(_free_indices(a) for a in expr.args if isinstance(a, sp.Expr)))


def _index(expr: sp.Expr) -> sp.Symbol | None:
    """The one class index ``expr`` depends on, None for a scalar; ValueError for more than one."""
    indices = _free_indices(expr)
    if len(indices) > 1:
        raise ValueError(f"{expr} depends on the class indices {sorted(map(str, indices))}")
    return next(iter(indices), None)


def _operands(expr: sp.Expr) -> tuple[sp.Expr, ...]:
    """The children whose values ``expr``'s operation takes: its summand for a class reduction, its entry
    expressions for a class-axis primitive, else its non-numeric arguments other than class indices (for an
    opaque node: its leaves)."""
    if _opaque(expr):
        entries = expr.atoms(sp.Indexed)
        labels = {e.base.label for e in entries}
        return tuple(sorted(entries | (expr.free_symbols - labels - _bound(expr)), key=str))
    if isinstance(expr, sp.Sum | ClassMax):
        return (expr.function,)
    if isinstance(expr, ClassAxisPrimitive | SumOthers | OtherClassesSum):  # the rest: indices, the class count
        return expr.args[:2] if isinstance(expr, OtherClassesSum) else expr.args[:1]
    bound = _bound(expr)
    return tuple(a for a in expr.args if isinstance(a, sp.Expr) and not a.is_number and a not in bound)


def _bound(expr: sp.Expr) -> set[sp.Basic]:
    """The class index symbols of ``expr`` (entries' indices, reductions' and primitives' indices)."""
    found: set[sp.Basic] = set()
    for e in sp.preorder_traversal(expr):
        if isinstance(e, sp.Indexed):
            found.update(e.indices)
        elif isinstance(e, sp.Sum | ClassMax):
            found.add(e.limits[0][0])
        elif isinstance(e, ClassAxisPrimitive | SumOthers):
            found.add(e.args[1])
        elif isinstance(e, OtherClassesSum):
            found.update((e.args[2], e.args[4]))
    return found


def _node(expr: sp.Expr, count: Mapping[sp.Symbol, sp.Integer]) -> _Node:
    children = _operands(expr)
    placeholders: list[sp.Basic] = []
    replace: dict[sp.Expr, sp.Expr] = {}
    for n, child in enumerate(children):
        index = _index(child)
        if index is None:
            placeholders.append(sp.Dummy(f"c{n}"))
            replace[child] = placeholders[-1]
        else:
            placeholders.append(sp.IndexedBase(f"_v{n}"))
            replace[child] = placeholders[-1][index]
    if _opaque(expr):  # the class count first: inside, it may be a primitive's argument, not a leaf
        template = expr.xreplace(count).xreplace(replace)
    elif isinstance(expr, sp.Sum | ClassMax):
        template = expr.func(replace[expr.function], *expr.limits).xreplace(count)
    else:
        template = expr.func(*(replace.get(a, a) for a in expr.args)).xreplace(count)
    helpers = {"np": np, **{k: v for k, v in vars(numerics()).items() if k.startswith("_")}}
    floating = sp.lambdify(placeholders, share_softmax_parts(template), modules=[helpers],
                           printer=_OperationPrinter())
    floating.__globals__.update(helpers)  # lambdify binds the helper names of FromParts as symbols
    scalars = frozenset(p for p in placeholders if isinstance(p, sp.Dummy))
    index = _index(expr)
    exact = IntervalExpression(_textbook_where_unsupported(template), index, scalars)
    return _Node(expr, children, exact, tuple(placeholders), index, floating)


def _textbook_where_unsupported(expr: sp.Expr) -> sp.Expr:
    """``expr`` with each primitive that has no interval implementation as its textbook expression (the
    same exact value: the rule that introduced it proved so)."""
    def unsupported(e: sp.Basic) -> bool:
        return isinstance(e, Primitive) and type(e) not in SUPPORTED_PRIMITIVES

    while any(unsupported(e) for e in sp.preorder_traversal(expr)):
        expr = expr.replace(unsupported, lambda e: e.textbook())
    return expr


def _nodes(expr: sp.Expr, count: Mapping[sp.Symbol, sp.Integer]) -> list[_Node]:
    """Every distinct non-leaf subexpression that can be measured, children before parents, each operation
    at the class count ``count`` (the class-count symbol → its value; empty for an elementwise loss).  A
    subexpression depending on two class indices cannot, nor one the interval evaluator refuses, nor any
    expression containing one."""
    built: dict[sp.Expr, _Node | None] = {}

    def visit(e: sp.Expr) -> bool:
        if e in built:
            return built[e] is not None
        if _leaf(e) or e.is_number:
            return True
        measurable = len(_free_indices(e)) <= 1
        if not _opaque(e):
            measurable = all([visit(child) for child in _operands(e)]) and measurable
        try:
            built[e] = _node(e, count) if measurable else None
        except NoIntervalFormError:
            built[e] = None
        return built[e] is not None

    visit(expr)
    return [node for node in built.values() if node is not None]


Values = Mapping[sp.Basic, float | Sequence[float]]  # a point: scalar symbol → value, class vector → its entries


def _leaf_values(leaf: sp.Expr, env: Values) -> float | Sequence[float]:
    return env[leaf.base] if isinstance(leaf, sp.Indexed) else env[leaf]


def _exact(nodes: Sequence[_Node], leaves: Sequence[sp.Expr], env: Values, width: int) -> dict[sp.Expr, np.ndarray]:
    """Each node's exact value correctly rounded (NaN where unresolved or on a kink) at one point, one per
    class for a vector node (``width`` classes), at the first of the reference's precisions that resolves
    every node."""
    rounded: dict[sp.Expr, np.ndarray] = {}
    for digits in precisions(tuple(env.values())):
        with working_precision(digits):
            balls: dict[sp.Expr, object] = {}
            for leaf in leaves:
                value = _leaf_values(leaf, env)
                balls[leaf] = [None, *map(ball, value)] if isinstance(leaf, sp.Indexed) else ball(value)
            for node in nodes:
                result = _balls(node, balls, width) if all(c in balls for c in node.children) else None
                values = [None] * (1 if node.index is None else width) if result is None else map(resolved, result)
                rounded[node.expr] = np.array([math.nan if v is None else correctly_rounded(v) for v in values])
                if not np.isnan(rounded[node.expr]).any():
                    balls[node.expr] = result[0] if node.index is None else [None, *result]
        if not any(np.isnan(rounded[n.expr]).any() for n in nodes):
            break
    return rounded


def _balls(node: _Node, balls: Mapping[sp.Expr, object], width: int) -> list[object] | None:
    """The node's exact balls (one per class for a vector node) from its children's balls; None on a
    kink or where Arb refuses."""
    try:
        result, kink = node.exact.evaluate(dict(zip(node.placeholders, (balls[c] for c in node.children),
                                                    strict=True)), None if node.index is None else width)
    except (ValueError, ZeroDivisionError, ArithmeticError, TypeError):
        return None
    return None if kink else result


def bits(computed: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """log2(1 + the number of float64 values between ``computed`` and ``truth``); 64 for a NaN against
    a number, NaN where the truth is NaN (not measured)."""
    computed, truth = np.asarray(computed, dtype=np.float64), np.asarray(truth, dtype=np.float64)
    distance = np.array([float(abs(a - b)) for a, b in zip(_ordinal(computed.ravel()).tolist(),
                                                            _ordinal(truth.ravel()).tolist(), strict=True)])
    out = np.minimum(64.0, np.log2(1.0 + distance)).reshape(truth.shape)
    out = np.where(np.isnan(computed), 64.0, out)
    return np.where(np.isnan(truth), math.nan, out)


def _ordinal(x: np.ndarray) -> np.ndarray:
    """The position of each float64 on the number line of float64 values (±0 both 0, ±inf next to the
    largest floats), as int64: the difference of two is the number of floats between them."""
    integers = np.atleast_1d(np.where(np.isnan(x), 0.0, x)).view(np.int64)
    magnitude = integers & np.int64(0x7FFF_FFFF_FFFF_FFFF)
    return np.where(integers < 0, -magnitude, magnitude)


def _measure(expr: sp.Expr, envs: Sequence[Values], count: Mapping[sp.Symbol, sp.Integer]
             ) -> tuple[dict[sp.Expr, np.ndarray], np.ndarray]:
    """Per node, its local error in bits at each point, per class for a vector node (NaN: not measured);
    and the error of the whole expression evaluated node by node in float64, at each point its worst
    class's.  Every class vector of ``envs`` has the number of classes ``count`` gives."""
    nodes = _nodes(expr, count)
    leaves = sorted({c for n in nodes for c in n.children if _leaf(c)} | ({expr} if _leaf(expr) else set()), key=str)
    width = max((len(v) for v in envs[0].values() if isinstance(v, Sequence)), default=1)
    exact = [_exact(nodes, leaves, env, width) for env in envs]
    values = {leaf: np.array([_leaf_values(leaf, env) for env in envs], dtype=np.float64) for leaf in leaves}
    rounded = dict(values)
    local: dict[sp.Expr, np.ndarray] = {}
    with np.errstate(all="ignore"):
        for node in nodes:
            truth = np.array([e[node.expr] for e in exact], dtype=np.float64)
            truth = truth[:, 0] if node.index is None else truth
            rounded[node.expr] = truth
            local[node.expr] = bits(_apply(node, [rounded[c] for c in node.children], len(envs), width), truth)
            values[node.expr] = _apply(node, [values[c] for c in node.children], len(envs), width)
    if expr.is_number:  # a constant form: as exact as its rounding
        return local, np.zeros(len(envs))
    if expr not in values:  # not measurable
        return local, np.full(len(envs), math.nan)
    return local, _worst(bits(values[expr], rounded[expr]))


def _worst(errors: np.ndarray) -> np.ndarray:
    """Per point, the largest error over the classes of a vector (NaN only where none is measured)."""
    return errors if errors.ndim == 1 else np.fmax.reduce(errors, axis=1)


def _worst_classes(errors: np.ndarray) -> list[dict[str, int]]:
    """Per point, the class (1-based) of a vector's largest error, as shown with the point: {"class": k}
    ({} for a scalar or where no class is measured)."""
    if errors.ndim == 1:
        return [{}] * len(errors)
    return [{} if np.isnan(row).all() else {"class": int(np.nanargmax(row)) + 1} for row in errors]


def _apply(node: _Node, arguments: Sequence[np.ndarray], count: int, width: int) -> np.ndarray:
    """The node's float64 operation at every point (a row of classes per point for a vector node): on the
    arrays at once, class vectors as the kernel's rows (scalars then as columns), or point by point where
    a helper takes a scalar (a parameter, as the kernel passes it)."""
    rows = node.index is not None or any(a.ndim == 2 for a in arguments)
    shape = (count, width) if node.index is not None else (count, 1) if rows else (count,)
    try:
        out = node.floating(*(a[:, None] if rows and a.ndim == 1 else a for a in arguments))
        result = np.broadcast_to(np.asarray(out, dtype=np.float64), shape)
    except (ValueError, TypeError):
        result = np.array([np.broadcast_to(np.asarray(node.floating(*(a[i: i + 1] if a.ndim == 2 else np.float64(a[i])
                                                                        for a in arguments)), dtype=np.float64),
                                           shape[1:]) for i in range(count)])
    return result[:, 0].copy() if rows and node.index is None else result.copy()


def localize_expression(expr: sp.Expr, envs: Sequence[Mapping[sp.Symbol, float]], function: str = "") -> Localization:
    """The local errors of ``expr``'s subexpressions at the points ``envs`` (symbol → float64 value)."""
    return _summary(function, [(expr, envs, [{s.name: v for s, v in env.items()} for env in envs], {})])


_Group = tuple[sp.Expr, Sequence[Values], Sequence[Mapping[str, object]], Mapping[sp.Symbol, sp.Integer]]


def _summary(function: str, groups: Sequence[_Group]) -> Localization:
    """One localization of the expressions of ``groups``: a branch each, with its points (symbol → value)
    and the same points as shown (variable name → value, None for an option given as None), and its class
    count (symbol → value, empty for an elementwise loss)."""
    per_node: dict[sp.Expr, list[tuple[float, Mapping[str, object]]]] = {}
    worst_total, measured = 0.0, 0
    for expr, envs, shown, count in groups:
        if not envs:
            continue
        local, total = _measure(expr, envs, count)
        finite = total[~np.isnan(total)]
        measured += len(finite)
        worst_total = max(worst_total, float(finite.max(initial=0.0)))
        for node, errors in local.items():
            per_node.setdefault(node, []).extend(
                (float(b), {**point, **worst}) for b, point, worst in zip(_worst(errors), shown, _worst_classes(errors),
                                                                         strict=True) if not math.isnan(b))
    nodes = [_node_error(node, found) for node, found in per_node.items() if found]
    nodes.sort(key=lambda n: (-n.max_bits, -n.mean_bits, n.text))
    return Localization(function, worst_total, measured, tuple(nodes))


def shown(value: object, entries: int = SHOWN_ENTRIES) -> str:
    """A worst point's value as the table prints it: a class vector of more than ``entries`` classes as its
    first ones and its length."""
    if isinstance(value, tuple) and len(value) > entries:
        return f"({', '.join(map(repr, value[:entries]))}, … {len(value)} classes)"
    return repr(value)


def _node_error(expr: sp.Expr, found: Sequence[tuple[float, Mapping[str, object]]]) -> NodeError:
    errors = [b for b, _ in found]
    worst = max(range(len(found)), key=errors.__getitem__)
    text = sp.sstr(expr)
    if len(text) > SHOWN_CHARACTERS:
        text = text[: SHOWN_CHARACTERS - 1] + "…"
    return NodeError(text, max(errors), sum(errors) / len(errors), sum(b > LOSING_BITS for b in errors),
                     len(errors), found[worst][1])


def localize(derivation: Derivation, *, dense: int = DENSE_POINTS,
             rules: Sequence[ProvedRule] | None = None) -> tuple[Localization, ...]:
    """The localization of a loss's kernel functions (value, gradient, Hessian) at its certification
    points (``dense`` random ones on top of the deterministic grid): each stable form per label branch
    and per switched option, at the points of that branch."""
    loss = derivation.loss
    rules = proved_rules() if rules is None else rules
    groups: dict[tuple[tuple[Switch, ...], int | None], list[Point]] = {}
    for point in stress_points(loss, dense=dense):
        groups.setdefault((_switched(loss, point), _classes(loss, point)), []).append(point)
    per_function: dict[str, list[_Group]] = {f: [] for f in FUNCTIONS}
    names = [v.name for v in _arguments(loss)]
    for (switches, size), points in groups.items():
        count = {} if size is None else {loss.classes.symbol: sp.Integer(size)}
        for function, form in zip(FUNCTIONS, forms_of(derivation, rules, switches), strict=True):
            for branch in form.branches:
                chosen = [p for p in points if branch.label is None or float(p[1]) == float(branch.label)]
                per_function[function].append((branch.expr, [_env(loss, p) for p in chosen],
                                               [dict(zip(names, p, strict=True)) for p in chosen], count))
    return tuple(_summary(f, per_function[f]) for f in FUNCTIONS)


def _arguments(loss: Loss) -> tuple[Var, ...]:
    """The variables of a point, in order: output, target, inputs, hyper-parameters."""
    return (loss.output, loss.target, *loss.inputs, *loss.params)


def _classes(loss: Loss, point: Point) -> int | None:
    """The class count of a class-vector loss's point (None for an elementwise loss)."""
    return len(point[0]) if is_class_vector(loss) else None


def _switched(loss: Loss, point: Point) -> tuple[Switch, ...]:
    """The switches the kernel takes at ``point``: options given as None, options at a default of 0."""
    values = dict(zip((v.name for v in _arguments(loss)), point, strict=True))
    return tuple(s for s in switches_of(loss)
                 if values[s.param.name] is None or (s.value == 0 and values[s.param.name] == 0))


def _env(loss: Loss, point: Point) -> dict[sp.Basic, float | tuple[float, ...]]:
    """The point's values by symbol (a class vector's by its base, the class count's too)."""
    size = _classes(loss, point)
    return {**({} if size is None else {loss.classes.symbol: float(size)}),
            **{v.symbol: tuple(map(float, x)) if v.is_vector else float(x)
               for v, x in zip(_arguments(loss), point, strict=True) if x is not None}}
