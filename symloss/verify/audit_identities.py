"""The identity claims of an audit: ``lhs = rhs`` under assumptions, read with the safe
parser and judged by the prover within a budget (proved: correct, refuted: wrong)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from symloss.declare.catalog import Catalog
from symloss.declare.loss import Claim
from symloss.prove.prover import prove
from symloss.verify.audit_fields import bad, flag_field, text_field
from symloss.verify.audit_outcomes import ClaimOutcome
from symloss.verify.claim import parse_identity
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
    try:
        parsed = parse_identity(lhs, rhs, assume, latex=flag_field(ident, table, "latex"), catalog=catalog)
    except ParseError as error:
        name = "assume" if error.text in assume else "lhs" if error.text == lhs else "rhs"
        raise bad(ident, name, str(error)) from None
    return IdentityEntry(ident, source, f"{lhs} = {rhs}", parsed.claim, float(budget))


@dataclass(frozen=True)
class IdentityEntry:
    ident: str
    source: str
    statement: str
    claim: Claim
    budget: float

    def judge(self) -> ClaimOutcome:
        verdict = prove(self.claim, budget=self.budget)
        outcome = {"proved": "correct", "refuted": "wrong"}.get(verdict.status, "unknown")
        message = f"{verdict.status} by {verdict.method} in {verdict.seconds:.2f} s"
        if verdict.detail:
            message += f"; {verdict.detail}"
        return ClaimOutcome(
            self.ident, self.source, "identity", outcome, self.statement, None, verdict.counterexample, message
        )
