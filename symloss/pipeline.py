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

from symloss.codegen import Kernel, kernel_for, render_module, render_package, write_package
from symloss.derive import Derivation, derive
from symloss.examples import Reproduction, reproduce
from symloss.loss import Loss
from symloss.proofs import ClaimResult, prove_catalog
from symloss.report import LossReport, build_pdf, render_reports
from symloss.stable import ProvedRule, prove_rules

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


def kernels(derivations: Sequence[Derivation], rules: Sequence[ProvedRule] | None = None) -> list[Kernel]:
    """The stable forms and code of each derived loss (rules proved here unless given)."""
    proved = prove_rules() if rules is None else rules
    return [kernel_for(d, proved) for d in derivations]


def write_kernels(
    derivations: Sequence[Derivation], out_dir: Path, *, prune: bool = True, progress: Progress = None
) -> list[Path]:
    """Write the kernel package ``out_dir`` (one module per loss, sorted, deterministic); with
    ``prune`` the package holds exactly these losses, else they are added to what is there."""
    built = kernels(derivations)
    files = {f"{k.loss.name}.py": render_module(k, UNCERTIFIED) for k in built}
    present = [] if prune else [p.stem for p in out_dir.glob("*.py") if not p.stem.startswith("_")]
    files.update(render_package(sorted({*(k.loss.name for k in built), *present})))
    if progress is not None:
        progress(f"kernels: {len(built)} modules in {out_dir}")
    return write_package(files, out_dir, prune=prune)


UNCERTIFIED = "not certified by this build (symloss.certify is not part of it yet)."
