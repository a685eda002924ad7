"""The report's PDF (symloss/report/pdf.py): TeX Live is there, a LaTeX error is quoted, and the PDF is put
in place in one rename, so a failed or killed build leaves the previous PDF whole.

These tests need TeX Live (latexmk, pdflatex); they fail, loudly, when it is missing — CI installs it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
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


REPOSITORY = Path(__file__).resolve().parents[2]
OLD = b"%PDF-1.5\nthe previous build\n%%EOF\n"


def _document(path: Path, body: str) -> Path:
    path.write_text("\\documentclass{article}\\begin{document}" + body + "\\end{document}\n")
    return path


def _whole(pdf: Path) -> bool:
    data = pdf.read_bytes()
    return data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")


def test_a_build_replaces_the_pdf_and_leaves_no_partial_one(tmp_path: Path) -> None:
    tex = _document(tmp_path / "book.tex", "Hello.")
    (tmp_path / "book.pdf").write_bytes(OLD)
    assert build_pdf(tex) == tmp_path / "book.pdf"
    assert _whole(tmp_path / "book.pdf") and (tmp_path / "book.pdf").read_bytes() != OLD
    assert not (tmp_path / "book-partial.pdf").exists()
    assert build_pdf(tex) == tmp_path / "book.pdf" and _whole(tmp_path / "book.pdf")  # a rebuild works too


def test_a_failed_build_keeps_the_previous_pdf(tmp_path: Path) -> None:
    tex = _document(tmp_path / "book.tex", "\\undefinedmacro")
    (tmp_path / "book.pdf").write_bytes(OLD)
    with pytest.raises(TexError, match="Undefined control sequence"):
        build_pdf(tex)
    assert (tmp_path / "book.pdf").read_bytes() == OLD


@pytest.mark.parametrize("seconds", [0.5, 1.0, 1.5, 2.0, 3.0])
def test_a_build_killed_at_any_moment_leaves_the_pdf_whole(tmp_path: Path, seconds: float) -> None:
    """Kill build_pdf and its LaTeX runs (the whole process group, as a CI timeout does) at several moments:
    book.pdf is then the previous one or a whole new one, never a prefix."""
    pages = "".join(f"\\section{{S{i}}}\\label{{s{i}}}See \\ref{{s{i}}}.\\newpage " for i in range(400))
    tex = _document(tmp_path / "book.tex", "\\tableofcontents " + pages)
    (tmp_path / "book.pdf").write_bytes(OLD)
    process = subprocess.Popen(
        [sys.executable, "-c", f"from symloss.report.pdf import build_pdf; build_pdf({str(tex)!r})"],
        cwd=REPOSITORY, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(seconds)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)
    pdf = (tmp_path / "book.pdf").read_bytes()
    assert pdf == OLD or _whole(tmp_path / "book.pdf")
