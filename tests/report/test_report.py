"""The report: templates render every part of a chapter, the book compiles cleanly, output is deterministic.

One module-scoped fixture analyses the whole bundled catalog and builds the book's PDF (and one standalone
chapter's) once; every other test reads it or renders .tex only.  The PDF tests need TeX Live (latexmk,
pdflatex, pdftotext); they fail, loudly, when it is missing — CI installs it.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import sympy as sp

from symloss.certify.certificate import FunctionCertificate
from symloss.certify.stress_grid import Sampling
from symloss.declare.catalog import load_catalog
from symloss.declare.latex import tex
from symloss.pipeline import analyse
from symloss.report.book import render_book, render_chapter, render_reports
from symloss.report.inputs import Comparison, LossReport, StableForm
from symloss.report.pdf import INSTALL_HINT, build_pdf
from symloss.report.plots import comparison_plots, derived_comparison_plots, kernel_plots, load_kernels
from symloss.report.views import chapter_view
from symloss.stabilize.primitives import kl_div
from symloss.stabilize.regimes import Regimes, primitive_regimes

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
OWN_CATALOG = FIXTURES / "report_catalog"  # one new loss from a likelihood, its text full of _ % & #
KEY_NUMBERS = ("0.439", "2.1269", "-0.8808", "0.7000")

# The geometric fixture loss's kernels, as codegen would write them: -y log(1 - sigma(z)) - log sigma(z), stably.
USER_KERNEL = textwrap.dedent('''
    import numpy as np

    def geometric_nll(x, target, *, reduction="mean"):
        value = target * np.logaddexp(0.0, x) + np.logaddexp(0.0, -x)
        return value if reduction == "none" else value.mean()

    def geometric_nll_grad(x, target, *, reduction="mean"):
        grad = (target + 1.0) / (1.0 + np.exp(-x)) - 1.0
        return grad if reduction == "none" else grad / x.size
''')


def _reports(folder: Path | None, names: tuple[str, ...] = ()) -> list[LossReport]:
    losses = load_catalog(folder).select(list(names))
    return [LossReport(a.derivation, a.claims, a.reproductions) for a in analyse(losses, workers=2)]


@dataclasses.dataclass(frozen=True)
class Book:
    reports: list[LossReport]
    folder: Path
    pdf: Path
    text: str
    standalone: Path


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Book:
    """The whole bundled catalog, rendered without times (as `symloss build` does) and built to PDF, once."""
    folder = tmp_path_factory.mktemp("book")
    reports = _reports(None)
    paths = render_reports(reports, folder, show_times=False)
    pdf = build_pdf(paths[-1])
    standalone = build_pdf(folder / "hinge.tex")
    return Book(reports, folder, pdf, _text(pdf), standalone)


def _text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


def _assert_clean_log(pdf: Path) -> None:
    log = pdf.with_suffix(".log").read_text(encoding="utf-8", errors="replace")
    assert not re.search(r"^! ", log, re.MULTILINE), "LaTeX errors in the log"
    assert "There were undefined references" not in log, "undefined references"
    assert not re.search(r"Reference `[^']*' on page \d+ undefined", log), "undefined references"
    widths = [float(w) for w in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)]
    assert all(w <= 10 for w in widths), f"overfull boxes wider than 10 pt: {widths}"


def _symloss(*args: str, path: str | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI as a user runs it (optionally with another PATH)."""
    env = dict(os.environ)
    if path is not None:
        env["PATH"] = path
    return subprocess.run([sys.executable, "-m", "symloss", *args], capture_output=True, text=True, env=env,
                          check=False)


# ----------------------------------------------------------------------------- the book's PDF


def test_book_compiles_without_errors_undefined_references_or_wide_boxes(book: Book) -> None:
    _assert_clean_log(book.pdf)
    _assert_clean_log(book.standalone)
    assert "Hinge loss" in _text(book.standalone)


def test_book_has_a_chapter_and_a_tex_file_per_catalog_loss(book: Book) -> None:
    names = load_catalog(None).names
    assert len(names) == 26
    for name in names:
        assert name in book.text, name
        assert (book.folder / f"{name}.tex").is_file(), name
    assert len(re.findall(r"^\\chapter\{", (book.folder / "book.tex").read_text(), re.MULTILINE)) >= 26 + 2


