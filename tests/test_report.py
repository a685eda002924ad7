"""The report: templates render every part of a chapter, the PDF compiles cleanly, output is deterministic.

The PDF tests need TeX Live (latexmk, pdflatex, pdftotext); they fail, loudly, when it is missing —
CI installs it.  A user's own catalog folder (tests/fixtures/user_catalog) must give its own report.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
import textwrap
from pathlib import Path

import pytest
import sympy as sp

from symloss.catalog import load_catalog
from symloss.latex import math_lines, tex_escape, visible_width
from symloss.pipeline import analyse
from symloss.report import (
    INSTALL_HINT,
    Comparison,
    LossReport,
    TexError,
    build_pdf,
    comparison_plots,
    kernel_plots,
    load_kernels,
    render_book,
    render_chapter,
    render_reports,
    tex_available,
)

FIXTURES = Path(__file__).parent / "fixtures"
BUNDLED = ("bce_with_logits", "mse_sigmoid", "hinge")

# The fixture loss's kernels, as codegen would write them: -y log(1 - sigma(z)) - log sigma(z), stably.
USER_KERNEL = textwrap.dedent('''
    import numpy as np

    def geometric_nll(x, target, *, reduction="mean"):
        value = target * np.logaddexp(0.0, x) + np.logaddexp(0.0, -x)
        return value if reduction == "none" else value.mean()

    def geometric_nll_grad(x, target, *, reduction="mean"):
        grad = (target + 1.0) / (1.0 + np.exp(-x)) - 1.0
        return grad if reduction == "none" else grad / x.size
''')


def _reports(folder: Path | None, names: tuple[str, ...] = (), kernels: Path | None = None) -> list[LossReport]:
    losses = load_catalog(folder).select(list(names))
    return [
        LossReport(a.derivation, a.claims, a.reproductions,
                   plots=kernel_plots(a.loss, load_kernels(kernels, a.loss.name)) if kernels else ())
        for a in analyse(losses, budget=10.0, workers=2)
    ]


@pytest.fixture(scope="module")
def user_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[LossReport], Path, Path]:
    """The fixture catalog's report, with plots from its kernels, built to PDF."""
    root = tmp_path_factory.mktemp("user")
    kernels = root / "kernels"
    kernels.mkdir()
    (kernels / "geometric_nll.py").write_text(USER_KERNEL)
    reports = _reports(FIXTURES / "user_catalog", kernels=kernels)
    paths = render_reports(reports, root / "tex")
    return reports, paths[-1], build_pdf(paths[-1])


@pytest.fixture(scope="module")
def bundled_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[LossReport], Path, Path]:
    """A few bundled losses (a likelihood, a cautionary definition, a text's wrong number) built to PDF."""
    root = tmp_path_factory.mktemp("bundled")
    reports = _reports(None, BUNDLED)
    paths = render_reports(reports, root, show_times=False)
    return reports, paths[-1], build_pdf(paths[-1])


def _text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


def _assert_clean_log(pdf: Path) -> None:
    log = pdf.with_suffix(".log").read_text(encoding="utf-8", errors="replace")
    assert not re.search(r"^! ", log, re.MULTILINE), "LaTeX errors in the log"
    assert "There were undefined references" not in log, "undefined references"
    assert not re.search(r"Reference `[^']*' on page \d+ undefined", log), "undefined references"
    widths = [float(w) for w in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)]
    assert all(w <= 10 for w in widths), f"overfull boxes wider than 10 pt: {widths}"


# ----------------------------------------------------------------------------- escaping and splitting


def test_declared_text_is_escaped() -> None:
    assert tex_escape("a_b 50% R&D #1 $x {y} ~ ^ \\") == (
        r"a\_b 50\% R\&D \#1 \$x \{y\} \textasciitilde{} \textasciicircum{} \textbackslash{}"
    )


def test_chapter_escapes_titles_but_not_sympy_latex(user_build: tuple[list[LossReport], Path, Path]) -> None:
    reports, _, _ = user_build
    loss = reports[0].loss
    odd = dataclasses.replace(loss, title="Odd_title: 50% & #2")
    report = dataclasses.replace(reports[0], derivation=dataclasses.replace(reports[0].derivation, loss=odd))
    chapter = render_chapter(report)
    assert r"\chapter{Odd\_title: 50\% \& \#2}" in chapter
    assert r"\sigma\left(z\right)" in chapter  # SymPy's LaTeX passes unescaped


