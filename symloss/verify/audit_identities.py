"""The identity claims of an audit: ``lhs = rhs`` under assumptions, read with the safe
parser and judged by the prover within a budget (proved: correct, refuted: wrong).  The
budget covers reading and proving, as ``verify``'s timeout does: one slow to read is unknown."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial

from symloss.declare.catalog import Catalog
from symloss.declare.loss import Claim
from symloss.prove.prover import prove
from symloss.prove.verdict import Verdict
from symloss.verify.audit_fields import ClaimError, bad, flag_field, text_field
from symloss.verify.audit_outcomes import ClaimOutcome
from symloss.verify.claim import parse_identity, read_within
from symloss.verify.parse import ParseError

DEFAULT_BUDGET = 20.0  # seconds per identity claim of an audit


def identity_entry(ident: str, source: str, table: Mapping[str, object], catalog: Catalog) -> IdentityEntry:
    lhs, rhs = text_field(ident, table, "lhs"), text_field(ident, table, "rhs")
    assume = table.get("assume", [])
    if not isinstance(assume, list) or not all(isinstance(a, str) for a in assume):
        raise bad(ident, "assume", "must be a list of strings")
    budget = table.get("budget", DEFAULT_BUDGET)
    if isinstance(budget, bool) or not isinstance(budget, int | float) or not 0 < budget <= 600:
        raise bad(ident, "budget", "must be a number of seconds in (0, 600]")
    reading = partial(_read_identity, ident, lhs, rhs, assume, flag_field(ident, table, "latex"), catalog)
    read, seconds = read_within(reading, budget)  # the budget covers reading and proving, as in verify
    if isinstance(read, ClaimError):
        raise read
    return IdentityEntry(ident, source, f"{lhs} = {rhs}", read, budget - seconds)


def _read_identity(ident: str, lhs: str, rhs: str, assume: list[str], latex: bool, catalog: Catalog
                   ) -> Claim | ClaimError:
    """The identity ``lhs = rhs`` under ``assume``, or the error naming the field at fault (run in the
    budgeted child of :func:`~symloss.verify.claim.read_within`)."""
    try:
        return parse_identity(lhs, rhs, assume, latex=latex, catalog=catalog).claim
    except ParseError as error:
        name = "assume" if error.text in assume else "lhs" if error.text == lhs else "rhs"
        return bad(ident, name, str(error))


@dataclass(frozen=True)
class IdentityEntry:
    ident: str
    source: str
    statement: str
    claim: Claim | Verdict  # the verdict unknown when reading the claim took the whole budget
    budget: float  # seconds left for the proof

    def judge(self) -> ClaimOutcome:
        verdict = self.claim if isinstance(self.claim, Verdict) else prove(self.claim, budget=self.budget)
        outcome = {"proved": "correct", "refuted": "wrong"}.get(verdict.status, "unknown")
        message = f"{verdict.status} by {verdict.method} in {verdict.seconds:.2f} s"
        if verdict.detail:
            message += f"; {verdict.detail}"
        return ClaimOutcome(
            self.ident, self.source, "identity", outcome, self.statement, None, verdict.counterexample, message
        )
