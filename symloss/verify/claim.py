"""Verify one claim of a user's: ``symloss verify "A <= B"``.

:func:`run_verify` reads a claim (plain text or LaTeX, under assumptions),
proves it, and returns a :class:`VerifyResult`: the verdict and the exit code
(0 proved, 1 refuted, 3 unknown, 2 input that cannot be read).
:func:`parse_claim` and :func:`parse_identity` read a claim for the audit too.

The whole command keeps to its time budget of ``timeout`` seconds (at most
:data:`MAX_TIMEOUT`): the claim is read in a child process that is killed when
the budget is spent (reading alone can take long: building
``max(x, x^2, ..., x^199)`` makes SymPy compare its arguments pairwise), and
the proof gets the rest.  A budget spent while reading gives the verdict
unknown, "timed out after S s while reading the claim".
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import TypeVar

import sympy as sp

from symloss.declare.catalog import Catalog
from symloss.declare.functions import to_elementary
from symloss.declare.loss import Claim, identity, inequality
from symloss.prove.budget import run_with_budget
from symloss.prove.prover import prove
from symloss.prove.verdict import Verdict
from symloss.verify.assume import implied_equalities, parse_assumptions
from symloss.verify.parse import ParseError, Statement, parse_many, relation_position, split_relation

EXIT_OK, EXIT_WRONG, EXIT_BAD_INPUT, EXIT_UNKNOWN = 0, 1, 2, 3
MAX_TIMEOUT = 3600.0  # most seconds a verify may take
_Read = TypeVar("_Read")


# --------------------------------------------------------------------------- claims from text


def evaluate_derivatives(expr: sp.Expr) -> sp.Expr:
    """Carry out every ``diff`` of a parsed formula on the elementary form
    (exp/log), so no derivative of a named function is taken on trust."""
    return expr.replace(
        lambda e: isinstance(e, sp.Derivative),
        lambda d: sp.diff(to_elementary(d.expr), *d.variable_count),
    )


@dataclass(frozen=True)
class ParsedClaim:
    """A user's claim ``lhs relation rhs``, parsed: both sides as written and the claim to prove."""

    lhs: sp.Expr
    rhs: sp.Expr
    claim: Claim
    relation: str = "="


def parse_identity(
    lhs: str, rhs: str, assumptions: Sequence[str] = (), *, latex: bool = False, catalog: Catalog | None = None
) -> ParsedClaim:
    """Read ``lhs = rhs`` under the assumptions; raises :class:`ParseError`."""
    return parse_claim(Statement(lhs, "=", rhs), assumptions, latex=latex, catalog=catalog)


def parse_claim(
    statement: Statement, assumptions: Sequence[str] = (), *, latex: bool = False, catalog: Catalog | None = None
) -> ParsedClaim:
    """Read ``lhs relation rhs`` under the assumptions: an identity for ``=``,
    an inequality for ``<=``, ``<``, ``>=``, ``>``; raises :class:`ParseError`."""
    declared = parse_assumptions(assumptions)
    parsed = parse_many([statement.lhs, statement.rhs], declared, catalog, latex=latex)
    left, right = parsed.exprs
    given = tuple(dict.fromkeys(parsed.given + implied_equalities(parsed.scope)))
    text = f"{statement.lhs} {statement.relation} {statement.rhs}"
    sides = evaluate_derivatives(left), evaluate_derivatives(right)
    if statement.relation == "=":
        claim = identity(text, *sides, scope=parsed.scope, given=given)
    else:
        claim = inequality(text, sides[0], statement.relation, sides[1], scope=parsed.scope, given=given)
    return ParsedClaim(left, right, claim, statement.relation)


# --------------------------------------------------------------------------- verify


