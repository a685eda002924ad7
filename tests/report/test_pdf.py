"""The report's PDF: TeX Live is there, and a LaTeX error is quoted.

These tests need TeX Live (latexmk, pdflatex); they fail, loudly, when it is missing — CI installs it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from symloss.report.pdf import INSTALL_HINT, TexError, build_pdf, tex_available


def test_tex_is_installed() -> None:
    assert tex_available(), f"TeX Live is needed for the report tests: {INSTALL_HINT}"


def test_build_pdf_reports_latex_errors(tmp_path: Path) -> None:
    broken = tmp_path / "broken.tex"
    broken.write_text("\\documentclass{article}\\begin{document}\\undefinedmacro\\end{document}\n")
    with pytest.raises(TexError, match="Undefined control sequence"):
        build_pdf(broken)