def test_book_reproduces_the_key_worked_numbers(book: Book) -> None:
    for number in KEY_NUMBERS:
        assert number in book.text, number
    hinge_row = next(line for line in book.text.splitlines() if "code listing, printed hinge" in line)
    assert "0.2500" in hinge_row and "0.7000" in hinge_row and "✗" in hinge_row  # the text's wrong number, flagged
    assert "✓" in book.text


def test_book_has_its_front_and_back_matter(book: Book) -> None:
    for heading in ("Loss functions, derived and verified", "Contents", "The losses at a glance",
                    "Gradients at a glance", "Choosing a loss", "Comparisons", "Index of proofs"):
        assert heading in book.text, heading
    index = book.text[book.text.rindex("Index of proofs"):]
    assert "proved" in index and "refuted" in index


def test_the_saturation_figure_shows_mse_on_a_sigmoid_going_flat(book: Book) -> None:
    plot = next(p for p in derived_comparison_plots(book.reports)
                if any("(mse_sigmoid)" in c.label for c in p.curves))
    curves = {c.label.rsplit("(", 1)[1].rstrip(")"): c.points for c in plot.curves}
    assert plot.at == "y = 1"
    (x, bce), (_, mse) = curves["bce_with_logits"][0], curves["mse_sigmoid"][0]
    assert x == -6.0 and bce < -0.99 and abs(mse) < 0.01  # confidently wrong: BCE pushes, MSE has stopped
    tex = (book.folder / "book.tex").read_text()
    assert r"Squared error on a sigmoid output (mse\_sigmoid)" in tex and "xlabel={$z$}" in tex


def test_a_huge_hessian_is_shown_with_named_subexpressions(book: Book) -> None:
    report = next(r for r in book.reports if r.loss.name == "softmax_focal")
    hessian = chapter_view(report)["hessian"]
    assert hessian.where and hessian.operations > 100
    assert len(hessian.lines) <= 6 and all(name.startswith("u_{") for name, _ in hessian.where)
    assert "common-subexpression elimination" in (book.folder / "softmax_focal.tex").read_text()
    small = chapter_view(next(r for r in book.reports if r.loss.name == "bce_with_logits"))["hessian"]
    assert not small.where


def test_counterexamples_print_decimals_as_the_prover_gave_them(book: Book) -> None:
    report = next(r for r in book.reports if r.loss.name == "hinge")
    views = [c for c in chapter_view(report)["claims"] if c["counterexample"]]
    assert views, "the hinge's improper-scoring claim is refuted with a counterexample"
    for view in views:
        assert not any(r"\frac" in item for item in view["counterexample"])


# ----------------------------------------------------------------------------- a user's own catalog, the CLI


def test_a_users_own_catalog_gives_its_own_report(tmp_path: Path) -> None:
    result = _symloss("report", "--catalog", str(OWN_CATALOG), "--out", str(tmp_path), "--quiet")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.glob("*.tex")) == ["book.tex", "exponential_nll.tex"]
    book = (tmp_path / "book.tex").read_text()
    assert r"\chapter{Exponential NLL: time\_to\_event \& 100\% uncensored \#1}" in book
    assert r"survival \& waiting\_times" in book and r"R\&D \#7" in book  # escaped by the templates
    assert "an exponential model" in book
    assert r"y e^{\eta} - 1" in book  # its gradient, derived
    examples = book.split("\\section{Worked examples}", 1)[1].split("\\section", 1)[0]
    assert examples.count("& \\disagrees\\\\") == 1 and "0.3591 & 0.3591 & \\agrees" in examples


