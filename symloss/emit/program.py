"""Expressions as straight-line NumPy programs that write into reused scratch buffers.

A kernel evaluates its formulas block by block (see ``_blockwise`` in the
generated ``_numerics`` module).  Printed as ordinary NumPy expressions, every
operation of every block allocates a fresh temporary, and the allocator's
trips to the operating system (page faults on memory it has just returned)
cost more than the arithmetic.  This module prints the same expressions as a
sequence of single NumPy calls, each writing into a preallocated buffer
(``out=``)::

    u0 = np.abs(z, out=entries[0])
    u1 = np.negative(u0, out=entries[0])
    u2 = np.exp(u1, out=entries[0])

Buffers are assigned by liveness: a buffer is reused as soon as the value it
holds is read for the last time (in place for elementwise ufuncs, never for
a helper that reads its arguments after writing).  There are two pools: one
for *entries* (the shape of the first argument) and, for class-vector
kernels, one for *samples* (that shape with a class axis of length 1).

Nodes the program does not know how to write into a buffer are printed as
one NumPy expression by the kernel printer (a fresh array, as before), so
every expression the printer reads can be run.

Printed for people, a program says what it computes: each block (the steps of
one common subexpression or result) is headed by a comment with its formula,
and a temporary whose value the :class:`Naming` can name (``e_neg_abs_z`` for
:math:`e^{-|z|}`) is called that; the others are ``u0``, ``u1`` … in order.
Names and comments are chosen after the steps are built and buffers assigned,
so they change no operation: the program with names is the program with
``u``/``t`` names up to a consistent renaming.
"""

from __future__ import annotations

import builtins
import keyword
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import sympy as sp
from sympy.printing.numpy import NumPyPrinter

from symloss.stabilize.primitives import expm1, log1p

SCALAR, SAMPLE, ENTRY = 0, 1, 2  # value kinds, ordered: an operation's kind is the largest of its operands'
POOLS = {SAMPLE: "samples", ENTRY: "entries"}
UFUNCS: Mapping[type, str] = {
    sp.exp: "np.exp", sp.log: "np.log", log1p: "np.log1p", expm1: "np.expm1", sp.Abs: "np.abs",
    sp.sign: "np.sign", sp.tanh: "np.tanh", sp.cosh: "np.cosh", sp.sinh: "np.sinh",
}


class LabelSelect(sp.Function):
    """``choices[i]`` where ``label == values[i]``: the label's own value of a quantity given per
    label value (``LabelSelect(y, (0, 1), (1, -1))`` is +1 where y = 0 and -1 where y = 1)."""

    nargs = 3
    is_extended_real = True  # it selects among real values (so that Max, Min and Heaviside accept it)


@dataclass(frozen=True)
class Value:
    """A computed value: the code that names it, its kind, and the virtual buffers holding it."""

    text: str
    kind: int
    registers: tuple[int, ...] = ()


class Naming:
    """How a program's temporaries are named and its blocks described; this base names none (every
    temporary ``u…``) and describes a block by SymPy's plain-text formula.

    ``names`` maps each symbol of an expression (an argument, a bound common subexpression) to the
    name it has in the printed code."""

    def name(self, expr: sp.Basic, names: Mapping[sp.Basic, str]) -> str | None:
        """A short identifier for the value of ``expr``, or None (then a ``u…`` name)."""
        return None

    def describe(self, expr: sp.Basic, names: Mapping[sp.Basic, str]) -> str:
        """The formula of ``expr`` in plain text, in the code's names."""
        return sp.sstr(expr.xreplace({s: sp.Symbol(n) for s, n in names.items() if isinstance(s, sp.Symbol)}))


COMMENT_WIDTH = 100  # characters of a block's comment after its indentation (lines stay within 120)
_GENERATED = re.compile(r"\b[tu]\d+\b")  # the names the program gives: common subexpressions t…, temporaries u…


@dataclass
class _Step:
    """One line: ``name = call`` with ``{0}``, ``{1}`` … in ``call`` standing for the output buffers."""

    name: str
    call: str
    outputs: tuple[int, ...]  # virtual registers written
    reads: tuple[int, ...]  # virtual registers read
    in_place: bool  # whether an output may share a buffer with a register read by this step
    expr: sp.Basic | None = None  # the value it computes, where one expression is (not a partial sum)


@dataclass(frozen=True)
class _Block:
    """The steps from ``start`` on compute ``symbol`` = ``expr`` (a common subexpression or a result)."""

    start: int
    symbol: sp.Symbol
    expr: sp.Expr


