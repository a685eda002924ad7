"""An audit's results: the verdict on each claim (:class:`ClaimOutcome`), the whole audit
(:class:`AuditResult`) with its exit code, and both as a text table and as JSON."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from symloss.report.tables import format_table
from symloss.verify.claim import EXIT_BAD_INPUT, EXIT_OK, EXIT_WRONG

VERDICTS = ("correct", "wrong", "unknown", "error")


@dataclass(frozen=True)
class ClaimOutcome:
    """The verdict on one claim of an audit file."""

    id: str
    source: str
    kind: str
    verdict: str  # one of VERDICTS
    stated: str
    computed: str | None = None
    counterexample: Mapping[str, str] | None = None
    message: str = ""

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "verdict": self.verdict,
            "stated": self.stated,
            "computed": self.computed,
            "counterexample": dict(self.counterexample) if self.counterexample else None,
            "message": self.message,
        }


@dataclass(frozen=True)
class AuditResult:
    """The outcome of ``symloss audit``: one row per claim, or why the file cannot be read."""

    path: str
    outcomes: tuple[ClaimOutcome, ...] = ()
    error: str = ""

    @property
    def exit_code(self) -> int:
        """2 for a file that cannot be read; else 1 if any claim is wrong, else 2 if any claim
        is malformed (a row with verdict ``error``), else 0.  An unknown verdict does not fail."""
        if self.error:
            return EXIT_BAD_INPUT
        verdicts = {o.verdict for o in self.outcomes}
        return EXIT_WRONG if "wrong" in verdicts else EXIT_BAD_INPUT if "error" in verdicts else EXIT_OK

    def to_text(self) -> str:
        if self.error:
            return f"symloss audit: {self.path}: {self.error}"
        rows = [(o.id, o.kind, o.verdict, _clipped(o.stated), _clipped(o.computed or ""), _note(o))
                for o in self.outcomes]
        table = format_table(["id", "kind", "verdict", "stated", "computed", "note"], rows)
        tally = {v: sum(o.verdict == v for o in self.outcomes) for v in VERDICTS}
        summary = ", ".join(f"{n} {v}" for v, n in tally.items())
        return f"{table}\n\n{len(self.outcomes)} claims: {summary}"

    def to_json(self) -> list[dict[str, object]] | dict[str, object]:
        """A list of {"id", "verdict", "stated", "computed", "counterexample",
        "message"} (a malformed claim: "verdict": "error" and the reason in
        "message"); {"error": ...} for a file that cannot be read."""
        if self.error:
            return {"error": self.error}
        return [o.to_json() for o in self.outcomes]


def _clipped(text: str, width: int = 48) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _note(outcome: ClaimOutcome) -> str:
    if outcome.counterexample:
        return "counterexample: " + ", ".join(f"{k} = {v}" for k, v in outcome.counterexample.items())
    return outcome.message
