r"""The regimes of a stable form: each Piecewise in it, the conditions of its branches in the order they
are tested (the last branch, condition True, the default) and where it came from — the loss's own
definition (Huber's :math:`|r| \le \delta`) or a stability rule (``log1p_of_huge_square``'s
:math:`r^2 k > 10^{300}`).

The origin is read from the engine's record of each rule application
(:class:`~symloss.stabilize.engine.Stabilized`), not from names: a Piecewise already in the expression the
engine was given is the definition's; one whose conditions first appear in an application is that rule's.
A rule that only rewrites inside the conditions of an existing Piecewise (``log(1 + x)`` there becoming
``log1p(x)``) keeps that Piecewise's origin: the one Piecewise whose conditions disappeared in the same
application, with as many branches, is the one it rewrote.

The primitives of a stable form switch formulas too, inside their NumPy helpers (``sech2`` at
:math:`|a| < 5/8`): :func:`primitive_regimes` lists those of each primitive the form uses, from the data
each primitive class carries (:attr:`~symloss.stabilize.primitives.Primitive.regimes`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import sympy as sp

from symloss.declare.latex import tex
from symloss.stabilize.engine import Stabilized
from symloss.stabilize.primitives import Primitive, expand_primitives

Conditions = tuple[sp.Basic, ...]  # of each branch but the default, in the order they are tested
DEFAULT = "otherwise (default)"  # the last branch, taken wherever no condition before it holds


@dataclass(frozen=True)
class Regimes:
    """The branches of one Piecewise: the rule that made it (None: the loss's definition) and the
    condition of each branch but the last, which is taken wherever none of them holds."""

    rule: str | None
    conditions: Conditions

    @property
    def origin(self) -> str:
        """Plain text: "rule NAME" or "definition"."""
        return "definition" if self.rule is None else f"rule {self.rule}"

    def text(self) -> tuple[str, ...]:
        """The condition of each branch in plain text, in the order they are tested, the default last:
        ("(x - y)**2 > 1.0e+300", "otherwise (default)")."""
        return (*(_text(c) for c in self.conditions), DEFAULT)

    def latex(self, names: Mapping[sp.Basic, str] | None = None) -> tuple[str, ...]:
        """Each condition in LaTeX math with the loss's typeset names; the default branch is not one."""
        return tuple(tex(_readable(c), names) for c in self.conditions)


@dataclass(frozen=True)
class PrimitiveRegimes:
    """Where a primitive's helper switches formulas: ``call`` names its arguments ("sech2(a)"), ``meaning``
    is its textbook expression in those names ("" for one over the class axis, a sum), each regime is
    (condition, method) in plain text, in the order tested, the last "otherwise"."""

    call: str
    regimes: tuple[tuple[str, str], ...]
    meaning: str = ""

    @property
    def title(self) -> str:
        """The call and what it stands for: "sech2(a) = cosh(a)**(-2)"."""
        return f"{self.call} = {self.meaning}" if self.meaning else self.call

    def text(self) -> tuple[str, ...]:
        """Each regime as "condition: method", in the order tested."""
        return tuple(f"{condition}: {method}" for condition, method in self.regimes)


def primitive_regimes(expr: sp.Basic) -> tuple[PrimitiveRegimes, ...]:
    """The regimes of each primitive in ``expr`` whose helper switches, each primitive once, outermost first."""
    kinds = dict.fromkeys(type(e) for e in sp.preorder_traversal(expr) if isinstance(e, Primitive))
    return tuple(PrimitiveRegimes(kind.regime_call, kind.regimes, _meaning(kind)) for kind in kinds if kind.regimes)


def _meaning(kind: type[Primitive]) -> str:
    """The textbook expression of ``kind`` in the argument names of its ``regime_call`` ("" for a sum)."""
    names = kind.regime_call[kind.regime_call.index("(") + 1:-1].split(", ")
    textbook = kind(*sp.symbols(names, real=True)).textbook()
    return "" if textbook.has(sp.Sum) else sp.sstr(textbook)


def regimes_of(stabilized: Stabilized) -> tuple[Regimes, ...]:
    """The regimes of a stable form: one per distinct Piecewise (same origin and conditions counted
    once), in the order they occur in the expression."""
    start = stabilized.steps[0].before if stabilized.steps else stabilized.expr  # what the engine was given
    origin: dict[Conditions, str | None] = {conditions(p): None for p in _pieces(start)}
    for step in stabilized.steps:
        before, after = _pieces(step.before), _pieces(step.after)
        kept = {conditions(p) for p in after}
        rewritten = [p for p in before if p not in after and conditions(p) not in kept]
        for piece in after:
            key = conditions(piece)
            if key in origin:
                continue
            same = [p for p in rewritten if len(p.args) == len(piece.args)]
            origin[key] = origin.get(conditions(same[0]), step.rule) if len(same) == 1 else step.rule
    found = (Regimes(origin[conditions(p)], conditions(p)) for p in _pieces(stabilized.expr))
    return tuple(dict.fromkeys(found))


def merged(groups: Iterable[Iterable[Regimes]]) -> tuple[Regimes, ...]:
    """The regimes of several forms (the branches of a form, the functions of a kernel), each once, in order."""
    return tuple(dict.fromkeys(r for group in groups for r in group))


def conditions(piece: sp.Piecewise) -> Conditions:
    """The conditions of ``piece``'s branches, its final True (the default) left out."""
    return tuple(c for _, c in piece.args if c != sp.true)


def _pieces(expr: sp.Basic) -> list[sp.Piecewise]:
    """The Piecewise nodes of ``expr``, each once, outermost first (a deterministic order)."""
    return list(dict.fromkeys(e for e in sp.preorder_traversal(expr) if isinstance(e, sp.Piecewise)))


def _readable(condition: sp.Basic) -> sp.Basic:
    """A condition with the kernel's primitives as textbook math: ``square_of_sum(x, -y)`` as :math:`(x - y)^2`."""
    return expand_primitives(condition)


def _text(condition: sp.Basic, inner: bool = False) -> str:
    """A condition in plain text, "or" and "and" spelled out (an ``inner`` one in parentheses)."""
    if isinstance(condition, sp.Or | sp.And):
        word = " or " if isinstance(condition, sp.Or) else " and "
        text = word.join(_text(c, inner=True) for c in condition.args)
        return f"({text})" if inner else text
    return sp.sstr(_readable(condition))