def test_long_sum_is_split_into_lines_that_fit() -> None:
    x = sp.symbols("x1:30", positive=True)
    lines = math_lines(sum(sp.log(1 + s**2) for s in x), {}, width=60)
    assert len(lines) > 1
    assert all(visible_width(line) <= 60 for line in lines)
    assert all(line.startswith(("+", "-")) for line in lines[1:])


# ----------------------------------------------------------------------------- PDF


def test_tex_is_installed() -> None:
    assert tex_available(), f"TeX Live is needed for the report tests: {INSTALL_HINT}"


def test_user_catalog_gives_its_own_report(user_build: tuple[list[LossReport], Path, Path]) -> None:
    reports, book, pdf = user_build
    assert [r.loss.name for r in reports] == ["geometric_nll"]
    assert (book.parent / "geometric_nll.tex").is_file()
    _assert_clean_log(pdf)
    text = _text(pdf)
    for expected in ("geometric_nll", "Geometric NLL: waiting times & retries", "retries_until_ok", "100%",
                     "2.0794", "(#3)"):
        assert expected in text
    assert r"\addplot" in book.read_text()


def test_bundled_book_compiles_cleanly_with_every_name_and_number(
    bundled_build: tuple[list[LossReport], Path, Path],
) -> None:
    _, _, pdf = bundled_build
    _assert_clean_log(pdf)
    text = _text(pdf)
    for name in BUNDLED:
        assert name in text
    assert "2.1269" in text and "-0.8808" in text  # the lesson's Example 1, reproduced
    hinge_row = next(line for line in text.splitlines() if "code listing, printed hinge" in line)
    assert "0.2500" in hinge_row and "0.7000" in hinge_row  # the printed number beside the true one
    assert "Index of proofs" in text and "Choosing a loss" in text


def test_standalone_chapter_compiles(bundled_build: tuple[list[LossReport], Path, Path]) -> None:
    _, book, _ = bundled_build
    pdf = build_pdf(book.parent / "hinge.tex")
    _assert_clean_log(pdf)
    assert "Hinge loss" in _text(pdf)


def test_build_pdf_reports_latex_errors(tmp_path: Path) -> None:
    broken = tmp_path / "broken.tex"
    broken.write_text("\\documentclass{article}\\begin{document}\\undefinedmacro\\end{document}\n")
    with pytest.raises(TexError, match="Undefined control sequence"):
        build_pdf(broken)


# ----------------------------------------------------------------------------- determinism


def test_same_results_give_the_same_bytes(bundled_build: tuple[list[LossReport], Path, Path],
                                          tmp_path: Path) -> None:
    reports, book, _ = bundled_build
    again = render_reports(reports, tmp_path, show_times=False)
    for path in again:
        assert path.read_bytes() == (book.parent / path.name).read_bytes()


def test_times_are_left_out_when_asked(bundled_build: tuple[list[LossReport], Path, Path]) -> None:
    reports, _, _ = bundled_build
    slower = [
        dataclasses.replace(r, claims=tuple(dataclasses.replace(c, verdict=dataclasses.replace(
            c.verdict, seconds=c.verdict.seconds + 1.234)) for c in r.claims))
        for r in reports
    ]
    assert render_book(slower, show_times=False) == render_book(reports, show_times=False)
    assert render_book(slower, show_times=True) != render_book(reports, show_times=True)


def test_comparison_needs_no_names_in_the_engine(user_build: tuple[list[LossReport], Path, Path]) -> None:
    reports, book, _ = user_build
    loss = reports[0].loss
    kernels = book.parent.parent / "kernels"
    (plot,) = comparison_plots([Comparison("one loss", (loss.name,))], {loss.name: loss}, kernels)
    assert plot.curves[0].label.endswith("(geometric_nll)")
    ys = [y for _, y in plot.curves[0].points]
    assert min(ys) < -0.9 and max(ys) > 0.9  # (y + 1) sigma(z) - 1 at y = 1 runs from -1 to 1