@dataclass
class Program:
    """A straight-line program being built: steps over virtual registers, then buffers assigned."""

    printer: NumPyPrinter
    kinds: dict[sp.Basic, int]  # array symbols (and IndexedBases) → their kind
    handlers: Mapping[type, Callable[[Program, sp.Expr, int], Value]] = field(default_factory=dict)
    per_sample: Callable[[sp.Basic], bool] = lambda expr: False
    naming: Naming = field(default_factory=Naming)
    reserved: frozenset[str] = frozenset()  # names a temporary must not take (arguments, np, helpers …)
    steps: list[_Step] = field(default_factory=list)
    blocks: list[_Block] = field(default_factory=list)
    register_kinds: list[int] = field(default_factory=list)
    memo: dict[sp.Basic, Value] = field(default_factory=dict)
    counter: int = 0

    # ------------------------------------------------------------------ building

    def kind_of(self, expr: sp.Basic) -> int:
        """SCALAR, SAMPLE or ENTRY: the shape class of ``expr``'s value."""
        if isinstance(expr, sp.Indexed):
            return self.kinds.get(expr.base, ENTRY)
        if expr in self.kinds:
            return self.kinds[expr]
        if isinstance(expr, sp.Sum) or self.per_sample(expr):
            return SAMPLE if max((self.kind_of(a) for a in expr.args), default=SCALAR) > SCALAR else SCALAR
        return max((self.kind_of(a) for a in expr.args if isinstance(a, sp.Basic)), default=SCALAR)

    def _register(self, kind: int) -> int:
        self.register_kinds.append(kind)
        return len(self.register_kinds) - 1

    def _name(self) -> str:
        self.counter += 1
        return f"u{self.counter - 1}"

    def call(self, template: str, operands: Sequence[Value], kind: int, *, in_place: bool = True,
             outputs: int = 1, name: str | None = None) -> Value:
        """A step calling ``template`` (operands as ``{a0}``, ``{a1}`` …, outputs as ``{0}`` …)."""
        registers = tuple(self._register(kind) for _ in range(outputs))
        text = template.format(*[f"{{{i}}}" for i in range(outputs)],
                               **{f"a{i}": v.text for i, v in enumerate(operands)})
        name = name or self._name()
        reads = tuple(r for v in operands for r in v.registers)
        self.steps.append(_Step(name, text, registers, reads, in_place))
        return Value(name, kind, registers)

    def bind(self, symbol: sp.Symbol, name: str, value: Value) -> Value:
        """``value`` under ``name``, and ``symbol`` (a common subexpression, a result) standing for it."""
        last = self.steps[-1] if self.steps else None
        if last is not None and last.name == value.text:
            last.name = name  # the step that has just computed it, renamed: nothing has read it yet
            for expr, known in list(self.memo.items()):
                if known.text == value.text:
                    self.memo[expr] = Value(name, known.kind, known.registers)
        else:
            text = value.text[1:-1] if value.kind == SCALAR and value.text.startswith("(") else value.text
            self.steps.append(_Step(name, text, (), value.registers, True))
        bound = Value(name, value.kind, value.registers)
        self.kinds[symbol] = value.kind
        self.memo[symbol] = bound
        return bound

    def define(self, symbol: sp.Symbol, name: str, expr: sp.Expr) -> Value:
        """``expr`` computed as one block, bound to ``name`` (see :meth:`bind`)."""
        start = len(self.steps)
        bound = self.bind(symbol, name, self.emit(expr))
        self.blocks.append(_Block(min(start, len(self.steps) - 1), symbol, expr))
        return bound

    def emit(self, expr: sp.Expr) -> Value:
        """The value of ``expr``, computed by steps appended to the program."""
        if expr in self.memo:
            return self.memo[expr]
        value = self._emit(expr)
        last = self.steps[-1] if self.steps else None
        if last is not None and last.name == value.text and last.expr is None:
            last.expr = expr  # the step that computes it: its name may come from the expression
        self.memo[expr] = value
        return value

    def _scalar(self, expr: sp.Expr) -> Value:
        text = self.printer.doprint(expr)
        atomic = expr.is_Atom or isinstance(expr, sp.Function) or text.isidentifier()
        return Value(text if atomic else f"({text})", SCALAR)

    def _emit(self, expr: sp.Expr) -> Value:
        kind = self.kind_of(expr)
        if kind == SCALAR:
            return self._scalar(expr)
        if isinstance(expr, (sp.Symbol, sp.Indexed)):  # an argument (common subexpressions are in the memo)
            return Value(self.printer.doprint(expr), kind)
        handler = self._handlers().get(type(expr)) or next(
            (h for t, h in self._handlers().items() if isinstance(expr, t)), None)
        if handler is None:  # printed as one expression: a fresh array, no buffer
            reads = tuple(r for s in expr.free_symbols if s in self.memo for r in self.memo[s].registers)
            name = self._name()
            self.steps.append(_Step(name, self.printer.doprint(expr), (), reads, True))
            return Value(name, kind)
        return handler(expr, kind)

    def _handlers(self) -> Mapping[type, Callable[[sp.Expr, int], Value]]:
        extra = {t: (lambda e, k, h=h: h(self, e, k)) for t, h in self.handlers.items()}
        return {**extra, sp.Add: self._add, sp.Mul: self._mul, sp.Pow: self._pow, sp.Max: self._extremum,
                sp.Min: self._extremum, sp.Heaviside: self._heaviside, sp.Sum: self._reduction,
                LabelSelect: self._label_select, **{f: self._ufunc for f in UFUNCS}}

    def _add(self, expr: sp.Add, kind: int) -> Value:
        scalars = [a for a in expr.args if self.kind_of(a) == SCALAR]
        arrays = [a for a in expr.args if self.kind_of(a) != SCALAR]
        negated = [a.could_extract_minus_sign() and isinstance(a, sp.Mul) for a in arrays]
        order = sorted(range(len(arrays)), key=lambda i: negated[i])  # a positive term first
        total = self.emit(-arrays[order[0]] if negated[order[0]] else arrays[order[0]])
        if negated[order[0]]:
            total = self.call("np.negative({a0}, out={0})", [total], kind)
        for i in order[1:]:
            term = self.emit(-arrays[i] if negated[i] else arrays[i])
            ufunc = "np.subtract" if negated[i] else "np.add"
            total = self.call(ufunc + "({a0}, {a1}, out={0})", [total, term], kind)
        if scalars:
            total = self.call("np.add({a0}, {a1}, out={0})", [total, self._scalar(sp.Add(*scalars))], kind)
        return total

    def _mul(self, expr: sp.Mul, kind: int) -> Value:
        scalars = [a for a in expr.args if self.kind_of(a) == SCALAR and not divisions(a)]
        arrays = [a for a in expr.args if self.kind_of(a) != SCALAR]
        numerators = [a for a in arrays if not _reciprocal(a)]
        # a reciprocal factor is a divisor, and a parameter's power t^-n is n divisions: x/t rounds once
        # and stays finite where 1/t overflows (t = 2^-1074) and x·(1/t) would be 0·inf
        denominators = [1 / a for a in arrays if _reciprocal(a)] + [
            a.base for a in expr.args if self.kind_of(a) == SCALAR for _ in range(divisions(a))]
        coefficient = sp.Mul(*scalars)
        if numerators:
            product = self.emit(numerators[0])
            for factor in numerators[1:]:
                product = self.call("np.multiply({a0}, {a1}, out={0})", [product, self.emit(factor)], kind)
        else:
            product = self.call("np.divide({a0}, {a1}, out={0})",
                                [self._scalar(coefficient), self.emit(denominators.pop(0))], kind)
            coefficient = sp.S.One
        for divisor in denominators:
            product = self.call("np.divide({a0}, {a1}, out={0})", [product, self.emit(divisor)], kind)
        if coefficient == -1:
            return self.call("np.negative({a0}, out={0})", [product], kind)
        if coefficient != 1:
            return self.call("np.multiply({a0}, {a1}, out={0})", [product, self._scalar(coefficient)], kind)
        return product

    def _pow(self, expr: sp.Pow, kind: int) -> Value:
        base, exponent = expr.args
        if self.kind_of(exponent) != SCALAR:
            return self.call("np.power({a0}, {a1}, out={0})", [self.emit(base), self.emit(exponent)], kind)
        if exponent == 2:
            return self.call("np.square({a0}, out={0})", [self.emit(base)], kind)
        if exponent == sp.S.Half:
            return self.call("np.sqrt({a0}, out={0})", [self.emit(base)], kind)
        if exponent == -1:
            return self.call("np.divide(1.0, {a0}, out={0})", [self.emit(base)], kind)
        return self.call("np.power({a0}, {a1}, out={0})", [self.emit(base), self._scalar(exponent)], kind)

    def _ufunc(self, expr: sp.Function, kind: int) -> Value:
        return self.call(UFUNCS[type(expr)] + "({a0}, out={0})", [self.emit(expr.args[0])], kind)

    def _extremum(self, expr: sp.Expr, kind: int) -> Value:
        ufunc = "np.maximum" if isinstance(expr, sp.Max) else "np.minimum"
        arrays = [a for a in expr.args if self.kind_of(a) != SCALAR]
        scalars = [a for a in expr.args if self.kind_of(a) == SCALAR]
        value = self.emit(arrays[0])
        for other in [*(self.emit(a) for a in arrays[1:]), *(self._scalar(a) for a in scalars)]:
            value = self.call(ufunc + "({a0}, {a1}, out={0})", [value, other], kind)
        return value

    def _heaviside(self, expr: sp.Heaviside, kind: int) -> Value:
        at_zero = self._scalar(sp.Float(expr.args[1] if len(expr.args) > 1 else sp.S.Half))
        return self.call("np.heaviside({a0}, {a1}, out={0})", [self.emit(expr.args[0]), at_zero], kind)

    def _reduction(self, expr: sp.Sum, kind: int) -> Value:
        return self.call("np.sum({a0}, axis=-1, keepdims=True, out={0})", [self.emit(expr.function)], SAMPLE)

    def _label_select(self, expr: LabelSelect, kind: int) -> Value:
        label, values, choices = expr.args
        operands = [self.emit(label), *(self.emit(c) for c in choices)]
        listed = ", ".join(f"{{a{i + 1}}}" for i in range(len(choices)))
        kind = max(kind, self.kind_of(label))
        value = self.call(f"_by_label({{a0}}, {self.printer.doprint(values)}, ({listed}), out={{0}}, work={{1}})",
                          operands, kind, in_place=False, outputs=2)
        return Value(value.text, kind, value.registers[:1])

    def helper(self, name: str, operands: Sequence[Value], kind: int, *, outputs: int = 1, work: int = 0) -> Value:
        """A call of a numerics helper that writes its result(s) into the given buffers, using ``work``
        further buffers as scratch (free again once the call returns)."""
        args = ", ".join(f"{{a{i}}}" for i in range(len(operands)))
        outs = ", ".join(f"{{{i}}}" for i in range(outputs))
        works = ", ".join(f"{{{outputs + i}}}" for i in range(work))
        text = f"{name}({args}, out={'(' + outs + ')' if outputs > 1 else outs}"
        text += (f", work={'(' + works + ')' if work > 1 else works})" if work else ")")
        value = self.call(text, operands, kind, in_place=False, outputs=outputs + work)
        return Value(value.text, kind, value.registers[:outputs])

    # ------------------------------------------------------------------ buffers

    def lines(self, results: Sequence[Value], *, named: bool = True) -> tuple[list[str], Mapping[int, int]]:
        """The program's lines with buffers assigned, and the number of buffers of each kind;
        ``named``: with the temporaries named and the blocks' formulas as comments (:meth:`_named`),
        else every temporary ``u…`` and no comment.

        A register's buffer is free after the last step that reads it (results stay live to the
        end); a step may write into a buffer freed by its own reads only when it is in place."""
        last_read: dict[int, int] = {}
        for position, step in enumerate(self.steps):
            for r in step.reads:
                last_read[r] = position
        for value in results:
            for r in value.registers:
                last_read[r] = len(self.steps)
        free: dict[int, list[int]] = {SAMPLE: [], ENTRY: []}
        count = {SAMPLE: 0, ENTRY: 0}
        buffer: dict[int, int] = {}
        lines = []
        for position, step in enumerate(self.steps):
            released = [r for r in dict.fromkeys(step.reads) if last_read.get(r) == position]
            if step.in_place:
                _release(released, buffer, self.register_kinds, free)
            for r in step.outputs:
                kind = self.register_kinds[r]
                if free[kind]:
                    buffer[r] = free[kind].pop()
                else:
                    buffer[r] = count[kind]
                    count[kind] += 1
            if not step.in_place:
                _release(released, buffer, self.register_kinds, free)
            for r in step.outputs:
                if r not in last_read:  # written, never read: free at once
                    _release([r], buffer, self.register_kinds, free)
            buffers = [f"{POOLS[self.register_kinds[r]]}[{buffer[r]}]" for r in step.outputs]
            lines.append(f"{step.name} = {step.call.format(*buffers)}")
        counts = {kind: n for kind, n in count.items() if n}
        return (self._named(lines) if named else _renumbered(lines)), counts

    def _named(self, lines: Sequence[str]) -> list[str]:
        """``lines`` (one per step) with each generated name ``t…``/``u…`` replaced by the name of its
        step's expression where :attr:`naming` gives a free one (else ``t…``/``u…`` numbered in order),
        and a comment with each block's formula before its first step."""
        renamed: dict[str, str] = {}
        taken = set(self.reserved) | {s.name for s in self.steps if not _GENERATED.fullmatch(s.name)}
        counters = {"t": 0, "u": 0}

        definitions = {b.symbol: b.expr for b in self.blocks}

        def symbols(expr: sp.Basic) -> dict[sp.Basic, str]:
            """The code's name of each symbol (and indexed array) of ``expr`` and of the definitions of
            the common subexpressions it reads."""
            atoms = expr.atoms(sp.Symbol, sp.IndexedBase)
            names = {s: renamed.get(self.memo[s].text, self.memo[s].text) if s in self.memo
                     else self.printer.doprint(s) for s in atoms}
            for s in atoms & definitions.keys():
                names.update(symbols(definitions[s]))
            return names

        for step in self.steps:
            if not _GENERATED.fullmatch(step.name) or step.name in renamed:
                continue
            expr = step.expr if step.expr is not None else definitions.get(sp.Symbol(step.name))
            name = self.naming.name(expr, symbols(expr)) if expr is not None else None
            if name is None or not _free(name, taken):
                kind = step.name[0]
                name = f"{kind}{counters[kind]}"
                counters[kind] += 1
            taken.add(name)
            renamed[step.name] = name
        comments = {b.start: b for b in self.blocks}
        out = []
        for position, line in enumerate(lines):
            if position in comments:
                block = comments[position]
                name = self.memo[block.symbol].text
                formula = self.naming.describe(block.expr, symbols(block.expr))
                out.append(f"# {_cut(f'{renamed.get(name, name)} = {formula}')}")
            out.append(_GENERATED.sub(lambda m: renamed.get(m.group(0), m.group(0)), line))
        return out


