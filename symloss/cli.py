"""The ``symloss`` command: a thin layer over the Python API.

Exit codes follow one rule across commands: 0 when everything is as
expected, 1 when something is wrong (a refuted claim, a wrong number, a
failed certificate), 2 for bad input, 3 when the only shortfall is an
unknown verdict.  Ctrl-C ends any command with exit 130 (128 + SIGINT, as
shells report it) and the line "symloss: interrupted".
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from symloss.__main__ import EXIT_INTERRUPTED
from symloss.declare.catalog import Catalog, CatalogError, load_catalog
from symloss.report.tables import format_table
from symloss.verify.claim import MAX_TIMEOUT, check_timeout

if TYPE_CHECKING:
    from symloss.pipeline import KernelBuild

EXIT_OK, EXIT_WRONG, EXIT_BAD_INPUT, EXIT_UNKNOWN = 0, 1, 2, 3


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["verify"]:
        arguments = ["verify", *formulas_last(arguments[1:])]
    args = parser.parse_args(arguments)
    try:
        return int(args.run(args))
    except CatalogError as error:
        print(f"symloss: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:  # Ctrl-C: the worker pools have killed their workers on the way out
        print("symloss: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="symloss",
        description="Derive, prove, stabilize and certify machine-learning loss functions.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str, run: object) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(run=run)
        return sub

    def catalog_option(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--catalog", type=Path, default=None, metavar="DIR",
                         help="folder of loss declarations (default: the bundled catalog)")

    def quiet_option(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--quiet", action="store_true", help="no progress lines on stderr")

    sub = command("list", "list the losses of a catalog", run_list)
    catalog_option(sub)

    sub = command("show", "show a loss's derivation, gradient and Hessian", run_show)
    sub.add_argument("name", help="catalog name of the loss")
    sub.add_argument("--latex", action="store_true", help="print LaTeX instead of pretty text")
    catalog_option(sub)

    sub = command("prove", "prove the claims of some or all losses", run_prove)
    sub.add_argument("names", nargs="*", metavar="NAME", help="losses to prove (default: all)")
    sub.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    sub.add_argument("--budget", type=float, default=20.0, metavar="S", help="seconds per claim (default 20)")
    catalog_option(sub)
    quiet_option(sub)

    sub = command("verify", "verify a claim of your own: 'A = B', 'A <= B' (also <, >=, >), or LHS RHS",
                  run_verify)
    sub.add_argument("lhs", metavar="CLAIM",
                     help="the claim 'A REL B', REL one of = == <= < >= > (LaTeX: = \\le \\leq \\ge \\geq < >); "
                          "or, with RHS, the left-hand side of an equality; plain text (or LaTeX with --latex)")
    sub.add_argument("rhs", nargs="?", default=None, metavar="RHS", help="right-hand side of the equality CLAIM = RHS")
    sub.add_argument("--assume", action="append", default=[], metavar="A",
                     help="an assumption such as 'x > 0', '0 < p < 1', 'y in {0, 1}', 'K integer >= 2' (repeatable)")
    sub.add_argument("--latex", action="store_true", help="read LHS and RHS as LaTeX")
    sub.add_argument("--json", action="store_true", help="print the verdict as JSON")
    sub.add_argument("--timeout", type=_timeout, default=20.0, metavar="S",
                     help=f"seconds for the whole check, reading the claim too (default 20, at most {MAX_TIMEOUT:g})")
    catalog_option(sub)

    sub = command("audit", "check a TOML file of claims taken from a text", run_audit)
    sub.add_argument("file", type=Path, metavar="FILE.toml")
    sub.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    catalog_option(sub)

    sub = command("report", "write the LaTeX report (and PDF) of some or all losses", run_report)
    sub.add_argument("names", nargs="*", metavar="NAME", help="losses to report (default: all)")
    sub.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    sub.add_argument("--pdf", action="store_true", help="also build the book's PDF with latexmk")
    catalog_option(sub)
    quiet_option(sub)

    sub = command("codegen", "write the NumPy kernels of some or all losses", run_codegen)
    sub.add_argument("names", nargs="*", metavar="NAME", help="losses to generate (default: all)")
    sub.add_argument("--out", type=Path, default=Path("generated") / "symloss_kernels", metavar="DIR",
                     help="package folder to write (default generated/symloss_kernels)")
    catalog_option(sub)
    quiet_option(sub)

    sub.add_argument("--no-certify", action="store_true", help="skip the accuracy certification (faster)")
    gate_options(sub)

    sub = command("localize", "report where each kernel function loses its bits: the local error of every "
                  "subexpression (it changes nothing)", run_localize)
    sub.add_argument("names", nargs="*", metavar="LOSS", help="losses to localize (default: all)")
    sub.add_argument("--points", type=_point_count, default=None, metavar="N",
                     help="random points on top of the deterministic grid (default: as the certification)")
    sub.add_argument("--json", action="store_true", help="print a JSON list instead of text")
    catalog_option(sub)

    sub = command("build", "regenerate everything under generated/ (kernels, .tex, PDF when TeX is installed)",
                  run_build)
    sub.add_argument("--out", type=Path, default=Path("generated"), metavar="DIR",
                     help="output folder (default generated)")
    gate_options(sub)
    catalog_option(sub)
    quiet_option(sub)
    return parser


def gate_options(sub: argparse.ArgumentParser) -> None:
    """The accuracy gate of ``codegen`` and ``build``: a kernel function over its budget fails the command."""
    sub.add_argument("--allow-over-budget", action="store_true",
                     help="exit 0 even when a kernel function is over its accuracy budget (they are still listed)")
    sub.add_argument("--known-over-budget", type=Path, default=None, metavar="FILE",
                     help="the functions known to be over budget, one 'loss.function  figure' a line (default: "
                          "the catalog's own over_budget.txt, if any): exit 1 when the measured ones of the "
                          "losses built differ from the list in either direction")
    sub.add_argument("--write-known-over-budget", type=Path, default=None, metavar="FILE",
                     help="write the measured over-budget functions to FILE as a known list (each with its figure "
                          "and worst point: inputs, parameters, truth, kernel value) and exit 0; the list is not "
                          "compared then")
    sub.add_argument("--strict", action="store_true", help="accepted for older scripts: the gate is the default")


VERIFY_VALUED_OPTIONS = ("--assume", "--timeout", "--catalog")  # the verify options that take a value


def formulas_last(arguments: Sequence[str]) -> list[str]:
    """The arguments of ``verify`` with its options first and its formulas after
    ``--``, so that a formula with a leading minus sign (``-log(p)``) is never
    read as an option, wherever it stands.

    An option is ``-h`` or ``--`` followed by a letter (``--json``,
    ``--timeout=5``, ``--time 5``); a valued option takes the next argument
    as its value, joined to it (``--time=5``).  Every other argument is a formula; a ``--`` of the user's
    is dropped (a formula never looks like an option).
    """
    options: list[str] = []
    formulas: list[str] = []
    rest = iter(arguments)
    for argument in rest:
        if argument == "--":
            continue
        if argument == "-h" or (argument.startswith("--") and argument[2:3].isalpha()):
            name = argument.split("=", 1)[0]
            valued = "=" not in argument and any(option.startswith(name) for option in VERIFY_VALUED_OPTIONS)
            value = next(rest, None) if valued else None
            # a value is joined to its option, so argparse takes it as is, even "-1 < x" or "-inf"
            options.append(argument if value is None else f"{argument}={value}")
        else:
            formulas.append(argument)
    return [*options, "--", *formulas]


def _timeout(text: str) -> float:
    """``verify --timeout``: a finite number of seconds in (0, MAX_TIMEOUT]."""
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    try:
        return check_timeout(seconds)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _point_count(text: str) -> int:
    """``localize --points``: a non-negative whole number."""
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of points: {text!r}") from None
    if count < 0:
        raise argparse.ArgumentTypeError(f"a number of points is at least 0, not {count}")
    return count


def _catalog(args: argparse.Namespace) -> Catalog:
    return load_catalog(args.catalog)


def run_list(args: argparse.Namespace) -> int:
    catalog = _catalog(args)
    rows = [
        (
            loss.name,
            loss.family,
            getattr(loss.origin, "distribution", "definition"),
            ", ".join(v.name for v in (loss.output, loss.target, *loss.inputs)),
            ", ".join(v.name for v in loss.params) or "-",
        )
        for loss in catalog
    ]
    print(format_table(["name", "family", "origin", "inputs", "parameters"], rows))
    return EXIT_OK


def run_show(args: argparse.Namespace) -> int:
    from symloss.derive.chain import derive
    from symloss.derive.display import derivation_text

    loss = _catalog(args).get(args.name)
    print(derivation_text(derive(loss), latex=args.latex))
    return EXIT_OK


def run_verify(args: argparse.Namespace) -> int:
    from symloss.verify.claim import run_verify as verify

    catalog = load_catalog(args.catalog)
    result = verify(args.lhs, args.rhs, args.assume, latex=args.latex, timeout=args.timeout, catalog=catalog)
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        print(result.to_text(), file=sys.stderr if result.exit_code == EXIT_BAD_INPUT else sys.stdout)
    return result.exit_code


def run_audit(args: argparse.Namespace) -> int:
    from symloss.verify.audit import run_audit as audit

    result = audit(args.file, _catalog(args))
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        print(result.to_text())
    return result.exit_code


def run_prove(args: argparse.Namespace) -> int:
    from symloss.prove.results import prove_catalog, summary_exit_code

    losses = _catalog(args).select(args.names)
    results = prove_catalog(losses, budget=args.budget, progress=_progress_unless(args.quiet))
    if args.json:
        print(json.dumps([r.to_json() for r in results], indent=2))
    else:
        rows = [(r.loss, r.claim.statement, r.kind, r.verdict.status, r.verdict.method, f"{r.verdict.seconds:.2f}")
                for r in results]
        print(format_table(["loss", "claim", "kind", "verdict", "method", "seconds"], rows))
    return summary_exit_code(results)


def run_localize(args: argparse.Namespace) -> int:
    """Each kernel function's float64 error and its top subexpressions by local error (a report: exit 0)."""
    from symloss.certify.localize import TOP, localize, shown
    from symloss.certify.stress_grid import DENSE_POINTS
    from symloss.derive.chain import derive

    losses = _catalog(args).select(args.names)
    dense = DENSE_POINTS if args.points is None else args.points
    results = [(loss.name, localize(derive(loss), dense=dense)) for loss in losses]
    if args.json:
        print(json.dumps([{"loss": name, "functions": [f.to_json() for f in functions]}
                          for name, functions in results], indent=2))
        return EXIT_OK
    for name, functions in results:
        for f in functions:
            if f.note:
                print(f"{name}.{f.function}: {f.note}")
                continue
            print(f"{name}.{f.function}: max error {f.max_bits:.1f} bits over {f.points} points")
            for n in f.nodes[:TOP]:
                worst = ", ".join(f"{k}={shown(v)}" for k, v in n.worst.items())
                print(f"  {n.max_bits:5.1f} max {n.mean_bits:5.2f} mean bits, {n.losing} points > 2 bits: "
                      f"{n.text}   worst at {worst}")
    return EXIT_OK


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_report(args: argparse.Namespace) -> int:
    from symloss.pipeline import analyse, build_kernels, write_kernels, write_report
    from symloss.report.pdf import INSTALL_HINT, tex_available

    if args.pdf and not tex_available():
        print(f"symloss report: --pdf needs latexmk and pdflatex; install them with: {INSTALL_HINT}", file=sys.stderr)
        return EXIT_BAD_INPUT
    progress = _progress_unless(args.quiet)
    analyses = analyse(_catalog(args).select(args.names), progress=progress)
    kernels = build_kernels([a.derivation for a in analyses], progress=progress)
    with tempfile.TemporaryDirectory(prefix="symloss-report-kernels-") as scratch:
        folder = Path(scratch) / "kernels"
        write_kernels(kernels, folder)
        paths = write_report(analyses, args.out, show_times=True, pdf=args.pdf, kernels=kernels, kernel_dir=folder)
    for path in paths:
        print(path)
    return EXIT_OK