_RELATIONALS: dict[str, type[sp.core.relational.Relational]] = {
    "=": sp.Eq, "<=": sp.Le, "<": sp.Lt, ">=": sp.Ge, ">": sp.Gt,
}  # fmt: skip


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of ``symloss verify``: the parsed claim and its verdict, or
    why the input could not be read."""

    lhs_text: str
    rhs_text: str
    assumptions: tuple[str, ...]
    lhs: sp.Expr | None = None
    rhs: sp.Expr | None = None
    verdict: Verdict | None = None
    error: str = ""
    relation: str = "="

    @property
    def exit_code(self) -> int:
        """0 proved, 1 refuted, 3 unknown, 2 bad input."""
        if self.verdict is None:
            return EXIT_BAD_INPUT
        return {"proved": EXIT_OK, "refuted": EXIT_WRONG}.get(self.verdict.status, EXIT_UNKNOWN)

    def to_text(self) -> str:
        """The claim pretty-printed with its relation, the verdict, its method or counterexample, the time."""
        if self.verdict is None:
            return f"symloss verify: {self.error}"
        verdict = self.verdict
        lines = [self._shown(), ""]
        if self.assumptions:
            lines.append(f"assuming:  {'; '.join(self.assumptions)}")
        lines.append(f"verdict:   {verdict.status}")
        lines.append(f"method:    {verdict.method}")
        if verdict.counterexample:
            point = ", ".join(f"{name} = {value}" for name, value in verdict.counterexample.items())
            lines.append(f"counterexample: {point}")
        if verdict.detail:
            lines.append(f"detail:    {verdict.detail}")
        if verdict.scope:
            lines.append(f"scope:     {verdict.scope}")
        lines.append(f"time:      {verdict.seconds:.2f} s")
        return "\n".join(lines)

    def _shown(self) -> str:
        """The claim pretty-printed; as typed when it was not read (the budget ran out first)."""
        if self.lhs is None or self.rhs is None:
            return f"{self.lhs_text} = {self.rhs_text}" if self.rhs_text else self.lhs_text
        return sp.pretty(_RELATIONALS[self.relation](self.lhs, self.rhs, evaluate=False), use_unicode=True)

    def to_json(self) -> dict[str, object]:
        """{"verdict", "method", "counterexample", "seconds", "lhs", "relation", "rhs"}
        (and "message" when the input could not be read); "lhs", "relation" and "rhs" are
        null when the claim was not read."""
        if self.verdict is None:
            return {
                "verdict": "error",
                "method": "",
                "counterexample": None,
                "seconds": 0.0,
                "lhs": None,
                "relation": None,
                "rhs": None,
                "message": self.error,
            }
        return {
            "verdict": self.verdict.status,
            "method": self.verdict.method,
            "counterexample": dict(self.verdict.counterexample) if self.verdict.counterexample else None,
            "seconds": round(self.verdict.seconds, 3),
            "lhs": None if self.lhs is None else str(self.lhs),
            "relation": None if self.lhs is None else self.relation,
            "rhs": None if self.rhs is None else str(self.rhs),
        }


def check_timeout(seconds: float) -> float:
    """``seconds`` as a float when it is a finite number in (0, MAX_TIMEOUT]; raises ValueError otherwise."""
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 < seconds <= MAX_TIMEOUT:
        raise ValueError(f"the timeout must be a number of seconds in (0, {MAX_TIMEOUT:g}], not {seconds!r}")
    return float(seconds)


def run_verify(
    lhs: str,
    rhs: str | None = None,
    assumptions: Sequence[str] = (),
    *,
    latex: bool = False,
    timeout: float = 20.0,
    catalog: Catalog | None = None,
) -> VerifyResult:
    """Parse ``lhs = rhs`` (plain text, or LaTeX) under the assumptions and prove it,
    all within ``timeout`` seconds (see the module docstring).

    With no ``rhs``, ``lhs`` is a whole statement ``A REL B`` (see
    :func:`~symloss.verify.parse.split_relation`); a side of a two-sided equality
    that holds a relation of its own is an error.  Raises ValueError unless
    ``timeout`` is a finite number of seconds in (0, MAX_TIMEOUT].
    """
    budget = check_timeout(timeout)
    stated = tuple(assumptions)
    read, seconds = read_within(partial(_read, lhs, rhs, stated, latex, catalog), budget)
    if isinstance(read, str):
        return VerifyResult(lhs, rhs or "", stated, error=read)
    if isinstance(read, Verdict):
        return VerifyResult(lhs, rhs or "", stated, verdict=read)
    statement, parsed = read
    verdict = prove(parsed.claim, budget=budget - seconds)
    return VerifyResult(statement.lhs, statement.rhs, stated, parsed.lhs, parsed.rhs,
                        replace(verdict, seconds=seconds + verdict.seconds), relation=statement.relation)


def read_within(read: Callable[[], _Read], budget: float) -> tuple[_Read | Verdict, float]:
    """Run ``read`` (reading a claim) in a child process killed after ``budget`` seconds; returns its
    result and the seconds taken.  The result is the verdict unknown when the child did not answer:
    "timed out after S s while reading the claim", or, had it stopped early, that it failed.  ``read``
    must return something picklable, neither None nor a Verdict (an exception in it is a failure)."""
    start = time.perf_counter()
    read_result = run_with_budget(read, budget)
    seconds = time.perf_counter() - start
    if read_result is None:
        why = (f"timed out after {budget:g} s while reading the claim" if seconds >= budget
               else "reading the claim failed without an answer (the reader process stopped early)")
        return Verdict("unknown", why, seconds, detail="not proved"), seconds
    return read_result, seconds


def _read(lhs: str, rhs: str | None, assumptions: tuple[str, ...], latex: bool, catalog: Catalog | None
          ) -> tuple[Statement, ParsedClaim] | str:
    """The statement and the claim, parsed; or why it cannot be read, naming the input at fault.  Runs in the
    budgeted child process of :func:`run_verify`."""
    parts = {"statement": lhs} if rhs is None else {"LHS": lhs, "RHS": rhs}
    try:
        statement = split_relation(lhs, latex=latex) if rhs is None else _equality(lhs, rhs, latex)
        parts = {"LHS": statement.lhs, "RHS": statement.rhs}
        return statement, parse_claim(statement, assumptions, latex=latex, catalog=catalog)
    except ParseError as error:
        return _where(error, parts, assumptions)
    except (RecursionError, MemoryError) as error:
        return f"the claim is too large or too deeply nested to read ({type(error).__name__})"


def _equality(lhs: str, rhs: str, latex: bool) -> Statement:
    """``lhs = rhs`` from two sides, neither of which may be a comparison itself."""
    for side in (lhs, rhs):
        position = relation_position(side, latex=latex)
        if position is not None:
            raise ParseError(
                "a relation inside one side of LHS RHS: give the whole claim as one argument, "
                '"A <= B", or two sides of an equality',
                position,
                side,
            )
    return Statement(lhs, "=", rhs)


def _where(error: ParseError, parts: Mapping[str, str], assumptions: Sequence[str]) -> str:
    """Say which input the error is in: an assumption, or a part (LHS, RHS, the statement) by name."""
    if error.text in assumptions:
        return f"in the assumption {error.text!r}: {error}"
    part = next((name for name, text in parts.items() if error.text == text), "input")
    return f"in the {part}: {error}"