def _release(registers: Sequence[int], buffer: Mapping[int, int], kinds: Sequence[int],
             free: dict[int, list[int]]) -> None:
    for r in registers:
        if r in buffer and buffer[r] not in free[kinds[r]]:
            free[kinds[r]].append(buffer[r])
            free[kinds[r]].sort(reverse=True)  # the lowest-numbered free buffer first: stable, readable


def _free(name: str, taken: set[str]) -> bool:
    """Whether ``name`` may name a temporary: an identifier no generated name, keyword, builtin or
    name already taken could be confused with."""
    return (name.isidentifier() and not name.startswith("_") and not _GENERATED.fullmatch(name)
            and not keyword.iskeyword(name) and not hasattr(builtins, name) and name not in taken)


def _cut(text: str, width: int = COMMENT_WIDTH) -> str:
    """``text`` within ``width`` characters: if longer, cut after the last operator or comma that fits
    and marked by "..."."""
    if len(text) <= width:
        return text
    head = text[:width - 4]
    cut = max(head.rfind(" "), head.rfind(","), head.rfind("*"))
    return (head[:cut + 1] if cut > width // 2 else head).rstrip() + " ..."


def _renumbered(lines: Sequence[str]) -> list[str]:
    """The intermediate names ``u…`` numbered in order of appearance (some were renamed away)."""
    order: dict[str, str] = {}
    for line in lines:
        for name in re.findall(r"\bu\d+\b", line):
            order.setdefault(name, f"u{len(order)}")
    return [re.sub(r"\bu\d+\b", lambda m: order[m.group(0)], line) for line in lines]


def divisions(expr: sp.Expr) -> int:
    """n for a parameter's negative integer power :math:`t^{-n}` (printed as n divisions by t), else 0."""
    if isinstance(expr, sp.Pow) and isinstance(expr.base, sp.Symbol) and expr.exp.is_Integer and expr.exp < 0:
        return int(-expr.exp)
    return 0


def _reciprocal(expr: sp.Expr) -> bool:
    """Whether ``expr`` is 1/b for an expression b (not a number: a number's reciprocal is a constant)."""
    return isinstance(expr, sp.Pow) and expr.exp == -1 and not expr.base.is_number
