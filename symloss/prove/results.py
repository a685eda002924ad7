"""Prove every claim of a set of losses, and judge the outcome.

A claim's verdict is compared with the verdict its declaration expects: a
claim false by design is declared ``expected="refuted"`` and passes only
when the prover refutes it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from symloss.declare.loss import Claim, Loss
from symloss.prove.prover import iter_prove
from symloss.prove.verdict import Verdict


@dataclass(frozen=True)
class ClaimResult:
    """One claim of one loss, with its verdict."""

    loss: str
    claim: Claim
    verdict: Verdict

    @property
    def kind(self) -> str:
        return self.claim.kind.value

    @property
    def as_expected(self) -> bool:
        return self.verdict.status == self.claim.expected

    def to_json(self) -> dict[str, object]:
        """The keys of ``symloss prove --json``."""
        return {
            "loss": self.loss,
            "claim": self.claim.statement,
            "kind": self.kind,
            "verdict": self.verdict.status,
            "expected": self.claim.expected,
            "method": self.verdict.method,
            "seconds": round(self.verdict.seconds, 3),
            "counterexample": dict(self.verdict.counterexample) if self.verdict.counterexample else None,
        }


def prove_catalog(
    losses: Sequence[Loss],
    *,
    budget: float = 20.0,
    workers: int = 2,
    progress: Callable[[str], None] | None = None,
) -> list[ClaimResult]:
    """Prove the claims of ``losses``, all claims sharing one pool of workers.

    ``progress`` receives one line per loss as soon as its claims are decided.
    """
    owners = [(loss, claim) for loss in losses for claim in loss.claims]
    verdicts = iter_prove([claim for _, claim in owners], budget=budget, workers=workers)
    results: list[ClaimResult] = []
    for (loss, claim), verdict in zip(owners, verdicts, strict=True):
        results.append(ClaimResult(loss.name, claim, verdict))
        last_of_its_loss = len(results) == len(owners) or owners[len(results)][0] is not loss
        if progress is not None and last_of_its_loss:
            mine = [r for r in results if r.loss == loss.name]
            progress(f"{loss.name}: {sum(r.as_expected for r in mine)}/{len(mine)} claims as expected")
    return results


def summary_exit_code(results: Sequence[ClaimResult]) -> int:
    """0 when every verdict is as expected; 3 when every difference is an
    unknown verdict; else 1."""
    misses = [r for r in results if not r.as_expected]
    if not misses:
        return 0
    return 3 if all(r.verdict.status == "unknown" for r in misses) else 1
