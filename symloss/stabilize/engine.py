"""The engine of the stability rules: a :class:`Rule` (a name, the claims that justify it, a rewrite),
a :class:`ProvedRule` (the rule with the prover's verdicts) and :func:`stabilize`, which applies only
proved rules, in order, until nothing changes; :func:`pattern` makes a rewrite of an identity that
matches by structure, never by algebra."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sympy as sp

from symloss.declare.loss import Claim
from symloss.prove.verdict import Verdict

Rewrite = Callable[[sp.Expr], sp.Expr]
MAX_PASSES = 8


@dataclass(frozen=True)
class Approximation:
    """What a truncated series promises in its regime: the bound as the kernel's docstring states it, and
    the proved bound on the relative error as a number (for the tests)."""

    bound: str
    relative_error: float


@dataclass(frozen=True)
class Rule:
    """One stability rewrite: its searchable name, the identity behind it, the rewrite itself.  An
    approximation (a truncated series used in an explicit regime) states its truncation bound in
    ``approximation``; its claims then prove the bound, not an equality of the rewrite."""

    name: str
    claims: tuple[Claim, ...]  # each must be proved before the rule may be applied
    rewrite: Rewrite  # one pass over an expression; returns it unchanged where nothing matches
    example: sp.Expr | None = None  # an expression the rewrite changes (default: the first claim's left side)
    approximation: Approximation | None = None  # for a truncated series: its bound; None for an identity

    @property
    def label(self) -> str:
        """The name, and for an approximation the words "approximation:" and its bound (the kernel's
        docstring and the report show this, so that an approximation is never read as an identity)."""
        return self.name if self.approximation is None else f"{self.name} (approximation: {self.approximation.bound})"

    @property
    def sample(self) -> sp.Expr:
        """An expression this rule rewrites, for its tests."""
        return self.claims[0].lhs if self.example is None else self.example


@dataclass(frozen=True)
class ProvedRule:
    """A rule with the verdicts of its claims."""

    rule: Rule
    verdicts: tuple[Verdict, ...]

    @property
    def proved(self) -> bool:
        """Every claim proved; a rule with no claim is never proved (it would be applied on no evidence)."""
        return bool(self.verdicts) and all(v.status == "proved" for v in self.verdicts)


@dataclass(frozen=True)
class Step:
    """One application of a rule: the expression before and after it."""

    rule: str
    before: sp.Expr
    after: sp.Expr


@dataclass(frozen=True)
class Stabilized:
    """An expression after the rewrites, the labels of the rules that changed it (in order; see
    :attr:`Rule.label`) and each application, in order (what :mod:`symloss.stabilize.regimes` reads the
    origin of a Piecewise from)."""

    expr: sp.Expr
    rules: tuple[str, ...]
    steps: tuple[Step, ...] = ()


def stabilize(expr: sp.Expr, rules: Sequence[ProvedRule]) -> Stabilized:
    """``expr`` with the proved rules applied, in order, until nothing changes.  A rewrite that only
    rebuilds ``expr`` unchanged is no application: rebuilding a node lets SymPy re-evaluate it
    (2·(ŷ − y) becomes 2ŷ − 2y), which is no rule's doing, so it is neither kept nor named."""
    applied: list[str] = []
    steps: list[Step] = []
    for _ in range(MAX_PASSES):
        before = expr
        for proved in rules:
            if not proved.proved:
                continue
            rewritten = proved.rule.rewrite(expr)
            if rewritten != expr and rewritten != rebuilt(expr):
                steps.append(Step(proved.rule.name, expr, rewritten))
                expr = rewritten
                if proved.rule.label not in applied:
                    applied.append(proved.rule.label)
        if expr == before:
            break
    return Stabilized(expr, tuple(applied), tuple(steps))


def rebuilt(expr: sp.Basic) -> sp.Basic:
    """``expr`` with every node rebuilt from its (rebuilt) arguments, as a rewrite that changes nothing
    leaves it: SymPy's evaluation on construction applied throughout."""
    if not expr.args or isinstance(expr, sp.Indexed | sp.IndexedBase):
        return expr
    return expr.func(*(rebuilt(a) for a in expr.args))


def terms_replaced(expr: sp.Expr,
                   find: Callable[[sp.Basic], tuple[Sequence[sp.Expr], sp.Expr] | None]) -> sp.Expr:
    """``expr`` with the terms ``find`` picks out of each sum (``find(sum)`` = (those terms, their replacement),
    or None) replaced by their replacement, the sum's other terms kept."""

    def rewrite(add: sp.Add) -> sp.Expr:
        terms, replacement = find(add)
        return replacement + sp.Add(*(term for term in add.args if term not in terms))

    return expr.replace(lambda e: find(e) is not None, rewrite)


# --------------------------------------------------------------------------- pattern rewrites


def pattern(lhs: sp.Expr, rhs: sp.Expr, symbols: Sequence[sp.Symbol]) -> Rewrite:
    """lhs → rhs with ``symbols`` as wildcards, matched by structure, never by algebra.

    SymPy's ``match`` would solve ``log(x) = log(1 + w)`` with ``w = x − 1``; here a
    sum on the left must meet a sum holding each of its constant terms literally,
    and its other terms are matched one by one (the sum may hold more terms, which
    are kept).
    """
    wilds = {s: sp.Wild(f"w_{s.name}") for s in symbols}
    query, value = lhs.xreplace(wilds), rhs.xreplace(wilds)

    def matches(expr: sp.Basic) -> dict | None:
        return structural_match(query, expr)

    def rewrite(expr: sp.Basic) -> sp.Basic:
        found = matches(expr)
        if found is None:
            return expr
        bindings, leftover = found
        return value.xreplace(bindings) + leftover

    return lambda expr: expr.replace(lambda e: matches(e) is not None, rewrite)


def structural_match(query: sp.Expr, expr: sp.Basic) -> tuple[dict, sp.Expr] | None:
    """(wild bindings, leftover terms of a larger sum) when ``expr`` has the shape of ``query``."""
    if isinstance(query, sp.Add):
        if not isinstance(expr, sp.Add):
            return None
        remaining = list(expr.args)
        bindings: dict = {}
        for term in query.args:
            for candidate in remaining:
                found = structural_match(term.xreplace(bindings), candidate)
                if found is not None and found[1] == 0:
                    bindings.update(found[0])
                    remaining.remove(candidate)
                    break
            else:
                return None
        return bindings, sp.Add(*remaining)
    if isinstance(query, sp.Wild):
        return {query: expr}, sp.S.Zero
    if not query.has(sp.Wild):
        return ({}, sp.S.Zero) if query == expr else None
    if type(query) is not type(expr) or len(query.args) != len(expr.args):
        return None
    if isinstance(query, sp.Mul):  # a product must match factor by factor; SymPy's match suffices there
        found = expr.match(query)
        return (found, sp.S.Zero) if found is not None and expr == query.xreplace(found) else None
    bindings = {}
    for q, e in zip(query.args, expr.args, strict=True):
        found = structural_match(q.xreplace(bindings), e)
        if found is None or found[1] != 0:
            return None
        bindings.update(found[0])
    return bindings, sp.S.Zero
