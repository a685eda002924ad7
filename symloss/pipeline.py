"""The whole job, stage by stage: derive → prove → reproduce → (kernels,
certificates, report).

Each stage takes the frozen results of the one before and returns new
ones; this module only sequences them and runs independent losses in
parallel worker processes.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TypeVar

from symloss.certify.certificate import KernelCertificate
from symloss.certify.certificate import certify as certify_kernel
from symloss.certify.gate import OverBudget, over_budget
from symloss.declare.loss import Loss
from symloss.derive.chain import DERIVATION_BUDGET, Derivation, derive
from symloss.emit.arrays import UnsupportedExpressionError
from symloss.emit.codegen import (
    Kernel,
    kernel_for,
    load_generated,
    render_module,
    render_package,
    write_package,
)
from symloss.prove.examples import Reproduction, reproduce
from symloss.prove.results import ClaimResult, prove_catalog
from symloss.prove.workers import map_in_workers
from symloss.report.book import render_reports
from symloss.report.inputs import LossReport, StableForm
from symloss.report.pdf import build_pdf
from symloss.report.plots import comparison_plots, kernel_plots, shared_output_comparisons
from symloss.stabilize.engine import ProvedRule
from symloss.stabilize.rules import proved_rules

Progress = Callable[[str], None] | None
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Analysis:
    """One loss derived, its claims proved and its worked examples recomputed."""

    derivation: Derivation
    claims: tuple[ClaimResult, ...]
    reproductions: tuple[Reproduction, ...]

    @property
    def loss(self) -> Loss:
        return self.derivation.loss


def parallel_map(function: Callable[[T], R], items: Sequence[T], workers: int) -> list[R]:
    """``[function(x) for x in items]``, in forked worker processes when there are several."""
    if workers <= 1 or len(items) <= 1:
        return [function(item) for item in items]
    return list(map_in_workers(function, items, workers))


def derive_all(losses: Sequence[Loss], *, budget: float = DERIVATION_BUDGET, workers: int = 2) -> list[Derivation]:
    """Derivations of ``losses`` in order, losses in parallel worker processes."""
    return parallel_map(partial(derive, budget=budget), losses, workers)


def analyse(
    losses: Sequence[Loss], *, budget: float = 20.0, workers: int = 2, progress: Progress = None
) -> list[Analysis]:
    """Derive every loss, prove every claim, reproduce every worked example."""
    derivations = derive_all(losses, workers=workers)  # the claims' budget is not the derivation's
    results = prove_catalog(losses, budget=budget, workers=workers, progress=progress)
    return [
        Analysis(
            derivation,
            tuple(r for r in results if r.loss == loss.name),
            tuple(reproduce(loss, example) for example in loss.examples),
        )
        for loss, derivation in zip(losses, derivations, strict=True)
    ]


def loss_reports(analyses: Sequence[Analysis], kernels: KernelBuild | None = None,
                 kernel_dir: Path | None = None) -> list[LossReport]:
    """The report input of each analysed loss; with ``kernels`` (written to ``kernel_dir``) also the
    stable forms, the certificates and the plots drawn from the kernels."""
    if kernels is None or kernel_dir is None:
        return [LossReport(a.derivation, a.claims, a.reproductions) for a in analyses]
    by_name = {k.loss.name: k for k in kernels.kernels}
    reports = []
    for a in analyses:
        kernel, certificate = by_name.get(a.loss.name), kernels.certificates.get(a.loss.name)
        if kernel is None:
            reports.append(LossReport(a.derivation, a.claims, a.reproductions))
            continue
        reports.append(LossReport(
            a.derivation, a.claims, a.reproductions,
            stable=stable_forms(kernel),
            certificates=certificate.functions if certificate is not None else (),
            plots=kernel_plots(a.loss, load_generated(kernel_dir, a.loss.name)),
            sampling=certificate.sampling if certificate is not None else None,
        ))
    return reports


def stable_forms(kernel: Kernel) -> tuple[StableForm, ...]:
    """Each generated function's stable form, one per label value where the forms split over the label."""
    forms = []
    for suffix, form in (("", kernel.value), ("_grad", kernel.gradient), ("_hess", kernel.hessian)):
        for branch in form.branches:
            where = "" if branch.label is None else f" ({kernel.loss.target.name} = {branch.label})"
            forms.append(StableForm(f"{kernel.loss.name}{suffix}{where}", branch.expr, branch.rules,
                                     branch.regimes, branch.primitives))
    return tuple(forms)