def run_codegen(args: argparse.Namespace) -> int:
    from symloss.pipeline import build_kernels, derive_all, write_kernels

    progress = _progress_unless(args.quiet)
    build = build_kernels(derive_all(_catalog(args).select(args.names)), certify=not args.no_certify,
                          progress=progress)
    for path in write_kernels(build, args.out, prune=not args.names):
        print(path)
    return _kernel_verdict(build, args)


def run_build(args: argparse.Namespace) -> int:
    from symloss.pipeline import analyse, build_kernels, write_kernels, write_report
    from symloss.report.pdf import INSTALL_HINT, tex_available

    progress = _progress_unless(args.quiet)
    analyses = analyse(_catalog(args).losses, progress=progress)
    kernels = build_kernels([a.derivation for a in analyses], progress=progress)
    write_kernels(kernels, args.out / "symloss_kernels")
    pdf = tex_available()
    write_report(analyses, args.out / "tex", show_times=False, pdf=pdf, kernels=kernels,
                 kernel_dir=args.out / "symloss_kernels")
    if not pdf:
        print(f"symloss build: no PDF (latexmk not found); for the PDF install: {INSTALL_HINT}", file=sys.stderr)
    return _kernel_verdict(kernels, args)


def _kernel_verdict(kernels: KernelBuild, args: argparse.Namespace) -> int:
    """List every kernel function over its accuracy budget on stderr, once, with its worst point, the
    truth and the kernel's value there; they fail the command unless ``--allow-over-budget``, or unless
    they are exactly what the known list says of the losses built (``--known-over-budget``, else the
    catalog's own ``over_budget.txt``).  With ``--write-known-over-budget`` they are written as the
    known list instead (exit 0 once written)."""
    from symloss.certify.gate import KNOWN_LIST, differences, known_list, read_known
    from symloss.declare.catalog import bundled_folder
    from symloss.emit.files import write_atomic

    measured = kernels.over_budget
    for function in measured:
        print(f"symloss: OVER BUDGET {function.name}: {function.stated}", file=sys.stderr)
    if args.write_known_over_budget is not None:
        if getattr(args, "no_certify", False):
            print("symloss: --write-known-over-budget needs the certification (drop --no-certify)", file=sys.stderr)
            return EXIT_BAD_INPUT
        try:
            write_atomic(args.write_known_over_budget, known_list(measured, kernels.certificates))
        except OSError as error:
            print(f"symloss: cannot write the known over-budget list: {error}", file=sys.stderr)
            return EXIT_BAD_INPUT
        print(f"symloss: wrote {len(measured)} over-budget function(s) to {args.write_known_over_budget}",
              file=sys.stderr)
        return EXIT_OK
    problems = [function.name for function in measured]
    known_list = args.known_over_budget
    if known_list is None and not getattr(args, "no_certify", False):
        own = (args.catalog or bundled_folder()) / KNOWN_LIST
        known_list = own if own.is_file() else None
    if known_list is not None:
        if getattr(args, "no_certify", False):
            print("symloss: --known-over-budget needs the certification (drop --no-certify)", file=sys.stderr)
            return EXIT_BAD_INPUT
        try:
            known = read_known(known_list)
        except (OSError, ValueError) as error:
            print(f"symloss: the known over-budget list: {error}", file=sys.stderr)
            return EXIT_BAD_INPUT
        problems = differences(measured, known, [k.loss.name for k in kernels.kernels])
        for problem in problems:
            print(f"symloss: {problem} ({known_list})", file=sys.stderr)
    return EXIT_WRONG if problems and not args.allow_over_budget else EXIT_OK


def _progress_unless(quiet: bool) -> Callable[[str], None] | None:
    return None if quiet else _progress
