"""The whole job, stage by stage: derive → prove → reproduce → (kernels,
certificates, report).

Each stage takes the frozen results of the one before and returns new
ones; this module only sequences them and runs independent losses in
parallel worker processes.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from symloss.derive import Derivation, derive
from symloss.examples import Reproduction, reproduce
from symloss.loss import Loss
from symloss.proofs import ClaimResult, prove_catalog
from symloss.report import LossReport, build_pdf, render_reports

Progress = Callable[[str], None] | None


@dataclass(frozen=True)
class Analysis:
    """One loss derived, its claims proved and its worked examples recomputed."""

    derivation: Derivation
    claims: tuple[ClaimResult, ...]
    reproductions: tuple[Reproduction, ...]

    @property
    def loss(self) -> Loss:
        return self.derivation.loss


def derive_all(losses: Sequence[Loss], *, budget: float = 20.0, workers: int = 2) -> list[Derivation]:
    """Derivations of ``losses`` in order, losses in parallel worker processes."""
    if workers <= 1 or len(losses) <= 1:
        return [derive(loss, budget=budget) for loss in losses]
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        return list(pool.map(partial(derive, budget=budget), losses))


def analyse(
    losses: Sequence[Loss], *, budget: float = 20.0, workers: int = 2, progress: Progress = None
) -> list[Analysis]:
    """Derive every loss, prove every claim, reproduce every worked example."""
    derivations = derive_all(losses, budget=budget, workers=workers)
    results = prove_catalog(losses, budget=budget, workers=workers, progress=progress)
    return [
        Analysis(
            derivation,
            tuple(r for r in results if r.loss == loss.name),
            tuple(reproduce(loss, example) for example in loss.examples),
        )
        for loss, derivation in zip(losses, derivations, strict=True)
    ]


def loss_reports(analyses: Sequence[Analysis]) -> list[LossReport]:
    """The report input of each analysed loss."""
    return [LossReport(a.derivation, a.claims, a.reproductions) for a in analyses]


def write_report(
    analyses: Sequence[Analysis], out_dir: Path, *, show_times: bool, pdf: bool
) -> list[Path]:
    """Write one ``.tex`` per loss and the book (and its PDF when asked)."""
    paths = render_reports(loss_reports(analyses), out_dir, show_times=show_times)
    if pdf:
        paths.append(build_pdf(paths[-1]))
    return paths