def write_report(
    analyses: Sequence[Analysis], out_dir: Path, *, show_times: bool, pdf: bool,
    kernels: KernelBuild | None = None, kernel_dir: Path | None = None,
) -> list[Path]:
    """Write one ``.tex`` per loss and the book (and its PDF when asked)."""
    reports = loss_reports(analyses, kernels, kernel_dir)
    comparisons = None
    if kernels is not None and kernel_dir is not None:
        losses = [a.loss for a in analyses if a.loss.name in {k.loss.name for k in kernels.kernels}]
        comparisons = comparison_plots(shared_output_comparisons(losses), {x.name: x for x in losses}, kernel_dir)
    paths = render_reports(reports, out_dir, show_times=show_times, comparisons=comparisons)
    if pdf:
        paths.append(build_pdf(paths[-1]))
    return paths


def kernels(
    derivations: Sequence[Derivation], rules: Sequence[ProvedRule] | None = None, progress: Progress = None
) -> list[Kernel]:
    """The stable forms and code of each derived loss (rules proved here, once per process, unless given); a loss whose
    expressions the generator cannot print exactly gets no kernel, and ``progress`` says why."""
    proved = proved_rules() if rules is None else rules
    built = []
    for derivation in derivations:
        try:
            built.append(kernel_for(derivation, proved))
        except UnsupportedExpressionError as error:
            if progress is not None:
                progress(f"no kernel for {derivation.loss.name}: {error}")
    return built


@dataclass(frozen=True)
class KernelBuild:
    """The generated kernels of a catalog with their certificates (None: not certified)."""

    kernels: tuple[Kernel, ...]
    certificates: Mapping[str, KernelCertificate | None]
    failures: Mapping[str, str] = field(default_factory=dict)  # loss → why it could not be certified

    def files(self, names: Sequence[str]) -> dict[str, str]:
        """File name → source: one module per kernel (its certificate in the docstrings) and the package."""
        files = {f"{k.loss.name}.py": render_module(k, self.summary(k.loss.name), self._within_budget(k.loss.name))
                 for k in self.kernels}
        files.update(render_package(names))
        return files

    def _within_budget(self, name: str) -> bool | None:
        certificate = self.certificates.get(name)
        return None if certificate is None else certificate.passed

    def summary(self, name: str) -> str:
        certificate = self.certificates.get(name)
        if certificate is None:
            return "not certified in this build."
        verdict = "within budget" if certificate.passed else "OVER BUDGET"
        return f"{verdict}: {certificate.summary()}"

    @property
    def over_budget(self) -> list[OverBudget]:
        """Every kernel function over its budget, or not certified because the certifier failed."""
        arguments = {k.loss.name: [v.name for v in k.loss.variables] for k in self.kernels}
        return over_budget(self.certificates, self.failures, arguments)


def build_kernels(derivations: Sequence[Derivation], *, certify: bool = True, workers: int = 2,
                  progress: Progress = None) -> KernelBuild:
    """Generate every loss's kernel and (with ``certify``) certify it against its declared expression."""
    built = tuple(kernels(derivations, progress=progress))
    if not certify:
        return KernelBuild(built, {k.loss.name: None for k in built})
    generated = [d for d in derivations if d.loss.name in {k.loss.name for k in built}]
    with tempfile.TemporaryDirectory(prefix="symloss-kernels-") as scratch:
        folder = Path(scratch) / "candidate"
        write_package(KernelBuild(built, {}).files([k.loss.name for k in built]), folder, prune=True)
        results = parallel_map(partial(_certify_one, folder=str(folder)), generated, workers)
    build = KernelBuild(built, {d.loss.name: c for d, (c, _) in zip(generated, results, strict=True)},
                        {d.loss.name: failure for d, (_, failure) in zip(generated, results, strict=True) if failure})
    for derivation, (_, failure) in zip(generated, results, strict=True):
        if progress is not None:
            name = derivation.loss.name
            certificate = build.certificates[name]
            line = f"{name}: {build.summary(name)}" if certificate and certificate.passed else f"{name}: over budget"
            progress(f"could not certify {name}: {failure}" if failure else line)
    return build


def _certify_one(derivation: Derivation, folder: str) -> tuple[KernelCertificate | None, str]:
    """The certificate of one generated kernel, or None and why the certifier could not run."""
    try:
        return certify_kernel(derivation, load_generated(Path(folder), derivation.loss.name)), ""
    except Exception as error:  # a user's loss the certifier cannot evaluate: say so, never certify it
        return None, f"{type(error).__name__}: {error}"[:300]


def write_kernels(build: KernelBuild, out_dir: Path, *, prune: bool = True) -> list[Path]:
    """Write the kernel package ``out_dir`` (one module per loss, sorted, deterministic); with
    ``prune`` the package holds exactly these losses, else they are added to what is there."""
    present = [] if prune else [p.stem for p in out_dir.glob("*.py") if not p.stem.startswith("_")]
    names = sorted({*(k.loss.name for k in build.kernels), *present})
    return write_package(build.files(names), out_dir, prune=prune)
