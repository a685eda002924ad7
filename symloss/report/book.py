r"""The report rendered: one LaTeX chapter per loss, a standalone ``.tex`` per loss, and the book.

Everything is laid out by the Jinja2 templates in ``symloss/templates``
(``chapter.tex.j2``, ``book.tex.j2``, ``standalone.tex.j2`` and their
partials).  Their delimiters cannot collide with TeX: ``((* block *))``,
``((( variable )))``, ``((= comment =))``.  Every value a template prints
is escaped as plain text (a title such as ``pos_weight & 50%``) unless it is
LaTeX produced by SymPy or declared as LaTeX (a variable's typeset name),
which Python marks safe.  This module renders the values of
:mod:`symloss.report.views` through them and writes the files; curves
(:mod:`symloss.report.plots`) are printed rounded to :data:`PLOT_DIGITS`
significant digits.  The PDF is built by :mod:`symloss.report.pdf`.

Determinism: the same results give the same bytes — no dates, no paths,
curves rounded, order as declared.  Proof times vary between runs, so they
are printed only when ``show_times`` is set (``symloss report``); the
committed ``generated/tex`` is rendered without them (``symloss build``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import jinja2
from markupsafe import Markup

from symloss.declare.latex import decimal_text, scientific, tex_escape
from symloss.emit.files import write_atomic
from symloss.report.inputs import LossReport, Plot
from symloss.report.plots import derived_comparison_plots
from symloss.report.views import book_view, chapter_view

PLOT_DIGITS = 5  # significant digits of plotted coordinates: stable bytes, invisible in a figure
BOOK_NAME = "book"


def environment() -> jinja2.Environment:
    """The Jinja2 environment of the report templates: TeX-safe delimiters, plain text escaped."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("symloss.report", "templates"),
        block_start_string="((*",
        block_end_string="*))",
        variable_start_string="(((",
        variable_end_string=")))",
        comment_start_string="((=",
        comment_end_string="=))",
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        autoescape=True,
        finalize=_finalize,
    )
    env.filters["coordinates"] = _coordinates
    env.filters["label"] = _label
    env.filters["indefinite"] = _indefinite
    env.filters["sci"] = lambda value: Markup(scientific(float(value)))
    env.filters["seconds"] = lambda value: f"{value:.2f} s"
    return env


def _finalize(value: object) -> Markup:
    """Everything a template prints is plain text unless Python marked it as LaTeX.

    The result is marked safe, so Jinja2's own (HTML) autoescaping leaves it alone;
    autoescaping is on only so that macro output counts as already escaped."""
    if isinstance(value, Markup):
        return value
    return Markup(tex_escape(str(value)))


def _indefinite(noun: str) -> str:
    """``noun`` with its indefinite article: "a Bernoulli", "an exponential"."""
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


def _label(name: str) -> Markup:
    """The cross-reference key of a loss's chapter (names are Python identifiers: safe in a label)."""
    if not name.isidentifier():
        raise ValueError(f"cannot label {name!r}")
    return Markup(f"chap:{name}")


def _coordinates(points: Sequence[tuple[float, float]]) -> Markup:
    """pgfplots coordinates, rounded to PLOT_DIGITS significant digits so the bytes are stable."""
    return Markup(" ".join(f"({decimal_text(x, PLOT_DIGITS)},{decimal_text(y, PLOT_DIGITS)})" for x, y in points))


def render_chapter(report: LossReport, *, show_times: bool = True) -> str:
    """The standalone document of one loss (the same chapter as in the book)."""
    template = environment().get_template("standalone.tex.j2")
    return template.render(chapter=chapter_view(report), show_times=show_times)


def render_book(
    reports: Sequence[LossReport], *, comparisons: Sequence[Plot] | None = None, show_times: bool = True,
    title: str = "Loss functions, derived and verified",
) -> str:
    """The book: front matter, summary tables, one chapter per loss, comparisons, the index of proofs.

    ``comparisons`` defaults to :func:`derived_comparison_plots` of ``reports``; pass the figures of
    :func:`comparison_plots` to draw them from the generated kernels instead, or ``()`` for none.
    """
    if comparisons is None:
        comparisons = derived_comparison_plots(reports)
    template = environment().get_template("book.tex.j2")
    return template.render(
        title=title,
        chapters=[chapter_view(r) for r in reports],
        book=book_view(reports),
        comparisons=comparisons,
        show_times=show_times,
    )


def render_reports(
    reports: Sequence[LossReport], out_dir: Path, *, comparisons: Sequence[Plot] | None = None,
    show_times: bool = True, title: str = "Loss functions, derived and verified",
) -> list[Path]:
    """Write ``NAME.tex`` per loss and ``book.tex`` into ``out_dir``; returns the paths, book last."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for report in reports:
        path = out_dir / f"{report.loss.name}.tex"
        write_atomic(path, render_chapter(report, show_times=show_times))
        paths.append(path)
    book = out_dir / f"{BOOK_NAME}.tex"
    write_atomic(book, render_book(reports, comparisons=comparisons, show_times=show_times, title=title))
    paths.append(book)
    return paths
