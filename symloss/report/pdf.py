"""The report's PDF: a ``.tex`` file compiled with latexmk (pdflatex), LaTeX errors quoted."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

INSTALL_HINT = "apt-get install latexmk texlive-latex-recommended texlive-latex-extra texlive-pictures"


class TexError(RuntimeError):
    """LaTeX is not installed, or a document did not compile."""


def tex_available() -> bool:
    """Whether latexmk and pdflatex are on the PATH."""
    return shutil.which("latexmk") is not None and shutil.which("pdflatex") is not None


def build_pdf(tex_path: Path) -> Path:
    """Compile ``tex_path`` with latexmk (pdflatex, as many runs as references need); returns the PDF.

    LaTeX writes under the job name ``STEM-partial`` and the finished PDF is
    renamed to ``STEM.pdf`` in one step, so a build killed at any moment leaves
    ``STEM.pdf`` whole: the old one or the new one (its log is then moved to ``STEM.log``).  Raises :class:`TexError`
    naming the packages to install when TeX is missing, or quoting the first
    LaTeX errors when the document does not compile.
    """
    if not tex_available():
        raise TexError(f"latexmk and pdflatex are needed for the PDF; install them with: {INSTALL_HINT}")
    tex_path = Path(tex_path).resolve()
    job = f"{tex_path.stem}-partial"
    command = ["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "-file-line-error", "-quiet",
               f"-jobname={job}", tex_path.name]
    completed = subprocess.run(command, cwd=tex_path.parent, capture_output=True, text=True, check=False)
    partial, pdf = tex_path.with_name(f"{job}.pdf"), tex_path.with_suffix(".pdf")
    if completed.returncode != 0 or not partial.is_file():
        log = tex_path.with_name(f"{job}.log")
        text = log.read_text(encoding="utf-8", errors="replace") if log.is_file() else completed.stdout
        errors = [line for line in text.splitlines() if line.startswith("!") or re.match(r"^\S+:\d+: ", line)]
        raise TexError(f"LaTeX failed on {tex_path.name}:\n" + "\n".join(errors[:20] or text.splitlines()[-20:]))
    os.replace(partial, pdf)
    os.replace(tex_path.with_name(f"{job}.log"), tex_path.with_suffix(".log"))  # the log beside its PDF
    return pdf