def test_report_pdf_without_tex_exits_2_with_an_install_hint(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    result = _symloss("report", "--catalog", str(OWN_CATALOG), "--out", str(tmp_path / "out"), "--pdf",
                      path=str(empty))
    assert result.returncode == 2
    assert INSTALL_HINT in result.stderr
    assert not (tmp_path / "out").exists()


def test_declared_text_is_escaped_but_sympy_latex_is_not(book: Book) -> None:
    report = next(r for r in book.reports if r.loss.name == "bce")
    odd = dataclasses.replace(report.loss, title="Odd_title: 50% & #2", use_case="R&D_team ~ 100%")
    chapter = render_chapter(dataclasses.replace(report, derivation=dataclasses.replace(report.derivation, loss=odd)))
    assert r"\chapter{Odd\_title: 50\% \& \#2}" in chapter
    assert r"R\&D\_team \textasciitilde{} 100\%" in chapter
    assert r"\log{\left(\hat{p} \right)}" in chapter  # SymPy's LaTeX passes unescaped


def test_the_scale_and_constant_sentence_names_only_what_is_there(book: Book) -> None:
    chapters = {name: (book.folder / f"{name}.tex").read_text(encoding="utf-8")
                for name in ("bce", "gaussian_nll", "mse")}
    assert "log-likelihood equals" not in chapters["bce"]  # scale 1, no constant: nothing to say
    sentence = (r"equals $L + \frac{\log{\left(2 \pi \right)}}{2}$;"
                "\nthe constant does not depend on the model output, so")
    assert sentence in chapters["gaussian_nll"]
    assert r"equals $\frac{L}{2 \sigma^{2}} + " in chapters["mse"]
    assert "and the scale is positive, so both" in chapters["mse"]
    for name, chapter in chapters.items():
        assert not re.search(r"(?<![\d.])1\s*(\\,|\\cdot)?\s*L\b", chapter), name
        assert not re.search(r"(?<![\d.])1 times", chapter), name


def test_claims_are_typeset_as_mathematics_under_their_declared_words(book: Book) -> None:
    chapter = (book.folder / "bce_with_logits.tex").read_text(encoding="utf-8")
    claim = re.search(r"\\begin\{claim\}\{1\}\{derivative\}\{(.*?)\}\n\\begin\{align\*\}\n(.*?)\n", chapter)
    assert claim is not None
    assert claim.group(1) == "dsigma/dz = sigma(1 - sigma)"  # the free text, escaped, as the heading's words
    assert claim.group(2).startswith(r"\frac{\partial}{\partial z} \left[\sigma\left(z\right)\right] &=")
    assert r"\textbf{1." not in chapter
    weighted = re.search(r"\\begin\{claim\}\{6\}\{derivative\}\{(.*?)\}\n", chapter)
    assert weighted is not None and r"pos\_weight" in weighted.group(1)
    assert chapter.count(r"\begin{claim}") == chapter.count(r"\end{claim}") == 10
    assert re.search(r"Claim 1 \(derivative\) +dsigma/dz", book.text)


# ----------------------------------------------------------------------------- determinism


def test_the_same_results_give_the_same_bytes(book: Book, tmp_path: Path) -> None:
    again = render_reports(book.reports, tmp_path, show_times=False)
    for path in again:
        text = path.read_bytes()
        assert text == (book.folder / path.name).read_bytes(), path.name
        assert str(tmp_path).encode() not in text and b"\\today" not in text


def test_times_are_left_out_when_asked(book: Book) -> None:
    reports = book.reports[:3]
    slower = [
        dataclasses.replace(r, claims=tuple(dataclasses.replace(c, verdict=dataclasses.replace(
            c.verdict, seconds=c.verdict.seconds + 1.234)) for c in r.claims))
        for r in reports
    ]
    assert render_book(slower, show_times=False) == render_book(reports, show_times=False)
    assert render_book(slower, show_times=True) != render_book(reports, show_times=True)


# ----------------------------------------------------------------------------- hooks for the kernels


def test_plots_and_comparisons_from_kernels_need_no_names_in_the_engine(tmp_path: Path) -> None:
    (tmp_path / "geometric_nll.py").write_text(USER_KERNEL)
    (report,) = _reports(FIXTURES / "user_catalog")
    loss = report.loss
    plots = kernel_plots(loss, load_kernels(tmp_path, loss.name))
    chapter = render_chapter(dataclasses.replace(report, plots=plots))
    assert r"\addplot" in chapter and r"\section{Plots}" in chapter
    (plot,) = comparison_plots([Comparison("one loss", (loss.name,))], {loss.name: loss}, tmp_path)
    assert plot.curves[0].label.endswith("(geometric_nll)") and plot.source == "the generated kernels"
    ys = [y for _, y in plot.curves[0].points]
    assert min(ys) < -0.9 and max(ys) > 0.9  # (y + 1) sigma(z) - 1 at y = 1 runs from -1 to 1


def test_stable_form_and_certificate_sections_are_empty_until_the_kernels_fill_them(book: Book) -> None:
    report = book.reports[0]
    assert report.stable == () and report.certificates == ()
    chapter = render_chapter(report)
    assert r"\section{Stable form}" not in chapter and r"\section{Accuracy certificate}" not in chapter
    assert r"\section{Gradient and Hessian}" in chapter


def _certificate(function: str, worst_point: tuple, truth: float, value: float, *, passed: bool,
                 entry: int | None = None) -> FunctionCertificate:
    return FunctionCertificate(function, points=400, excluded=0, unresolved=0, max_ulp=3.0 if passed else math.inf,
                               max_relative_error=1e-16, nonfinite=0 if passed else 1, range_errors=0,
                               budget_kind="ulp", budget=4.0, passed=passed, worst_point=worst_point,
                               worst_truth=truth, worst_value=value, worst_entry=entry)


def test_the_certificate_states_its_sampling_and_each_functions_worst_point(tmp_path: Path) -> None:
    """The section says how the points were drawn (counts, seed, every range) and, per function, the worst
    point with the truth and the kernel's value there: inf, NaN, e-notation and a long class vector typeset
    (shortened), the whole chapter compiling cleanly."""
    (report,) = _reports(FIXTURES / "user_catalog")
    certificates = (
        _certificate("geometric_nll", (710.0, 3.0), 1e-300, math.inf, passed=False),
        _certificate("geometric_nll_grad", (-0.0, 2.0), 0.25, math.nan, passed=False),
        _certificate("geometric_nll_hess", (tuple(float(k) for k in range(1000)), 1.0), 2.5e-08, 2.5000000000000005e-08,
                     passed=True, entry=517),
    )
    sampling = Sampling(7, 148, 256, (("z", "[-1.8e+308, 1.8e+308]"), ("y", "[0, 9.01e+15]")))
    chapter = render_chapter(dataclasses.replace(report, certificates=certificates, sampling=sampling))
    section = chapter.split(r"\section{Accuracy certificate}")[1].split(r"\section")[0]
    assert "deterministic stress grid" in section and "inputs, random points" not in section
    assert "404 points, 148 on the grid and\n256 random (seed 7)" in section
    assert r"$z$ \(\in\) [\(-1.8\times10^{308}\), \(1.8\times10^{308}\)]" in section
    assert r"$y$ \(\in\) [\(0\), \(9.01\times10^{15}\)]" in section
    assert (r"\item \texttt{geometric\_nll} at $z = 710.0$, $y = 3.0$:" "\n"
            r"truth $1\times10^{-300}$, kernel $\infty$.") in section
    assert r"$z = -0.0$, $y = 2.0$:" "\n" r"truth $0.25$, kernel $\text{NaN}$." in section
    assert (r"$z$ = ($0.0$, $1.0$, $2.0$, \dots, $999.0$; 1000 entries), $y = 1.0$:" "\n"
            r"entry 517: truth $2.5\times10^{-8}$, kernel $2.5000000000000005\times10^{-8}$.") in section
    path = tmp_path / "geometric_nll.tex"
    path.write_text(chapter)
    _assert_clean_log(build_pdf(path))


def test_the_stable_form_lists_each_functions_regimes_next_to_its_rules(tmp_path: Path) -> None:
    """A rule's Piecewise is listed under the rule, a definition's under the definition, each condition
    typeset in the order tested and the default last, then the switches inside a primitive's helper (its
    conditions and methods, plain text escaped); the chapter compiles cleanly."""
    (report,) = _reports(FIXTURES / "user_catalog")
    z = report.loss.output.symbol
    huge = sp.Float("1e300", 3)
    form = StableForm("geometric_nll", sp.Piecewise((2 * sp.log(z), z**2 > huge), (sp.log(1 + z**2), True)),
                      ("log1p_of_huge_square",),
                      (Regimes("log1p_of_huge_square", (z**2 > huge,)), Regimes(None, (z <= 0, z <= 1))),
                      primitive_regimes(kl_div(z, z + 1)))
    chapter = render_chapter(dataclasses.replace(report, stable=(form,)))
    section = chapter.split(r"\section{Stable form}")[1].split(r"\section")[0]
    names = report.loss.scope.latex_names()
    first, second, third = (tex(condition, names) for condition in (z**2 > huge, z <= 0, z <= 1))
    assert rf"\item rule \texttt{{log1p\_of\_huge\_square}}:" "\n" rf"1.\ ${first}$; 2.\ otherwise" in section
    assert r"\item the definition:" "\n" rf"1.\ ${second}$; 2.\ ${third}$; 3.\ otherwise" in section
    assert r"10^{300}" in section
    assert (r"\item primitive \texttt{kl\_div(p, q) = p*log(p/q) - p + q}, in its NumPy helper:" "\n"
            r"1.\ q/2 \textless{}= p \textless{}= 2q: q h(x)") in section
    assert r"4.\ otherwise: p log(p/q) - (p - q)." in section
    path = tmp_path / "geometric_nll.tex"
    path.write_text(chapter)
    _assert_clean_log(build_pdf(path))
